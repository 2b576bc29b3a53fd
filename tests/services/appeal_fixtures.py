"""Fixtures the appeal tests share (imported by name into each test module that uses them).

``depts``: three departments arranged so that routing has one clear answer per category —
融资 and 税费 to the economic-service department, 用地 and 人才 to the investment-promotion
one, everything else (其他) to the rights-protection one — an officer bound to each, and an
admin; the holiday calendar is seeded (``calendar_ready``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.models import AdminUser, Department
from tests.factories import AdminUserFactory, DepartmentFactory
from tests.services.case_fixtures import calendar_ready  # noqa: F401 (a fixture)

__all__ = ["calendar_ready", "depts"]


@dataclass
class Depts:
    economic: Department  # 融资, 税费
    land: Department  # 用地, 人才
    rights: Department  # 法律权益, 其他 (takes what nobody else does)
    officer: AdminUser  # of economic
    land_officer: AdminUser
    rights_officer: AdminUser
    admin: AdminUser


@pytest.fixture
def depts(app, calendar_ready) -> Depts:  # noqa: F811 (the fixture above)
    economic = DepartmentFactory(name="示范市工商联经济服务部", categories=["融资", "税费"])
    land = DepartmentFactory(name="示范市投资促进局", categories=["用地", "人才"])
    rights = DepartmentFactory(name="示范市工商联法律维权部", categories=["法律权益", "其他"])
    return Depts(
        economic=economic,
        land=land,
        rights=rights,
        officer=AdminUserFactory(username="off-econ", role="officer", department_id=economic.id),
        land_officer=AdminUserFactory(username="off-land", role="officer", department_id=land.id),
        rights_officer=AdminUserFactory(
            username="off-rights", role="officer", department_id=rights.id
        ),
        admin=AdminUserFactory(username="chief", role="admin"),
    )
