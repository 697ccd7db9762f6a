"""Sales pages through the Flask client: the list's filters, and the move endpoint's
checks (CSRF, lost reason, access) that the board's script relies on."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from accounts import service as accounts
from engine.actor import Actor
from registry import organizations
from sales import deals, pipelines
from sales.models import Deal

from .conftest import csrf_of

STAGES = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "offer", "name": "Offer", "probability": 40},
    {"key": "won", "name": "Won", "kind": "won"},
    {"key": "lost", "name": "Lost", "kind": "lost"},
]


def test_list_filters_and_move_checks(sign_in: Callable[[str], FlaskClient]) -> None:
    accounts.create_user("carol", "carol-password", ["support"])
    manager = Actor("manager", frozenset({"sales"}))
    pipelines.create(Actor("root", is_admin=True), {"key": "b2b", "name": "B2B", "stages": STAGES})
    org = organizations.create(manager, {"name": "Ромашка"})
    made = {
        title: deals.create(
            manager,
            {"pipeline": "b2b", "organization": str(org.id), "title": title, "source": source},
        )
        for title, source in (("Alpha deal", "web"), ("Beta deal", "call"))
    }
    client = sign_in("manager")
    listed = client.get("/ui/sales/deals?source=web").get_data(as_text=True)
    assert "Alpha deal" in listed and "Beta deal" not in listed
    board = client.get("/ui/sales", follow_redirects=True).get_data(as_text=True)
    assert board.count('class="kanban-card"') == 2
    token = csrf_of(board)
    url = f"/ui/sales/deals/{made['Alpha deal'].id}/move"
    assert client.post(url, data={"stage": "offer"}).status_code == 400  # no CSRF token
    lost = client.post(url, data={"stage": "lost", "csrf_token": token})
    assert lost.status_code == 422 and "lost_reason" in lost.get_json()["errors"][0]
    moved = client.post(url, data={"stage": "offer", "version": "1", "csrf_token": token})
    assert moved.get_json() == {"stage": "offer", "version": 2, "probability": 40}
    carol = sign_in("carol")
    token = csrf_of(carol.get("/ui/sales/b2b/board").get_data(as_text=True))
    refused = carol.post(url, data={"stage": "lead", "csrf_token": token})
    assert refused.status_code == 403
    assert Deal.objects(id=made["Alpha deal"].id).get().stage == "offer"
