"""Sales and marketing pages through the Flask client: segments with a member preview,
campaigns (create, launch, per-recipient statuses), call tasks, plan and fact, analytics."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from accounts import service as accounts
from engine.actor import Actor
from registry import contacts, organizations
from registry.models import Action
from sales import campaigns, deals, pipelines, plans, segments
from sales.campaigns import CallTask, Campaign, Recipient
from sales.models import Deal
from sales.segments import Segment

from .conftest import csrf_of

MANAGER = Actor("manager", frozenset({"sales"}))
STAGES = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "won", "name": "Won", "kind": "won"},
    {"key": "lost", "name": "Lost", "kind": "lost"},
]


def people() -> None:
    org = organizations.create(MANAGER, {"name": "ООО «Ромашка»", "tags": ["клиент"]})
    organizations.create(MANAGER, {"name": "ООО «Лютик»", "tags": ["прочие"]})
    for n in range(3):
        contacts.create(
            MANAGER,
            {
                "organization": str(org.id),
                "name": f"Контакт {n}",
                "emails": [f"c{n}@example.test"],
                "phones": [f"+7 900 000-00-0{n}"],
            },
        )


def test_segment_pages_preview_and_save(sign_in: Callable[[str], FlaskClient]) -> None:
    people()
    client = sign_in("manager")
    listing = client.get("/ui/sales/segments").get_data(as_text=True)
    assert "There are no segments yet." in listing or "Сегментов пока нет." in listing
    form = client.get("/ui/sales/segments/new").get_data(as_text=True)
    token = csrf_of(form)
    base = {"csrf_token": token, "name": "Клиенты", "target": "contacts", "tags": "клиент"}
    preview = client.post("/ui/sales/segments/new", data={**base, "preview": "1"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="preview-count"' in html
    assert re.search(r'id="preview-count">3<', html) and "Контакт 2" in html
    assert not Segment.objects.count()  # a preview saves nothing
    bad = client.post("/ui/sales/segments/new", data={**base, "last_action_after": "not a date"})
    assert bad.status_code == 422 and "f-last_action_after-errors" in bad.get_data(as_text=True)
    saved = client.post("/ui/sales/segments/new", data=base)
    assert saved.status_code == 302
    segment = Segment.objects.get()
    assert (segment.name, segment.conditions, segment.owner) == (
        "Клиенты",
        {"tags": ["клиент"]},
        "manager",
    )
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="preview-count">3<', page)  # a saved segment shows its members
    changed = client.post(
        f"/ui/sales/segments/{segment.id}",
        data={"csrf_token": token, "name": "Все", "tags": "клиент, прочие", "version": "1"},
    )
    assert changed.status_code == 302
    assert Segment.objects.get().conditions == {"tags": ["клиент", "прочие"]}
    assert "Все" in client.get("/ui/sales/segments").get_data(as_text=True)
    accounts.create_user("other", "other-password", ["sales"])
    other = sign_in("other")
    refused = other.post(
        f"/ui/sales/segments/{segment.id}",
        data={
            "csrf_token": csrf_of(other.get("/ui/sales/segments/new").get_data(as_text=True)),
            "name": "Чужой",
        },
    )
    assert refused.status_code == 403 and Segment.objects.get().name == "Все"


def test_campaign_pages_create_launch_and_statuses(sign_in: Callable[[str], FlaskClient]) -> None:
    people()
    segment = segments.create(
        MANAGER, {"name": "Клиенты", "target": "contacts", "conditions": {"tags": ["клиент"]}}
    )
    client = sign_in("manager")
    page = client.get("/ui/sales/campaigns").get_data(as_text=True)
    token = csrf_of(page)
    body = {
        "csrf_token": token,
        "name": "Весна",
        "segment": str(segment.id),
        "channel": "email",
        "subject": "",
        "template": "Здравствуйте, {{ name }}!",
    }
    bad = client.post("/ui/sales/campaigns", data=body)
    assert bad.status_code == 422 and "f-subject-errors" in bad.get_data(as_text=True)
    made = client.post("/ui/sales/campaigns", data={**body, "subject": "Скидки"})
    assert made.status_code == 302
    campaign = Campaign.objects.get()
    detail = client.get(made.headers["Location"]).get_data(as_text=True)
    assert 'id="launch"' in detail and campaign.status == "draft"
    launched = client.post(f"/ui/sales/campaigns/{campaign.id}/launch", data={"csrf_token": token})
    assert launched.status_code == 302
    campaigns.unsubscribe(Recipient.objects(email="c1@example.test").get().token)
    campaigns.record_bounce(campaign.id, "c2@example.test", "550")
    detail = client.get(f"/ui/sales/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="launch"' not in detail
    rows = re.findall(r"<td>(c\d@example\.test)</td>\s*<td><span class=\"badge s-(\w+)\"", detail)
    assert rows == [
        ("c0@example.test", "pending"),
        ("c1@example.test", "unsubscribed"),
        ("c2@example.test", "bounced"),
    ]
    only = client.get(f"/ui/sales/campaigns/{campaign.id}?status=bounced").get_data(as_text=True)
    assert "c2@example.test" in only and "c0@example.test" not in only
    listing = client.get("/ui/sales/campaigns").get_data(as_text=True)
    assert "Весна" in listing
    # A reply received by someone is recorded from the page: an e-mail action, counted.
    replied = client.post(
        f"/ui/sales/campaigns/{campaign.id}/responses",
        data={"csrf_token": token, "email": "c0@example.test", "content": "Да, интересно"},
    )
    assert replied.status_code == 302
    assert Action.objects(kind="email", content="Да, интересно").count() == 1
    detail = client.get(f"/ui/sales/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="responses"' in detail and campaigns.statistics(MANAGER, campaign.id)["replied"] == 1
    # A deal opened from the reply names the campaign (its source) and the contact.
    pipelines.create(Actor("root", is_admin=True), {"key": "b2b", "name": "B2B", "stages": STAGES})
    reply = campaigns.responses(MANAGER, campaign.id)[0]
    opened = client.post(
        f"/ui/sales/campaigns/{campaign.id}/deals",
        data={"csrf_token": token, "reply": str(reply.id), "pipeline": "b2b", "amount": "700"},
    )
    assert opened.status_code == 302
    (deal,) = Deal.objects(campaign=campaign.id)
    assert (deal.source, deal.contacts, deal.title) == ("campaign", [reply.contact], "Весна")
    assert campaigns.statistics(MANAGER, campaign.id)["deals"] == 1


def test_call_tasks_page_records_the_outcome(sign_in: Callable[[str], FlaskClient]) -> None:
    people()
    segment = segments.create(
        MANAGER, {"name": "Клиенты", "target": "contacts", "conditions": {"tags": ["клиент"]}}
    )
    campaign = campaigns.create(
        MANAGER,
        {"name": "Обзвон", "segment": str(segment.id), "channel": "call", "template": "Hi"},
    )
    campaigns.launch(MANAGER, campaign.id)
    client = sign_in("manager")
    page = client.get("/ui/sales/calls").get_data(as_text=True)
    assert page.count('class="card" id="call-') == 3 and "+7 900 000-00-01" in page
    task = CallTask.objects(contact_name="Контакт 1").get()
    done = client.post(
        f"/ui/sales/calls/{task.id}/outcome",
        data={"csrf_token": csrf_of(page), "outcome": "interested", "note": "Перезвонить"},
    )
    assert done.status_code == 302
    assert CallTask.objects(id=task.id).get().status == "done"
    assert Action.objects(kind="call_out", result="interested").count() == 1
    page = client.get("/ui/sales/calls").get_data(as_text=True)
    assert page.count('class="card" id="call-') == 2
    detail = client.get(f"/ui/sales/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="campaign-calls"' in detail and "Перезвонить" in detail


def test_plan_page_and_analytics(sign_in: Callable[[str], FlaskClient]) -> None:
    pipelines.create(Actor("root", is_admin=True), {"key": "b2b", "name": "B2B", "stages": STAGES})
    org = organizations.create(MANAGER, {"name": "ООО «Ромашка»"})
    made = deals.create(
        MANAGER,
        {"pipeline": "b2b", "organization": str(org.id), "title": "Насос", "amount": "300"},
    )
    deals.move(MANAGER, made.id, "won")
    month = made.created_at.strftime("%Y-%m")
    client = sign_in("manager")
    page = client.get(f"/ui/sales/plans?year={month[:4]}").get_data(as_text=True)
    token = csrf_of(page)
    bad = client.post(
        f"/ui/sales/plans?year={month[:4]}",
        data={"csrf_token": token, "manager": "", "month": month, "amount": "abc"},
    )
    assert bad.status_code == 422 and "f-amount-errors" in bad.get_data(as_text=True)
    saved = client.post(
        f"/ui/sales/plans?year={month[:4]}",
        data={"csrf_token": token, "manager": "", "month": month, "amount": "600"},
    )
    assert saved.status_code == 302
    (plan,) = plans.SalesPlan.objects()
    assert (plan.manager, plan.month, plan.amount_minor) == ("manager", month, 60000)
    table = client.get(saved.headers["Location"]).get_data(as_text=True)
    row = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
    assert row and month in row.group(1) and "50" in row.group(1)
    refused = client.post(
        "/ui/sales/plans",
        data={"csrf_token": token, "manager": "designer", "month": month, "amount": "1"},
    )
    assert refused.status_code == 403
    figures = client.get("/ui/sales/b2b/analytics").get_data(as_text=True)
    assert 'id="funnel"' in figures and 'id="by-source"' in figures
