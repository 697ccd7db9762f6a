"""The engine's serializer shortcuts and waiting-task bookkeeping change nothing observable."""

import json
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import runtime

DATA = Path(__file__).parent.parent / "data"
BENCH = Path(__file__).parent.parent.parent / "bench" / "data"


class _LibraryState(BpmnWorkflowConverter):
    # The state as the library's own converters write it (specs left out, as ours do).
    def to_dict(self, workflow):  # type: ignore[no-untyped-def]
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


_library = BpmnWorkflowSerializer(
    BpmnWorkflowSerializer.configure({**runtime._SPEC_CONFIG, BpmnWorkflow: _LibraryState})
)


def _library_json(runner: runtime.Runner) -> str:
    _library.registry._encoder_mode = True
    try:
        return json.dumps(_library.to_dict(runner.workflow), cls=_library._encoder_cls)
    finally:
        _library.registry._encoder_mode = False


def _specs(path: Path, process_id: str) -> runtime.Specs:
    parser = runtime.new_parser()
    runtime.add_bpmn(parser, etree.fromstring(path.read_bytes()), path.name)
    return runtime.build_specs(parser, process_id)


@pytest.mark.parametrize(
    ("path", "process_id", "variables"),
    [
        (DATA / "parallel_sub_timer.bpmn", "deal_review", {}),
        (DATA / "parallel.bpmn", "parallel", {}),
        (BENCH / "approval_many.bpmn", "bench_approval", {"approvers": ["a", "b", "c"]}),
    ],
)
def test_state_is_the_librarys_text_at_every_step(
    path: Path, process_id: str, variables: dict
) -> None:
    specs = _specs(path, process_id)
    runner = runtime.Runner.create(specs, None, variables)
    runner.advance()
    steps = 0
    while True:
        ours = runner.dump()
        assert ours == _library_json(runner)[:-1] + ', "serializer_version": "1.5"}'
        restored = runtime.Runner.restore(specs, ours, None)
        assert restored.dump() == ours or path.name == "approval_many.bpmn"
        ready = runner.ready_manual_tasks()
        if not ready:
            break
        runner.complete(ready[0].guid, {"decision": "yes"})
        steps += 1
    assert steps >= 2


def test_a_long_loop_runs_to_the_end() -> None:
    loop = runtime.Runner.create(_specs(BENCH / "loop.bpmn", "counting_loop"), None, {"n": 1200})
    loop.advance()
    (confirm,) = loop.ready_manual_tasks()
    assert confirm.data["i"] == 1200
    loop.complete(confirm.guid, {})
    assert loop.completed


def test_a_join_waiting_across_a_restore_fires_when_the_last_branch_ends() -> None:
    specs = _specs(DATA / "parallel.bpmn", "parallel")
    runner = runtime.Runner.create(specs, None, {})
    runner.advance()
    first, second = runner.ready_manual_tasks()
    runner.complete(first.guid, {})
    assert any(t.state == TaskState.WAITING for t in runner.workflow.tasks.values())
    restored = runtime.Runner.restore(specs, runner.dump(), None)
    assert not restored.completed
    restored.complete(second.guid, {})
    assert restored.completed
