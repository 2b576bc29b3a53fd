"""Mediation statistics for a period: by type and committee, success rate with its parts,
amounts, average days to settle — over the cases the user may see."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.extensions import db
from bot.services.cases import mediation, stats
from tests.factories import CaseFactory
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def made(committee, category, *, outcome="", status="待受理", amount=None, days=None, on=1):
    created = datetime(2026, 11, on, 2, 0)  # 10:00 local
    return CaseFactory(
        committee=committee,
        category=category,
        outcome=outcome,
        status=status,
        amount=amount,
        created_at=created,
        accepted_at=created,
        settled_at=datetime(2026, 11, on + days, 2, 0) if days is not None else None,
    )


def test_figures_by_type_and_committee(org):
    zj, labour = org.chamber_committee, org.labour_committee
    made(zj, "合同", outcome="success", status="已结案", amount=200000, days=10)
    made(zj, "合同", outcome="failure", status="调解未成功", amount=50000, days=20)
    made(zj, "货款债务", outcome="success", status="调解成功", amount=30000, days=5)
    made(zj, "合同", status="不予受理")
    made(labour, "劳动用工", status="已受理", amount=8000)
    made(zj, "合同", outcome="success", status="已结案", on=28, days=1)  # outside the period
    report = stats.report(
        db.session, mediation.KIND, org.admin,
        start=date(2026, 11, 1), end=date(2026, 11, 20), zone=SHANGHAI,
    )  # fmt: skip
    total = report.total
    assert (total.received, total.success, total.failure, total.other, total.open) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert (total.success, total.decided) == (2, 3) and round(total.success_rate, 3) == 0.667
    assert total.amount == Decimal(288000) and total.settled_amount == Decimal(230000)
    assert total.average_days == 35 / 3
    assert list(report.by_category) == ["合同", "货款债务", "劳动用工"]  # the kind's order
    contract = report.by_category["合同"]
    assert (contract.received, contract.success, contract.failure) == (3, 1, 1)
    assert report.by_assignee["示范市浙江商会人民调解委员会"].received == 4
    assert report.by_assignee["示范市劳动争议调解委员会"].open == 1


def test_a_mediator_counts_only_their_committee(org):
    made(org.chamber_committee, "合同", outcome="success", status="已结案", days=3)
    made(org.other_committee, "合同", outcome="success", status="已结案", days=3)
    mine = stats.report(db.session, mediation.KIND, org.mediator)
    assert mine.total.received == 1
    assert list(mine.by_assignee) == ["示范市浙江商会人民调解委员会"]
    assert stats.report(db.session, mediation.KIND, org.admin).total.received == 2
