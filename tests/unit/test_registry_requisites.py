"""Control digits of Russian requisites, checked on real-world numbers worked out by hand."""

from __future__ import annotations

import random

import pytest

from registry import requisites, search
from registry.requisites import (
    check_bik,
    check_correspondent_account,
    check_inn,
    check_kpp,
    check_ogrn,
    check_okpo,
    check_settlement_account,
)

SBER_BIK = "044525225"


def test_inn_of_a_company_by_hand() -> None:
    # Sberbank, 7707083893: weights 2 4 10 3 5 9 4 6 8 over 7 7 0 7 0 8 3 8 9
    # = 14 + 28 + 0 + 21 + 0 + 72 + 12 + 48 + 72 = 267; 267 mod 11 = 3 -> control digit 3.
    assert check_inn("7707083893") is None
    # Yandex, 7736207543: 14 + 28 + 30 + 18 + 10 + 0 + 28 + 30 + 32 = 190; 190 mod 11 = 3.
    assert check_inn("7736207543") is None
    assert check_inn("7707083894") == "wrong control digit"


def test_inn_of_a_person_by_hand() -> None:
    # 500100732259: n11 = (35+0+0+10+0+0+63+12+12+16) = 148 mod 11 = 5 -> 5;
    # n12 = (15+0+0+4+0+0+35+27+8+12+40) = 141 mod 11 = 9 -> 9.
    assert check_inn("500100732259") is None
    assert check_inn("500100732258") == "wrong control digit"
    assert check_inn("500100732269") == "wrong control digit"


@pytest.mark.parametrize(
    "value", ["", "770708389", "77070838931", "770708389a", "７７０７０８３８９３", "0007083893"]
)
def test_inn_format(value: str) -> None:
    assert check_inn(value) is not None


def test_kpp() -> None:
    assert check_kpp("773601001") is None
    assert check_kpp("7736AB001") is None  # reason code letters since 2013
    for bad in ("77360100", "7736010011", "7736ab001", "77A601001", "7736ЖЖ001"):
        assert check_kpp(bad) is not None, bad


def test_ogrn_by_hand() -> None:
    # Sberbank 1027700132195: 102770013219 = 11 * 9342728474 + 5 -> control digit 5.
    assert check_ogrn("1027700132195") is None
    assert check_ogrn("1027700132196") == "wrong control digit"
    # OGRNIP 304500116000157: 30450011600015 = 13 * 2342308584616 + 7 -> control digit 7.
    assert check_ogrn("304500116000157") is None
    assert check_ogrn("304500116000158") == "wrong control digit"
    assert check_ogrn("3027700132195") is not None  # 13 digits must start with 1 or 5
    assert check_ogrn("102770013219") is not None


def test_okpo_by_hand() -> None:
    # Sberbank 00032537: weights 1..7 over 0 0 0 3 2 5 3 = 12 + 10 + 30 + 21 = 73;
    # 73 mod 11 = 7 -> control digit 7.
    assert check_okpo("00032537") is None
    assert check_okpo("00032538") == "wrong control digit"


def test_bik() -> None:
    assert check_bik(SBER_BIK) is None
    assert check_bik("044525974") is None  # Tinkoff
    assert check_bik("144525225") is not None
    assert check_bik("04452522") is not None


def test_correspondent_account_by_hand() -> None:
    # "0" + BIK digits 5-6 ("25") + 30101810400000000225, weights 7 1 3 repeated:
    # 0 2 15 | 21 0 3 | 0 1 24 | 7 0 12 | 0 ... 0 | 6 14 5 -> sum 110, divisible by 10.
    assert check_correspondent_account("30101810400000000225", SBER_BIK) is None
    # Real banks' published requisites pass the same rule.
    for bik, account in (
        ("044525974", "30101810145250000974"),  # T-Bank
        ("044525593", "30101810200000000593"),  # Alfa-Bank
        ("044525187", "30101810700000000187"),  # VTB
        ("044030653", "30101810500000000653"),
    ):  # Sberbank, St Petersburg
        assert check_correspondent_account(account, bik) is None, bik
    assert check_correspondent_account("30101810400000000226", SBER_BIK) is not None
    assert check_correspondent_account("40101810400000000225", SBER_BIK) is not None


def test_settlement_account_by_hand() -> None:
    # BIK's last 3 digits "225" + 40702810938000000001, weights 7 1 3 repeated:
    # 14 2 15 | 28 0 21 | 0 2 24 | 7 0 27 | 21 8 0 | 0 ... | 1 -> sum 170, divisible by 10.
    assert check_settlement_account("40702810938000000001", SBER_BIK) is None
    assert check_settlement_account("40702810838000000001", SBER_BIK) is not None
    assert check_settlement_account("4070281093800000000", SBER_BIK) == "must be 20 digits"


def test_account_key_makes_valid_accounts() -> None:
    assert requisites.account_key("225", "40702810038000000001") == "9"
    rng = random.Random(3)
    for _ in range(200):
        account = requisites.make_settlement_account(rng, SBER_BIK)
        assert check_settlement_account(account, SBER_BIK) is None


def test_makers_build_valid_numbers() -> None:
    rng = random.Random(7)
    for _ in range(200):
        assert check_inn(requisites.make_inn(rng)) is None
        assert check_inn(requisites.make_inn(rng, individual=True)) is None
        assert check_ogrn(requisites.make_ogrn(rng)) is None
        assert check_ogrn(requisites.make_ogrn(rng, individual=True)) is None
        assert check_okpo(requisites.make_okpo(rng)) is None


def test_search_keys() -> None:
    assert search.normalize("ООО «Ёлки-Палки», Ltd.") == "ооо елки палки ltd"
    assert search.tokens("АО Ёж") == ["а", "ао", "е", "еж"]
    assert search.phone_key("+7 (495) 500-55-50") == search.phone_key("8 495 5005550")
    assert search.word_filter("  ") == {}
    found = search.word_filter("сев РОМАШ")
    assert found["search_tokens"] == "ромаш"
    assert found["search_text"] == {"$regex": "(?:^| )сев"}
    three = search.word_filter("ооо сев ромашк")
    assert three["search_text"] == {"$regex": "^(?=.*(?:^| )ооо)(?=.*(?:^| )сев)"}
    assert search.word_filter("a.*b", contains=True) == {
        "search_text": {"$regex": "^(?=.*a)(?=.*b)"}
    }
    # Regex characters of a query are escaped, never run.
    assert search.word_filter("x+", contains=True) == {"search_text": {"$regex": "x"}}
