"""Zip bombs and XML bombs in uploaded DOCX/XLSX files (contract and report templates, the
organization import) are refused before python-docx, docxtpl or openpyxl open them, with
a 422 that names the template; nothing is stored. The files are real packages written by
python-docx and openpyxl, then doctored part by part."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from typing import Any

import docx
import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook

from accounts import service as accounts
from documents.models import DocumentTemplate, StoredFile
from engine.ooxml import PackageLimits, package_problems
from registry.models import Organization
from reports.models import ReportTemplate

Headers = dict[str, str]

LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
XXE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
"""
EXTERNAL_DTD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">
"""


def real_docx() -> bytes:
    doc = docx.Document()
    doc.add_paragraph("Договор с {{ organization.name }}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def real_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "{{title}}"
    sheet["A2"] = "{{row.manager}}"
    sheet["A3"] = "name"  # a shared string, so xl/sharedStrings.xml exists
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def doctored(package: bytes, part: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The package with one part rewritten (every other member copied as it was)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        names = source.namelist()
        assert part in names, names
        for name in names:
            data = source.read(name)
            target.writestr(name, edit(data) if name == part else data)
    return out.getvalue()


def with_prolog(prolog: bytes, entity: bytes = b"") -> Callable[[bytes], bytes]:
    """Replace the XML declaration of a part by `prolog` and put `entity` in its text."""

    def edit(data: bytes) -> bytes:
        body = without_declaration(data)
        return prolog + body.replace(b"</w:t>", entity + b"</w:t>", 1)

    return edit


def without_declaration(data: bytes) -> bytes:
    return data.split(b"?>", 1)[1].lstrip() if data.startswith(b"<?xml") else data


def utf16_xxe(data: bytes) -> bytes:
    body = without_declaration(data)
    text = (XXE.replace(b"UTF-8", b"UTF-16") + body.replace(b"</w:t>", b"&xxe;</w:t>", 1)).decode()
    return text.encode("utf-16")


def utf7_declaration(data: bytes) -> bytes:
    # "+ADw-" is "<" in UTF-7: a byte scan for "<!DOCTYPE" would not see this one.
    body = without_declaration(data)
    return b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE x+AD4-' + body


def deep_nesting(data: bytes) -> bytes:
    # Deep enough for libxml2's limit (256 without huge_tree), small enough (35 KB) that
    # its compression ratio alone would not refuse it.
    depth = 5_000
    return data.replace(b"</w:t>", b"<a>" * depth + b"</a>" * depth + b"</w:t>", 1)


def zip_bomb(required: str) -> bytes:
    """A package whose one member inflates 40 MB of zeros from a few dozen KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(required, b"<a>" + b"\0" * (40 * 1024 * 1024) + b"</a>")
    return out.getvalue()


DOCX_ATTACKS = {
    "billion laughs": lambda: doctored(
        real_docx(), "word/document.xml", with_prolog(LAUGHS, b"&lol9;")
    ),
    "external entity": lambda: doctored(real_docx(), "word/styles.xml", with_prolog(XXE, b"&xxe;")),
    "external DTD": lambda: doctored(real_docx(), "_rels/.rels", with_prolog(EXTERNAL_DTD)),
    "UTF-16 external entity": lambda: doctored(real_docx(), "word/document.xml", utf16_xxe),
    "UTF-7 declaration": lambda: doctored(real_docx(), "word/document.xml", utf7_declaration),
    "5,000 nested elements": lambda: doctored(real_docx(), "word/document.xml", deep_nesting),
    "zip bomb": lambda: zip_bomb("word/document.xml"),
}
REASONS = {
    "billion laughs": "word/document.xml declares a DOCTYPE",
    "external entity": "word/styles.xml declares a DOCTYPE",
    "external DTD": "_rels/.rels declares a DOCTYPE",
    "UTF-16 external entity": "word/document.xml declares a DOCTYPE",
    "UTF-7 declaration": "encoding UTF-7",
    "5,000 nested elements": "word/document.xml is not well-formed",
    "zip bomb": "expands",
}


@pytest.fixture()
def clerk(client: FlaskClient) -> Headers:
    accounts.create_user("clerk", "clerk-password", ["office"])
    token, _ = accounts.issue_token("clerk", 3600)
    return {"Authorization": f"Bearer {token}"}


# One app per test (building one takes seconds here): the cases run in loops.


def test_contract_template_bombs_are_refused_naming_the_template(
    client: FlaskClient, clerk: Headers
) -> None:
    def upload(content: bytes, filename: str, name: str) -> Any:
        return client.post(
            "/api/v1/templates",
            headers=clerk,
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(content), filename), "name": name},
        )

    for attack, make in DOCX_ATTACKS.items():
        content = make()
        assert len(content) < 1024 * 1024, attack
        started = time.monotonic()
        refused = upload(content, "bomb.docx", "Договор-бомба")
        assert time.monotonic() - started < 5, attack
        assert refused.status_code == 422, (attack, refused.json)
        body = refused.json
        assert body["code"] == "unsafe_template", attack
        assert "the template “Договор-бомба” (bomb.docx) is refused" in body["message"], attack
        assert REASONS[attack] in body["message"], (attack, body["message"])
        assert body["errors"]["file"], attack
    assert DocumentTemplate.objects.count() == 0
    assert StoredFile.objects.count() == 0
    # The same real file, undoctored, is accepted.
    accepted = upload(real_docx(), "contract.docx", "Договор")
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["placeholders"] == ["organization"]


XLSX_ATTACKS = {
    "billion laughs": ("xl/worksheets/sheet1.xml", with_prolog(LAUGHS), "declares a DOCTYPE"),
    "external entity": ("xl/workbook.xml", with_prolog(XXE), "declares a DOCTYPE"),
    "external DTD": ("[Content_Types].xml", with_prolog(EXTERNAL_DTD), "declares a DOCTYPE"),
}


def test_report_template_bombs_are_refused_naming_the_template(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    def upload(content: bytes, filename: str) -> Any:
        return client.post(
            "/api/v1/reports/templates",
            headers=users["alice"],
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(content), filename), "name": "Звонки", "source": "actions"},
        )

    for attack, (part, edit, reason) in XLSX_ATTACKS.items():
        refused = upload(doctored(real_xlsx(), part, edit), "calls.xlsx")
        assert refused.status_code == 422, (attack, refused.json)
        assert refused.json["code"] == "report_template_invalid", attack
        assert "the template “Звонки” (calls.xlsx) is refused" in refused.json["message"]
        assert f"{part} {reason}" in refused.json["message"], attack
    for filename, content, code in (
        ("bomb.xlsx", zip_bomb("xl/workbook.xml"), "report_template_invalid"),
        ("laughs.docx", DOCX_ATTACKS["billion laughs"](), "unsafe_template"),
    ):
        refused = upload(content, filename)
        assert refused.status_code == 422, (filename, refused.json)
        assert refused.json["code"] == code
        assert f"“Звонки” ({filename})" in refused.json["message"]
    assert ReportTemplate.objects.count() == 0
    accepted = upload(real_xlsx(), "calls.xlsx")
    assert accepted.status_code == 201, accepted.json


def test_organization_import_bombs_are_refused(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    for content in (
        zip_bomb("xl/workbook.xml"),
        doctored(real_xlsx(), "xl/worksheets/sheet1.xml", with_prolog(XXE)),
    ):
        refused = client.post(
            "/api/v1/organizations/import",
            headers=users["alice"],
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(content), "orgs.xlsx"), "format": "xlsx"},
        )
        body: Any = refused.json
        assert refused.status_code == 422, body
        assert "the file is refused" in body["message"]
        assert body["errors"]["file"]
    assert Organization.objects.count() == 0


def test_the_limits_on_entries_and_total_size() -> None:
    assert package_problems(real_docx(), PackageLimits(), ("word/document.xml",)) == []
    assert package_problems(real_xlsx(), PackageLimits(), ("xl/workbook.xml",)) == []
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(20):
            archive.writestr(f"word/media/{i}.png", "x")
    assert package_problems(many.getvalue(), PackageLimits(max_entries=10)) == [
        "22 zip entries (at most 10)"
    ]
    big = package_problems(real_docx(), PackageLimits(max_uncompressed=10_000))
    assert big and "bytes uncompressed (at most 10000)" in big[0]
    assert package_problems(b"not a zip", PackageLimits(), kind="DOCX") == [
        "not a DOCX (not a zip)"
    ]
