"""Stored records of correspondence.

Visibility lives in the documents themselves so that every list applies it in the query:
a message lists its `participants`, an assignment its `viewers` (issuer, executor,
controller), an order is visible to everyone and lists the people `involved` in it.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from engine.models import utcnow

ASSIGNMENT_STATUSES = (
    "issued",
    "control",
    "in_progress",
    "done",
    "accepted",
    "returned",
    "cancelled",
)
ORDER_STATUSES = ("issued", "in_progress", "done", "accepted", "returned", "cancelled")
FINAL_STATUSES = ("accepted", "cancelled")
# Statuses in which the executor still owes the work (the deadline can pass).
EXECUTING = ("issued", "control", "in_progress", "returned")
EMAIL_MODES = ("immediately", "digest", "off")


class Attachment(EmbeddedDocument):
    """A file (a StoredFile version of the records office) or a reference to any object."""

    id = StringField(required=True)  # local id within its item
    kind = StringField(required=True, choices=("file", "object"))
    type = StringField(required=True)  # "file", or the object's type: organization, contract...
    ref_id = StringField(required=True)  # StoredFile id, or the object's id
    title = StringField(default="")
    version = IntField(null=True)  # files: the version that was attached
    size = IntField(null=True)
    content_type = StringField(null=True)


class HistoryEntry(EmbeddedDocument):
    """One state change of an assignment or an order."""

    at = DateTimeField(required=True)
    by = StringField(required=True)
    status = StringField(required=True)
    note = StringField(default="")


class Message(Document):
    """Internal correspondence (сообщение): needs no execution."""

    sender = StringField(required=True)
    to_users = ListField(StringField())
    to_groups = ListField(StringField())
    recipients = ListField(StringField())  # users, groups expanded when it was sent
    participants = ListField(StringField())  # sender and recipients: who may read it
    subject = StringField(required=True)
    body = StringField(default="")  # sanitized HTML
    body_text = StringField(default="")  # the body as plain text (e-mails, previews)
    attachments = ListField(EmbeddedDocumentField(Attachment))
    thread_id = ObjectIdField(null=True)
    in_reply_to = ObjectIdField(null=True)
    forwarded_from = ObjectIdField(null=True)
    read_by = ListField(StringField())
    archived_by = ListField(StringField())
    words = ListField(StringField())  # normalized search keys (no $text: see NOTES)
    created_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "mail_messages",
        "indexes": [
            {"fields": ["participants", "-created_at"]},
            {"fields": ["recipients", "-created_at"]},
            {"fields": ["sender", "-created_at"]},
            {"fields": ["words"]},
            {"fields": ["thread_id", "created_at"]},
        ],
    }


class Assignment(Document):
    """Work for an executor (задание), run by bpmn/assignment.bpmn."""

    title = StringField(required=True)
    text = StringField(default="")  # sanitized HTML
    issuer = StringField(required=True)
    executor = StringField(required=True)
    controller = StringField(null=True)
    under_control = BooleanField(default=False)
    due_at = DateTimeField(required=True)
    remind_at = DateTimeField(null=True)  # when the executor is reminded of the deadline
    control_due = DateTimeField(null=True)
    status = StringField(required=True, choices=ASSIGNMENT_STATUSES, default="issued")
    report = StringField(default="")  # the executor's last report
    parent_id = ObjectIdField(null=True)
    ancestors = ListField(ObjectIdField())  # parent first... root last: cascades in one query
    instance_id = ObjectIdField(null=True)
    attachments = ListField(EmbeddedDocumentField(Attachment))
    viewers = ListField(StringField())  # issuer, executor, controller: the only readers
    read_by = ListField(StringField())
    words = ListField(StringField())
    revision = IntField(default=0)  # +1 per state change: keys its notifications
    history = ListField(EmbeddedDocumentField(HistoryEntry))
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "mail_assignments",
        "indexes": [
            {"fields": ["viewers", "-updated_at"]},
            {"fields": ["viewers", "status", "due_at"]},
            {"fields": ["parent_id"]},
            {"fields": ["ancestors"]},
            {"fields": ["words"]},
            {"fields": ["instance_id"]},
        ],
    }


class Order(Document):
    """Work visible to every user (поручение), run by bpmn/order.bpmn; orders form a tree."""

    title = StringField(required=True)
    text = StringField(default="")
    issuer = StringField(required=True)
    executors = ListField(StringField())
    subscribers = ListField(StringField())
    involved = ListField(StringField())  # issuer, executors, subscribers: whose mailbox
    due_at = DateTimeField(required=True)
    remind_at = DateTimeField(null=True)
    status = StringField(required=True, choices=ORDER_STATUSES, default="issued")
    progress = IntField(default=0, min_value=0, max_value=100)  # the executors' own estimate
    report = StringField(default="")
    parent_id = ObjectIdField(null=True)
    ancestors = ListField(ObjectIdField())
    instance_id = ObjectIdField(null=True)
    attachments = ListField(EmbeddedDocumentField(Attachment))
    read_by = ListField(StringField())
    words = ListField(StringField())
    revision = IntField(default=0)
    history = ListField(EmbeddedDocumentField(HistoryEntry))
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "mail_orders",
        "indexes": [
            {"fields": ["-updated_at"]},
            {"fields": ["involved", "-updated_at"]},
            {"fields": ["parent_id"]},
            {"fields": ["ancestors"]},
            {"fields": ["words"]},
            {"fields": ["instance_id"]},
        ],
    }


class OrderComment(Document):
    """A comment on an order; `path` orders a thread (ObjectIds grow with time)."""

    order_id = ObjectIdField(required=True)
    author = StringField(required=True)
    text = StringField(default="")  # sanitized HTML
    attachments = ListField(EmbeddedDocumentField(Attachment))
    parent_id = ObjectIdField(null=True)
    path = StringField(required=True)  # "<root comment id>/<reply id>/..."
    depth = IntField(default=0)
    created_at = DateTimeField(default=utcnow)

    meta = {"collection": "mail_order_comments", "indexes": [{"fields": ["order_id", "path"]}]}


class Notification(Document):
    """An in-app notification of one user; `key` makes each one happen once."""

    key = StringField(required=True)
    user = StringField(required=True)
    title = StringField(required=True)
    text = StringField(default="")
    link = StringField(default="")
    source_type = StringField(null=True)
    source_id = StringField(null=True)
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)
    # How it reaches the user's e-mail: queued | digest | digested | off | no_address
    email = StringField(default="off")
    digest_pending = BooleanField(default=False)

    meta = {
        "collection": "mail_notifications",
        "indexes": [
            {"fields": ["key"], "unique": True},
            {"fields": ["user", "-created_at"]},
            {"fields": ["user", "read_at"]},
            {"fields": ["digest_pending", "created_at"]},
        ],
    }


class NotificationSettings(Document):
    """A user's choice of how notifications reach their e-mail."""

    user = StringField(required=True)
    email = StringField(required=True, choices=EMAIL_MODES, default="immediately")
    updated_at = DateTimeField(default=utcnow)

    meta = {
        "collection": "mail_notification_settings",
        "indexes": [{"fields": ["user"], "unique": True}],
    }


class OutboundEmail(Document):
    """One e-mail to send, once: `key` is unique; status goes pending → sent."""

    key = StringField(required=True)
    user = StringField(required=True)
    to = StringField(required=True)
    subject = StringField(required=True)
    text = StringField(default="")
    status = StringField(default="pending", choices=("pending", "sent", "skipped"))
    notification_ids = ListField(ObjectIdField())
    attempts = IntField(default=0)
    last_error = StringField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    meta = {
        "collection": "mail_outbound_emails",
        "indexes": [{"fields": ["key"], "unique": True}, {"fields": ["status", "created_at"]}],
    }


ALL_MODELS = (
    Message,
    Assignment,
    Order,
    OrderComment,
    Notification,
    NotificationSettings,
    OutboundEmail,
)
