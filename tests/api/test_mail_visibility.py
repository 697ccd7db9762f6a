"""Who sees what in correspondence, over HTTP: the visibility matrix of assignments
(issuer, executor, controller, outsider and a nested assignment) for the list, a direct
fetch, attachment download, search and the mailbox; messages; orders visible to all."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.mail_helpers import Headers, bearer, deploy_procedures, ids, later, make_user, upload

API = "/api/v1"


@pytest.fixture()
def office(app: Flask, users: dict[str, Headers]) -> dict[str, Headers]:
    """issuer alice, executor bob, controller carol, outsider dave, nested executor erin."""
    deploy_procedures()
    for name in ("dave", "erin"):
        make_user(name, ("archive",))
    return {
        "issuer": users["alice"],
        "executor": users["bob"],
        "controller": users["carol"],
        "outsider": bearer("dave"),
        "nested": bearer("erin"),
        "admin": users["admin"],
    }


def _post(
    client: FlaskClient, url: str, headers: Headers, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = client.post(f"{API}{url}", headers=headers, json=body)
    assert response.status_code == status, response.json
    return dict(response.json)


def test_assignment_visibility_matrix(client: FlaskClient, office: dict[str, Headers]) -> None:
    report_file = upload(client, office["issuer"], "zebra-brief.txt", b"the brief")
    parent = _post(
        client,
        "/assignments",
        office["issuer"],
        {
            "title": "Quarterly zebra report",
            "text": "<p>Count the zebras</p>",
            "executor": "bob",
            "due_at": later(3600),
            "controller": "carol",
            "control_due": later(7200),
            "attachments": [
                {"type": "file", "id": report_file},
                {"type": "organization", "id": "org-1", "title": "ООО «Зебра»"},
            ],
        },
    )
    figures_file = upload(client, office["executor"], "zebra-figures.txt", b"12 zebras")
    nested = _post(
        client,
        "/assignments",
        office["executor"],
        {
            "title": "Zebra figures for the report",
            "executor": "erin",
            "due_at": later(1800),
            "parent_id": parent["id"],
            "attachments": [{"type": "file", "id": figures_file}],
        },
    )
    assert parent["status"] == "control" and parent["under_control"]
    assert nested["issuer"] == "bob" and nested["parent_id"] == parent["id"]
    files = {parent["id"]: parent["attachments"][0], nested["id"]: nested["attachments"][0]}
    sees = {  # role -> (parent, nested)
        "issuer": (True, False),  # the issuer of a parent does not see nested assignments
        "executor": (True, True),
        "controller": (True, False),
        "outsider": (False, False),
        "nested": (False, True),
        "admin": (False, False),  # the rule has no exception, not even for admins
    }
    for role, (sees_parent, sees_nested) in sees.items():
        headers = office[role]
        expected = {parent["id"]: sees_parent, nested["id"]: sees_nested}
        listed = ids(client.get(f"{API}/assignments", headers=headers))
        searched = ids(client.get(f"{API}/assignments?q=zebra", headers=headers))
        in_mailbox = ids(client.get(f"{API}/mailbox", headers=headers), "assignment")
        for item, visible in expected.items():
            where = f"{role} / {'parent' if item == parent['id'] else 'nested'}"
            assert (item in listed) is visible, where
            assert (item in searched) is visible, where
            assert (item in in_mailbox) is visible, where
            fetched = client.get(f"{API}/assignments/{item}", headers=headers)
            assert fetched.status_code == (200 if visible else 404), where
            download = client.get(
                f"{API}/assignments/{item}/attachments/{files[item]['id']}", headers=headers
            )
            assert download.status_code == (200 if visible else 404), where
            if visible:
                assert download.data in (b"the brief", b"12 zebras")
                assert download.headers["X-Content-Type-Options"] == "nosniff"
    # The parent's detail lists the nested assignment only to whoever may see it.
    as_issuer = client.get(f"{API}/assignments/{parent['id']}", headers=office["issuer"]).json
    as_executor = client.get(f"{API}/assignments/{parent['id']}", headers=office["executor"]).json
    assert as_issuer["children"] == []
    assert [c["id"] for c in as_executor["children"]] == [nested["id"]]
    assert as_executor["status"] == "in_progress"  # delegating is starting the work
    # A search for words of the nested assignment finds nothing for the parent's issuer.
    assert ids(client.get(f"{API}/assignments?q=figures", headers=office["issuer"])) == set()
    assert ids(client.get(f"{API}/assignments?q=figures", headers=office["nested"])) == {
        nested["id"]
    }


def test_only_the_executor_nests_and_only_the_issuer_controls(
    client: FlaskClient, office: dict[str, Headers]
) -> None:
    parent = _post(
        client,
        "/assignments",
        office["issuer"],
        {"title": "Prepare the contract", "executor": "bob", "due_at": later(3600)},
    )
    body = {"title": "Sub", "executor": "erin", "due_at": later(600), "parent_id": parent["id"]}
    _post(client, "/assignments", office["issuer"], body, status=403)
    _post(client, "/assignments", office["outsider"], body, status=404)
    control = {"controller": "carol", "control_due": later(7200)}
    _post(client, f"/assignments/{parent['id']}/control", office["executor"], control, 403)
    _post(client, f"/assignments/{parent['id']}/control", office["outsider"], control, 404)
    controlled = _post(
        client, f"/assignments/{parent['id']}/control", office["issuer"], control, 200
    )
    assert controlled["status"] == "control" and controlled["controller"] == "carol"
    # The new controller sees it from now on.
    assert (
        client.get(f"{API}/assignments/{parent['id']}", headers=office["controller"]).status_code
        == 200
    )


def test_message_visibility(client: FlaskClient, office: dict[str, Headers]) -> None:
    secret = upload(client, office["issuer"], "budget.txt", b"budget 2027")
    sent = _post(
        client,
        "/mail/messages",
        office["issuer"],
        {
            "to_users": ["bob"],
            "to_groups": ["archive"],
            "subject": "Budget of the giraffe unit",
            "body": "<p>Numbers attached</p>",
            "attachments": [{"type": "file", "id": secret}],
        },
    )
    attachment = sent["attachments"][0]["id"]
    sees = {
        "issuer": True,
        "executor": True,
        "outsider": True,  # dave is in `archive`
        "nested": True,
        "controller": False,
        "admin": False,
    }
    for role, visible in sees.items():
        headers = office[role]
        folder = "sent" if role == "issuer" else "inbox"
        assert (
            sent["id"] in ids(client.get(f"{API}/mail/messages?folder={folder}", headers=headers))
        ) is visible, role
        assert (
            sent["id"]
            in ids(client.get(f"{API}/mail/messages?folder={folder}&q=giraf", headers=headers))
        ) is visible, role
        assert client.get(f"{API}/mail/messages/{sent['id']}", headers=headers).status_code == (
            200 if visible else 404
        ), role
        download = client.get(
            f"{API}/mail/messages/{sent['id']}/attachments/{attachment}", headers=headers
        )
        assert download.status_code == (200 if visible else 404), role
        assert download.data == (b"budget 2027" if visible else download.data)
    # The file's own access list still keeps it from people outside the message.
    assert (
        client.get(f"{API}/files/{secret}/content", headers=office["executor"]).status_code == 404
    )
    # Carol cannot attach a file she may not read.
    _post(
        client,
        "/mail/messages",
        office["controller"],
        {"to_users": ["bob"], "subject": "x", "attachments": [{"type": "file", "id": secret}]},
        status=404,
    )


def test_orders_are_visible_to_all_and_anyone_may_comment(
    client: FlaskClient, office: dict[str, Headers]
) -> None:
    plan = upload(client, office["issuer"], "plan.txt", b"the plan")
    order = _post(
        client,
        "/orders",
        office["issuer"],
        {
            "title": "Move the archive to the new building",
            "executors": ["bob", "carol"],
            "due_at": later(86400),
            "attachments": [{"type": "file", "id": plan}],
        },
    )
    for role in ("issuer", "executor", "controller", "outsider", "nested", "admin"):
        headers = office[role]
        assert order["id"] in ids(client.get(f"{API}/orders?q=archive", headers=headers)), role
        assert client.get(f"{API}/orders/{order['id']}", headers=headers).status_code == 200
        download = client.get(
            f"{API}/orders/{order['id']}/attachments/{order['attachments'][0]['id']}",
            headers=headers,
        )
        assert download.status_code == 200 and download.data == b"the plan"
    comment = _post(
        client,
        f"/orders/{order['id']}/comments",
        office["outsider"],
        {"text": "<p>Need boxes?</p><script>alert(1)</script>"},
    )
    assert comment["author"] == "dave" and "script" not in comment["text"]
    answer = _post(
        client,
        f"/orders/{order['id']}/comments",
        office["executor"],
        {"text": "Yes, 40", "parent_id": comment["id"]},
    )
    _post(client, f"/orders/{order['id']}/comments", office["nested"], {"text": "later one"})
    thread = client.get(f"{API}/orders/{order['id']}/comments", headers=office["nested"]).json
    assert [c["id"] for c in thread["items"]][:2] == [comment["id"], answer["id"]]
    assert thread["items"][1]["depth"] == 1
    # The commenter now follows the order: the order is in dave's mailbox.
    assert order["id"] in ids(client.get(f"{API}/mailbox", headers=office["outsider"]), "order")
    # Only executors report progress; only the issuer reviews.
    _post(client, f"/orders/{order['id']}/progress", office["outsider"], {"percent": 10}, 403)
    _post(
        client, f"/orders/{order['id']}/review", office["executor"], {"decision": "accepted"}, 403
    )
