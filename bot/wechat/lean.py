"""A lean JSON POST to the WeChat API for bulk sends (a notice to 100,000 members).

``requests`` and wechatpy cost over a millisecond of Python per call; a notice's thousands
of template messages a minute need less. One ``http.client`` connection per sending thread,
kept alive, the JSON encoded once; the access token comes from (and is refreshed through)
:class:`bot.wechat.api.BotWeChatClient`, so every process still shares one token.

Outcomes: the decoded answer (errcode 0); :class:`ApiError` for an errcode (45009 and -1 as
:class:`bot.wechat.api.ApiBackoff`); :class:`NotSent` when the request cannot have reached
WeChat (the connection was refused); :class:`Unknown` when it may have (a time-out or a
connection lost after the request went out).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from bot.wechat.api import BACKOFF_SECONDS, TOKEN_ERRORS, ApiBackoff, BotWeChatClient


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class NotSent(Exception):
    """Nothing reached WeChat: safe to send again."""


class Unknown(Exception):
    """The request may have been processed: resend only under a de-duplication key."""


class LeanPoster:
    """One thread's connection to the API base (not shareable between threads)."""

    def __init__(self, api: BotWeChatClient, timeout: float) -> None:
        self.api = api
        base = urlsplit(api.API_BASE_URL)
        self.https = base.scheme == "https"
        self.host = base.hostname or "api.weixin.qq.com"
        self.port = base.port
        self.prefix = base.path if base.path.endswith("/") else base.path + "/"
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.token: str | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``endpoint``; the token is refreshed once if WeChat refuses it."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        refreshed = False
        while True:
            token = self.token or self.api.access_token
            self.token = token
            answer = self._post(endpoint, token, data)
            code = int(answer.get("errcode") or 0)
            if code == 0:
                return answer
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                self.token = self.api.refresh_token(stale=token)
                continue
            if code in BACKOFF_SECONDS:
                raise ApiBackoff(code, BACKOFF_SECONDS[code])
            raise ApiError(code, str(answer.get("errmsg") or ""))

    def _post(self, endpoint: str, token: str, data: bytes) -> dict[str, Any]:
        path = f"{self.prefix}{endpoint}?access_token={token}"
        conn = self._connect()
        sent = False
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
            sent = True
            response = conn.getresponse()
            raw = response.read()
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self.close()
            raise NotSent(type(exc).__name__) from exc
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            if not sent and not isinstance(exc, TimeoutError):
                raise NotSent(type(exc).__name__) from exc
            raise Unknown(type(exc).__name__) from exc
        if response.status != 200:
            raise Unknown(f"HTTP {response.status}")
        try:
            answer: dict[str, Any] = json.loads(raw)
        except ValueError as exc:
            raise Unknown("not JSON") from exc
        return answer
