"""The notice tests' app: a notice template configured, the sandbox's platform model reset."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "NOTICE_TEMPLATE_ID": "tpl-notice"}
