"""Demo data: users in the usual groups and a few running procedures."""

from __future__ import annotations

from collections.abc import Iterator

from accounts import service as accounts
from accounts.errors import UserExists
from documents import demo as documents_demo
from engine import definitions, instances, queries
from engine.actor import Actor
from engine.errors import DefinitionNotFound
from mail import demo as mail_demo
from registry import demo as registry_demo
from sales import demo as sales_demo

from .config import Settings


def _incoming_call(manager: Actor) -> Iterator[str]:
    """A call logged on the first demo organization, waiting in the manager's inbox."""
    organization = registry_demo.first_organization()
    if organization is None:
        return
    subject = {
        "type": "organization",
        "id": str(organization.id),
        "title": organization.short_name or organization.name,
    }
    running = queries.list_instances(
        manager,
        queries.InstanceFilter(
            process_key="incoming_call", subject_type="organization", subject_id=subject["id"]
        ),
        1,
    ).items
    if running:
        yield "incoming_call demo exists"
        return
    try:
        doc = instances.start("incoming_call", manager, subject=subject)
        yield f"started incoming_call {doc['_id']} on {subject['title']} for manager"
    except DefinitionNotFound:
        yield "incoming_call is not deployed"


DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo on purpose
DEMO_USERS = [
    ("admin", ["designers"], True, "Администратор"),
    ("designer", ["designers"], False, "Designer Dina"),
    ("manager", ["sales"], False, "Менеджер Мария"),
    ("clerk", ["office"], False, "Делопроизводитель Ксения"),
    ("support", ["support"], False, "Support Sergey"),
]


def load_demo(settings: Settings) -> Iterator[str]:
    """Create demo users (once) and start demo procedures; yield what was done."""
    for line in definitions.deploy_directory(settings.bpmn_dir):
        yield f"deployed {line}"
    for username, groups, admin, name in DEMO_USERS:
        try:
            accounts.create_user(username, DEMO_PASSWORD, groups, is_admin=admin, full_name=name)
            yield f"user {username} (password {DEMO_PASSWORD}) in {', '.join(groups)}"
        except UserExists:
            yield f"user {username} exists"
    manager = accounts.actor_of(accounts.get_user("manager"))
    clerk = accounts.actor_of(accounts.get_user("clerk"))
    yield from documents_demo.load(clerk, settings.resolved_secret_key())
    yield from registry_demo.load(manager)
    yield from sales_demo.load(manager)
    yield from _incoming_call(manager)
    yield from mail_demo.load(
        {name: accounts.actor_of(accounts.get_user(name)) for name, *_ in DEMO_USERS}
    )
