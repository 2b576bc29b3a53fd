"""The embedded Redis: started by the commands that need it, never by the factory.

Each test runs the real ``flask`` command in a subprocess on an instance folder of its own
(``--app 'bot:create_app(instance_path=...)'``), with no ``REDIS_URL``: the configured Redis
is then that instance's embedded one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from bot import create_app
from bot.dev.embedded import EmbeddedRedis
from bot.extensions import db
from bot.settings import ENV_NAMES, read_secret_key

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def flask(
    instance: Path, *args: str, sandbox: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (*ENV_NAMES, "FLASK_APP", "FLASK_ENV")}
    env["WECHAT_API_BASE"] = sandbox + "cgi-bin/"
    env["DATABASE_URL"] = f"sqlite:///{instance.parent / 'bot.db'}"
    app = f"bot:create_app(instance_path={str(instance)!r})"
    return subprocess.run(
        [FLASK, "--app", app, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def answers(socket: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.slow
def test_a_command_needing_redis_starts_the_embedded_one_and_stops_it(tmp_path: Path, sandbox: str):
    instance = tmp_path / "instance"
    # `wechat menu push` keeps the access token in Redis: it needs the server.
    done = flask(instance, "wechat", "menu", "push", sandbox=sandbox)
    assert done.returncode == 0, done.stderr
    assert '"errcode": 0' in done.stdout
    assert "embedded redis started" in done.stderr
    assert "embedded redis stopped" in done.stderr
    assert not answers(instance / "redis" / "redis.sock")


@pytest.mark.slow
def test_a_running_embedded_redis_is_used_and_left_running(
    instance_path: Path, embedded_redis: EmbeddedRedis, sandbox: str
):
    done = flask(instance_path, "wechat", "menu", "push", sandbox=sandbox)
    assert done.returncode == 0, done.stderr
    assert "embedded redis started" not in done.stderr
    assert embedded_redis.process is not None and embedded_redis.process.poll() is None
    client = redis.Redis(unix_socket_path=str(embedded_redis.socket))
    assert any(b"token" in key for key in client.keys()), client.keys()


@pytest.mark.slow
def test_commands_that_need_no_redis_start_none(tmp_path: Path, sandbox: str):
    instance = tmp_path / "instance"
    done = flask(instance, "wechat", "menu", "show", sandbox=sandbox)
    assert done.returncode == 0, done.stderr
    assert "embedded redis" not in done.stderr
    assert not instance.exists()


@pytest.mark.slow
def test_init_stores_the_secret_key_every_process_then_reads(tmp_path: Path, sandbox: str):
    instance = tmp_path / "instance"
    first = flask(instance, "init", sandbox=sandbox, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "database ready" in first.stdout
    key = read_secret_key(instance)
    assert key and len(key) == 64
    again = flask(instance, "init", sandbox=sandbox, timeout=300)
    assert again.returncode == 0, again.stderr
    assert read_secret_key(instance) == key  # safe to repeat: the key is kept
    assert "random key" not in again.stderr


@pytest.mark.slow
def test_the_other_command_groups_start_it_too_but_not_for_help(
    tmp_path: Path, instance_path: Path, sandbox: str
):
    # kb, nlu, admin, training and export are mounted under a group that starts it first.
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    app = create_app(database, instance_path=instance_path)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    assert not instance_path.exists()
    helped = flask(instance_path, "kb", "--help", sandbox=sandbox)
    assert helped.returncode == 0 and "knowledge base" in helped.stdout
    assert "embedded redis" not in helped.stderr
    exported = flask(instance_path, "export", "members", "--format", "json", sandbox=sandbox)
    assert exported.returncode == 0, exported.stderr
    assert "embedded redis started" in exported.stderr
    assert "embedded redis stopped" in exported.stderr
