"""Electronic signatures: per-user keys and self-issued certificates, detached CMS signatures.

A signature is a detached CMS (PKCS#7) SignedData over the exact bytes of one file version,
made with `cryptography`. `cryptography` cannot verify CMS, so verification parses it with
`asn1crypto`: the signer's certificate must be the one this service issued to the signer;
the signature over the DER of the signed attributes must check with its public key; and the
signed message digest must equal the digest of the bytes checked. A good signature whose
digest differs is reported as "content_changed" (e.g. against a newer version of the file).
Private keys are stored encrypted (PKCS#8) with a passphrase derived from the app's secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from engine.actor import Actor
from engine.models import utcnow

from . import files, office, repository
from .errors import DocumentsInvalid, FileNotFound, NoSigningKey, SignatureNotFound
from .models import Signature, SigningKey, StoredFile

ALGORITHMS = ("ec-p256", "rsa-2048")
DEFAULT_VALID_DAYS = 2 * 365
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
VALID, INVALID, CONTENT_CHANGED = "valid", "invalid", "content_changed"


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one signature against one file version."""

    status: str  # valid | invalid | content_changed
    detail: str
    signature: Signature
    version: int  # the version whose bytes were checked
    covers_version: bool  # whether the signature was made over that version


# ------------------------------------------------------------------------------ keys


def _passphrase(secret_key: str, username: str, serial: str) -> bytes:
    if not secret_key:
        raise ValueError("signing keys need the application's secret key")
    message = f"crm-signing-key:{username}:{serial}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest().encode()


def _new_private_key(algorithm: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def issue_key(
    username: str,
    secret_key: str,
    algorithm: str = "ec-p256",
    full_name: str = "",
    valid_days: int = DEFAULT_VALID_DAYS,
) -> SigningKey:
    """Issue a key pair and a self-issued certificate; the user's previous key is revoked."""
    if algorithm not in ALGORITHMS:
        raise DocumentsInvalid("unknown key algorithm", {"algorithm": list(ALGORITHMS)})
    if not 1 <= valid_days <= 10 * 365:
        raise DocumentsInvalid(
            "a certificate is valid 1 day to 10 years", {"valid_days": ["1 to 3650"]}
        )
    key = _new_private_key(algorithm)
    serial = x509.random_serial_number()
    now = datetime.now(UTC).replace(microsecond=0)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, (full_name or username)[:64]),
            x509.NameAttribute(NameOID.USER_ID, username),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BPM CRM records office"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase(secret_key, username, str(serial))),
    )
    now_naive = utcnow()
    SigningKey.objects(username=username, status="active").update(
        set__status="revoked", set__revoked_at=now_naive
    )
    record = SigningKey(
        username=username,
        algorithm=algorithm,
        private_key=encrypted,
        certificate=der,
        fingerprint=hashlib.sha256(der).hexdigest(),
        serial=str(serial),
        not_before=certificate.not_valid_before_utc.replace(tzinfo=None),
        not_after=certificate.not_valid_after_utc.replace(tzinfo=None),
        created_at=now_naive,
    )
    record.save(force_insert=True)
    return record


def active_key(username: str) -> SigningKey:
    """The user's active, unexpired signing key, or NoSigningKey."""
    key = SigningKey.objects(username=username, status="active").order_by("-created_at").first()
    if key is None or key.not_after <= utcnow():
        raise NoSigningKey(f"{username} has no valid signing key; issue one first")
    return key


def list_keys(username: str | None = None) -> list[SigningKey]:
    """Signing keys (of one user, or all), newest first."""
    found = SigningKey.objects(username=username) if username else SigningKey.objects()
    return list(found.order_by("-created_at"))


def revoke_keys(username: str) -> int:
    """Revoke the user's active keys; signatures made before stay verifiable."""
    return int(
        SigningKey.objects(username=username, status="active").update(
            set__status="revoked", set__revoked_at=utcnow()
        )
    )


def certificate_pem(key: SigningKey) -> bytes:
    """The key's certificate in PEM."""
    cert = x509.load_der_x509_certificate(key.certificate)
    return cert.public_bytes(serialization.Encoding.PEM)


# ------------------------------------------------------------------------------ signing


def sign_bytes(key: SigningKey, content: bytes, secret_key: str) -> bytes:
    """A detached CMS SignedData (DER) over `content` with the key's certificate."""
    private = serialization.load_pem_private_key(
        key.private_key, password=_passphrase(secret_key, key.username, key.serial)
    )
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise DocumentsInvalid("the stored key is of an unsupported type")
    certificate = x509.load_der_x509_certificate(key.certificate)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, private, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )


def sign_file(
    actor: Actor, file_id: Any, secret_key: str, version: int | None = None, document_id: Any = None
) -> Signature:
    """Sign one version of a file the actor may read with the actor's active key."""
    stored = files.get_file(actor, file_id)
    target = files.version_of(stored, version)
    doc_oid = None
    if document_id is not None:
        doc = office.get_document(actor, document_id)
        if not any(link.file_id == stored.id for link in doc.files):
            raise DocumentsInvalid(
                "the file is not attached to this document", {"file_id": ["not attached"]}
            )
        doc_oid = doc.id
    key = active_key(actor.username)
    content = files.read_bytes(target)
    digest = hashlib.sha256(content).hexdigest()
    if digest != target.sha256:
        raise DocumentsInvalid("the stored bytes do not match the version's hash; not signed")
    signature = Signature(
        file_id=stored.id,
        version=target.number,
        sha256=digest,
        signer=actor.username,
        key_id=key.id,
        certificate_fingerprint=key.fingerprint,
        cms=sign_bytes(key, content, secret_key),
        signed_at=utcnow(),
        document_id=doc_oid,
    )
    signature.save(force_insert=True)
    return signature


def existing_signature(file_id: Any, version: int, signer: str) -> Signature | None:
    """The signer's earlier signature over this file version, if any."""
    oid = repository.object_id(file_id)
    if oid is None:
        return None
    return Signature.objects(file_id=oid, version=version, signer=signer).first()


# ------------------------------------------------------------------------------ verifying


def verify_cms(cms_der: bytes, content: bytes, trusted_certificate: bytes) -> tuple[str, str]:
    """Check a detached CMS over `content` made with `trusted_certificate` → (status, why)."""
    try:
        info = asn1_cms.ContentInfo.load(cms_der)
        if info["content_type"].native != "signed_data":
            return INVALID, "not a CMS SignedData"
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            return INVALID, "not a detached signature"
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            return INVALID, "expected exactly one signer"
        signer = signers[0]
        certificate = _signer_certificate(signed, signer)
        if certificate is None:
            return INVALID, "the signer's certificate is not in the signature"
        if certificate.dump() != trusted_certificate:
            return INVALID, "the certificate is not the one issued to the signer"
        digest_name = signer["digest_algorithm"]["algorithm"].native
        if digest_name not in _HASHES:
            return INVALID, f"unsupported digest {digest_name}"
        attrs = signer["signed_attrs"]
        if not attrs:
            return INVALID, "no signed attributes"
        values = {a["type"].native: a["values"][0].native for a in attrs}
        if values.get("content_type") != "data" or "message_digest" not in values:
            return INVALID, "signed attributes lack the content type or the digest"
        # The signature covers the attributes DER-encoded as a SET OF, not as the [0]
        # IMPLICIT tag they carry inside SignerInfo (RFC 5652, 5.4).
        signed_bytes = b"\x31" + attrs.dump()[1:]
        problem = _check_signature(certificate.dump(), signer, signed_bytes, _HASHES[digest_name]())
        if problem:
            return INVALID, problem
    except (ValueError, TypeError, KeyError) as exc:
        return INVALID, f"the signature does not parse: {exc}"
    actual = hashlib.new(digest_name, content).digest()
    if not hmac.compare_digest(actual, values["message_digest"]):
        return CONTENT_CHANGED, "the signature is intact but the content differs from the signed"
    return VALID, "the signature is valid for this content"


def _signer_certificate(signed: Any, signer: Any) -> Any:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        return None
    issuer, serial = sid.chosen["issuer"], sid.chosen["serial_number"].native
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if cert.serial_number == serial and cert.issuer == issuer:
            return cert
    return None


def _check_signature(
    certificate_der: bytes, signer: Any, data: bytes, hash_algorithm: hashes.HashAlgorithm
) -> str:
    public = x509.load_der_x509_certificate(certificate_der).public_key()
    algorithm = signer["signature_algorithm"].signature_algo
    raw = signer["signature"].native
    try:
        if isinstance(public, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
            public.verify(raw, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(public, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
            public.verify(raw, data, ec.ECDSA(hash_algorithm))
        else:
            return f"unsupported signature algorithm {algorithm}"
    except InvalidSignature:
        return "the signature does not match the signed attributes"
    return ""


def get_signature(actor: Actor, signature_id: Any) -> tuple[Signature, StoredFile]:
    """A signature over a file the actor may read, with the file."""
    oid = repository.object_id(signature_id)
    signature = Signature.objects(id=oid).first() if oid else None
    if signature is None:
        raise SignatureNotFound(f"no signature {signature_id}")
    try:
        stored = files.get_file(actor, signature.file_id)
    except FileNotFound as exc:
        raise SignatureNotFound(f"no signature {signature_id}") from exc
    return signature, stored


def verify(actor: Actor, signature_id: Any, version: int | None = None) -> Verification:
    """Check a signature against a version of its file (the current one by default)."""
    signature, stored = get_signature(actor, signature_id)
    target = files.version_of(stored, version)
    key = SigningKey.objects(id=signature.key_id).first()
    if key is None or key.username != signature.signer:
        return Verification(
            INVALID,
            "the signer's key is unknown",
            signature,
            target.number,
            signature.version == target.number,
        )
    status, detail = verify_cms(bytes(signature.cms), files.read_bytes(target), key.certificate)
    return Verification(
        status, detail, signature, target.number, signature.version == target.number
    )


def signatures_of_file(actor: Actor, file_id: Any) -> tuple[StoredFile, list[Signature]]:
    """A readable file and its signatures, oldest first."""
    stored = files.get_file(actor, file_id)
    return stored, list(Signature.objects(file_id=stored.id).order_by("signed_at"))


def signatures_of_document(actor: Actor, document_id: Any) -> list[dict[str, Any]]:
    """Signatures over the document's files: which version each covers, and the current one."""
    doc = office.get_document(actor, document_id)
    result = []
    for link in doc.files:
        stored = StoredFile.objects(id=link.file_id).first()
        if stored is None:
            continue
        for signature in Signature.objects(file_id=stored.id).order_by("signed_at"):
            result.append(
                {
                    "signature": signature,
                    "file": stored,
                    "attached_version": link.version,
                    "current_version": stored.current_version,
                    "covers_current": signature.version == stored.current_version,
                    "covers_attached": signature.version == link.version,
                }
            )
    return result


def files_of_document(actor: Actor, document_id: Any) -> list[dict[str, Any]]:
    """The document's attached files, each with its signatures (signed or not)."""
    doc = office.get_document(actor, document_id)
    result = []
    for link in doc.files:
        stored = StoredFile.objects(id=link.file_id).first()
        if stored is None:
            continue
        result.append(
            {
                "file": stored,
                "attached_version": link.version,
                "current_version": stored.current_version,
                "signatures": list(Signature.objects(file_id=stored.id).order_by("signed_at")),
            }
        )
    return result
