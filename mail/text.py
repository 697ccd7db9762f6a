"""Rich text and search keys: a whitelist HTML sanitizer and normalized words.

The sanitizer keeps a small set of formatting tags and drops everything else: unknown tags
lose their markup but keep their text; scripts, styles and embedded documents lose their
content too. Links keep only http, https, mailto and relative targets.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "code",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "hr",
        "span",
        "div",
    }
)
VOID_TAGS = frozenset({"br", "hr"})
# Tags whose content is not text for people: dropped with everything inside them.
DROPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
        "head",
        "title",
        "textarea",
        "select",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": ("href", "title"),
    "td": ("colspan", "rowspan"),
    "th": ("colspan", "rowspan"),
    "ol": ("start",),
}
NUMERIC_ATTRIBUTES = frozenset({"colspan", "rowspan", "start"})
SAFE_SCHEMES = ("http", "https", "mailto")
BLOCK_TAGS = frozenset(
    {"p", "br", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "tr", "hr", "div", "table"}
)
MAX_WORDS = 2000
MAX_WORD = 64
MAX_TERMS = 8
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_WORD = re.compile(r"\w+")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _safe_href(value: str) -> str | None:
    compact = _CONTROL.sub("", html.unescape(value))
    match = _SCHEME.match(compact)
    if match and match.group(1).lower() not in SAFE_SCHEMES:
        return None
    return value.strip()


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_TAGS:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        kept = []
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES.get(tag, ()) or value is None:
                continue
            if name in NUMERIC_ATTRIBUTES and not value.strip().isdigit():
                continue
            if name == "href":
                safe = _safe_href(value)
                if safe is None:
                    continue
                value = safe
            kept.append(f' {name}="{html.escape(value, quote=True)}"')
        if tag == "a":
            kept.append(' rel="noopener noreferrer"')
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.open and self.open[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_TAGS:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:
            closing = self.open.pop()
            self.out.append(f"</{closing}>")
            if closing == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def sanitize_html(text: str) -> str:
    """Rich text reduced to the allowed tags and attributes, safe to show in a page."""
    parser = _Sanitizer()
    parser.feed(text or "")
    return parser.result().strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(safe_html: str) -> str:
    """The text of sanitized HTML, with line breaks where blocks were."""
    parser = _TextExtractor()
    parser.feed(safe_html or "")
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def normalize(text: str) -> str:
    """Lower case with ё folded to е, as search keys are stored."""
    return (text or "").lower().replace("ё", "е")


def words(*texts: str) -> list[str]:
    """Distinct normalized words of the texts: the search keys of an item."""
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(normalize(text)):
            if len(found) >= MAX_WORDS:
                return list(found)
            found.setdefault(word[:MAX_WORD])
    return list(found)


def search_terms(query: str) -> list[str]:
    """The words of a search query; each must start some word of a matching item."""
    return words(query)[:MAX_TERMS]


def search_filter(query: str | None, field: str = "words") -> dict[str, object]:
    """A query condition: every term is a prefix of one of the item's words.

    String `$regex` anchored at the start, never a compiled regex: SecantusDB answers a
    BSON regex on an indexed field with nothing (see NOTES).
    """
    terms = search_terms(query or "")
    if not terms:
        return {}
    return {"$and": [{field: {"$regex": "^" + re.escape(term)}} for term in terms]}
