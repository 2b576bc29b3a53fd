"""Tags: the account's follower tags and who carries them."""

from __future__ import annotations

from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import (
    Answer,
    Body,
    Endpoints,
    Query,
    ok,
    paginate,
    require_dict,
    require_int,
    require_openid_list,
    require_str,
)
from bot.dev.sandbox.state import SandboxState

SYSTEM_TAG_IDS = frozenset({0, 1, 2})
MAX_TAGS = 100
MAX_TAGS_PER_USER = 20
MAX_TAGGING_BATCH = 50

endpoints = Endpoints()


def _check_tag_name(state: SandboxState, value: Any, *, exclude_id: int | None = None) -> str:
    name = require_str(value, 45157)
    if len(name) > 30:
        raise ApiError(45158)
    # Duplicate names are refused with the same code as invalid ones, as WeChat does.
    if any(other == name and tag_id != exclude_id for tag_id, other in state.tags.items()):
        raise ApiError(45157)
    return name


def _existing_tag_id(state: SandboxState, value: Any) -> int:
    tag_id = require_int(value, 45159)
    if tag_id not in state.tags:
        raise ApiError(45159)
    return tag_id


@endpoints.route("tags/create", post=True)
def _tags_create(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = require_dict(body.get("tag"))
    name = _check_tag_name(state, tag.get("name"))
    if len(state.tags) >= MAX_TAGS:
        raise ApiError(45056)
    return {"tag": {"id": state.create_tag(name), "name": name}}


@endpoints.route("tags/get")
def _tags_get(state: SandboxState, query: Query, body: Body) -> Answer:
    tags = [
        {"id": tag_id, "name": name, "count": len(state.tag_members(tag_id))}
        for tag_id, name in sorted(state.tags.items())
    ]
    return {"tags": tags}


@endpoints.route("tags/update", post=True)
def _tags_update(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = require_dict(body.get("tag"))
    tag_id = require_int(tag.get("id"), 45159)
    if tag_id in SYSTEM_TAG_IDS:
        raise ApiError(45058)
    tag_id = _existing_tag_id(state, tag_id)
    state.tags[tag_id] = _check_tag_name(state, tag.get("name"), exclude_id=tag_id)
    return ok()


@endpoints.route("tags/delete", post=True)
def _tags_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = require_dict(body.get("tag"))
    tag_id = require_int(tag.get("id"), 45159)
    if tag_id in SYSTEM_TAG_IDS:
        raise ApiError(45058)
    tag_id = _existing_tag_id(state, tag_id)
    del state.tags[tag_id]
    for user_tag_ids in state.user_tags.values():
        user_tag_ids.discard(tag_id)
    return ok()


@endpoints.route("tags/members/batchtagging", post=True)
def _tags_batchtagging(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = require_openid_list(body.get("openid_list"), MAX_TAGGING_BATCH)
    tag_id = _existing_tag_id(state, body.get("tagid"))
    # Check every user first so a failing batch changes nothing, like an atomic API call.
    for openid in openids:
        tag_ids = state.user_tags.get(openid, set())
        if tag_id not in tag_ids and len(tag_ids) >= MAX_TAGS_PER_USER:
            raise ApiError(45059)
    for openid in openids:
        state.see_user(openid)
        state.user_tags.setdefault(openid, set()).add(tag_id)
    return ok()


@endpoints.route("tags/members/batchuntagging", post=True)
def _tags_batchuntagging(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = require_openid_list(body.get("openid_list"), MAX_TAGGING_BATCH)
    tag_id = _existing_tag_id(state, body.get("tagid"))
    for openid in openids:
        state.see_user(openid)
        state.user_tags.get(openid, set()).discard(tag_id)
    return ok()


@endpoints.route("tags/getidlist", post=True)
def _tags_getidlist(state: SandboxState, query: Query, body: Body) -> Answer:
    openid = require_str(body.get("openid"), 40003)
    return ok(tagid_list=sorted(state.user_tags.get(openid, ())))


@endpoints.route("user/tag/get", post=True)
def _user_tag_get(state: SandboxState, query: Query, body: Body) -> Answer:
    tag_id = _existing_tag_id(state, body.get("tagid"))
    next_openid = body.get("next_openid") or None
    if next_openid is not None and not isinstance(next_openid, str):
        raise ApiError(47001)
    return paginate(state.tag_members(tag_id), next_openid)
