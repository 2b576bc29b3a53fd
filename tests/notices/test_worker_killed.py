"""A send survives a SIGKILLed worker: real ``flask worker`` processes against the sandbox.

Two workers send a template notice to 1,200 followers; while one of them holds leased rows
mid-batch, its work horse and the worker are SIGKILLed and a third worker is started. The
send resumes where it stopped (the dead worker's rows are claimed again once their lease runs
out, under the same client_msg_id) and the sandbox's record shows every follower received
the notice exactly once.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import create_app
from bot.extensions import db
from bot.models import Delivery, Notice
from tests.notices.helpers import create_and_send, invoke, received
from tests.test_multiprocess import BIN, Proc, bot_env, wait_for

FOLLOWERS = 1200


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_sigkilled_worker_mid_batch_and_a_new_one_every_follower_once(
    tmp_path: Path, redis_server, redisdb, sandbox, sandbox_calls
):
    settings = {
        "WECHAT_TOKEN": "test-token",
        "WECHAT_APP_ID": "wx-test-app",
        "WECHAT_APP_SECRET": "test-app-secret",
        "WECHAT_API_BASE": sandbox + "cgi-bin/",
        "REDIS_URL": f"redis://{redis_server.host}:{redis_server.port}/0",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'bot.db'}",
        "SECRET_KEY": "test-secret",
        "NOTICE_TEMPLATE_ID": "tpl-notice",
        "NOTICE_LEASE_SECONDS": 4,
        "NOTICE_BATCH_SIZE": 40,
        "NOTICE_SEND_THREADS": 2,
        "NOTICE_CHAINS": 3,
    }
    app = create_app({**settings, "TESTING": True})
    workers: list[Proc] = []
    cmd = [str(BIN / "flask"), "--app", "wsgi", "worker"]
    env = bot_env(settings)
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            runner = app.test_cli_runner()
            invoke(runner, "demo", "followers", str(FOLLOWERS))
            notice_id = create_and_send(runner)
            db.session.remove()

            workers = [Proc(f"worker-{i}", cmd, env, tmp_path / f"worker-{i}.log") for i in (0, 1)]
            victim = workers[0]

            def victim_holds_rows() -> list[int]:
                victim.check_alive()
                horses = children(victim.popen.pid)
                db.session.remove()
                for horse in horses:
                    held = db.session.execute(
                        select(Delivery.id).where(
                            Delivery.status == "sending",
                            Delivery.claimed_by.like(f"%:{horse}:%"),
                        )
                    ).first()
                    if held is not None and received(sandbox, "template")["messages"] >= 100:
                        return horses
                return []

            horses = wait_for(victim_holds_rows, 90, "the first worker mid-batch", victim.tail)
            for horse in horses:
                os.kill(horse, signal.SIGKILL)
            os.killpg(victim.popen.pid, signal.SIGKILL)
            victim.popen.wait(timeout=10)
            before = received(sandbox, "template")["messages"]
            assert before < FOLLOWERS, "the send finished before the kill; nothing was tested"
            workers.append(Proc("worker-new", cmd, env, tmp_path / "worker-new.log"))

            def finished() -> bool:
                db.session.remove()
                row = db.session.get(Notice, notice_id)
                return row is not None and row.status == "sent"

            wait_for(finished, 150, "the send to finish", lambda: workers[-1].tail())
            got = received(sandbox, "template")
            assert got["recipients"] == FOLLOWERS
            assert got["messages"] == FOLLOWERS and got["duplicates"] == 0, got
            rows = db.session.execute(
                select(Delivery).where(Delivery.notice_id == notice_id)
            ).scalars()
            rows = list(rows)
            assert len(rows) == FOLLOWERS and {r.status for r in rows} == {"sent"}
            # The dead worker's leased rows were claimed a second time, by another worker.
            assert any(r.attempts > 1 for r in rows)
    finally:
        for proc in workers:
            proc.stop()
        with app.app_context():
            db.session.remove()
            if os.environ.get("TEST_DATABASE_URL"):
                db.drop_all()
            db.engine.dispose()
