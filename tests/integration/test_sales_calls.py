"""Call campaigns: a call task per contact for its organization's manager, the outcome
logged as an outgoing call action, once."""

from __future__ import annotations

import pytest

from accounts import service as accounts
from engine.actor import Actor
from mail.models import Notification
from registry import contacts, organizations
from registry.errors import RegistryForbidden, RegistryInvalid
from registry.models import Action
from sales import campaigns, segments

pytestmark = pytest.mark.usefixtures("db")
ALICE = Actor("alice", frozenset({"sales"}))
BOB = Actor("bob", frozenset({"sales"}))
HEAD = Actor("olga", frozenset({"sales_admins"}))


def test_a_call_campaign_gives_each_manager_their_calls() -> None:
    for name in ("alice", "bob", "olga"):
        accounts.create_user(name, None, ["sales"], is_machine=True)
    mine = organizations.create(ALICE, {"name": "ООО «Альфа»", "tags": ["call"]})
    bobs = organizations.create(BOB, {"name": "ООО «Бета»", "tags": ["call"]})
    organizations.create(ALICE, {"name": "ООО «Гамма»", "tags": ["other"]})
    people = {
        name: contacts.create(
            ALICE if org is mine else BOB,
            {"organization": str(org.id), "name": name, "phones": ["+7 900 000-00-0" + name[-1]]},
        )
        for org, name in ((mine, "Анна 1"), (mine, "Борис 2"), (bobs, "Вера 3"))
    }
    segment = segments.create(
        ALICE, {"name": "Обзвон", "target": "contacts", "conditions": {"tags": ["call"]}}
    )
    with pytest.raises(RegistryInvalid) as bad:  # e-mail needs a subject, a call does not
        campaigns.create(ALICE, {"name": "X", "segment": str(segment.id), "template": "Hi"})
    assert "subject" in bad.value.errors
    with pytest.raises(RegistryForbidden):
        campaigns.create(Actor("eve"), {"name": "X", "segment": str(segment.id)})
    campaign = campaigns.create(
        ALICE,
        {
            "name": "Обзвон клиентов",
            "segment": str(segment.id),
            "channel": "call",
            "template": "Здравствуйте, {{ name }}! Звоню из-за {{ organization }}.",
        },
    )
    launched = campaigns.launch(ALICE, campaign.id)
    assert (launched.status, launched.recipients) == ("launched", 3)
    assert not campaigns.Recipient.objects(campaign=campaign.id).count()  # no e-mails
    alice_calls = campaigns.calls(ALICE)
    assert sorted(c.contact_name for c in alice_calls) == ["Анна 1", "Борис 2"]
    assert alice_calls[0].script.startswith("Здравствуйте, ") and "«Альфа»" in alice_calls[0].script
    assert [c.contact_name for c in campaigns.calls(BOB)] == ["Вера 3"]
    assert len(campaigns.calls(HEAD)) == 3 and len(campaigns.calls(HEAD, assignee="bob")) == 1
    # Each manager is told once, with a link to their calls.
    assert {n.user for n in Notification.objects(link="/ui/sales/calls")} == {"alice", "bob"}
    task = next(c for c in alice_calls if c.contact == people["Анна 1"].id)
    with pytest.raises(campaigns.CallNotFound):
        campaigns.record_call(BOB, task.id, {"outcome": "reached"})  # not his call
    with pytest.raises(RegistryInvalid) as bad:
        campaigns.record_call(ALICE, task.id, {"outcome": "maybe"})
    assert "outcome" in bad.value.errors
    done = campaigns.record_call(
        ALICE, task.id, {"outcome": "interested", "note": "Пришлите предложение"}
    )
    assert (done.status, done.outcome, done.done_by) == ("done", "interested", "alice")
    action = Action.objects(id=done.action).get()
    assert (action.kind, action.by, action.result) == ("call_out", "alice", "interested")
    assert action.organization == mine.id and action.contact == people["Анна 1"].id
    assert "Обзвон клиентов" in action.subject and action.content == "Пришлите предложение"
    with pytest.raises(campaigns.CallDone):
        campaigns.record_call(ALICE, task.id, {"outcome": "refused"})
    assert Action.objects(organization=mine.id, kind="call_out").count() == 1
    assert [c.contact_name for c in campaigns.calls(ALICE)] == ["Борис 2"]
    assert campaigns.statistics(ALICE, campaign.id)["calls"] == {"open": 2, "interested": 1}
