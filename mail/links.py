"""Where each item lives in the site: the links of mailbox items and notifications."""

from __future__ import annotations

API = "/api/v1"


def message(message_id: object) -> str:
    return f"{API}/mail/messages/{message_id}"


def assignment(assignment_id: object) -> str:
    return f"{API}/assignments/{assignment_id}"


def order(order_id: object) -> str:
    return f"{API}/orders/{order_id}"


def task(task_guid: object) -> str:
    return f"{API}/tasks/{task_guid}"
