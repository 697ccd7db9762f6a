"""Who acts on the engine: the engine knows users only by name and group names."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """A user (or API client) as the engine sees it."""

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False

    @property
    def principals(self) -> list[str]:
        """Names this actor matches in assignee lists: the user and each `group:NAME`."""
        return [self.username, *(f"group:{g}" for g in sorted(self.groups))]


SYSTEM = Actor("system", is_admin=True)
