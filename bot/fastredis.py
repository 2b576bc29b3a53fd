"""A minimal Redis connection for the webhook's two scripts per message.

redis-py spends about 120 µs of Python per call on connection-pool bookkeeping, command
packing and instrumentation; the webhook makes two calls per message, which was a fifth of
its CPU. This sends ``EVALSHA`` over one socket per thread with hiredis packing and parsing
(about 25 µs). Errors surface as ``redis.ConnectionError``/``redis.ResponseError``, so callers
handle an outage exactly as they do with redis-py. Everything else keeps using redis-py.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis
import redis


class ScriptClient:
    """Runs registered Lua scripts; one connection per thread, reconnecting after errors."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.address: Any = (
            parts.path
            if parts.scheme == "unix"
            else (parts.hostname or "127.0.0.1", parts.port or 6379)
        )
        self.password = unquote(parts.password) if parts.password else None
        self.username = unquote(parts.username) if parts.username else None
        db_text = parts.path.lstrip("/") if parts.scheme != "unix" else ""
        self.db = int(db_text) if db_text.isdigit() else 0
        if parts.scheme == "unix" and "db=" in parts.query:
            self.db = int(parts.query.split("db=")[1].split("&")[0])
        self.timeout = timeout
        self._local = threading.local()

    def _connect(self) -> tuple[socket.socket, hiredis.Reader]:
        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(min(self.timeout, 0.5))
        sock.connect(self.address)
        sock.settimeout(self.timeout)
        reader = hiredis.Reader(encoding="utf-8")
        conn = (sock, reader)
        if self.password:
            auth = (
                ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            )
            self._roundtrip(conn, auth)
        if self.db:
            self._roundtrip(conn, ("SELECT", self.db))
        return conn

    def _roundtrip(
        self, conn: tuple[socket.socket, hiredis.Reader], command: tuple[Any, ...]
    ) -> Any:
        sock, reader = conn
        sock.sendall(hiredis.pack_command(command))
        while True:
            reply = reader.gets()
            if reply is not False:
                return reply
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            reader.feed(chunk)

    def call(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) != os.getpid():
            conn = None  # inherited through fork: the socket belongs to the parent
        if conn is None:
            self._local.pid = os.getpid()
        try:
            if conn is None:
                conn = self._local.conn = self._connect()
            reply = self._roundtrip(conn, ("EVALSHA", script.sha, len(keys), *keys, *args))
            if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
                reply = self._roundtrip(conn, ("EVAL", script.source, len(keys), *keys, *args))
        except (OSError, ConnectionError) as exc:
            self.close()
            raise redis.ConnectionError(f"Redis unavailable: {exc}") from None
        if isinstance(reply, hiredis.ReplyError):
            raise redis.ResponseError(str(reply))
        return reply

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn[0].close()
            except OSError:
                pass


class Script:
    def __init__(self, client: ScriptClient, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        return self.client.call(self, keys, args)
