"""Texts of notifications in the users' languages (ru, en)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

LANGUAGES = ("ru", "en")

STATUS_NAMES = {
    "ru": {
        "issued": "выдано",
        "control": "на контроле",
        "in_progress": "в работе",
        "done": "исполнено",
        "accepted": "принято",
        "returned": "возвращено на доработку",
        "cancelled": "отменено",
    },
    "en": {
        "issued": "issued",
        "control": "under control",
        "in_progress": "in progress",
        "done": "done",
        "accepted": "accepted",
        "returned": "returned for rework",
        "cancelled": "cancelled",
    },
}

# template -> language -> (title, text); fields in braces come from `values`.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "message.received": {
        "ru": ("Сообщение от {by}: {title}", "{text}"),
        "en": ("Message from {by}: {title}", "{text}"),
    },
    "assignment.issued": {
        "ru": ("Новое задание: {title}", "{by} выдал(а) вам задание «{title}», срок {due}."),
        "en": ("New assignment: {title}", "{by} assigned “{title}” to you, due {due}."),
    },
    "assignment.status": {
        "ru": ("Задание «{title}»: {status}", "{by}: задание «{title}» — {status}. {note}"),
        "en": ("Assignment “{title}”: {status}", "{by}: assignment “{title}” is {status}. {note}"),
    },
    "assignment.control": {
        "ru": (
            "Задание на контроле: {title}",
            "{by} поставил(а) задание «{title}» на контроль, контролёр {controller}, "
            "контрольный срок {control_due}.",
        ),
        "en": (
            "Assignment under control: {title}",
            "{by} put “{title}” under control by {controller}, control date {control_due}.",
        ),
    },
    "assignment.reminder": {
        "ru": (
            "Напоминание: срок задания «{title}» {due}",
            "Срок исполнения задания «{title}» истекает {due}.",
        ),
        "en": ("Reminder: “{title}” is due {due}", "The assignment “{title}” is due {due}."),
    },
    "assignment.overdue": {
        "ru": (
            "Просрочено задание «{title}»",
            "Срок исполнения задания «{title}» ({due}) истёк; исполнитель {executor}.",
        ),
        "en": (
            "Overdue: “{title}”",
            "The assignment “{title}” was due {due}; the executor is {executor}.",
        ),
    },
    "assignment.control_overdue": {
        "ru": (
            "Истёк контрольный срок задания «{title}»",
            "Контрольный срок задания «{title}» ({control_due}) истёк; контролёр {controller}.",
        ),
        "en": (
            "Control date passed: “{title}”",
            "The control date of “{title}” ({control_due}) passed; the controller is {controller}.",
        ),
    },
    "order.issued": {
        "ru": ("Новое поручение: {title}", "{by} дал(а) поручение «{title}», срок {due}."),
        "en": ("New order: {title}", "{by} issued the order “{title}”, due {due}."),
    },
    "order.status": {
        "ru": ("Поручение «{title}»: {status}", "{by}: поручение «{title}» — {status}. {note}"),
        "en": ("Order “{title}”: {status}", "{by}: order “{title}” is {status}. {note}"),
    },
    "order.progress": {
        "ru": ("Поручение «{title}»: выполнено {progress}%", "{by}: {note}"),
        "en": ("Order “{title}”: {progress}% done", "{by}: {note}"),
    },
    "order.comment": {
        "ru": ("Комментарий к поручению «{title}»", "{by}: {text}"),
        "en": ("Comment on the order “{title}”", "{by}: {text}"),
    },
    "order.reminder": {
        "ru": (
            "Напоминание: срок поручения «{title}» {due}",
            "Срок исполнения поручения «{title}» истекает {due}.",
        ),
        "en": ("Reminder: the order “{title}” is due {due}", "The order “{title}” is due {due}."),
    },
    "order.overdue": {
        "ru": ("Просрочено поручение «{title}»", "Срок поручения «{title}» ({due}) истёк."),
        "en": ("Overdue order: “{title}”", "The order “{title}” was due {due}."),
    },
    "digest": {
        "ru": ("Сводка уведомлений: {count}", "{text}"),
        "en": ("Notification digest: {count}", "{text}"),
    },
}


class _Blank(dict[str, str]):
    """Missing template values render as empty text instead of failing a notification."""

    def __missing__(self, key: str) -> str:
        return ""


def _show(value: Any, language: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M UTC" if language == "ru" else "%Y-%m-%d %H:%M UTC")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return _show(datetime.fromisoformat(value), language)
        except ValueError:
            return value
    return "" if value is None else str(value)


def render(template: str, language: str, values: dict[str, Any]) -> tuple[str, str]:
    """(title, text) of a template in a language (Russian when it has no such language)."""
    texts = TEMPLATES.get(template)
    if texts is None:
        raise KeyError(f"no notification template {template!r}")
    language = language if language in texts else "ru"
    shown = _Blank({k: _show(v, language) for k, v in values.items()})
    if "status" in values:
        shown["status"] = STATUS_NAMES[language].get(str(values["status"]), str(values["status"]))
    title, text = texts[language]
    return title.format_map(shown).strip(), text.format_map(shown).strip()


def has(template: str) -> bool:
    """Whether a template of this name exists."""
    return template in TEMPLATES
