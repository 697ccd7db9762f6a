"""Hostile input: NoSQL operators in query parameters and JSON fields, path traversal in
file names, HTML/JS in text shown by the UI, oversized and fuzzed BPMN, fuzzed number
templates. XXE, DOCTYPE and billion laughs are refused by the XML parser itself:
tests/unit/test_xml_safety.py."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.errors import NumberTemplateInvalid
from documents.numbering import parse_template
from engine import instances
from engine.actor import Actor
from registry import organizations
from tests.conftest import bpmn

API = "/api/v1"
OPERATORS = ['{"$ne": null}', '{"$gt": ""}', "[$ne]", '{"$where": "sleep(1000)"}']


def _spec(client: FlaskClient) -> dict[str, Any]:
    return client.get(f"{API}/openapi.json").get_json()


@pytest.fixture()
def seeded(app: Flask, users: dict[str, dict[str, str]], deploy: Any) -> dict[str, str]:
    """Something to leak: an organization, an instance with an open task."""
    deploy("approval.bpmn")
    manager = Actor("alice", frozenset({"sales"}))
    org = organizations.create(manager, {"name": "Acme <b>bold</b>"})
    started = instances.start("approval", manager, {"amount": 5})
    return {"organization": str(org.id), "instance": str(started["_id"])}


def test_operators_in_query_parameters_are_422_or_match_nothing(
    client: FlaskClient, users: dict[str, dict[str, str]], seeded: dict[str, str]
) -> None:
    """Every query parameter of every list endpoint, given an operator where a value
    belongs: never a 5xx, and a 200 lists nothing (no operator reached the database)."""
    admin = users["admin"]
    wrong = []
    plain: dict[str, Any] = {}
    tried = 0
    for path, item in _spec(client)["paths"].items():
        op = item.get("get")
        if op is None or "{" in path or path.endswith(("openapi.json", "/export")):
            continue
        names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
        for name in names:
            for value in OPERATORS:
                tried += 1
                if value == "[$ne]":
                    # PHP-style `name[$ne]=x` is an unknown name: refused with 422
                    # (webapi.query_params); were it ignored, the answer would have to be
                    # the unfiltered one (the operator never applied).
                    response = client.get(path, headers=admin, query_string={f"{name}[$ne]": "x"})
                    if path not in plain:
                        plain[path] = client.get(path, headers=admin).get_json(silent=True)
                    if (
                        response.status_code != 422
                        and response.get_json(silent=True) != plain[path]
                    ):
                        wrong.append(f"{path}?{name}[$ne] -> {response.status_code}")
                    continue
                query = {name: value}
                response = client.get(path, headers=admin, query_string=query)
                status = response.status_code
                body = response.get_json(silent=True) or {}
                items = body.get("items") if isinstance(body, dict) else None
                if status >= 500 or (status == 200 and items):
                    wrong.append(f"{path}?{query} -> {status} {str(body)[:100]}")
    assert tried > 100
    assert wrong == [], "\n".join(wrong)


def _fields(spec: dict[str, Any], op: dict[str, Any]) -> list[str]:
    """The top-level fields of an operation's JSON body (after $ref)."""
    schema = (
        op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    )
    ref = schema.get("$ref", "")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return list(schema.get("properties", {}))


CREATES = [
    "/instances",
    "/organizations",
    "/contacts",
    "/documents",
    "/assignments",
    "/mail/messages",
    "/linear-procedures",
    "/journals",
]


def test_operators_in_json_fields_are_refused_with_the_field_named(
    client: FlaskClient, users: dict[str, dict[str, str]], seeded: dict[str, str]
) -> None:
    spec = _spec(client)
    wrong = []
    for short in CREATES:
        op = spec["paths"][f"{API}{short}"]["post"]
        fields = _fields(spec, op)
        assert fields, short
        for field in fields:
            body = {field: {"$ne": None}}
            response = client.post(f"{API}{short}", headers=users["admin"], json=body)
            errors = (response.get_json(silent=True) or {}).get("errors", {})
            # Object-typed fields (variables, subject, requisites) answer for their own
            # contents: what counts is no 5xx and no success.
            if response.status_code >= 500 or response.status_code < 400:
                wrong.append(f"{short}.{field} -> {response.status_code}")
            elif response.status_code == 422 and not errors:
                wrong.append(f"{short}.{field} -> 422 without naming a field")
    assert wrong == [], "\n".join(wrong)


LOGIN_BODIES = [
    {"username": {"$ne": ""}, "password": {"$ne": ""}},
    {"username": "alice", "password": {"$gt": ""}},
    {"username": {"$regex": ".*"}, "password": "alice-password"},
    {"username": "alice", "password": "x", "$where": "1"},
]


def test_no_operator_signs_anyone_in(client: FlaskClient, users: dict[str, dict[str, str]]) -> None:
    for body in LOGIN_BODIES:
        response = client.post(f"{API}/auth/token", json=body)
        assert response.status_code in (401, 422), body
        assert "token" not in (response.get_json() or {})


TRAVERSALS = [
    "../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/var/lib/crm/secret_key",
    "a/../../b.txt",
    "x\x00.txt",
    "..",
]


def test_path_traversal_in_a_file_name_is_stored_harmless(
    client: FlaskClient, users: dict[str, dict[str, str]]
) -> None:
    for name in TRAVERSALS:
        response = client.post(
            f"{API}/files",
            headers=users["alice"],
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(b"plain text"), name)},
        )
        if response.status_code == 422:  # nothing left of the name
            assert name == ".." and "filename" in json.dumps(response.get_json())
            continue
        assert response.status_code == 201, (name, response.get_json())
        stored = response.get_json()["name"]
        assert "/" not in stored and "\\" not in stored and "\x00" not in stored
        assert not stored.startswith(".")
        download = client.get(
            f"{API}/files/{response.get_json()['id']}/content", headers=users["alice"]
        )
        download.close()  # a streamed answer: close it before the next request
        assert download.status_code == 200
        disposition = download.headers["Content-Disposition"]
        assert "/" not in disposition and "\\" not in disposition and ".." not in disposition


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/ui/login",
        data={"username": username, "password": f"{username}-password", "csrf_token": token[1]},
    )
    assert response.status_code == 302
    return client


def test_html_in_text_fields_is_escaped_on_the_pages(
    app: Flask, users: dict[str, dict[str, str]], deploy: Any
) -> None:
    alice = Actor("alice", frozenset({"sales"}))
    org = organizations.create(alice, {"name": XSS})
    deploy("approval.bpmn")
    started = instances.start(
        "approval",
        alice,
        {"amount": 5},
        subject={"type": "organization", "id": str(org.id), "title": XSS},
    )
    client = _signed_in(app, "alice")
    pages = {
        "organization card": f"/ui/organizations/{org.id}",
        "task page": f"/ui/tasks/{started['open_tasks'][0]['guid']}",
    }
    for what, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (what, response.status_code)
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, what
        assert "&lt;script&gt;alert" in html, what  # it is shown, escaped


def test_a_50_mb_bpmn_is_refused_before_it_is_read(
    client: FlaskClient, users: dict[str, dict[str, str]]
) -> None:
    # The multipart body built by hand: the test client would spool it to a file of its own.
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="huge.bpmn"\r\n'
        b"Content-Type: application/xml\r\n\r\n<definitions>"
        + b" " * (50 * 1024 * 1024)
        + b"</definitions>\r\n--B--\r\n"
    )
    started = time.monotonic()
    response = client.post(
        f"{API}/definitions",
        headers=users["designer"],
        content_type="multipart/form-data; boundary=B",
        input_stream=io.BytesIO(body),
        content_length=len(body),
    )
    assert response.status_code in (413, 422)
    assert response.get_json()["code"] in ("payload_too_large", "validation_error")
    assert time.monotonic() - started < 10


BPMN = bpmn("approval.bpmn")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        # Mutations of a valid diagram reach deeper than random bytes.
        st.tuples(st.integers(0, len(BPMN) - 1), st.binary(min_size=1, max_size=40)).map(
            lambda cut: BPMN[: cut[0]] + cut[1] + BPMN[cut[0] + len(cut[1]) :]
        ),
        st.integers(0, len(BPMN)).map(lambda n: BPMN[:n]),
    )
)
def test_fuzzed_bpmn_uploads_never_answer_5xx(
    client: FlaskClient, users: dict[str, dict[str, str]], data: bytes
) -> None:
    started = time.monotonic()
    response = client.post(
        f"{API}/definitions",
        headers=users["designer"],
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), "fuzz.bpmn")},
    )
    assert response.status_code in (201, 200, 409, 413, 422), (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    assert time.monotonic() - started < 5


@settings(max_examples=300, deadline=200)
@given(
    source=st.one_of(
        st.text(max_size=250),
        st.lists(
            st.sampled_from(
                [
                    "{seq}",
                    "{seq:04}",
                    "{yy}",
                    "{yyyy}",
                    "{journal}",
                    "{{",
                    "}}",
                    "{",
                    "}",
                    "-",
                    "/",
                    "{seq:999}",
                    "{dept}",
                    "{x}",
                    "{seq:}",
                    "{ seq }",
                    "№",
                ]
            ),
            max_size=30,
        ).map("".join),
    ),
    seq=st.integers(1, 10**9),
)
def test_the_number_template_parser_accepts_or_names_the_problem(source: str, seq: int) -> None:
    try:
        template = parse_template(source)
    except NumberTemplateInvalid as exc:
        assert exc.errors.get("number_template")
        return
    number = template.format(seq, date(2026, 3, 1), journal="ВХ", dept="D", case="01", corr="c")
    assert str(seq) in number and len(number) < 1000
