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
    """One thread's connection to the API base (not shareable between threads).

    HTTP/1.1 by hand over one kept-alive socket: http.client parses every answer's headers
    with the email package, which alone costs more than the rest of a send.
    """

    def __init__(self, api: BotWeChatClient, timeout: float) -> None:
        self.api = api
        base = urlsplit(api.API_BASE_URL)
        self.https = base.scheme == "https"
        self.host = base.hostname or "api.weixin.qq.com"
        self.port = base.port or (443 if self.https else 80)
        self.prefix = base.path if base.path.endswith("/") else base.path + "/"
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.token: str | None = None

    def _connect(self) -> socket.socket:
        if self.sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            # One write per request, but no Nagle wait in case the kernel splits it.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            self.sock, self.buffer = sock, b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock, self.buffer = None, b""

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
        head = (
            f"POST {self.prefix}{endpoint}?access_token={token} HTTP/1.1\r\n"
            f"Host: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
        )
        sent = False
        try:
            sock = self._connect()
            sock.sendall(head.encode("ascii") + data)
            sent = True
            status, raw, close = self._response(sock)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self.close()
            raise NotSent(type(exc).__name__) from exc
        except (TimeoutError, OSError, ValueError) as exc:
            self.close()
            if not sent and not isinstance(exc, TimeoutError):
                raise NotSent(type(exc).__name__) from exc
            raise Unknown(type(exc).__name__) from exc
        if close:
            self.close()
        if status != 200:
            raise Unknown(f"HTTP {status}")
        try:
            answer: dict[str, Any] = json.loads(raw)
        except ValueError as exc:
            raise Unknown("not JSON") from exc
        return answer

    def _read(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed by the server")
        self.buffer += chunk

    def _response(self, sock: socket.socket) -> tuple[int, bytes, bool]:
        while b"\r\n\r\n" not in self.buffer:
            self._read(sock)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        close = headers.get("connection") == "close"
        if headers.get("transfer-encoding") == "chunked":
            return status, self._chunked(sock), close
        length = int(headers.get("content-length") or 0)
        while len(self.buffer) < length:
            self._read(sock)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body, close

    def _chunked(self, sock: socket.socket) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                self._read(sock)
            size_line, _, self.buffer = self.buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self._read(sock)
            body += self.buffer[:size]
            self.buffer = self.buffer[size + 2 :]
            if size == 0:
                return body
