"""Messages: customer-service, template and mass sends."""

from __future__ import annotations

import time
from typing import Any

from bot.dev.sandbox.errors import ERRMSGS, ApiError
from bot.dev.sandbox.platform import MASS_DEDUP_SECONDS, TEMPLATE_DEDUP_SECONDS
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
# Template keywords of the typed kinds, whose values the platform checks (47003).
TYPED_KEYWORDS = ("thing", "phrase", "character_string", "time", "number", "amount", "const")
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
    now = time.time()
    refusal = state.platform.custom_refusal(touser, now)
    if refusal is not None:
        raise ApiError(refusal)
    state.see_user(touser)
    state.platform.note_custom(touser, now)
    state.platform.deliver("custom", touser, body.get(msgtype))
    return ok()


@endpoints.route("message/template/send", post=True)
def _template_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = require_str(body.get("touser"), 40003)
    template_id = require_str(body.get("template_id"), 40037)
    data = body.get("data") if body.get("data") is not None else {}
    _check_template_data(data)
    platform = state.platform
    refusal = platform.template_refusal(touser)
    if refusal is not None:
        raise ApiError(refusal)
    now = time.time()
    key = body.get("client_msg_id")
    if isinstance(key, str) and key:
        # client_msg_id: the same (openid, id) within 10 minutes is sent once.
        seen = platform.template_keys.get((touser, key))
        if seen is not None and now - seen[1] < TEMPLATE_DEDUP_SECONDS:
            platform.deduplicated += 1
            return ok(msgid=seen[0])
    state.see_user(touser)
    msgid = state.next_msg_id()
    if isinstance(key, str) and key:
        platform.template_keys[(touser, key)] = (msgid, now)
    # What the member sees: the notice's page (url) names it; without one, the data does.
    url = body.get("url")
    platform.deliver("template", touser, f"{template_id}|{url}" if url else [template_id, data])
    platform.push_event(touser, "TEMPLATESENDJOBFINISH", MsgID=msgid, Status="success")
    return ok(msgid=msgid)


def _check_template_data(data: Any) -> None:
    """47003: a keyword's value over 20 characters (thing.DATA) or with a line break."""
    if not isinstance(data, dict):
        raise ApiError(47001)
    for key, item in data.items():
        if not key.startswith(TYPED_KEYWORDS):
            continue  # first/remark and other legacy keys: the platform ignores them now
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            raise ApiError(47003, f"argument invalid! data.{key}.value invalid")
        too_long = key.startswith("thing") and len(value) > 20
        if too_long or "\n" in value or "\r" in value:
            raise ApiError(47003, f"argument invalid! data.{key}.value invalid")


def _check_mass_content(body: dict[str, Any]) -> None:
    msgtype = body.get("msgtype")
    if msgtype not in MASS_MSGTYPES:
        raise ApiError(40008)
    _check_message_content(body, msgtype)


def _new_mass_job(
    state: SandboxState, body: dict[str, Any], targets: list[str] | None = None
) -> dict[str, Any]:
    platform = state.platform
    now = time.time()
    key = body.get("clientmsgid")
    if key is not None:
        if not isinstance(key, str) or len(key) > 64:
            raise ApiError(45067)
        seen = platform.mass_keys.get(key)
        if seen is not None and now - seen[1] < MASS_DEDUP_SECONDS:
            # The same clientmsgid within 24 h: the earlier job's id, nothing sent again.
            platform.deduplicated += 1
            return {"errcode": 45065, "errmsg": ERRMSGS[45065], "msg_id": seen[0]}
    refusal = platform.mass_account_refusal(now)
    if refusal is not None:
        raise ApiError(refusal)
    msg_id = state.next_msg_id()
    state.mass_jobs[msg_id] = "SEND_SUCCESS"
    if key is not None:
        platform.mass_keys[key] = (msg_id, now)
    platform.mass_sends.append(now)
    audience = list(state.users) if targets is None else targets
    kept = platform.mass_filter(audience, now)
    content = body.get(str(body.get("msgtype")))
    for openid in kept:
        platform.deliver("mass", openid, content)
    if platform.webhook_url:
        # With events on, the job runs until its MASSSENDJOBFINISH is pushed.
        platform.mass_done_at[msg_id] = now + platform.event_delay
    platform.push_event(
        "sandbox",
        "MASSSENDJOBFINISH",
        MsgID=msg_id,
        Status="send success",
        TotalCount=len(audience),
        FilterCount=len(kept),
        SentCount=len(kept),
        ErrorCount=0,
    )
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
    targets: list[str] | None = None
    if not is_to_all:
        # Tag existence is deliberately not checked: the sandbox forgets tags on restart while
        # the bot's database may still hold their ids.
        targets = state.tag_members(require_int(target.get("tag_id"), 47001))
    _check_mass_content(body)
    return _new_mass_job(state, body, targets)


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
    return _new_mass_job(state, body, openids)


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
    status = state.mass_jobs.get(msg_id, "SEND_FAIL")
    # A job is SENDING until its MASSSENDJOBFINISH would have been pushed.
    if status == "SEND_SUCCESS" and time.time() < state.platform.mass_done_at.get(msg_id, 0.0):
        status = "SENDING"
    return ok(msg_id=msg_id, msg_status=status)


@endpoints.route("message/mass/delete", post=True)
def _mass_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    msg_id = require_int(body.get("msg_id"), 47001)
    if msg_id in state.mass_jobs:
        state.mass_jobs[msg_id] = "DELETE"
    return ok()
