"""Sharing a linear procedure prototype from the UI: its creator picks users and groups;
they then see and may start it; unknown users are named next to the field."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from accounts import service as accounts
from engine import linear, linear_procedures
from engine.actor import Actor

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]
DESIGNER = Actor("designer", frozenset({"designers"}))


def test_the_creator_shares_a_prototype_with_a_user_and_a_group(sign_in: SignIn) -> None:
    accounts.create_user("viewer", "viewer-password", ["office"])
    run = linear_procedures.create(
        DESIGNER,
        "Закупка бумаги",
        None,
        [linear.Step(title="Согласовать", executor="designer")],
        save_as_prototype=True,
    )
    prototype_id = str(run.procedure.id)
    manager = sign_in("manager")
    assert "Закупка бумаги" not in manager.get("/ui/linear").get_data(as_text=True)

    client = sign_in("designer")
    listing = client.get("/ui/linear").get_data(as_text=True)
    url = f"/ui/linear/prototypes/{prototype_id}/share"
    assert url in listing
    page = client.get(url).get_data(as_text=True)
    token = csrf_of(page)
    assert 'value="manager"' in page and 'value="group:office"' in page

    assert client.post(url, data={"users": "manager"}).status_code == 400
    unknown = client.post(url, data={"csrf_token": token, "users": ["manager", "ghost"]})
    assert unknown.status_code == 422
    body = unknown.get_data(as_text=True)
    assert 'id="f-users-errors"' in body and "ghost" in body
    assert linear_procedures.get(prototype_id, DESIGNER).shared_with == []

    shared = client.post(
        url, data={"csrf_token": token, "users": ["manager"], "groups": ["group:office"]}
    )
    assert shared.status_code == 302
    assert linear_procedures.get(prototype_id, DESIGNER).shared_with == ["manager", "group:office"]
    assert "Закупка бумаги" in manager.get("/ui/linear").get_data(as_text=True)
    assert "Закупка бумаги" in sign_in("viewer").get("/ui/linear").get_data(as_text=True)
    assert manager.get(url).status_code == 403  # shared with them, but not theirs to share

    client.post(url, data={"csrf_token": token})  # nobody ticked: back to the creator only
    assert "Закупка бумаги" not in manager.get("/ui/linear").get_data(as_text=True)
