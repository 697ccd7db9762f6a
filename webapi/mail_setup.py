"""Wiring of correspondence: its settings and the records office's files, from here.

`mail` may import neither `webapi` (layers) nor `documents` (independent siblings), so
the app and the worker hand it what it needs once at start-up.
"""

from __future__ import annotations

from documents import files
from engine.actor import SYSTEM, Actor
from mail import config
from mail import operators as mail_operators

from .config import Settings

__all__ = ["DocumentFiles", "configure", "mail_operators"]  # importing registers operators


class DocumentFiles:
    """The records office's stored files as correspondence attaches and opens them."""

    def describe(self, actor: Actor, file_id: str) -> config.FileInfo:
        """The current version of a file the actor may read (FileNotFound otherwise)."""
        stored = files.get_file(actor, file_id)
        version = files.version_of(stored)
        return config.FileInfo(
            id=str(stored.id),
            name=version.filename,
            version=version.number,
            size=version.size,
            content_type=version.content_type,
        )

    def open(self, file_id: str, version: int) -> config.FileContent:
        """The bytes of a version; the item it is attached to has granted access."""
        _, found, stream = files.open_version(SYSTEM, file_id, version)
        return config.FileContent(
            name=found.filename,
            content_type=found.content_type,
            size=found.size,
            chunks=files.iter_content(stream),
            etag=found.sha256,
        )


def configure(settings: Settings) -> None:
    """Give correspondence its SMTP server, site address and the file store."""
    config.configure(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        sender=settings.smtp_from,
        base_url=settings.base_url,
        files=DocumentFiles(),
    )
