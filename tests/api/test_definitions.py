"""Deploying and reading definitions over HTTP."""

from __future__ import annotations

from tests.conftest import bpmn

LIMIT = 2 * 1024 * 1024


def multipart(content: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart body with one `file`, built in memory (werkzeug's test builder spools
    large bodies to a temporary file that it leaves open when the app refuses early)."""
    boundary = "----crm-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _upload(client, headers, content: bytes, filename: str = "approval.bpmn"):
    body, content_type = multipart(content, filename)
    return client.post("/api/v1/definitions", headers=headers, content_type=content_type, data=body)


def test_designer_deploys_and_gets_id_key_version(client, users):
    response = _upload(client, users["designer"], bpmn("approval.bpmn"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["key"] == "approval" and body["version"] == 1 and len(body["id"]) == 24
    assert [d["key"] for d in body["definitions"]] == ["approval"]
    again = _upload(client, users["admin"], bpmn("approval.bpmn")).get_json()
    assert (again["id"], again["version"]) == (body["id"], 1)  # same content, same version
    changed = bpmn("approval.bpmn").replace(b"Review the request", b"Review it")
    assert _upload(client, users["designer"], changed).get_json()["version"] == 2


def test_only_designers_and_admins_deploy(client, users):
    response = _upload(client, users["alice"], bpmn("approval.bpmn"))
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert _upload(client, {}, bpmn("approval.bpmn")).status_code == 401


def test_upload_needs_a_bpmn_or_dmn_file(client, users):
    missing = client.post(
        "/api/v1/definitions",
        headers=users["designer"],
        content_type="multipart/form-data",
        data={},
    )
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    wrong = _upload(client, users["designer"], b"<x/>", "notes.txt")
    assert wrong.status_code == 422 and "file" in wrong.get_json()["errors"]


def test_invalid_and_unsafe_xml_are_422(client, users):
    broken = _upload(client, users["designer"], b"<definitions>")
    assert broken.status_code == 422
    assert broken.get_json()["code"] == "definition_invalid"
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    unsafe = _upload(client, users["designer"], xxe)
    assert unsafe.status_code == 422 and unsafe.get_json()["code"] == "unsafe_xml"


def test_file_over_two_megabytes_is_413_with_the_error_body(client, users):
    padding = b"<!-- " + b"x" * LIMIT + b" -->"
    just_over = bpmn("approval.bpmn").replace(b"<bpmn:process", padding + b"<bpmn:process", 1)
    response = _upload(client, users["designer"], just_over)
    assert response.status_code == 413
    body = response.get_json()
    assert body["code"] == "payload_too_large" and set(body) == {"code", "message", "errors"}
    # Far over: the request itself is refused before the file is read.
    huge = _upload(client, users["designer"], b"x" * (LIMIT + 200 * 1024))
    assert huge.status_code == 413
    assert huge.get_json()["code"] == "payload_too_large"
    assert client.get("/api/v1/definitions", headers=users["designer"]).get_json() == {"items": []}


def test_list_versions_and_source(client, users, deploy):
    deploy("approval.bpmn")
    deploy("message_wait.bpmn")
    listed = client.get("/api/v1/definitions", headers=users["alice"]).get_json()["items"]
    assert sorted(d["key"] for d in listed) == ["approval", "order_payment"]
    versions = client.get("/api/v1/definitions/approval", headers=users["alice"]).get_json()
    assert versions["key"] == "approval" and [v["version"] for v in versions["versions"]] == [1]
    xml = client.get("/api/v1/definitions/approval/1/xml", headers=users["alice"])
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert xml.data == bpmn("approval.bpmn")
    for path in ("/api/v1/definitions/nope", "/api/v1/definitions/approval/9/xml"):
        response = client.get(path, headers=users["alice"])
        assert response.status_code == 404
        assert response.get_json()["code"] == "definition_not_found"
    bad = client.get("/api/v1/definitions?kind=xml", headers=users["alice"])
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"kind"}
    unknown = client.get("/api/v1/definitions?x=1", headers=users["alice"])
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {"x"}
