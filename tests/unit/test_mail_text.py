"""The rich-text sanitizer, plain text and search keys of correspondence (no I/O)."""

from __future__ import annotations

import pytest

from mail import text


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("<p>Hello <b>world</b></p>", "<p>Hello <b>world</b></p>"),
        ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
        ("<style>p{}</style>text", "text"),
        ("<img src=x onerror=alert(1)>pic", "pic"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<a href="JaVa&#x09;script:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="https://example.test/?a=1&b=2" onclick="x()">x</a>',
            '<a href="https://example.test/?a=1&amp;b=2" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="/api/v1/orders/1">order</a>',
            '<a href="/api/v1/orders/1" rel="noopener noreferrer">order</a>',
        ),
        ('<p style="color:red" class="x">styled</p>', "<p>styled</p>"),
        ("<td colspan=2 rowspan=x>c</td>", '<td colspan="2">c</td>'),
        ("<b><i>unclosed", "<b><i>unclosed</i></b>"),
        ("</p>stray close", "stray close"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("<iframe src=//evil><p>inside</p></iframe>after", "after"),
        ("<!-- comment --><p>x</p>", "<p>x</p>"),
        ("<svg><script>alert(1)</script></svg>fine", "fine"),
        ("<br/>line<hr>", "<br>line<hr>"),
    ],
)
def test_sanitizer_keeps_only_safe_markup(given: str, kept: str) -> None:
    assert text.sanitize_html(given) == kept


def test_html_to_text_keeps_blocks_as_lines() -> None:
    html = text.sanitize_html("<p>First &amp; foremost</p><ul><li>one</li><li>two</li></ul>")
    assert text.html_to_text(html) == "First & foremost\n- one\n- two"


def test_words_are_lower_case_with_yo_folded_and_distinct() -> None:
    assert text.words("Ёлка и ЕЛКА", "Report-2027 report") == ["елка", "и", "report", "2027"]


def test_search_filter_is_a_string_prefix_regex_per_term() -> None:
    assert text.search_filter("Зебр (a+") == {
        "$and": [{"words": {"$regex": "^зебр"}}, {"words": {"$regex": "^a"}}]
    }
    assert text.search_filter("  ") == {}
