"""Training sessions in the console: the form, capacity and the waiting list, opening,
closing and cancelling, the registrants, check-in and the export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from bot.extensions import db
from bot.models import AuditLog, Registration, TrainingSession
from bot.services import clock
from tests.console.helpers import make_session, queued, sign_up


def session_form(**overrides) -> dict:
    start = clock.local_now(current_app.config) + timedelta(days=20)
    form = {
        "title": "非公经济大讲堂·数字化转型",
        "kind": "非公经济大讲堂",
        "description": "主讲：市经信局",
        "starts_at": start.strftime("%Y-%m-%dT09:00"),
        "ends_at": start.strftime("%Y-%m-%dT11:30"),
        "deadline": (start - timedelta(days=2)).strftime("%Y-%m-%dT18:00"),
        "place": "市民中心报告厅",
        "online_link": "",
        "capacity": "80",
        "audience_kind": "members",
        "audience_tag": "",
        "status": "open",
    }
    form.update(overrides)
    return form


def test_create_a_session_through_the_form(console, client) -> None:
    console.login("otto", "officer")
    response = console.post("/admin/training/new", session_form())
    assert response.status_code == 302
    row = db.session.execute(select(TrainingSession)).scalar_one()
    assert (row.title, row.capacity, row.audience, row.status) == (
        "非公经济大讲堂·数字化转型",
        80,
        "members",
        "open",
    )
    assert row.ends_at.hour == 11 and row.ends_at.minute == 30
    listing = client.get("/admin/training").get_data(as_text=True)
    assert "非公经济大讲堂·数字化转型" in listing and "报名中" in listing
    audit = db.session.execute(select(AuditLog).where(AuditLog.action == "training.create"))
    assert audit.scalar_one().actor == "otto"


def test_session_form_explains_what_is_wrong(console, client) -> None:
    console.login("otto", "officer")
    form = session_form(title="", capacity="0")
    form["ends_at"] = form["starts_at"].replace("T09:00", "T08:00")
    form["deadline"] = form["starts_at"].replace("T09:00", "T10:00")
    response = console.post("/admin/training/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in (
        "请填写培训名称",
        "结束时间必须晚于开始时间",
        "报名截止时间不能晚于开始时间",
        "名额至少为 1",
    ):
        assert message in page
    assert 'value="市民中心报告厅"' in page  # what was typed comes back
    garbled = console.post(
        "/admin/training/new", session_form(starts_at="next tuesday", capacity="many")
    )
    assert garbled.status_code == 400
    assert "开始时间格式不对" in garbled.get_data(as_text=True)
    assert "名额必须是整数" in garbled.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(TrainingSession)).scalar_one() == 0


def test_capacity_cannot_drop_below_seats_taken_and_raising_it_promotes(app, console) -> None:
    row = make_session(capacity=1)
    sign_up(row, "o-a", "张三")
    waiting = sign_up(row, "o-b", "李四")
    assert waiting.status == "waitlisted"
    console.login("otto", "officer")
    form = session_form(title=row.title, capacity="0")
    assert console.post(f"/admin/training/{row.id}/edit", form).status_code == 400
    before = len(app.extensions["rq"])
    response = console.post(f"/admin/training/{row.id}/edit", session_form(capacity="2"))
    assert response.status_code == 302
    db.session.refresh(waiting)
    assert waiting.status == "confirmed"
    assert len(app.extensions["rq"]) == before + 1
    assert queued(app)[-1][0] == "o-b" and "递补成功" in queued(app)[-1][1]


def test_open_close_and_cancel_a_session(app, console, client) -> None:
    row = make_session(capacity=1)
    sign_up(row, "o-a", "张三")
    sign_up(row, "o-b", "李四")
    console.login("otto", "officer")
    console.post(f"/admin/training/{row.id}/status", {"status": "closed"})
    assert db.session.get(TrainingSession, row.id).status == "closed"
    console.post(f"/admin/training/{row.id}/status", {"status": "open"})
    assert db.session.get(TrainingSession, row.id).status == "open"

    before = len(app.extensions["rq"])
    response = console.post(f"/admin/training/{row.id}/cancel")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, row.id).status == "cancelled"
    assert len(app.extensions["rq"]) == before + 2
    jobs = app.extensions["rq"].jobs[-2:]
    assert all(job.args[2] is True for job in jobs)  # news they did not ask for: a notice
    pushes = dict(queued(app)[-2:])
    assert set(pushes) == {"o-a", "o-b"}
    assert row.title in pushes["o-a"] and "已取消" in pushes["o-a"] and "抱歉" in pushes["o-a"]
    statuses = db.session.execute(select(Registration.status)).scalars().all()
    assert set(statuses) == {"cancelled"}
    # A cancelled session can no longer be edited or reopened.
    console.post(f"/admin/training/{row.id}/status", {"status": "open"})
    assert db.session.get(TrainingSession, row.id).status == "cancelled"
    assert client.get(f"/admin/training/{row.id}/edit").status_code == 302


def test_registrants_table_and_attendance(console, client) -> None:
    row = make_session(capacity=1)
    first = sign_up(row, "o-a", "张三", company="示范科技有限公司")
    sign_up(row, "o-b", "李四")
    console.login("otto", "officer")
    page = client.get(f"/admin/training/{row.id}").get_data(as_text=True)
    assert "张三" in page and "示范科技有限公司" in page and "李四" in page
    assert "候补" in page and "登记签到" in page
    response = console.post(f"/admin/training/{row.id}/attend", {"reg_id": str(first.id)})
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.status == "attended" and first.attended_at is not None
    other = make_session(title="别的培训")
    assert (
        console.post(f"/admin/training/{other.id}/attend", {"reg_id": str(first.id)}).status_code
        == 404
    )


def test_export_registrations_as_csv_and_xlsx(console, client) -> None:
    row = make_session(capacity=5)
    sign_up(row, "o-a", "张三")
    sign_up(row, "o-b", '=HYPERLINK("http://x")', company="@evil")
    console.login("otto", "officer")
    response = client.get(f"/admin/training/{row.id}/export.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "编号", "培训编号", "培训名称", "微信用户标识", "姓名", "单位", "职务", "手机号", "状态",
        "提交时间",
    ]  # fmt: skip
    assert rows[1][3:6] == ["o-a", "张三", "某某科技有限公司"]
    assert rows[1][7:9] == ["13800138000", "已确认"]  # a status word, not "confirmed"
    assert rows[1][1] == str(row.id) and rows[1][2] == row.title
    assert rows[1][9].endswith("+08:00")
    # Formulas typed in by members stay text in a spreadsheet.
    assert rows[2][4].startswith("'=") and rows[2][5] == "'@evil"

    xlsx = client.get(f"/admin/training/{row.id}/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0][0] == "编号" and values[1][4] == "张三" and len(values) == 3


def test_checkin_code_marks_attended(console, client) -> None:
    row = make_session(capacity=1)
    reg = sign_up(row, "o-a", "张三")
    waiting = sign_up(row, "o-b", "李四")
    url = f"/admin/checkin/{reg.checkin_code}"
    assert client.get(url).status_code == 302  # the officer's phone signs in first
    db.session.refresh(reg)
    assert reg.status == "confirmed"
    console.login("otto", "officer")
    page = client.get(url).get_data(as_text=True)
    assert "签到成功" in page and "张三" in page
    db.session.refresh(reg)
    assert reg.status == "attended"
    assert "签到过" in client.get(url).get_data(as_text=True)  # a second scan says so
    assert "无效或已取消" in client.get(f"/admin/checkin/{waiting.checkin_code}").get_data(
        as_text=True
    )
    assert "无效或已取消" in client.get("/admin/checkin/no-such-code").get_data(as_text=True)
