"""Marshmallow schemas of the records-office API (documents/): strict input, declared output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

MAX_LIMIT = 200
_SHORT = validate.Length(max=200)
_TEXT = validate.Length(max=4000)
_PRINCIPAL = fields.String(validate=validate.Length(min=1, max=100))


class UtcDateTime(fields.DateTime):
    """Naive UTC datetimes from the database go out marked as UTC (+00:00)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Strict(ma.Schema):
    """Input: an unknown field is an error naming that field."""

    class Meta:
        unknown = ma.RAISE


def _principals() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=200),
    )


class PageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class AccessSchema(ma.Schema):
    read = fields.List(fields.String())
    write = fields.List(fields.String())


class AccessInput(Strict):
    read = _principals()
    write = _principals()


class OrganizationRefSchema(Strict):
    organization_id = fields.String(load_default="", validate=_SHORT)
    name = fields.String(load_default="", validate=validate.Length(max=500))


# ------------------------------------------------------------------------------ files


class UploadInput(Strict):
    file = Upload(required=True)


class UploadForm(Strict):
    comment = fields.String(load_default="", validate=_SHORT)


class FileVersionSchema(ma.Schema):
    number = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    author = fields.String()
    created_at = UtcDateTime()
    comment = fields.String()


class FileSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    owner = fields.String()
    current_version = fields.Integer()
    locked_by = fields.String(allow_none=True)
    locked_at = UtcDateTime(allow_none=True)
    versions = fields.List(fields.Nested(FileVersionSchema))
    access = fields.Nested(AccessSchema)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class FileListSchema(ma.Schema):
    items = fields.List(fields.Nested(FileSchema))


class VersionQuery(Strict):
    version = fields.Integer(validate=validate.Range(min=1))


class CheckinInput(Strict):
    force = fields.Boolean(load_default=False)


# ------------------------------------------------------------------------------ signatures


class SignInput(Strict):
    version = fields.Integer(validate=validate.Range(min=1))
    document_id = fields.String(validate=validate.Length(min=1, max=64))


class SignatureSchema(ma.Schema):
    id = fields.String()
    file_id = fields.String()
    version = fields.Integer()
    sha256 = fields.String()
    signer = fields.String()
    certificate_fingerprint = fields.String()
    signed_at = UtcDateTime()
    document_id = fields.String(allow_none=True)


class FileSignatureSchema(SignatureSchema):
    covers_current = fields.Boolean()


class FileSignatureListSchema(ma.Schema):
    current_version = fields.Integer()
    items = fields.List(fields.Nested(FileSignatureSchema))


class DocumentSignatureSchema(ma.Schema):
    signature = fields.Nested(SignatureSchema)
    file_id = fields.String()
    file_name = fields.String()
    attached_version = fields.Integer()
    current_version = fields.Integer()
    covers_current = fields.Boolean()
    covers_attached = fields.Boolean()


class DocumentSignatureListSchema(ma.Schema):
    items = fields.List(fields.Nested(DocumentSignatureSchema))


class VerificationSchema(ma.Schema):
    status = fields.String(metadata={"description": "valid, invalid or content_changed"})
    detail = fields.String()
    version = fields.Integer(metadata={"description": "the file version checked"})
    covers_version = fields.Boolean(
        metadata={"description": "whether the signature was made over that version"}
    )
    signature = fields.Nested(SignatureSchema)


class KeyIssueInput(Strict):
    algorithm = fields.String(
        load_default="ec-p256", validate=validate.OneOf(["ec-p256", "rsa-2048"])
    )
    valid_days = fields.Integer(load_default=730, validate=validate.Range(min=1, max=3650))


class KeySchema(ma.Schema):
    id = fields.String()
    username = fields.String()
    algorithm = fields.String()
    fingerprint = fields.String()
    serial = fields.String()
    not_before = UtcDateTime()
    not_after = UtcDateTime()
    status = fields.String()
    created_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class KeyListSchema(ma.Schema):
    items = fields.List(fields.Nested(KeySchema))


# ------------------------------------------------------------------------------ documents


class LinkSchema(Strict):
    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.String(load_default="", validate=_SHORT)


class FileLinkSchema(ma.Schema):
    file_id = fields.String()
    version = fields.Integer()
    role = fields.String()


class DocumentCreateInput(Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(["incoming", "outgoing", "internal"])
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    summary = fields.String(load_default="", validate=_TEXT)
    correspondent = fields.Nested(OrganizationRefSchema, load_default=None, allow_none=True)
    addressee = fields.Nested(OrganizationRefSchema, load_default=None, allow_none=True)
    document_date = fields.Date(load_default=None, allow_none=True)
    pages = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))
    restriction = fields.String(load_default="", validate=validate.Length(max=100))
    restricted = fields.Boolean(load_default=False)
    read = _principals()
    write = _principals()
    journal_id = fields.String(load_default=None, allow_none=True)
    links = fields.List(
        fields.Nested(LinkSchema), load_default=list, validate=validate.Length(max=100)
    )


class DocumentUpdateInput(Strict):
    title = fields.String(validate=validate.Length(min=1, max=500))
    summary = fields.String(validate=_TEXT)
    correspondent = fields.Nested(OrganizationRefSchema, allow_none=True)
    addressee = fields.Nested(OrganizationRefSchema, allow_none=True)
    document_date = fields.Date(allow_none=True)
    pages = fields.Integer(validate=validate.Range(min=0, max=100_000))


class RestrictionInput(Strict):
    restricted = fields.Boolean(required=True)
    restriction = fields.String(load_default="", validate=validate.Length(max=100))
    read = _principals()
    write = _principals()


class AttachInput(Strict):
    file_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    role = fields.String(
        load_default="content", validate=validate.OneOf(["content", "attachment", "scan"])
    )


class DocumentSchema(ma.Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    summary = fields.String()
    author = fields.String()
    correspondent = fields.Nested(OrganizationRefSchema, allow_none=True)
    addressee = fields.Nested(OrganizationRefSchema, allow_none=True)
    document_date = fields.Date(allow_none=True)
    pages = fields.Integer()
    restriction = fields.String()
    restricted = fields.Boolean()
    access = fields.Nested(AccessSchema)
    journal_id = fields.String(allow_none=True)
    card_id = fields.String(allow_none=True)
    reg_number = fields.String()
    files = fields.List(fields.Nested(FileLinkSchema))
    links = fields.List(fields.Nested(LinkSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class DocumentListSchema(ma.Schema):
    items = fields.List(fields.Nested(DocumentSchema))


class DocumentListQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(["incoming", "outgoing", "internal"]))
    journal_id = fields.String(validate=validate.Length(min=1, max=64))
    q = fields.String(validate=validate.Length(min=1, max=200))
    link_type = fields.String(validate=validate.Length(min=1, max=64))
    link_id = fields.String(validate=validate.Length(min=1, max=200))


class RegisterInput(Strict):
    journal_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reservation_id = fields.String(load_default=None, allow_none=True)
    correspondent_number = fields.String(load_default="", validate=_SHORT)
    correspondent_date = fields.Date(load_default=None, allow_none=True)
    summary = fields.String(load_default=None, allow_none=True, validate=_TEXT)
    resolution = fields.String(load_default="", validate=_TEXT)
    executors = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    deadline = fields.Date(load_default=None, allow_none=True)
    due_in_working_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    under_control = fields.Boolean(load_default=False)
    controller = fields.String(load_default=None, allow_none=True)


class GenerateInput(Strict):
    template_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    context = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={
            "description": "organization, contract … as plain data; "
            "`document` is filled in from the document"
        },
    )


# ------------------------------------------------------------------------------ journals


class JournalCreateInput(Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(
        required=True, validate=validate.OneOf(["incoming", "outgoing", "internal", "appeal"])
    )
    number_template = fields.String(required=True, validate=validate.Length(min=1, max=200))
    department = fields.String(load_default="", validate=validate.Length(max=32))
    case_index = fields.String(load_default="", validate=validate.Length(max=32))
    read = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=lambda: ["*"],
        validate=validate.Length(max=200),
    )
    write = _principals()


class JournalUpdateInput(Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    number_template = fields.String(validate=validate.Length(min=1, max=200))
    department = fields.String(validate=validate.Length(max=32))
    case_index = fields.String(validate=validate.Length(max=32))
    active = fields.Boolean()


class JournalSchema(ma.Schema):
    id = fields.String()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    number_template = fields.String()
    department = fields.String()
    case_index = fields.String()
    access = fields.Nested(AccessSchema)
    active = fields.Boolean()
    created_by = fields.String()
    created_at = UtcDateTime()


class JournalListSchema(ma.Schema):
    items = fields.List(fields.Nested(JournalSchema))


class JournalListQuery(Strict):
    kind = fields.String(validate=validate.OneOf(["incoming", "outgoing", "internal", "appeal"]))


class ReserveInput(Strict):
    on = fields.Date(load_default=None, allow_none=True)
    correspondent_number = fields.String(load_default="", validate=_SHORT)


class CancelInput(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReservationSchema(ma.Schema):
    id = fields.String()
    journal_id = fields.String()
    year = fields.Integer()
    seq = fields.Integer()
    number = fields.String()
    status = fields.String()
    reserved_by = fields.String()
    reserved_at = UtcDateTime()
    card_id = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancelled_at = UtcDateTime(allow_none=True)
    reason = fields.String()


class ReservationListSchema(ma.Schema):
    items = fields.List(fields.Nested(ReservationSchema))


class YearQuery(Strict):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))


# ------------------------------------------------------------------------------ cards


class CardSchema(ma.Schema):
    id = fields.String()
    kind = fields.String()
    journal_id = fields.String()
    year = fields.Integer()
    seq = fields.Integer()
    number = fields.String()
    registered_at = UtcDateTime()
    registered_on = fields.Date()
    registered_by = fields.String()
    document_id = fields.String()
    title = fields.String()
    correspondent = fields.Nested(OrganizationRefSchema, allow_none=True)
    correspondent_number = fields.String()
    correspondent_date = fields.Date(allow_none=True)
    summary = fields.String()
    resolution = fields.String()
    executors = fields.List(fields.String())
    deadline = fields.Date(allow_none=True)
    under_control = fields.Boolean()
    controller = fields.String(allow_none=True)
    status = fields.String()
    executed_at = UtcDateTime(allow_none=True)
    linked_document_ids = fields.List(fields.String())
    case_index = fields.String()
    process_instance_id = fields.String(allow_none=True)
    access = fields.Nested(AccessSchema)
    updated_at = UtcDateTime()


class CardListSchema(ma.Schema):
    items = fields.List(fields.Nested(CardSchema))


class CardListQuery(PageQuery):
    journal_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(["registered", "in_work", "executed", "filed"]))
    kind = fields.String(validate=validate.OneOf(["document", "appeal"]))
    executor = fields.String(validate=validate.Length(min=1, max=100))
    under_control = fields.Boolean()
    overdue = fields.Boolean(load_default=False)


class CardUpdateInput(Strict):
    summary = fields.String(validate=_TEXT)
    resolution = fields.String(validate=_TEXT)
    executors = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=50)
    )
    deadline = fields.Date(allow_none=True)
    correspondent_number = fields.String(validate=_SHORT)
    correspondent_date = fields.Date(allow_none=True)


class ControlInput(Strict):
    on = fields.Boolean(load_default=True)
    controller = fields.String(load_default=None, allow_none=True)
    deadline = fields.Date(load_default=None, allow_none=True)


class StatusInput(Strict):
    status = fields.String(required=True, validate=validate.OneOf(["in_work", "executed"]))


class LinkDocumentsInput(Strict):
    document_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class AcquaintInput(Strict):
    person = fields.String(required=True, validate=validate.Length(min=1, max=200))
    at = fields.DateTime(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=_SHORT)


class AcquaintanceSchema(ma.Schema):
    id = fields.String()
    person = fields.String()
    acquainted_at = UtcDateTime()
    recorded_by = fields.String()
    note = fields.String()


class AcquaintanceListSchema(ma.Schema):
    items = fields.List(fields.Nested(AcquaintanceSchema))


class TransferInput(Strict):
    case_index = fields.String(load_default="", validate=validate.Length(max=32))
    note = fields.String(load_default="", validate=_SHORT)


class TransferSchema(ma.Schema):
    id = fields.String()
    case_file_id = fields.String()
    case_index = fields.String()
    transferred_at = UtcDateTime()
    transferred_by = fields.String()
    note = fields.String()


class TransferListSchema(ma.Schema):
    items = fields.List(fields.Nested(TransferSchema))


class SendInput(Strict):
    executor = fields.String(required=True, validate=validate.Length(min=1, max=100))
    text = fields.String(load_default="", validate=_TEXT)
    due = fields.Date(load_default=None, allow_none=True)


# ------------------------------------------------------------------------------ appeals


class AuthorSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    postal_address = fields.String(load_default="", validate=validate.Length(max=500))
    email = fields.String(load_default="", validate=validate.Length(max=254))


class AppealCreateInput(Strict):
    journal_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    authors = fields.List(
        fields.Nested(AuthorSchema), load_default=list, validate=validate.Length(max=1000)
    )
    topic = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(
        required=True, validate=validate.OneOf(["post", "email", "web", "personal", "phone"])
    )
    summary = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    received_on = fields.Date(load_default=None, allow_none=True)
    title = fields.String(load_default="", validate=validate.Length(max=500))
    executors = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class NoticeSchema(ma.Schema):
    kind = fields.String()
    sent_at = UtcDateTime()
    sent_by = fields.String()
    to = fields.List(fields.String())
    text = fields.String()


class AppealSchema(ma.Schema):
    id = fields.String()
    card_id = fields.String()
    document_id = fields.String()
    journal_id = fields.String()
    number = fields.String()
    received_on = fields.Date()
    registered_on = fields.Date()
    authors = fields.List(fields.Nested(AuthorSchema))
    form = fields.String()
    topic = fields.String()
    channel = fields.String()
    summary = fields.String()
    status = fields.String()
    answer_required = fields.Boolean()
    redirect_due = fields.Date()
    deadline = fields.Date()
    original_deadline = fields.Date()
    extended_days = fields.Integer()
    extension_reason = fields.String()
    redirected_to = fields.String()
    redirected_on = fields.Date(allow_none=True)
    answered_on = fields.Date(allow_none=True)
    repeated_of = fields.List(fields.String())
    notices = fields.List(fields.Nested(NoticeSchema))
    version = fields.Integer(metadata={"description": "+1 on every change; the ETag"})


class AppealListSchema(ma.Schema):
    items = fields.List(fields.Nested(AppealSchema))


class AppealListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["registered", "redirected", "answered"]))
    overdue = fields.Boolean(load_default=False)


class RedirectInput(Strict):
    to_organization = fields.String(required=True, validate=validate.Length(min=1, max=500))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    on = fields.Date(load_default=None, allow_none=True)


class ExtendInput(Strict):
    days = fields.Integer(required=True, validate=validate.Range(min=1, max=30))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    on = fields.Date(load_default=None, allow_none=True)


class AnswerInput(Strict):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    on = fields.Date(load_default=None, allow_none=True)


class NoticeInput(Strict):
    kind = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))


# ------------------------------------------------------------------------------ nomenclature


class NomenclatureCreateInput(Strict):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))
    title = fields.String(load_default="", validate=_SHORT)
    copy_cases = fields.Boolean(load_default=True)


class NomenclatureSchema(ma.Schema):
    id = fields.String()
    year = fields.Integer()
    version = fields.Integer()
    title = fields.String()
    status = fields.String()
    approved_by = fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    created_by = fields.String()
    created_at = UtcDateTime()


class NomenclatureListSchema(ma.Schema):
    items = fields.List(fields.Nested(NomenclatureSchema))


class NomenclatureListQuery(Strict):
    year = fields.Integer(validate=validate.Range(min=1900, max=2200))


class CaseCreateInput(Strict):
    index = fields.String(required=True, validate=validate.Length(min=1, max=32))
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    retention_years = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "null: kept permanently"},
    )
    retention_article = fields.String(load_default="", validate=_SHORT)
    volumes = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))


class CaseSchema(ma.Schema):
    id = fields.String()
    nomenclature_id = fields.String()
    year = fields.Integer()
    index = fields.String()
    title = fields.String()
    retention_years = fields.Integer(allow_none=True)
    retention_article = fields.String()
    volumes = fields.Integer()
    status = fields.String()
    closed_on = fields.Date(allow_none=True)
    destruction_act_id = fields.String(allow_none=True)
    documents_count = fields.Integer()


class CaseListSchema(ma.Schema):
    items = fields.List(fields.Nested(CaseSchema))


class NomenclatureDetailSchema(NomenclatureSchema):
    cases = fields.List(fields.Nested(CaseSchema))


class CloseYearInput(Strict):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))


class ClosedSchema(ma.Schema):
    closed = fields.Integer()


class DestroyInput(Strict):
    number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    case_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class ActSchema(ma.Schema):
    id = fields.String()
    number = fields.String()
    case_file_ids = fields.List(fields.String())
    approved_by = fields.String()
    approved_at = UtcDateTime()
    reason = fields.String()


# ------------------------------------------------------------------------------ templates


class TemplateForm(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(
        load_default="contract", validate=validate.OneOf(["contract", "letter", "other"])
    )
    description = fields.String(load_default="", validate=validate.Length(max=1000))


class TemplateSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    description = fields.String()
    file_id = fields.String()
    placeholders = fields.List(fields.String())
    uploaded_by = fields.String()
    created_at = UtcDateTime()


class TemplateListSchema(ma.Schema):
    items = fields.List(fields.Nested(TemplateSchema))


class TemplateListQuery(Strict):
    kind = fields.String(validate=validate.OneOf(["contract", "letter", "other"]))


class RenderInput(Strict):
    context = fields.Dict(keys=fields.String(), load_default=dict)
    filename = fields.String(load_default="document.docx", validate=validate.Length(min=1, max=200))
