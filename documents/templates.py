"""DOCX templates (docxtpl): bounded upload and rendering of contracts and letters.

A DOCX is a zip, and python-docx parses its XML with `huge_tree=True`, so an upload is
checked before anything opens it: its size, the number of zip entries, the total
uncompressed size and the compression ratio, all read from the zip's central directory.
Rendering takes a plain context dict: the caller (an API route, a procedure's operator)
builds it from the registry's organization and contract and this package's document, so
`documents` never imports `registry`. Jinja runs sandboxed with autoescaping (a `&` in a
company name must not break the XML).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from docxtpl import DocxTemplate
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from accounts.access import make_access
from engine.actor import Actor
from engine.models import utcnow

from . import files, office, repository
from .errors import TemplateNotFound, TemplateRenderError, UnsafeTemplate
from .models import DocumentTemplate, OfficeDocument, RegistrationCard, StoredFile

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS = ("contract", "letter", "other")


@dataclass(frozen=True)
class DocxLimits:
    """Bounds an uploaded DOCX must stay within before it is opened."""

    max_bytes: int = 5 * 1024 * 1024
    max_entries: int = 300
    max_uncompressed: int = 50 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per entry and overall


def read_bounded(stream: IO[bytes], max_bytes: int) -> bytes:
    """Read at most `max_bytes` from a stream, refusing anything longer."""
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise UnsafeTemplate(
            f"the template is larger than {max_bytes} bytes",
            {"file": [f"at most {max_bytes} bytes"]},
        )
    return content


def check_docx(content: bytes, limits: DocxLimits = DocxLimits()) -> None:
    """Refuse a DOCX that is too large, has too many entries or decompresses too much."""
    if len(content) > limits.max_bytes:
        raise UnsafeTemplate(
            f"the template is larger than {limits.max_bytes} bytes",
            {"file": [f"at most {limits.max_bytes} bytes"]},
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()  # the central directory only: nothing is inflated
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UnsafeTemplate(
            "the file is not a DOCX (not a zip)", {"file": ["not a DOCX"]}
        ) from exc
    problems: list[str] = []
    if len(entries) > limits.max_entries:
        problems.append(f"{len(entries)} zip entries (at most {limits.max_entries})")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed:
        problems.append(f"{total} bytes uncompressed (at most {limits.max_uncompressed})")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > limits.max_ratio and entry.file_size > 64 * 1024:
            problems.append(f"{entry.filename} expands {ratio:.0f} times")
            break
    if total / max(len(content), 1) > limits.max_ratio:
        problems.append(f"the whole file expands {total / max(len(content), 1):.0f} times")
    names = {entry.filename for entry in entries}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        problems.append("no word/document.xml: not a DOCX")
    if problems:
        raise UnsafeTemplate("the DOCX is refused: " + "; ".join(problems), {"file": problems})


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


def _open(content: bytes, limits: DocxLimits) -> DocxTemplate:
    check_docx(content, limits)
    try:
        return DocxTemplate(io.BytesIO(content))
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise UnsafeTemplate(f"the DOCX does not open: {exc}", {"file": ["malformed"]}) from exc


def placeholders(content: bytes, limits: DocxLimits = DocxLimits()) -> list[str]:
    """The top-level variables a DOCX template uses."""
    template = _open(content, limits)
    try:
        return sorted(template.get_undeclared_template_variables(jinja_env=_environment()))
    except TemplateError as exc:
        raise TemplateRenderError(
            f"the template has a Jinja error: {exc}", {"file": [str(exc)]}
        ) from exc


def upload_template(
    actor: Actor,
    name: str,
    filename: str,
    stream: IO[bytes],
    kind: str = "contract",
    description: str = "",
    limits: DocxLimits = DocxLimits(),
) -> DocumentTemplate:
    """Store a checked DOCX template; everyone may use it, its uploader may replace it."""
    if kind not in KINDS:
        raise TemplateRenderError("unknown template kind", {"kind": list(KINDS)})
    if not name.strip():
        raise TemplateRenderError("the template needs a name", {"name": ["is required"]})
    content = read_bounded(stream, limits.max_bytes)
    found = placeholders(content, limits)
    stored = files.upload(
        actor,
        filename,
        io.BytesIO(content),
        max_bytes=limits.max_bytes,
        access=make_access(read=["*"], write=[actor.username]),
    )
    template = DocumentTemplate(
        name=name.strip(),
        kind=kind,
        description=description,
        file_id=stored.id,
        placeholders=found,
        uploaded_by=actor.username,
        created_at=utcnow(),
    )
    template.save(force_insert=True)
    return template


def get_template(template_id: Any) -> DocumentTemplate:
    """An active template by id."""
    oid = repository.object_id(template_id)
    found = DocumentTemplate.objects(id=oid, active=True).first() if oid else None
    if found is None:
        raise TemplateNotFound(f"no template {template_id}")
    return found


def find_template(reference: Any) -> DocumentTemplate:
    """An active template by id or, failing that, by its name (procedures name it)."""
    oid = repository.object_id(reference)
    found = DocumentTemplate.objects(id=oid, active=True).first() if oid else None
    if found is None and isinstance(reference, str) and reference.strip():
        found = DocumentTemplate.objects(name=reference.strip(), active=True).first()
    if found is None:
        raise TemplateNotFound(f"no template {reference}")
    return found


def list_templates(kind: str = "") -> list[DocumentTemplate]:
    """Active templates, by name."""
    found = (
        DocumentTemplate.objects(active=True, kind=kind)
        if kind
        else DocumentTemplate.objects(active=True)
    )
    return list(found.order_by("name"))


def render(content: bytes, context: dict[str, Any], limits: DocxLimits = DocxLimits()) -> bytes:
    """Fill a DOCX template with `context`; return the DOCX bytes."""
    template = _open(content, limits)
    try:
        template.render(context, jinja_env=_environment(), autoescape=True)
    except TemplateError as exc:
        raise TemplateRenderError(
            f"the template does not render: {exc}", {"context": [str(exc)]}
        ) from exc
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_template(
    template_id: Any, context: dict[str, Any], limits: DocxLimits = DocxLimits()
) -> bytes:
    """Render a stored template with `context`."""
    template = get_template(template_id)
    stored = StoredFile.objects(id=template.file_id).first()
    if stored is None:
        raise TemplateNotFound(f"the file of template {template_id} is missing")
    return render(files.read_bytes(files.version_of(stored)), context, limits)


def generate(
    actor: Actor,
    template_id: Any,
    context: dict[str, Any],
    filename: str,
    document_id: Any = None,
    limits: DocxLimits = DocxLimits(),
) -> StoredFile:
    """Render a template into a new stored file, attached to a document when one is named."""
    content = render_template(template_id, context, limits)
    name = filename if filename.lower().endswith(".docx") else f"{filename}.docx"
    if document_id is not None:
        office.writable_document(actor, document_id)
    stored = files.upload(
        actor,
        name,
        io.BytesIO(content),
        max_bytes=max(files.DEFAULT_MAX_BYTES, len(content)),
        comment=f"generated from template {template_id}",
    )
    if document_id is not None:
        office.attach_file(actor, document_id, stored.id)
    return stored


def document_context(doc: OfficeDocument, card: RegistrationCard | None = None) -> dict[str, Any]:
    """The `document` part of a rendering context, from a document and its card."""
    return {
        "title": doc.title,
        "summary": doc.summary,
        "kind": doc.kind,
        "date": doc.document_date.strftime("%d.%m.%Y") if doc.document_date else "",
        "number": card.number if card else doc.reg_number,
        "registered_on": card.registered_on.strftime("%d.%m.%Y") if card else "",
        "correspondent": doc.correspondent.name if doc.correspondent else "",
        "pages": doc.pages,
    }
