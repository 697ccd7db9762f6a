"""Safe parsing of uploaded BPMN/DMN: no DTD, no entities, no network, bounded size."""

from __future__ import annotations

from lxml import etree

from .errors import DefinitionInvalid, PayloadTooLarge, UnsafeXml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CRM_NS = "urn:bpmcrm:bpmn"  # our extension elements: forms, due dates
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


def _parser() -> etree.XMLParser:
    # lxml's default parser resolves entities and may load a DTD; this one does neither.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(content: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML into an element tree, or raise UnsafeXml / DefinitionInvalid."""
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"file is {len(content)} bytes; the limit is {max_bytes}",
            {"file": [f"at most {max_bytes} bytes"]},
        )
    # A DOCTYPE is the door to every entity attack (XXE, billion laughs): refuse it outright.
    head = content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in content.lower():
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed")
    try:
        tree = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid(f"not well-formed XML: {exc}", {"file": [str(exc)]}) from exc
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed")
    return tree
