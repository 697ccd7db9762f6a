"""Electronic signatures: sign a file version, verify it, detect tampering and new versions."""

from __future__ import annotations

import time

import pytest

from documents import files, office, signatures
from documents.errors import NoSigningKey
from documents.models import Signature, SigningKey

from .documents_helpers import CLERK, OUTSIDER, document, stream

SECRET = "test-secret"
CONTRACT = b"%PDF-1.7\n" + "Договор поставки № 7".encode() * 200


@pytest.mark.parametrize("algorithm", ["ec-p256", "rsa-2048"])
def test_sign_and_verify_a_file_version(db: None, algorithm: str) -> None:
    signatures.issue_key("clerk", SECRET, algorithm, full_name="Ксения Делопроизводитель")
    stored = files.upload(CLERK, "contract.pdf", stream(CONTRACT))
    started = time.perf_counter()
    signature = signatures.sign_file(CLERK, stored.id, SECRET)
    elapsed = time.perf_counter() - started
    result = signatures.verify(CLERK, signature.id)
    assert (result.status, result.version, result.covers_version) == ("valid", 1, True)
    assert signature.signer == "clerk" and signature.version == 1
    print(f"\n{algorithm}: signing a {len(CONTRACT)}-byte version took {elapsed * 1000:.1f} ms")


def test_a_tampered_signature_is_invalid(db: None) -> None:
    signatures.issue_key("clerk", SECRET)
    stored = files.upload(CLERK, "contract.pdf", stream(CONTRACT))
    signature = signatures.sign_file(CLERK, stored.id, SECRET)
    tampered = bytearray(signature.cms)
    tampered[-10] ^= 0x01  # inside the signature value at the end of the SignerInfo
    Signature.objects(id=signature.id).update_one(set__cms=bytes(tampered))
    assert signatures.verify(CLERK, signature.id).status == "invalid"
    Signature.objects(id=signature.id).update_one(set__cms=b"not a CMS at all")
    assert signatures.verify(CLERK, signature.id).status == "invalid"


def test_a_signature_by_another_certificate_is_invalid(db: None) -> None:
    signatures.issue_key("clerk", SECRET)
    stored = files.upload(CLERK, "contract.pdf", stream(CONTRACT))
    signature = signatures.sign_file(CLERK, stored.id, SECRET)
    forger = signatures.issue_key("mallory", SECRET)
    forged = signatures.sign_bytes(forger, CONTRACT, SECRET)
    Signature.objects(id=signature.id).update_one(set__cms=forged)
    result = signatures.verify(CLERK, signature.id)
    assert result.status == "invalid" and "certificate" in result.detail


def test_a_new_version_is_not_covered_by_old_signatures(db: None) -> None:
    signatures.issue_key("clerk", SECRET)
    doc = document()
    stored = files.upload(CLERK, "contract.pdf", stream(CONTRACT))
    office.attach_file(CLERK, doc.id, stored.id)
    signature = signatures.sign_file(CLERK, stored.id, SECRET, document_id=doc.id)
    files.add_version(CLERK, stored.id, "contract.pdf", stream(CONTRACT + b"changed"))
    against_current = signatures.verify(CLERK, signature.id)
    assert (against_current.status, against_current.version) == ("content_changed", 2)
    assert against_current.covers_version is False
    assert signatures.verify(CLERK, signature.id, version=1).status == "valid"
    listed = signatures.signatures_of_document(CLERK, doc.id)
    assert [(s["covers_current"], s["covers_attached"]) for s in listed] == [(False, True)]


def test_signing_needs_an_active_key_and_a_readable_file(db: None) -> None:
    stored = files.upload(CLERK, "contract.pdf", stream(CONTRACT))
    with pytest.raises(NoSigningKey):
        signatures.sign_file(CLERK, stored.id, SECRET)
    first = signatures.issue_key("clerk", SECRET)
    second = signatures.issue_key("clerk", SECRET)
    assert SigningKey.objects(id=first.id).first().status == "revoked"
    assert signatures.active_key("clerk").id == second.id
    signatures.issue_key("mallory", SECRET)
    with pytest.raises(files.FileNotFound):
        signatures.sign_file(OUTSIDER, stored.id, SECRET)
    assert signatures.revoke_keys("clerk") == 1
    with pytest.raises(NoSigningKey):
        signatures.sign_file(CLERK, stored.id, SECRET)


def test_the_private_key_is_stored_encrypted(db: None) -> None:
    key = signatures.issue_key("clerk", SECRET)
    assert b"ENCRYPTED PRIVATE KEY" in key.private_key
    with pytest.raises(ValueError):
        signatures.sign_bytes(key, b"data", "another secret")
