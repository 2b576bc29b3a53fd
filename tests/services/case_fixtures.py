"""Fixtures the case tests share (imported by name into each test module that uses them).

``org``: two chambers, four committees arranged so that each routing rule of mediation has
one clear answer, and a mediator bound to each committee; ``calendar_ready``: the holiday
table seeded, with 2027 declared (元旦 only) so that a deadline counted in late December
still has a year to land in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import current_app

from bot.extensions import db
from bot.models import AdminUser, Chamber, Committee
from bot.services import calendar
from tests.factories import AdminUserFactory, ChamberFactory, CommitteeFactory

# What ``from tests.services.case_fixtures import *`` brings: the fixtures.
__all__ = ["calendar_ready", "org"]


@pytest.fixture
def calendar_ready(app):
    calendar.seed(db.session)
    calendar.set_day(db.session, date(2027, 1, 1), "holiday", "元旦")
    calendar.cover_year(db.session, 2027)
    db.session.commit()


@dataclass
class Org:
    zhejiang: Chamber  # has its own committee
    building: Chamber  # has none
    chamber_committee: Committee  # 浙江商会's: 合同, 货款债务
    labour_committee: Committee  # federation level: 劳动用工, 知识产权
    default_committee: Committee  # federation level, the default: 其他
    other_committee: Committee  # another chamber's, for scope tests
    mediator: AdminUser  # of chamber_committee
    labour_mediator: AdminUser
    other_mediator: AdminUser
    admin: AdminUser


@pytest.fixture
def org(app, calendar_ready) -> Org:
    zhejiang = ChamberFactory(name="示范市浙江商会")
    building = ChamberFactory(name="示范市建材行业商会")
    elsewhere = ChamberFactory(name="示范市福建商会")
    chamber_committee = CommitteeFactory(
        name="示范市浙江商会人民调解委员会", chamber=zhejiang, dispute_types=["合同", "货款债务"]
    )
    labour = CommitteeFactory(
        name="示范市劳动争议调解委员会", dispute_types=["劳动用工", "知识产权"]
    )
    default = CommitteeFactory(
        name="示范市商会人民调解委员会", dispute_types=["其他"], is_default=True
    )
    other = CommitteeFactory(
        name="示范市福建商会人民调解委员会", chamber=elsewhere, dispute_types=["合同"]
    )
    return Org(
        zhejiang=zhejiang,
        building=building,
        chamber_committee=chamber_committee,
        labour_committee=labour,
        default_committee=default,
        other_committee=other,
        mediator=AdminUserFactory(
            username="med-zj", role="mediator", committee_id=chamber_committee.id
        ),
        labour_mediator=AdminUserFactory(
            username="med-labour", role="mediator", committee_id=labour.id
        ),
        other_mediator=AdminUserFactory(username="med-fj", role="mediator", committee_id=other.id),
        admin=AdminUserFactory(username="boss", role="admin"),
    )


def open_window(openid: str, pushes: int = 5) -> None:
    """What a member's message does: customer-service pushes allowed for 48 hours."""
    current_app.extensions["redis"].set(f"bot:win:msg:{openid}", pushes, ex=48 * 3600)


def close_window(openid: str) -> None:
    client = current_app.extensions["redis"]
    client.delete(f"bot:win:msg:{openid}", f"bot:win:evt:{openid}")


def texts_to(calls, openid: str) -> list[str]:
    """The customer-service texts the sandbox accepted for ``openid``, oldest first (a call
    it failed on purpose, with a fault, delivered nothing)."""
    return [
        c["body"]["text"]["content"]
        for c in calls.list("message/custom/send")
        if c["body"].get("touser") == openid and not c.get("errcode")
    ]
