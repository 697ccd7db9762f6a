"""Domain exceptions of correspondence; each derives from one engine error kind."""

from __future__ import annotations

from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class MessageNotFound(NotFound):
    code = "message_not_found"


class AssignmentNotFound(NotFound):
    """No such assignment, or the caller is not its issuer, executor or controller."""

    code = "assignment_not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class CommentNotFound(NotFound):
    code = "comment_not_found"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class MailInvalid(InvalidInput):
    """The input is not acceptable; `errors` names the fields."""

    code = "validation_error"


class MailNotAllowed(PermissionDenied):
    """The caller sees the item but may not do this to it."""

    code = "forbidden"


class WrongStatus(Conflict):
    """The item's status does not allow this step now."""

    code = "wrong_status"


class FilesUnavailable(Conflict):
    """File attachments need the records office's file store, which is not configured."""

    code = "files_unavailable"
