"""The org structure: departments with a head, a parent department and members.

Procedures use it through `head_of(user)` ("the head of the initiator's department"),
`members_of(department)` and `holders_of(position)` ("all lawyers": the people holding a
position in any department, or in one); the `org_lane` operator (accounts/operators.py)
writes the result into the task data's `lane_owners`, the engine's rule for who gets a
lane's tasks.
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


def _check_positions(positions: list[dict[str, str]], errors: dict[str, list[str]]) -> None:
    problems = [
        f"bad position name {p.get('position')!r}"
        for p in positions
        if not _NAME.match(str(p.get("position") or ""))
    ]
    users = [str(p.get("user") or "") for p in positions]
    problems += [
        f"{u!r} holds two positions here" for u in sorted(set(users)) if users.count(u) > 1
    ]
    if problems:
        errors["positions"] = problems


def save_department(
    name: str,
    title: str = "",
    head: str | None = None,
    parent: str | None = None,
    members: list[str] | None = None,
    positions: list[dict[str, str]] | None = None,
) -> Department:
    """Create or replace a department; the head and the holders of its positions
    (`[{"user", "position"}]`, one each) are always among its members."""
    errors: dict[str, list[str]] = {}
    if not _NAME.match(name or ""):
        errors["name"] = ["1 to 64 letters, digits or _.-"]
    held = [{"user": str(p["user"]), "position": str(p["position"])} for p in positions or []]
    _check_positions(held, errors)
    member_list = list(
        dict.fromkeys([*(members or []), *([head] if head else []), *(p["user"] for p in held)])
    )
    _check_users([m for m in member_list if m not in {p["user"] for p in held}], "members", errors)
    _check_users([p["user"] for p in held], "positions", errors)
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
            set__positions=held,
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


def headed_by(username: str) -> list[Department]:
    """The departments the user heads (one indexed lookup)."""
    return list(Department.objects(head=username).order_by("name"))


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


def holders_of(position: str, department: str | None = None) -> list[dict[str, str]]:
    """Who holds `position` (in every department, or in one): [{"user", "department"}]."""
    where: dict[str, str] = {"positions__position": str(position)}
    if department is not None:
        where["name"] = str(department)
    found = Department.objects(**where).only("name", "positions").order_by("name")
    return [
        {"user": p["user"], "department": d.name}
        for d in found
        for p in d.positions
        if p.get("position") == position
    ]


def people_with(position: str, department: str | None = None) -> list[str]:
    """The user names holding `position`, each once, in a stable order."""
    return sorted({h["user"] for h in holders_of(position, department)})
