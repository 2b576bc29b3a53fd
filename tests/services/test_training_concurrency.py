"""No overbooking, ever: 50 members confirm at once for 10 seats through gunicorn.

Runs against SQLite by default and PostgreSQL when TEST_DATABASE_URL is set (CI does both).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import xmltodict

from bot import create_app
from bot.extensions import db
from bot.models import Registration, TrainingSession
from bot.settings import ENV_NAMES
from bot.wechat.simulate import Signer, text_xml
from tests.conftest import (
    APP_ID,
    ROOT,  # noqa: E402
    TOKEN,
    database_url,
)
from tests.factories import TrainingSessionFactory

BIN = Path(sys.executable).parent
MEMBERS, SEATS = 50, 10
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path, redis_url, sandbox):
    settings = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "s",
        "SECRET_KEY": "test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url(tmp_path),
        "WECHAT_API_BASE": sandbox + "cgi-bin/",
    }
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        session_id = TrainingSessionFactory(capacity=SEATS).id
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update({k: str(v) for k, v in settings.items()})
    env["WEB_CONCURRENCY"] = "3"
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
    yield url, app, session_id
    proc.terminate()
    proc.wait(15)
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def say(url: str, signer: Signer, openid: str, text: str) -> str:
    query, body = signer.request(text_xml(openid, text), openid=openid)
    response = requests.post(url + "/wechat", params=query, data=body, timeout=30)
    assert response.status_code == 200, response.text
    if response.text == "success":
        return ""
    return str(xmltodict.parse(response.text)["xml"]["Content"])


@pytest.mark.slow
def test_fifty_members_ten_seats_exactly_ten_confirmed(server):
    url, app, session_id = server
    signer = Signer(TOKEN, APP_ID)
    ready = threading.Barrier(MEMBERS)
    replies: dict[str, str] = {}
    errors: list[str] = []

    def member(i: int) -> None:
        openid = f"o-rush-{i:02d}"
        try:
            name = "张" + GIVEN[i % len(GIVEN)] + GIVEN[i // len(GIVEN)]
            for text in ("报名新生代培训", name, "某某科技有限公司", "总经理", f"139{i:08d}"):
                say(url, signer, openid, text)
            ready.wait(timeout=120)  # everyone confirms at the same moment
            replies[openid] = say(url, signer, openid, "1")
        except Exception as exc:  # collected: a thread's assert would be lost
            errors.append(f"{openid}: {exc!r}")

    threads = [threading.Thread(target=member, args=(i,)) for i in range(MEMBERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not errors, errors[:5]
    confirmed = [o for o, r in replies.items() if "报名成功" in r]
    waitlisted = [o for o, r in replies.items() if "候补" in r]
    assert (len(confirmed), len(waitlisted)) == (SEATS, MEMBERS - SEATS), replies
    with app.app_context():
        rows = Registration.query.filter_by(session_id=session_id).all()
        statuses = sorted(r.status for r in rows)
        assert statuses.count("confirmed") == SEATS
        assert statuses.count("waitlisted") == MEMBERS - SEATS
        assert db.session.get(TrainingSession, session_id).seats_taken == SEATS
        positions = sorted(
            int(r.split("第 ")[1].split(" 位")[0]) for r in (replies[o] for o in waitlisted)
        )
        assert positions == list(range(1, MEMBERS - SEATS + 1))
