"""The official account's menu, as declared in bot/wechat/menu.yaml."""

from __future__ import annotations

from typing import Any

from bot.paths import MENU_FILE


def load_menu() -> dict[str, Any]:
    """The menu as WeChat's ``menu/create`` takes it (``{"button": [...]}``)."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(MENU_FILE.read_text(encoding="utf-8"))
    return data
