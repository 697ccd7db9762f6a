"""The one place that drives SpiffWorkflow: parse, run, serialize, restore.

Works around SpiffWorkflow 3.2.0 bugs listed in ../shared/NOTES.md:
- task iteration stops at depth 1000, so long loops stall silently (bug 3): we raise the
  iterator's depth limit, run engine steps with our own loop that follows each branch
  instead of rescanning the tree, and fail loudly if runnable work is left behind;
- a failing service call surfaces as NameError (bug 2): `call_service` is overridden;
- the spec is embedded in every serialization: we store it once per definition and
  serialize instance state without it.
"""

from __future__ import annotations

import copy
import gc
import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow, BpmnSubWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.version import __version__ as SPIFF_VERSION

from . import operators, sandbox
from .clock import naive_utc
from .errors import DefinitionInvalid, EngineStall, NoReceiver, ProcessError

ENGINE_VERSION = f"SpiffWorkflow {SPIFF_VERSION}"
MAX_ENGINE_ROUNDS = 100_000
_DEEP = 10**9


def _raise_depth_limit(cls: type) -> None:
    # TaskIterator(max_depth=1000) silently skips deeper tasks; a loop of a few hundred
    # rounds is deeper than that. The default is a parameter, so we change the default.
    defaults = list(cls.__init__.__defaults__)  # type: ignore[misc]
    defaults[1] = _DEEP  # (end_at_spec, max_depth, ...)
    cls.__init__.__defaults__ = tuple(defaults)  # type: ignore[misc]


_raise_depth_limit(TaskIterator)
_raise_depth_limit(BpmnTaskIterator)


# The library walks the whole task tree after every completed task to find WAITING ones,
# which makes a loop of n rounds cost O(n^2). Each workflow instead keeps the tasks that
# became WAITING (`_waiting`, by id, filled by a scan the first time and then by the two
# places a task turns WAITING: creation and `_set_state`); entries that moved on are
# dropped when the set is read. Tasks are updated in creation order (`_seq`), the order
# of the task table the previous full scan used.
_WAITING = TaskState.WAITING
_task_seq = itertools.count()
_task_init = Task.__init__
_task_set_state = Task._set_state


def _note_waiting(task: Task) -> None:
    waiting = task.workflow.__dict__.get("_waiting")
    if waiting is not None:
        waiting[task.id] = task


def _init_task(self: Task, *args: Any, **kwargs: Any) -> None:
    _task_init(self, *args, **kwargs)
    self._seq = next(_task_seq)
    if self._state == _WAITING:
        _note_waiting(self)


def _set_task_state(self: Task, value: int) -> None:
    _task_set_state(self, value)
    if value == _WAITING:
        _note_waiting(self)


Task.__init__ = _init_task
Task._set_state = _set_task_state


def _update_waiting_tasks(self: BpmnBaseWorkflow) -> None:
    tasks = self.tasks
    waiting: dict[UUID, Task] | None = self.__dict__.get("_waiting")
    if waiting is None:
        # First call on this workflow (new or restored): restored tasks got their state
        # without `_set_state`, so find them once by a scan.
        waiting = {t.id: t for t in tasks.values() if t._state == _WAITING}
        self._waiting = waiting
    live = [t for t in waiting.values() if t._state == _WAITING and tasks.get(t.id) is t]
    if len(live) != len(waiting):
        waiting.clear()
        waiting.update((t.id, t) for t in live)
    if len(live) > 1:
        live.sort(key=lambda t: getattr(t, "_seq", -1))
    for task in live:
        task.task_spec._update(task)


BpmnBaseWorkflow.update_waiting_tasks = _update_waiting_tasks


# ---------------------------------------------------------------------------- scripts


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Expressions and scripts in RestrictedPython; service tasks call our operators."""

    def __init__(self, instance: operators.InstanceContext | None = None):
        super().__init__({})
        self.instance = instance

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: dict[str, Any] | None = None,
    ) -> Any:
        return sandbox.evaluate(expression, context, external_context)

    def execute(
        self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> bool:
        sandbox.execute(script, context, external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        name = kwargs["operation_name"]
        params = {k: v["value"] for k, v in (kwargs.get("operation_params") or {}).items()}
        result = operators.invoke(
            name, params, dict(context), self.instance, task_id=kwargs.get("task_id", "")
        )
        return json.dumps(write_back(context, result))


def write_back(data: dict[str, Any], result: Any) -> Any:
    """Apply an operator's `WriteBack` to task data; return what goes to resultVariable."""
    if not isinstance(result, operators.WriteBack):
        return result
    data.update(json.loads(json.dumps(result.data)))
    for name in result.removed:
        data.pop(name, None)
    return result.result


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine with a `call_service` that reports the real error (bug 2)."""

    def call_service(self, task: Task, **kwargs: Any) -> str:
        try:
            # The task id lets an operator make a repeated side effect happen once.
            return self.environment.call_service(task.data, task_id=str(task.id), **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"{type(err).__name__}: {err}", task=task, exception=err
            ) from err


def script_engine(instance: operators.InstanceContext | None = None) -> SandboxScriptEngine:
    """A script engine bound to one instance (the library does not serialize it)."""
    return SandboxScriptEngine(environment=SandboxEnvironment(instance))


# ------------------------------------------------------------------------- serializer


def _sid(task: Task) -> str:
    # A task's id as text, computed once per task (str(UUID) dominates serialization).
    sid: str | None = task.__dict__.get("_sid")
    if sid is None:
        sid = task.__dict__["_sid"] = str(task.id)
    return sid


def _task_dict(task: Task, registry: Any) -> dict[str, Any]:
    # The library's TaskConverter.to_dict, key for key (the JSON text is the same), made
    # cheaper: ids become text once per task and a child list once per change of it.
    own = task.__dict__
    parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
    children = tuple(task._children)
    known = own.get("_children_sids")
    if known is None or known[0] != children:
        known = own["_children_sids"] = (children, [str(child) for child in children])
    if parent is None:
        data, delta = task.data, {}
    else:
        data = {}
        delta = {
            "updates": DeepMerge.get_updated_keys(parent.data, task.data),
            "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
        }
    internal = task.internal_data
    return {
        "id": _sid(task),
        "parent": _sid(parent) if parent is not None else None,
        "children": list(known[1]),
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(internal) if internal else {},
        "data": data,
        "delta": delta,
    }


class _TaskStateConverter(TaskConverter):
    """The library's TaskConverter with the same output, faster (see `_task_dict`)."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        return _task_dict(task, self.registry)


class _TaskMappings:
    """Converts a workflow's task table without a registry dispatch per task.

    A wide instance is serialized after every step with hundreds of tasks in it, and
    converting the tasks is most of that time.
    """

    registry: Any

    def mapping_to_dict(self, mapping: Any, **kwargs: Any) -> dict[str, Any]:
        values = list(mapping.values())
        registry = self.registry
        if registry._encoder_mode and values and all(type(v) is Task for v in values):
            typename = registry.typenames[Task]
            result = {}
            for task in values:
                dct = _task_dict(task, registry)
                dct["typename"] = typename
                result[_sid(task)] = dct
            return result
        return super().mapping_to_dict(mapping, **kwargs)  # type: ignore[misc]


class _SubWorkflowConverter(_TaskMappings, BpmnSubWorkflowConverter):
    """A subprocess's state, its tasks converted the fast way."""


class _StateConverter(_TaskMappings, BpmnWorkflowConverter):
    """Serializes a workflow without its specs, which live once per definition."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


class DeferrableServiceTask(ServiceTask):
    """A service task whose operator, if registered as asynchronous, runs in a job.

    The task then stays STARTED (its parameters evaluated and kept in the task) until
    `Runner.complete_async` hands it the operator's result.
    """

    def _execute(self, task: Task) -> bool | None:
        if operators.is_async(self.operation_name):
            task.internal_data["async_params"] = {
                k: v["value"] for k, v in self.evaluate_params(task).items()
            }
            return None
        return bool(super()._execute(task))


class _Parser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferrableServiceTask),
    }


_SPEC_CONFIG = {**SPIFF_CONFIG, DeferrableServiceTask: ServiceTaskConverter}
_STATE_CONFIG = {
    **_SPEC_CONFIG,
    BpmnWorkflow: _StateConverter,
    BpmnSubWorkflow: _SubWorkflowConverter,
    Task: _TaskStateConverter,
}
_state_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_STATE_CONFIG))
_spec_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_SPEC_CONFIG))
SERIALIZER_VERSION: str = _state_serializer.VERSION


def _to_json(serializer: BpmnWorkflowSerializer, obj: Any) -> str:
    # Same as serialize_json, for any object: encoder mode turns task data into JSON.
    registry = serializer.registry
    registry._encoder_mode = True
    try:
        # check_circular=False: the dicts are fresh trees, and the check costs a tenth.
        return serializer._encoder_cls(check_circular=False).encode(serializer.to_dict(obj))
    finally:
        registry._encoder_mode = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block that builds many acyclic objects.

    Their allocation count sets the collector off again and again, each time walking every
    live object (a third of a dump's time with 300 tasks; half of a 10,000-row timeline).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Specs:
    """A process spec and the specs of the subprocesses and call activities it uses."""

    spec: Any
    subprocess_specs: dict[str, Any]


def spec_registry() -> Any:
    """The serializer registry that compares and converts specs (for version diffs)."""
    return _spec_serializer.registry


def specs_to_json(specs: Specs) -> str:
    """Serialize specs for storage with their definition."""
    return json.dumps(
        {
            "spec": json.loads(_to_json(_spec_serializer, specs.spec)),
            "subprocess_specs": {
                k: json.loads(_to_json(_spec_serializer, v))
                for k, v in specs.subprocess_specs.items()
            },
        }
    )


_spec_cache: OrderedDict[str, Specs] = OrderedDict()
_SPEC_CACHE_SIZE = 256


def specs_from_json(cache_key: str, text: str) -> Specs:
    """Restore stored specs; definitions are immutable, so restored specs are cached."""
    cached = _spec_cache.get(cache_key)
    if cached is not None:
        _spec_cache.move_to_end(cache_key)
        return cached
    dct = json.loads(text)
    registry = _spec_serializer.registry
    specs = Specs(
        registry.restore(dct["spec"]),
        {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()},
    )
    _spec_cache[cache_key] = specs
    if len(_spec_cache) > _SPEC_CACHE_SIZE:
        _spec_cache.popitem(last=False)
    return specs


# ---------------------------------------------------------------------------- parsing


@dataclass
class ParsedTask:
    """What deploy needs to know about one task spec."""

    bpmn_id: str
    name: str
    kind: str  # "user", "manual", "service", "other"
    lane: str | None
    operator: str | None = None
    params: dict[str, str] | None = None  # a service task's parameter expressions by name


def new_parser() -> SpiffBpmnParser:
    """A parser that validates BPMN against the schema."""
    return _Parser(validator=VALIDATOR)


def _invalid(exc: Exception) -> DefinitionInvalid:
    if isinstance(exc, ValidationException):
        where = {
            k: v
            for k, v in (
                ("id", exc.id),
                ("name", exc.name),
                ("line", exc.line_number),
                ("file", exc.file_name),
            )
            if v
        }
        return DefinitionInvalid(f"invalid diagram: {exc}", {"diagram": [str(exc)], **where})
    return DefinitionInvalid(f"invalid diagram: {exc}", {"diagram": [str(exc)]})


def add_bpmn(parser: SpiffBpmnParser, root: etree._Element, filename: str) -> None:
    """Add a parsed BPMN tree to the parser (validates against the BPMN schema)."""
    try:
        parser.add_bpmn_xml(root, filename)
    except (ValidationException, SpiffWorkflowException, etree.LxmlError, ValueError) as exc:
        raise _invalid(exc) from exc


def add_dmn(parser: SpiffBpmnParser, root: etree._Element, filename: str) -> None:
    """Add a parsed DMN tree to the parser."""
    try:
        parser.add_dmn_xml(root, filename)
    except (
        ValidationException,
        SpiffWorkflowException,
        etree.LxmlError,
        ValueError,
        KeyError,
        AttributeError,
    ) as exc:
        raise _invalid(exc) from exc


def dmn_decision_ids(root: etree._Element) -> list[str]:
    """Ids of the decisions a DMN tree defines."""
    return [d.get("id", "") for d in root if etree.QName(d).localname == "decision"]


def build_specs(parser: SpiffBpmnParser, process_id: str) -> Specs:
    """The spec of `process_id` with everything it calls, or DefinitionInvalid."""
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except (ValidationException, SpiffWorkflowException, KeyError, ValueError) as exc:
        raise _invalid(exc) from exc
    return Specs(spec, subprocess_specs)


def describe_tasks(specs: Specs) -> list[ParsedTask]:
    """Every user, manual and service task of the spec and its subprocesses."""
    result = []
    for spec in (specs.spec, *specs.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if bpmn_id is None:
                continue
            kind = "other"
            if hasattr(ts, "operation_name"):
                kind = "service"
            elif ts.manual:
                kind = "user" if type(ts).__name__ == "UserTask" else "manual"
            result.append(
                ParsedTask(
                    bpmn_id=bpmn_id,
                    name=ts.bpmn_name or bpmn_id,
                    kind=kind,
                    lane=ts.lane,
                    operator=getattr(ts, "operation_name", None),
                    params=(
                        {k: str(v.get("value") or "") for k, v in ts.operation_params.items()}
                        if kind == "service"
                        else None
                    ),
                )
            )
    return result


def new_workflow_spec_check(specs: Specs) -> None:
    """Instantiate the spec once so that errors surface at deploy, not at first start."""
    try:
        BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine())
    except (SpiffWorkflowException, KeyError, ValueError) as exc:
        raise _invalid(exc) from exc


# ---------------------------------------------------------------------------- running


@dataclass
class ReadyTask:
    """A READY manual task as the projection needs it."""

    guid: str
    bpmn_id: str
    name: str
    lane: str | None
    data: dict[str, Any]
    item: Any = None  # a multi-instance child's input item (its approver, its executor ...)


def _instance_item(task: Task) -> Any:
    parent_spec = task.parent.task_spec if task.parent is not None else None
    item = getattr(parent_spec, "input_item", None)
    if not isinstance(parent_spec, MultiInstanceTask) or item is None:
        return None
    return task.data.get(item.bpmn_id)


@dataclass
class AsyncCall:
    """An async service task waiting for its operator."""

    guid: str
    name: str
    operator: str
    params: dict[str, Any]
    data: dict[str, Any]

    def call(self, instance: operators.InstanceContext, idempotency_key: str) -> Any:
        """Run the operator; `idempotency_key` lets it do its side effect once."""
        return operators.invoke(
            self.operator,
            self.params,
            self.data,
            instance,
            task_id=self.guid,
            idempotency_key=idempotency_key,
        )


def _is_deferred(task: Task) -> bool:
    return task.state == TaskState.STARTED and isinstance(task.task_spec, DeferrableServiceTask)


@dataclass
class Timer:
    """A timer the instance waits for."""

    name: str
    kind: str
    due: datetime | None


def _all_tasks(wf: BpmnWorkflow) -> Iterator[Task]:
    yield from wf.tasks.values()
    for sub in wf.subprocesses.values():
        yield from sub.tasks.values()


def _is_engine_task(task: Task) -> bool:
    return task.state == TaskState.READY and not task.task_spec.manual


class Runner:
    """One workflow in memory, with the operations the service layer needs."""

    def __init__(self, workflow: BpmnWorkflow, on_task_done: Callable[[Task], None] | None = None):
        self.workflow = workflow
        self.on_task_done = on_task_done or (lambda task: None)
        self.ran = 0  # engine tasks run by this runner (0 after advance: nothing happened)
        self._fire_start_timer = False
        self._thrown_keys: list[tuple[str, str | None]] = []  # (message, correlation key)

    @classmethod
    def create(
        cls, specs: Specs, instance: operators.InstanceContext | None, variables: dict[str, Any]
    ) -> Runner:
        """A new workflow whose start task carries `variables`."""
        wf = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine(instance))
        start = wf.get_tasks(state=TaskState.READY)
        for task in start:
            task.data.update(variables)
        runner = cls(wf)
        runner._fire_start_timer = True
        return runner

    @classmethod
    def restore(
        cls, specs: Specs, state: str, instance: operators.InstanceContext | None
    ) -> Runner:
        """Rebuild a workflow from its stored state and its definition's specs."""
        with gc_paused():
            dct = json.loads(state)
            dct.pop(_state_serializer.VERSION_KEY, None)
            dct["spec"] = specs.spec
            dct["subprocess_specs"] = dict(specs.subprocess_specs)
            wf = _state_serializer.from_dict(dct)
        wf.script_engine = script_engine(instance)  # never serialized: reattach
        return cls(wf)

    def dump(self) -> str:
        """The workflow state as JSON text, without specs."""
        with gc_paused():
            text = _to_json(_state_serializer, self.workflow)
        # Keep the version marker inside the text too, as serialize_json does.
        return text[:-1] + f', "{_state_serializer.VERSION_KEY}": "{SERIALIZER_VERSION}"}}'

    # -- advancing

    def _run_ready(self, wf: Any) -> int:
        # Follow each branch from the task just run instead of rescanning the whole tree:
        # the library's rescans make long loops quadratic and stop at depth 1000.
        stack = [t for t in wf.tasks.values() if _is_engine_task(t)]
        stack.reverse()
        count = 0
        while stack:
            task = stack.pop()
            if not _is_engine_task(task):
                continue
            task.run()
            count += 1
            self.ran += 1
            self._note_thrown_message(task)
            self.on_task_done(task)
            stack.extend(reversed([c for c in task.children if _is_engine_task(c)]))
        return count

    def _round(self) -> bool:
        wf = self.workflow
        active = wf.get_active_subprocesses()
        for sub in sorted(active, key=lambda s: s.depth, reverse=True):
            while self._run_ready(sub):
                pass
            if sub.parent_task_id is not None:
                parent = wf.get_task_from_id(sub.parent_task_id)
                parent.task_spec._update(parent)
        count = self._run_ready(wf)
        return count > 0 or len(wf.get_active_subprocesses()) > len(active)

    def advance(self) -> None:
        """Run every engine task until each branch waits; raise ProcessError on failure."""
        try:
            for _ in range(MAX_ENGINE_ROUNDS):
                if self._round():
                    continue
                if self._fire_start_timer:
                    self._fire_start_timer = False
                    if self._fire_timer_start_events():
                        continue
                self.workflow.refresh_timers()  # a due timer makes its successor READY
                if not self._round():
                    break
            else:
                raise EngineStall(f"engine did not settle in {MAX_ENGINE_ROUNDS} rounds")
        except EngineStall:
            raise
        except (SpiffWorkflowException, WorkflowException) as exc:
            raise _process_error(exc) from exc
        except sandbox.SandboxError as exc:
            raise ProcessError(f"script refused: {exc}") from exc
        except (
            NameError,
            AttributeError,
            TypeError,
            KeyError,
            IndexError,
            ZeroDivisionError,
        ) as exc:
            # An expression the library evaluates outside a task's run (a message
            # correlation when a catch event starts waiting) fails unwrapped; it is still
            # the diagram's error, not the service's.
            raise ProcessError(f"an expression failed: {type(exc).__name__}: {exc}") from exc
        stranded = [t for t in _all_tasks(self.workflow) if _is_engine_task(t)]
        if stranded:
            names = ", ".join(sorted({t.task_spec.bpmn_id or t.task_spec.name for t in stranded}))
            raise EngineStall(f"runnable tasks were left behind: {names}")

    def _fire_timer_start_events(self) -> bool:
        # A new instance of a process with a timer start event begins at once: the
        # scheduler (engine/schedules.py) starts it when the timer says, or a person does.
        # The library would wait for the timer again, so we mark it as due now.
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        fired = False
        for task in list(self.workflow.tasks.values()):
            event = getattr(task.task_spec, "event_definition", None)
            if (
                task.state != TaskState.WAITING
                or task.parent is None
                or task.parent.task_spec.name != "Start"
                or not isinstance(event, TimerEventDefinition)
            ):
                continue
            if isinstance(event, CycleTimerEventDefinition):
                task.internal_data["event_value"] = {"cycles": 1, "next": past, "duration": 0}
            else:
                task.internal_data["event_value"] = past
            fired = True
        if fired:
            self.workflow.refresh_timers()
        return fired

    def complete(self, guid: str, data: dict[str, Any]) -> Task:
        """Merge `data` into a READY manual task, run it and advance."""
        task = self.task(guid)
        task.data.update(data)
        try:
            task.run()
        except (SpiffWorkflowException, WorkflowException) as exc:
            raise _process_error(exc) from exc
        self.advance()
        return task

    def task(self, guid: str) -> Task:
        """The task with this guid; KeyError if there is none."""
        try:
            task = self.workflow.get_task_from_id(UUID(guid))
        except (ValueError, TypeError) as exc:
            raise KeyError(guid) from exc
        if task is None:
            raise KeyError(guid)
        return task

    # -- asynchronous service tasks

    def async_calls(self) -> list[AsyncCall]:
        """Service tasks waiting for their operator to run in a job."""
        return [self._async_call(t) for t in _all_tasks(self.workflow) if _is_deferred(t)]

    def async_call(self, guid: str) -> AsyncCall | None:
        """The waiting async call of task `guid`, or None if it is not waiting."""
        try:
            task = self.task(guid)
        except KeyError:
            return None
        return self._async_call(task) if _is_deferred(task) else None

    def _async_call(self, task: Task) -> AsyncCall:
        spec = task.task_spec
        return AsyncCall(
            guid=str(task.id),
            name=spec.bpmn_name or spec.bpmn_id,
            operator=spec.operation_name,
            params=dict(task.internal_data.get("async_params") or {}),
            data=dict(task.data),
        )

    def complete_async(self, guid: str, result: Any) -> None:
        """Store the operator's result in the waiting task, complete it and advance."""
        task = self.task(guid)
        result = write_back(task.data, result)
        task.data[task.task_spec.result_variable] = json.loads(json.dumps(result))
        task.internal_data.pop("async_params", None)
        try:
            task.complete()
        except (SpiffWorkflowException, WorkflowException) as exc:
            raise _process_error(exc) from exc
        self.advance()

    # -- reading

    def is_ready_manual(self, guid: str) -> bool:
        """Whether `guid` is a user or manual task waiting for a person."""
        try:
            task = self.task(guid)
        except KeyError:
            return False
        return task.state == TaskState.READY and bool(task.task_spec.manual)

    @property
    def completed(self) -> bool:
        return bool(self.workflow.completed) and not any(
            t.state & TaskState.NOT_FINISHED_MASK for t in _all_tasks(self.workflow)
        )

    def ready_manual_tasks(self) -> list[ReadyTask]:
        """READY user and manual tasks, in creation order."""
        return [
            ReadyTask(
                guid=str(t.id),
                bpmn_id=t.task_spec.bpmn_id,
                name=t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                lane=t.task_spec.lane,
                data=t.data,
                item=_instance_item(t),
            )
            for t in _all_tasks(self.workflow)
            if t.state == TaskState.READY and t.task_spec.manual
        ]

    def timers(self) -> list[Timer]:
        """Timers the instance waits for, with their due time when known."""
        result = []
        for task in _all_tasks(self.workflow):
            if not (
                isinstance(task.task_spec, CatchingEvent)
                and task.state & (TaskState.WAITING | TaskState.READY)
            ):
                continue
            event = task.task_spec.event_definition
            if not isinstance(event, TimerEventDefinition):
                continue
            pending = event.details(task)
            result.append(
                Timer(
                    name=task.task_spec.bpmn_id or pending.name,
                    kind=pending.event_type,
                    due=_parse_due(pending.value),
                )
            )
        return result

    def variables(self) -> dict[str, Any]:
        """The data of the task that ran last: what the instance 'knows' now."""
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def thrown_events(self) -> list[Any]:
        """Events thrown for other instances (messages), emptying the queue."""
        return list(self.workflow.get_events())

    def _note_thrown_message(self, task: Task) -> None:
        # The library gives a thrown message the correlations of collaboration-level
        # correlation keys only; a throw event's processVariableCorrelation (as its catch
        # events use) is evaluated here so both sides correlate the same way.
        event = getattr(task.task_spec, "event_definition", None)
        if not (
            isinstance(task.task_spec, ThrowingEvent) and isinstance(event, MessageEventDefinition)
        ):
            return
        found = event.calculate_correlations(
            task.workflow.script_engine, getattr(event, "process_correlations", []), task.data
        )
        self._thrown_keys.append((event.name, _first_correlation_value(found)))

    def thrown_messages(self) -> list[ThrownMessage]:
        """Messages this run threw for other instances (the library's queue is emptied)."""
        keys = list(self._thrown_keys)
        self._thrown_keys.clear()
        result = []
        for event in self.thrown_events():
            name = event.event_definition.name
            key = _first_correlation_value(event.correlations)
            match = next((i for i, (n, _) in enumerate(keys) if n == name), None)
            if match is not None:
                noted = keys.pop(match)[1]
                key = key if key is not None else noted
            result.append(
                ThrownMessage(name, json.loads(json.dumps(event.payload, default=str)), key)
            )
        return result

    # -- messages

    def waiting_messages(self) -> list[WaitingMessage]:
        """Messages the instance waits for, each with the correlation value it expects."""
        result: list[WaitingMessage] = []
        for task in _waiting_message_tasks(self.workflow):
            waiting = WaitingMessage(task.task_spec.event_definition.name, _correlation_key(task))
            if waiting not in result:
                result.append(waiting)
        return result

    def deliver_message(
        self, name: str, payload: Any, correlation_key: str | None, any_key: bool = False
    ) -> None:
        """Hand a message to the task waiting for it (matching `correlation_key`) and advance.

        `any_key` ignores the correlation (a message start event of a new instance).
        """
        tasks = [
            t
            for t in _waiting_message_tasks(self.workflow)
            if t.task_spec.event_definition.name == name
            and (any_key or _correlation_key(t) == correlation_key)
        ]
        if not tasks:
            raise NoReceiver(f"the instance does not wait for message {name!r}")
        task = tasks[0]
        # Assert the correlation the match was made on, so that the library's own check
        # (which compares the event's correlations with the instance's) agrees with it.
        event = BpmnEvent(
            task.task_spec.event_definition,
            payload=payload,
            correlations=copy.deepcopy(task.workflow.correlations),
        )
        try:
            self.workflow.send_event(event)
        except Exception as exc:  # the library and the sandbox raise many kinds here
            raise ProcessError(
                f"message {name!r} could not be received: {exc}", task=task.task_spec.bpmn_id
            ) from exc
        self.advance()


@dataclass(frozen=True)
class ThrownMessage:
    """A message an instance sent to others."""

    name: str
    payload: Any
    correlation_key: str | None


def _first_correlation_value(correlations: dict[str, dict[str, Any]]) -> str | None:
    for props in correlations.values():
        for value in props.values():
            if value is not None:
                return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None


@dataclass(frozen=True)
class WaitingMessage:
    """A message a task waits for; `correlation_key` is the value it expects, if any."""

    name: str
    correlation_key: str | None


def _waiting_message_tasks(wf: BpmnWorkflow) -> list[Task]:
    return [
        t
        for t in _all_tasks(wf)
        if isinstance(t.task_spec, CatchingEvent)
        and t.state == TaskState.WAITING
        and isinstance(t.task_spec.event_definition, MessageEventDefinition)
    ]


def _correlation_key(task: Task) -> str | None:
    # The first known value among the event's correlation properties: set from the
    # instance's data by spiffworkflow:processVariableCorrelation when the task starts
    # waiting, or by an earlier message of the same conversation.
    event = task.task_spec.event_definition
    known = task.workflow.correlations
    for prop in [*getattr(event, "process_correlations", []), *event.correlation_properties]:
        for key in prop.correlation_keys:
            value = known.get(key, {}).get(prop.name)
            if value is not None:
                return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None


def _parse_due(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            due = datetime.fromisoformat(value)
        except ValueError:
            return None
        return naive_utc(due)
    return None


def _process_error(exc: Exception) -> ProcessError:
    task = getattr(exc, "task", None)
    task_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None) if task else None
    message = str(exc).strip() or type(exc).__name__
    # The library says which expression failed but not why (the sandbox's refusal, a
    # limit, a NameError): the original error is the one it was raised while handling.
    cause = _original_error(exc)
    if cause is not None and str(cause) not in message:
        message = f"{message} {type(cause).__name__}: {cause}"
    return ProcessError(message, task=task_id)


def _original_error(exc: BaseException) -> BaseException | None:
    seen = {id(exc)}
    current = exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen:
        if not isinstance(current, SpiffWorkflowException | WorkflowException):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# ---------------------------------------------------------------------- start timers


@dataclass(frozen=True)
class StartSchedule:
    """When a process with a timer start event is to be started."""

    first: datetime
    interval: timedelta | None  # None: once
    repeats: int  # how many starts in all; -1: for ever


def start_schedule(specs: Specs, deployed_at: datetime) -> StartSchedule | None:
    """The schedule of the process's timer start event, or None if it has none."""
    for ts in specs.spec.task_specs.values():
        event = getattr(ts, "event_definition", None)
        if not isinstance(event, TimerEventDefinition) or not any(
            p.name == "Start" for p in ts.inputs
        ):
            continue
        try:
            value = sandbox.evaluate(event.expression, {})
            if isinstance(event, CycleTimerEventDefinition):
                cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
                return StartSchedule(naive_utc(start), duration, cycles)
            if isinstance(event, TimeDateEventDefinition):
                return StartSchedule(naive_utc(TimerEventDefinition.get_datetime(value)), None, 1)
            duration = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(value)
            )
            return StartSchedule(deployed_at + duration, None, 1)
        except (ValueError, TypeError, SpiffWorkflowException, sandbox.SandboxError) as exc:
            raise DefinitionInvalid(
                f"timer start event {ts.bpmn_id}: {exc}", {"diagram": [f"{ts.bpmn_id}: {exc}"]}
            ) from exc
    return None
