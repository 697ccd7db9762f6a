"""Stored files: content in GridFS with SHA-256, sniffed types, versions and checkout locks."""

from __future__ import annotations

import hashlib

import pytest

from documents import files
from documents.errors import FileLocked, FileNotFound, FileNotLocked, FileTooLarge
from engine.actor import Actor

from .documents_helpers import ADMIN, CLERK, OUTSIDER, stream

PDF = b"%PDF-1.7\n" + b"x" * 1000


def test_upload_stores_bytes_hash_and_sniffed_type(db: None) -> None:
    stored = files.upload(CLERK, "../../etc/скан письма.pdf", stream(PDF))
    version = files.version_of(stored)
    assert stored.name == "скан письма.pdf"
    assert (version.number, version.size, version.author) == (1, len(PDF), "clerk")
    assert version.sha256 == hashlib.sha256(PDF).hexdigest()
    assert version.content_type == "application/pdf"
    _, _, content = files.open_version(CLERK, stored.id)
    assert b"".join(files.iter_content(content)) == PDF


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        (
            "a.docx",
            b"PK\x03\x04rest",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("a.zip", b"PK\x03\x04rest", "application/zip"),
        ("page.html", b"<html><script>alert(1)</script>", "text/plain"),
        ("fake.pdf", b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
        ("note.txt", "Привет".encode(), "text/plain"),
        ("img.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),
    ],
)
def test_the_type_comes_from_the_content_not_the_name(name: str, data: bytes, mime: str) -> None:
    assert files.sniff_type(data, name) == mime


def test_a_file_over_the_cap_is_refused_and_leaves_nothing(db: None) -> None:
    with pytest.raises(FileTooLarge):
        files.upload(CLERK, "big.bin", stream(b"0" * 2000), max_bytes=1000)
    assert files.list_files(CLERK) == []


def test_new_versions_keep_the_old_ones_with_author_and_time(db: None) -> None:
    alice = Actor("alice")
    stored = files.upload(CLERK, "draft.txt", stream(b"one"))
    files.set_access(CLERK, stored.id, read=[], write=["alice"])
    files.add_version(alice, stored.id, "draft.txt", stream(b"two"), comment="правка")
    stored = files.get_file(CLERK, stored.id)
    assert stored.current_version == 2
    assert [(v.number, v.author) for v in stored.versions] == [(1, "clerk"), (2, "alice")]
    _, v1, s1 = files.open_version(CLERK, stored.id, 1)
    _, v2, s2 = files.open_version(CLERK, stored.id)
    assert (s1.read(), s2.read()) == (b"one", b"two")
    s1.close()
    s2.close()
    assert v2.comment == "правка" and v1.sha256 != v2.sha256


def test_a_checked_out_file_takes_versions_only_from_its_holder(db: None) -> None:
    alice = Actor("alice")
    stored = files.upload(CLERK, "contract.txt", stream(b"v1"))
    files.set_access(CLERK, stored.id, read=[], write=["alice"])
    files.checkout(CLERK, stored.id)
    with pytest.raises(FileLocked):
        files.checkout(alice, stored.id)
    with pytest.raises(FileLocked):
        files.add_version(alice, stored.id, "contract.txt", stream(b"alice's"))
    with pytest.raises(FileNotLocked):
        files.checkin(alice, stored.id)
    after = files.add_version(CLERK, stored.id, "contract.txt", stream(b"v2"))
    assert after.current_version == 2 and after.locked_by is None  # storing checks it in
    files.checkout(alice, stored.id)
    assert files.checkin(ADMIN, stored.id, force=True).locked_by is None


def test_a_file_is_invisible_to_those_outside_its_access_list(db: None) -> None:
    stored = files.upload(CLERK, "private.txt", stream(b"secret"))
    with pytest.raises(FileNotFound):
        files.get_file(OUTSIDER, stored.id)
    assert files.list_files(OUTSIDER) == []
    with pytest.raises(FileNotFound):
        files.get_file(OUTSIDER, "not-an-id")
