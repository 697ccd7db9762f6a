"""The linear-procedure generator: valid BPMN, full diagram interchange, escaped text."""

from __future__ import annotations

import pytest
from lxml import etree

from engine import linear, runtime
from engine.errors import InvalidInput
from engine.xml import BPMN_NS, CRM_NS, parse_xml

DI = {"bpmndi": linear.BPMNDI_NS, "dc": linear.DC_NS, "di": linear.DI_NS, "bpmn": BPMN_NS}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "exclusiveGateway")


def _steps() -> list[linear.Step]:
    return [
        linear.Step("Draft", "alice", instructions="Write the draft", duration="P2D"),
        linear.Step("Review", "bob", working_days=3),
        linear.Step("Check", "group:support", on_reject="back", back_to=1),
        linear.Step("Approve", "designer", on_reject="back", back_to=2),
        linear.Step("Archive", "alice"),
    ]


def _root(steps: list[linear.Step] | None = None, title: str = "Contract") -> etree._Element:
    return parse_xml(linear.build_bpmn("linear_test", title, steps or _steps()))


def test_every_flow_node_has_a_shape_and_every_flow_an_edge_with_waypoints():
    root = _root()
    shapes = {
        s.get("bpmnElement"): s.find("dc:Bounds", DI)
        for s in root.iterfind(".//bpmndi:BPMNShape", DI)
    }
    nodes = [n.get("id") for tag in FLOW_NODES for n in root.iter(f"{{{BPMN_NS}}}{tag}")]
    # 1 start, 5 tasks, 5 gateways, 1 completed end, 3 stopped ends (steps 1, 2, 5)
    assert len(nodes) == 15
    for node in [*nodes, "linear_test_pool", "lane_1", "lane_2", "lane_3", "lane_4"]:
        bounds = shapes[node]
        assert bounds is not None, node
        assert int(bounds.get("width")) > 0 and int(bounds.get("height")) > 0
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", DI)}
    flows = list(root.iter(f"{{{BPMN_NS}}}sequenceFlow"))
    assert len(flows) == 1 + 5 * 3  # start, and per step: to gateway, approve, reject
    for flow in flows:
        points = edges[flow.get("id")].findall("di:waypoint", DI)
        assert len(points) >= 2, flow.get("id")
    plane = root.find(".//bpmndi:BPMNPlane", DI)
    assert plane.get("bpmnElement") == "linear_test_collaboration"


def _box(root: etree._Element, element: str) -> tuple[int, int, int, int]:
    shape = root.find(f".//bpmndi:BPMNShape[@bpmnElement='{element}']/dc:Bounds", DI)
    return tuple(int(shape.get(a)) for a in ("x", "y", "width", "height"))  # type: ignore[return-value]


def test_steps_run_left_to_right_and_rejections_return_below():
    root = _root()
    xs = [_box(root, f"step_{n}")[0] for n in range(1, 6)]
    assert xs == sorted(xs) and len(set(xs)) == 5
    edge = root.find(".//bpmndi:BPMNEdge[@bpmnElement='reject_4']", DI)
    points = [(int(p.get("x")), int(p.get("y"))) for p in edge.findall("di:waypoint", DI)]
    gx, gy, gw, gh = _box(root, "decide_4")
    tx, ty, tw, th = _box(root, "step_2")
    assert points[0] == (gx + gw // 2, gy + gh)  # leaves the gateway downwards
    assert points[-1] == (tx + tw // 2, ty + th)  # enters step 2 from below
    assert min(y for _, y in points[1:-1]) > max(gy + gh, ty + th)  # runs below both
    flow = root.find(f".//{{{BPMN_NS}}}sequenceFlow[@id='reject_4']")
    assert flow.get("sourceRef") == "decide_4" and flow.get("targetRef") == "step_2"


def test_the_engine_parses_it_with_lanes_forms_and_due_dates():
    xml = linear.build_bpmn("linear_test", "Contract", _steps())
    parser = runtime.new_parser()
    runtime.add_bpmn(parser, parse_xml(xml), "linear_test.bpmn")
    assert parser.get_process_ids() == ["linear_test"]
    specs = runtime.build_specs(parser, "linear_test")
    tasks = {t.bpmn_id: t for t in runtime.describe_tasks(specs)}
    assert tasks["step_3"].kind == "user" and tasks["step_3"].lane == "group:support"
    root = parse_xml(xml)
    draft = root.find(f".//{{{BPMN_NS}}}userTask[@id='step_1']")
    assert draft.get(f"{{{CRM_NS}}}dueIn") == "P2D"
    assert draft.findtext(f"{{{BPMN_NS}}}documentation") == "Write the draft"
    assert draft.findtext(f".//{{{CRM_NS}}}text") == "Write the draft"
    review = root.find(f".//{{{BPMN_NS}}}userTask[@id='step_2']")
    assert review.get(f"{{{CRM_NS}}}dueInWorkingDays") == "3"
    options = [o.get("value") for o in draft.iter(f"{{{CRM_NS}}}option")]
    assert options == ["approve", "reject"]


def test_user_text_is_escaped_not_markup():
    hostile = 'x"/><bpmn:scriptTask id="evil"><bpmn:script>import os</bpmn:script>&amp;'
    steps = [linear.Step(hostile, "alice", instructions="</bpmn:documentation><!DOCTYPE x>")]
    root = _root(steps, title=hostile)
    assert root.find(f".//{{{BPMN_NS}}}scriptTask") is None
    task = root.find(f".//{{{BPMN_NS}}}userTask")
    assert task.get("name") == hostile
    assert task.findtext(f"{{{BPMN_NS}}}documentation") == "</bpmn:documentation><!DOCTYPE x>"
    assert root.find(f".//{{{BPMN_NS}}}process").get("name") == hostile


def test_lane_owners_put_each_lane_in_its_executors_inbox():
    owners = linear.lane_owners(_steps())
    assert owners == {
        "alice": ["alice"],
        "bob": ["bob"],
        "group:support": ["group:support"],
        "designer": ["designer"],
    }
    assert linear.lane_owners(_steps(), {"bob": "carol"})["bob"] == ["carol"]


@pytest.mark.parametrize(
    ("step", "field"),
    [
        (linear.Step("", "alice"), "steps[1].title"),
        (linear.Step("T", "not a user"), "steps[1].executor"),
        (linear.Step("T", "alice", on_reject="back", back_to=2), "steps[1].back_to"),
        (linear.Step("T", "alice", on_reject="back"), "steps[1].back_to"),
        (linear.Step("T", "alice", duration="3 days"), "steps[1].duration"),
        (linear.Step("T", "alice", duration="P99999999999999D"), "steps[1].duration"),
        (linear.Step("T", "alice", duration="P5000D"), "steps[1].duration"),
        (linear.Step("T", "alice", duration="P1D", working_days=2), "steps[1].duration"),
        (linear.Step("T", "alice", on_reject="retry"), "steps[1].on_reject"),
        (linear.Step("T", "alice", instructions="bell\x07"), "steps[1].instructions"),
    ],
)
def test_step_errors_name_the_field(step: linear.Step, field: str):
    errors = linear.step_errors([linear.Step("First", "alice"), step])
    assert field in errors, errors


def test_at_most_fifty_steps_and_a_title():
    too_many = [linear.Step(f"S{i}", "alice") for i in range(linear.MAX_STEPS + 1)]
    with pytest.raises(InvalidInput) as raised:
        linear.build_bpmn("linear_x", "", too_many)
    assert set(raised.value.errors) == {"steps", "title"}
    fifty = linear.build_bpmn("linear_x", "Long", too_many[:50])
    assert len(parse_xml(fifty).findall(f".//{{{BPMN_NS}}}userTask")) == 50
