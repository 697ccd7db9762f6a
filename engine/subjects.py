"""Subject types: how operators act on the business object an instance is about.

An instance's `subject` is `{type, id[, title]}`. The engine knows no CRM object; each
domain package registers a `SubjectType` for the objects it owns (registry: organization,
contract; documents: document, card, appeal ...). The generic operators (`set_fields`,
`set_stage`, `grant_access`, `revoke_access`, `generate_document`, `sign`) look the type up
here and call its methods, which go through the domain's own services — never writing the
domain's collections directly.

A type implements only what makes sense for it; the rest refuses with a `ProcessError`
naming the type and the operation, so a diagram calling `set_stage` on an organization
fails at its first run with a clear incident.
"""

from __future__ import annotations

from typing import Any

from .actor import Actor
from .errors import ProcessError

ACCESS_LEVELS = ("read", "write")


class SubjectType:
    """Base class of a domain object type that operators can act on."""

    name = ""

    def _refuse(self, operation: str) -> ProcessError:
        return ProcessError(f"a {self.name or 'subject'} does not support {operation}")

    def values(self, object_id: str) -> dict[str, Any]:
        """The object's fields as plain JSON values (templates, expressions, notices)."""
        raise self._refuse("reading its values")

    def set_fields(self, actor: Actor, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Change the given fields through the domain service; return the new values."""
        raise self._refuse("set_fields")

    def set_stage(self, actor: Actor, object_id: str, stage: str) -> str:
        """Move the object to `stage` (the domain's lifecycle rules apply); return it."""
        raise self._refuse("set_stage")

    def grant_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        """Add users or `group:NAME`s to the object's access list; return the new list."""
        raise self._refuse("grant_access")

    def revoke_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        """Remove users or `group:NAME`s from the object's access list; return the new list."""
        raise self._refuse("revoke_access")

    def attach_file(self, actor: Actor, object_id: str, file_id: str) -> None:
        """Link a stored file (documents/) to the object."""
        raise self._refuse("attaching files")

    def file_ids(self, object_id: str) -> list[str]:
        """Ids of the stored files linked to the object, oldest first."""
        raise self._refuse("listing files")


_TYPES: dict[str, SubjectType] = {}


def register(subject_type: SubjectType) -> SubjectType:
    """Make a subject type known to the operators (domain packages call this on import)."""
    if not subject_type.name:
        raise ValueError("a subject type needs a name")
    _TYPES[subject_type.name] = subject_type
    return subject_type


def get(name: str) -> SubjectType:
    """The registered type `name`, or a ProcessError naming the known ones."""
    found = _TYPES.get(name)
    if found is None:
        known = ", ".join(sorted(_TYPES)) or "none"
        raise ProcessError(f"unknown subject type {name!r} (known: {known})")
    return found


def of(subject: dict[str, Any] | None) -> tuple[SubjectType, str]:
    """The type and object id of an instance's subject; a ProcessError when it has none."""
    if not subject or not subject.get("type") or not subject.get("id"):
        raise ProcessError("the process has no subject to act on")
    return get(str(subject["type"])), str(subject["id"])


def names() -> list[str]:
    """Registered subject type names, sorted."""
    return sorted(_TYPES)
