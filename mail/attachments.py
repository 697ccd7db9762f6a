"""Attachments: files of the records office, or references to any directory object.

Attaching a file needs read access to it; from then on the item grants it: whoever may
see the message, assignment or order may download the attached version. A reference to
an object grants nothing: opening the object applies the object's own access rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from engine.actor import Actor

from . import config
from .config import FileContent
from .errors import AttachmentNotFound, MailInvalid
from .models import Attachment

MAX_ATTACHMENTS = 20
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def prepare(
    actor: Actor, items: Iterable[dict[str, Any]] | None, field: str = "attachments"
) -> list[Attachment]:
    """Attachments from input `{type, id, title}` items; `type: "file"` names a stored file."""
    given = list(items or [])
    if len(given) > MAX_ATTACHMENTS:
        raise MailInvalid("too many attachments", {field: [f"at most {MAX_ATTACHMENTS}"]})
    result = []
    for i, item in enumerate(given):
        kind_name = str(item.get("type") or "")
        ref = str(item.get("id") or "").strip()
        if not _TYPE.match(kind_name) or not ref or len(ref) > 200:
            raise MailInvalid(
                "invalid attachment", {f"{field}.{i}": ["needs a type (lower-case name) and an id"]}
            )
        if kind_name == "file":
            info = config.file_store().describe(actor, ref)
            result.append(
                Attachment(
                    id=_new_id(),
                    kind="file",
                    type="file",
                    ref_id=info.id,
                    title=str(item.get("title") or info.name)[:300],
                    version=info.version,
                    size=info.size,
                    content_type=info.content_type,
                )
            )
        else:
            result.append(
                Attachment(
                    id=_new_id(),
                    kind="object",
                    type=kind_name,
                    ref_id=ref,
                    title=str(item.get("title") or "")[:300],
                )
            )
    return result


def copies(attachments: Iterable[Attachment]) -> list[Attachment]:
    """The same attachments for a new item (a forward), with fresh local ids."""
    return [Attachment(**{**a.to_mongo().to_dict(), "id": _new_id()}) for a in attachments]


def find(attachments: Iterable[Any], attachment_id: str) -> Attachment:
    """The attachment with this local id, or AttachmentNotFound."""
    for attachment in attachments:
        if attachment.id == attachment_id:
            return attachment
    raise AttachmentNotFound(f"no attachment {attachment_id}")


def open_content(attachment: Attachment) -> FileContent:
    """The bytes of an attached file version (access was checked through its item)."""
    if attachment.kind != "file":
        raise AttachmentNotFound(f"attachment {attachment.id} is a reference, not a file")
    return config.file_store().open(attachment.ref_id, attachment.version or 1)


def as_dicts(attachments: Iterable[Any]) -> list[dict[str, Any]]:
    """Attachments as plain dicts for the API."""
    return [a.to_mongo().to_dict() if hasattr(a, "to_mongo") else dict(a) for a in attachments]
