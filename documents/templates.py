"""DOCX templates (docxtpl): bounded upload and rendering of contracts and letters.

A DOCX is a zip, and python-docx parses its XML with `huge_tree=True`, so an upload is
checked before anything opens it (engine/ooxml.py): its size, the number of zip members,
the total uncompressed size and the compression ratios, then every XML part for DOCTYPE and
ENTITY declarations (billion laughs, XXE); the refusal names the template.
Rendering takes a plain context dict: the caller (an API route, a procedure's operator)
builds it from the registry's organization and contract and this package's document, so
`documents` never imports `registry`. Jinja runs sandboxed with autoescaping (a `&` in a
company name must not break the XML).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from docxtpl import DocxTemplate
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from accounts.access import make_access
from engine.actor import Actor
from engine.models import utcnow
from engine.ooxml import PackageLimits, package_problems

from . import files, office, repository
from .errors import TemplateNotFound, TemplateRenderError, UnsafeTemplate
from .models import DocumentTemplate, OfficeDocument, RegistrationCard, StoredFile

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS = ("contract", "letter", "other")
REQUIRED_PARTS = ("[Content_Types].xml", "word/document.xml")


@dataclass(frozen=True)
class DocxLimits(PackageLimits):
    """Bounds an uploaded DOCX must stay within before it is opened (engine/ooxml.py)."""


def read_bounded(stream: IO[bytes], max_bytes: int) -> bytes:
    """Read at most `max_bytes` from a stream, refusing anything longer."""
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise UnsafeTemplate(
            f"the template is larger than {max_bytes} bytes",
            {"file": [f"at most {max_bytes} bytes"]},
        )
    return content


def check_docx(content: bytes, limits: DocxLimits = DocxLimits(), label: str = "") -> None:
    """Refuse a DOCX that is too large, decompresses too much or holds an XML bomb.

    `label` names the template in the message ("the template “Contract” …").
    """
    problems = package_problems(content, limits, REQUIRED_PARTS, kind="DOCX")
    if problems:
        what = f"the template {label}" if label else "the DOCX"
        raise UnsafeTemplate(f"{what} is refused: " + "; ".join(problems), {"file": problems})


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


def _open(content: bytes, limits: DocxLimits, label: str = "") -> DocxTemplate:
    check_docx(content, limits, label)
    try:
        return DocxTemplate(io.BytesIO(content))
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise UnsafeTemplate(f"the DOCX does not open: {exc}", {"file": ["malformed"]}) from exc


def placeholders(content: bytes, limits: DocxLimits = DocxLimits(), label: str = "") -> list[str]:
    """The top-level variables a DOCX template uses."""
    template = _open(content, limits, label)
    try:
        return sorted(template.get_undeclared_template_variables(jinja_env=_environment()))
    except TemplateError as exc:
        raise TemplateRenderError(
            f"the template has a Jinja error: {exc}", {"file": [str(exc)]}
        ) from exc


def _label(name: str, filename: str) -> str:
    """How a message names a template: “Contract” (contract.docx)."""
    shown = f"“{name.strip()}”" if name.strip() else ""
    return f"{shown} ({filename})" if filename else shown


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
    found = placeholders(content, limits, label=_label(name, filename))
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


def render(
    content: bytes, context: dict[str, Any], limits: DocxLimits = DocxLimits(), label: str = ""
) -> bytes:
    """Fill a DOCX template with `context`; return the DOCX bytes."""
    template = _open(content, limits, label)
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
    content = files.read_bytes(files.version_of(stored))
    return render(content, context, limits, label=_label(template.name, stored.name))


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
