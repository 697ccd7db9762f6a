"""Stored files: upload to GridFS with SHA-256 and sniffed type, versions, checkout locks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import IO, Any

from bson import ObjectId
from gridfs import GridOut
from gridfs.errors import NoFile

from accounts.access import AccessList, can_read, can_write, make_access
from engine.actor import Actor
from engine.models import utcnow

from . import repository
from .errors import (
    DocumentsInvalid,
    FileLocked,
    FileNotFound,
    FileNotLocked,
    FileTooLarge,
    NotAllowed,
)
from .models import FileVersion, StoredFile

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
CHUNK = 256 * 1024
MAX_NAME = 255

# Extensions of the zip-based office formats: the magic bytes only say "zip".
_ZIP_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls
    (b"{\\rtf", "application/rtf"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
]
_OLE_TYPES = {"doc": "application/msword", "xls": "application/vnd.ms-excel"}
_TEXT_TYPES = {
    "xml": "application/xml",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/plain",
    "htm": "text/plain",
    "svg": "text/plain",
}


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff_type(head: bytes, filename: str) -> str:
    """The MIME type from the first bytes; the client's claim is never trusted."""
    ext = _extension(filename)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _ZIP_TYPES.get(ext, "application/zip")
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return (
                _OLE_TYPES.get(ext, "application/octet-stream")
                if mime.endswith("ole-storage")
                else mime
            )
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed block is still text.
        if exc.start < len(head) - 3:
            return "application/octet-stream"
    # Markup is served as plain text so that a browser never renders an upload as a page.
    return _TEXT_TYPES.get(ext, "text/plain")


def clean_filename(filename: str) -> str:
    """A file name without directories or control characters, at most 255 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    if not name:
        raise DocumentsInvalid("the file needs a name", {"filename": ["is required"]})
    return name[-MAX_NAME:]


def _store_content(
    stream: IO[bytes], filename: str, max_bytes: int, head: bytes = b""
) -> tuple[ObjectId, int, str, str]:
    """Copy the stream into GridFS; return (gridfs id, size, sha256, sniffed type)."""
    digest = hashlib.sha256()
    size = 0
    upload = repository.bucket().open_upload_stream(filename)
    try:
        first = head or stream.read(CHUNK)
        sniffed = sniff_type(first[:4096], filename)
        chunk = first
        while chunk:
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(
                    f"the file is larger than {max_bytes} bytes",
                    {"file": [f"at most {max_bytes} bytes"]},
                )
            digest.update(chunk)
            upload.write(chunk)
            chunk = stream.read(CHUNK)
        upload.close()
    except BaseException:
        upload.abort()
        raise
    return upload._id, size, digest.hexdigest(), sniffed


def upload(
    actor: Actor,
    filename: str,
    stream: IO[bytes],
    max_bytes: int = DEFAULT_MAX_BYTES,
    access: AccessList | None = None,
    comment: str = "",
) -> StoredFile:
    """Store a new file (version 1); the uploader owns it."""
    name = clean_filename(filename)
    gridfs_id, size, sha, mime = _store_content(stream, name, max_bytes)
    now = utcnow()
    version = FileVersion(
        number=1,
        gridfs_id=gridfs_id,
        filename=name,
        content_type=mime,
        size=size,
        sha256=sha,
        author=actor.username,
        created_at=now,
        comment=comment,
    )
    stored = StoredFile(
        name=name,
        owner=actor.username,
        versions=[version],
        current_version=1,
        access=access or make_access(read=[actor.username], write=[actor.username]),
        created_at=now,
        updated_at=now,
    )
    stored.save(force_insert=True)
    return stored


def may_read(actor: Actor, stored: StoredFile) -> bool:
    """Whether the actor may read the file: by its own list or through a document."""
    return (
        can_read(actor, stored.access)
        or repository.readable_documents_linking(actor, stored.id) > 0
    )


def may_write(actor: Actor, stored: StoredFile) -> bool:
    """Whether the actor may add versions: by its own list or through a document."""
    return (
        can_write(actor, stored.access)
        or repository.writable_documents_linking(actor, stored.id) > 0
    )


def get_file(actor: Actor, file_id: Any) -> StoredFile:
    """A file the actor may read (FileNotFound otherwise, without telling why)."""
    oid = repository.object_id(file_id)
    stored = StoredFile.objects(id=oid).first() if oid else None
    if stored is None or not may_read(actor, stored):
        raise FileNotFound(f"no file {file_id}")
    return stored


def list_files(actor: Actor, limit: int = 50, offset: int = 0) -> list[StoredFile]:
    """Files the actor may read by their own access list, latest change first."""
    return list(repository.visible_files(actor).skip(offset).limit(limit))


def version_of(stored: StoredFile, number: int | None = None) -> FileVersion:
    """One version of a file (the current one when `number` is None)."""
    wanted = number or stored.current_version
    for version in stored.versions:
        if version.number == wanted:
            return version
    raise FileNotFound(f"file {stored.id} has no version {wanted}")


def open_version(
    actor: Actor, file_id: Any, number: int | None = None
) -> tuple[StoredFile, FileVersion, GridOut]:
    """A readable stream of one version's bytes, with the file and version records."""
    stored = get_file(actor, file_id)
    version = version_of(stored, number)
    try:
        return stored, version, repository.bucket().open_download_stream(version.gridfs_id)
    except NoFile as exc:
        raise FileNotFound(f"the content of file {file_id} v{version.number} is missing") from exc


def iter_content(stream: GridOut, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield a GridFS stream in chunks and close it."""
    try:
        while True:
            data = stream.read(chunk)
            if not data:
                return
            yield data
    finally:
        stream.close()


def read_bytes(version: FileVersion) -> bytes:
    """All bytes of one version (for signing and rendering; sizes are capped at upload)."""
    try:
        with repository.bucket().open_download_stream(version.gridfs_id) as stream:
            return stream.read()
    except NoFile as exc:
        raise FileNotFound(f"the content of version {version.number} is missing") from exc


def add_version(
    actor: Actor,
    file_id: Any,
    filename: str,
    stream: IO[bytes],
    max_bytes: int = DEFAULT_MAX_BYTES,
    comment: str = "",
    keep_lock: bool = False,
) -> StoredFile:
    """Store new content as the next version; refused while someone else holds the lock."""
    stored = get_file(actor, file_id)
    if not may_write(actor, stored):
        raise NotAllowed("you may read this file but not change it")
    if stored.locked_by and stored.locked_by != actor.username:
        raise FileLocked(
            f"the file is checked out by {stored.locked_by}", {"locked_by": stored.locked_by}
        )
    name = clean_filename(filename or stored.name)
    gridfs_id, size, sha, mime = _store_content(stream, name, max_bytes)
    now = utcnow()
    number = stored.current_version + 1
    version = FileVersion(
        number=number,
        gridfs_id=gridfs_id,
        filename=name,
        content_type=mime,
        size=size,
        sha256=sha,
        author=actor.username,
        created_at=now,
        comment=comment,
    )
    if not repository.push_file_version(
        stored.id, stored.current_version, version.to_mongo(), unlock=not keep_lock, now=now
    ):
        repository.bucket().delete(gridfs_id)
        raise FileLocked("someone else stored a version at the same time; reload and retry")
    stored.reload()
    if stored.locked_by and stored.locked_by != actor.username:
        # A checkout slipped in between our check and our write: the version stands (the
        # lock holder will see it), but say so.
        raise FileLocked(f"the file was checked out by {stored.locked_by} meanwhile")
    return stored


def checkout(actor: Actor, file_id: Any) -> StoredFile:
    """Lock the file for editing by the actor (repeating it is harmless)."""
    stored = get_file(actor, file_id)
    if not may_write(actor, stored):
        raise NotAllowed("you may read this file but not change it")
    if not repository.lock_file(stored.id, actor.username, utcnow()):
        stored.reload()
        raise FileLocked(
            f"the file is checked out by {stored.locked_by}", {"locked_by": stored.locked_by}
        )
    stored.reload()
    return stored


def checkin(actor: Actor, file_id: Any, force: bool = False) -> StoredFile:
    """Release the actor's lock; an admin may `force` release anyone's."""
    stored = get_file(actor, file_id)
    holder = None if (force and actor.is_admin) else actor.username
    if not repository.unlock_file(stored.id, holder):
        raise FileNotLocked("the file is not checked out by you", {"locked_by": stored.locked_by})
    stored.reload()
    return stored


def set_access(actor: Actor, file_id: Any, read: Iterable[str], write: Iterable[str]) -> StoredFile:
    """Replace a file's own access list (its owner always keeps both rights)."""
    stored = get_file(actor, file_id)
    if not can_write(actor, stored.access):
        raise NotAllowed("you may not change who sees this file")
    stored.access = make_access(read=[stored.owner, *read], write=[stored.owner, *write])
    stored.updated_at = utcnow()
    stored.save()
    return stored
