"""The account's menu: create, get, delete, and the self-menu view."""

from __future__ import annotations

import copy
from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import (
    Answer,
    Body,
    Endpoints,
    Query,
    ok,
    require_dict,
    require_str,
)
from bot.dev.sandbox.state import SandboxState

endpoints = Endpoints()


def _check_button_name(button: dict[str, Any]) -> None:
    require_str(button.get("name"), 40018)


@endpoints.route("menu/create", post=True)
def _menu_create(state: SandboxState, query: Query, body: Body) -> Answer:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        _check_button_name(require_dict(button))
        sub_buttons = button.get("sub_button")
        if sub_buttons is None:
            continue
        if not isinstance(sub_buttons, list) or len(sub_buttons) > 5:
            raise ApiError(40023)
        for sub_button in sub_buttons:
            _check_button_name(require_dict(sub_button))
    state.menu = copy.deepcopy(body)
    return ok()


@endpoints.route("menu/get")
def _menu_get(state: SandboxState, query: Query, body: Body) -> Answer:
    if state.menu is None:
        raise ApiError(46003)
    return {"menu": copy.deepcopy(state.menu)}


@endpoints.route("menu/delete")
def _menu_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    state.menu = None
    return ok()


@endpoints.route("get_current_selfmenu_info")
def _selfmenu_info(state: SandboxState, query: Query, body: Body) -> Answer:
    if state.menu is None:
        return {"is_menu_open": 0, "selfmenu_info": {"button": []}}
    buttons = []
    for button in copy.deepcopy(state.menu.get("button", [])):
        # This endpoint nests sub-buttons one level deeper than menu/create takes them.
        if "sub_button" in button:
            button["sub_button"] = {"list": button["sub_button"]}
        buttons.append(button)
    return {"is_menu_open": 1, "selfmenu_info": {"button": buttons}}
