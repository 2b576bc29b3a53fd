"""The appeals back office (/admin/appeals): department scope in lists, pages and downloads
(another department's ticket is the same 404 as a missing one), confidentiality, the
officer's answer and an extension through the console and the sandbox, the list's filters
and 今日待办, departments management, statistics, and 一企一档."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from rq import SimpleWorker

from bot.extensions import db
from bot.models import AdminUser, AuditLog, Case, Department, Outbox
from bot.services import calendar
from bot.services.cases import appeals, engine
from bot.services.clock import local_now
from tests.factories import PASSWORD, MemberFactory
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)
from tests.services.case_fixtures import open_window, texts_to


def sign_in(console, user):
    response = console.login(user.username, user.role, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)


def unnonced(page: str) -> str:
    return re.sub(r'nonce="[^"]+"', "", page)


def table_of(page: str) -> str:
    """The list's table (今日待办 above it names tickets too)."""
    found = re.search(r'<table class="cases">.*?</table>', page, re.S)
    return found.group(0) if found else ""


def today(app):
    return local_now(app.config).date()


def file_appeal(app, category, *, openid, company, urgency="一般", confidential=False, **more):
    """An appeal as the intake form opens it (the handler's own data, the promised date)."""
    day = more.pop("on", None) or today(app)
    workdays = appeals.answer_workdays(category, urgency, app.config)
    promised = appeals.promise(db.session, day, workdays)
    data = {
        "category": category, "urgency": urgency, "title": f"{category}方面的困难",
        "content": "企业遇到的具体困难和诉求，说明得足够详细。", "company": company,
        "credit_code": "91330100MA2B3C4D5Y", "contact": "李四", "phone": "13800138001",
        "confidential": confidential, "files": 0, "answer_workdays": workdays,
        "answer_due": promised.isoformat() if promised else "",
    }  # fmt: skip
    case = engine.open_case(
        db.session, appeals.KIND, openid=openid, today=day, data=data, category=category,
        title=data["title"],
    )  # fmt: skip
    db.session.commit()
    return case


@pytest.fixture
def tickets(app, depts):
    econ = file_appeal(app, "融资", openid="o-econ", company="示范市青禾科技有限公司")
    land = file_appeal(app, "用地", openid="o-land", company="示范市远山机械有限公司")
    assert (econ.department_id, land.department_id) == (depts.economic.id, depts.land.id)
    return econ, land


def work(app):
    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def rows_of(client, url):
    return list(csv.DictReader(io.StringIO(client.get(url).get_data().decode("utf-8-sig"))))


# -- scope -------------------------------------------------------------------------------------
def test_an_officer_is_refused_another_departments_ticket_by_list_url_and_export(
    console, client, depts, tickets
):
    econ, land = tickets
    sign_in(console, depts.officer)
    page = client.get("/admin/appeals").get_data(as_text=True)
    assert econ.number in page and land.number not in page
    assert "示范市远山机械有限公司" not in page
    assert client.get(f"/admin/appeals/{econ.number}").status_code == 200
    other = client.get(f"/admin/appeals/{land.number}")
    missing = client.get("/admin/appeals/SQ20261201-0999")
    assert other.status_code == missing.status_code == 404
    assert unnonced(other.get_data(as_text=True)) == unnonced(missing.get_data(as_text=True))
    for suffix in ("/print", "/attachments/1"):
        assert client.get(f"/admin/appeals/{land.number}{suffix}").status_code == 404
    acted = console.post(f"/admin/appeals/{land.number}/act", {"action": "acknowledge"})
    assert acted.status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, land.id).status == "已提交"
    # Filtering by the other department does not widen the scope.
    assert land.number not in client.get(f"/admin/appeals?department={depts.land.id}").get_data(
        as_text=True
    )
    table = rows_of(client, "/admin/appeals/export.csv")
    assert [r["编号"] for r in table] == [econ.number]
    assert table[0]["承办部门"] == "示范市工商联经济服务部" and table[0]["紧急程度"] == "一般"
    book = load_workbook(io.BytesIO(client.get("/admin/appeals/export.xlsx").get_data()))
    assert [r[0].value for r in book.active.iter_rows()] == ["编号", econ.number]
    stats = rows_of(client, "/admin/appeals/stats/export.csv")
    assert stats[0]["收到"] == "1" and "示范市投资促进局" not in {r["名称"] for r in stats}
    # Another department's officer: the other way round.
    sign_in(console, depts.land_officer)
    assert [r["编号"] for r in rows_of(client, "/admin/appeals/export.csv")] == [land.number]
    assert client.get(f"/admin/appeals/{econ.number}").status_code == 404
    # Mediators have no business here.
    console.login("mia", "mediator")
    assert client.get("/admin/appeals").status_code == 403


def test_an_officer_without_a_department_sees_no_ticket(console, client, tickets):
    console.login("loose", "officer")
    page = client.get("/admin/appeals").get_data(as_text=True)
    assert all(t.number not in page for t in tickets)
    assert client.get(f"/admin/appeals/{tickets[0].number}").status_code == 404


# -- confidentiality -----------------------------------------------------------------------------
def test_a_confidential_appeal_shows_the_department_no_identity(app, console, client, depts):
    MemberFactory(name="王五", company="示范市秘密电子有限公司", openid="o-secret")
    case = file_appeal(
        app, "税费", openid="o-secret", company="示范市秘密电子有限公司", confidential=True
    )
    identity = ("示范市秘密电子有限公司", "91330100MA2B3C4D5Y", "13800138001", "o-secret", "李四")
    sign_in(console, depts.officer)
    listed = client.get("/admin/appeals").get_data(as_text=True)
    assert case.number in listed and "保密" in listed
    page = client.get(f"/admin/appeals/{case.number}").get_data(as_text=True)
    assert "税费方面的困难" in page and "保密" in page
    assert not [word for word in identity if word in page]
    assert "一企一档" not in page and case.query_code not in page
    record = client.get(f"/admin/appeals/{case.number}/print").get_data(as_text=True)
    assert not [word for word in identity if word in record]
    (row,) = rows_of(client, "/admin/appeals/export.csv")
    assert (
        row["企业名称"]
        == row["联系电话"]
        == row["微信用户标识"]
        == row["统一社会信用代码"]
        == "保密"
    )
    # 一企一档 does not list it under the enterprise for the department.
    dossier = client.get("/admin/enterprises/member/o-secret").get_data(as_text=True)
    assert case.number not in dossier
    by_name = client.get("/admin/enterprises/company?name=示范市秘密电子有限公司")
    assert case.number not in by_name.get_data(as_text=True)
    # Admins see who it is, everywhere.
    sign_in(console, depts.admin)
    page = client.get(f"/admin/appeals/{case.number}").get_data(as_text=True)
    assert all(word in page for word in identity)
    (row,) = rows_of(client, "/admin/appeals/export.csv")
    assert row["企业名称"] == "示范市秘密电子有限公司" and row["微信用户标识"] == "o-secret"
    assert case.number in client.get("/admin/enterprises/member/o-secret").get_data(as_text=True)


# -- the officer's work ----------------------------------------------------------------------------
def test_the_officers_answer_from_the_console_reaches_the_enterprise(
    app, console, client, depts, tickets, sandbox_calls
):
    econ, _ = tickets
    open_window("o-econ")
    sign_in(console, depts.officer)
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert 'value="acknowledge"' in page and 'value="answer"' not in page
    assert (
        console.post(f"/admin/appeals/{econ.number}/act", {"action": "acknowledge"}).status_code
        == 302
    )
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert 'value="answer"' in page and "发送答复" in page
    answer = "已协调示范市农商银行，贴息贷款本周内放款，请留意银行通知。"
    # The answer is required.
    refused = console.post(
        f"/admin/appeals/{econ.number}/act", {"action": "answer"}, follow_redirects=True
    )
    assert "需要填写说明" in refused.get_data(as_text=True)
    done = console.post(f"/admin/appeals/{econ.number}/act", {"action": "answer", "note": answer})
    assert done.status_code == 302
    work(app)
    texts = texts_to(sandbox_calls, "o-econ")
    assert len(texts) == 2 and "受理" in texts[0]
    assert answer in texts[1] and "问题解决了吗" in texts[1]
    db.session.expire_all()
    case = db.session.get(Case, econ.id)
    assert case.status == "已答复" and case.data["answered_on"] == today(app).isoformat()
    assert case.user_id == depts.officer.id  # who acknowledged it handles it
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert answer in page and "客服消息已送达" in page
    assert AuditLog.query.filter_by(action="case.answer").count() == 1


def test_an_extension_asked_by_the_officer_and_approved_by_an_admin_is_told(
    app, console, client, depts, tickets, sandbox_calls
):
    econ, _ = tickets
    open_window("o-econ")
    sign_in(console, depts.officer)
    console.post(f"/admin/appeals/{econ.number}/act", {"action": "acknowledge"})
    db.session.expire_all()
    promised = db.session.get(Case, econ.id).due_at
    asked = console.post(
        f"/admin/appeals/{econ.number}/act",
        {"action": "request_extension", "workdays": "3", "note": "需协调两家银行会商"},
    )
    assert asked.status_code == 302
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert "待审批" in page and "需协调两家银行会商" in page
    assert 'value="approve_extension"' not in page  # an officer does not approve
    refused = console.post(
        f"/admin/appeals/{econ.number}/act", {"action": "approve_extension"},
        follow_redirects=True,
    )  # fmt: skip
    assert refused.status_code == 200
    db.session.expire_all()
    assert db.session.get(Case, econ.id).due_at == promised
    # The admin sees it waiting: in the list's count, its filter and 今日待办.
    sign_in(console, depts.admin)
    waiting = client.get("/admin/appeals?extension=1").get_data(as_text=True)
    assert "延期待审批 1" in waiting
    assert econ.number in table_of(waiting) and tickets[1].number not in table_of(waiting)
    approved = console.post(
        f"/admin/appeals/{econ.number}/act", {"action": "approve_extension", "note": "同意"}
    )
    assert approved.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, econ.id)
    assert case.due_at == calendar.add_workdays(db.session, promised, 3)
    assert case.extensions == 1 and "extension_request" not in case.data
    assert case.data["answer_due"] == promised.isoformat()  # on time is judged by the promise
    (told,) = Outbox.query.filter(Outbox.template.like("%approve_extension%")).all()
    assert told.openid == "o-econ"
    work(app)
    text = texts_to(sandbox_calls, "o-econ")[-1]
    assert f"{case.due_at.month}月{case.due_at.day}日" in text and "需协调两家银行会商" in text
    history = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert f"期限 {promised.isoformat()} → {case.due_at.isoformat()}" in history


def test_an_extension_is_refused_after_the_deadline(app, console, client, depts):
    late = file_appeal(app, "融资", openid="o-late", company="示范市晚到有限公司")
    engine.set_status(db.session, late, "已受理", depts.officer, today=today(app))
    late.due_at = today(app) - timedelta(days=1)  # the promised date has passed
    db.session.commit()
    sign_in(console, depts.officer)
    page = client.get(f"/admin/appeals/{late.number}").get_data(as_text=True)
    assert "已过期限，不能再申请延期" in page
    refused = console.post(
        f"/admin/appeals/{late.number}/act",
        {"action": "request_extension", "workdays": "3", "note": "来不及"},
        follow_redirects=True,
    )
    assert "extension_request" not in db.session.get(Case, late.id).data
    assert refused.status_code == 200
    listed = table_of(client.get("/admin/appeals?due=overdue").get_data(as_text=True))
    assert late.number in listed and "row-alert" in listed


def test_reassign_return_and_cohandle(app, console, client, depts, tickets):
    econ, land = tickets
    sign_in(console, depts.officer)
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert "示范市投资促进局" in page and "改派部门" in page
    console.post(
        f"/admin/appeals/{econ.number}/act",
        {"action": "cohandle", "department_id": str(depts.rights.id), "note": "涉及合同纠纷"},
    )
    page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert "协办单位" in page and "示范市工商联法律维权部" in page
    moved = console.post(
        f"/admin/appeals/{econ.number}/act",
        {"action": "reassign", "department_id": str(depts.land.id), "note": "属于用地问题"},
        follow_redirects=True,
    )
    assert "已转交示范市投资促进局" in moved.get_data(as_text=True)
    assert client.get(f"/admin/appeals/{econ.number}").status_code == 404
    sign_in(console, depts.land_officer)
    assert client.get(f"/admin/appeals/{econ.number}").status_code == 200
    refused = console.post(
        f"/admin/appeals/{land.number}/act", {"action": "return"}, follow_redirects=True
    )
    assert "需要填写说明" in refused.get_data(as_text=True)
    console.post(
        f"/admin/appeals/{land.number}/act", {"action": "return", "note": "属于司法程序，不予受理"}
    )
    db.session.expire_all()
    assert db.session.get(Case, land.id).status == "退回"


# -- the list --------------------------------------------------------------------------------------
def test_the_list_filters_and_todays_digest(app, console, client, depts):
    urgent = file_appeal(app, "融资", openid="o-1", company="甲公司", urgency="紧急")
    normal = file_appeal(app, "税费", openid="o-2", company="乙公司")
    escalated = file_appeal(app, "融资", openid="o-3", company="丙公司")
    escalated.data = {**escalated.data, "escalated": {"on": "2026-12-01", "round": 2}}
    db.session.commit()
    sign_in(console, depts.officer)

    def listed(query):
        page = table_of(client.get(f"/admin/appeals?{query}").get_data(as_text=True))
        return {c.number for c in (urgent, normal, escalated) if c.number in page}

    assert listed("urgency=紧急") == {urgent.number}
    assert listed("category=税费") == {normal.number}
    assert listed("escalated=1") == {escalated.number}
    assert listed("status=已提交&urgency=一般") == {normal.number, escalated.number}
    page = client.get("/admin/appeals").get_data(as_text=True)
    assert "今日待办" in page and "待受理 3" in page
    # An admin's digest has the escalated appeal.
    sign_in(console, depts.admin)
    page = client.get("/admin/appeals").get_data(as_text=True)
    assert "不满意升级 1" in page


# -- departments ---------------------------------------------------------------------------------
def test_admins_manage_departments_and_bind_officers(console, client, depts):
    sign_in(console, depts.officer)
    assert client.get("/admin/departments").status_code == 403
    sign_in(console, depts.admin)
    page = client.get("/admin/departments").get_data(as_text=True)
    assert "示范市工商联经济服务部" in page and "政策落实" in page  # 政策落实 is uncovered
    made = console.post(
        "/admin/departments",
        {"name": "示范市发展改革委", "categories": ["政策落实", "营商环境"], "contact": "0571-1",
         "active": "y"},
    )  # fmt: skip
    assert made.status_code == 302
    row = Department.query.filter_by(name="示范市发展改革委").one()
    assert row.categories == ["政策落实", "营商环境"] and row.active
    twice = console.post("/admin/departments", {"name": "示范市发展改革委", "active": "y"})
    assert twice.status_code == 400 and "已有同名部门" in twice.get_data(as_text=True)
    bad = console.post("/admin/departments", {"name": "某部门", "categories": ["不存在"]})
    assert bad.status_code == 400 and Department.query.filter_by(name="某部门").count() == 0
    console.create("newbie", "officer")
    newbie = AdminUser.query.filter_by(username="newbie").one()
    bound = console.post(f"/admin/departments/{row.id}/officers", {"user_id": str(newbie.id)})
    assert bound.status_code == 302
    db.session.expire_all()
    assert db.session.get(AdminUser, newbie.id).department_id == row.id
    console.post(
        f"/admin/departments/{row.id}", {"name": "示范市发展改革委", "categories": ["政策落实"]}
    )
    db.session.expire_all()
    row = db.session.get(Department, row.id)
    assert row.categories == ["政策落实"] and not row.active  # the box left unticked
    actions = [a.action for a in AuditLog.query.order_by(AuditLog.id)]
    assert {"department.create", "department.bind", "department.update"} <= set(actions)
    console.post(f"/admin/departments/{row.id}/officers/{newbie.id}/unbind")
    db.session.expire_all()
    assert db.session.get(AdminUser, newbie.id).department_id is None
    assert client.get("/admin/departments/99999").status_code == 404


# -- 一企一档 -------------------------------------------------------------------------------
def test_one_page_per_enterprise_with_its_appeals_in_scope(app, console, client, depts, tickets):
    econ, _ = tickets
    MemberFactory(name="张三", company="示范市青禾科技有限公司", openid="o-econ")
    second = file_appeal(app, "用地", openid="o-econ", company="示范市青禾科技有限公司")
    sign_in(console, depts.admin)
    page = client.get("/admin/enterprises/member/o-econ").get_data(as_text=True)
    assert econ.number in page and second.number in page and "张三" in page
    by_name = client.get("/admin/enterprises/company?name=示范市青禾科技有限公司")
    assert econ.number in by_name.get_data(as_text=True)
    case_page = client.get(f"/admin/appeals/{econ.number}").get_data(as_text=True)
    assert "/admin/enterprises/member/o-econ" in case_page
    members = client.get("/admin/members").get_data(as_text=True)
    assert "/admin/enterprises/company?name=" in members
    sign_in(console, depts.officer)  # only the economic department's appeal
    page = client.get("/admin/enterprises/member/o-econ").get_data(as_text=True)
    assert econ.number in page and second.number not in page
    assert client.get("/admin/enterprises/member/o-nobody").status_code == 404
    assert client.get("/admin/enterprises/company?name=没有这家公司").status_code == 404
    # A mediator may not read the roster: an enterprise with nothing in their scope is a 404.
    console.login("mia", "mediator")
    assert client.get("/admin/enterprises/member/o-econ").status_code == 404
    assert client.get("/admin/enterprises/company?name=示范市青禾科技有限公司").status_code == 404


# -- odd input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/admin/appeals?department=99999999999999999999&urgency=x&escalated=yes&page=9223372036854775807",
        "/admin/appeals?category=%00&status=nothing&due=never&q=" + "长" * 300,
        "/admin/appeals/stats?start=2026-13-01&end=abc",
        "/admin/appeals/stats/export.csv?start=9999-99-99",
        "/admin/appeals/stats/export.pdf",
        "/admin/appeals/export.pdf",
        "/admin/departments/99999999999999999999",
        "/admin/enterprises/company?name=",
        "/admin/enterprises/member/" + "o" * 500,
    ],
)
def test_odd_arguments_are_bad_filters_never_errors(console, client, depts, tickets, path):
    sign_in(console, depts.admin)
    assert client.get(path).status_code in (200, 400, 404)  # a NUL is a 400 app-wide


def test_a_bad_value_in_an_action_form_says_what_and_saves_nothing(console, client, depts, tickets):
    econ, _ = tickets
    sign_in(console, depts.officer)
    console.post(f"/admin/appeals/{econ.number}/act", {"action": "acknowledge"})
    bad = console.post(
        f"/admin/appeals/{econ.number}/act",
        {"action": "request_extension", "workdays": "三天", "note": "需要时间"},
    )
    assert bad.status_code == 400 and "未保存" in bad.get_data(as_text=True)
    too_many = console.post(
        f"/admin/appeals/{econ.number}/act",
        {"action": "request_extension", "workdays": "45", "note": "需要时间"},
        follow_redirects=True,
    )
    assert "extension_request" not in db.session.get(Case, econ.id).data
    assert too_many.status_code == 200
    assert (
        console.post(
            f"/admin/appeals/{econ.number}/act", {"action": "answer", "note": "a\x00b"}
        ).status_code
        == 400
    )
    db.session.expire_all()
    assert db.session.get(Case, econ.id).status == "已受理"


def test_the_statistics_page_draws_its_figures_and_rates(console, client, depts, tickets):
    import json

    sign_in(console, depts.admin)
    page = client.get("/admin/appeals/stats").get_data(as_text=True)
    assert "响应率" in page and "（0/0）" in page and "办结率" in page
    found = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', page)
    assert found is not None and "chart.umd.js" in page
    charts = {c["id"]: c for c in json.loads(found.group(1))}
    assert charts["appeal-categories"]["labels"] == ["融资", "用地"]
    assert charts["appeal-categories"]["datasets"][0]["data"] == [1, 1]
    departments = sorted(charts["appeal-departments"]["labels"])
    assert departments == ["示范市工商联经济服务部", "示范市投资促进局"]
    assert len(charts["appeal-rates"]["datasets"][0]["data"]) == 5
    sign_in(console, depts.officer)  # the department's own figures only
    page = client.get("/admin/appeals/stats").get_data(as_text=True)
    assert "示范市投资促进局" not in page
