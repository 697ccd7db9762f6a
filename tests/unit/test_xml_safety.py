"""Uploads are parsed without DTDs, entities or network access, and size-capped."""

import pytest

from engine.errors import DefinitionInvalid, UnsafeXml
from engine.xml import parse_xml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</definitions>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol4;</definitions>"""

PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/evil.dtd">
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>"""

UTF16_XXE = (
    XXE.decode()
    .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    .encode("utf-16")
)


@pytest.mark.parametrize(
    "content",
    [XXE, BILLION_LAUGHS, PLAIN_DOCTYPE, UTF16_XXE],
    ids=["xxe", "billion_laughs", "external_dtd", "utf16_xxe"],
)
def test_doctype_and_entities_are_rejected(content: bytes) -> None:
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(content)


def test_size_cap() -> None:
    big = b"<definitions>" + b" " * 3_000_000 + b"</definitions>"
    with pytest.raises(UnsafeXml, match="limit"):
        parse_xml(big, max_bytes=2 * 1024 * 1024)


def test_malformed_xml_is_invalid_not_a_crash() -> None:
    with pytest.raises(DefinitionInvalid, match="well-formed"):
        parse_xml(b"<definitions><process></definitions>")


def test_plain_document_parses() -> None:
    root = parse_xml(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert root.tag.endswith("definitions")
