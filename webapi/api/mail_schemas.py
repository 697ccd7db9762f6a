"""Schemas of correspondence: messages, assignments, orders, comments, notifications,
the mailbox. Input is strict; output names every field it shows."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from mail.models import ASSIGNMENT_STATUSES, EMAIL_MODES, ORDER_STATUSES
from webapi.schemas import PageQuerySchema, StrictSchema, UtcDateTime

_USER = fields.String(validate=validate.Length(min=1, max=64))
_TEXT = validate.Length(max=100_000)


def _utc() -> UtcDateTime:
    return UtcDateTime(allow_none=True)


def _aware(required: bool = False) -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=UTC, required=required)


class _FromDocument(ma.Schema):
    """Dumps stored documents: `_id` becomes `id`."""

    @ma.pre_dump
    def _ids(self, obj: Any, **_: Any) -> Any:
        if isinstance(obj, dict) and "_id" in obj:
            obj = {**obj, "id": str(obj["_id"])}
        return obj


# -------------------------------------------------------------------------- attachments


class MailAttachmentInSchema(StrictSchema):
    type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "`file` for a stored file (its id from "
            "/files), else the object's type: "
            "organization, contract, document..."
        },
    )
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.String(validate=validate.Length(max=300))


class MailAttachmentSchema(ma.Schema):
    id = fields.String(required=True, metadata={"description": "id within its item"})
    kind = fields.String(required=True, validate=validate.OneOf(["file", "object"]))
    type = fields.String(required=True)
    ref_id = fields.String(required=True, metadata={"description": "file or object id"})
    title = fields.String()
    version = fields.Integer(allow_none=True)
    size = fields.Integer(allow_none=True)
    content_type = fields.String(allow_none=True)


def _attachments_in() -> fields.List:
    return fields.List(
        fields.Nested(MailAttachmentInSchema), load_default=list, validate=validate.Length(max=20)
    )


class MailHistorySchema(ma.Schema):
    at = _utc()
    by = fields.String()
    status = fields.String()
    note = fields.String()


# ----------------------------------------------------------------------------- messages


class MailMessageInSchema(StrictSchema):
    to_users = fields.List(_USER, load_default=list, validate=validate.Length(max=500))
    to_groups = fields.List(_USER, load_default=list, validate=validate.Length(max=50))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(
        load_default="",
        validate=_TEXT,
        metadata={"description": "rich text: a safe subset of HTML is kept"},
    )
    attachments = _attachments_in()


class MailReplySchema(StrictSchema):
    body = fields.String(load_default="", validate=_TEXT)
    attachments = _attachments_in()
    to_all = fields.Boolean(
        load_default=False, metadata={"description": "everyone on the message, not just the sender"}
    )


class MailForwardSchema(StrictSchema):
    to_users = fields.List(_USER, load_default=list, validate=validate.Length(max=500))
    to_groups = fields.List(_USER, load_default=list, validate=validate.Length(max=50))
    body = fields.String(load_default="", validate=_TEXT)


class MailMessageSchema(_FromDocument):
    id = fields.String(required=True)
    thread_id = fields.String(allow_none=True)
    in_reply_to = fields.String(allow_none=True)
    forwarded_from = fields.String(allow_none=True)
    sender = fields.String(required=True)
    to_users = fields.List(fields.String())
    to_groups = fields.List(fields.String())
    recipients = fields.List(fields.String())
    subject = fields.String(required=True)
    body = fields.String()
    attachments = fields.List(fields.Nested(MailAttachmentSchema))
    created_at = _utc()
    unread = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    folder = fields.String(required=True)
    link = fields.String()


class MailMessagePageSchema(ma.Schema):
    items = fields.List(fields.Nested(MailMessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MailMessageListSchema(ma.Schema):
    items = fields.List(fields.Nested(MailMessageSchema), required=True)


class MailMessageQuerySchema(PageQuerySchema):
    folder = fields.String(
        load_default="inbox", validate=validate.OneOf(["inbox", "sent", "archive"])
    )
    unread = fields.Boolean(load_default=False)
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "words that start words of the subject, text, "
            "sender or attachment titles"
        },
    )


# -------------------------------------------------------------------------- assignments


class AssignmentInSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    text = fields.String(load_default="", validate=_TEXT)
    executor = fields.String(required=True, validate=validate.Length(min=1, max=64))
    due_at = _aware(required=True)
    controller = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "puts it under control (with control_due)"},
    )
    control_due = _aware()
    attachments = _attachments_in()
    parent_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "nest it in an assignment the caller executes"},
    )


class AssignmentSchema(_FromDocument):
    id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String()
    issuer = fields.String(required=True)
    executor = fields.String(required=True)
    controller = fields.String(allow_none=True)
    under_control = fields.Boolean(required=True)
    due_at = _utc()
    control_due = _utc()
    status = fields.String(required=True, validate=validate.OneOf(ASSIGNMENT_STATUSES))
    report = fields.String()
    parent_id = fields.String(allow_none=True)
    instance_id = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(MailAttachmentSchema))
    created_at = _utc()
    updated_at = _utc()
    unread = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    roles = fields.List(fields.String(), metadata={"description": "the caller's roles"})
    link = fields.String()


class AssignmentDetailSchema(AssignmentSchema):
    history = fields.List(fields.Nested(MailHistorySchema))
    children = fields.List(
        fields.Nested(AssignmentSchema),
        metadata={"description": "nested assignments the caller may see"},
    )


class AssignmentPageSchema(ma.Schema):
    items = fields.List(fields.Nested(AssignmentSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class AssignmentQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(["issuer", "executor", "controller"]))
    status = fields.String(validate=validate.OneOf(ASSIGNMENT_STATUSES))
    q = fields.String(validate=validate.Length(min=1, max=200))
    overdue = fields.Boolean(load_default=False)
    under_control = fields.Boolean(load_default=False)


class MailReportSchema(StrictSchema):
    report = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class MailReviewSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["accepted", "returned"]))
    comment = fields.String(load_default="", validate=validate.Length(max=10_000))


class MailControlSchema(StrictSchema):
    controller = fields.String(required=True, validate=validate.Length(min=1, max=64))
    control_due = _aware(required=True)


class MailCancelSchema(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


# ------------------------------------------------------------------------------- orders


class OrderInSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    text = fields.String(load_default="", validate=_TEXT)
    executors = fields.List(_USER, required=True, validate=validate.Length(min=1, max=50))
    due_at = _aware(required=True)
    attachments = _attachments_in()
    parent_id = fields.String(
        validate=validate.Length(min=1, max=64), metadata={"description": "make it a sub-order"}
    )


class OrderSchema(_FromDocument):
    id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String()
    issuer = fields.String(required=True)
    executors = fields.List(fields.String(), required=True)
    subscribers = fields.List(fields.String())
    due_at = _utc()
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    progress = fields.Integer(required=True)
    report = fields.String()
    parent_id = fields.String(allow_none=True)
    instance_id = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(MailAttachmentSchema))
    created_at = _utc()
    updated_at = _utc()
    unread = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    subscribed = fields.Boolean(required=True)
    link = fields.String()


class OrderDetailSchema(OrderSchema):
    history = fields.List(fields.Nested(MailHistorySchema))
    children = fields.List(fields.Nested(OrderSchema))


class OrderTreeSchema(OrderSchema):
    rolled_progress = fields.Integer(
        required=True,
        metadata={
            "description": "100 when done, else the mean "
            "of its own and its live "
            "sub-orders' progress"
        },
    )
    children = fields.List(fields.Nested(lambda: OrderTreeSchema()), required=True)


class OrderPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrderSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class OrderQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    involved = fields.Boolean(
        load_default=False,
        metadata={"description": "only orders the caller issued, executes or follows"},
    )
    top_level = fields.Boolean(load_default=False)
    overdue = fields.Boolean(load_default=False)


class MailProgressSchema(StrictSchema):
    percent = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=99))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class MailCommentInSchema(StrictSchema):
    text = fields.String(load_default="", validate=_TEXT)
    attachments = _attachments_in()
    parent_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the comment this answers"},
    )


class MailCommentSchema(_FromDocument):
    id = fields.String(required=True)
    order_id = fields.String(required=True)
    author = fields.String(required=True)
    text = fields.String()
    parent_id = fields.String(allow_none=True)
    depth = fields.Integer(required=True)
    attachments = fields.List(fields.Nested(MailAttachmentSchema))
    created_at = _utc()


class MailCommentListSchema(ma.Schema):
    items = fields.List(
        fields.Nested(MailCommentSchema),
        required=True,
        metadata={"description": "thread order: answers follow what they answer"},
    )


# ------------------------------------------------------------------------ notifications


class MailSourceSchema(ma.Schema):
    type = fields.String()
    id = fields.String()


class NotificationSchema(_FromDocument):
    id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String()
    link = fields.String()
    source = fields.Nested(MailSourceSchema, allow_none=True)
    created_at = _utc()
    read = fields.Boolean(required=True)
    read_at = _utc()


class NotificationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    unread = fields.Integer(required=True)


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False)


class MailUnreadSchema(ma.Schema):
    unread = fields.Integer(required=True)


class MailMarkedSchema(ma.Schema):
    marked = fields.Integer(required=True)


class MailPreferencesSchema(StrictSchema):
    email = fields.String(
        required=True,
        validate=validate.OneOf(EMAIL_MODES),
        metadata={"description": "immediately, digest (once a day) or off"},
    )


# ------------------------------------------------------------------------------ mailbox


class MailboxQuerySchema(PageQuerySchema):
    kind = fields.List(
        fields.String(validate=validate.OneOf(["message", "assignment", "order", "task"])),
        metadata={"description": "repeat to pick several kinds; all by default"},
    )
    unread = fields.Boolean(load_default=False)
    overdue = fields.Boolean(load_default=False)
    under_control = fields.Boolean(load_default=False)
    closed = fields.Boolean(
        load_default=False, metadata={"description": "include accepted and cancelled work"}
    )


class MailboxItemSchema(ma.Schema):
    kind = fields.String(required=True)
    id = fields.String(required=True)
    title = fields.String(required=True)
    from_ = fields.String(data_key="from", attribute="from")
    at = _utc()
    due_at = _utc()
    status = fields.String(allow_none=True)
    unread = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    under_control = fields.Boolean(required=True)
    attachments = fields.Integer()
    roles = fields.List(fields.String())
    link = fields.String(required=True)


class MailCountersSchema(ma.Schema):
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    under_control = fields.Integer(required=True)


class MailboxCountersSchema(MailCountersSchema):
    by_kind = fields.Dict(keys=fields.String(), values=fields.Nested(MailCountersSchema))


class MailboxSchema(ma.Schema):
    items = fields.List(fields.Nested(MailboxItemSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    counters = fields.Nested(MailboxCountersSchema, required=True)
