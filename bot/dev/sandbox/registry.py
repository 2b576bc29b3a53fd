"""How an API family declares its endpoints, and the checks its handlers share.

Each family module (tokens, messages, tags, users, menu) fills an :class:`Endpoints` table with
``@endpoints.route("path")``; :func:`merge` joins the tables in :mod:`bot.dev.sandbox.api`,
refusing a path declared twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.state import SandboxState

API_PREFIX = "/cgi-bin/"
# WeChat pages follower lists in chunks of 10000 openids.
OPENID_PAGE_SIZE = 10_000

# Query-string parameters, parsed JSON request body, JSON answer.
Query = dict[str, str]
Body = dict[str, Any]
Answer = dict[str, Any]


@dataclass(frozen=True)
class FileAnswer:
    """A file instead of JSON (``media/get``): WeChat sends the bytes with their type."""

    data: bytes
    content_type: str
    filename: str


Handler = Callable[[SandboxState, Query, Body], Answer | FileAnswer]


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    post_only: bool
    needs_body: bool


class Endpoints:
    """One API family's endpoints, by full path (``/cgi-bin/<path>``)."""

    def __init__(self) -> None:
        self.table: dict[str, Endpoint] = {}

    def route(self, path: str, *, post: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for ``/cgi-bin/<path>``; POST endpoints take a JSON object body."""

        def register(handler: Handler) -> Handler:
            self.table[API_PREFIX + path] = Endpoint(handler, post_only=post, needs_body=post)
            return handler

        return register


def merge(*families: Endpoints) -> dict[str, Endpoint]:
    """Every family's endpoints in one table; a path two families declare is a mistake."""
    merged: dict[str, Endpoint] = {}
    for family in families:
        for path, endpoint in family.table.items():
            if path in merged:
                raise ValueError(f"sandbox endpoint {path} is declared twice")
            merged[path] = endpoint
    return merged


def ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


def require_str(value: Any, errcode: int) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(errcode)
    return value


def require_int(value: Any, errcode: int) -> int:
    # bool is an int subclass; JSON true must not be taken for tag id 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(errcode)
    return value


def require_dict(value: Any, errcode: int = 47001) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(errcode)
    return value


def require_openid_list(value: Any, max_size: int) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= max_size:
        raise ApiError(40032)
    return [require_str(openid, 40003) for openid in value]


def paginate(openids: list[str], next_openid: str | None) -> dict[str, Any]:
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
