"""Search keys stored beside each object, so search needs neither `$text` nor regexes on
indexed fields (SecantusDB returns nothing for a compiled regex on an indexed field).

- `search_text`: the normalized name, words separated by single spaces; not indexed, matched
  with string `$regex` for word-prefix and fragment matches;
- `search_tokens`: every prefix of every normalized word (indexed, matched by equality);
- `sort_name`: the normalized name, a NUL, the object id: a unique, ordered cursor key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TOKEN = 24  # longer words are indexed by their first 24 letters
MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """Lower case, ё→е, punctuation and quotes dropped, single spaces."""
    lowered = (text or "").lower().replace("ё", "е")
    return " ".join(_WORD.findall(lowered))


def words(text: str) -> list[str]:
    """The normalized words of `text`, in order, without repeats."""
    return list(dict.fromkeys(normalize(text).split()))[:MAX_WORDS]


def tokens(*texts: str) -> list[str]:
    """Every prefix (up to MAX_TOKEN letters) of every word of `texts`, sorted."""
    found: set[str] = set()
    for text in texts:
        for word in words(text):
            for end in range(1, min(len(word), MAX_TOKEN) + 1):
                found.add(word[:end])
    return sorted(found)


def sort_key(name: str, object_id: object) -> str:
    """A unique key ordering objects by normalized name, then by id."""
    return f"{normalize(name)}\x00{object_id}"


def digits(text: str) -> str:
    """Only the digits of `text`."""
    return "".join(c for c in text or "" if c.isdigit() and c.isascii())


def phone_key(phone: str) -> str:
    """The last 10 digits of a phone number: +7 (495) 123-45-67 and 8 495 1234567 agree."""
    return digits(phone)[-10:]


def phone_keys(phones: Iterable[str]) -> list[str]:
    """The phone keys of a list of numbers, empty ones dropped."""
    return sorted({k for k in (phone_key(p) for p in phones) if k})


def lower_keys(values: Iterable[str]) -> list[str]:
    """Lower-case, stripped values (e-mails, tags), empty ones dropped."""
    return sorted({v.strip().lower() for v in values if v and v.strip()})


def _all_of(patterns: list[str]) -> str:
    # One regex for several conditions keeps the filter flat (see common.merge_filters).
    if len(patterns) == 1:
        return patterns[0]
    return "^" + "".join(f"(?=.*{p})" for p in patterns)


def word_filter(
    query: str,
    field: str = "search_text",
    tokens_field: str = "search_tokens",
    contains: bool = False,
) -> dict[str, object]:
    """A pymongo filter: every word of `query` starts a word of the name (or occurs in it)."""
    query_words = [w[:MAX_TOKEN] if not contains else w for w in words(query)]
    if not query_words:
        return {}
    if contains:
        return {field: {"$regex": _all_of([re.escape(w) for w in query_words])}}
    # The longest word goes to the index; the others are checked on the unindexed text.
    first = max(query_words, key=len)
    rest = [w for w in query_words if w != first]
    result: dict[str, object] = {tokens_field: first}
    if rest:
        result[field] = {"$regex": _all_of([f"(?:^| ){re.escape(w)}" for w in rest])}
    return result
