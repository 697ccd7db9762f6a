"""Russian company requisites: INN, KPP, OGRN/OGRNIP, OKPO, BIK and bank accounts.

Each `check_*` returns None for a valid value or one message saying what is wrong. The
control-digit rules are those of the Federal Tax Service (INN, OGRN), Rosstat (OKPO) and the
Bank of Russia (account key, Regulation 579-P annex). `make_*` build valid numbers from a
random source (demo data and tests).
"""

from __future__ import annotations

import random
import re

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_ACCOUNT_WEIGHTS = (7, 1, 3)
_KPP = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")


def _digits(value: str) -> list[int]:
    return [int(c) for c in value]


def _weighted(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False))


def inn_control(prefix: str) -> str:
    """The control digit(s) that complete a 9-digit (legal entity) or 10-digit (person) prefix."""
    digits = _digits(prefix)
    if len(digits) == 9:
        return str(_weighted(digits, _INN10_WEIGHTS) % 11 % 10)
    if len(digits) == 10:
        n11 = _weighted(digits, _INN11_WEIGHTS) % 11 % 10
        n12 = _weighted([*digits, n11], _INN12_WEIGHTS) % 11 % 10
        return f"{n11}{n12}"
    raise ValueError("an INN prefix has 9 or 10 digits")


def check_inn(value: str) -> str | None:
    """Whether `value` is an INN: 10 digits (organization) or 12 (person), control digits."""
    if not value.isdigit() or not value.isascii() or len(value) not in (10, 12):
        return "must be 10 digits (organization) or 12 digits (individual)"
    if value[:2] == "00":
        return "no tax office has code 00"
    cut = 9 if len(value) == 10 else 10
    if inn_control(value[:cut]) != value[cut:]:
        return "wrong control digit"
    return None


def check_kpp(value: str) -> str | None:
    """Whether `value` is a KPP: 4 digits, 2 digits or capital Latin letters, 3 digits."""
    if not _KPP.match(value):
        return "must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits"
    return None


def ogrn_control(prefix: str) -> str:
    """The control digit of a 12-digit OGRN prefix or a 14-digit OGRNIP prefix."""
    if len(prefix) == 12:
        return str(int(prefix) % 11 % 10)
    if len(prefix) == 14:
        return str(int(prefix) % 13 % 10)
    raise ValueError("an OGRN prefix has 12 digits, an OGRNIP prefix 14")


def check_ogrn(value: str) -> str | None:
    """Whether `value` is an OGRN (13 digits) or an OGRNIP (15 digits) with its control digit."""
    if not value.isdigit() or not value.isascii() or len(value) not in (13, 15):
        return "must be 13 digits (OGRN) or 15 digits (OGRNIP)"
    kinds = "15" if len(value) == 13 else "3"  # OGRN of an organization, OGRNIP of a person
    if value[0] not in kinds:
        return f"must start with {' or '.join(kinds)}"
    if ogrn_control(value[:-1]) != value[-1]:
        return "wrong control digit"
    return None


def okpo_control(prefix: str) -> str:
    """The control digit of an OKPO prefix (7 or 9 digits)."""
    digits = _digits(prefix)
    first = sum(d * (i % 10 + 1) for i, d in enumerate(digits)) % 11
    if first < 10:
        return str(first)
    second = sum(d * ((i + 2) % 10 + 1) for i, d in enumerate(digits)) % 11
    return str(second % 10)


def check_okpo(value: str) -> str | None:
    """Whether `value` is an OKPO code: 8 digits (organization) or 10 (individual), control."""
    if not value.isdigit() or not value.isascii() or len(value) not in (8, 10):
        return "must be 8 digits (organization) or 10 digits (individual)"
    if okpo_control(value[:-1]) != value[-1]:
        return "wrong control digit"
    return None


def check_bik(value: str) -> str | None:
    """Whether `value` is a Russian bank's BIK: 9 digits starting with 04."""
    if not value.isdigit() or not value.isascii() or len(value) != 9:
        return "must be 9 digits"
    if not value.startswith("04"):
        return "a Russian BIK starts with 04"
    return None


def _account_key_ok(prefix3: str, account: str) -> bool:
    digits = _digits(prefix3 + account)
    return sum(d * _ACCOUNT_WEIGHTS[i % 3] for i, d in enumerate(digits)) % 10 == 0


def _account_format(value: str) -> str | None:
    if not value.isdigit() or not value.isascii() or len(value) != 20:
        return "must be 20 digits"
    return None


def check_correspondent_account(value: str, bik: str | None) -> str | None:
    """Whether `value` is the bank's correspondent account for `bik` (key check)."""
    problem = _account_format(value)
    if problem:
        return problem
    if not value.startswith("301"):
        return "a correspondent account starts with 301"
    if bik and check_bik(bik) is None and not _account_key_ok("0" + bik[4:6], value):
        return "does not match the BIK (wrong key digit)"
    return None


def check_settlement_account(value: str, bik: str | None) -> str | None:
    """Whether `value` is an account opened in the bank with `bik` (key check)."""
    problem = _account_format(value)
    if problem:
        return problem
    if bik and check_bik(bik) is None and not _account_key_ok(bik[-3:], value):
        return "does not match the BIK (wrong key digit)"
    return None


def account_key(prefix3: str, account: str) -> str:
    """The key digit (the 9th) that makes `account` valid for the 3-digit BIK-derived prefix."""
    digits = _digits(prefix3 + account[:8] + "0" + account[9:])
    total = sum(d * _ACCOUNT_WEIGHTS[i % 3] for i, d in enumerate(digits)) % 10
    return str(total * 3 % 10)


# ------------------------------------------------------------------------------ makers


def make_inn(rng: random.Random, individual: bool = False, region: str = "77") -> str:
    """A random valid INN of an organization (10 digits) or an individual (12)."""
    body = region + "".join(str(rng.randrange(10)) for _ in range(8 if individual else 7))
    return body + inn_control(body)


def make_ogrn(rng: random.Random, individual: bool = False, region: str = "77") -> str:
    """A random valid OGRN (13 digits) or OGRNIP (15 digits)."""
    year = f"{rng.randrange(2, 24):02d}"
    if individual:
        body = "3" + year + region + "".join(str(rng.randrange(10)) for _ in range(9))
    else:
        body = "1" + year + region + "".join(str(rng.randrange(10)) for _ in range(7))
    return body + ogrn_control(body)


def make_okpo(rng: random.Random) -> str:
    """A random valid 8-digit OKPO code."""
    body = "".join(str(rng.randrange(10)) for _ in range(7))
    return body + okpo_control(body)


def make_settlement_account(rng: random.Random, bik: str, prefix: str = "40702810") -> str:
    """A random valid settlement account in the bank with `bik` (default: a company's in RUB)."""
    tail = "".join(str(rng.randrange(10)) for _ in range(11))
    draft = prefix + "0" + tail
    return prefix + account_key(bik[-3:], draft) + tail
