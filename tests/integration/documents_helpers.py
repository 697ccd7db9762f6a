"""Shared setup of the records-office tests: a clerk, journals, documents."""

from __future__ import annotations

import io
from typing import Any

from documents import journals, office
from documents.models import OfficeDocument, RegistrationJournal
from engine.actor import Actor

CLERK = Actor("clerk", frozenset({"office"}))
OUTSIDER = Actor("mallory", frozenset({"sales"}))
ADMIN = Actor("root", is_admin=True)


def journal(
    code: str = "ВХ",
    kind: str = "incoming",
    template: str = "{journal}-{seq:04}/{yy}",
    read: tuple[str, ...] = ("*",),
    write: tuple[str, ...] = ("group:office",),
    **extra: Any,
) -> RegistrationJournal:
    """A journal the clerk writes in."""
    return journals.create_journal(
        CLERK, code, f"Журнал {code}", kind, template, read=read, write=write, **extra
    )


def document(
    actor: Actor = CLERK, kind: str = "incoming", title: str = "Письмо", **extra: Any
) -> OfficeDocument:
    """A document with the given requisites."""
    return office.create_document(actor, kind, title, **extra)


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
