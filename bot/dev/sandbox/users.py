"""Followers: user info and the follower list."""

from __future__ import annotations

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import (
    Answer,
    Body,
    Endpoints,
    Query,
    paginate,
    require_dict,
    require_str,
)
from bot.dev.sandbox.state import SandboxState

endpoints = Endpoints()


@endpoints.route("user/info")
def _user_info(state: SandboxState, query: Query, body: Body) -> Answer:
    return state.user_info(require_str(query.get("openid"), 40003))


@endpoints.route("user/info/batchget", post=True)
def _user_info_batchget(state: SandboxState, query: Query, body: Body) -> Answer:
    user_list = body.get("user_list")
    if not isinstance(user_list, list) or not 1 <= len(user_list) <= 100:
        raise ApiError(40032)
    openids = [require_str(require_dict(item).get("openid"), 40003) for item in user_list]
    return {"user_info_list": [state.user_info(openid) for openid in openids]}


@endpoints.route("user/get")
def _user_get(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = list(state.users)
    return {"total": len(openids), **paginate(openids, query.get("next_openid"))}
