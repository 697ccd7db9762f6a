"""Office documents (incoming, outgoing, internal): requisites, files, links and access.

Access: a restricted document has its own access list; otherwise a document registered in
(or created for) a journal follows the journal's list, and a document without a journal is
readable by everyone and changed by its author. Cards and appeals copy their document's list.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from mongoengine.errors import SaveConditionError

from accounts.access import AccessList, can_write, make_access
from engine import autostart
from engine.actor import Actor
from engine.models import utcnow

from . import files, repository
from .errors import DocumentChanged, DocumentNotFound, DocumentsInvalid, NotAllowed
from .models import (
    DOCUMENT_KINDS,
    CitizenAppeal,
    FileLink,
    ObjectLink,
    OfficeDocument,
    OrganizationRef,
    RegistrationCard,
    RegistrationJournal,
)

_EPOCH = datetime(1970, 1, 1)  # the database's datetimes are naive UTC

EDITABLE = ("title", "summary", "correspondent", "addressee", "document_date", "pages")


def organization_ref(value: dict[str, Any] | None) -> OrganizationRef | None:
    """An {organization_id, name} reference, or None."""
    if not value:
        return None
    return OrganizationRef(
        organization_id=str(value.get("organization_id") or ""), name=str(value.get("name") or "")
    )


def effective_access(
    author: str,
    restricted: bool,
    journal: RegistrationJournal | None,
    read: Iterable[str] = (),
    write: Iterable[str] = (),
) -> AccessList:
    """The access list a document gets from its restriction, its journal or its author."""
    if restricted:
        return make_access(read=[author, *read], write=[author, *write])
    if journal is not None:
        return make_access(read=journal.access.read, write=journal.access.write)
    return make_access(read=["*"], write=[author])


def create_document(
    actor: Actor,
    kind: str,
    title: str,
    summary: str = "",
    correspondent: dict[str, Any] | None = None,
    addressee: dict[str, Any] | None = None,
    document_date: date | None = None,
    pages: int = 0,
    restriction: str = "",
    restricted: bool = False,
    read: Iterable[str] = (),
    write: Iterable[str] = (),
    journal: RegistrationJournal | None = None,
    links: Iterable[dict[str, Any]] = (),
    auto_start: bool = True,
) -> OfficeDocument:
    """Create a document's requisites (files are attached afterwards); procedures with an
    auto-start rule for created documents start (unless `auto_start` is False)."""
    errors: dict[str, list[str]] = {}
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = [f"one of {', '.join(DOCUMENT_KINDS)}"]
    if not (title or "").strip():
        errors["title"] = ["is required"]
    if pages < 0:
        errors["pages"] = ["must not be negative"]
    if errors:
        raise DocumentsInvalid("the document is invalid", errors)
    restricted = restricted or bool(restriction) or bool(list(read))
    now = utcnow()
    doc = OfficeDocument(
        kind=kind,
        title=title.strip(),
        title_lower=title.strip().lower(),
        summary=summary,
        author=actor.username,
        correspondent=organization_ref(correspondent),
        addressee=organization_ref(addressee),
        document_date=document_date,
        pages=pages,
        restriction=restriction,
        restricted=restricted,
        access=effective_access(actor.username, restricted, journal, read, write),
        journal_id=journal.id if journal else None,
        links=[_link(link) for link in links],
        created_at=now,
        updated_at=now,
    )
    doc.save(force_insert=True)
    if auto_start:
        autostart.fire("document", "created", subject_of(doc), event_values(doc), actor)
    return doc


def subject_of(doc: OfficeDocument) -> dict[str, str]:
    """The document as an instance's subject."""
    title = f"№ {doc.reg_number} {doc.title}" if doc.reg_number else doc.title
    return {"type": "document", "id": str(doc.id), "title": title[:200]}


def event_values(doc: OfficeDocument) -> dict[str, Any]:
    """What an auto-start condition sees of a document (and the instance gets as data)."""
    return {
        "document_id": str(doc.id),
        "kind": doc.kind,
        "title": doc.title,
        "journal_id": str(doc.journal_id) if doc.journal_id else None,
        "restricted": doc.restricted,
    }


def _link(value: dict[str, Any]) -> ObjectLink:
    if not value.get("type") or not value.get("id"):
        raise DocumentsInvalid("a link needs a type and an id", {"links": ["type and id"]})
    return ObjectLink(
        type=str(value["type"]), id=str(value["id"]), title=str(value.get("title") or "")
    )


def get_document(actor: Actor, document_id: Any) -> OfficeDocument:
    """A document the actor may read; DocumentNotFound whether absent or hidden."""
    doc = repository.visible_document(actor, document_id)
    if doc is None:
        raise DocumentNotFound(f"no document {document_id}")
    return doc


def writable_document(actor: Actor, document_id: Any) -> OfficeDocument:
    """A document the actor may change."""
    doc = get_document(actor, document_id)
    if not can_write(actor, doc.access):
        raise NotAllowed("you may read this document but not change it")
    return doc


def list_documents(
    actor: Actor,
    kind: str = "",
    journal_id: Any = None,
    q: str = "",
    link_type: str = "",
    link_id: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[OfficeDocument]:
    """Documents the actor may read (access applied in the query), newest first."""
    journal_oid = repository.object_id(journal_id) if journal_id else None
    if journal_id and journal_oid is None:
        return []
    found = repository.visible_documents(actor, kind or None, journal_oid, q, link_type, link_id)
    return list(found.skip(offset).limit(limit))


def version_of(updated_at: datetime) -> int:
    """The version token of a document or card: its `updated_at` in whole milliseconds
    (what the database stores), which every change of it moves."""
    return (updated_at.replace(tzinfo=None) - _EPOCH) // timedelta(milliseconds=1)


def at_version(version: int) -> datetime:
    """The `updated_at` a version token stands for."""
    return _EPOCH + timedelta(milliseconds=version)


def update_document(
    actor: Actor, document_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> OfficeDocument:
    """Change a document's requisites; with `expected_version` (see `version_of`), only if
    nobody changed it since (compare-and-set, else DocumentChanged)."""
    doc = writable_document(actor, document_id)
    current = version_of(doc.updated_at)
    if expected_version is not None and expected_version != current:
        raise DocumentChanged(
            "the document was changed by someone else", {"current_version": current}
        )
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DocumentsInvalid(
            "these fields cannot be changed", {k: ["cannot be changed"] for k in sorted(unknown)}
        )
    for key, value in changes.items():
        if key in ("correspondent", "addressee"):
            value = organization_ref(value)
        if key == "title":
            if not (value or "").strip():
                raise DocumentsInvalid("the title is required", {"title": ["is required"]})
            value = value.strip()
            doc.title_lower = value.lower()
        setattr(doc, key, value)
    now = utcnow()
    # The token must move even if the clock has not (two changes in one millisecond).
    doc.updated_at = now if version_of(now) > current else at_version(current + 1)
    condition = {"updated_at": at_version(current)} if expected_version is not None else None
    try:
        doc.save(save_condition=condition)
    except SaveConditionError as exc:
        stored = OfficeDocument.objects(id=doc.id).only("updated_at").first()
        raise DocumentChanged(
            "the document was changed by someone else",
            {"current_version": version_of(stored.updated_at) if stored else None},
        ) from exc
    return doc


def set_restriction(
    actor: Actor,
    document_id: Any,
    restricted: bool,
    restriction: str = "",
    read: Iterable[str] = (),
    write: Iterable[str] = (),
) -> OfficeDocument:
    """Restrict a document to its own access list, or let it follow its journal again."""
    doc = writable_document(actor, document_id)
    journal = RegistrationJournal.objects(id=doc.journal_id).first() if doc.journal_id else None
    doc.restricted = restricted
    doc.restriction = restriction if restricted else ""
    doc.access = effective_access(doc.author, restricted, journal, read, write)
    doc.updated_at = utcnow()
    doc.save()
    _copy_access(doc)
    return doc


def _copy_access(doc: OfficeDocument) -> None:
    access = doc.access.to_mongo().to_dict()
    RegistrationCard.objects(document_id=doc.id).update(set__access=access)
    CitizenAppeal.objects(document_id=doc.id).update(set__access=access)


def follow_journal(doc: OfficeDocument, journal: RegistrationJournal) -> None:
    """Put a document into a journal: unless restricted, it takes the journal's access."""
    doc.journal_id = journal.id
    if not doc.restricted:
        doc.access = effective_access(doc.author, False, journal)


def attach_file(
    actor: Actor, document_id: Any, file_id: Any, version: int | None = None, role: str = "content"
) -> OfficeDocument:
    """Attach a file version to a document (re-attaching pins the given or latest version)."""
    doc = writable_document(actor, document_id)
    stored = files.get_file(actor, file_id)
    pinned = files.version_of(stored, version).number
    kept = [link for link in doc.files if link.file_id != stored.id]
    doc.files = [*kept, FileLink(file_id=stored.id, version=pinned, role=role)]
    doc.updated_at = utcnow()
    doc.save()
    return doc


def detach_file(actor: Actor, document_id: Any, file_id: Any) -> OfficeDocument:
    """Remove a file from a document (the file and its versions stay)."""
    doc = writable_document(actor, document_id)
    oid = repository.object_id(file_id)
    doc.files = [link for link in doc.files if link.file_id != oid]
    doc.updated_at = utcnow()
    doc.save()
    return doc


def link_object(
    actor: Actor, document_id: Any, type_: str, id_: str, title: str = ""
) -> OfficeDocument:
    """Link any directory object (organization, contract, …) to a document."""
    doc = writable_document(actor, document_id)
    link = _link({"type": type_, "id": id_, "title": title})
    if not any(existing.type == link.type and existing.id == link.id for existing in doc.links):
        doc.links = [*doc.links, link]
        doc.updated_at = utcnow()
        doc.save()
    return doc
