"""Helpers for the console tests: a signed-in staff driver and a few rows to work on."""

from __future__ import annotations

import json
import re

from flask import current_app
from sqlalchemy import select

from bot.extensions import db
from bot.models import AdminUser, Committee, Handoff, Registration, TrainingSession
from bot.services import clock, training
from tests.factories import HandoffFactory, HandoffMessageFactory, TrainingSessionFactory

PASSWORD = "correct-horse-42"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Console:
    """Drives the console as a member of staff (flaskr's ``AuthActions``).

    CSRF tokens are read off a page, as a browser gets them: the sign-in page when signed
    out, the dashboard (its sign-out button) when signed in.
    """

    def __init__(self, client, runner) -> None:
        self.client = client
        self.runner = runner

    def create(self, name: str, role: str, *options: str) -> dict:
        result = self.runner.invoke(
            args=["admin", "create-user", name, "--role", role, "--password", PASSWORD, *options]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def token(self) -> str:
        page = self.client.get("/admin/login", follow_redirects=True).get_data(as_text=True)
        found = _TOKEN.search(page)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def login(self, name: str = "boss", role: str = "admin", password: str = PASSWORD, **kw):
        if not db.session.execute(select(AdminUser).where(AdminUser.username == name)).first():
            self.create(name, role)
        return self.post("/admin/login", {"username": name, "password": password, **kw})

    def logout(self):
        return self.post("/admin/logout")

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token()}, **kw)

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)


def queued(app) -> list[tuple[str, str]]:
    """The (openid, text) of every push job waiting in the queue, oldest first."""
    return [tuple(job.args[:2]) for job in app.extensions["rq"].jobs]


def make_session(**overrides) -> TrainingSession:
    values = {
        "title": "新生代企业家培训班（第三期）",
        "capacity": 2,
        "place": "市民中心 301",
        "deadline": None,
    }
    return TrainingSessionFactory(**{**values, **overrides})


def sign_up(session: TrainingSession, openid: str, name: str, **kw) -> Registration:
    outcome = training.register(
        db.session,
        session,
        openid=openid,
        member=None,
        name=name,
        company=kw.get("company", "某某科技有限公司"),
        position="总经理",
        phone=kw.get("phone", "13800138000"),
        now=clock.local_now(current_app.config),
    )
    db.session.commit()
    return outcome.registration


def make_committee(name: str, *types: str) -> Committee:
    row = Committee(name=name, dispute_types=list(types), contact="0000-1111")
    db.session.add(row)
    db.session.commit()
    return row


def open_handoff(openid: str = "o-help", committee: Committee | None = None) -> Handoff:
    """A member waiting for a person, routed to ``committee`` if given, with one message."""
    row = HandoffFactory(openid=openid, committee_id=committee.id if committee else None)
    HandoffMessageFactory(handoff=row, text="我想咨询贷款贴息")
    return row
