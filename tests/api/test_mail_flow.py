"""Correspondence over HTTP: messages and folders, the life of an assignment and of an
order, notifications and preferences, and the mailbox with its filters and counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import definitions
from tests.mail_helpers import Headers, bearer, deploy_procedures, ids, later, make_user, upload

API = "/api/v1"
INCOMING_CALL = Path(__file__).resolve().parents[2] / "bpmn" / "incoming_call.bpmn"


@pytest.fixture()
def who(app: Flask, users: dict[str, Headers]) -> dict[str, Headers]:
    deploy_procedures()
    make_user("dave", ("archive",))
    return {**users, "dave": bearer("dave")}


def call(
    client: FlaskClient,
    method: str,
    url: str,
    headers: Headers,
    body: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    response = client.open(f"{API}{url}", method=method, headers=headers, json=body)
    assert response.status_code == status, (url, response.json)
    return response.json


def test_messages_folders_reply_forward_and_read_state(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob, carol = who["alice"], who["bob"], who["carol"]
    brief = upload(client, alice, "brief.txt", b"brief")
    sent = call(
        client,
        "POST",
        "/mail/messages",
        alice,
        {
            "to_users": ["bob"],
            "to_groups": ["support"],
            "subject": "Kick-off",
            "body": '<p onclick="x()">Agenda <a href="javascript:x()">here</a></p>',
            "attachments": [
                {"type": "file", "id": brief},
                {"type": "contract", "id": "c-7", "title": "Contract 7"},
            ],
        },
        status=201,
    )
    assert sent["recipients"] == ["bob", "carol"] and sent["folder"] == "sent"
    assert sent["body"] == '<p>Agenda <a rel="noopener noreferrer">here</a></p>'
    assert [a["kind"] for a in sent["attachments"]] == ["file", "object"]
    inbox = call(client, "GET", "/mail/messages?unread=true", bob)["items"]
    assert [m["id"] for m in inbox] == [sent["id"]] and inbox[0]["unread"]
    assert not call(client, "GET", f"/mail/messages/{sent['id']}", bob)["unread"]
    assert call(client, "GET", "/mail/messages?unread=true", bob)["items"] == []
    assert call(client, "POST", f"/mail/messages/{sent['id']}/unread", bob)["unread"]
    reply = call(
        client,
        "POST",
        f"/mail/messages/{sent['id']}/reply",
        bob,
        {"body": "Fine by me"},
        status=201,
    )
    assert reply["subject"] == "Re: Kick-off" and reply["recipients"] == ["alice"]
    assert reply["thread_id"] == sent["id"] and reply["in_reply_to"] == sent["id"]
    to_all = call(
        client,
        "POST",
        f"/mail/messages/{sent['id']}/reply",
        carol,
        {"body": "Me too", "to_all": True},
        status=201,
    )
    assert sorted(to_all["recipients"]) == ["alice", "bob"]
    thread = call(client, "GET", f"/mail/messages/{sent['id']}/thread", alice)["items"]
    assert [m["id"] for m in thread] == [sent["id"], reply["id"], to_all["id"]]
    forwarded = call(
        client,
        "POST",
        f"/mail/messages/{sent['id']}/forward",
        bob,
        {"to_users": ["dave"], "body": "FYI"},
        status=201,
    )
    assert forwarded["subject"] == "Fwd: Kick-off" and forwarded["forwarded_from"] == sent["id"]
    assert "<blockquote>" in forwarded["body"] and "FYI" in forwarded["body"]
    file_copy = forwarded["attachments"][0]
    download = client.get(
        f"{API}/mail/messages/{forwarded['id']}/attachments/{file_copy['id']}", headers=who["dave"]
    )
    assert download.status_code == 200 and download.data == b"brief"
    # Archive moves it out of the inbox for bob alone.
    call(client, "POST", f"/mail/messages/{sent['id']}/archive", bob)
    assert sent["id"] not in ids(client.get(f"{API}/mail/messages", headers=bob))
    assert sent["id"] in ids(client.get(f"{API}/mail/messages?folder=archive", headers=bob))
    assert sent["id"] in ids(client.get(f"{API}/mail/messages", headers=carol))
    # Recipients were notified; the sender was not.
    assert call(client, "GET", "/notifications/unread-count", carol)["unread"] == 1
    assert call(client, "GET", "/notifications/unread-count", bob)["unread"] == 2
    assert call(client, "GET", "/notifications", alice)["unread"] == 2  # the two replies


def test_message_input_errors(client: FlaskClient, who: dict[str, Headers]) -> None:
    alice = who["alice"]
    no_one = call(client, "POST", "/mail/messages", alice, {"subject": "x"}, status=422)
    assert "to_users" in no_one["errors"]
    unknown = call(
        client,
        "POST",
        "/mail/messages",
        alice,
        {"subject": "x", "to_users": ["nobody"]},
        status=422,
    )
    assert unknown["errors"] == {"to_users": ["no user nobody"]}
    extra = call(
        client,
        "POST",
        "/mail/messages",
        alice,
        {"subject": "x", "to_users": ["bob"], "cc": ["carol"]},
        status=422,
    )
    assert "cc" in extra["errors"]
    call(client, "GET", "/mail/messages?cursor=not-a-cursor", alice, status=422)


def test_assignment_life_return_accept_and_cancel_with_nested(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob, carol = who["alice"], who["bob"], who["carol"]
    made = call(
        client,
        "POST",
        "/assignments",
        alice,
        {
            "title": "Draft the agreement",
            "text": "<p>By Friday</p>",
            "executor": "bob",
            "due_at": later(86400),
        },
        status=201,
    )
    aid = made["id"]
    assert made["status"] == "issued" and made["roles"] == ["issuer"]
    assert call(client, "POST", f"/assignments/{aid}/start", bob)["status"] == "in_progress"
    call(client, "POST", f"/assignments/{aid}/report", alice, {"report": "x"}, status=403)
    call(client, "POST", f"/assignments/{aid}/review", alice, {"decision": "accepted"}, 409)
    done = call(client, "POST", f"/assignments/{aid}/report", bob, {"report": "Draft v1"})
    assert done["status"] == "done" and done["report"] == "Draft v1"
    call(client, "POST", f"/assignments/{aid}/review", bob, {"decision": "accepted"}, 403)
    back = call(
        client,
        "POST",
        f"/assignments/{aid}/review",
        alice,
        {"decision": "returned", "comment": "Add the annex"},
    )
    assert back["status"] == "returned"
    call(client, "POST", f"/assignments/{aid}/report", bob, {"report": "Draft v2"})
    accepted = call(client, "POST", f"/assignments/{aid}/review", alice, {"decision": "accepted"})
    assert accepted["status"] == "accepted"
    assert [(h["status"], h["by"]) for h in accepted["history"]] == [
        ("issued", "alice"),
        ("in_progress", "bob"),
        ("done", "bob"),
        ("returned", "alice"),
        ("done", "bob"),
        ("accepted", "alice"),
    ]
    assert accepted["history"][3]["note"] == "Add the annex"
    call(client, "POST", f"/assignments/{aid}/report", bob, {"report": "again"}, status=409)
    call(client, "POST", f"/assignments/{aid}/cancel", alice, {}, status=409)
    # Cancelling a parent cancels what was nested in it.
    parent = call(
        client,
        "POST",
        "/assignments",
        alice,
        {"title": "Organize the fair", "executor": "bob", "due_at": later(86400)},
        status=201,
    )
    child = call(
        client,
        "POST",
        "/assignments",
        bob,
        {
            "title": "Book the hall",
            "executor": "carol",
            "due_at": later(3600),
            "parent_id": parent["id"],
        },
        status=201,
    )
    call(client, "POST", f"/assignments/{parent['id']}/cancel", bob, {}, status=403)
    cancelled = call(
        client, "POST", f"/assignments/{parent['id']}/cancel", alice, {"reason": "The fair is off"}
    )
    assert cancelled["status"] == "cancelled"
    assert call(client, "GET", f"/assignments/{child['id']}", carol)["status"] == "cancelled"
    assert (
        call(client, "GET", f"/instances/{child['instance_id']}", who["admin"])["status"]
        == "terminated"
    )


def test_put_under_control_later_routes_the_check_to_the_controller(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob, carol = who["alice"], who["bob"], who["carol"]
    made = call(
        client,
        "POST",
        "/assignments",
        alice,
        {"title": "Renew the licence", "executor": "bob", "due_at": later(86400)},
        status=201,
    )
    aid = made["id"]
    controlled = call(
        client,
        "POST",
        f"/assignments/{aid}/control",
        alice,
        {"controller": "carol", "control_due": later(7200)},
    )
    assert controlled["status"] == "control" and controlled["under_control"]
    listed = call(client, "GET", "/assignments?under_control=true&role=controller", carol)
    assert [a["id"] for a in listed["items"]] == [aid]
    call(client, "POST", f"/assignments/{aid}/report", bob, {"report": "Renewed"})
    call(client, "POST", f"/assignments/{aid}/review", alice, {"decision": "accepted"}, 403)
    checked = call(
        client,
        "POST",
        f"/assignments/{aid}/review",
        carol,
        {"decision": "accepted", "comment": "Seen the licence"},
    )
    assert checked["status"] == "accepted"
    assert checked["history"][-1] == {
        **checked["history"][-1],
        "by": "carol",
        "note": "Seen the licence",
    }
    call(
        client,
        "POST",
        f"/assignments/{aid}/control",
        alice,
        {"controller": "carol", "control_due": later(7200)},
        status=409,
    )
    bad = call(
        client,
        "POST",
        "/assignments",
        alice,
        {"title": "x", "executor": "bob", "due_at": later(60), "controller": "carol"},
        status=422,
    )
    assert "control_due" in bad["errors"]
    past = call(
        client,
        "POST",
        "/assignments",
        alice,
        {"title": "x", "executor": "bob", "due_at": later(-60)},
        status=422,
    )
    assert "due_at" in past["errors"]


def test_order_tree_progress_review_and_notifications(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob, carol, dave = who["alice"], who["bob"], who["carol"], who["dave"]
    root = call(
        client,
        "POST",
        "/orders",
        alice,
        {"title": "Open the new branch", "executors": ["bob", "carol"], "due_at": later(86400)},
        status=201,
    )
    rid = root["id"]
    call(
        client,
        "POST",
        "/orders",
        dave,
        {"title": "x", "executors": ["bob"], "due_at": later(600), "parent_id": rid},
        403,
    )
    lease = call(
        client,
        "POST",
        "/orders",
        bob,
        {"title": "Sign the lease", "executors": ["bob"], "due_at": later(3600), "parent_id": rid},
        status=201,
    )
    staff = call(
        client,
        "POST",
        "/orders",
        carol,
        {"title": "Hire the staff", "executors": ["dave"], "due_at": later(3600), "parent_id": rid},
        status=201,
    )
    call(
        client,
        "POST",
        "/orders",
        dave,
        {
            "title": "Interview cashiers",
            "executors": ["dave"],
            "due_at": later(1800),
            "parent_id": staff["id"],
        },
        status=201,
    )
    call(client, "POST", f"/orders/{rid}/subscribe", dave)
    call(
        client,
        "POST",
        f"/orders/{lease['id']}/progress",
        bob,
        {"percent": 50, "note": "Half signed"},
    )
    call(client, "POST", f"/orders/{staff['id']}/progress", dave, {"percent": 30})
    tree = call(client, "GET", f"/orders/{rid}/tree", dave)
    assert [c["title"] for c in tree["children"]] == ["Sign the lease", "Hire the staff"]
    # staff: (30 + 0) / 2 = 15; root: (0 + 50 + 15) / 3 = 22
    assert tree["children"][1]["rolled_progress"] == 15
    assert tree["rolled_progress"] == 22
    done = call(client, "POST", f"/orders/{lease['id']}/report", bob, {"report": "Signed"})
    assert done["status"] == "done" and done["progress"] == 100
    assert call(client, "GET", f"/orders/{rid}/tree", alice)["rolled_progress"] == 38
    # Either executor may report the root; one claims the task by reporting.
    call(client, "POST", f"/orders/{rid}/report", carol, {"report": "Branch open"})
    call(client, "POST", f"/orders/{rid}/review", bob, {"decision": "accepted"}, 403)
    accepted = call(client, "POST", f"/orders/{rid}/review", alice, {"decision": "accepted"})
    assert accepted["status"] == "accepted"
    titles = [n["title"] for n in call(client, "GET", "/notifications", dave)["items"]]
    assert "Order “Open the new branch”: accepted" in titles  # dave follows it
    assert "Order “Open the new branch”: done" in titles
    bob_titles = [n["title"] for n in call(client, "GET", "/notifications", bob)["items"]]
    assert "Поручение «Open the new branch»: принято" in bob_titles  # bob reads Russian
    # Cancelling the whole subtree: the unfinished sub-orders end too.
    cancelled = call(client, "POST", f"/orders/{staff['id']}/cancel", carol, {})
    assert cancelled["status"] == "cancelled"
    assert all(
        c["status"] == "cancelled"
        for c in call(client, "GET", f"/orders/{staff['id']}/tree", bob)["children"]
    )


def test_notifications_mark_read_and_preferences(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob = who["alice"], who["bob"]
    for n in range(3):
        call(
            client,
            "POST",
            "/mail/messages",
            alice,
            {"to_users": ["bob"], "subject": f"Note {n}"},
            status=201,
        )
    page = call(client, "GET", "/notifications?limit=2", bob)
    assert page["unread"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    rest = call(client, "GET", f"/notifications?limit=2&cursor={page['next_cursor']}", bob)
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    first = page["items"][0]
    assert first["title"] == "Сообщение от alice: Note 2"
    assert first["source"] == {"type": "message", "id": first["link"].rsplit("/", 1)[-1]}
    assert call(client, "POST", f"/notifications/{first['id']}/read", bob)["read"]
    call(client, "POST", f"/notifications/{first['id']}/read", alice, status=404)
    assert call(client, "GET", "/notifications/unread-count", bob)["unread"] == 2
    assert call(client, "POST", "/notifications/read-all", bob)["marked"] == 2
    assert call(client, "GET", "/notifications?unread=true", bob)["items"] == []
    assert call(client, "GET", "/notifications/preferences", bob) == {"email": "immediately"}
    assert call(client, "PUT", "/notifications/preferences", bob, {"email": "digest"}) == {
        "email": "digest"
    }
    call(client, "PUT", "/notifications/preferences", bob, {"email": "weekly"}, status=422)


def test_mailbox_merges_kinds_with_filters_counters_and_pages(
    client: FlaskClient, who: dict[str, Headers]
) -> None:
    alice, bob = who["alice"], who["bob"]
    definitions.deploy(INCOMING_CALL.read_bytes(), "incoming_call.bpmn", "test")
    call(client, "POST", "/instances", bob, {"process_key": "incoming_call"}, status=201)
    call(
        client,
        "POST",
        "/mail/messages",
        alice,
        {"to_users": ["bob"], "subject": "Hello"},
        status=201,
    )
    controlled = call(
        client,
        "POST",
        "/assignments",
        alice,
        {
            "title": "Under control",
            "executor": "bob",
            "due_at": later(3600),
            "controller": "carol",
            "control_due": later(7200),
        },
        status=201,
    )
    call(
        client,
        "POST",
        "/assignments",
        alice,
        {"title": "Plain one", "executor": "bob", "due_at": later(3600)},
        status=201,
    )
    call(
        client,
        "POST",
        "/orders",
        alice,
        {"title": "An order", "executors": ["bob"], "due_at": later(3600)},
        status=201,
    )
    box = call(client, "GET", "/mailbox", bob)
    assert sorted(i["kind"] for i in box["items"]) == [
        "assignment",
        "assignment",
        "message",
        "order",
        "task",
    ]
    counters = box["counters"]
    assert counters["total"] == 5 and counters["unread"] == 4
    assert counters["under_control"] == 1 and counters["overdue"] == 0
    assert counters["by_kind"]["task"]["total"] == 1
    task = next(i for i in box["items"] if i["kind"] == "task")
    assert task["link"] == f"/api/v1/tasks/{task['id']}" and task["from"] == "incoming_call"
    only = call(client, "GET", "/mailbox?under_control=true", bob)["items"]
    assert [i["id"] for i in only] == [controlled["id"]]
    assert {
        i["kind"] for i in call(client, "GET", "/mailbox?kind=message&kind=order", bob)["items"]
    } == {"message", "order"}
    call(client, "GET", f"/assignments/{controlled['id']}", bob)  # reading marks it read
    unread = call(client, "GET", "/mailbox?unread=true", bob)
    assert controlled["id"] not in {i["id"] for i in unread["items"]}
    assert unread["counters"]["unread"] == 3
    # Pages of two walk all five items once, newest first.
    seen, cursor = [], None
    while True:
        page = call(
            client, "GET", "/mailbox?limit=2" + (f"&cursor={cursor}" if cursor else ""), bob
        )
        seen += [(i["kind"], i["id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len(set(seen)) == 5
    assert sorted(seen) == sorted((i["kind"], i["id"]) for i in box["items"])
    # Accepted and cancelled work leaves the mailbox unless asked for.
    call(client, "POST", f"/assignments/{controlled['id']}/cancel", alice, {})
    assert controlled["id"] not in ids(client.get(f"{API}/mailbox", headers=bob))
    assert controlled["id"] in ids(client.get(f"{API}/mailbox?closed=true", headers=bob))
