"""E-mail of notifications against a real SMTP server (aiosmtpd) started in the test: who
gets what, with which subject and link, once even when a job runs again; the digest."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher

from accounts import service as accounts
from engine import definitions, instances, jobs
from engine.actor import Actor
from engine.models import utcnow
from engine.operators import InstanceContext, OperatorCall
from mail import assignments, config, notifications
from mail import operators as mail_operators
from mail.models import Notification, OutboundEmail
from tests.conftest import bpmn
from tests.mail_helpers import deploy_procedures, drain, make_user, wait_for
from webapi.embedded_db import free_port

pytestmark = pytest.mark.usefixtures("db")
BASE_URL = "https://crm.example.test"


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture()
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    previous = config.settings()
    config.configure(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        base_url=BASE_URL,
        sender="crm@example.test",
        smtp_timeout=5.0,
    )
    try:
        yield inbox
    finally:
        config.configure(previous)
        controller.stop()


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture()
def office() -> dict[str, Actor]:
    deploy_procedures()
    return {
        "alice": make_user("alice", ("sales",), "alice@example.test"),
        "bob": make_user("bob", ("sales",), "bob@example.test", locale="ru"),
        "carol": make_user("carol", ("support",), "carol@example.test"),
    }


def test_assignment_e_mails_reach_each_recipient_with_subject_and_link(
    smtp: Inbox, office: dict[str, Actor]
) -> None:
    issued = assignments.create(
        office["alice"], "bob", "Check the invoice", utcnow() + timedelta(hours=2)
    )
    drain()
    [to_bob] = smtp.to("bob@example.test")
    assert to_bob["Subject"] == "Новое задание: Check the invoice"  # bob reads Russian
    assert to_bob["From"] == "crm@example.test"
    assert f"{BASE_URL}/api/v1/assignments/{issued['_id']}" in to_bob.get_content()
    assert smtp.to("alice@example.test") == []  # the issuer is not told what they did
    assignments.report(office["bob"], str(issued["_id"]), "Checked: all correct")
    drain()
    [to_alice] = smtp.to("alice@example.test")
    assert to_alice["Subject"] == "Assignment “Check the invoice”: done"
    assert "Checked: all correct" in to_alice.get_content()


def test_a_retried_e_mail_job_sends_nothing_twice(smtp: Inbox, office: dict[str, Actor]) -> None:
    notifications.notify(
        "test:retry", ["carol"], title="Server maintenance", text="Tonight", link="/api/v1/orders/1"
    )
    [job] = jobs.Job.objects(kind=notifications.EMAIL_JOB)
    # The first worker sends the e-mail, then dies before recording the job done.
    claimed = jobs.claim(job.id, "worker-a", lease_seconds=0.2)
    assert claimed is not None
    notifications.send_pending(claimed.payload["email_key"])
    wait_for(lambda: jobs.due_job_ids(), timeout=5, run_jobs=False)  # the lease runs out
    assert jobs.run_due("worker-b") == 1  # another worker runs the job again
    drain()
    assert len(smtp.to("carol@example.test")) == 1
    assert OutboundEmail.objects.get(user="carol").status == "sent"
    # Notifying again under the same key (an operator re-run) changes nothing either.
    notifications.notify("test:retry", ["carol"], title="Server maintenance", text="Tonight")
    drain()
    assert len(smtp.to("carol@example.test")) == 1
    assert Notification.objects(user="carol").count() == 1


def test_the_notify_operator_re_run_after_a_crash_e_mails_once(
    smtp: Inbox, office: dict[str, Actor]
) -> None:
    definitions.deploy(bpmn("mail_notify.bpmn"), "mail_notify.bpmn", "test")
    doc = instances.start("mail_notify", office["alice"], {"who": ["bob", "group:support"]})
    [job] = jobs.Job.objects(kind="async_service")
    # Worker A runs the operator (its e-mails go out), then dies before the instance moves
    # on and before the job is recorded done.
    claimed = jobs.claim(job.id, "worker-a", lease_seconds=0.2)
    assert claimed is not None
    mail_operators.notify_operator(
        OperatorCall(
            name="notify",
            params={
                "to": ["bob", "group:support"],
                "subject": "Welcome aboard",
                "text": "Your account is ready.",
                "link": "/ui/welcome",
            },
            data={},
            instance=InstanceContext(str(doc["_id"]), "mail_notify", "alice"),
            idempotency_key=claimed.key,
        )
    )
    for sending in jobs.Job.objects(kind=notifications.EMAIL_JOB, status="pending"):
        jobs.run_one(sending.id, "worker-a")
    assert len(smtp.to("bob@example.test")) == 1
    # The lease runs out; worker B runs the same job (same key): the operator runs again.
    wait_for(lambda: job.id in jobs.due_job_ids(), timeout=5, run_jobs=False)
    drain()
    assert [t["bpmn_id"] for t in instances.get(doc["_id"])["open_tasks"]] == ["wait"]
    for address in ("bob@example.test", "carol@example.test"):
        [welcome] = smtp.to(address)
        assert welcome["Subject"] == "Welcome aboard"
        assert f"{BASE_URL}/ui/welcome" in welcome.get_content()
    assert smtp.to("alice@example.test") == []


def test_smtp_down_retries_and_then_sends_once(
    smtp: Inbox, office: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "BACKOFF_BASE_SECONDS", 0.05)
    working = config.settings()
    config.configure(smtp_port=free_port())  # nobody listens there
    notifications.notify("test:down", ["bob"], title="Ping", text="pong")
    jobs.run_due("test-worker")
    email_record = OutboundEmail.objects.get(user="bob")
    assert email_record.status == "pending" and email_record.last_error
    config.configure(working)
    wait_for(lambda: smtp.to("bob@example.test"), timeout=10)
    drain()
    assert len(smtp.to("bob@example.test")) == 1


def test_preferences_digest_and_off(smtp: Inbox, office: dict[str, Actor]) -> None:
    notifications.set_preferences(office["bob"], "digest")
    notifications.set_preferences(office["carol"], "off")
    for n in range(3):
        notifications.notify(
            f"test:digest:{n}",
            ["bob", "carol"],
            title=f"News {n}",
            text="text",
            link=f"/api/v1/orders/{n}",
        )
    drain()
    assert smtp.to("bob@example.test") == [] and smtp.to("carol@example.test") == []
    digest_job = jobs.Job.objects.get(kind=notifications.DIGEST_JOB)
    cutoff = datetime.fromisoformat(digest_job.payload["cutoff"])
    assert digest_job.due_at == cutoff and cutoff.hour == config.settings().digest_hour_utc
    assert notifications.send_digests(cutoff) == 1
    assert notifications.send_digests(cutoff) == 0  # the day's digest went out already
    [digest] = smtp.to("bob@example.test")
    assert digest["Subject"] == "Сводка уведомлений: 3"
    body = digest.get_content()
    assert all(f"News {n}" in body and f"{BASE_URL}/api/v1/orders/{n}" in body for n in range(3))
    assert Notification.objects(user="bob", digest_pending=True).count() == 0
    assert Notification.objects(user="carol").count() == 3  # in-app still, e-mail off


def test_without_an_smtp_server_e_mails_are_recorded_as_skipped(office: dict[str, Actor]) -> None:
    previous = config.settings()
    config.configure(smtp_host="")
    try:
        notifications.notify("test:none", ["alice"], title="t", text="x")
        drain()
    finally:
        config.configure(previous)
    assert OutboundEmail.objects.get(user="alice").status == "skipped"
