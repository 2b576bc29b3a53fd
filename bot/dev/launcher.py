"""``make run``: everything a newcomer needs, started together and stopped together.

With no ``REDIS_URL`` it starts an embedded Redis; with no ``WECHAT_API_BASE`` the WeChat API
sandbox; then it migrates and seeds the database and stores a secret key (``flask init``),
starts a job worker and the chores' scheduler (one of each) and serves the bot with
gunicorn. Ctrl-C or SIGTERM stops all of it. In production these are separate services
(see README.md).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.dev.embedded import EmbeddedRedis
from bot.paths import ROOT

log = logging.getLogger("launcher")


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _wait_http(url: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s launcher: %(message)s")
    env = dict(os.environ)
    if env.get("ENV") == "production":
        # make run starts a fake WeChat API and an embedded Redis: never a production set-up.
        log.error(
            "make run is the development runner (embedded Redis, WeChat API sandbox) and "
            "refuses ENV=production. In production run gunicorn, flask worker and flask "
            "scheduler as services (README, Production deployment)."
        )
        return 2
    env.setdefault("FLASK_APP", "wsgi")
    port = env.get("PORT", "5000")
    sandbox_port = env.get("SANDBOX_PORT", "5001")
    children: list[subprocess.Popen[bytes]] = []
    redis_server: EmbeddedRedis | None = None

    def stop(*_: object) -> None:
        # Once stopping, further signals are ignored: `make run` forwards SIGTERM to us as well
        # when its process group gets one, and a second SystemExit raised in here would cut
        # the clean-up short (and leave the embedded Redis running).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in reversed(children):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server is not None:
            redis_server.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if not env.get("REDIS_URL"):
            redis_server = EmbeddedRedis(ROOT / "instance" / "redis")
            if not redis_server.is_running():
                redis_server.start()
            else:
                redis_server = None  # someone else's; leave it running
                log.info("using the embedded Redis that is already running")
            env["REDIS_URL"] = EmbeddedRedis(ROOT / "instance" / "redis").url
        if not env.get("WECHAT_API_BASE"):
            flask = [_bin("flask"), "--app", "wsgi"]
            children.append(
                subprocess.Popen(
                    [*flask, "wechat", "sandbox", "--port", sandbox_port], cwd=ROOT, env=env
                )
            )
            env["WECHAT_API_BASE"] = f"http://127.0.0.1:{sandbox_port}/cgi-bin/"
            if not _wait_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/stats"):
                log.error("the WeChat API sandbox did not start")
                return 1
        subprocess.run([_bin("flask"), "--app", "wsgi", "init"], cwd=ROOT, env=env, check=True)
        for command in ("worker", "scheduler"):
            children.append(
                subprocess.Popen([_bin("flask"), "--app", "wsgi", command], cwd=ROOT, env=env)
            )
        children.append(
            subprocess.Popen(
                [
                    _bin("gunicorn"),
                    "--workers",
                    env.get("WEB_CONCURRENCY", "2"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--access-logfile",
                    "-",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        if _wait_http(f"http://127.0.0.1:{port}/healthz"):
            print(
                f"\n  商会助手 is running.\n"
                f"  Chat as a member:   http://127.0.0.1:{port}/dev/chat\n"
                f"  Health:             http://127.0.0.1:{port}/healthz\n"
                f"  WeChat API calls:   {env['WECHAT_API_BASE'][: -len('cgi-bin/')]}_sandbox/\n"
                f"  Press Ctrl-C to stop everything.\n",
                flush=True,
            )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        log.error("a process exited; stopping the rest")
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stop()


if __name__ == "__main__":
    raise SystemExit(main())
