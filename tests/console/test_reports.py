"""工作台账 (issue 14): the federation's figures for a period as a page, an XLSX workbook and
a print layout, from one set of rows; every case kind the engine declares; the appeals'
three rates with numerator and denominator when the appeals service gives them; the audit
log's browsing and filters."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console import figures
from bot.console.cases import NAV as CASE_LABELS
from bot.extensions import db
from bot.models import AuditLog, Chamber, Follower, Member, utcnow
from bot.services import clock
from bot.services.cases import KINDS
from tests.console.helpers import make_session
from tests.factories import CaseFactory, RegistrationFactory


def seed() -> None:
    now = clock.local_now(current_app.config)
    held = make_session(title="新生代企业家培训班", kind="新生代企业家培训班", capacity=10)
    held.starts_at = now - timedelta(days=1)
    lecture = make_session(title="大讲堂", kind="非公经济大讲堂", capacity=10)
    lecture.starts_at = now - timedelta(hours=3)
    cancelled = make_session(title="取消了", kind="其他", status="cancelled")
    cancelled.starts_at = now - timedelta(days=2)
    future = make_session(title="下个月", kind="其他")
    future.starts_at = now + timedelta(days=30)
    db.session.commit()
    for status in ("attended", "attended", "confirmed", "waitlisted", "cancelled"):
        RegistrationFactory(session=held, status=status)
    RegistrationFactory(session=lecture, status="attended")
    RegistrationFactory(session=cancelled, status="confirmed")
    RegistrationFactory(session=future, status="confirmed")
    settled = utcnow()
    CaseFactory(status="调解成功", outcome="success", amount=200000, settled_at=settled)
    CaseFactory(status="调解成功", outcome="success", amount=50000, settled_at=settled)
    CaseFactory(status="调解不成功", outcome="failure", amount=10000, settled_at=settled)
    CaseFactory(status="待受理")
    CaseFactory(status="待受理", created_at=utcnow() - timedelta(days=800))  # another year
    chamber = Chamber(name="示范市青年企业家商会")
    db.session.add(chamber)
    db.session.add_all(
        [
            Member(name="王五", mobile="13900000001", chamber=chamber, openid="o-1"),
            Member(name="钱七", mobile="13900000002", chamber=chamber),
            Follower(openid="o-1"),
        ]
    )
    db.session.commit()


def rows_of(page: str) -> str:
    return page[page.index('<table class="report">') :]


def test_the_report_page_workbook_and_print_layout_agree(console, client) -> None:
    seed()
    console.login()  # an admin: every case (an officer's report counts the cases they see)
    page = client.get("/admin/reports").get_data(as_text=True)
    table = rows_of(page)
    assert '举办培训（期）</td><td class="num"><strong>2</strong>' in table
    assert '报名人次</td><td class="num"><strong>4</strong>' in table
    assert '培训人次（签到）</td><td class="num"><strong>3</strong>' in table
    assert "其中：新生代企业家培训班" in table
    # Every case kind has its block; mediation: 4 this year, 3 done, 2 of 3 solved.
    for kind in KINDS:
        label = CASE_LABELS.get(kind, (kind, 0))[0]
        assert f'<th colspan="3" scope="colgroup">{label}</th>' in table
    assert '受理</td><td class="num"><strong>4</strong>' in table
    assert "66.7%" in table and "成功 ÷ 有结果（2 / 3）" in table
    assert "260,000.00" in table
    assert '会员（名册）</td><td class="num"><strong>2</strong>' in table
    assert '商会</td><td class="num"><strong>1</strong>' in table

    workbook = client.get("/admin/reports/report.xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["类别", "项目", "数值", "说明"]
    assert ["教育培训", "培训人次（签到）", 3, "现场签到的人次"] in cells
    assert ["调解案件", "成功率", "66.7%", "成功 ÷ 有结果（2 / 3）"] in cells
    printable = client.get("/admin/reports/print").get_data(as_text=True)
    assert rows_of(printable).split("</table>")[0] == table.split("</table>")[0]
    assert (
        "/static/console/print.js" in printable and "nav" not in printable.split("<body>")[1][:200]
    )
    db.session.rollback()
    exported = db.session.execute(select(AuditLog).where(AuditLog.action == "reports.export"))
    assert exported.scalar_one().actor == "boss"


def test_a_year_or_a_period_is_reported(console, client) -> None:
    seed()
    console.login()
    year = date.today().year - 2
    page = client.get(f"/admin/reports?year={year}").get_data(as_text=True)
    assert f"{year}-01-01 至 {year}-12-31" in page
    assert '培训人次（签到）</td><td class="num"><strong>0</strong>' in rows_of(page)
    today = clock.local_now(current_app.config).date()
    start = today - timedelta(days=1)
    page = client.get(f"/admin/reports?start={start}&end={today}").get_data(as_text=True)
    assert f"{start}" in page
    assert '举办培训（期）</td><td class="num"><strong>2</strong>' in rows_of(page)
    assert '受理</td><td class="num"><strong>4</strong>' in rows_of(page)


def test_the_appeals_rates_show_their_parts(console, client, monkeypatch) -> None:
    calls = []

    def rates(db_session, start, end, user):
        calls.append((start, end, user.username))
        return {
            "satisfied": (0, 0),
            "closed": (3, 4),
            "acknowledged_in_time": (9, 10),
            "solved": (7, 9),
        }

    monkeypatch.setattr(figures, "appeal_rates", lambda: rates)
    console.login()
    table = rows_of(client.get("/admin/reports?year=2026").get_data(as_text=True))
    assert '响应率</td><td class="num"><strong>90.0%</strong></td><td class="muted">9 / 10' in table
    assert '解决率</td><td class="num"><strong>77.8%</strong></td><td class="muted">7 / 9' in table
    assert '满意率</td><td class="num"><strong>—</strong></td><td class="muted">0 / 0' in table
    assert calls and calls[0][2] == "boss" and calls[0][0] == date(2026, 1, 1)


def test_who_may_open_the_report(console, client) -> None:
    console.create("otto", "officer")
    console.login("otto", "officer")
    assert client.get("/admin/reports").status_code == 200
    console.logout()
    console.create("ed", "editor")
    console.login("ed", "editor")
    for url in ("/admin/reports", "/admin/reports/print", "/admin/reports/report.xlsx"):
        assert client.get(url).status_code == 403


def test_the_audit_log_is_browsed_and_filtered_by_admins(console, client) -> None:
    db.session.add_all(
        [
            AuditLog(
                actor="boss",
                action="kb.update",
                target="knowledge_entry:a",
                detail='{"fields": ["answer"]}',
            ),
            AuditLog(actor="otto", action="training.cancel", target="training_session:7"),
            AuditLog(
                actor="otto",
                action="kb.create",
                target="knowledge_entry:b",
                at=datetime(2020, 5, 1),
            ),
        ]
    )
    db.session.commit()
    console.create("otto", "officer")
    console.login("otto", "officer")
    assert client.get("/admin/audit").status_code == 403
    console.logout()
    console.login()
    page = client.get("/admin/audit?action=kb").get_data(as_text=True)
    assert "knowledge_entry:a" in page and "knowledge_entry:b" in page
    assert "training_session:7" not in page and "answer" in page
    recent = (date.today() - timedelta(days=30)).isoformat()
    page = client.get(f"/admin/audit?actor=otto&start={recent}").get_data(as_text=True)
    assert "training_session:7" in page and "knowledge_entry:b" not in page
    page = client.get("/admin/audit?target=training_session").get_data(as_text=True)
    assert "training_session:7" in page and "knowledge_entry:a" not in page
    odd = client.get("/admin/audit?start=bad&end=2026-13-45&page=99999999999999999999")
    assert odd.status_code == 200 and "knowledge_entry:b" in odd.get_data(as_text=True)
    assert "没有符合条件的记录" in client.get("/admin/audit?page=999").get_data(as_text=True)
    download = client.get("/admin/audit/export.csv?action=kb.update")
    lines = download.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "时间,操作人,操作,对象,详情" and len(lines) == 2 and "boss" in lines[1]


def test_the_dashboard_shows_the_appeals_rates_with_their_parts(console, client, monkeypatch):
    rates = {"acknowledged_in_time": (9, 10), "solved": (7, 9), "satisfied": (0, 0)}
    monkeypatch.setattr(figures, "appeal_rates", lambda: lambda db, start, end, user: rates)
    console.login()
    page = client.get("/admin/").get_data(as_text=True)
    assert "响应率 <strong>90.0%</strong>" in page and "（9 / 10）" in page
    assert "满意率 <strong>—</strong>" in page and "（0 / 0）" in page
