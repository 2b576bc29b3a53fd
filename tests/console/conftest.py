"""Fixtures of the console tests (the app, client and runner come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.console.helpers import Console


@pytest.fixture
def console(client, runner) -> Console:
    return Console(client, runner)
