"""Languages of the UI (Russian and English) and locale-aware formatting of values."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _

from engine.models import utcnow

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
DEFAULT_TIMEZONE = "Europe/Moscow"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    """The session's choice, else the user's own language, else the browser's."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    user = g.get("ui_user")
    if user is not None and user.locale in LANGUAGES:
        return str(user.locale)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with the UI's catalogues and the formatting filters."""
    settings = app.config.get("SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    Babel(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=str(extra.get("ui_timezone", DEFAULT_TIMEZONE)),
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.filters.update(when=when, day=day, number=number, money=money)
    app.jinja_env.globals.update(language=language, label_of=label_of, now_utc=utcnow)


def language() -> str:
    """The language of this request: 'ru' or 'en'."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def when(value: datetime | None) -> str:
    """A stored (naive UTC) moment in the user's language and time zone."""
    if value is None:
        return ""
    return format_datetime(value, "short")


def day(value: date | datetime | str | None) -> str:
    """A date in the user's language."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value), "medium")
        except ValueError:
            return value
    return format_date(value, "medium")


def number(value: Any) -> str:
    """A number with the locale's separators."""
    if value is None:
        return ""
    return format_decimal(value)


def money(value: Decimal | int | float | None, currency: str = "RUB") -> str:
    """An amount with two decimals and its currency code."""
    if value is None:
        return ""
    return f"{format_decimal(Decimal(value), format='#,##0.00')} {currency}"


def label_of(item: dict[str, Any] | None, fallback: str = "") -> str:
    """A form field's or option's label in the request's language."""
    if not item:
        return fallback
    labels = item.get("labels") or {}
    return str(labels.get(language()) or item.get("label") or fallback)


# The engine's form messages (engine.forms), translated; the numbers are kept.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^is required$"), "is_required"),
    (re.compile(r"^unknown field$"), "unknown_field"),
    (re.compile(r"^must be a string$"), "string"),
    (re.compile(r"^must be at most (\S+) characters$"), "max_chars"),
    (re.compile(r"^must be an e-mail address$"), "email"),
    (re.compile(r"^has the wrong format$"), "format"),
    (re.compile(r"^must be an integer$"), "integer"),
    (re.compile(r"^must be a number$"), "number"),
    (re.compile(r"^must be true or false$"), "boolean"),
    (re.compile(r"^must be a date \(YYYY-MM-DD\)$"), "date"),
    (re.compile(r"^must be a date and time \(ISO 8601\)$"), "datetime"),
    (re.compile(r"^must be one of: (.*)$"), "one_of"),
    (re.compile(r"^must be at least (\S+)$"), "at_least"),
    (re.compile(r"^must be at most (\S+)$"), "at_most"),
    (re.compile(r"^must be valid JSON$"), "json"),
]


def form_message(message: str) -> str:
    """A validation message of the engine in the request's language."""
    for pattern, kind in _MESSAGES:
        found = pattern.match(message)
        if not found:
            continue
        arg = found.group(1) if found.groups() else ""
        texts = {
            "is_required": _("is required"),
            "unknown_field": _("unknown field"),
            "string": _("must be text"),
            "max_chars": _("must be at most %(n)s characters", n=arg),
            "email": _("must be an e-mail address"),
            "format": _("has the wrong format"),
            "integer": _("must be a whole number"),
            "number": _("must be a number"),
            "boolean": _("must be yes or no"),
            "date": _("must be a date"),
            "datetime": _("must be a date and time"),
            "one_of": _("must be one of: %(values)s", values=arg),
            "at_least": _("must be at least %(n)s", n=arg),
            "at_most": _("must be at most %(n)s", n=arg),
            "json": _("must be valid JSON"),
        }
        return texts[kind]
    return message
