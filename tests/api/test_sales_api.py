"""The sales API over HTTP: pipelines, deals, stage moves, field-named errors, figures."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask.testing import FlaskClient

from registry.models import Action
from sales.campaigns import Unsubscribe

Headers = dict[str, dict[str, str]]
STAGES = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "offer", "name": "Offer", "probability": 50},
    {"key": "won", "name": "Won", "kind": "won"},
    {"key": "lost", "name": "Lost", "kind": "lost"},
]


def call(
    client: FlaskClient, method: str, url: str, headers: dict[str, str], status: int, **kw: Any
) -> Any:
    response = client.open(f"/api/v1{url}", method=method, headers=headers, **kw)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(silent=True)


def setup(client: FlaskClient, users: Headers) -> tuple[str, str]:
    call(
        client,
        "POST",
        "/pipelines",
        users["admin"],
        201,
        json={"key": "b2b", "name": "B2B", "stages": STAGES},
    )
    org = call(client, "POST", "/organizations", users["alice"], 201, json={"name": "Ромашка"})
    product = call(
        client,
        "POST",
        "/products",
        users["admin"],
        201,
        json={"code": "P-1", "name": "Pump", "price": "1200.00"},
    )
    return org["id"], product["id"]


def test_deal_lifecycle_over_http(client: FlaskClient, users: Headers) -> None:
    org, product = setup(client, users)
    deal = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        201,
        json={
            "pipeline": "b2b",
            "organization": org,
            "title": "Насосы",
            "lines": [{"product": product, "quantity": "2", "discount": "5"}],
            "expected_close": "2026-12-31",
        },
    )
    assert (deal["amount"], deal["stage"], deal["probability"]) == ("2280.00", "lead", 10)
    assert deal["lines"][0]["price"] == "1200.00"
    url = f"/deals/{deal['id']}"
    moved = call(
        client, "POST", f"{url}/stage", users["alice"], 200, json={"stage": "offer", "version": 1}
    )
    assert (moved["stage"], moved["probability"], moved["version"]) == ("offer", 50, 2)
    assert [e["stage"] for e in moved["stage_log"]] == ["lead", "offer"]
    stale = call(
        client, "POST", f"{url}/stage", users["alice"], 409, json={"stage": "lead", "version": 1}
    )
    assert stale["errors"] == {"current_version": 2}
    no_reason = call(client, "POST", f"{url}/stage", users["alice"], 422, json={"stage": "lost"})
    assert "lost_reason" in no_reason["errors"]
    # carol (support) reads the open organization's deal but may not change it.
    call(client, "GET", url, users["carol"], 200)
    call(client, "POST", f"{url}/stage", users["carol"], 403, json={"stage": "lead"})
    page = call(client, "GET", "/deals", users["alice"], 200, query_string={"stage": "offer"})
    assert [d["id"] for d in page["items"]] == [deal["id"]]
    figures = call(client, "GET", "/pipelines/b2b/analytics", users["alice"], 200)
    assert figures["forecast"] == "1140.00"
    assert [r["reached"] for r in figures["funnel"]] == [1, 1, 0, 0]
    assert figures["funnel"][0]["conversion"] == "1.0000"


def test_validation_errors_name_the_fields(client: FlaskClient, users: Headers) -> None:
    org, _ = setup(client, users)
    bad = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        422,
        json={
            "pipeline": "nope",
            "organization": org,
            "title": "X",
            "lines": [{"product": org, "quantity": "1"}],
        },
    )
    assert "pipeline" in bad["errors"]
    lines = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        422,
        json={"pipeline": "b2b", "organization": org, "title": "X", "lines": [{"product": org}]},
    )
    assert list(lines["errors"]) == ["lines.0.product"]
    unknown = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        422,
        json={"pipeline": "b2b", "organization": org, "title": "X", "colour": "red"},
    )
    assert "colour" in str(unknown["errors"])
    refused = call(
        client,
        "POST",
        "/pipelines",
        users["alice"],
        403,
        json={"key": "mine", "name": "Mine", "stages": STAGES},
    )
    assert refused["code"] == "forbidden"
    no_won = call(
        client,
        "POST",
        "/pipelines",
        users["admin"],
        422,
        json={"key": "x", "name": "X", "stages": STAGES[:2] + STAGES[3:]},
    )
    assert "stages" in no_won["errors"]
    call(client, "GET", "/deals/000000000000000000000000", users["alice"], 404)


def test_segments_over_http(client: FlaskClient, users: Headers) -> None:
    org, _ = setup(client, users)
    call(
        client,
        "POST",
        "/organizations",
        users["alice"],
        201,
        json={"name": "Лютик", "tags": ["VIP"]},
    )
    vip = call(
        client, "POST", "/organizations", users["bob"], 201, json={"name": "Астра", "tags": ["vip"]}
    )
    call(
        client,
        "POST",
        "/contacts",
        users["bob"],
        201,
        json={"organization": vip["id"], "name": "Ия"},
    )
    segment = call(
        client,
        "POST",
        "/segments",
        users["alice"],
        201,
        json={"name": "VIP", "conditions": {"tags": ["Vip"]}},
    )
    members = call(client, "GET", f"/segments/{segment['id']}/members", users["alice"], 200)
    assert members["count"] == 2
    assert sorted(m["name"] for m in members["items"]) == ["Астра", "Лютик"]
    people = call(
        client,
        "POST",
        "/segments",
        users["alice"],
        201,
        json={"name": "VIP people", "target": "contacts", "conditions": {"tags": ["vip"]}},
    )
    found = call(client, "GET", f"/segments/{people['id']}/members", users["alice"], 200)
    assert [(m["name"], m["organization"]) for m in found["items"]] == [("Ия", vip["id"])]
    bad = call(
        client,
        "POST",
        "/segments",
        users["alice"],
        422,
        json={"name": "X", "conditions": {"deal_pipeline": "b2b", "deal_stage": "nope"}},
    )
    assert "conditions.deal_stage" in bad["errors"]
    call(
        client,
        "PATCH",
        f"/segments/{segment['id']}",
        users["bob"],
        403,
        json={"name": "Mine now"},
    )
    assert org


def test_campaigns_over_http(client: FlaskClient, users: Headers) -> None:
    vip = call(
        client,
        "POST",
        "/organizations",
        users["alice"],
        201,
        json={"name": "Астра", "tags": ["vip"]},
    )
    for n in range(3):
        call(
            client,
            "POST",
            "/contacts",
            users["alice"],
            201,
            json={"organization": vip["id"], "name": f"C{n}", "emails": [f"c{n}@example.test"]},
        )
    segment = call(
        client,
        "POST",
        "/segments",
        users["alice"],
        201,
        json={"name": "VIP", "target": "contacts", "conditions": {"tags": ["vip"]}},
    )
    body = {
        "name": "Акция",
        "segment": segment["id"],
        "subject": "Скидки",
        "template": "{{ name }}",
    }
    call(client, "POST", "/campaigns", users["carol"], 403, json=body)
    bad = call(
        client, "POST", "/campaigns", users["alice"], 422, json={**body, "template": "{{ x }}"}
    )
    assert "template" in bad["errors"]
    made = call(client, "POST", "/campaigns", users["alice"], 201, json=body)
    launched = call(client, "POST", f"/campaigns/{made['id']}/launch", users["alice"], 200)
    assert (launched["status"], launched["recipients"]) == ("launched", 3)
    call(client, "POST", f"/campaigns/{made['id']}/launch", users["alice"], 409)
    from sales.campaigns import Recipient

    token = Recipient.objects(email="c1@example.test").get().token
    link = f"/api/v1/campaigns/unsubscribe/{token}"
    # GET changes nothing (mail scanners prefetch links): a page asks to confirm.
    page = client.get(link, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'method="post"' in html and "c1@example.test" in html
    assert client.get(link).get_json() == {"email": "c1@example.test", "unsubscribed": False}
    assert not Unsubscribe.objects(email="c1@example.test").count()
    # The page's button, or a mail client's one-click POST (RFC 8058), unsubscribes.
    done = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.get_json() == {"email": "c1@example.test", "unsubscribed": True}
    assert Unsubscribe.objects(email="c1@example.test").count() == 1
    again = client.get(link, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'method="post"' not in again
    assert client.get("/api/v1/campaigns/unsubscribe/nope").status_code == 404
    assert client.post("/api/v1/campaigns/unsubscribe/nope").status_code == 404
    bounced = call(
        client,
        "POST",
        f"/campaigns/{made['id']}/bounces",
        users["alice"],
        200,
        json={"email": "c2@example.test", "reason": "550"},
    )
    assert bounced == {"changed": 1}
    stats = call(client, "GET", f"/campaigns/{made['id']}", users["alice"], 200)
    assert stats["statuses"] == {"pending": 1, "unsubscribed": 1, "bounced": 1}
    assert (stats["bounced"], stats["unsubscribed"], stats["replied"]) == (1, 1, 0)
    # A reply, reported twice by an inbound hook, is one e-mail action with the campaign.
    reply = {"email": "C0@example.test", "content": "Интересно", "message_id": "<r1@x>"}
    first = call(
        client, "POST", f"/campaigns/{made['id']}/responses", users["robot"], 201, json=reply
    )
    second = call(
        client, "POST", f"/campaigns/{made['id']}/responses", users["robot"], 201, json=reply
    )
    assert first["id"] == second["id"] and first["organization"] == vip["id"]
    action = Action.objects(id=first["action"]).get()
    assert (action.kind, action.by, action.content) == ("email", "robot", "Интересно")
    assert "Акция" in action.subject and action.organization == ObjectId(vip["id"])
    stranger = {"email": "who@example.test", "content": "?"}
    bad = call(
        client, "POST", f"/campaigns/{made['id']}/responses", users["alice"], 422, json=stranger
    )
    assert "email" in bad["errors"]
    call(client, "POST", f"/campaigns/{made['id']}/responses", users["carol"], 403, json=reply)
    # A deal from the campaign: its source defaults to "campaign"; the statistics count it.
    call(
        client,
        "POST",
        "/pipelines",
        users["admin"],
        201,
        json={"key": "b2b", "name": "B2B", "stages": STAGES},
    )
    deal = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        201,
        json={
            "pipeline": "b2b",
            "organization": vip["id"],
            "title": "Из рассылки",
            "amount": "1500.00",
            "campaign": made["id"],
        },
    )
    assert (deal["campaign"], deal["source"]) == (made["id"], "campaign")
    call(client, "POST", f"/deals/{deal['id']}/stage", users["alice"], 200, json={"stage": "won"})
    stats = call(client, "GET", f"/campaigns/{made['id']}", users["alice"], 200)
    assert (stats["replied"], stats["replies"], stats["deals"]) == (1, 1, 1)
    assert (stats["won_deals"], stats["won_amount"]) == (1, "1500.00")
    listed = call(client, "GET", f"/deals?campaign={made['id']}", users["alice"], 200)
    assert [d["id"] for d in listed["items"]] == [deal["id"]]
    recipients = call(client, "GET", f"/campaigns/{made['id']}/recipients", users["alice"], 200)
    assert [r["status"] for r in recipients["items"]] == ["pending", "unsubscribed", "bounced"]
    assert recipients["items"][0]["replies"] == 1
    call(client, "GET", f"/campaigns/{made['id']}/recipients", users["carol"], 403)
    grouped = call(
        client, "GET", "/pipelines/b2b/analytics/groups?by=campaign", users["alice"], 200
    )
    assert grouped["groups"][0]["name"] == "Акция"
    assert (grouped["groups"][0]["won"], grouped["groups"][0]["won_amount"]) == (1, "1500.00")
    funnel = call(
        client, "GET", f"/pipelines/b2b/analytics?campaign={made['id']}", users["alice"], 200
    )
    assert funnel["won"] == 1


def test_sales_plans_over_http(client: FlaskClient, users: Headers) -> None:
    org, _ = setup(client, users)
    mine = call(
        client,
        "POST",
        "/sales-plans",
        users["alice"],
        201,
        json={"month": "2026-05", "amount": "100"},
    )
    assert (mine["manager"], mine["amount"], mine["pipeline"]) == ("alice", "100.00", None)
    call(
        client,
        "POST",
        "/sales-plans",
        users["alice"],
        409,
        json={"month": "2026-05", "amount": "1"},
    )
    bad = call(
        client,
        "POST",
        "/sales-plans",
        users["alice"],
        422,
        json={"month": "2026-5", "amount": "x", "colour": "red"},
    )
    assert {"month", "amount", "colour"} <= set(bad["errors"])
    others = {"manager": "bob", "month": "2026-05", "amount": "5"}
    call(client, "POST", "/sales-plans", users["alice"], 403, json=others)
    bobs = call(client, "POST", "/sales-plans", users["admin"], 201, json=others)
    call(client, "GET", f"/sales-plans/{bobs['id']}", users["alice"], 404)
    call(client, "PATCH", f"/sales-plans/{mine['id']}", users["alice"], 409, json={"version": 7})
    changed = call(
        client,
        "PATCH",
        f"/sales-plans/{mine['id']}",
        users["alice"],
        200,
        json={"amount": "200", "version": 1},
    )
    assert (changed["amount"], changed["version"]) == ("200.00", 2)
    listed = call(client, "GET", "/sales-plans?month_from=2026-01", users["alice"], 200)
    assert [p["id"] for p in listed["items"]] == [mine["id"]]
    deal = call(
        client,
        "POST",
        "/deals",
        users["alice"],
        201,
        json={"pipeline": "b2b", "organization": org, "title": "Сейчас", "amount": "50.00"},
    )
    call(client, "POST", f"/deals/{deal['id']}/stage", users["alice"], 200, json={"stage": "won"})
    month = deal["created_at"][:7]
    call(
        client, "POST", "/sales-plans", users["alice"], 201, json={"month": month, "amount": "100"}
    )
    figures = call(
        client,
        "GET",
        f"/sales-plans/analytics?month_from={month}&month_to={month}",
        users["alice"],
        200,
    )
    assert figures["rows"] == [
        {
            "manager": "alice",
            "month": month,
            "plan": "100.00",
            "fact": "50.00",
            "won_deals": 1,
            "percent": "50.0",
        }
    ]
    call(client, "GET", "/sales-plans/analytics?month_from=2026-13", users["alice"], 422)
    call(client, "DELETE", f"/sales-plans/{mine['id']}", users["bob"], 404)
    call(client, "DELETE", f"/sales-plans/{mine['id']}", users["alice"], 204)


def test_call_tasks_over_http(client: FlaskClient, users: Headers) -> None:
    org = call(
        client, "POST", "/organizations", users["bob"], 201, json={"name": "Бета", "tags": ["t"]}
    )
    call(
        client,
        "POST",
        "/contacts",
        users["bob"],
        201,
        json={"organization": org["id"], "name": "Вера", "phones": ["+7 900 111-22-33"]},
    )
    segment = call(
        client,
        "POST",
        "/segments",
        users["alice"],
        201,
        json={"name": "T", "target": "contacts", "conditions": {"tags": ["t"]}},
    )
    body = {"name": "Обзвон", "segment": segment["id"], "channel": "call", "template": "{{ name }}"}
    made = call(client, "POST", "/campaigns", users["alice"], 201, json=body)
    call(client, "POST", f"/campaigns/{made['id']}/launch", users["alice"], 200)
    assert call(client, "GET", "/campaigns/calls", users["alice"], 200)["items"] == []
    (task,) = call(client, "GET", "/campaigns/calls", users["bob"], 200)["items"]
    assert (task["script"], task["phones"], task["assignee"]) == (
        "Вера",
        ["+7 900 111-22-33"],
        "bob",
    )
    url = f"/campaigns/calls/{task['id']}/outcome"
    call(client, "POST", url, users["alice"], 404, json={"outcome": "reached"})
    call(client, "POST", url, users["bob"], 422, json={"outcome": "maybe"})
    done = call(
        client, "POST", url, users["bob"], 200, json={"outcome": "callback", "note": "Завтра"}
    )
    assert (done["status"], done["outcome"]) == ("done", "callback")
    call(client, "POST", url, users["bob"], 409, json={"outcome": "reached"})
    stats = call(client, "GET", f"/campaigns/{made['id']}", users["alice"], 200)
    assert stats["calls"] == {"callback": 1}
    listed = call(client, "GET", "/campaigns", users["carol"], 200)
    assert [c["channel"] for c in listed["items"]] == ["call"]
