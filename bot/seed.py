"""Starter content loaded by ``flask init`` where the database is empty."""

from __future__ import annotations

from collections.abc import Iterator


def load_all() -> Iterator[str]:
    """Load each kind of starter content; yield a line per kind for the console."""
    yield from ()
