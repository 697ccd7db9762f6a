"""Domain exceptions of the engine; webapi maps each to one HTTP status."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class: `code` is a stable machine-readable name, the message is for people."""

    code = "engine_error"

    def __init__(self, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


# Kinds of failure every package's exceptions derive from; webapi maps each kind to one
# HTTP status, so a new domain exception needs no change there.


class NotFound(EngineError):
    """The object does not exist or the caller may not see it (404)."""

    code = "not_found"


class Conflict(EngineError):
    """The request conflicts with the current state (409)."""

    code = "conflict"


class InvalidInput(EngineError):
    """The input is well-formed but not acceptable; `errors` names the fields (422)."""

    code = "validation_error"


class PermissionDenied(EngineError):
    """The caller is known but may not do this (403)."""

    code = "forbidden"


class UnsafeXml(InvalidInput):
    """The uploaded XML uses DTDs, entities or is too large."""

    code = "unsafe_xml"


class DefinitionInvalid(InvalidInput):
    """The BPMN/DMN does not parse or does not pass validation; `errors` lists why."""

    code = "definition_invalid"


class DefinitionNotFound(NotFound):
    code = "definition_not_found"


class InstanceNotFound(NotFound):
    code = "instance_not_found"


class TaskNotFound(NotFound):
    """No such task, or the caller may not see it (we do not tell the two apart)."""

    code = "task_not_found"


class TaskNotActive(Conflict):
    """The task was completed or cancelled already."""

    code = "task_not_active"


class TaskNotClaimable(Conflict):
    """The task is claimed by someone else or the caller is not a candidate."""

    code = "task_not_claimable"


class InstanceNotActive(Conflict):
    """The instance is suspended, completed or terminated."""

    code = "instance_not_active"


class VersionConflict(Conflict):
    """Someone else changed the instance first; `current_version` is the stored one."""

    code = "version_conflict"

    def __init__(self, message: str, current_version: int | None = None):
        super().__init__(message, {"current_version": current_version})
        self.current_version = current_version


class FormInvalid(InvalidInput):
    """Submitted task data does not match the task's form; `errors` maps field → messages."""

    code = "form_invalid"


class DataInvalid(InvalidInput):
    """Variables or task data cannot be stored (reserved names, `$` keys, not JSON)."""

    code = "data_invalid"


class ProcessError(InvalidInput):
    """A script, expression or service operator failed while the instance ran."""

    code = "process_error"

    def __init__(self, message: str, task: str | None = None, errors: dict[str, Any] | None = None):
        super().__init__(message, {**(errors or {}), **({"task": task} if task else {})})
        self.task = task


class EngineStall(ProcessError):
    """The engine left runnable work undone (a guard against a SpiffWorkflow 3.2.0 bug)."""

    code = "engine_stall"


class PayloadTooLarge(UnsafeXml):
    """An uploaded file is larger than the configured limit."""

    code = "payload_too_large"


class NotAllowed(PermissionDenied):
    """The actor may see the object but not do this to it."""

    code = "forbidden"


class NoReceiver(NotFound):
    """No instance waits for the message and no process starts with it."""

    code = "no_receiver"


class MessageInProgress(Conflict):
    """A message with the same id is being processed right now; retry shortly."""

    code = "message_in_progress"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used before with a different request."""

    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    """A request with the same idempotency key is still running; retry shortly."""

    code = "request_in_progress"


class InvalidCursor(InvalidInput):
    """A pagination cursor that this service did not issue (or for another query)."""

    code = "invalid_cursor"
