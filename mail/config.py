"""What correspondence needs from outside, set once by whoever runs it.

`mail` must not import `webapi` (layers point one way), yet the e-mail operator needs the
SMTP server and the site's address at run time, in the web process and in every worker.
So this module keeps a small configuration that `webapi.create_app` and the Celery worker
set with `configure(...)` from their settings; until then e-mail is off (no SMTP host).

File attachments live in the records office's file store (`documents/`), which `mail` may
not import either (sibling packages are independent); the app hands in a `FileStore`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol

from engine.actor import Actor

from .errors import FilesUnavailable


@dataclass(frozen=True)
class MailSettings:
    """SMTP server, sender address, the site's address for links, digest and reminders."""

    smtp_host: str = ""  # empty: e-mails are recorded as skipped, never sent
    smtp_port: int = 25
    sender: str = "crm@localhost"
    base_url: str = "http://127.0.0.1:8000"
    smtp_timeout: float = 10.0
    digest_hour_utc: int = 6  # when the daily digest goes out
    reminder_lead: timedelta = field(default=timedelta(days=1))  # before a deadline


@dataclass(frozen=True)
class FileInfo:
    """A stored file as an attachment records it."""

    id: str
    name: str
    version: int
    size: int
    content_type: str


@dataclass(frozen=True)
class FileContent:
    """The bytes of one file version, streamed."""

    name: str
    content_type: str
    size: int | None
    chunks: Iterable[bytes]
    etag: str = ""


class FileStore(Protocol):
    """The records office's files, as correspondence uses them."""

    def describe(self, actor: Actor, file_id: str) -> FileInfo:
        """The current version of a file the actor may read (NotFound otherwise)."""
        ...

    def open(self, file_id: str, version: int) -> FileContent:
        """The content of a version; the caller has checked access through its item."""
        ...


_settings = MailSettings()
_files: FileStore | None = None


def configure(
    settings: MailSettings | None = None, files: FileStore | None = None, **changes: object
) -> MailSettings:
    """Replace the settings (or change some fields) and the file store; return the settings."""
    global _settings, _files
    if settings is not None:
        _settings = settings
    if changes:
        _settings = replace(_settings, **changes)  # type: ignore[arg-type]
    if files is not None:
        _files = files
    return _settings


def settings() -> MailSettings:
    """The current settings."""
    return _settings


def file_store() -> FileStore:
    """The file store, or FilesUnavailable when none was configured."""
    if _files is None:
        raise FilesUnavailable("file attachments are not available: no file store configured")
    return _files
