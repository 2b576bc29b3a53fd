"""A minimal Redis connection for the webhook's per-message scripts.

redis-py spends about 120 µs of Python per call on connection-pool bookkeeping, command
packing and instrumentation. This sends ``EVALSHA`` over one socket per thread with hiredis
packing and parsing (about 25 µs). Errors surface as ``redis.ConnectionError``/
``redis.ResponseError``, so callers handle an outage exactly as they do with redis-py.
Everything else keeps using redis-py.

A script may be *sent* before its answer is needed (:meth:`ScriptClient.send`), and plain
commands *posted* with no one waiting for their answers (:meth:`ScriptClient.post`). Redis
answers each connection in order, so the answers are read back in order, whenever someone
first needs one; an answer that is already in the socket buffer by then costs no wait. That
is what lets the webhook do its work while Redis does its own, instead of sleeping through
every round trip.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import struct
import threading
import time
from collections import deque
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import hiredis
import redis

log = logging.getLogger(__name__)


# A connection unused this long is checked (a non-blocking read) before it is used again.
IDLE_CHECK_SECONDS = 5.0


class _Connection:
    """One socket, its reply parser, and the answers still to be read from it, in order."""

    __slots__ = ("sock", "reader", "pid", "waiting", "used")

    def __init__(self, sock: socket.socket, reader: hiredis.Reader) -> None:
        self.sock = sock
        self.reader = reader
        self.pid = os.getpid()
        self.used = time.monotonic()
        # A Reply per command sent whose answer is not read yet (None: a posted command).
        self.waiting: deque[Reply | None] = deque()


class Reply:
    """The answer to a sent command, read from the socket when first asked for."""

    __slots__ = ("_client", "_conn", "_script", "_keys", "_args", "_ready", "_value")

    def __init__(
        self,
        client: ScriptClient | None,
        conn: _Connection | None,
        script: Script | None,
        keys: list[str],
        args: list[Any],
    ) -> None:
        self._client = client
        self._conn = conn
        self._script = script
        self._keys = keys
        self._args = args
        self._ready = False
        self._value: Any = None

    def _set(self, value: Any) -> None:
        self._value = value
        self._ready = True

    def result(self) -> Any:
        if not self._ready:
            assert self._client is not None and self._conn is not None
            self._client._read_until(self._conn, self)
        value = self._value
        if isinstance(value, Exception) and not isinstance(value, hiredis.ReplyError):
            raise value
        if (
            isinstance(value, hiredis.ReplyError)
            and self._script is not None
            and str(value).startswith("NOSCRIPT")
        ):
            # Redis restarted and lost its script cache: send the source this once.
            assert self._client is not None
            value = self._client._send(
                self._script, ("EVAL", self._script.source), self._keys, self._args
            ).result()
            self._set(value)
        if isinstance(value, hiredis.ReplyError):
            raise redis.ResponseError(str(value))
        return value


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

    # -- the three ways to run a script ---------------------------------------------------
    def call(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        """Run and wait for the answer."""
        return self.send(script, keys, args).result()

    def send(self, script: Script, keys: list[str], args: list[Any]) -> Reply:
        """Send now; read the answer when :meth:`Reply.result` is called."""
        return self._send(script, ("EVALSHA", script.sha), keys, args)

    def send_commands(self, commands: list[tuple[Any, ...]]) -> list[Reply]:
        """Send plain commands in one write; each answer is read when first asked for."""
        conn = self._connection()
        self._write_all(conn, commands)
        replies = [Reply(self, conn, None, [], []) for _ in commands]
        conn.waiting.extend(replies)
        return replies

    def post(self, commands: list[tuple[Any, ...]]) -> None:
        """Send plain commands in one write and do not wait: their answers are read (and a
        failure logged) with a later command's."""
        conn = self._connection()
        self._write_all(conn, commands)
        conn.waiting.extend([None] * len(commands))

    # -- plumbing -------------------------------------------------------------------------
    def _send(
        self, script: Script, head: tuple[str, str], keys: list[str], args: list[Any]
    ) -> Reply:
        conn = self._connection()
        self._write(conn, (*head, len(keys), *keys, *args))
        reply = Reply(self, conn, script, keys, args)
        conn.waiting.append(reply)
        return reply

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.pid == os.getpid():
            now = time.monotonic()
            if now - conn.used < IDLE_CHECK_SECONDS or self._still_open(conn):
                conn.used = now
                return conn
            # Closed by Redis while we were idle (its `timeout` setting, a restart, a
            # proxy): start afresh rather than fail the member's message on a dead socket.
            self._drop(conn, redis.ConnectionError("Redis closed the connection"))
        # None yet, or inherited through fork (the socket belongs to the parent).
        try:
            conn = self._local.conn = self._connect()
        except (OSError, ConnectionError) as exc:
            self._local.conn = None
            raise redis.ConnectionError(f"Redis unavailable: {exc}") from None
        return conn

    def _connect(self) -> _Connection:
        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(min(self.timeout, 0.5))
        sock.connect(self.address)
        # Blocking, with the time limit kept by the kernel (SO_RCVTIMEO/SO_SNDTIMEO): a
        # Python-level timeout makes every send and recv a poll() first, twice the system
        # calls on the path every message takes. A kernel time-out raises OSError as well.
        sock.settimeout(None)
        limit = struct.pack("ll", int(self.timeout), int(self.timeout % 1 * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        conn = _Connection(sock, hiredis.Reader(encoding="utf-8"))
        setup: list[tuple[Any, ...]] = []
        if self.password:
            setup.append(
                ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            )
        if self.db:
            setup.append(("SELECT", self.db))
        for command in setup:
            sock.sendall(hiredis.pack_command(command))
            answer = self._read_one(conn)
            if isinstance(answer, hiredis.ReplyError):
                sock.close()
                raise ConnectionError(str(answer))
        return conn

    def _write(self, conn: _Connection, command: tuple[Any, ...]) -> None:
        self._write_all(conn, [command])

    def _write_all(self, conn: _Connection, commands: list[tuple[Any, ...]]) -> None:
        try:
            conn.sock.sendall(b"".join([hiredis.pack_command(c) for c in commands]))
        except OSError as exc:
            self._fail(conn, exc)

    def _read_one(self, conn: _Connection) -> Any:
        while True:
            answer = conn.reader.gets()
            if answer is not False:
                return answer
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            conn.reader.feed(chunk)

    def _read_until(self, conn: _Connection, target: Reply) -> None:
        """Read answers in order up to ``target``'s; log failed posted commands on the way."""
        try:
            while conn.waiting:
                reply = conn.waiting.popleft()
                answer = self._read_one(conn)
                if reply is None:
                    if isinstance(answer, hiredis.ReplyError):
                        log.error("a posted Redis command failed: %s", answer)
                    continue
                reply._set(answer)
                if reply is target:
                    return
        except (OSError, ConnectionError) as exc:
            self._fail(conn, exc)
        if not target._ready:  # not sent on this connection any more (closed after a failure)
            target._set(redis.ConnectionError("Redis connection was reset"))

    def _still_open(self, conn: _Connection) -> bool:
        """Take in what has arrived (answers to posted commands) without waiting; False if
        Redis has closed the connection."""
        try:
            while True:
                chunk = conn.sock.recv(65536, socket.MSG_DONTWAIT)
                if not chunk:
                    return False
                conn.reader.feed(chunk)
        except BlockingIOError:
            return True  # nothing more to read: open
        except OSError:
            return False

    def _drop(self, conn: _Connection, error: redis.ConnectionError) -> None:
        """Close the connection; every answer still owed on it becomes ``error``."""
        for reply in conn.waiting:
            if reply is not None:
                reply._set(error)
        conn.waiting.clear()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.sock.close()
        except OSError:
            pass

    def _fail(self, conn: _Connection, exc: BaseException) -> NoReturn:
        error = redis.ConnectionError(f"Redis unavailable: {exc}")
        self._drop(conn, error)
        raise error from None


class Script:
    def __init__(self, client: ScriptClient, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        return self.client.call(self, keys, args)
