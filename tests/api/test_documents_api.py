"""The records-office API through the Flask test client: files, documents, journals, cards,
signatures, appeals, nomenclature and templates."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import docx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from accounts import service as accounts

Headers = dict[str, str]


@pytest.fixture()
def clerk(app: Flask) -> Headers:
    accounts.create_user("clerk", "clerk-password", ["office"], full_name="Ксения")
    token, _ = accounts.issue_token("clerk", 3600)
    return {"Authorization": f"Bearer {token}"}


def upload(
    client: FlaskClient, headers: Headers, name: str, data: bytes, url: str = "/api/v1/files"
) -> Any:
    return client.post(
        url,
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), name)},
    )


def make_journal(client: FlaskClient, headers: Headers, **extra: Any) -> dict[str, Any]:
    body = {
        "code": "ВХ",
        "name": "Входящие",
        "kind": "incoming",
        "number_template": "{journal}-{seq:04}/{yy}",
        "write": ["group:office"],
        **extra,
    }
    response = client.post("/api/v1/journals", headers=headers, json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_upload_download_and_versions(
    client: FlaskClient, clerk: Headers, users: dict[str, Headers]
) -> None:
    created = upload(client, clerk, "Договор №1.pdf", b"%PDF-1.4 one")
    assert created.status_code == 201
    file = created.json
    assert file["versions"][0]["content_type"] == "application/pdf"
    again = upload(client, clerk, "x.pdf", b"%PDF-1.4 two", f"/api/v1/files/{file['id']}/versions")
    assert again.json["current_version"] == 2
    got = client.get(f"/api/v1/files/{file['id']}/content?version=1", headers=clerk)
    assert got.status_code == 200 and got.data == b"%PDF-1.4 one"
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"] == (
        'attachment; filename="_______ _1.pdf"; '
        "filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%961.pdf"
    )
    assert client.get(f"/api/v1/files/{file['id']}", headers=users["bob"]).status_code == 404
    locked = client.post(f"/api/v1/files/{file['id']}/checkout", headers=clerk)
    assert locked.json["locked_by"] == "clerk"


def test_the_upload_cap(fresh_app: Callable[..., Flask]) -> None:
    app = fresh_app(secret_key="t", max_file_bytes=1000)
    accounts.create_user("clerk", "clerk-password", ["office"])
    token, _ = accounts.issue_token("clerk", 3600)
    client = app.test_client()
    response = upload(client, {"Authorization": f"Bearer {token}"}, "big.bin", b"0" * 5000)
    assert response.status_code == 422 and response.json["code"] == "payload_too_large"
    # A body past every cap is refused before it is read (sent raw: no temporary file).
    response = client.post(
        "/api/v1/files",
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data; boundary=x",
        data=b"0" * (6 * 1024 * 1024),
    )
    assert response.status_code == 413


def test_register_and_restrict(
    client: FlaskClient, clerk: Headers, users: dict[str, Headers]
) -> None:
    assert (
        client.post(
            "/api/v1/journals",
            headers=users["alice"],
            json={"code": "X", "name": "X", "kind": "incoming", "number_template": "{seq}"},
        ).status_code
        == 403
    )
    bad = client.post(
        "/api/v1/journals",
        headers=clerk,
        json={"code": "X", "name": "X", "kind": "incoming", "number_template": "{year}"},
    )
    assert bad.status_code == 422 and bad.json["code"] == "number_template_invalid"
    journal = make_journal(client, clerk)
    doc = client.post(
        "/api/v1/documents",
        headers=clerk,
        json={
            "kind": "incoming",
            "title": "Запрос о сверке",
            "journal_id": journal["id"],
            "correspondent": {"organization_id": "org-1", "name": "ООО «Ромашка»"},
        },
    ).json
    card = client.post(
        f"/api/v1/documents/{doc['id']}/registration",
        headers=clerk,
        json={
            "journal_id": journal["id"],
            "due_in_working_days": 10,
            "executors": ["alice"],
            "correspondent_number": "17/2",
        },
    )
    assert card.status_code == 201, card.json
    assert card.json["number"].startswith("ВХ-0001/")
    assert client.get(f"/api/v1/cards/{card.json['id']}", headers=users["bob"]).status_code == 200
    secret = client.post(
        "/api/v1/documents",
        headers=clerk,
        json={"kind": "incoming", "title": "Секретно", "restriction": "ДСП", "read": ["alice"]},
    ).json
    bob_list = client.get("/api/v1/documents", headers=users["bob"]).json["items"]
    assert [d["title"] for d in bob_list] == ["Запрос о сверке"]
    assert client.get(f"/api/v1/documents/{secret['id']}", headers=users["bob"]).status_code == 404
    assert (
        client.get(f"/api/v1/documents/{secret['id']}", headers=users["alice"]).status_code == 200
    )
    unknown = client.post(
        "/api/v1/documents", headers=clerk, json={"kind": "incoming", "title": "x", "colour": "red"}
    )
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]
    log = client.get(
        f"/api/v1/journals/{journal['id']}/numbers?year={card.json['year']}", headers=clerk
    ).json["items"]
    assert [(r["seq"], r["status"]) for r in log] == [(1, "used")]


def test_sign_and_verify(client: FlaskClient, clerk: Headers) -> None:
    assert client.post("/api/v1/signatures/keys", headers=clerk, json={}).status_code == 201
    file = upload(client, clerk, "a.txt", b"the exact bytes").json
    signed = client.post(f"/api/v1/files/{file['id']}/signatures", headers=clerk, json={})
    assert signed.status_code == 201
    check = client.get(f"/api/v1/signatures/{signed.json['id']}/verify", headers=clerk)
    assert check.json["status"] == "valid"
    upload(client, clerk, "a.txt", b"other bytes", f"/api/v1/files/{file['id']}/versions")
    check = client.get(f"/api/v1/signatures/{signed.json['id']}/verify", headers=clerk)
    assert (check.json["status"], check.json["covers_version"]) == ("content_changed", False)
    listed = client.get(f"/api/v1/files/{file['id']}/signatures", headers=clerk).json
    assert [s["covers_current"] for s in listed["items"]] == [False]
    cms = client.get(f"/api/v1/signatures/{signed.json['id']}/cms", headers=clerk)
    assert cms.headers["Content-Type"] == "application/pkcs7-signature"
    pem = client.get("/api/v1/signatures/keys/certificate", headers=clerk)
    assert pem.data.startswith(b"-----BEGIN CERTIFICATE-----")


def test_appeals_and_nomenclature(client: FlaskClient, clerk: Headers) -> None:
    journal = make_journal(
        client, clerk, code="ОГ", kind="appeal", number_template="{journal}-{seq}"
    )
    appeal = client.post(
        "/api/v1/appeals",
        headers=clerk,
        json={
            "journal_id": journal["id"],
            "topic": "0003.0009",
            "channel": "email",
            "summary": "Яма во дворе",
            "authors": [{"name": "Иванов И. И.", "email": "ivanov@example.org"}],
        },
    )
    assert appeal.status_code == 201, appeal.json
    assert appeal.json["number"] == "ОГ-1" and appeal.json["form"] == "individual"
    extended = client.post(
        f"/api/v1/appeals/{appeal.json['id']}/extension",
        headers=clerk,
        json={"days": 10, "reason": "проверка"},
    )
    assert extended.status_code == 200 and extended.json["notices"][0]["kind"] == "extension"
    nom = client.post("/api/v1/nomenclature", headers=clerk, json={"year": 2026})
    assert nom.status_code == 201
    case = client.post(
        f"/api/v1/nomenclature/{nom.json['id']}/cases",
        headers=clerk,
        json={"index": "01-01", "title": "Приказы", "retention_years": None},
    )
    assert case.status_code == 201 and case.json["retention_years"] is None
    detail = client.get(f"/api/v1/nomenclature/{nom.json['id']}", headers=clerk).json
    assert [c["index"] for c in detail["cases"]] == ["01-01"]


def _docx(text: str) -> bytes:
    doc = docx.Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_templates_render_and_refuse_a_zip_bomb(client: FlaskClient, clerk: Headers) -> None:
    response = client.post(
        "/api/v1/templates",
        headers=clerk,
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(_docx("ИНН {{ organization.inn }}")), "t.docx"),
            "name": "Письмо",
            "kind": "letter",
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["placeholders"] == ["organization"]
    rendered = client.post(
        f"/api/v1/templates/{response.json['id']}/render",
        headers=clerk,
        json={"context": {"organization": {"inn": "7707083893"}}, "filename": "Письмо"},
    )
    assert rendered.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(rendered.data)).paragraphs)
    assert "ИНН 7707083893" in text
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b" " * (30 * 1024 * 1024))
    refused = client.post(
        "/api/v1/templates",
        headers=clerk,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(bomb.getvalue()), "bomb.docx"), "name": "Бомба"},
    )
    assert refused.status_code == 422 and refused.json["code"] == "unsafe_template"


def test_the_openapi_document_lists_the_records_office(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/files",
        "/api/v1/documents/{document_id}/registration",
        "/api/v1/journals/{journal_id}/numbers",
        "/api/v1/appeals/{appeal_id}/extension",
        "/api/v1/signatures/{signature_id}/verify",
        "/api/v1/templates/{template_id}/render",
        "/api/v1/nomenclature/destruction-acts",
        "/api/v1/cards/{card_id}/transfers",
    ):
        assert path in paths
