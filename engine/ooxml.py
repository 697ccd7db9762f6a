"""Checks on an uploaded OOXML package (DOCX, XLSX) before any library opens it.

A DOCX or XLSX is a zip of XML parts. python-docx parses with `huge_tree=True` and
docxtpl runs regular expressions over whole parts, so a small upload must not be able to
expand into gigabytes (zip bomb) or into a billion entities (XML bomb), nor point an
entity at a local file (XXE). Before opening, from the zip's central directory: the number
of members, the total uncompressed size, each member's and the whole file's compression
ratio. Then every XML part is inflated with a cap and parsed once with a parser that loads
no DTD, resolves no entity and keeps libxml2's depth and text limits: any DOCTYPE or
ENTITY declaration, an encoding other than UTF-8/UTF-16 (the OOXML standard's two; UTF-7
could hide a declaration from a byte scan), or malformed XML refuses the file.

Callers raise their own domain error with the problems this returns, naming the template.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

# A ratio above this is suspicious only for members large enough to matter: a 2 KB part
# of spaces compresses 200 times and harms no one.
RATIO_FLOOR_BYTES = 64 * 1024
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".emf", ".wmf", ".bin", ".tif", ".tiff")


@dataclass(frozen=True)
class PackageLimits:
    """Bounds an uploaded OOXML package must stay within before it is opened."""

    max_bytes: int = 5 * 1024 * 1024
    max_entries: int = 300
    max_uncompressed: int = 50 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per member and overall


def _xml_text(data: bytes) -> bytes | None:
    """The part as UTF-8 if it is XML (judged by its first bytes), else None."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32").encode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").encode("utf-8")
    if data[:2] == b"<\x00":
        return data.decode("utf-16-le").encode("utf-8")
    if data[:2] == b"\x00<":
        return data.decode("utf-16-be").encode("utf-8")
    body = data.removeprefix(codecs.BOM_UTF8).lstrip()
    return body if body.startswith(b"<") else None  # an image or other binary part


def _xml_problem(name: str, data: bytes) -> str | None:
    """Why an XML part is refused, or None."""
    try:
        text = _xml_text(data)
    except UnicodeDecodeError:
        return f"{name} is not valid UTF-16"
    if text is None:
        return f"{name} is not XML" if name.lower().endswith((".xml", ".rels")) else None
    if _DECLARATION.search(text):
        return f"{name} declares a DOCTYPE or ENTITY (not allowed)"
    found = _ENCODING.match(text)
    encoding = found.group(1).decode("ascii").lower() if found else "utf-8"
    if encoding not in ("utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"):
        return f"{name} is in encoding {encoding.upper()} (only UTF-8 and UTF-16)"
    if encoding.startswith("utf-16"):
        # Re-encoded to UTF-8 above: drop the declaration that still names UTF-16.
        text = re.sub(rb"^<\?xml[^>]*\?>", b"", text)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        tree = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as exc:
        return f"{name} is not well-formed XML ({exc})"
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return f"{name} declares a DOCTYPE or ENTITY (not allowed)"
    return None


def not_a_zip(kind: str) -> str:
    """The problem of a file that is no zip at all."""
    return f"not {'an' if kind[:1] in 'AEIOX' else 'a'} {kind} (not a zip)"


def package_problems(
    content: bytes, limits: PackageLimits, required: tuple[str, ...] = (), kind: str = "OOXML"
) -> list[str]:
    """What makes `content` unsafe to open as an OOXML package; empty when it is safe.

    `required` names parts the package must have (`word/document.xml`, `xl/workbook.xml`).
    """
    if len(content) > limits.max_bytes:
        return [f"larger than {limits.max_bytes} bytes"]
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return [not_a_zip(kind)]
    with archive:
        entries = archive.infolist()  # the central directory only: nothing inflated yet
        problems: list[str] = []
        if len(entries) > limits.max_entries:
            problems.append(f"{len(entries)} zip entries (at most {limits.max_entries})")
        total = sum(entry.file_size for entry in entries)
        if total > limits.max_uncompressed:
            problems.append(f"{total} bytes uncompressed (at most {limits.max_uncompressed})")
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if ratio > limits.max_ratio and entry.file_size > RATIO_FLOOR_BYTES:
                problems.append(
                    f"{entry.filename} expands {ratio:.0f} times (at most {limits.max_ratio:.0f})"
                )
                break
        overall = total / max(len(content), 1)
        if overall > limits.max_ratio and total > RATIO_FLOOR_BYTES:
            problems.append(f"the whole file expands {overall:.0f} times")
        names = {entry.filename for entry in entries}
        missing = [part for part in required if part not in names]
        if missing:
            problems.append(f"no {', '.join(missing)}: not a {kind}")
        if problems:
            return problems
        for entry in entries:
            if entry.is_dir() or entry.filename.lower().endswith(_BINARY_SUFFIXES):
                continue
            try:
                # zipfile never yields more than the declared size, which is bounded above.
                with archive.open(entry) as member:
                    data = member.read(limits.max_uncompressed + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError):
                return [f"{entry.filename} does not unpack"]
            problem = _xml_problem(entry.filename, data)
            if problem:
                return [problem]
    return []
