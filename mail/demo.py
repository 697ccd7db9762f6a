"""Demo correspondence: messages with a reply, assignments (one nested, one under control,
one reported), orders with a sub-order, progress and a comment thread.

Made through the services, so each item runs its procedure and notifies its people.
Loading twice changes nothing: the first demo message marks the demo as loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from engine.actor import Actor
from engine.models import utcnow

from . import assignments, messages, orders
from . import operators as mail_operators
from .models import Message

__all__ = ["load", "mail_operators"]  # the procedures need the operators registered
DEMO_SUBJECT = "Планёрка в понедельник"
ROMASHKA = {"type": "organization", "id": "demo-1", "title": "ООО «Ромашка»"}


def load(people: dict[str, Actor]) -> Iterator[str]:
    """Create the demo once for the demo users admin, manager, clerk and support."""
    if Message.objects(subject=DEMO_SUBJECT).first() is not None:
        yield "correspondence demo exists"
        return
    admin, manager, clerk, support = (people[n] for n in ("admin", "manager", "clerk", "support"))
    now = utcnow()
    first = messages.send(
        manager,
        ["clerk"],
        ["support"],
        DEMO_SUBJECT,
        "<p>Коллеги, в понедельник в 10:00 обсуждаем <b>план на декабрь</b>.</p>",
    )
    messages.reply(clerk, str(first["_id"]), "<p>Буду, подготовлю сводку по договорам.</p>")
    messages.send(
        admin,
        [],
        ["sales"],
        "Новые цены с 1 декабря",
        "<p>Прайс-лист обновлён, см. карточку клиента.</p>",
        [ROMASHKA],
    )
    yield "messages: 3 (one reply, one to a group with an organization attached)"

    offer = assignments.create(
        admin,
        "manager",
        "Подготовить коммерческое предложение для ООО «Ромашка»",
        now + timedelta(days=3),
        "<p>Цены нового прайс-листа, скидка до 5%.</p>",
        controller="clerk",
        control_due=now + timedelta(days=5),
        attachment_items=[ROMASHKA],
    )
    assignments.create(
        manager,
        "support",
        "Уточнить технические требования к поставке",
        now + timedelta(days=2),
        parent_id=str(offer["_id"]),
    )
    letter = assignments.create(
        manager, "clerk", "Зарегистрировать входящее письмо ООО «Ромашка»", now + timedelta(days=1)
    )
    assignments.report(clerk, str(letter["_id"]), "Зарегистрировано: ВХ-0001/26")
    yield "assignments: 3 (one under control with a nested one, one reported done)"

    audit = orders.create(
        admin,
        ["manager", "clerk"],
        "Подготовить офис к аудиту",
        now + timedelta(days=7),
        "<p>Акты, договоры, инвентаризация.</p>",
    )
    inventory = orders.create(
        manager,
        ["support"],
        "Обновить инвентарную ведомость",
        now + timedelta(days=4),
        parent_id=str(audit["_id"]),
    )
    orders.set_progress(support, str(inventory["_id"]), 40, "Склад проверен")
    question = orders.add_comment(
        support, str(audit["_id"]), "<p>Нужны ли акты сверки за прошлый год?</p>"
    )
    orders.add_comment(
        clerk, str(audit["_id"]), "<p>Да, за 2025 и 2026 годы.</p>", parent_id=str(question["_id"])
    )
    yield "orders: 2 (a sub-order at 40%, a comment thread)"
