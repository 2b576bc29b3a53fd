"""Messages: customer-service, template and mass sends."""

from __future__ import annotations

from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import (
    OPENID_PAGE_SIZE,
    Answer,
    Body,
    Endpoints,
    Query,
    ok,
    require_dict,
    require_int,
    require_openid_list,
    require_str,
)
from bot.dev.sandbox.state import SandboxState

endpoints = Endpoints()

CUSTOM_MSGTYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
    }
)
MASS_MSGTYPES = frozenset({"text", "image", "voice", "mpvideo", "mpnews", "wxcard"})
# Message types whose payload is just a previously uploaded media file.
MEDIA_MSGTYPES = frozenset({"image", "voice", "video", "mpvideo", "mpnews"})


def _check_message_content(body: dict[str, Any], msgtype: str) -> None:
    content = require_dict(body.get(msgtype))
    if msgtype == "text":
        require_str(content.get("content"), 44004)
    elif msgtype == "news":
        articles = content.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44003)
        # WeChat has limited customer-service news messages to a single article since 2018.
        if len(articles) > 1:
            raise ApiError(45008)
    elif msgtype in MEDIA_MSGTYPES:
        require_str(content.get("media_id"), 40007)


@endpoints.route("message/custom/send", post=True)
def _custom_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = require_str(body.get("touser"), 40003)
    msgtype = body.get("msgtype")
    if msgtype not in CUSTOM_MSGTYPES:
        raise ApiError(40008)
    _check_message_content(body, msgtype)
    state.see_user(touser)
    return ok()


@endpoints.route("message/template/send", post=True)
def _template_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = require_str(body.get("touser"), 40003)
    require_str(body.get("template_id"), 40037)
    state.see_user(touser)
    return ok(msgid=state.next_msg_id())


def _check_mass_content(body: dict[str, Any]) -> None:
    msgtype = body.get("msgtype")
    if msgtype not in MASS_MSGTYPES:
        raise ApiError(40008)
    _check_message_content(body, msgtype)


def _new_mass_job(state: SandboxState) -> dict[str, Any]:
    msg_id = state.next_msg_id()
    state.mass_jobs[msg_id] = "SEND_SUCCESS"
    return {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": msg_id,
        "msg_data_id": state.next_msg_data_id(),
    }


@endpoints.route("message/mass/sendall", post=True)
def _mass_sendall(state: SandboxState, query: Query, body: Body) -> Answer:
    target = require_dict(body.get("filter"))
    is_to_all = target.get("is_to_all", False)
    if not isinstance(is_to_all, bool):
        raise ApiError(47001)
    if not is_to_all:
        # Tag existence is deliberately not checked: the sandbox forgets tags on restart while
        # the bot's database may still hold their ids.
        require_int(target.get("tag_id"), 47001)
    _check_mass_content(body)
    return _new_mass_job(state)


@endpoints.route("message/mass/send", post=True)
def _mass_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = body.get("touser")
    # A real gotcha: WeChat refuses openid-list mass sends to fewer than two users.
    if isinstance(touser, list) and len(touser) < 2:
        raise ApiError(40130)
    openids = require_openid_list(touser, OPENID_PAGE_SIZE)
    _check_mass_content(body)
    for openid in openids:
        state.see_user(openid)
    return _new_mass_job(state)


@endpoints.route("message/mass/preview", post=True)
def _mass_preview(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = body.get("touser")
    if touser is None:
        require_str(body.get("towxname"), 40003)
    else:
        state.see_user(require_str(touser, 40003))
    _check_mass_content(body)
    return {"errcode": 0, "errmsg": "preview success", "msg_id": state.next_msg_id()}


@endpoints.route("message/mass/get", post=True)
def _mass_get(state: SandboxState, query: Query, body: Body) -> Answer:
    msg_id = require_int(body.get("msg_id"), 47001)
    return ok(msg_id=msg_id, msg_status=state.mass_jobs.get(msg_id, "SEND_FAIL"))


@endpoints.route("message/mass/delete", post=True)
def _mass_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    msg_id = require_int(body.get("msg_id"), 47001)
    if msg_id in state.mass_jobs:
        state.mass_jobs[msg_id] = "DELETE"
    return ok()
