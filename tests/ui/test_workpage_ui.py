"""The workpage: widgets chosen per user, in their order, kept across sign-ins."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from accounts import org
from accounts import service as accounts
from engine import definitions
from engine.actor import Actor
from engine.models import HumanTask, utcnow
from mail import orders
from registry import organizations
from sales import deals, pipelines
from tests.conftest import bpmn
from tests.ui.conftest import csrf_of


def _layout(html: str) -> list[str]:
    found = re.search(r'data-layout="([^"]*)"', html)
    assert found, "no workpage on the page"
    return found.group(1).split()


def _widgets(html: str) -> list[str]:
    return re.findall(r'data-widget="([a-z_]+)"', html)


def test_the_layout_persists_across_sign_ins(app: Flask, sign_in) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "cli")
    manager = sign_in("manager")
    page = manager.get("/ui/workpage").get_data(as_text=True)
    assert _layout(page) == ["my_tasks", "my_processes"]  # the default
    started = manager.post("/ui/procedures/bpmn/approval/start", data={"csrf_token": csrf_of(page)})
    assert started.status_code == 302
    page = manager.get("/ui/workpage").get_data(as_text=True)
    assert "Review the request" in page  # my tasks shows the new task
    saved = manager.post(
        "/ui/workpage",
        data={
            "csrf_token": csrf_of(page),
            # the rows in the order the form shows them after arranging
            "order": ["recent_organizations", "my_tasks", "my_processes", "my_deals"],
            "show": ["my_tasks", "recent_organizations"],  # my_processes unticked
        },
    )
    assert saved.status_code == 302
    again = sign_in("manager").get("/ui/workpage").get_data(as_text=True)  # a new session
    assert _layout(again) == ["recent_organizations", "my_tasks"]
    assert _widgets(again) == ["recent_organizations", "my_tasks"]
    other = sign_in("designer").get("/ui/workpage").get_data(as_text=True)
    assert _layout(other) == ["my_tasks", "my_processes"]  # per user
    assert "Review the request" not in other


def test_arrows_move_a_widget_without_the_script(app: Flask, sign_in) -> None:
    manager = sign_in("manager")
    page = manager.get("/ui/workpage").get_data(as_text=True)
    moved = manager.post(
        "/ui/workpage",
        data={
            "csrf_token": csrf_of(page),
            "order": ["my_tasks", "my_processes", "my_orders"],
            "show": ["my_tasks", "my_processes", "my_orders"],
            "move": "up:my_orders",
        },
    )
    assert moved.status_code == 302 and "arrange=1" in moved.headers["Location"]
    again = manager.get("/ui/workpage?arrange=1").get_data(as_text=True)
    assert _layout(again) == ["my_tasks", "my_orders", "my_processes"]
    assert '<details id="arrange" open>' in again


def test_my_orders_tree_and_my_deals(app: Flask, sign_in) -> None:
    manager = Actor("manager", frozenset({"sales"}))
    due = utcnow() + timedelta(days=3)
    root = orders.create(manager, ["designer"], "Prepare the fair", due)
    orders.create(manager, ["designer"], "Book the stand", due, parent_id=str(root["_id"]))
    orders.create(Actor("designer"), ["designer"], "Not the manager's", due)
    stages = [
        {"key": "lead", "name": "Lead"},
        {"key": "won", "name": "Won", "kind": "won"},
        {"key": "lost", "name": "Lost", "kind": "lost"},
    ]
    pipelines.create(Actor("root", is_admin=True), {"key": "b2b", "name": "B2B", "stages": stages})
    org = organizations.create(manager, {"name": "ООО «Ромашка»"})
    deals.create(manager, {"pipeline": "b2b", "organization": str(org.id), "title": "Pumps"})
    other = {"pipeline": "b2b", "organization": str(org.id), "title": "Valves"}
    deals.create(manager, {**other, "responsible": "designer"})
    client = sign_in("manager")
    page = client.get("/ui/workpage").get_data(as_text=True)
    client.post(
        "/ui/workpage",
        data={
            "csrf_token": csrf_of(page),
            "order": ["my_orders", "my_deals"],
            "show": ["my_orders", "my_deals"],
        },
    )
    page = client.get("/ui/workpage").get_data(as_text=True)
    assert _widgets(page) == ["my_orders", "my_deals"]
    tree = page[page.index('data-widget="my_orders"') : page.index('data-widget="my_deals"')]
    # The sub-order is drawn inside its parent's item.
    assert re.search(r"Prepare the fair.*<ul>\s*<li>.*Book the stand", tree, re.S)
    assert "Not the manager" not in tree
    mine = page[page.index('data-widget="my_deals"') :]
    assert "Pumps" in mine and "Valves" not in mine


def test_a_head_reassigns_a_members_task_from_the_workpage(app: Flask, sign_in) -> None:
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "cli")
    accounts.create_user("dave", "dave-password", ["sales"])
    org.save_department("sales", head="designer", members=["manager", "dave"])
    manager = sign_in("manager")
    token = csrf_of(manager.get("/ui/workpage").get_data(as_text=True))
    manager.post("/ui/procedures/bpmn/approval/start", data={"csrf_token": token})
    task = HumanTask.objects(status="open", assignee="manager").get()
    head = sign_in("designer")
    page = head.get("/ui/workpage").get_data(as_text=True)
    head.post(
        "/ui/workpage",
        data={
            "csrf_token": csrf_of(page),
            "order": ["department_tasks"],
            "show": ["department_tasks"],
        },
    )
    page = head.get("/ui/workpage").get_data(as_text=True)
    assert f'data-task="{task.task_guid}"' in page
    assert '<option value="dave">' in page and '<option value="manager">' not in page
    path = f"/ui/tasks/{task.task_guid}/reassign"
    no_reason = head.post(path, data={"csrf_token": csrf_of(page), "user": "dave"})
    assert no_reason.status_code == 302
    assert HumanTask.objects(task_guid=task.task_guid).get().assignee == "manager"
    refused = manager.post(path, data={"csrf_token": token, "user": "dave", "reason": "x"})
    assert refused.status_code == 403
    moved = head.post(path, data={"csrf_token": csrf_of(page), "user": "dave", "reason": "load"})
    assert moved.status_code == 302
    assert HumanTask.objects(task_guid=task.task_guid).get().assignee == "dave"
    after = head.get("/ui/workpage").get_data(as_text=True)
    assert f'data-task="{task.task_guid}"' in after  # still a member's task, now dave's
    assert '<option value="manager">' in after
