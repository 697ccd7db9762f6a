"""Access control swept over the whole OpenAPI document: every operation refuses a caller
without a valid token, and an outsider's valid token opens nobody else's objects.

The sweep is generated: an endpoint added tomorrow is covered without editing this file;
only a new *public* operation must be listed in PUBLIC (and justified there).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from accounts import service as accounts
from accounts.models import ApiToken
from documents import cards, journals, office
from engine import definitions, instances
from engine.actor import Actor
from engine.models import utcnow
from tests.conftest import bpmn
from tests.mail_helpers import deploy_procedures, later

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
# Operations anyone may call: liveness for load balancers, the way to get a token, and the
# unsubscribe link of campaign e-mails (the signed token in the path is the credential).
PUBLIC = {
    ("get", "/api/v1/health"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/campaigns/unsubscribe/{token}"),
    ("post", "/api/v1/campaigns/unsubscribe/{token}"),  # the one-click unsubscribe (RFC 8058)
}
MARK = "TOPSECRET-7f3a"  # put in every private object: must never reach the outsider
FAKE_ID = "5f0000000000000000000000"

Op = tuple[str, str, dict[str, Any]]


def _operations(client: FlaskClient) -> list[Op]:
    spec = client.get(f"{API}/openapi.json").get_json()
    return [
        # Path parameters may be declared on the path item rather than the operation.
        (
            method,
            path,
            {**op, "parameters": [*item.get("parameters", []), *op.get("parameters", [])]},
        )
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _fill(path: str, op: dict[str, Any], values: dict[str, str]) -> str:
    """The path with each parameter replaced: a known object's id, else a well-formed
    dummy of the parameter's type (so routing reaches the view and its auth)."""
    types = {
        p["name"]: p.get("schema", {}).get("type", "string")
        for p in op.get("parameters", [])
        if p.get("in") == "path"
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return "1" if types.get(name) == "integer" else FAKE_ID

    return re.sub(r"\{(\w+)\}", value, path)


def _call(
    client: FlaskClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> Any:
    if body is None and method not in ("get", "delete"):
        body = {}
    return client.open(url, method=method.upper(), headers=headers, json=body)


@pytest.fixture()
def bad_tokens(users: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    expired, record = accounts.issue_token("alice", 3600, name="expired")
    ApiToken.objects(id=record.id).update_one(set__expires_at=utcnow() - timedelta(seconds=1))
    revoked, _ = accounts.issue_token("alice", 3600, name="revoked")
    assert accounts.revoke_token(revoked)
    return {
        "none": {},
        "not bearer": {"Authorization": "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="},
        "invalid": {"Authorization": "Bearer crm_" + "A" * 43},
        "expired": {"Authorization": f"Bearer {expired}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
    }


def test_every_operation_refuses_a_caller_without_a_valid_token(
    client: FlaskClient, bad_tokens: dict[str, dict[str, str]]
) -> None:
    operations = _operations(client)
    assert len(operations) > 150  # the whole API, not an empty document
    listed = {(m, p) for m, p, _ in operations}
    assert listed >= {("get", "/api/v1/health"), ("post", "/api/v1/auth/token")}
    wrong = []
    for method, path, op in operations:
        if (method, path) in PUBLIC:
            continue
        url = _fill(path, op, {})
        for kind, headers in bad_tokens.items():
            response = _call(client, method, url, headers)
            if response.status_code != 401:
                wrong.append(f"{kind}: {method.upper()} {path} -> {response.status_code}")
    assert wrong == []


def test_the_openapi_document_marks_every_private_operation_secured(client: FlaskClient) -> None:
    unmarked = [
        f"{m.upper()} {p}"
        for m, p, op in _operations(client)
        if (m, p) not in PUBLIC and not op.get("security")
    ]
    assert unmarked == []


# ---------------------------------------------------------------- object-level access


@pytest.fixture()
def objects(
    app: Flask, client: FlaskClient, users: dict[str, dict[str, str]]
) -> Iterator[dict[str, str]]:
    """One private object of each kind, none of them carol's (support): alice's instance
    and task, alice's file, alice → bob's assignment, alice's linear procedure, the office's
    restricted document and its registration card."""
    alice = Actor("alice", frozenset({"sales"}))
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    deploy_procedures()
    started = instances.start("approval", alice, {"note": MARK})
    task_guid = started["open_tasks"][0]["guid"]

    uploaded = client.post(
        f"{API}/files",
        headers=users["alice"],
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(MARK.encode() * 10), "secret.txt")},
    )
    assert uploaded.status_code == 201, uploaded.get_json()

    assignment = client.post(
        f"{API}/assignments",
        headers=users["alice"],
        json={
            "title": f"Assignment {MARK}",
            "text": MARK,
            "executor": "bob",
            "due_at": later(86400),
        },
    )
    assert assignment.status_code == 201, assignment.get_json()

    linear = client.post(
        f"{API}/linear-procedures",
        headers=users["alice"],
        json={
            "title": f"Route {MARK}",
            "subject": {"type": "organization", "id": "1", "title": MARK},
            "steps": [{"title": f"Step {MARK}", "executor": "bob"}],
        },
    )
    assert linear.status_code == 201, linear.get_json()

    accounts.create_user("clerk", "clerk-password", ["office"])
    clerk = Actor("clerk", frozenset({"office"}))
    journal = journals.create_journal(
        clerk,
        "СЕК",
        f"Журнал {MARK}",
        "incoming",
        "{journal}-{seq:04}",
        read=("group:office",),
        write=("group:office",),
    )
    document = office.create_document(
        clerk,
        "incoming",
        f"Письмо {MARK}",
        summary=MARK,
        read=("group:office",),
        write=("group:office",),
    )
    card = cards.register_document(clerk, document.id, journal.id)
    yield {
        "instance_id": str(started["_id"]),
        "task_id": task_guid,
        "file_id": uploaded.get_json()["id"],
        "assignment_id": assignment.get_json()["id"],
        "procedure_id": linear.get_json()["procedure"]["id"],
        "document_id": str(document.id),
        "card_id": str(card.id),
    }


# Valid bodies for the writes whose input is checked before the object is looked up, so
# that the sweep reaches the access check rather than stopping at a 422.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/linear-procedures/prototypes/{procedure_id}/start"): {
        "subject": {"type": "organization", "id": "1", "title": "x"}
    },
    ("put", "/documents/{document_id}/restriction"): {"restricted": False},
    ("post", "/documents/{document_id}/links"): {"type": "organization", "id": "1"},
    ("post", "/documents/{document_id}/registration"): {"journal_id": FAKE_ID},
    ("post", "/documents/{document_id}/generate"): {"template_id": FAKE_ID, "filename": "x.docx"},
    ("post", "/cards/{card_id}/status"): {"status": "filed"},
    ("post", "/cards/{card_id}/documents"): {"document_ids": [FAKE_ID]},
    ("post", "/cards/{card_id}/acquaintances"): {"person": "carol"},
    ("post", "/cards/{card_id}/assignments"): {"executor": "carol"},
    ("post", "/assignments/{assignment_id}/report"): {"report": "done"},
    ("post", "/assignments/{assignment_id}/review"): {"decision": "accept"},
}


def test_an_outsider_opens_no_one_elses_object(
    client: FlaskClient, users: dict[str, dict[str, str]], objects: dict[str, str]
) -> None:
    """403/404 and never the data. A 422 passes only when the same request about an object
    that does not exist answers the very same (the answer tells nothing about the object)."""
    outsider = users["carol"]
    swept: dict[str, int] = dict.fromkeys(objects, 0)
    wrong = []
    for method, path, op in _operations(client):
        params = set(re.findall(r"\{(\w+)\}", path))
        owned = params & set(objects)
        if not owned or path.startswith(f"{API}/monitor"):
            continue
        body = BODIES.get((method, path.removeprefix(API)))
        url = _fill(path, op, objects)
        response = _call(client, method, url, outsider, body)
        for name in owned:
            swept[name] += 1
        text = response.get_data(as_text=True)
        status = response.status_code
        if status == 422:
            ghost = _call(client, method, _fill(path, op, {}), outsider, body)
            if ghost.status_code == 422 and ghost.get_json() == response.get_json():
                status = 404
        if status not in (403, 404) or MARK in text:
            wrong.append(f"{method.upper()} {path} -> {response.status_code} {text[:150]}")
    assert wrong == [], "\n".join(wrong)
    assert all(swept.values()), swept  # every kind of object was tried
    # ... and the owners still see theirs (the ids are right, the refusals are real).
    assert client.get(f"{API}/tasks/{objects['task_id']}", headers=users["alice"]).status_code == (
        200
    )
    assert client.get(f"{API}/files/{objects['file_id']}", headers=users["alice"]).status_code == (
        200
    )


def test_an_outsiders_lists_and_searches_show_nothing_private(
    client: FlaskClient, users: dict[str, dict[str, str]], objects: dict[str, str]
) -> None:
    leaks = []
    for method, path, op in _operations(client):
        if method != "get" or "{" in path or (method, path) in PUBLIC:
            continue
        if path.endswith("openapi.json"):
            continue
        # Search by the mark where the list has a search; else the whole list (an unknown
        # parameter would only be refused: webapi.query_params).
        declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        query = {"q": MARK} if "q" in declared else {}
        response = client.get(path, headers=users["carol"], query_string=query)
        if MARK in response.get_data(as_text=True):
            leaks.append(f"GET {path}")
        assert response.status_code < 500, (path, response.get_json())
    assert leaks == []
    assert json.dumps(objects)  # the fixture ran
