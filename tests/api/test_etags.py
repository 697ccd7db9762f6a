"""Optimistic locking over HTTP: every business object's `ETag` is its version, a write with a
stale `If-Match` answers 409 with the current version, a matching one applies."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask.testing import FlaskClient

from documents import cards, journals, office
from engine.actor import Actor

Headers = dict[str, dict[str, str]]
_codes = itertools.count(1)
ALICE = Actor("alice", frozenset({"sales"}))
Made = tuple[str, dict[str, Any], dict[str, Any]]  # (url, a change, another change)


def call(
    client: FlaskClient,
    method: str,
    url: str,
    headers: dict[str, str],
    status: int,
    if_match: str | None = None,
    **kw: Any,
) -> Any:
    if if_match is not None:
        headers = {**headers, "If-Match": if_match}
    response = client.open(f"/api/v1{url}", method=method, headers=headers, **kw)
    assert response.status_code == status, (url, response.get_json())
    return response


def _organization(client: FlaskClient, users: Headers) -> str:
    org = call(client, "POST", "/organizations", users["alice"], 201, json={"name": "Ромашка"})
    assert org.headers["ETag"] == '"1"'
    return str(org.get_json()["id"])


def _product(client: FlaskClient, users: Headers) -> str:
    body = {"code": f"P-{next(_codes)}", "name": "Бумага", "price": "350.00"}
    return str(call(client, "POST", "/products", users["alice"], 201, json=body).get_json()["id"])


def _contract(client: FlaskClient, users: Headers, org: str) -> str:
    body = {"organization": org, "role": "customer", "number": "Д-1", "amount": "100.00"}
    return str(call(client, "POST", "/contracts", users["alice"], 201, json=body).get_json()["id"])


def organization(client: FlaskClient, users: Headers) -> Made:
    url = f"/organizations/{_organization(client, users)}"
    return url, {"notes": "первая правка"}, {"notes": "вторая правка"}


def contact(client: FlaskClient, users: Headers) -> Made:
    body = {"organization": _organization(client, users), "name": "Иванова Анна"}
    made = call(client, "POST", "/contacts", users["alice"], 201, json=body).get_json()
    return f"/contacts/{made['id']}", {"position": "Директор"}, {"position": "Бухгалтер"}


def contract(client: FlaskClient, users: Headers) -> Made:
    url = f"/contracts/{_contract(client, users, _organization(client, users))}"
    return url, {"amount": "200.00"}, {"amount": "300.00"}


def invoice(client: FlaskClient, users: Headers) -> Made:
    body = {
        "contract": _contract(client, users, _organization(client, users)),
        "number": "С-1",
        "date": "2026-01-10",
        "amount": "100.00",
    }
    made = call(client, "POST", "/invoices", users["alice"], 201, json=body).get_json()
    return f"/invoices/{made['id']}", {"paid_amount": "10.00"}, {"paid_amount": "20.00"}


def delivery(client: FlaskClient, users: Headers) -> Made:
    product = _product(client, users)
    body = {
        "contract": _contract(client, users, _organization(client, users)),
        "date": "2026-02-01",
        "items": [{"product": product, "quantity": "3"}],
    }
    made = call(client, "POST", "/deliveries", users["alice"], 201, json=body).get_json()
    return f"/deliveries/{made['id']}", {"notes": "в пути"}, {"notes": "доставлено"}


def product(client: FlaskClient, users: Headers) -> Made:
    return f"/products/{_product(client, users)}", {"name": "Бумага А4"}, {"name": "Бумага А3"}


def supplier(client: FlaskClient, users: Headers) -> Made:
    body = {"organization": _organization(client, users), "product_types": ["бумага"]}
    made = call(client, "POST", "/suppliers", users["alice"], 201, json=body).get_json()
    return f"/suppliers/{made['id']}", {"notes": "надёжный"}, {"notes": "медленный"}


def deal(client: FlaskClient, users: Headers) -> Made:
    stages = [
        {"key": "lead", "name": "Lead", "probability": 10},
        {"key": "won", "name": "Won", "kind": "won"},
        {"key": "lost", "name": "Lost", "kind": "lost"},
    ]
    pipeline = {"key": "b2b", "name": "B2B", "stages": stages}
    call(client, "POST", "/pipelines", users["admin"], 201, json=pipeline)
    body = {"pipeline": "b2b", "organization": _organization(client, users), "title": "Насосы"}
    made = call(client, "POST", "/deals", users["alice"], 201, json=body)
    assert made.headers["ETag"] == f'"{made.get_json()["version"]}"'
    return f"/deals/{made.get_json()['id']}", {"notes": "звонок"}, {"notes": "встреча"}


def office_document(client: FlaskClient, users: Headers) -> Made:
    made = office.create_document(ALICE, "incoming", "Письмо", read=("*",), write=("group:sales",))
    return f"/documents/{made.id}", {"summary": "о ценах"}, {"summary": "о сроках"}


def registration_card(client: FlaskClient, users: Headers) -> Made:
    journal = journals.create_journal(
        ALICE,
        f"В{next(_codes)}",
        "Входящие",
        "incoming",
        "{journal}-{seq:04}",
        read=("*",),
        write=("group:sales",),
    )
    made = office.create_document(ALICE, "incoming", "Письмо", read=("*",), write=("group:sales",))
    card = cards.register_document(ALICE, made.id, journal.id)
    return f"/cards/{card.id}", {"resolution": "в работу"}, {"resolution": "на контроль"}


MAKERS: dict[str, Callable[[FlaskClient, Headers], Made]] = {
    "organization": organization,
    "contact": contact,
    "deal": deal,
    "contract": contract,
    "invoice": invoice,
    "delivery": delivery,
    "product": product,
    "supplier": supplier,
    "office document": office_document,
    "registration card": registration_card,
}
CONFLICT_CODES = ("version_conflict", "document_changed", "card_changed")


def test_concurrent_edits_the_second_gets_409_with_the_current_version(
    client: FlaskClient, users: Headers
) -> None:
    for kind, make in MAKERS.items():
        url, first, second = make(client, users)
        _second_editor_gets_409(client, users, url, first, second, kind)


def _second_editor_gets_409(
    client: FlaskClient,
    users: Headers,
    url: str,
    first: dict[str, Any],
    second: dict[str, Any],
    kind: str,
) -> None:
    alice, bob = users["alice"], users["bob"]
    # Two people open the same object and both hold its ETag.
    seen_by_alice = call(client, "GET", url, alice, 200)
    seen_by_bob = call(client, "GET", url, bob, 200)
    tag = seen_by_alice.headers["ETag"]
    assert tag == seen_by_bob.headers["ETag"], kind
    if "version" in seen_by_alice.get_json():  # a versioned object: the tag is its version
        assert tag == f'"{seen_by_alice.get_json()["version"]}"', kind
    # Alice saves first: applied, a new ETag.
    saved = call(client, "PATCH", url, alice, 200, json=first, if_match=tag)
    new_tag = saved.headers["ETag"]
    assert new_tag != tag, kind
    # Bob saves on the copy he read: 409, the body and the ETag give the current version.
    stale = call(client, "PATCH", url, bob, 409, json=second, if_match=tag)
    assert stale.get_json()["code"] in CONFLICT_CODES, kind
    assert stale.get_json()["errors"]["current_version"] == int(new_tag.strip('"')), kind
    assert stale.headers["ETag"] == new_tag, kind
    # Nothing of Bob's was written; retried on the current ETag it applies.
    assert call(client, "GET", url, bob, 200).headers["ETag"] == new_tag, kind
    retried = call(client, "PATCH", url, bob, 200, json=second, if_match=new_tag)
    assert retried.headers["ETag"] not in (tag, new_tag), kind
    for key, value in second.items():
        assert retried.get_json()[key] == value, kind


def test_eight_simultaneous_edits_on_one_etag_one_wins(client: FlaskClient, users: Headers) -> None:
    url, _, _ = organization(client, users)
    tag = call(client, "GET", url, users["alice"], 200).headers["ETag"]
    barrier = threading.Barrier(8)

    def edit(i: int) -> tuple[int, Any]:
        barrier.wait()
        response = client.patch(
            f"/api/v1{url}",
            json={"notes": f"правка {i}"},
            headers={**users["alice" if i % 2 else "bob"], "If-Match": tag},
        )
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(edit, range(8)))
    assert sorted(status for status, _ in results) == [200] + [409] * 7
    winner = next(body for status, body in results if status == 200)
    assert all(b["errors"] == {"current_version": 2} for s, b in results if s == 409)
    stored = call(client, "GET", url, users["carol"], 200).get_json()
    assert (stored["version"], stored["notes"]) == (2, winner["notes"])


def test_a_stale_if_match_is_refused_even_when_the_change_would_change_nothing(
    client: FlaskClient, users: Headers
) -> None:
    url, first, _ = organization(client, users)
    alice = users["alice"]
    call(client, "PATCH", url, alice, 200, json=first)
    same = call(client, "PATCH", url, alice, 409, json=first, if_match='"1"')
    assert same.get_json()["errors"] == {"current_version": 2}


def test_if_match_forms(client: FlaskClient, users: Headers) -> None:
    url, first, second = organization(client, users)
    alice = users["alice"]
    # A weak tag and "*" are accepted; the body's `version` keeps working.
    call(client, "PATCH", url, alice, 200, json=first, if_match='W/"1"')
    call(client, "PATCH", url, alice, 200, json=second, if_match="*")
    call(client, "PATCH", url, alice, 200, json={"notes": "x", "version": 3})
    stale = call(client, "PATCH", url, alice, 409, json={"notes": "y", "version": 3})
    assert stale.headers["ETag"] == '"4"'
    # Not one of our tags, or disagreeing with the body: 422 naming the header or the field.
    for bad in ('"a"', "4", '"4", "5"'):
        wrong = call(client, "PATCH", url, alice, 422, json={"notes": "z"}, if_match=bad)
        assert wrong.get_json()["code"] == "invalid_if_match"
        assert "If-Match" in wrong.get_json()["errors"]
    both = call(
        client,
        "PATCH",
        url,
        alice,
        422,
        json={"notes": "z", "version": 3},
        if_match='"4"',
    )
    assert "version" in both.get_json()["errors"]
    assert call(client, "GET", url, alice, 200).get_json()["notes"] == "x"


def test_the_openapi_document_names_etag_and_if_match(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    patch = spec["paths"]["/api/v1/organizations/{organization_id}"]["patch"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])
    assert "ETag" in patch["responses"]["200"]["headers"]
    assert "ETag" in patch["responses"]["409"]["headers"]
    get = spec["paths"]["/api/v1/organizations/{organization_id}"]["get"]
    assert "ETag" in get["responses"]["200"]["headers"]


def _appeal(client: FlaskClient, users: Headers) -> str:
    journal = journals.create_journal(
        ALICE, "ОГ", "Обращения", "appeal", "{journal}-{seq}", read=("*",), write=("group:sales",)
    )
    body = {
        "journal_id": str(journal.id),
        "topic": "0003.0009",
        "channel": "email",
        "summary": "Яма во дворе",
        "authors": [{"name": "Иванов И. И.", "email": "ivanov@example.org"}],
    }
    made = call(client, "POST", "/appeals", users["alice"], 201, json=body)
    assert made.headers["ETag"] == '"1"' and made.get_json()["version"] == 1
    return f"/appeals/{made.get_json()['id']}"


def test_appeals_a_step_on_a_stale_etag_is_409_with_the_current_version(
    client: FlaskClient, users: Headers
) -> None:
    url = _appeal(client, users)
    alice, bob = users["alice"], users["bob"]
    tag = call(client, "GET", url, bob, 200).headers["ETag"]
    notice = {"kind": "info", "text": "Принято к рассмотрению"}
    sent = call(client, "POST", f"{url}/notices", alice, 201, json=notice, if_match=tag)
    assert sent.headers["ETag"] == '"2"'
    extend = {"days": 10, "reason": "проверка"}
    stale = call(client, "POST", f"{url}/extension", bob, 409, json=extend, if_match=tag)
    assert stale.get_json()["code"] == "appeal_changed"
    assert stale.get_json()["errors"] == {"current_version": 2}
    assert stale.headers["ETag"] == '"2"'
    extended = call(client, "POST", f"{url}/extension", bob, 200, json=extend, if_match='"2"')
    assert extended.headers["ETag"] == '"3"'
    assert [n["kind"] for n in extended.get_json()["notices"]] == ["info", "extension"]


def test_appeals_two_answers_at_once_one_wins_and_no_notice_is_lost(
    client: FlaskClient, users: Headers
) -> None:
    """Without If-Match too: each step is a compare-and-set on the version it read."""
    url = _appeal(client, users)
    barrier = threading.Barrier(4)

    def act(i: int) -> int:
        barrier.wait()
        if i % 2:
            body, step = {"text": f"Ответ {i}"}, "answer"
        else:
            body, step = {"kind": "info", "text": f"Уведомление {i}"}, "notices"
        return client.post(f"/api/v1{url}/{step}", json=body, headers=users["alice"]).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(act, range(4)))
    stored = call(client, "GET", url, users["alice"], 200).get_json()
    succeeded = [s for s in statuses if s in (200, 201)]
    assert len(succeeded) >= 1 and all(s in (200, 201, 409) for s in statuses), statuses
    # Every success left its trace: one version and (for a notice or an answer) one notice.
    assert stored["version"] == 1 + len(succeeded)
    assert len(stored["notices"]) == len(succeeded)


def test_a_stage_move_takes_if_match_too(client: FlaskClient, users: Headers) -> None:
    url = f"/contracts/{_contract(client, users, _organization(client, users))}"
    alice = users["alice"]
    moved = call(
        client, "POST", f"{url}/stage", alice, 200, json={"stage": "approval"}, if_match='"1"'
    )
    assert moved.headers["ETag"] == '"2"' and moved.get_json()["stage"] == "approval"
    stale = call(
        client, "POST", f"{url}/stage", alice, 409, json={"stage": "signed"}, if_match='"1"'
    )
    assert stale.get_json()["errors"] == {"current_version": 2}
    assert stale.headers["ETag"] == '"2"'
    assert call(client, "GET", url, alice, 200).get_json()["stage"] == "approval"
