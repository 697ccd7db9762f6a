"""The org structure: departments with a head, a parent department and members.

Procedures use it through `head_of(user)` ("the head of the initiator's department") and
`members_of(department)`; the `org_lane` operator (accounts/operators.py) writes the result
into the task data's `lane_owners`, the engine's rule for who gets a lane's tasks.
"""

from __future__ import annotations

import re

from mongoengine.errors import NotUniqueError

from .errors import InvalidAccountData, UserExists, UserNotFound
from .models import Department, User

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_DEPTH = 32  # parent chains longer than this are treated as a cycle


class DepartmentNotFound(UserNotFound):
    code = "department_not_found"


def _check_users(names: list[str], field: str, errors: dict[str, list[str]]) -> None:
    if not names:
        return
    known = {u.username for u in User.objects(username__in=names, active=True).only("username")}
    missing = [n for n in names if n not in known]
    if missing:
        errors[field] = [f"no such user {n!r}" for n in missing]


def save_department(
    name: str,
    title: str = "",
    head: str | None = None,
    parent: str | None = None,
    members: list[str] | None = None,
) -> Department:
    """Create or replace a department; the head is always one of its members."""
    errors: dict[str, list[str]] = {}
    if not _NAME.match(name or ""):
        errors["name"] = ["1 to 64 letters, digits or _.-"]
    member_list = list(dict.fromkeys([*(members or []), *([head] if head else [])]))
    _check_users(member_list, "members", errors)
    if parent is not None:
        if parent == name or _ancestors(parent, stop=name) is None:
            errors["parent"] = ["would make a cycle"]
        elif not Department.objects(name=parent).first():
            errors["parent"] = ["no such department"]
    if errors:
        raise InvalidAccountData("invalid department", errors)
    try:
        Department.objects(name=name).update_one(
            set__title=title or name,
            set__head=head,
            set__parent=parent,
            set__members=member_list,
            upsert=True,
        )
    except NotUniqueError as exc:  # a concurrent create of the same name
        raise UserExists(f"department {name} exists already") from exc
    return Department.objects.get(name=name)


def _ancestors(name: str, stop: str) -> list[str] | None:
    """`name` and its parents upwards; None if the chain reaches `stop` (a cycle)."""
    chain: list[str] = []
    current: str | None = name
    while current and len(chain) < MAX_DEPTH:
        if current == stop:
            return None
        chain.append(current)
        found = Department.objects(name=current).only("parent").first()
        current = found.parent if found else None
    return chain


def get_department(name: str) -> Department:
    found = Department.objects(name=str(name)).first()
    if found is None:
        raise DepartmentNotFound(f"no department {name}")
    return found


def list_departments() -> list[Department]:
    return list(Department.objects.order_by("name"))


def departments_of(username: str) -> list[Department]:
    """The departments the user is a member of (one indexed lookup)."""
    return list(Department.objects(members=username).order_by("name"))


def head_of(username: str) -> str | None:
    """The user's manager: the head of their department; for a head, the head of the
    parent department (upwards until someone else heads it). None if there is nobody."""
    for department in departments_of(username):
        current: Department | None = department
        for _ in range(MAX_DEPTH):
            if current is None:
                break
            if current.head and current.head != username:
                return str(current.head)
            current = Department.objects(name=current.parent).first() if current.parent else None
    return None


def members_of(name: str) -> list[str]:
    """The members of a department (head included)."""
    return list(get_department(name).members)
