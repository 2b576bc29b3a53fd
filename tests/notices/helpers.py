"""Helpers of the notice tests: demo followers, admins, a send run in this process, and
what the sandbox says reached whom."""

from __future__ import annotations

import json
import time

import requests

from bot.extensions import db
from bot.models import Notice
from tests.factories import AdminUserFactory


def invoke(runner, *args: str) -> dict:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def admins() -> tuple[str, str]:
    AdminUserFactory(username="ada", role="admin")
    AdminUserFactory(username="bo", role="admin")
    return "ada", "bo"


def create_and_send(runner, *, channel: str = "template", audience: str = "all", **kw) -> int:
    ada, bo = admins()
    args = ["notices", "create", "--title", kw.get("title", "年会通知"), "--body", "正文"]
    args += ["--summary", kw.get("summary", "12月20日召开年会"), "--channel", channel]
    args += ["--audience", audience, "--as", ada]
    notice_id = int(invoke(runner, *args)["id"])
    invoke(runner, "notices", "send", str(notice_id), "--approve-as", bo, "--as", ada)
    return notice_id


def run_send(notice_id: int, timeout: float = 60.0) -> Notice:
    """Run the send's jobs in this process (as a worker would) until it is finished."""
    from bot.jobs import notices as jobs

    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        jobs.drive(notice_id)
        db.session.expire_all()
        row = db.session.get(Notice, notice_id)
        if row.status != "sending":
            return row
        time.sleep(0.2)
    raise AssertionError(f"notice {notice_id} still sending after {timeout} s")


def received(sandbox: str, kind: str | None = None, openid: str | None = None) -> dict:
    params = {k: v for k, v in {"kind": kind, "openid": openid}.items() if v}
    return requests.get(sandbox + "_sandbox/received", params=params, timeout=5).json()


def platform(sandbox: str, **settings) -> None:
    resp = requests.post(sandbox + "_sandbox/platform", json=settings, timeout=5)
    assert resp.status_code == 200, resp.text


def sandbox_followers(sandbox: str, *openids: str) -> None:
    """Make the sandbox know these followers (a mass send to all reaches whom it knows)."""
    token = requests.get(
        sandbox + "cgi-bin/token",
        params={"grant_type": "client_credential", "appid": "wx", "secret": "s"},
        timeout=5,
    ).json()["access_token"]
    for openid in openids:
        params = {"access_token": token, "openid": openid}
        requests.get(sandbox + "cgi-bin/user/info", params=params, timeout=5).raise_for_status()
