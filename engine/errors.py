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


class UnsafeXml(EngineError):
    """The uploaded XML uses DTDs, entities or is too large."""

    code = "unsafe_xml"


class DefinitionInvalid(EngineError):
    """The BPMN/DMN does not parse or does not pass validation; `errors` lists why."""

    code = "definition_invalid"


class DefinitionNotFound(EngineError):
    code = "definition_not_found"


class InstanceNotFound(EngineError):
    code = "instance_not_found"


class TaskNotFound(EngineError):
    """No such task, or the caller may not see it (we do not tell the two apart)."""

    code = "task_not_found"


class TaskNotActive(EngineError):
    """The task was completed or cancelled already."""

    code = "task_not_active"


class TaskNotClaimable(EngineError):
    """The task is claimed by someone else or the caller is not a candidate."""

    code = "task_not_claimable"


class InstanceNotActive(EngineError):
    """The instance is suspended, completed or terminated."""

    code = "instance_not_active"


class VersionConflict(EngineError):
    """Someone else changed the instance first; `current_version` is the stored one."""

    code = "version_conflict"

    def __init__(self, message: str, current_version: int | None = None):
        super().__init__(message, {"current_version": current_version})
        self.current_version = current_version


class FormInvalid(EngineError):
    """Submitted task data does not match the task's form; `errors` maps field → messages."""

    code = "form_invalid"


class DataInvalid(EngineError):
    """Variables or task data cannot be stored (reserved names, `$` keys, not JSON)."""

    code = "data_invalid"


class ProcessError(EngineError):
    """A script, expression or service operator failed while the instance ran."""

    code = "process_error"

    def __init__(self, message: str, task: str | None = None, errors: dict[str, Any] | None = None):
        super().__init__(message, {**(errors or {}), **({"task": task} if task else {})})
        self.task = task


class EngineStall(ProcessError):
    """The engine left runnable work undone (a guard against a SpiffWorkflow 3.2.0 bug)."""

    code = "engine_stall"
