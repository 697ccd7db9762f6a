"""Linear procedures as BPMN: a list of steps becomes an ordinary diagram with its layout.

start → step 1 → "Approved?" → step 2 → … → step N → "Approved?" → completed.
Each step is a user task with a decision form (approve / reject, comment) and the step's
instructions; a rejection goes back to an earlier step or ends the run as "stopped".
Each distinct executor has a lane; the instance's `lane_owners` puts the lane's tasks in
that executor's inbox (docs/engine.md, "Who gets a user task"). The diagram carries BPMN
diagram interchange (shapes and edges), so bpmn-js draws it as generated.

The XML is built with lxml, so whatever a user typed is escaped, never spliced into markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lxml import etree

from .durations import parse_duration
from .errors import InvalidInput
from .xml import BPMN_NS, CRM_NS

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "crm": CRM_NS}

MAX_STEPS = 50
MAX_TITLE = 200
MAX_INSTRUCTIONS = 10_000
MAX_WORKING_DAYS = 366
MAX_DURATION = timedelta(days=3660)  # a deadline past that is a typo, and may overflow
# A user name, or group:NAME (the principals an Actor matches, engine.actor).
EXECUTOR = re.compile(r"^(group:)?[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,99}$")
# Characters XML 1.0 cannot carry (lxml refuses them): reported as input errors instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Layout (pixels): steps left to right, one lane per executor, rejections routed below.
POOL_X, POOL_Y, POOL_LABEL = 100, 60, 30
LANE_H = 200
FIRST_COLUMN_X, COLUMN_W = 250, 250
TASK_W, TASK_H = 100, 80
GATEWAY = 50
EVENT = 36


@dataclass(frozen=True)
class Step:
    """One step: who works on it, what to do, by when, and where a rejection leads."""

    title: str
    executor: str  # "user" or "group:NAME"
    instructions: str = ""
    duration: str | None = None  # ISO 8601, e.g. "P3D"
    working_days: int | None = None  # or working days (Russia's production calendar)
    on_reject: str = "stop"  # "stop" or "back"
    back_to: int | None = None  # with "back": the 1-based number of an earlier step


def step_from_dict(data: dict[str, Any]) -> Step:
    """A Step from its JSON shape (as the API and the stored procedure keep it)."""
    return Step(
        title=data["title"],
        executor=data["executor"],
        instructions=data.get("instructions") or "",
        duration=data.get("duration"),
        working_days=data.get("working_days"),
        on_reject=data.get("on_reject") or "stop",
        back_to=data.get("back_to"),
    )


def step_to_dict(step: Step) -> dict[str, Any]:
    """The JSON shape of a Step."""
    return {
        "title": step.title,
        "executor": step.executor,
        "instructions": step.instructions,
        "duration": step.duration,
        "working_days": step.working_days,
        "on_reject": step.on_reject,
        "back_to": step.back_to,
    }


def _text_errors(value: str, limit: int, required: bool) -> list[str]:
    if required and not value.strip():
        return ["is required"]
    if len(value) > limit:
        return [f"at most {limit} characters"]
    if _NOT_XML.search(value):
        return ["contains control characters"]
    return []


def title_errors(title: str) -> list[str]:
    """Problems with a procedure's title (empty when it is fine)."""
    return _text_errors(title, MAX_TITLE, required=True)


def step_errors(steps: list[Step]) -> dict[str, list[str]]:
    """Problems with a list of steps, keyed by field path (`steps[2].executor`)."""
    errors: dict[str, list[str]] = {}
    if not steps:
        errors["steps"] = ["at least one step is required"]
    if len(steps) > MAX_STEPS:
        errors["steps"] = [f"at most {MAX_STEPS} steps"]
    for i, step in enumerate(steps):
        where = f"steps[{i}]"

        def add(field: str, message: str, where: str = where) -> None:
            errors.setdefault(f"{where}.{field}", []).append(message)

        for message in _text_errors(step.title, MAX_TITLE, required=True):
            add("title", message)
        for message in _text_errors(step.instructions, MAX_INSTRUCTIONS, required=False):
            add("instructions", message)
        if not EXECUTOR.match(step.executor):
            add("executor", "a user name or group:NAME")
        if step.duration is not None and step.working_days is not None:
            add("duration", "give either duration or working_days, not both")
        if step.duration is not None:
            try:
                if parse_duration(step.duration) > MAX_DURATION:
                    add("duration", f"at most {MAX_DURATION.days} days")
            except (ValueError, OverflowError) as exc:
                add("duration", str(exc) or "too long")
        if step.working_days is not None and not 0 <= step.working_days <= MAX_WORKING_DAYS:
            add("working_days", f"between 0 and {MAX_WORKING_DAYS}")
        if step.on_reject not in ("stop", "back"):
            add("on_reject", "one of: stop, back")
        elif step.on_reject == "back":
            if step.back_to is None:
                add("back_to", "required when on_reject is back")
            elif not 1 <= step.back_to <= i:
                add("back_to", f"must be the number of an earlier step (1 to {i})")
        elif step.back_to is not None:
            add("back_to", "only with on_reject: back")
    return errors


def check(title: str, steps: list[Step]) -> None:
    """Raise InvalidInput naming each bad field, or return."""
    errors = step_errors(steps)
    problems = title_errors(title)
    if problems:
        errors["title"] = problems
    if errors:
        raise InvalidInput("the procedure has invalid fields", errors)


def lanes(steps: list[Step]) -> list[str]:
    """The lanes of the diagram: one per distinct executor, in order of first appearance."""
    return list(dict.fromkeys(step.executor for step in steps))


def lane_owners(steps: list[Step], replace: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The `lane_owners` start variable: each lane's executor (or its replacement)."""
    replace = replace or {}
    return {lane: [replace.get(lane, lane)] for lane in lanes(steps)}


# ------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class _Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


def _lane_top(lane: int) -> int:
    return POOL_Y + lane * LANE_H


def _centered(x: int, lane: int, w: int, h: int) -> _Box:
    """A box at x whose middle is at the height of the lane's task row."""
    return _Box(x, _lane_top(lane) + 30 + TASK_H // 2 - h // 2, w, h)


def _forward(src: _Box, dst: _Box) -> list[tuple[int, int]]:
    """Right side of src to left side of dst; a dogleg when they sit in different lanes."""
    if src.cy == dst.cy:
        return [(src.right, src.cy), (dst.x, dst.cy)]
    mid = (src.right + dst.x) // 2
    return [(src.right, src.cy), (mid, src.cy), (mid, dst.cy), (dst.x, dst.cy)]


# ----------------------------------------------------------------------------- builder


class _Builder:
    def __init__(self, key: str, title: str, steps: list[Step]):
        self.key, self.title, self.steps = key, title, steps
        self.lanes = lanes(steps)
        self.root = etree.Element(f"{{{BPMN_NS}}}definitions", nsmap=NSMAP)
        self.root.set("id", f"{key}_definitions")
        self.root.set("targetNamespace", "urn:bpmcrm:linear")
        collaboration = self._el(self.root, "collaboration", id=f"{key}_collaboration")
        self._el(collaboration, "participant", id=f"{key}_pool", name=title, processRef=key)
        self.process = self._el(self.root, "process", id=key, name=title, isExecutable="true")
        doc = self._el(self.process, "documentation")
        doc.text = f"Linear procedure: {title}"
        lane_set = self._el(self.process, "laneSet", id=f"{key}_lanes")
        self.lane_nodes = [
            self._el(lane_set, "lane", id=f"lane_{n + 1}", name=name)
            for n, name in enumerate(self.lanes)
        ]
        diagram = etree.SubElement(self.root, f"{{{BPMNDI_NS}}}BPMNDiagram", id=f"{key}_diagram")
        self.plane = etree.SubElement(
            diagram,
            f"{{{BPMNDI_NS}}}BPMNPlane",
            id=f"{key}_plane",
            bpmnElement=f"{key}_collaboration",
        )
        self.incoming: dict[str, list[str]] = {}
        self.outgoing: dict[str, list[str]] = {}
        self.nodes: dict[str, etree._Element] = {}

    @staticmethod
    def _el(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{BPMN_NS}}}{tag}", **attrs)

    @staticmethod
    def _bounds(parent: etree._Element, box: _Box) -> None:
        etree.SubElement(
            parent,
            f"{{{DC_NS}}}Bounds",
            x=str(box.x),
            y=str(box.y),
            width=str(box.w),
            height=str(box.h),
        )

    def _label(self, parent: etree._Element, box: _Box | None) -> None:
        """Where the name is drawn (bpmn-js puts it below the element otherwise)."""
        if box is not None:
            self._bounds(etree.SubElement(parent, f"{{{BPMNDI_NS}}}BPMNLabel"), box)

    def _shape(self, element_id: str, box: _Box, label: _Box | None = None, **extra: str) -> None:
        shape = etree.SubElement(
            self.plane,
            f"{{{BPMNDI_NS}}}BPMNShape",
            id=f"{element_id}_di",
            bpmnElement=element_id,
            **extra,
        )
        self._bounds(shape, box)
        self._label(shape, label)

    def _node(
        self,
        tag: str,
        element_id: str,
        lane: int,
        box: _Box,
        label: _Box | None = None,
        **attrs: str,
    ) -> etree._Element:
        node = self._el(self.process, tag, id=element_id, **attrs)
        self.nodes[element_id] = node
        ref = self._el(self.lane_nodes[lane], "flowNodeRef")
        ref.text = element_id
        self._shape(element_id, box, label)
        return node

    def _flow(
        self,
        flow_id: str,
        source: str,
        target: str,
        points: list[tuple[int, int]],
        name: str | None = None,
        condition: str | None = None,
        label: _Box | None = None,
    ) -> etree._Element:
        attrs = {"id": flow_id, "sourceRef": source, "targetRef": target}
        if name:
            attrs["name"] = name
        flow = self._el(self.process, "sequenceFlow", **attrs)
        if condition:
            expression = self._el(flow, "conditionExpression")
            expression.text = condition
        self.outgoing.setdefault(source, []).append(flow_id)
        self.incoming.setdefault(target, []).append(flow_id)
        edge = etree.SubElement(
            self.plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id
        )
        for x, y in points:
            etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=str(x), y=str(y))
        self._label(edge, label)
        return flow

    def _user_task(self, number: int, step: Step, lane: int, box: _Box) -> None:
        attrs = {"name": step.title}
        if step.duration is not None:
            attrs[f"{{{CRM_NS}}}dueIn"] = step.duration
        elif step.working_days is not None:
            attrs[f"{{{CRM_NS}}}dueInWorkingDays"] = str(step.working_days)
        task = self._node("userTask", f"step_{number}", lane, box, None, **attrs)
        if step.instructions:
            documentation = self._el(task, "documentation")
            documentation.text = step.instructions
        extensions = self._el(task, "extensionElements")
        form = etree.SubElement(extensions, f"{{{CRM_NS}}}form")
        if step.instructions:
            text = etree.SubElement(form, f"{{{CRM_NS}}}text")
            text.text = step.instructions
        decision = etree.SubElement(
            form,
            f"{{{CRM_NS}}}field",
            id="decision",
            type="enum",
            label="Decision",
            required="true",
        )
        decision.set("label.ru", "Решение")
        for value, label, label_ru in (
            ("approve", "Approve", "Согласовать"),
            ("reject", "Reject", "Отклонить"),
        ):
            option = etree.SubElement(decision, f"{{{CRM_NS}}}option", value=value, label=label)
            option.set("label.ru", label_ru)
        comment = etree.SubElement(
            form, f"{{{CRM_NS}}}field", id="comment", type="text", label="Comment"
        )
        comment.set("label.ru", "Комментарий")
        comment.set("maxLength", "10000")

    def build(self) -> bytes:
        steps, lane_of = self.steps, {name: n for n, name in enumerate(self.lanes)}
        step_lanes = [lane_of[s.executor] for s in steps]
        tasks = [
            _centered(FIRST_COLUMN_X + i * COLUMN_W, step_lanes[i], TASK_W, TASK_H)
            for i in range(len(steps))
        ]
        gateways = [
            _centered(box.right + 40, step_lanes[i], GATEWAY, GATEWAY)
            for i, box in enumerate(tasks)
        ]
        start = _centered(FIRST_COLUMN_X - 80, step_lanes[0], EVENT, EVENT)
        end = _centered(FIRST_COLUMN_X + len(steps) * COLUMN_W, step_lanes[-1], EVENT, EVENT)
        self._pool_and_lanes(end.right + 60)

        self._node("startEvent", "start", step_lanes[0], start, name="Started")
        self._flow("to_step_1", "start", "step_1", _forward(start, tasks[0]))
        back_edges = 0
        for i, step in enumerate(steps):
            number = i + 1
            self._user_task(number, step, step_lanes[i], tasks[i])
            decide = f"decide_{number}"
            self._node(
                "exclusiveGateway",
                decide,
                step_lanes[i],
                gateways[i],
                _Box(gateways[i].x - 15, gateways[i].y - 20, 80, 14),  # above: rejections go below
                name="Approved?",
                default=f"reject_{number}",
            )
            self._flow(
                f"to_decide_{number}", f"step_{number}", decide, _forward(tasks[i], gateways[i])
            )
            gw = gateways[i]
            rejected_label = _Box(gw.cx + 6, gw.bottom + 4, 50, 14)
            if number < len(steps):
                target, target_box = f"step_{number + 1}", tasks[i + 1]
            else:
                target, target_box = "completed", end
            self._flow(
                f"approve_{number}",
                decide,
                target,
                _forward(gw, target_box),
                name="approved",
                condition='decision == "approve"',
                label=_Box(gw.right + 4, gw.cy - 18, 50, 14),
            )
            if step.on_reject == "back" and step.back_to is not None:
                back = tasks[step.back_to - 1]
                lowest = max(step_lanes[i], step_lanes[step.back_to - 1])
                # Below the lower lane's task row, staggered so parallel returns stay apart.
                channel = _lane_top(lowest) + LANE_H - 14 - 9 * (back_edges % 6)
                back_edges += 1
                points = [
                    (gw.cx, gw.bottom),
                    (gw.cx, channel),
                    (back.cx, channel),
                    (back.cx, back.bottom),
                ]
                self._flow(
                    f"reject_{number}",
                    decide,
                    f"step_{step.back_to}",
                    points,
                    name="rejected",
                    label=rejected_label,
                )
            else:
                stopped = _Box(gw.cx - EVENT // 2, _lane_top(step_lanes[i]) + 125, EVENT, EVENT)
                self._node("endEvent", f"stopped_{number}", step_lanes[i], stopped, name="Stopped")
                self._flow(
                    f"reject_{number}",
                    decide,
                    f"stopped_{number}",
                    [(gw.cx, gw.bottom), (gw.cx, stopped.y)],
                    name="rejected",
                    label=rejected_label,
                )
        self._node("endEvent", "completed", step_lanes[-1], end, name="Completed")
        self._wire()
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _pool_and_lanes(self, right: int) -> None:
        width = right - POOL_X
        self._shape(
            f"{self.key}_pool",
            _Box(POOL_X, POOL_Y, width, LANE_H * len(self.lanes)),
            isHorizontal="true",
        )
        for n, _ in enumerate(self.lanes):
            self._shape(
                f"lane_{n + 1}",
                _Box(POOL_X + POOL_LABEL, _lane_top(n), width - POOL_LABEL, LANE_H),
                isHorizontal="true",
            )

    def _wire(self) -> None:
        """<incoming>/<outgoing> children, which the schema wants before other content."""
        for element_id, node in self.nodes.items():
            position = 0
            for tag in ("documentation", "extensionElements"):
                found = node.find(f"{{{BPMN_NS}}}{tag}")
                if found is not None:
                    position = node.index(found) + 1
            for tag, refs in (
                ("incoming", self.incoming.get(element_id, [])),
                ("outgoing", self.outgoing.get(element_id, [])),
            ):
                for ref in refs:
                    child = etree.Element(f"{{{BPMN_NS}}}{tag}")
                    child.text = ref
                    node.insert(position, child)
                    position += 1


def build_bpmn(key: str, title: str, steps: list[Step]) -> bytes:
    """The BPMN 2.0 XML (with diagram interchange) of a linear procedure."""
    check(title, steps)
    return _Builder(key, title, steps).build()
