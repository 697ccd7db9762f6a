"""Who correspondence is addressed to: users by name, groups by their members."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Group, User

from .errors import MailInvalid


def check_users(names: Iterable[str], field: str) -> list[str]:
    """The names, each an active user, in order without repeats; else MailInvalid."""
    wanted = list(dict.fromkeys(str(n) for n in names))
    if not wanted:
        return []
    found = {u.username for u in User.objects(username__in=wanted, active=True).only("username")}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise MailInvalid(
            f"no such user: {', '.join(missing)}", {field: [f"no user {n}" for n in missing]}
        )
    return wanted


def check_user(name: str, field: str) -> str:
    """One active user's name, or MailInvalid naming the field."""
    return check_users([name], field)[0]


def members(groups: Iterable[str], field: str = "to_groups") -> list[str]:
    """Active members of the groups (each group must exist)."""
    wanted = list(dict.fromkeys(str(g) for g in groups))
    if not wanted:
        return []
    known = {g.name for g in Group.objects(name__in=wanted).only("name")}
    missing = [g for g in wanted if g not in known]
    if missing:
        raise MailInvalid(
            f"no such group: {', '.join(missing)}", {field: [f"no group {g}" for g in missing]}
        )
    return [
        u.username
        for u in User.objects(groups__in=wanted, active=True).only("username").order_by("username")
    ]


def expand(principals: Iterable[str]) -> list[str]:
    """Users named directly or as `group:NAME` (unknown names are skipped), without repeats."""
    users: list[str] = []
    groups: list[str] = []
    for entry in principals:
        if not entry:
            continue
        if entry.startswith("group:"):
            groups.append(entry[len("group:") :])
        else:
            users.append(entry)
    found = {u.username for u in User.objects(username__in=users, active=True).only("username")}
    ordered = [u for u in users if u in found]
    if groups:
        ordered += [
            u.username
            for u in User.objects(groups__in=groups, active=True)
            .only("username")
            .order_by("username")
        ]
    return list(dict.fromkeys(ordered))


def contact(username: str) -> tuple[str, str]:
    """(e-mail address, locale) of an active user; an empty address if none."""
    user = User.objects(username=username, active=True).only("email", "locale").first()
    if user is None:
        return "", "ru"
    return user.email or "", user.locale or "ru"
