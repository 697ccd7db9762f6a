"""A generated linear procedure draws in the UI's bpmn-js viewer, every element of it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine import linear, linear_procedures
from engine.actor import Actor
from engine.xml import BPMN_NS, parse_xml

from .conftest import sign_in


def test_generated_diagram_draws_every_element(served: str, page: Page, shot) -> None:
    steps = [
        linear.Step('Draft <the> "memo"', "designer", instructions="Attach it"),
        linear.Step("Review", "manager", duration="P2D"),
        linear.Step("Check", "group:sales", on_reject="back", back_to=1),
        linear.Step("Approve", "designer", on_reject="back", back_to=2),
        linear.Step("Archive", "manager"),
    ]
    run = linear_procedures.create(
        Actor("designer", frozenset({"designers"})),
        "Memo route",
        {"type": "document", "id": "d-1"},
        steps,
    )
    key = run.procedure.key
    root = parse_xml(linear.build_bpmn(key, "Memo route", steps))
    ids = [
        node.get("id")
        for tag in ("startEvent", "endEvent", "userTask", "exclusiveGateway", "sequenceFlow")
        for node in root.iter(f"{{{BPMN_NS}}}{tag}")
    ]
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/procedures/bpmn/{key}")
    expect(page.locator("#diagram[data-loaded=true]")).to_be_visible()
    for element_id in ids:
        expect(page.locator(f"#diagram .djs-element[data-element-id={element_id}]")).to_have_count(
            1
        )
    expect(page.locator("#diagram [data-element-id=step_1]")).to_contain_text('Draft <the> "memo"')
    shot("linear-procedure")
