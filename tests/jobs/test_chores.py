"""Periodic chores: RQ's cron scheduler enqueues them, one scheduler at a time, through outages.

The first tests drive :class:`ChoreScheduler` rounds in this process on the test Redis; the
last runs ``flask scheduler`` and ``flask worker`` as processes on an embedded Redis that it
stops and starts again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot import create_app
from bot.dev.embedded import EmbeddedRedis
from bot.extensions import db
from bot.jobs.chores import CHORES, LEAD_KEY, ChoreScheduler, make_scheduler
from bot.settings import ENV_NAMES

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
HISTORY = "rq:cron_job:training-reminders:jobs"  # RQ's record of what the cron job enqueued
CONFIG = {"RQ_QUEUE": "chores-test", "CHORES_INTERVAL_SECONDS": 60, "NOTICE_SWEEP_SECONDS": 30}


@pytest.fixture
def connection(redis_server, redisdb) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.close()


def queued(connection: redis.Redis) -> list[str]:
    """The training-reminder sweeps queued (the chore these tests follow; others run too)."""
    jobs = Queue(CONFIG["RQ_QUEUE"], connection=connection).jobs
    return [job.func_name for job in jobs if job.func_name == "bot.jobs.queue.send_reminders"]


def test_the_reminders_are_a_chore():
    assert [chore.func.__name__ for chore in CHORES] == [
        "send_reminders",
        "case_chores",
        "sweep",  # bot.jobs.notices
        "staff_chores",
    ]
    scheduler = make_scheduler(redis.Redis(), CONFIG)
    job = next(j for j in scheduler.get_jobs() if j.name == "training-reminders")
    assert job.func_name == "bot.jobs.queue.send_reminders"
    assert (job.interval, job.queue_name, job.name) == (60, "chores-test", "training-reminders")
    assert job.job_options["ttl"] == 60  # an untaken sweep is replaced, not piled up


def test_a_scheduler_enqueues_a_chore_once_per_interval(connection: redis.Redis):
    scheduler = make_scheduler(connection, CONFIG)
    pause = scheduler.tick()
    assert queued(connection) == ["bot.jobs.queue.send_reminders"]
    assert 0 < pause <= 5  # it renews its lead and looks at Redis at least every 5 s
    scheduler.tick()
    assert len(queued(connection)) == 1, "not due again before the interval"
    assert connection.zcard(HISTORY) == 1


def test_a_second_scheduler_stands_by_until_the_first_stops(connection: redis.Redis):
    first, second = make_scheduler(connection, CONFIG), make_scheduler(connection, CONFIG)
    first.tick()
    second.tick()
    assert len(queued(connection)) == 1, "two schedulers must not both enqueue"
    assert connection.get(LEAD_KEY) == first.name.encode()
    first._step_down()  # what SIGTERM ends with
    second.tick()
    assert connection.get(LEAD_KEY) == second.name.encode()
    assert len(queued(connection)) == 2  # the stand-by took over at once


def test_a_scheduler_rides_out_an_unreachable_redis():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    scheduler = ChoreScheduler(dead)
    assert scheduler.tick() == 1.0  # no exception: it tries again in a second


# -- processes: an outage of the embedded Redis ------------------------------------------------


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            [FLASK, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-30:]
        return f"--- {self.name} ---\n" + "\n".join(lines)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # work horses, RQ's scheduler process
        except ProcessLookupError:
            pass
        self.popen.wait(5)
        self._out.close()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, diagnose: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{diagnose()}")
        time.sleep(0.1)
    return result


def finished_chores(server: EmbeddedRedis) -> int:
    """Sweeps the worker finished (each answered 0: nobody is due a reminder)."""
    client = redis.Redis(unix_socket_path=str(server.socket), socket_timeout=2)
    try:
        done = 0
        for job_id in client.zrange(HISTORY, 0, -1):
            try:
                job = Job.fetch(job_id.decode(), connection=client)
            except NoSuchJobError:
                continue  # expired untaken (its ttl is one interval): the next one replaces it
            if job.get_status() == JobStatus.FINISHED and job.return_value() == 0:
                done += 1
        return done
    except redis.RedisError:
        return 0
    finally:
        client.close()


@pytest.mark.slow
def test_chores_run_again_within_seconds_of_redis_coming_back(
    tmp_path: Path, instance_path: Path, embedded_redis: EmbeddedRedis, sandbox: str
):
    instance, server = instance_path, embedded_redis
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "WECHAT_API_BASE": sandbox + "cgi-bin/",
        "SECRET_KEY": "test-secret",
        "CHORES_INTERVAL_SECONDS": "1",
    }
    app = create_app(settings, instance_path=instance)  # no REDIS_URL: the embedded one
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if k not in (*ENV_NAMES, "FLASK_APP", "FLASK_ENV")}
    env.update(settings, PYTHONUNBUFFERED="1")
    target = ["--app", f"bot:create_app(instance_path={str(instance)!r})"]
    procs = [
        Proc(name, [*target, name], env, tmp_path / f"{name}.log")
        for name in ("worker", "scheduler")
    ]

    def diagnose() -> str:
        return "\n".join(proc.tail() for proc in procs)

    try:
        wait_for(lambda: finished_chores(server) >= 2, 60, "the chore to run", diagnose)

        server.stop()
        time.sleep(8)  # long enough for RQ's own back-off to reach 8 s (we cap it at 2)
        server.start()  # empty: nothing survives in it but what the processes put back
        back = time.monotonic()
        wait_for(lambda: finished_chores(server) >= 1, 20, "the chore after the outage", diagnose)
        print(f"chore ran {time.monotonic() - back:.1f} s after Redis came back")
        assert time.monotonic() - back < 8, diagnose()
        for proc in procs:
            assert proc.popen.poll() is None, f"{proc.name} exited\n{diagnose()}"
        assert "Redis is back" in (tmp_path / "scheduler.log").read_text()

        # SIGTERM twice, as make run's group gets it and the launcher passes it on: the
        # scheduler steps down cleanly and frees the lead for a stand-by at once.
        scheduler = procs[1].popen
        scheduler.send_signal(signal.SIGTERM)
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(10) == 0, diagnose()
        assert "Traceback" not in (tmp_path / "scheduler.log").read_text(), diagnose()
        client = redis.Redis(unix_socket_path=str(server.socket))
        assert client.get(LEAD_KEY) is None
        client.close()
    finally:
        for proc in procs:
            proc.stop()
