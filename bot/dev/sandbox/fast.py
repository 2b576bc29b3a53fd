"""The sandbox on an asyncio HTTP/1.1 server, for load (``python -m bot.dev.sandbox --fast``).

The threaded werkzeug server spends about a millisecond of Python per request in its own
HTTP handling and Flask's, which caps the sandbox near a few hundred calls a second: too few
for the notices benchmark (100,000 template messages in minutes). This server parses
requests itself and answers ``/cgi-bin/…`` with the same state, faults and endpoint handlers
(:func:`bot.dev.sandbox.api.dispatch`); every other path (``/_sandbox/…``, the calls page)
goes to the sandbox's Flask app through WSGI, so the control API is the same. Keep-alive,
Content-Length bodies only (what API clients send); delays sleep without blocking others.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask

from bot.dev.sandbox.api import dispatch
from bot.dev.sandbox.errors import ERRMSGS
from bot.dev.sandbox.registry import FileAnswer
from bot.dev.sandbox.responses import parse_body
from bot.dev.sandbox.state import SandboxState

logger = logging.getLogger(__name__)
MAX_BODY = 4 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Too Large", 500: "Error"}


def _reply(status: int, body: bytes, content_type: str, keep: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _quick_call(
    state: SandboxState, method: str, path: str, query: dict[str, str], raw: bytes
) -> tuple[int, bytes, str] | float | None:
    """The common case answered at once, with no task: no fault waits and no time-out is
    drawn. Else (nothing recorded yet) what :func:`_api_call` must do: None when a fault
    matches, or the seconds of the random time-out drawn here."""
    started = time.monotonic()
    body, body_error = parse_body(raw)
    with state.lock:
        if any(fault.matches(path) for fault in state.faults):
            return None
        late = state.platform.chaos_delay(path)
        if late > 0:
            return late
        record = state.record_call(method, path, query, body, body_error)
    payload = dispatch(state, method, path, query, body, body_error)
    if isinstance(payload, FileAnswer):
        out, content_type, errcode = payload.data, payload.content_type, 0
    else:
        out, errcode = _json(payload), payload.get("errcode", 0)
        content_type = "application/json; charset=utf-8"
    with state.lock:
        record["errcode"] = errcode
        record["status"] = 200
        record["duration"] = round(time.monotonic() - started, 4)
    return 200, out, content_type


async def _api_call(
    state: SandboxState,
    method: str,
    path: str,
    query: dict[str, str],
    raw: bytes,
    drawn: float | None = None,
) -> tuple[int, bytes, str]:
    """``/cgi-bin/…`` as :func:`bot.dev.sandbox.api.handle_api_call` answers it (``drawn``:
    a random time-out :func:`_quick_call` drew already)."""
    started = time.monotonic()
    body, body_error = parse_body(raw)
    with state.lock:
        record = state.record_call(method, path, query, body, body_error)
        fault = state.take_fault(path) if drawn is None else None
        late = drawn or (state.platform.chaos_delay(path) if fault is None else 0.0)
    processed_first = fault is not None and fault.processed and not fault.answers_error
    if fault is not None and fault.delay > 0 and not processed_first:
        await asyncio.sleep(fault.delay)
    status, content_type = 200, "application/json; charset=utf-8"
    if fault is not None and fault.answers_error:
        if fault.errcode is None:
            status = fault.status or 500
            out = f"<html><body><h1>{status}</h1></body></html>".encode()
            content_type, errcode = "text/html; charset=utf-8", None
        else:
            errmsg = fault.errmsg or ERRMSGS.get(fault.errcode, "sandbox injected error")
            out, errcode = _json({"errcode": fault.errcode, "errmsg": errmsg}), fault.errcode
            status = fault.status or 200
    else:
        payload = dispatch(state, method, path, query, body, body_error)
        if isinstance(payload, FileAnswer):
            out, content_type, errcode = payload.data, payload.content_type, 0
        else:
            out, errcode = _json(payload), payload.get("errcode", 0)
        if processed_first and fault is not None:
            late = fault.delay
        if late > 0:
            await asyncio.sleep(late)
    with state.lock:
        record["errcode"] = errcode
        record["status"] = status
        record["duration"] = round(time.monotonic() - started, 4)
    return status, out, content_type


def _wsgi(app: Flask, method: str, target: str, headers: dict[str, str], raw: bytes) -> bytes:
    """Any other path: the sandbox's Flask app, called in-line (control calls are rare)."""
    parts = urlsplit(target)
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
        answer["status"] = int(status.split()[0])
        answer["type"] = dict(response_headers).get("Content-Type", "text/plain")
        return None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return _reply(answer.get("status", 500), body, answer.get("type", "text/plain"), True)


class _Connection(asyncio.Protocol):
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.state: SandboxState = app.extensions["sandbox"]
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.transport is None:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self.transport.close()
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.transport.write(_reply(413, b"", "text/plain", False))
            self.transport.close()
            return
        if len(self.buffer) < end + 4 + length:
            return  # the rest of the body is still on its way
        raw = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        path, _, query_string = target.partition("?")
        if path.startswith("/cgi-bin/"):
            query = dict(parse_qsl(query_string, keep_blank_values=True))
            try:
                quick = _quick_call(self.state, method, path, query, raw)
            except Exception:
                logger.exception("fast sandbox: %s %s failed", method, target)
                quick = (500, b"", "text/plain")
                keep = False
            if isinstance(quick, tuple):
                self.transport.write(_reply(*quick, keep))
                if not keep:
                    self.transport.close()
                elif self.buffer:
                    self._next()
                return
            drawn = quick if isinstance(quick, float) else None
        else:
            drawn = None
        self.busy = True
        asyncio.ensure_future(self._answer(method, target, headers, raw, keep, drawn))

    async def _answer(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        raw: bytes,
        keep: bool,
        drawn: float | None = None,
    ) -> None:
        transport = self.transport
        try:
            path, _, query_string = target.partition("?")
            if path.startswith("/cgi-bin/"):
                query = dict(parse_qsl(query_string, keep_blank_values=True))
                status, body, content_type = await _api_call(
                    self.state, method, path, query, raw, drawn
                )
                out = _reply(status, body, content_type, keep)
            else:
                out = _wsgi(self.app, method, target, headers, raw)
        except Exception:
            logger.exception("fast sandbox: %s %s failed", method, target)
            out = _reply(500, b"", "text/plain", False)
            keep = False
        if transport is None or transport.is_closing():
            return
        transport.write(out)
        self.busy = False
        if not keep:
            transport.close()
            return
        if self.buffer:
            self._next()


async def serve(host: str, port: int, app: Flask) -> None:
    """Serve ``app`` (``create_sandbox_app()``) until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(app), host, port, backlog=512)
    logger.info("WeChat API sandbox (fast) on http://%s:%s/cgi-bin/", host, port)
    async with server:
        await server.serve_forever()


def run_fast(app: Flask, host: str = "127.0.0.1", port: int = 5001) -> None:
    asyncio.run(serve(host, port, app))
