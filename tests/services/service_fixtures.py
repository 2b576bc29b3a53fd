"""Fixtures the four service kinds' tests share (imported by name into each module).

``svc``: departments arranged so that each service's routing has one clear answer — the
法律维权部 runs 法治体检, the 经济服务部 融资对接 and 招商引资, the 商会工作部 商会代办, and a
department that takes 其他 — an officer bound to each, a lawyer, two partner banks and a
代办员 of the 浙江商会 on the rosters (each with a console user), the demo 代办事项清单
imported, and the holiday calendar seeded (``calendar_ready``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.extensions import db
from bot.models import AdminUser, Chamber, Department, Provider
from bot.paths import KNOWLEDGE_DIR
from bot.services import catalogue
from tests.factories import AdminUserFactory, ChamberFactory, DepartmentFactory
from tests.services.case_fixtures import calendar_ready  # noqa: F401 (a fixture)

__all__ = ["calendar_ready", "svc"]


@dataclass
class Services:
    legal: Department
    economic: Department
    chamber_dept: Department
    other: Department
    zhejiang: Chamber
    legal_officer: AdminUser
    economic_officer: AdminUser
    chamber_officer: AdminUser
    lawyer: AdminUser
    bank: AdminUser
    other_bank: AdminUser
    agent: AdminUser
    lawyer_row: Provider
    bank_row: Provider
    other_bank_row: Provider
    agent_row: Provider
    admin: AdminUser


def _provider(kind: str, name: str, user: AdminUser, **kw) -> Provider:
    row = Provider(kind=kind, name=name, user_id=user.id, **kw)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def svc(app, calendar_ready) -> Services:  # noqa: F811 (the fixture above)
    legal = DepartmentFactory(name="示范市工商联法律维权部", categories=["法治体检", "法律权益"])
    economic = DepartmentFactory(name="示范市工商联经济服务部", categories=["融资对接", "招商引资"])
    chamber_dept = DepartmentFactory(name="示范市工商联商会工作部", categories=["商会代办"])
    other = DepartmentFactory(name="示范市工商联办公室", categories=["其他"])
    zhejiang = ChamberFactory(name="示范市浙江商会")
    lawyer = AdminUserFactory(username="lawyer-zhang", role="lawyer")
    bank = AdminUserFactory(username="bank-rural", role="bank")
    other_bank = AdminUserFactory(username="bank-ccb", role="bank")
    agent = AdminUserFactory(username="agent-zj", role="agent")
    table = catalogue.read_table(KNOWLEDGE_DIR / "proxy_catalogue.csv")
    catalogue.import_table(db.session, table)
    db.session.commit()
    return Services(
        legal=legal,
        economic=economic,
        chamber_dept=chamber_dept,
        other=other,
        zhejiang=zhejiang,
        legal_officer=AdminUserFactory(
            username="off-legal", role="officer", department_id=legal.id
        ),
        economic_officer=AdminUserFactory(
            username="off-econ", role="officer", department_id=economic.id
        ),
        chamber_officer=AdminUserFactory(
            username="off-chamber", role="officer", department_id=chamber_dept.id
        ),
        lawyer=lawyer,
        bank=bank,
        other_bank=other_bank,
        agent=agent,
        lawyer_row=_provider(
            "lawyer", "张律师", lawyer, organisation="示范律师事务所", contact="13900001111"
        ),
        bank_row=_provider("bank", "示范农村商业银行", bank, contact="李经理 13900002222"),
        other_bank_row=_provider("bank", "示范建设银行示范支行", other_bank),
        agent_row=_provider(
            "agent", "王代办员", agent, chamber_id=zhejiang.id, contact="13900003333"
        ),
        admin=AdminUserFactory(username="chief", role="admin"),
    )
