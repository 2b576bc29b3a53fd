"""The console's navigation: each area registers its entries; ``base.html`` renders them.

An entry names its label, the endpoint it opens, the roles that see it, and its place.
The sidebar shows a signed-in user only the entries their role may open; nothing else in
the templates lists the areas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.console import access


@dataclass(frozen=True)
class Entry:
    """One link in the sidebar."""

    label: str
    endpoint: str
    roles: frozenset[str]
    order: int
    icon: str = ""  # a name the icon macro of base.html knows
    group: str = ""  # a heading shown above the first entry of each group
    # Other endpoints under which this entry shows as the current one; a name ending in
    # "." stands for every endpoint it starts (e.g. "admin.training.").
    also: tuple[str, ...] = ()

    def is_current(self, endpoint: str) -> bool:
        if endpoint == self.endpoint:
            return True
        return any(
            endpoint.startswith(name) if name.endswith(".") else endpoint == name
            for name in self.also
        )


class Registry:
    """The entries of every area, in order."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(
        self,
        label: str,
        endpoint: str,
        *,
        roles: Iterable[str],
        order: int,
        icon: str = "",
        group: str = "",
        also: Iterable[str] = (),
    ) -> Entry:
        """Add the entry for ``endpoint``; an endpoint can have one entry only."""
        if endpoint in self._entries:
            raise ValueError(f"the console nav already has an entry for {endpoint}")
        known = set(access.ROLES)
        if not set(roles) <= known:
            raise ValueError(f"unknown roles for {endpoint}: {sorted(set(roles) - known)}")
        entry = Entry(label, endpoint, frozenset(roles), order, icon, group, tuple(also))
        self._entries[endpoint] = entry
        return entry

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.order, e.endpoint)))

    def visible(self, user: Any) -> list[Entry]:
        """The entries ``user`` may see, in order (none for a signed-out visitor)."""
        return [entry for entry in self if access.allowed(user, entry.roles)]


registry = Registry()
register = registry.register
