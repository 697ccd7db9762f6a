"""Changes to a running workflow that only administrators make: move a token, cancel or
skip an activity, set variables, count tokens per element, migrate to another version.

Each function works on a `runtime.Runner` in memory; `engine.repair` wraps them in the
usual load / compare-and-set / project cycle and records who did what and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from . import runtime
from .errors import InvalidInput

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class RepairRefused(InvalidInput):
    """The requested repair does not fit the instance's state."""

    code = "repair_refused"


def _bpmn_tasks(runner: runtime.Runner) -> list[Task]:
    return [t for t in runtime._all_tasks(runner.workflow) if getattr(t.task_spec, "bpmn_id", None)]


def active_tasks(runner: runtime.Runner, bpmn_id: str | None = None) -> list[Task]:
    """Tasks holding a token now (READY, WAITING or STARTED), optionally of one element."""
    return [
        t
        for t in _bpmn_tasks(runner)
        if t.state & ACTIVE and (bpmn_id is None or t.task_spec.bpmn_id == bpmn_id)
    ]


def _one_active(runner: runtime.Runner, bpmn_id: str) -> Task:
    found = active_tasks(runner, bpmn_id)
    if not found:
        raise RepairRefused(f"no token is at {bpmn_id!r}", {"from": ["no active token here"]})
    return found[0]


def cancel_activity(runner: runtime.Runner, bpmn_id: str) -> None:
    """Remove the token from an element (its branch ends there)."""
    _one_active(runner, bpmn_id).cancel()
    runner.advance()


def move_token(runner: runtime.Runner, from_id: str, to_id: str) -> None:
    """Take the token from one element and put it on another of the same process."""
    task = _one_active(runner, from_id)
    spec = next(
        (s for s in task.workflow.spec.task_specs.values() if getattr(s, "bpmn_id", None) == to_id),
        None,
    )
    if spec is None:
        raise RepairRefused(f"the process has no element {to_id!r}", {"to": ["unknown element"]})
    parent = task.parent
    task.cancel()
    # Added as FUTURE and predicted, the new task gets its successors like any other.
    child = parent._add_child(spec, TaskState.FUTURE)
    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
    child.task_spec._update(child)
    runner.advance()


def skip_task(runner: runtime.Runner, bpmn_id: str, data: dict[str, Any]) -> None:
    """Complete an active task without running it, with `data` as its output."""
    task = _one_active(runner, bpmn_id)
    task.data.update(data)
    task.internal_data.pop("async_params", None)
    if task.state == TaskState.WAITING:
        task._set_state(TaskState.READY)
    task.complete()
    runner.advance()


def set_variables(runner: runtime.Runner, data: dict[str, Any]) -> int:
    """Merge `data` into the data of every task holding a token; return how many."""
    tasks = active_tasks(runner)
    if not tasks:
        raise RepairRefused("no task holds a token, so there is no data to change")
    for task in tasks:
        task.data.update(data)
    return len(tasks)


def diagram_state(runner: runtime.Runner) -> dict[str, dict[str, int]]:
    """Per BPMN element: how many tokens are active, completed and cancelled."""
    counts: dict[str, Counter[str]] = {}
    for task in _bpmn_tasks(runner):
        if task.state & ACTIVE:
            kind = "active"
        elif task.state == TaskState.COMPLETED:
            kind = "completed"
        elif task.state == TaskState.CANCELLED:
            kind = "cancelled"
        elif task.state == TaskState.ERROR:
            kind = "error"
        else:
            continue  # predicted paths are not tokens
        counts.setdefault(task.task_spec.bpmn_id, Counter())[kind] += 1
    return {k: dict(v) for k, v in counts.items()}


@dataclass
class MigrationPlan:
    """Whether an instance can move to another version, and how its tasks map."""

    possible: bool
    reasons: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


def plan_migration(
    runner: runtime.Runner, new: runtime.Specs, mapping: dict[str, str]
) -> tuple[MigrationPlan, WorkflowDiff | None]:
    """Align the instance's tasks with the new spec (by id, then by `mapping`)."""
    spec_diff = SpecDiff(runtime.spec_registry(), runner.workflow.spec, new.spec)
    by_id = {getattr(s, "bpmn_id", None): s for s in new.spec.task_specs.values()}
    for old_spec in list(spec_diff.alignment):
        target = mapping.get(getattr(old_spec, "bpmn_id", None) or "")
        if target is not None:
            if target not in by_id:
                return MigrationPlan(False, [f"the new version has no element {target!r}"]), None
            spec_diff.alignment[old_spec] = by_id[target]
    if runner.workflow.subprocesses:
        return MigrationPlan(False, ["instances inside a subprocess are not migrated"]), None
    diff = WorkflowDiff(runner.workflow, spec_diff)
    reasons = [
        f"active task {t.task_spec.bpmn_id!r} has no counterpart in the new version"
        for t in diff.removed
        if t.state & ACTIVE and getattr(t.task_spec, "bpmn_id", None)
    ]
    aligned = {
        t.task_spec.bpmn_id: getattr(diff.alignment.get(t), "bpmn_id", None)
        for t in active_tasks(runner)
    }
    return MigrationPlan(
        not reasons, reasons, {k: v for k, v in aligned.items() if v is not None}
    ), diff


def migrate(runner: runtime.Runner, new: runtime.Specs, diff: WorkflowDiff) -> None:
    """Switch the workflow to the new spec; active tasks are re-predicted on it."""
    migrate_workflow(diff, runner.workflow, new.spec)
    runner.workflow.subprocess_specs = dict(new.subprocess_specs)
    runner.advance()
