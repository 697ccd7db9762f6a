"""NoSQL operators in every JSON field of every operation, generated from the OpenAPI
document: each field (nested ones too) given `{"$ne": …}`, `{"$gt": …}` or `{"$where": …}`
where a value belongs must never answer 5xx, and no operator from the request may reach
the database as an operator. The database's side is watched, not guessed: a pymongo
command listener sees every command the app sends while the sweep runs.

An operation added tomorrow is swept without editing this file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import mongoengine
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pymongo import monitoring

from accounts import service as accounts
from documents import cards, journals, office
from engine import definitions, instances
from engine.actor import Actor
from registry import contacts, contracts, organizations, products
from registry.models import Organization
from tests.conftest import bpmn
from webapi import guards

API = "/api/v1"
MARK = "op-sweep-5c1e"  # the value inside every operator the sweep sends
OPERATORS = ("$ne", "$gt", "$where")
FAKE_ID = "5f0000000000000000000000"
MAX_DEPTH = 4


class Spy(monitoring.CommandListener):
    """Every command the app sends, with where an operator of ours turned up in it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (command, where): an operator reached a query
        self.stored: list[tuple[str, str]] = []  # an operator-shaped value written as data
        self.commands = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += 1
        command, name = event.command, event.command_name
        queries: list[tuple[str, Any]] = []
        data: list[tuple[str, Any]] = []
        if name in ("find", "count", "distinct", "findAndModify", "delete", "update"):
            queries += [("filter", command.get("filter")), ("query", command.get("query"))]
        if name == "aggregate":
            queries.append(("pipeline", command.get("pipeline")))
        for statement in command.get("updates", []) or []:
            queries.append(("update.q", statement.get("q")))
            data.append(("update.u", statement.get("u")))
        for statement in command.get("deletes", []) or []:
            queries.append(("delete.q", statement.get("q")))
        if name == "insert":
            data.append(("insert", command.get("documents")))
        if name == "findAndModify":
            data.append(("findAndModify.update", command.get("update")))
        for where, part in queries:
            if _has_operator(part):
                self.seen.append((name, where))
        for where, part in data:
            if _has_operator(part):
                self.stored.append((name, where))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _has_operator(value: Any) -> bool:
    """Whether `value` holds one of the sweep's operators, e.g. {"$ne": MARK}."""
    if isinstance(value, dict):
        if any(value.get(op) == MARK for op in OPERATORS):
            return True
        return any(_has_operator(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_operator(v) for v in value)
    return False


# ------------------------------------------------------------------------- the document


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            merged: dict[str, Any] = {"properties": {}}
            for part in schema[combined]:
                merged["properties"].update(_resolve(spec, part).get("properties", {}))
            return merged
    return schema


def field_paths(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> list[list[Any]]:
    """Every field of a body schema as a path of names and list indexes, nested ones too."""
    schema = _resolve(spec, schema)
    paths: list[list[Any]] = []
    for name, sub in (schema.get("properties") or {}).items():
        paths.append([name])
        if depth >= MAX_DEPTH:
            continue
        sub = _resolve(spec, sub)
        if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            paths.append([name, 0])
            paths += [[name, 0, *p] for p in field_paths(spec, sub["items"], depth + 1)]
        elif sub.get("properties"):
            paths += [[name, *p] for p in field_paths(spec, sub, depth + 1)]
    return paths


def body_at(path: list[Any], value: Any) -> Any:
    """A body holding `value` at `path` (a name is an object key, a number a list index)."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def json_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict]]:
    """(method, path, operation, body schema) of every operation taking a JSON body."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = (
                (op.get("requestBody") or {}).get("content", {}) if isinstance(op, dict) else {}
            )
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                yield method, path, op, schema


# ------------------------------------------------------------------------- objects to hit


@pytest.fixture()
def ids(app: Flask, client: FlaskClient, users: dict[str, dict[str, str]]) -> dict[str, str]:
    """A real object for each path parameter the sweep may meet, the admin's to change, so
    that a body that passes its schema reaches the service and the database."""
    admin = Actor("admin", frozenset(), is_admin=True)
    alice = Actor("alice", frozenset({"sales"}))
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    started = instances.start("approval", alice, {"amount": 5})
    org = organizations.create(alice, {"name": "Ромашка"})
    person = contacts.create(alice, {"organization": str(org.id), "name": "Анна"})
    product = products.create(admin, {"code": "P-1", "name": "Бумага"})
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "customer", "number": "Д-1"}
    )
    uploaded = client.post(
        f"{API}/files",
        headers=users["alice"],
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"text"), "a.txt")},
    )
    journal = journals.create_journal(
        admin, "ВХ", "Входящие", "incoming", "{journal}-{seq:04}", read=("*",), write=("*",)
    )
    document = office.create_document(admin, "incoming", "Письмо", read=("*",), write=("*",))
    card = cards.register_document(admin, document.id, journal.id)
    accounts.create_user("clerk", "clerk-password", ["office"])
    return {
        "instance_id": str(started["_id"]),
        "task_id": started["open_tasks"][0]["guid"],
        "organization_id": str(org.id),
        "contact_id": str(person.id),
        "product_id": str(product.id),
        "contract_id": str(contract.id),
        "file_id": uploaded.get_json()["id"],
        "journal_id": str(journal.id),
        "document_id": str(document.id),
        "card_id": str(card.id),
        "username": "clerk",
    }


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), FAKE_ID), path)


@pytest.fixture()
def spy(app: Flask, db_uri: str, db_name: str) -> Iterator[Spy]:
    """The app's database connection, now with a command listener on it."""
    listener = Spy()
    mongoengine.disconnect()
    mongoengine.connect(
        db=db_name,
        host=db_uri,
        tz_aware=False,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        event_listeners=[listener],
    )
    # The listener sees what it must: an operator sent on purpose is caught.
    list(Organization.objects(__raw__={"name": {"$ne": MARK}}))
    Organization._get_collection().insert_one({"probe": {"$gt": MARK}, "x": 1})
    assert listener.seen == [("find", "filter")] and listener.stored == [("insert", "insert")]
    Organization._get_collection().delete_many({"x": 1, "probe": {"$exists": True}})
    listener.seen.clear()
    listener.stored.clear()
    yield listener


def _where(field: list[Any]) -> str:
    """A field path as the edge's errors name it: `lines[0].product`."""
    out = ""
    for step in field:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _sweep(
    client: FlaskClient,
    headers: dict[str, str],
    ids: dict[str, str],
    spy: Spy,
    operators: tuple[str, ...] = OPERATORS,
) -> tuple[list[tuple[str, Any]], list[str], int]:
    """Every JSON field of every operation with every operator: the answers (where, the
    response) and the sends where an operator reached the database."""
    spec = client.get(f"{API}/openapi.json").get_json()
    operations = list(json_operations(spec))
    assert len(operations) > 80  # the whole API
    answers: list[tuple[str, Any]] = []
    reached: list[str] = []
    for method, path, _op, schema in operations:
        url = _fill(path, ids)
        for field in field_paths(spec, schema):
            for operator in operators:
                spy.seen.clear()
                spy.stored.clear()
                response = client.open(
                    url,
                    method=method.upper(),
                    headers=headers,
                    json=body_at(field, {operator: MARK}),
                )
                where = f"{method.upper()} {path} {_where(field)}.{operator}"
                answers.append((where, response))
                if spy.seen:
                    reached.append(f"{where} -> reached the database as a query: {spy.seen}")
                if spy.stored:
                    reached.append(f"{where} -> written as data: {spy.stored}")
    return answers, reached, spy.commands


def test_operators_in_every_json_field_are_refused_at_the_edge_naming_the_field(
    client: FlaskClient, users: dict[str, dict[str, str]], ids: dict[str, str], spy: Spy
) -> None:
    answers, reached, _ = _sweep(client, users["admin"], ids, spy)
    assert len(answers) > 1000
    wrong = []
    for where, response in answers:
        body = response.get_json(silent=True) or {}
        named = where.rsplit(" ", 1)[-1]  # "lines[0].product.$ne"
        if response.status_code != 422 or named not in body.get("errors", {}):
            wrong.append(f"{where} -> {response.status_code} {str(body)[:120]}")
    assert wrong == [], "\n".join(wrong[:50])
    assert reached == [], "\n".join(reached[:50])


def test_without_the_edge_check_no_operator_reaches_a_query_and_nothing_fails(
    app: Flask,
    client: FlaskClient,
    users: dict[str, dict[str, str]],
    ids: dict[str, str],
    spy: Spy,
) -> None:
    """Defence in depth: with the edge check (webapi.guards) switched off, the schemas and
    services alone must still keep every operator out of the queries, and never fail."""
    app.before_request_funcs[None].remove(guards.check_json_body)
    # One operator is enough here: past the edge, what differs is only the key's name.
    answers, reached, commands = _sweep(client, users["admin"], ids, spy, ("$ne",))
    assert commands > 500  # the sweep got past the edge and into the services
    failed = [
        f"{where} -> {response.status_code} {response.get_data(as_text=True)[:120]}"
        for where, response in answers
        if response.status_code >= 500
    ]
    assert failed == [], "\n".join(failed[:50])
    assert reached == [], "\n".join(reached[:50])
