"""Correspondence pages: the merged list with counters, a message, an assignment, an order
with comments, writing a message."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.actor import Actor
from engine.models import utcnow
from mail import assignments, orders

from .conftest import csrf_of

pytestmark = pytest.mark.usefixtures("db")
SignIn = Callable[[str], FlaskClient]


def test_write_read_and_comment(app: Flask, sign_in: SignIn) -> None:
    designer = sign_in("designer")
    page = designer.get("/ui/mail/new").get_data(as_text=True)
    sent = designer.post(
        "/ui/mail/new",
        data={
            "csrf_token": csrf_of(page),
            "to": "manager",
            "subject": "Отчёт за месяц",
            "body": "<p>Жду к пятнице</p>",
        },
    )
    assert sent.status_code == 302
    boss = Actor("designer", frozenset({"designers"}))
    due = utcnow() + timedelta(days=3)
    assignments.create(boss, "manager", "Подготовить договор", due, "<p>Срочно</p>")
    order = orders.create(boss, ["manager"], "Обзвонить клиентов", due)

    manager = sign_in("manager")
    listing = manager.get("/ui/mail").get_data(as_text=True)
    for title in ("Отчёт за месяц", "Подготовить договор", "Обзвонить клиентов"):
        assert title in listing
    unread = manager.get("/ui/mail?flag=unread").get_data(as_text=True)
    assert "Отчёт за месяц" in unread
    link = re.search(r'href="(/ui/mail/open/message/[^"]+)"', listing)
    assert link
    message = manager.get(link.group(1), follow_redirects=True).get_data(as_text=True)
    assert "Жду к пятнице" in message
    link = re.search(r'href="(/ui/mail/open/assignment/[^"]+)"', listing)
    assert link
    assert "Срочно" in manager.get(link.group(1), follow_redirects=True).get_data(as_text=True)
    order_url = f"/ui/mail/order/{order['_id']}"
    shown = manager.get(order_url).get_data(as_text=True)
    manager.post(order_url, data={"csrf_token": csrf_of(shown), "body": "Начал с Ромашки"})
    assert "Начал с Ромашки" in manager.get(order_url).get_data(as_text=True)
