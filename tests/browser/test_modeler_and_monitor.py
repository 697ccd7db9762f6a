"""The designer's tools in a real browser: the modeler's properties panel (operator and its
parameters, form fields, due rule, a flow's condition; deploy problems marked on the
element), and the monitor's context menu on timeline bars (suspend, resume)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lxml import etree
from playwright.sync_api import ConsoleMessage, Page, expect

from engine import definitions, instances
from engine.actor import Actor

from .conftest import DATA, sign_in

Shot = Callable[[str], Path]
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CRM = "urn:bpmcrm:bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _csp_violations(page: Page) -> list[str]:
    """Collects what the browser reports against the strict script policy."""
    found: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    return found


def test_properties_panel_sets_an_operator_parameter_and_deploys_it(
    served: str, page: Page, shot: Shot
) -> None:
    definitions.deploy((DATA / "stage_review.bpmn").read_bytes(), "stage_review.bpmn", "designer")
    violations = _csp_violations(page)
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/procedures/bpmn/stage_review/1/edit")
    modeler = page.locator("#modeler[data-loaded=true]")
    expect(modeler).to_be_visible()

    # Nothing selected: the procedure's own settings.
    expect(page.get_by_label("Key (process id)")).to_have_value("stage_review")
    page.get_by_label("Who may start it (crm:startableBy)").fill("group:sales  manager")
    page.get_by_label("Who may start it (crm:startableBy)").press("Tab")
    page.get_by_label("Object types it starts on (crm:subjectTypes)").fill("organization")
    page.get_by_label("Object types it starts on (crm:subjectTypes)").press("Tab")

    # A service task: its operator comes from the server's list, with its parameters.
    page.locator("#modeler .djs-element[data-element-id=load_info]").click()
    expect(page.get_by_label("Service operator")).to_have_value("instance_info")
    page.get_by_label("Service operator").select_option("set_stage")
    stage = page.locator("#prop-params input[data-param=stage]")
    expect(stage).to_be_visible()
    expect(page.locator("#prop-params")).to_contain_text("stage *")
    page.get_by_label("Result variable").fill("stage")
    page.get_by_label("Result variable").press("Tab")

    # Deploying without the required parameter: the server's problem is marked on the task.
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_contain_text("parameter 'stage' is required")
    expect(page.locator("#modeler .djs-element.deploy-problem")).to_have_count(1)
    expect(page.locator(".problem-badge")).to_have_count(1)
    expect(page.locator("#prop-problems")).to_contain_text("parameter 'stage' is required")
    shot("deploy-problem")

    stage.fill("'approval'")
    stage.press("Tab")

    # A user task: a new form field and another due rule.
    page.locator("#modeler .djs-element[data-element-id=review]").click()
    expect(page.get_by_label("Field id").first).to_have_value("verdict")
    # Outside any lane: a note on who gets it instead of a lane name to edit.
    expect(page.locator("#prop-lane")).to_be_hidden()
    expect(page.locator("#prop-lane-none")).to_be_visible()
    page.get_by_role("button", name="Add a field").click()
    new_field = page.locator("#prop-fields fieldset").nth(1)
    new_field.get_by_label("Field id").fill("score")
    new_field.get_by_label("Field id").press("Tab")
    new_field.get_by_label("Type").select_option("integer")
    new_field.get_by_label("Label", exact=True).fill("Score")
    new_field.get_by_label("Label", exact=True).press("Tab")
    new_field.get_by_label("Required").check()
    page.get_by_label("Due date rule").select_option("dueInWorkingDays")
    page.locator("#prop-due").fill("3")
    page.locator("#prop-due").press("Tab")

    # A sequence flow, picked from the list (a keyboard user cannot click a shape).
    page.get_by_label("Go to an element").select_option("to_done")
    expect(page.locator("#prop-id")).to_have_value("to_done")
    page.get_by_label("Condition expression").fill("score >= 0")
    page.get_by_label("Condition expression").press("Tab")
    shot("properties")

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_contain_text("Deployed version 2")
    expect(page.locator("#modeler .djs-element.deploy-problem")).to_have_count(0)

    root = etree.fromstring(definitions.find("stage_review", 2).source.encode())
    process = root.find(f"{{{BPMN}}}process")
    assert process.get(f"{{{CRM}}}startableBy") == "group:sales manager"
    assert process.get(f"{{{CRM}}}subjectTypes") == "organization"
    task = root.find(f".//{{{BPMN}}}serviceTask[@id='load_info']")
    operator = task.find(f".//{{{SPIFF}}}serviceTaskOperator")
    assert operator.get("id") == "set_stage"
    assert operator.get("resultVariable") == "stage"
    params = {p.get("id"): p.get("value") for p in operator.iter(f"{{{SPIFF}}}parameter")}
    assert params == {"stage": "'approval'"}
    review = root.find(f".//{{{BPMN}}}userTask[@id='review']")
    assert review.get(f"{{{CRM}}}dueInWorkingDays") == "3"
    assert review.get(f"{{{CRM}}}dueIn") is None
    fields = {f.get("id"): f for f in review.iter(f"{{{CRM}}}field")}
    assert fields["score"].get("type") == "integer" and fields["score"].get("required") == "true"
    # What the panel does not edit is kept: attributes, instructions, scripts, references.
    assert fields["verdict"].get("maxLength") == "200"
    assert fields["verdict"].get("label.ru") == "Вердикт"
    assert review.find(f".//{{{CRM}}}text").text == "Look at it."
    assert review.find(f".//{{{SPIFF}}}preScript") is not None
    assert root.find(f".//{{{CRM}}}reference").get("code") == "review_rules"
    flow = root.find(f".//{{{BPMN}}}sequenceFlow[@id='to_done']")
    assert flow.find(f"{{{BPMN}}}conditionExpression").text == "score >= 0"
    stored = definitions.find("stage_review", 2)
    assert [f["id"] for f in stored.forms["review"]["fields"]] == ["verdict", "score"]

    # A new diagram starts with its procedure's settings in the panel.
    page.goto(f"{served}/ui/procedures/new")
    expect(page.locator("#modeler[data-loaded=true]")).to_be_visible()
    expect(page.get_by_label("Key (process id)")).to_have_value("new_process")
    expect(page.get_by_label("Go to an element")).to_contain_text("Start")
    assert not violations, violations


def test_timeline_context_menu_suspends_and_resumes(served: str, page: Page, shot: Shot) -> None:
    designer = Actor("designer", frozenset({"designers"}))
    definitions.deploy((DATA / "call_back.bpmn").read_bytes(), "call_back.bpmn", "designer")
    doc = instances.start("call_back", designer)
    violations = _csp_violations(page)
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/monitor?zoom=day")
    row = page.locator(".tl-row", has_text="call_back")
    bar = row.locator(".bar").first
    expect(bar).to_be_visible()

    # The keyboard way: Shift+F10 on the focused bar opens its context menu.
    bar.focus()
    page.keyboard.press("Shift+F10")
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Open the instance")).to_be_focused()
    expect(menu.get_by_role("menuitem", name="Resume")).to_have_count(0)
    expect(menu.get_by_role("menuitem", name="Reassign…")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Suspend")).to_be_focused()
    shot("menu")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Instance suspended")
    assert instances.get(doc["_id"])["status"] == "suspended"
    expect(page).to_have_url(re.compile(r"/ui/monitor\?zoom=day"))

    # The mouse way: a right click on the bar.
    page.locator(".tl-row", has_text="call_back").locator(".bar").first.click(button="right")
    menu = page.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name="Suspend")).to_have_count(0)
    menu.get_by_role("menuitem", name="Resume").click()
    expect(page.locator(".flash.success")).to_contain_text("Instance resumed")
    assert instances.get(doc["_id"])["status"] == "active"

    # The row's button: every command of the instance, Escape gives the focus back.
    button = page.locator(".tl-row", has_text="call_back").locator("button.row-menu")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("menuitem", name="Reassign “Call the customer”…")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_be_hidden()
    expect(button).to_be_focused()
    shot("resumed")

    # Reassign from the menu: a dialog asks to whom and why.
    page.keyboard.press("Enter")
    page.get_by_role("menuitem", name="Reassign “Call the customer”…").click()
    dialog = page.get_by_role("dialog", name="Reassign the task")
    expect(dialog).to_be_visible()
    dialog.get_by_label("To").select_option("manager")
    dialog.get_by_label("Reason").fill("Dana is away")
    shot("reassign")
    dialog.get_by_role("button", name="Reassign").click()
    expect(page.locator(".flash.success")).to_contain_text("Task reassigned")
    assert instances.get(doc["_id"])["open_tasks"][0]["assignee"] == "manager"

    # The instance page: the token on the diagram, the reassignment with its reason.
    bar = page.locator(".tl-row", has_text="call_back").locator(".bar").first
    bar.click(button="right")
    page.get_by_role("menuitem", name="Open the instance").click()
    expect(page.locator("#diagram[data-loaded=true]")).to_be_visible()
    expect(page.locator("#diagram .token-count")).to_have_text("1")
    expect(page.locator("ol.history")).to_contain_text("Dana is away")
    page.get_by_text("Set variables").first.click()
    page.get_by_label("Variables (a JSON object merged into the data)").fill('{"urgent": true}')
    page.locator("#rv-reason").fill("the customer called again")
    page.get_by_role("button", name="Set variables").click()
    expect(page.locator(".flash.success")).to_contain_text("Variables set")
    expect(page.locator("ol.history")).to_contain_text("the customer called again")
    expect(page.locator("#diagram .token-count")).to_have_text("1")  # drawn again
    page.locator("#diagram").scroll_into_view_if_needed()
    shot("instance")
    assert not violations, violations


def test_properties_panel_renames_the_candidate_group_lane(
    served: str, page: Page, shot: Shot
) -> None:
    definitions.deploy((DATA / "lane_review.bpmn").read_bytes(), "lane_review.bpmn", "designer")
    assert definitions.find("lane_review", 1).user_tasks["check"]["lane"] == "sales"
    sign_in(page, served, "designer")
    page.goto(f"{served}/ui/procedures/bpmn/lane_review/1/edit")
    expect(page.locator("#modeler[data-loaded=true]")).to_be_visible()
    page.get_by_label("Go to an element").select_option("check")
    lane = page.get_by_label("Candidate group (the lane's name)")
    expect(lane).to_have_value("sales")
    expect(page.locator("#prop-lane-none")).to_be_hidden()
    lane.fill("legal")
    lane.press("Tab")
    expect(page.locator("#modeler [data-element-id=sales_lane]")).to_contain_text("legal")
    # A pool selected: its process's settings.
    page.get_by_label("Go to an element").select_option("office")
    expect(page.get_by_label("Key (process id)")).to_have_value("lane_review")
    shot("lane")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_contain_text("Deployed version 2")
    assert definitions.find("lane_review", 2).user_tasks["check"]["lane"] == "legal"
