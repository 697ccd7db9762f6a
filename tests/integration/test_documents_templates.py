"""DOCX templates: a generated contract carries the organization's INN and bank details;
uploads are bounded and a zip bomb is refused before anything opens it."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from documents import files, office, templates
from documents.errors import TemplateRenderError, UnsafeTemplate

from .documents_helpers import CLERK, document

ORGANIZATION = {  # what the registry's Organization gives the caller, as a plain dict
    "name": "ООО «Ромашка & партнёры»",
    "inn": "7707083893",
    "kpp": "773601001",
    "bank_accounts": [
        {
            "bank": "ПАО Сбербанк",
            "bik": "044525225",
            "correspondent_account": "30101810400000000225",
            "account": "40702810938000012345",
        }
    ],
}


def contract_template() -> bytes:
    """A contract template written with python-docx, with Jinja placeholders."""
    doc = docx.Document()
    doc.add_heading("Договор № {{ contract.number }}", level=1)
    doc.add_paragraph(
        "{{ organization.name }}, ИНН {{ organization.inn }}, КПП {{ organization.kpp }}"
    )
    doc.add_paragraph(
        "{% for a in organization.bank_accounts %}Р/с {{ a.account }} в "
        "{{ a.bank }}, БИК {{ a.bik }}, к/с {{ a.correspondent_account }}"
        "{% endfor %}"
    )
    doc.add_paragraph("Сумма: {{ contract.amount }} руб.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def text_of(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


def test_a_generated_contract_contains_the_inn_and_bank_details(db: None) -> None:
    template = templates.upload_template(
        CLERK, "Договор поставки", "contract.docx", io.BytesIO(contract_template())
    )
    assert template.placeholders == ["contract", "organization"]
    doc = document(kind="outgoing", title="Договор с Ромашкой")
    stored = templates.generate(
        CLERK,
        template.id,
        {"organization": ORGANIZATION, "contract": {"number": "Д-15", "amount": "120 000,00"}},
        "Договор Д-15",
        document_id=doc.id,
    )
    version = files.version_of(stored)
    assert version.content_type == templates.DOCX_TYPE and stored.name == "Договор Д-15.docx"
    text = text_of(files.read_bytes(version))
    assert "ООО «Ромашка & партнёры», ИНН 7707083893, КПП 773601001" in text
    assert (
        "Р/с 40702810938000012345 в ПАО Сбербанк, БИК 044525225, к/с 30101810400000000225"
    ) in text
    assert "Договор № Д-15" in text
    assert [link.file_id for link in office.get_document(CLERK, doc.id).files] == [stored.id]


def test_a_template_cannot_reach_python_internals(db: None) -> None:
    doc = docx.Document()
    doc.add_paragraph("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    out = io.BytesIO()
    doc.save(out)
    with pytest.raises(TemplateRenderError):
        templates.render(out.getvalue(), {})


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * (40 * 1024 * 1024))
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_opened(db: None) -> None:
    bomb = zip_bomb()
    assert len(bomb) < 100 * 1024
    with pytest.raises(UnsafeTemplate) as refused:
        templates.upload_template(CLERK, "Бомба", "bomb.docx", io.BytesIO(bomb))
    assert "expands" in refused.value.message
    assert files.list_files(CLERK) == []


@pytest.mark.parametrize(
    ("content", "limits", "why"),
    [
        (b"x" * 2000, templates.DocxLimits(max_bytes=1000), "larger than"),
        (b"not a zip", templates.DocxLimits(), "not a DOCX"),
    ],
)
def test_oversized_and_non_zip_uploads_are_refused(
    content: bytes, limits: templates.DocxLimits, why: str
) -> None:
    with pytest.raises(UnsafeTemplate) as refused:
        templates.check_docx(content, limits)
    assert why in refused.value.message


def test_too_many_entries_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(20):
            archive.writestr(f"word/media/{i}.bin", "x")
    with pytest.raises(UnsafeTemplate) as refused:
        templates.check_docx(out.getvalue(), templates.DocxLimits(max_entries=10))
    assert "zip entries" in refused.value.message
