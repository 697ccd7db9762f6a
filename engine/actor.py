"""Who acts on the engine: the engine knows users only by name and group names."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """A user (or API client) as the engine sees it."""

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    # Users this actor stands in for right now (accounts.substitutes): their personal tasks
    # reach this actor too. Tasks only: instances and access lists keep `principals`.
    on_behalf_of: frozenset[str] = frozenset()

    @property
    def principals(self) -> list[str]:
        """Names this actor matches in assignee lists: the user and each `group:NAME`."""
        return [self.username, *(f"group:{g}" for g in sorted(self.groups))]

    @property
    def task_principals(self) -> list[str]:
        """`principals` plus the names of the users this actor substitutes now."""
        return [*self.principals, *sorted(self.on_behalf_of - {self.username})]

    def stands_in_for(self, names: list[str] | str | None) -> str | None:
        """The absent user among `names` this actor acts for, if it does not act as itself."""
        found = [names] if isinstance(names, str) else list(names or [])
        return next((n for n in found if n in self.on_behalf_of), None)


SYSTEM = Actor("system", is_admin=True)
