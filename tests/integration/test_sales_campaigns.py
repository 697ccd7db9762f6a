"""A campaign to 200 contacts against a real SMTP server (aiosmtpd): exactly 200 e-mails,
none to an unsubscribed address, none twice when jobs run again."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.actor import Actor
from mail import config
from registry import contacts, organizations
from sales import campaigns, segments
from sales.campaigns import Recipient
from tests.mail_helpers import drain
from webapi.embedded_db import free_port

pytestmark = pytest.mark.usefixtures("db")
MANAGER = Actor("alice", frozenset({"sales"}))


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    previous = config.settings()
    config.configure(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        base_url="https://crm.example.test",
        sender="crm@example.test",
        smtp_timeout=5.0,
    )
    try:
        yield inbox
    finally:
        config.configure(previous)
        controller.stop()


def people(tag: str, count: int, start: int) -> None:
    org = organizations.create(MANAGER, {"name": f"ООО «{tag} {start}»", "tags": [tag]})
    for n in range(start, start + count):
        contacts.create(
            MANAGER,
            {"organization": str(org.id), "name": f"Контакт {n}", "emails": [f"p{n}@example.test"]},
        )


def test_a_campaign_to_200_contacts(smtp: Inbox) -> None:
    for i in range(4):
        people("vip", 50, i * 50)  # p0 … p199
    people("vip", 5, 200)  # p200 … p204 unsubscribe below
    people("old", 5, 200)  # the same addresses under another organization
    old = segments.create(
        MANAGER, {"name": "Old", "target": "contacts", "conditions": {"tags": ["old"]}}
    )
    first = campaigns.launch(
        MANAGER,
        campaigns.create(
            MANAGER, {"name": "Old", "segment": str(old.id), "subject": "x", "template": "x"}
        ).id,
    )
    for recipient in Recipient.objects(campaign=first.id):
        campaigns.unsubscribe(recipient.token)  # before any e-mail went out
    vip = segments.create(
        MANAGER, {"name": "VIP", "target": "contacts", "conditions": {"tags": ["vip"]}}
    )
    campaign = campaigns.create(
        MANAGER,
        {
            "name": "Зимняя акция",
            "segment": str(vip.id),
            "subject": "Скидки",
            "template": "Здравствуйте, {{ name }} из {{ organization }}!",
        },
    )
    launched = campaigns.launch(MANAGER, campaign.id)
    assert launched.recipients == 205
    drain(limit=50)
    assert len(smtp.messages) == 200
    to = sorted(m["To"] for m in smtp.messages)
    assert len(set(to)) == 200 and "p200@example.test" not in to
    sample = next(m for m in smtp.messages if m["To"] == "p7@example.test")
    body = sample.get_content()
    assert "Здравствуйте, Контакт 7 из ООО «vip 0»!" in body
    assert "https://crm.example.test/api/v1/campaigns/unsubscribe/" in body
    # The body's link opens a confirmation page; mail clients unsubscribe with one POST.
    assert sample["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sample["List-Unsubscribe"].startswith("<https://crm.example.test/api/v1/campaigns/")
    stats = campaigns.statistics(MANAGER, campaign.id)
    assert stats["statuses"] == {"sent": 200, "unsubscribed": 5}
    assert (stats["sent"], stats["unsubscribed"], stats["bounced"]) == (200, 5, 0)
    # A job run again (a retry after a lost acknowledgement) sends nothing twice.
    for recipient in Recipient.objects(campaign=campaign.id):
        campaigns.send(recipient.id)
    assert len(smtp.messages) == 200
    # A bounce is recorded on the recipient.
    assert campaigns.record_bounce(campaign.id, "P3@example.test", "550 no such user") == 1
    assert campaigns.statistics(MANAGER, campaign.id)["bounced"] == 1
