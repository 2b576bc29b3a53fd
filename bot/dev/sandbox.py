"""Local sandbox that stands in for the WeChat official-account server API.

Real WeChat (``https://api.weixin.qq.com/cgi-bin/``) cannot be reached from development and
test machines, so this module serves a small, independent Flask app that answers the subset
of ``/cgi-bin/`` calls the bot makes, over real HTTP, with WeChat-shaped JSON answers.
Point the bot's ``WECHAT_API_BASE`` at ``http://127.0.0.1:<port>/cgi-bin/`` to use it.

Besides answering, the sandbox:

* records every ``/cgi-bin/*`` call (``GET /_sandbox/calls`` as JSON lines), so end-to-end
  tests and people can see exactly what the bot sent;
* can inject failures (``POST /_sandbox/faults``): WeChat error codes, HTTP 5xx answers and
  slow answers, so retry and error paths can be exercised;
* can invalidate all issued access tokens (``POST /_sandbox/expire-tokens``) to exercise the
  bot's token-refresh logic;
* shows the recorded calls on a self-refreshing HTML page (``GET /_sandbox/``).

All state lives in memory in one lock-protected :class:`SandboxState`
(``app.extensions["sandbox"]``); the server is meant to run as a single threaded process.

Run it with ``python -m bot.dev.sandbox --port 5001``.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)

__all__ = [
    "SandboxState",
    "create_sandbox_app",
    "make_sandbox_server",
    "run_sandbox",
]

API_PREFIX = "/cgi-bin/"
TOKEN_PATHS = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token"})
TOKEN_LIFETIME = 7200
# Bounded so a sandbox left running for days cannot grow without limit; old calls drop off.
MAX_RECORDED_CALLS = 20_000
# WeChat pages follower lists in chunks of 10000 openids.
OPENID_PAGE_SIZE = 10_000
MAX_FAULT_DELAY = 600.0
SYSTEM_TAG_IDS = frozenset({0, 1, 2})
FIRST_CUSTOM_TAG_ID = 100
MAX_TAGS = 100
MAX_TAGS_PER_USER = 20
MAX_TAGGING_BATCH = 50

ERRMSGS: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40018: "invalid button name size",
    40023: "invalid sub button size",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    42001: "access_token expired",
    43002: "require POST method",
    43004: "require subscribe",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "create tag too many",
    45058: "can't modify sys tag",
    45059: "user has too many tags",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
}

_CUSTOM_MSGTYPES = frozenset(
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
_MASS_MSGTYPES = frozenset({"text", "image", "voice", "mpvideo", "mpnews", "wxcard"})
# Message types whose payload is just a previously uploaded media file.
_MEDIA_MSGTYPES = frozenset({"image", "voice", "video", "mpvideo", "mpnews"})


class ApiError(Exception):
    """A WeChat-style error answer (``errcode`` + ``errmsg``) raised by an endpoint handler."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSGS.get(errcode, "error")
        super().__init__(f"{self.errcode} {self.errmsg}")

    def payload(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


@dataclass
class Fault:
    """A pending injected failure for the next ``times`` calls to a path."""

    path: str
    times: int = 1
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    delay: float = 0.0

    def matches(self, path: str) -> bool:
        # Suffix matching is anchored at a "/" so that "token" faults /cgi-bin/token but not
        # /cgi-bin/stable_token, while "message/custom/send" still matches the full path.
        suffix = "/" + self.path.lstrip("/")
        return path == self.path or path.endswith(suffix)

    @property
    def answers_error(self) -> bool:
        """False for delay-only faults, which slow the call down but then answer normally."""
        return self.errcode is not None or self.status is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "times": self.times,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
            "status": self.status,
            "delay": self.delay,
        }


class SandboxState:
    """All in-memory sandbox state. Every access must hold :attr:`lock`."""

    calls: deque[dict[str, Any]]
    faults: list[Fault]
    tokens: dict[str, float]
    expired_tokens: set[str]
    stable_token: str | None
    tags: dict[int, str]
    user_tags: dict[str, set[int]]
    users: dict[str, int]
    menu: dict[str, Any] | None
    mass_jobs: dict[int, str]

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything (callers other than ``__init__`` must hold the lock)."""
        self.calls = deque(maxlen=MAX_RECORDED_CALLS)
        self._next_call_id = 1
        self.faults = []
        # token -> issue time; tokens never lapse on their own, only via expire_tokens().
        self.tokens = {}
        # Remembered so that a stale token answers 42001 ("expired") rather than 40001.
        self.expired_tokens = set()
        self.stable_token = None
        # Real accounts always carry the system "星标组" tag (id 2); custom tags start at 100.
        self.tags = {2: "星标组"}
        self._next_tag_id = FIRST_CUSTOM_TAG_ID
        self.user_tags = {}
        # openid -> first-seen unix time, reported as subscribe_time; dict keeps insertion order.
        self.users = {}
        self.menu = None
        self._next_msg_id = 1000
        self._next_msg_data_id = 2_000_000_001
        self.mass_jobs = {}

    # --- recording and faults -------------------------------------------------------------

    def record_call(
        self, method: str, path: str, query: dict[str, str], body: Any, body_error: str | None
    ) -> dict[str, Any]:
        """Append a call record; its answer fields are filled in once the call completes."""
        record: dict[str, Any] = {
            "id": self._next_call_id,
            # Taken under the lock, so records are in time order and ?since= never misses one.
            "time": time.time(),
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "errcode": None,
            "status": None,
        }
        # An empty body is normal (GET calls), so only real parse failures are noted.
        if body_error is not None and body_error != "empty":
            record["body_error"] = body_error
        self._next_call_id += 1
        self.calls.append(record)
        return record

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the oldest pending fault matching ``path``."""
        for index, fault in enumerate(self.faults):
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[index]
                return copy.copy(fault)
        return None

    # --- tokens ---------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = time.time()
        return token

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001)
        if token in self.tokens:
            return
        if token in self.expired_tokens:
            raise ApiError(42001)
        raise ApiError(40001)

    def expire_tokens(self) -> int:
        count = len(self.tokens)
        self.expired_tokens.update(self.tokens)
        self.tokens.clear()
        self.stable_token = None
        return count

    # --- users, tags, ids -----------------------------------------------------------------

    def see_user(self, openid: str) -> None:
        self.users.setdefault(openid, int(time.time()))

    def user_info(self, openid: str) -> dict[str, Any]:
        self.see_user(openid)
        # Mirrors today's WeChat answer: nickname/avatar are no longer disclosed.
        return {
            "subscribe": 1,
            "openid": openid,
            "nickname": "",
            "sex": 0,
            "language": "zh_CN",
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": "",
            "subscribe_time": self.users[openid],
            "remark": "",
            "groupid": 0,
            "tagid_list": sorted(self.user_tags.get(openid, ())),
            "subscribe_scene": "ADD_SCENE_OTHERS",
            "qr_scene": 0,
            "qr_scene_str": "",
        }

    def tag_members(self, tag_id: int) -> list[str]:
        return [openid for openid in self.users if tag_id in self.user_tags.get(openid, ())]

    def create_tag(self, name: str) -> int:
        tag_id = self._next_tag_id
        self._next_tag_id += 1
        self.tags[tag_id] = name
        return tag_id

    def next_msg_id(self) -> int:
        msg_id = self._next_msg_id
        self._next_msg_id += 1
        return msg_id

    def next_msg_data_id(self) -> int:
        msg_data_id = self._next_msg_data_id
        self._next_msg_data_id += 1
        return msg_data_id

    def stats(self) -> dict[str, Any]:
        token_fetches = sum(
            1
            for call in self.calls
            if call["path"] in TOKEN_PATHS and call["errcode"] == 0 and call["status"] == 200
        )
        return {
            "calls": len(self.calls),
            "token_fetches": token_fetches,
            "tokens_valid": len(self.tokens),
            "faults_pending": len(self.faults),
            "users": len(self.users),
            "tags": len(self.tags),
        }


# --- endpoint registry ------------------------------------------------------------------------

# Query-string parameters, parsed JSON request body, JSON answer.
Query = dict[str, str]
Body = dict[str, Any]
Answer = dict[str, Any]
Handler = Callable[[SandboxState, Query, Body], Answer]


@dataclass(frozen=True)
class _Endpoint:
    handler: Handler
    post_only: bool
    needs_body: bool


_ENDPOINTS: dict[str, _Endpoint] = {}


def _endpoint(path: str, *, post: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for ``/cgi-bin/<path>``; POST endpoints take a JSON object body."""

    def register(handler: Handler) -> Handler:
        _ENDPOINTS[API_PREFIX + path] = _Endpoint(handler, post_only=post, needs_body=post)
        return handler

    return register


def _ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


def _require_str(value: Any, errcode: int) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(errcode)
    return value


def _require_int(value: Any, errcode: int) -> int:
    # bool is an int subclass; JSON true must not be taken for tag id 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(errcode)
    return value


def _require_dict(value: Any, errcode: int = 47001) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(errcode)
    return value


def _require_openid_list(value: Any, max_size: int) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= max_size:
        raise ApiError(40032)
    return [_require_str(openid, 40003) for openid in value]


def _paginate(openids: list[str], next_openid: str | None) -> dict[str, Any]:
    """Page openids the way WeChat does: the last page is followed by an empty one."""
    start = 0
    if next_openid:
        try:
            start = openids.index(next_openid) + 1
        except ValueError:
            raise ApiError(40003) from None
    chunk = openids[start : start + OPENID_PAGE_SIZE]
    page: dict[str, Any] = {"count": len(chunk), "next_openid": chunk[-1] if chunk else ""}
    # WeChat omits "data" on an empty page; wechatpy's iterators rely on that to stop.
    if chunk:
        page["data"] = {"openid": chunk}
    return page


# --- tokens -----------------------------------------------------------------------------------


def _check_credentials(grant_type: Any, appid: Any, secret: Any) -> None:
    if grant_type != "client_credential":
        raise ApiError(40002)
    _require_str(appid, 40013)
    _require_str(secret, 40125)


@_endpoint("token")
def _token(state: SandboxState, query: Query, body: Body) -> Answer:
    _check_credentials(query.get("grant_type"), query.get("appid"), query.get("secret"))
    return {"access_token": state.issue_token(), "expires_in": TOKEN_LIFETIME}


@_endpoint("stable_token", post=True)
def _stable_token(state: SandboxState, query: Query, body: Body) -> Answer:
    _check_credentials(body.get("grant_type"), body.get("appid"), body.get("secret"))
    force_refresh = body.get("force_refresh", False)
    if not isinstance(force_refresh, bool):
        raise ApiError(47001)
    now = time.time()
    token = state.stable_token
    if (
        force_refresh
        or token is None
        or token not in state.tokens
        or now - state.tokens[token] >= TOKEN_LIFETIME
    ):
        token = state.issue_token()
        state.stable_token = token
    # The stable token is handed out again until it lapses, so report its remaining lifetime.
    remaining = max(1, int(TOKEN_LIFETIME - (now - state.tokens[token])))
    return {"access_token": token, "expires_in": remaining}


# --- messages ---------------------------------------------------------------------------------


def _check_message_content(body: dict[str, Any], msgtype: str) -> None:
    content = _require_dict(body.get(msgtype))
    if msgtype == "text":
        _require_str(content.get("content"), 44004)
    elif msgtype == "news":
        articles = content.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44003)
        # WeChat has limited customer-service news messages to a single article since 2018.
        if len(articles) > 1:
            raise ApiError(45008)
    elif msgtype in _MEDIA_MSGTYPES:
        _require_str(content.get("media_id"), 40007)


@_endpoint("message/custom/send", post=True)
def _custom_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = _require_str(body.get("touser"), 40003)
    msgtype = body.get("msgtype")
    if msgtype not in _CUSTOM_MSGTYPES:
        raise ApiError(40008)
    _check_message_content(body, msgtype)
    state.see_user(touser)
    return _ok()


@_endpoint("message/template/send", post=True)
def _template_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = _require_str(body.get("touser"), 40003)
    _require_str(body.get("template_id"), 40037)
    state.see_user(touser)
    return _ok(msgid=state.next_msg_id())


def _check_mass_content(body: dict[str, Any]) -> None:
    msgtype = body.get("msgtype")
    if msgtype not in _MASS_MSGTYPES:
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


@_endpoint("message/mass/sendall", post=True)
def _mass_sendall(state: SandboxState, query: Query, body: Body) -> Answer:
    target = _require_dict(body.get("filter"))
    is_to_all = target.get("is_to_all", False)
    if not isinstance(is_to_all, bool):
        raise ApiError(47001)
    if not is_to_all:
        # Tag existence is deliberately not checked: the sandbox forgets tags on restart while
        # the bot's database may still hold their ids.
        _require_int(target.get("tag_id"), 47001)
    _check_mass_content(body)
    return _new_mass_job(state)


@_endpoint("message/mass/send", post=True)
def _mass_send(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = body.get("touser")
    # A real gotcha: WeChat refuses openid-list mass sends to fewer than two users.
    if isinstance(touser, list) and len(touser) < 2:
        raise ApiError(40130)
    openids = _require_openid_list(touser, OPENID_PAGE_SIZE)
    _check_mass_content(body)
    for openid in openids:
        state.see_user(openid)
    return _new_mass_job(state)


@_endpoint("message/mass/preview", post=True)
def _mass_preview(state: SandboxState, query: Query, body: Body) -> Answer:
    touser = body.get("touser")
    if touser is None:
        _require_str(body.get("towxname"), 40003)
    else:
        state.see_user(_require_str(touser, 40003))
    _check_mass_content(body)
    return {"errcode": 0, "errmsg": "preview success", "msg_id": state.next_msg_id()}


@_endpoint("message/mass/get", post=True)
def _mass_get(state: SandboxState, query: Query, body: Body) -> Answer:
    msg_id = _require_int(body.get("msg_id"), 47001)
    return _ok(msg_id=msg_id, msg_status=state.mass_jobs.get(msg_id, "SEND_FAIL"))


@_endpoint("message/mass/delete", post=True)
def _mass_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    msg_id = _require_int(body.get("msg_id"), 47001)
    if msg_id in state.mass_jobs:
        state.mass_jobs[msg_id] = "DELETE"
    return _ok()


# --- tags -------------------------------------------------------------------------------------


def _check_tag_name(state: SandboxState, value: Any, *, exclude_id: int | None = None) -> str:
    name = _require_str(value, 45157)
    if len(name) > 30:
        raise ApiError(45158)
    # Duplicate names are refused with the same code as invalid ones, as WeChat does.
    if any(other == name and tag_id != exclude_id for tag_id, other in state.tags.items()):
        raise ApiError(45157)
    return name


def _existing_tag_id(state: SandboxState, value: Any) -> int:
    tag_id = _require_int(value, 45159)
    if tag_id not in state.tags:
        raise ApiError(45159)
    return tag_id


@_endpoint("tags/create", post=True)
def _tags_create(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = _require_dict(body.get("tag"))
    name = _check_tag_name(state, tag.get("name"))
    if len(state.tags) >= MAX_TAGS:
        raise ApiError(45056)
    return {"tag": {"id": state.create_tag(name), "name": name}}


@_endpoint("tags/get")
def _tags_get(state: SandboxState, query: Query, body: Body) -> Answer:
    tags = [
        {"id": tag_id, "name": name, "count": len(state.tag_members(tag_id))}
        for tag_id, name in sorted(state.tags.items())
    ]
    return {"tags": tags}


@_endpoint("tags/update", post=True)
def _tags_update(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = _require_dict(body.get("tag"))
    tag_id = _require_int(tag.get("id"), 45159)
    if tag_id in SYSTEM_TAG_IDS:
        raise ApiError(45058)
    tag_id = _existing_tag_id(state, tag_id)
    state.tags[tag_id] = _check_tag_name(state, tag.get("name"), exclude_id=tag_id)
    return _ok()


@_endpoint("tags/delete", post=True)
def _tags_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    tag = _require_dict(body.get("tag"))
    tag_id = _require_int(tag.get("id"), 45159)
    if tag_id in SYSTEM_TAG_IDS:
        raise ApiError(45058)
    tag_id = _existing_tag_id(state, tag_id)
    del state.tags[tag_id]
    for user_tag_ids in state.user_tags.values():
        user_tag_ids.discard(tag_id)
    return _ok()


@_endpoint("tags/members/batchtagging", post=True)
def _tags_batchtagging(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = _require_openid_list(body.get("openid_list"), MAX_TAGGING_BATCH)
    tag_id = _existing_tag_id(state, body.get("tagid"))
    # Check every user first so a failing batch changes nothing, like an atomic API call.
    for openid in openids:
        tag_ids = state.user_tags.get(openid, set())
        if tag_id not in tag_ids and len(tag_ids) >= MAX_TAGS_PER_USER:
            raise ApiError(45059)
    for openid in openids:
        state.see_user(openid)
        state.user_tags.setdefault(openid, set()).add(tag_id)
    return _ok()


@_endpoint("tags/members/batchuntagging", post=True)
def _tags_batchuntagging(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = _require_openid_list(body.get("openid_list"), MAX_TAGGING_BATCH)
    tag_id = _existing_tag_id(state, body.get("tagid"))
    for openid in openids:
        state.see_user(openid)
        state.user_tags.get(openid, set()).discard(tag_id)
    return _ok()


@_endpoint("tags/getidlist", post=True)
def _tags_getidlist(state: SandboxState, query: Query, body: Body) -> Answer:
    openid = _require_str(body.get("openid"), 40003)
    return _ok(tagid_list=sorted(state.user_tags.get(openid, ())))


@_endpoint("user/tag/get", post=True)
def _user_tag_get(state: SandboxState, query: Query, body: Body) -> Answer:
    tag_id = _existing_tag_id(state, body.get("tagid"))
    next_openid = body.get("next_openid") or None
    if next_openid is not None and not isinstance(next_openid, str):
        raise ApiError(47001)
    return _paginate(state.tag_members(tag_id), next_openid)


# --- users ------------------------------------------------------------------------------------


@_endpoint("user/info")
def _user_info(state: SandboxState, query: Query, body: Body) -> Answer:
    return state.user_info(_require_str(query.get("openid"), 40003))


@_endpoint("user/info/batchget", post=True)
def _user_info_batchget(state: SandboxState, query: Query, body: Body) -> Answer:
    user_list = body.get("user_list")
    if not isinstance(user_list, list) or not 1 <= len(user_list) <= 100:
        raise ApiError(40032)
    openids = [_require_str(_require_dict(item).get("openid"), 40003) for item in user_list]
    return {"user_info_list": [state.user_info(openid) for openid in openids]}


@_endpoint("user/get")
def _user_get(state: SandboxState, query: Query, body: Body) -> Answer:
    openids = list(state.users)
    return {"total": len(openids), **_paginate(openids, query.get("next_openid"))}


# --- menu -------------------------------------------------------------------------------------


def _check_button_name(button: dict[str, Any]) -> None:
    _require_str(button.get("name"), 40018)


@_endpoint("menu/create", post=True)
def _menu_create(state: SandboxState, query: Query, body: Body) -> Answer:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        _check_button_name(_require_dict(button))
        sub_buttons = button.get("sub_button")
        if sub_buttons is None:
            continue
        if not isinstance(sub_buttons, list) or len(sub_buttons) > 5:
            raise ApiError(40023)
        for sub_button in sub_buttons:
            _check_button_name(_require_dict(sub_button))
    state.menu = copy.deepcopy(body)
    return _ok()


@_endpoint("menu/get")
def _menu_get(state: SandboxState, query: Query, body: Body) -> Answer:
    if state.menu is None:
        raise ApiError(46003)
    return {"menu": copy.deepcopy(state.menu)}


@_endpoint("menu/delete")
def _menu_delete(state: SandboxState, query: Query, body: Body) -> Answer:
    state.menu = None
    return _ok()


@_endpoint("get_current_selfmenu_info")
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


# --- HTTP plumbing ----------------------------------------------------------------------------


def _json_response(payload: Any, status: int = 200) -> Response:
    # ensure_ascii=False keeps Chinese readable, as WeChat's own answers are.
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Parse a request body as JSON regardless of its Content-Type header.

    wechatpy posts UTF-8 encoded JSON bytes without a JSON content type, so Flask's
    ``request.get_json()`` cannot be used. Returns ``(body, problem)``.
    """
    if not raw.strip():
        return None, "empty"
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, f"not JSON ({len(raw)} bytes)"


def _dispatch(
    state: SandboxState,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    body_error: str | None,
) -> dict[str, Any]:
    endpoint = _ENDPOINTS.get(path)
    try:
        with state.lock:
            if path not in TOKEN_PATHS:
                state.check_token(query.get("access_token"))
            if endpoint is None:
                # Unknown APIs succeed so the bot keeps going; the record makes them visible.
                return _ok()
            if endpoint.post_only and method != "POST":
                raise ApiError(43002)
            if endpoint.needs_body:
                if body_error == "empty":
                    raise ApiError(44002)
                if not isinstance(body, dict):
                    raise ApiError(47001)
            return endpoint.handler(state, query, body if isinstance(body, dict) else {})
    except ApiError as exc:
        return exc.payload()
    except Exception:
        # A sandbox bug must not look like a network failure to the bot; answer like WeChat's
        # generic failure and leave the traceback in the log.
        logger.exception("sandbox handler for %s failed", path)
        return {"errcode": -1, "errmsg": ERRMSGS[-1]}


def _fault_response(fault: Fault) -> tuple[Response, int | None]:
    """Build the answer an error-injecting fault asks for, with the errcode to record."""
    if fault.errcode is None:
        # HTTP-level failure: gateways answer HTML, not JSON, so the bot must cope with that.
        status = fault.status or 500
        reason = HTTP_STATUS_CODES.get(status, "Error")
        html = f"<html><body><h1>{status} {reason}</h1></body></html>"
        return Response(html, status=status, content_type="text/html; charset=utf-8"), None
    errmsg = fault.errmsg or ERRMSGS.get(fault.errcode, "sandbox injected error")
    payload = {"errcode": fault.errcode, "errmsg": errmsg}
    return _json_response(payload, status=fault.status or 200), fault.errcode


def _handle_api_call(state: SandboxState, path: str) -> Response:
    started = time.monotonic()
    query = request.args.to_dict()
    body, body_error = _parse_body(request.get_data())
    with state.lock:
        record = state.record_call(request.method, path, query, body, body_error)
        fault = state.take_fault(path)
    if fault is not None:
        logger.info("injecting fault into %s: %s", path, fault.to_json())
        if fault.delay > 0:
            # Sleep outside the lock so other calls (and the control API) stay responsive.
            time.sleep(fault.delay)
    if fault is not None and fault.answers_error:
        response, errcode = _fault_response(fault)
    else:
        payload = _dispatch(state, request.method, path, query, body, body_error)
        errcode = payload.get("errcode", 0)
        response = _json_response(payload)
    with state.lock:
        record["errcode"] = errcode
        record["status"] = response.status_code
        record["duration"] = round(time.monotonic() - started, 4)
        if fault is not None:
            record["fault"] = {
                "errcode": fault.errcode,
                "status": fault.status,
                "delay": fault.delay,
            }
    return response


def _body_targets(body: Any, openid: str) -> bool:
    if not isinstance(body, dict):
        return False
    touser = body.get("touser")
    if isinstance(touser, list):
        return openid in touser
    return touser == openid


def _control_error(message: str) -> Response:
    return _json_response({"ok": False, "error": message}, status=400)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _parse_fault(body: Any) -> Fault | str:
    """Validate a POST /_sandbox/faults body; returns the fault or an error message."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    path = body.get("path")
    if not isinstance(path, str) or not path.strip().split("?")[0].strip("/"):
        return "path must be a non-empty string"
    path = path.strip().split("?")[0]
    errcode = body.get("errcode")
    if errcode is not None and (isinstance(errcode, bool) or not isinstance(errcode, int)):
        return "errcode must be an integer"
    errmsg = body.get("errmsg")
    if errmsg is not None and not isinstance(errmsg, str):
        return "errmsg must be a string"
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        return "status must be an HTTP error status (400-599)"
    delay = _number(body.get("delay", 0))
    if delay is None or not 0 <= delay <= MAX_FAULT_DELAY:
        return f"delay must be a number of seconds between 0 and {MAX_FAULT_DELAY:g}"
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        return "times must be a positive integer"
    if errcode is None and status is None and delay == 0:
        return "nothing to inject: give errcode, status and/or delay"
    return Fault(path, times, errcode, errmsg, status, delay)


def create_sandbox_app() -> Flask:
    """Build the sandbox Flask app; its state is ``app.extensions["sandbox"]``."""
    app = Flask(__name__)
    state = SandboxState()
    app.extensions["sandbox"] = state

    @app.route("/cgi-bin/<path:subpath>", methods=["GET", "POST"])
    def wechat_api(subpath: str) -> Response:
        return _handle_api_call(state, API_PREFIX + subpath)

    @app.get("/")
    @app.get("/_sandbox")
    @app.get("/_sandbox/")
    def calls_page() -> Response:
        return Response(_PAGE_HTML, content_type="text/html; charset=utf-8")

    @app.get("/_sandbox/calls")
    def list_calls() -> Response:
        since: float | None = None
        if request.args.get("since"):
            try:
                since = float(request.args["since"])
            except ValueError:
                return _control_error("since must be a unix timestamp")
        limit: int | None = None
        if request.args.get("limit"):
            try:
                limit = int(request.args["limit"])
            except ValueError:
                return _control_error("limit must be an integer")
        path_filter = request.args.get("path")
        touser = request.args.get("touser")
        with state.lock:
            # Copy each record: a call still in flight updates its record under the lock.
            calls = [dict(call) for call in state.calls]
        if since is not None:
            calls = [call for call in calls if call["time"] > since]
        if path_filter:
            calls = [call for call in calls if path_filter in call["path"]]
        if touser:
            calls = [call for call in calls if _body_targets(call["body"], touser)]
        if limit is not None and limit >= 0:
            calls = calls[len(calls) - limit :] if limit else []
        lines = "".join(json.dumps(call, ensure_ascii=False) + "\n" for call in calls)
        return Response(lines, content_type="application/x-ndjson; charset=utf-8")

    @app.delete("/_sandbox/calls")
    def clear_calls() -> Response:
        with state.lock:
            cleared = len(state.calls)
            state.calls.clear()
        return _json_response({"ok": True, "cleared": cleared})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body, _ = _parse_body(request.get_data())
        fault = _parse_fault(body)
        if isinstance(fault, str):
            return _control_error(fault)
        with state.lock:
            state.faults.append(fault)
        logger.info("fault registered: %s", fault.to_json())
        return _json_response({"ok": True, "fault": fault.to_json()})

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        with state.lock:
            faults = [fault.to_json() for fault in state.faults]
        return _json_response({"faults": faults})

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        with state.lock:
            cleared = len(state.faults)
            state.faults.clear()
        return _json_response({"ok": True, "cleared": cleared})

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        with state.lock:
            expired = state.expire_tokens()
        logger.info("expired %d access token(s)", expired)
        return _json_response({"ok": True, "expired": expired})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        with state.lock:
            state.reset()
        return _json_response({"ok": True})

    @app.get("/_sandbox/stats")
    def stats() -> Response:
        with state.lock:
            return _json_response(state.stats())

    return app


class _QuietRequestHandler(WSGIRequestHandler):
    """Request handler that keeps per-request access lines out of the normal log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Every API call is already recorded in /_sandbox/calls, and the page polls every 2 s;
        # access lines at INFO level would drown the bot's own output.
        logger.debug("%s %s -> %s", self.command, self.path, code)


def make_sandbox_server(
    host: str = "127.0.0.1", port: int = 5001, app: Flask | None = None
) -> BaseWSGIServer:
    """Create (but do not start) the threaded sandbox server; port 0 picks a free port.

    The bound port is ``server.port``; stop a running server with ``server.shutdown()``.
    """
    return make_server(
        host,
        port,
        app if app is not None else create_sandbox_app(),
        threaded=True,
        request_handler=_QuietRequestHandler,
    )


def run_sandbox(host: str = "127.0.0.1", port: int = 5001) -> None:
    """Serve the sandbox until interrupted (single process, one thread per request)."""
    server = make_sandbox_server(host, port)
    base = f"http://{host}:{server.port}"
    logger.info("WeChat API sandbox: API base %s/cgi-bin/ , call log %s/_sandbox/", base, base)
    server.serve_forever()


_PAGE_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat API 沙箱 · 调用记录</title>
<style>
  :root {
    --bg: #f5f6f8; --card: #fff; --text: #1f2329; --muted: #7a808a; --line: #e6e8eb;
    --ok: #1a7f37; --ok-bg: #e6f4ea; --err: #c62828; --err-bg: #fdecea; --accent: #07c160;
  }
  * { box-sizing: border-box; }
  body {
    margin: 0; background: var(--bg); color: var(--text);
    font: 14px/1.5 -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  }
  header {
    position: sticky; top: 0; z-index: 1; background: var(--card);
    border-bottom: 1px solid var(--line); padding: 12px 24px;
    display: flex; flex-wrap: wrap; align-items: center; gap: 12px 20px;
  }
  h1 { font-size: 18px; margin: 0; }
  h1 .dot { color: var(--accent); }
  #stats { color: var(--muted); }
  .tools { margin-left: auto; display: flex; align-items: center; gap: 12px; }
  input[type=search] {
    padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; width: 220px;
  }
  button {
    padding: 6px 14px; border: 1px solid var(--err); color: var(--err); background: #fff;
    border-radius: 6px; cursor: pointer;
  }
  button:hover { background: var(--err-bg); }
  main { padding: 16px 24px; }
  table {
    width: 100%; border-collapse: collapse; background: var(--card);
    border: 1px solid var(--line); border-radius: 8px; overflow: hidden;
  }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); }
  th { background: #fafbfc; color: var(--muted); font-weight: 600; font-size: 12px; }
  td { vertical-align: top; }
  tr:last-child td { border-bottom: 0; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .time, .method { white-space: nowrap; color: var(--muted); }
  .path { white-space: nowrap; }
  .touser { max-width: 220px; overflow-wrap: anywhere; }
  .content { overflow-wrap: anywhere; white-space: pre-wrap; }
  details summary { cursor: pointer; list-style: none; }
  details summary::-webkit-details-marker { display: none; }
  details pre {
    margin: 8px 0 0; padding: 8px; background: #f6f8fa; border-radius: 6px;
    font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere;
  }
  .badge {
    display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
    white-space: nowrap;
  }
  .badge.ok { color: var(--ok); background: var(--ok-bg); }
  .badge.err { color: var(--err); background: var(--err-bg); }
  .badge.pending { color: var(--muted); background: var(--bg); }
  .empty { text-align: center; color: var(--muted); padding: 40px; }
  #conn.bad { color: var(--err); }
</style>
</head>
<body>
<header>
  <h1><span class="dot">●</span> WeChat API 沙箱 · 调用记录</h1>
  <span id="stats"></span>
  <span id="conn"></span>
  <div class="tools">
    <input type="search" id="filter" placeholder="筛选 path / openid / 内容">
    <label><input type="checkbox" id="pause"> 暂停刷新</label>
    <button id="clear" type="button">清空记录</button>
  </div>
</header>
<main>
  <table>
    <thead><tr>
      <th>时间</th><th>方法</th><th>接口</th><th>接收者 touser</th><th>内容</th><th>结果</th>
    </tr></thead>
    <tbody id="rows"><tr><td colspan="6" class="empty">加载中…</td></tr></tbody>
  </table>
</main>
<script>
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  var statsEl = document.getElementById("stats");
  var connEl = document.getElementById("conn");
  var filterEl = document.getElementById("filter");
  var pauseEl = document.getElementById("pause");
  var openIds = new Set();
  var calls = [];
  var lastText = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function pad(n, width) { return String(n).padStart(width, "0"); }
  function fmtTime(t) {
    var d = new Date(t * 1000);
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" +
      pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
  }
  function touserOf(call) {
    var b = call.body;
    if (!b || typeof b !== "object") return call.query.openid || "";
    var t = b.touser;
    if (Array.isArray(t)) {
      return t.length + " 人: " + t.slice(0, 3).join(", ") + (t.length > 3 ? " …" : "");
    }
    if (t) return String(t);
    if (b.openid) return String(b.openid);
    if (Array.isArray(b.openid_list)) return b.openid_list.join(", ");
    if (b.filter) return b.filter.is_to_all ? "全部用户" : "标签 #" + b.filter.tag_id;
    return "";
  }
  function summarize(call) {
    var b = call.body;
    if (b === null || b === undefined) {
      if (call.body_error) return call.body_error;
      // GET calls carry their arguments in the query string.
      return Object.keys(call.query).filter(function (k) {
        return k !== "access_token";
      }).map(function (k) { return k + "=" + call.query[k]; }).join(" ");
    }
    if (typeof b !== "object" || Array.isArray(b)) return JSON.stringify(b);
    var type = b.msgtype, part = type ? b[type] : null;
    if (type === "text" && part) return part.content;
    if (type === "news" && part && Array.isArray(part.articles)) {
      return "[图文] " + part.articles.map(function (a) {
        return (a.title || "") + (a.url ? " → " + a.url : "");
      }).join(" / ");
    }
    if (type && part && part.media_id) return "[" + type + "] " + part.media_id;
    if (b.template_id) {
      var data = b.data || {};
      return "[模板 " + b.template_id + "] " + Object.keys(data).map(function (k) {
        var v = data[k];
        return k + "=" + (v && typeof v === "object" && "value" in v ? v.value : v);
      }).join("; ");
    }
    if (Array.isArray(b.button)) {
      return "[菜单] " + b.button.map(function (x) { return x.name; }).join(" | ");
    }
    if (b.tag) return "[标签] " + (b.tag.name || "") + (b.tag.id !== undefined ?
      " #" + b.tag.id : "");
    if (Array.isArray(b.openid_list)) {
      return "标签 #" + b.tagid + " · " + b.openid_list.length + " 人";
    }
    return JSON.stringify(b);
  }
  function resultBadge(call) {
    if (call.status === null || call.status === undefined) return el("span", "badge pending",
      "等待中");
    var ok = call.status === 200 && call.errcode === 0;
    var text = call.status !== 200 ? "HTTP " + call.status +
      (call.errcode !== null ? " · " + call.errcode : "") : String(call.errcode);
    if (call.fault) text += " ⚡";
    var badge = el("span", "badge " + (ok ? "ok" : "err"), text);
    if (call.duration !== undefined) badge.title = call.duration + " s";
    return badge;
  }
  function render() {
    var needle = filterEl.value.trim().toLowerCase();
    var shown = calls.slice().reverse().filter(function (call) {
      return !needle || JSON.stringify(call).toLowerCase().indexOf(needle) >= 0;
    });
    rows.textContent = "";
    if (!shown.length) {
      var tr = el("tr"), td = el("td", "empty", calls.length ? "没有匹配的调用" :
        "还没有调用记录 (no calls yet)");
      td.colSpan = 6; tr.appendChild(td); rows.appendChild(tr);
      return;
    }
    shown.forEach(function (call) {
      var tr = el("tr");
      tr.appendChild(el("td", "time mono", fmtTime(call.time)));
      tr.appendChild(el("td", "method mono", call.method));
      tr.appendChild(el("td", "path mono", call.path.replace(/^\\/cgi-bin\\//, "")));
      tr.appendChild(el("td", "touser mono", touserOf(call)));
      var td = el("td", "content");
      var details = el("details");
      details.open = openIds.has(call.id);
      details.addEventListener("toggle", function () {
        if (details.open) openIds.add(call.id); else openIds.delete(call.id);
      });
      details.appendChild(el("summary", null, summarize(call) || "—"));
      var full = { query: call.query, body: call.body };
      details.appendChild(el("pre", "mono", JSON.stringify(full, null, 2)));
      td.appendChild(details);
      tr.appendChild(td);
      var res = el("td");
      res.appendChild(resultBadge(call));
      tr.appendChild(res);
      rows.appendChild(tr);
    });
  }
  function refresh(force) {
    if (pauseEl.checked && !force) return;
    fetch("/_sandbox/calls?limit=500", { cache: "no-store" }).then(function (r) {
      return r.text();
    }).then(function (text) {
      connEl.textContent = ""; connEl.className = "";
      if (text === lastText && !force) return;
      lastText = text;
      calls = text.split("\\n").filter(Boolean).map(function (line) {
        return JSON.parse(line);
      });
      render();
    }).catch(function () {
      connEl.textContent = "连接失败 (sandbox unreachable)"; connEl.className = "bad";
    });
    fetch("/_sandbox/stats", { cache: "no-store" }).then(function (r) {
      return r.json();
    }).then(function (s) {
      statsEl.textContent = "调用 " + s.calls + " · 令牌获取 " + s.token_fetches +
        " · 有效令牌 " + s.tokens_valid + " · 待触发故障 " + s.faults_pending;
    }).catch(function () {});
  }
  document.getElementById("clear").addEventListener("click", function () {
    fetch("/_sandbox/calls", { method: "DELETE" }).then(function () {
      openIds.clear(); refresh(true);
    });
  });
  filterEl.addEventListener("input", render);
  refresh(true);
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: ``python -m bot.dev.sandbox [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(description="Local WeChat server-API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_sandbox(args.host, args.port)


if __name__ == "__main__":
    main()
