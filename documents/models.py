"""Stored records of the records office: files, documents, journals, cards, appeals, cases."""

from __future__ import annotations

from mongoengine import (
    BinaryField,
    BooleanField,
    DateField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from accounts.access import AccessList
from engine.models import utcnow

DOCUMENT_KINDS = ("incoming", "outgoing", "internal")
JOURNAL_KINDS = (*DOCUMENT_KINDS, "appeal")
CARD_STATUSES = ("registered", "in_work", "executed", "filed")
RESERVATION_STATUSES = ("reserved", "used", "cancelled")

# ------------------------------------------------------------------------------ files


class FileVersion(EmbeddedDocument):
    """One immutable version of a stored file; its bytes live in GridFS."""

    number = IntField(required=True, min_value=1)
    gridfs_id = ObjectIdField(required=True)
    filename = StringField(required=True)
    content_type = StringField(required=True)
    size = IntField(required=True, min_value=0)
    sha256 = StringField(required=True)
    author = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    comment = StringField(default="")


class StoredFile(Document):
    """A file with its versions (справочник «Файлы»); new versions never overwrite old ones."""

    name = StringField(required=True)
    owner = StringField(required=True)
    versions = ListField(EmbeddedDocumentField(FileVersion))
    current_version = IntField(required=True, default=1)
    locked_by = StringField(null=True)  # checkout lock: who edits it now
    locked_at = DateTimeField(null=True)
    access = EmbeddedDocumentField(AccessList, required=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "stored_files",
        "indexes": [
            {"fields": ["access.read", "-updated_at"]},
            {"fields": ["owner", "-updated_at"]},
            {"fields": ["versions.sha256"]},
        ],
    }


# ------------------------------------------------------------------------------ documents


class OrganizationRef(EmbeddedDocument):
    """A counterparty named by the registry's id (and its name as it was)."""

    organization_id = StringField(default="")
    name = StringField(default="")


class FileLink(EmbeddedDocument):
    """A file attached to a document, pinned to the version that was attached."""

    file_id = ObjectIdField(required=True)
    version = IntField(required=True, min_value=1)
    role = StringField(default="content")  # content | attachment | scan


class ObjectLink(EmbeddedDocument):
    """A link to any directory object: {type, id, title}."""

    type = StringField(required=True)
    id = StringField(required=True)
    title = StringField(default="")


class OfficeDocument(Document):
    """The requisites of an incoming, outgoing or internal document; content is in files."""

    kind = StringField(required=True, choices=DOCUMENT_KINDS)
    title = StringField(required=True, max_length=500)
    title_lower = StringField(default="")  # search without $text: normalized prefix field
    summary = StringField(default="", max_length=4000)
    author = StringField(required=True)
    correspondent = EmbeddedDocumentField(OrganizationRef, null=True)
    addressee = EmbeddedDocumentField(OrganizationRef, null=True)
    document_date = DateField(null=True)
    pages = IntField(min_value=0, default=0)
    restriction = StringField(default="")  # the access restriction mark, e.g. "ДСП"
    restricted = BooleanField(default=False)  # own access list instead of the journal's
    access = EmbeddedDocumentField(AccessList, required=True)  # the effective list
    journal_id = ObjectIdField(null=True)
    card_id = ObjectIdField(null=True)
    reg_number = StringField(default="")
    files = ListField(EmbeddedDocumentField(FileLink))
    links = ListField(EmbeddedDocumentField(ObjectLink))
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "office_documents",
        "indexes": [
            {"fields": ["access.read", "-created_at"]},
            {"fields": ["journal_id", "restricted"]},
            {"fields": ["kind", "-created_at"]},
            {"fields": ["files.file_id"]},
            {"fields": ["links.type", "links.id"]},
            {"fields": ["title_lower"]},
        ],
    }


# ------------------------------------------------------------------------------ signatures


class SigningKey(Document):
    """A user's key pair and self-issued certificate; the private key is stored encrypted."""

    username = StringField(required=True)
    algorithm = StringField(required=True, choices=("ec-p256", "rsa-2048"))
    private_key = BinaryField(required=True)  # PKCS#8 PEM, encrypted with a derived key
    certificate = BinaryField(required=True)  # X.509 DER
    fingerprint = StringField(required=True)  # sha256 of the certificate DER, hex
    serial = StringField(required=True)
    not_before = DateTimeField(required=True)
    not_after = DateTimeField(required=True)
    status = StringField(required=True, default="active", choices=("active", "revoked"))
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)

    meta = {
        "collection": "signing_keys",
        "indexes": [
            {"fields": ["username", "status"]},
            {"fields": ["fingerprint"], "unique": True},
        ],
    }


class Signature(Document):
    """A detached CMS signature by one user over the exact bytes of one file version."""

    file_id = ObjectIdField(required=True)
    version = IntField(required=True, min_value=1)
    sha256 = StringField(required=True)  # of the signed bytes
    signer = StringField(required=True)
    key_id = ObjectIdField(required=True)
    certificate_fingerprint = StringField(required=True)
    cms = BinaryField(required=True)  # DER of the CMS ContentInfo (SignedData, detached)
    signed_at = DateTimeField(default=utcnow)
    document_id = ObjectIdField(null=True)

    meta = {
        "collection": "signatures",
        "indexes": [
            {"fields": ["file_id", "version"]},
            {"fields": ["document_id"]},
            {"fields": ["signer", "-signed_at"]},
        ],
    }


# ------------------------------------------------------------------------------ journals


class RegistrationJournal(Document):
    """One journal per document type, with its number template and access list."""

    code = StringField(required=True, max_length=32)  # the journal index in numbers
    name = StringField(required=True, max_length=200)
    kind = StringField(required=True, choices=JOURNAL_KINDS)
    number_template = StringField(required=True, max_length=200)
    department = StringField(default="", max_length=32)  # the department index
    case_index = StringField(default="", max_length=32)  # where its documents are filed
    access = EmbeddedDocumentField(AccessList, required=True)
    template_ids = ListField(ObjectIdField())  # DOCX templates offered for its documents
    active = BooleanField(default=True)
    created_by = StringField(default="")
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "registration_journals",
        "indexes": [{"fields": ["code"], "unique": True}, {"fields": ["access.read"]}],
    }


class NumberCounter(Document):
    """The last sequence number given in a journal and year; `_id` is "journal:year"."""

    id = StringField(primary_key=True)
    journal_id = ObjectIdField(required=True)
    year = IntField(required=True)
    seq = IntField(required=True, default=0)

    meta = {"collection": "number_counters"}


class NumberReservation(Document):
    """Every number ever taken from a counter, with what became of it: the numbering log."""

    journal_id = ObjectIdField(required=True)
    year = IntField(required=True)
    seq = IntField(required=True, min_value=1)
    number = StringField(required=True)
    status = StringField(required=True, choices=RESERVATION_STATUSES)
    reserved_by = StringField(required=True)
    reserved_at = DateTimeField(default=utcnow)
    card_id = ObjectIdField(null=True)
    used_at = DateTimeField(null=True)
    cancelled_by = StringField(null=True)
    cancelled_at = DateTimeField(null=True)
    reason = StringField(default="")

    meta = {
        "collection": "number_reservations",
        "indexes": [
            {"fields": ["journal_id", "year", "seq"], "unique": True},
            {"fields": ["journal_id", "status"]},
        ],
    }


# ------------------------------------------------------------------------------ cards


class RegistrationCard(Document):
    """РКК: the record of a registered document and the control of its execution."""

    kind = StringField(required=True, default="document", choices=("document", "appeal"))
    journal_id = ObjectIdField(required=True)
    year = IntField(required=True)
    seq = IntField(required=True)
    number = StringField(required=True)
    registered_at = DateTimeField(required=True)
    registered_on = DateField(required=True)
    registered_by = StringField(required=True)
    document_id = ObjectIdField(required=True)
    title = StringField(default="")
    correspondent = EmbeddedDocumentField(OrganizationRef, null=True)
    correspondent_number = StringField(default="")
    correspondent_date = DateField(null=True)
    summary = StringField(default="", max_length=4000)
    resolution = StringField(default="", max_length=4000)
    executors = ListField(StringField())
    deadline = DateField(null=True)
    under_control = BooleanField(default=False)
    controller = StringField(null=True)
    status = StringField(required=True, default="registered", choices=CARD_STATUSES)
    executed_at = DateTimeField(null=True)
    linked_document_ids = ListField(ObjectIdField())
    case_file_id = ObjectIdField(null=True)
    case_index = StringField(default="")
    process_instance_id = StringField(null=True)  # document_registration, when deployed
    assignments = ListField(DictField())  # {executor, instance_id, at, by}
    access = EmbeddedDocumentField(AccessList, required=True)  # the document's
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "registration_cards",
        "indexes": [
            {"fields": ["journal_id", "year", "seq"], "unique": True},
            {"fields": ["document_id"], "unique": True},
            {"fields": ["access.read", "-registered_at"]},
            {"fields": ["status", "deadline"]},
            {"fields": ["executors", "status"]},
            {"fields": ["number"]},
        ],
    }


class AcquaintanceLog(Document):
    """Журнал ознакомления: who read a (paper) document, when."""

    card_id = ObjectIdField(required=True)
    document_id = ObjectIdField(required=True)
    person = StringField(required=True)
    acquainted_at = DateTimeField(required=True)
    recorded_by = StringField(required=True)
    note = StringField(default="")

    meta = {"collection": "acquaintance_log", "indexes": [{"fields": ["card_id", "acquainted_at"]}]}


class TransferLog(Document):
    """Журнал передачи: who the paper was handed to and why, and the filing into a case."""

    card_id = ObjectIdField(required=True)
    document_id = ObjectIdField(required=True)
    # "case": filed into a case file; "handover": the paper given to a person (note = why)
    kind = StringField(default="case", choices=("case", "handover"))
    case_file_id = ObjectIdField(null=True)
    case_index = StringField(default="")
    to_person = StringField(default="")
    transferred_at = DateTimeField(required=True)
    transferred_by = StringField(required=True)
    note = StringField(default="")

    meta = {
        "collection": "transfer_log",
        "indexes": [{"fields": ["card_id"]}, {"fields": ["case_file_id", "transferred_at"]}],
    }


# ------------------------------------------------------------------------------ appeals


class AppealAuthor(EmbeddedDocument):
    """A citizen who signed an appeal."""

    name = StringField(required=True, max_length=300)
    postal_address = StringField(default="", max_length=500)
    email = StringField(default="", max_length=254)
    key = StringField(default="")  # normalized name + address, for repeated-appeal detection


class AppealNotice(EmbeddedDocument):
    """A notice sent to the authors (registration, redirect, extension, answer)."""

    kind = StringField(required=True)
    sent_at = DateTimeField(required=True)
    sent_by = StringField(required=True)
    to = ListField(StringField())
    text = StringField(default="")


class CitizenAppeal(Document):
    """An appeal by citizens (59-FZ) registered in an appeals journal."""

    card_id = ObjectIdField(required=True)
    document_id = ObjectIdField(required=True)
    journal_id = ObjectIdField(required=True)
    number = StringField(required=True)
    received_on = DateField(required=True)
    registered_on = DateField(required=True)
    authors = ListField(EmbeddedDocumentField(AppealAuthor))
    author_keys = ListField(StringField())
    form = StringField(required=True, choices=("anonymous", "individual", "collective"))
    topic = StringField(required=True, max_length=64)  # a code of the topic classifier
    channel = StringField(required=True, choices=("post", "email", "web", "personal", "phone"))
    summary = StringField(default="", max_length=4000)
    status = StringField(
        required=True, default="registered", choices=("registered", "redirected", "answered")
    )
    answer_required = BooleanField(default=True)
    redirect_due = DateField(required=True)  # 7 days to send it where it belongs
    deadline = DateField(required=True)  # the answer deadline (30 days, or extended)
    original_deadline = DateField(required=True)
    extended_days = IntField(default=0)
    extension_reason = StringField(default="")
    redirected_to = StringField(default="")
    redirected_on = DateField(null=True)
    answered_on = DateField(null=True)
    repeated_of = ListField(ObjectIdField())  # earlier appeals of the same authors and topic
    notices = ListField(EmbeddedDocumentField(AppealNotice))
    access = EmbeddedDocumentField(AccessList, required=True)
    created_at = DateTimeField(default=utcnow)
    version = IntField(default=1)  # +1 on every change, compare-and-set (appeals._save)

    meta = {
        "collection": "citizen_appeals",
        "indexes": [
            {"fields": ["card_id"], "unique": True},
            {"fields": ["author_keys", "topic"]},
            {"fields": ["access.read", "-registered_on"]},
            {"fields": ["status", "deadline"]},
        ],
    }


# ------------------------------------------------------------------------------ nomenclature


class CaseNomenclature(Document):
    """Номенклатура дел: the list of case files of one year, in versions."""

    year = IntField(required=True)
    version = IntField(required=True, default=1)
    title = StringField(default="")
    status = StringField(required=True, default="draft", choices=("draft", "approved"))
    approved_by = StringField(null=True)
    approved_at = DateTimeField(null=True)
    created_by = StringField(default="")
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "case_nomenclatures",
        "indexes": [{"fields": ["year", "-version"], "unique": True}],
    }


class CaseFile(Document):
    """Дело: one case file of a nomenclature; documents are filed into it by its index."""

    nomenclature_id = ObjectIdField(required=True)
    year = IntField(required=True)
    index = StringField(required=True, max_length=32)
    title = StringField(required=True, max_length=500)
    retention_years = IntField(null=True, min_value=1)  # None: kept permanently
    retention_article = StringField(default="")  # the article of the standard list
    volumes = IntField(default=1, min_value=1)
    status = StringField(required=True, default="open", choices=("open", "closed", "destroyed"))
    closed_on = DateField(null=True)
    destruction_act_id = ObjectIdField(null=True)
    documents_count = IntField(default=0)

    meta = {
        "collection": "case_files",
        "indexes": [
            {"fields": ["nomenclature_id", "index"], "unique": True},
            {"fields": ["year", "index"]},
            {"fields": ["status", "year"]},
        ],
    }


class DestructionAct(Document):
    """Акт о выделении к уничтожению: the only way case files are destroyed."""

    number = StringField(required=True)
    case_file_ids = ListField(ObjectIdField())
    approved_by = StringField(required=True)
    approved_at = DateTimeField(default=utcnow)
    reason = StringField(default="")

    meta = {"collection": "destruction_acts"}


# ------------------------------------------------------------------------------ templates


class DocumentTemplate(Document):
    """A DOCX template (docxtpl) a contract or letter is generated from."""

    name = StringField(required=True, max_length=200)
    kind = StringField(required=True, default="contract", choices=("contract", "letter", "other"))
    description = StringField(default="")
    file_id = ObjectIdField(required=True)  # the DOCX, a StoredFile
    placeholders = ListField(StringField())  # the variables it uses, found at upload
    uploaded_by = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    active = BooleanField(default=True)

    meta = {"collection": "document_templates", "indexes": [{"fields": ["kind", "name"]}]}


# ------------------------------------------------------------------------------ procedures


class OperatorEffect(Document):
    """What a procedure's operator did once (a rendered file, …): its re-run returns it."""

    id = StringField(primary_key=True)  # the operator's deterministic key
    result = DictField()
    created_at = DateTimeField(default=utcnow)

    meta = {"collection": "documents_operator_effects"}


ALL_MODELS = (
    StoredFile,
    OfficeDocument,
    SigningKey,
    Signature,
    RegistrationJournal,
    NumberCounter,
    NumberReservation,
    RegistrationCard,
    AcquaintanceLog,
    TransferLog,
    CitizenAppeal,
    CaseNomenclature,
    CaseFile,
    DestructionAct,
    DocumentTemplate,
    OperatorEffect,
)
