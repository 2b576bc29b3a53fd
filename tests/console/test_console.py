"""The staff console: accounts, sign-in, CSRF, roles, and each section's changes and pushes."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.extensions import db
from bot.models import (
    AdminUser,
    AuditLog,
    Handoff,
    HandoffMessage,
    KnowledgeEntry,
    Member,
    MemberRequest,
    Registration,
    TrainingSession,
    UnansweredQuestion,
)
from bot.services import training

PASSWORD = "correct-horse-42"


class Console:
    """Drives the console as a signed-in member of staff (flaskr's ``AuthActions``)."""

    def __init__(self, client, runner) -> None:
        self.client = client
        self.runner = runner

    def create(self, name: str, role: str) -> dict:
        result = self.runner.invoke(
            args=["admin", "create-user", name, "--role", role, "--password", PASSWORD]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def token(self) -> str:
        with self.client.session_transaction() as sess:
            if "csrf" not in sess:
                sess["csrf"] = "test-token-" + "x" * 20
            return sess["csrf"]

    def login(self, name: str = "boss", role: str = "admin", password: str = PASSWORD):
        if not db.session.execute(select(AdminUser).where(AdminUser.username == name)).first():
            self.create(name, role)
        self.client.get("/admin/login")
        return self.client.post(
            "/admin/login",
            data={"username": name, "password": password, "csrf_token": self.token()},
        )

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token()}, **kw)

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)


@pytest.fixture
def console(client, runner) -> Console:
    return Console(client, runner)


def queued(app) -> list[tuple[str, str]]:
    """The (openid, text) of every push job waiting in the queue, oldest first."""
    return [tuple(job.args[:2]) for job in app.extensions["rq"].jobs]


def make_session(**overrides) -> TrainingSession:
    values = {
        "title": "新生代企业家培训班（第三期）",
        "kind": "新生代企业家培训班",
        "starts_at": training.local_now() + timedelta(days=10),
        "capacity": 2,
        "status": "open",
        "place": "市民中心 301",
    }
    values.update(overrides)
    row = TrainingSession(**values)
    db.session.add(row)
    db.session.commit()
    return row


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
        now=training.local_now(),
    )
    db.session.commit()
    return outcome.registration


# -- accounts and sign-in -------------------------------------------------------------------------
def test_create_user_prints_id_and_stores_a_hash(runner, app) -> None:
    result = runner.invoke(
        args=[
            "admin",
            "create-user",
            "alice",
            "--role",
            "mediator",
            "--committee",
            "3",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    user = db.session.get(AdminUser, out["id"])
    assert out["username"] == "alice" and user.role == "mediator" and user.committee_id == 3
    assert user.password_hash != PASSWORD and user.password_hash.startswith(("scrypt", "pbkdf2"))

    again = runner.invoke(
        args=["admin", "create-user", "alice", "--role", "admin", "--password", PASSWORD]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(
        args=["admin", "create-user", "bob", "--role", "root", "--password", PASSWORD]
    )
    assert bad_role.exit_code != 0


def test_create_user_prompts_for_the_password_twice(runner, app) -> None:
    result = runner.invoke(
        args=["admin", "create-user", "carol", "--role", "editor"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert json.loads(result.output.strip().splitlines()[-1])["username"] == "carol"
    short = runner.invoke(
        args=["admin", "create-user", "dan", "--role", "editor", "--password", "short"]
    )
    assert short.exit_code != 0


def test_pages_need_a_login(client) -> None:
    response = client.get("/admin/training")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/training")
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/handoffs/1.json").status_code == 401
    login = client.get("/admin/login")
    assert login.status_code == 200 and "登录" in login.get_data(as_text=True)


def test_login_and_logout(console, client) -> None:
    response = console.login()
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "工作台" in page and "boss" in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    console.post("/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_login_redirects_back_to_a_local_page_only(console, client) -> None:
    console.create("boss", "admin")
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "username": "boss",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": console.token(),
        },
    )
    assert response.headers["Location"] == "/admin/"
    console.post("/admin/logout")
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "username": "boss",
            "password": PASSWORD,
            "next": "/admin/kb",
            "csrf_token": console.token(),
        },
    )
    assert response.headers["Location"] == "/admin/kb"


def test_wrong_password_is_refused(console, client) -> None:
    console.create("boss", "admin")
    response = console.login(password="not-the-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    unknown = console.login(name="nobody-here-xyz", password="whatever-123")
    assert unknown.status_code == 401
    failed = db.session.execute(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "login.failed")
    ).scalar_one()
    assert failed == 2


def test_repeated_failures_pause_sign_in(console, client) -> None:
    console.create("boss", "admin")
    for _ in range(10):
        assert console.login(password="wrong-password").status_code == 401
    blocked = console.login()  # even the right password waits now
    assert blocked.status_code == 429
    assert "次数过多" in blocked.get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused(console, client) -> None:
    console.create("boss", "admin")
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": "boss", "password": PASSWORD})
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)
    console.login()
    response = client.post("/admin/training/new", data={"title": "x"})
    assert response.status_code == 400
    wrong = client.post("/admin/training/new", data={"title": "x", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert db.session.execute(select(func.count()).select_from(TrainingSession)).scalar_one() == 0


def test_roles_limit_the_sections(console, client) -> None:
    console.login("ed", "editor")
    assert client.get("/admin/training").status_code == 403
    assert "没有权限" in client.get("/admin/members").get_data(as_text=True)
    assert client.get("/admin/handoffs").status_code == 403
    assert client.get("/admin/kb").status_code == 200
    assert client.get("/admin/log").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    assert "/admin/kb" in page and "/admin/training" not in page  # the nav shows what one may open
    console.post("/admin/logout")

    console.login("mia", "mediator")
    assert client.get("/admin/handoffs").status_code == 200
    assert client.get("/admin/training").status_code == 403
    assert client.get("/admin/kb").status_code == 403
    console.post("/admin/logout")

    console.login("otto", "officer")
    assert client.get("/admin/training").status_code == 200
    assert client.get("/admin/members").status_code == 200
    assert client.get("/admin/kb").status_code == 403


def test_deactivated_account_is_signed_out(console, client) -> None:
    console.login("otto", "officer")
    user = db.session.execute(select(AdminUser).where(AdminUser.username == "otto")).scalar_one()
    user.active = False
    db.session.commit()
    assert client.get("/admin/training").status_code == 302


def test_missing_records_and_unknown_pages_are_404_pages(console, client) -> None:
    console.login()
    for url in (
        "/admin/training/999",
        "/admin/handoffs/999",
        "/admin/kb/999/edit",
        "/admin/no-such-page",
        "/admin/training/1/export.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "找不到该页面" in response.get_data(as_text=True), url
    # Outside /admin/ the default response stays.
    assert "找不到该页面" not in client.get("/no-such-page").get_data(as_text=True)


def test_a_crash_renders_the_500_page_and_rolls_back(app, console, client, monkeypatch) -> None:
    from bot.console import views as admin

    def explode(session):
        raise RuntimeError("boom")

    console.login()
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(admin.handoffs, "waiting_list", explode)
    response = client.get("/admin/handoffs")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "系统出了点问题" in page and "boom" not in page


# -- training ---------------------------------------------------------------------------------
def session_form(**overrides) -> dict:
    start = training.local_now() + timedelta(days=20)
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
        "id",
        "session_id",
        "openid",
        "name",
        "company",
        "phone",
        "status",
        "created_at",
    ]
    assert rows[1][2:7] == ["o-a", "张三", "某某科技有限公司", "13800138000", "confirmed"]
    assert rows[1][1] == str(row.id) and rows[1][7].endswith("+08:00")
    # Formulas typed in by members stay text in a spreadsheet.
    assert rows[2][3].startswith("'=") and rows[2][4] == "'@evil"

    xlsx = client.get(f"/admin/training/{row.id}/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0][0] == "id" and values[1][3] == "张三" and len(values) == 3


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


# -- members ----------------------------------------------------------------------------------
ROSTER = (
    "姓名,单位,职务,手机,所属商会,标签\n"
    "王五,示范科技有限公司,董事长,13900000001,示范市青年商会,新生代，理事\n"
    "赵六,示范贸易公司,总经理,1390000,示范市青年商会,\n"  # bad mobile
    ",无名公司,,13900000003,,\n"  # missing name
    "王五,示范科技有限公司,董事长,139 0000 0001,,\n"  # duplicate of row 2
    "钱七,示范物流公司,副总经理,+86 139-0000-0005,示范市物流商会,\n"
)


def test_roster_import_reports_then_imports(console, client, app) -> None:
    console.login("otto", "officer")
    assert client.get("/admin/members/import").status_code == 200
    response = console.post(
        "/admin/members/import",
        {"file": (io.BytesIO(ROSTER.encode("utf-8")), "roster.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "第3行：手机号“1390000”格式不对" in page
    assert "第4行：缺少姓名" in page
    assert "第5行与第2行重复（王五）" in page
    assert "确认导入" in page
    assert db.session.execute(select(func.count()).select_from(Member)).scalar_one() == 0

    with client.session_transaction() as sess:
        token = sess["import_token"]
    assert f'value="{token}"' in page
    response = console.post("/admin/members/import", {"token": token})
    assert response.status_code == 302
    people = {m.name: m for m in db.session.execute(select(Member)).scalars()}
    assert set(people) == {"王五", "钱七"}
    assert people["钱七"].mobile == "13900000005"
    assert people["王五"].chamber.name == "示范市青年商会"
    assert people["王五"].tag_list == ["新生代", "理事"]
    # The token is spent: the same upload cannot be imported twice.
    assert console.post("/admin/members/import", {"token": token}).status_code == 400
    listing = client.get("/admin/members?q=钱七").get_data(as_text=True)
    assert "示范物流公司" in listing and "王五" not in listing


def test_roster_import_rejects_unreadable_files(console) -> None:
    console.login("otto", "officer")
    no_header = console.post(
        "/admin/members/import",
        {"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert no_header.status_code == 400
    assert "表头需要至少包含" in no_header.get_data(as_text=True)
    broken = console.post(
        "/admin/members/import",
        {"file": (io.BytesIO(b"not a zip"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400 and "无法读取该文件" in broken.get_data(as_text=True)
    wrong_kind = console.post(
        "/admin/members/import",
        {"file": (io.BytesIO(b"x"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert wrong_kind.status_code == 400
    forged = console.post("/admin/members/import", {"token": "../../etc/passwd"})
    assert forged.status_code == 400 and "已过期" in forged.get_data(as_text=True)


def test_roster_import_accepts_xlsx_bigger_than_a_webhook_body(console) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "单位"])
    for i in range(3000):
        sheet.append([f"会员{i}", f"139{i:08d}", f"示范企业{i}有限公司" * 3])
    data = io.BytesIO()
    book.save(data)
    assert len(data.getvalue()) > 64 * 1024
    response = console.login("otto", "officer") and console.post(
        "/admin/members/import",
        {"file": (io.BytesIO(data.getvalue()), "roster.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "3000" in response.get_data(as_text=True)


def test_export_members_csv(console, client) -> None:
    db.session.add(Member(name="王五", mobile="13900000001", company="示范科技", tags="理事"))
    db.session.add(Member(name="钱七", mobile="13900000005", openid="o-qian"))
    db.session.commit()
    console.login("otto", "officer")
    text = client.get("/admin/members/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["王五", "钱七"]
    assert rows[0]["phone"] == "13900000001" and rows[0]["tags"] == "理事"
    assert rows[1]["openid"] == "o-qian" and rows[0]["openid"] == ""


def test_member_requests_approve_and_reject_notify(app, console, client) -> None:
    yes = MemberRequest(
        openid="o-yes",
        name="孙八",
        mobile="13900000008",
        company="示范食品",
        chamber_name="示范市食品商会",
    )
    no = MemberRequest(openid="o-no", name="周九", mobile="13900000009")
    db.session.add_all([yes, no])
    db.session.commit()
    console.login("otto", "officer")
    page = client.get("/admin/members/requests").get_data(as_text=True)
    assert "孙八" in page and "周九" in page

    console.post(f"/admin/members/requests/{yes.id}/approve")
    member = db.session.execute(select(Member).where(Member.openid == "o-yes")).scalar_one()
    assert member.chamber.name == "示范市食品商会"
    assert queued(app)[-1][0] == "o-yes" and "审核通过" in queued(app)[-1][1]

    console.post(f"/admin/members/requests/{no.id}/reject", {"note": "请由所在商会统一报送"})
    db.session.refresh(no)
    assert no.status == "rejected" and no.note == "请由所在商会统一报送"
    assert queued(app)[-1] == ("o-no", queued(app)[-1][1])
    assert "请由所在商会统一报送" in queued(app)[-1][1]
    # Deciding twice does nothing and sends nothing.
    before = len(app.extensions["rq"])
    console.post(f"/admin/members/requests/{no.id}/approve")
    assert len(app.extensions["rq"]) == before


def test_approving_an_already_bound_wechat_account_is_refused(app, console) -> None:
    db.session.add(Member(name="孙八", mobile="13900000008", openid="o-dup"))
    req = MemberRequest(openid="o-dup", name="孙八八", mobile="13900000018")
    db.session.add(req)
    db.session.commit()
    console.login("otto", "officer")
    response = console.post(f"/admin/members/requests/{req.id}/approve", follow_redirects=True)
    assert "已绑定会员" in response.get_data(as_text=True)
    db.session.refresh(req)
    assert req.status == "pending"


# -- knowledge base ---------------------------------------------------------------------------
def entry_form(row: KnowledgeEntry, **overrides) -> dict:
    form = {
        "title": row.title,
        "question": row.question,
        "paraphrases": row.paraphrases,
        "keywords": row.keywords,
        "answer": row.answer,
        "detail": row.detail,
        "source": row.source,
        "region": row.region or "",
        "valid_until": row.valid_until.isoformat() if row.valid_until else "",
        "reviewed": row.reviewed.isoformat() if row.reviewed else "",
        "active": "on",
        "action": "save",
    }
    form.update(overrides)
    return form


def test_kb_edit_bumps_the_version_and_the_new_answer_is_served(app, console, client) -> None:
    kb = app.extensions["kb"]
    redis = app.extensions["redis"]
    row = db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()
    topic, question = row.topic, row.question
    console.login("ed", "editor")
    assert topic in client.get("/admin/kb").get_data(as_text=True)
    version = int(redis.get("bot:kb:version") or 0)
    new_answer = "新版答案：请携带营业执照到{{ org.short_name }}窗口办理，电话 {{ org.phone }}。"
    response = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, answer=new_answer))
    assert response.status_code == 302
    assert int(redis.get("bot:kb:version")) == version + 1
    db.session.expire_all()
    assert db.session.get(KnowledgeEntry, row.id).answer == new_answer

    deadline = time.monotonic() + 3  # the watcher reloads within KB_RELOAD_SECONDS
    while time.monotonic() < deadline and kb.entry(topic).answer != new_answer:
        time.sleep(0.1)
    assert kb.entry(topic).answer == new_answer
    decision = kb.decide(question)
    assert decision.topic == topic
    served = kb.render_answer(topic, {"short_name": "示范市工商联", "phone": "0000-12345678"})
    assert served == "新版答案：请携带营业执照到示范市工商联窗口办理，电话 0000-12345678。"
    page = client.get(f"/admin/kb/{row.id}/edit").get_data(as_text=True)
    assert "新版答案：请携带营业执照到示范市工商联窗口办理" in page  # the rendered preview


def test_kb_form_refuses_broken_templates_and_previews_without_saving(app, console) -> None:
    row = db.session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars().first()
    original = row.answer
    version = app.extensions["redis"].get("bot:kb:version")
    console.login("ed", "editor")
    broken = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, answer="电话 {{ org.phone"))
    assert broken.status_code == 400 and "模板写法有误" in broken.get_data(as_text=True)
    bad_date = console.post(f"/admin/kb/{row.id}/edit", entry_form(row, valid_until="明年"))
    assert bad_date.status_code == 400 and "有效期格式不对" in bad_date.get_data(as_text=True)
    preview = console.post(
        f"/admin/kb/{row.id}/edit", entry_form(row, answer="预览 {{ org.phone }}", action="preview")
    )
    assert preview.status_code == 200 and "预览 0000-12345678" in preview.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(KnowledgeEntry, row.id).answer == original
    assert app.extensions["redis"].get("bot:kb:version") == version


def test_kb_new_entry(console) -> None:
    console.login("ed", "editor")
    form = {
        "topic": "test.new-topic",
        "title": "测试条目",
        "question": "测试问题是什么",
        "answer": "测试答案",
        "keywords": "测试，条目",
        "active": "on",
        "action": "save",
    }
    assert console.post("/admin/kb/new", form).status_code == 302
    row = db.session.execute(
        select(KnowledgeEntry).where(KnowledgeEntry.topic == "test.new-topic")
    ).scalar_one()
    assert row.keywords == "测试,条目" and row.active
    again = console.post("/admin/kb/new", form)
    assert again.status_code == 400 and "已存在" in again.get_data(as_text=True)


def test_unanswered_questions_sorted_and_resolved(console, client) -> None:
    db.session.add_all(
        [
            UnansweredQuestion(normalised="a", text="外地商会怎么备案", count=2),
            UnansweredQuestion(normalised="b", text="工商联会费怎么交", count=9),
        ]
    )
    db.session.commit()
    console.login("ed", "editor")
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    assert page.index("工商联会费怎么交") < page.index("外地商会怎么备案")
    row = db.session.execute(
        select(UnansweredQuestion).where(UnansweredQuestion.normalised == "b")
    ).scalar_one()
    console.post(f"/admin/kb/unanswered/{row.id}/resolve")
    db.session.refresh(row)
    assert row.resolved
    assert "工商联会费怎么交" not in client.get("/admin/kb/unanswered").get_data(as_text=True)


# -- hand-offs --------------------------------------------------------------------------------
def open_handoff(openid: str = "o-help") -> Handoff:
    row = Handoff(openid=openid, status="waiting")
    db.session.add(row)
    db.session.flush()
    db.session.add(HandoffMessage(handoff_id=row.id, sender="member", text="我想咨询贷款贴息"))
    db.session.commit()
    return row


def test_handoff_reply_enqueues_a_push(app, console, client) -> None:
    row = open_handoff()
    console.login("mia", "mediator")
    listing = client.get("/admin/handoffs").get_data(as_text=True)
    assert "o-help" in listing and "我想咨询贷款贴息" in listing
    assert client.get(f"/admin/handoffs/{row.id}").status_code == 200
    before = len(app.extensions["rq"])
    response = console.post(f"/admin/handoffs/{row.id}/reply", {"text": "您好，我是工作人员小李。"})
    assert response.status_code == 302
    assert len(app.extensions["rq"]) == before + 1
    assert queued(app)[-1] == ("o-help", "您好，我是工作人员小李。")
    db.session.refresh(row)
    assert row.status == "active" and row.staff == "mia"
    data = client.get(f"/admin/handoffs/{row.id}.json").get_json()
    assert [line["sender"] for line in data["lines"]] == ["member", "staff"]
    assert data["lines"][1]["delivery"] == "queued"
    empty = console.post(f"/admin/handoffs/{row.id}/reply", {"text": "  "}, follow_redirects=True)
    assert "请输入回复内容" in empty.get_data(as_text=True)
    assert len(app.extensions["rq"]) == before + 1


def test_handoff_close_clears_the_flag_and_says_goodbye(app, console) -> None:
    row = open_handoff()
    redis = app.extensions["redis"]
    redis.set("bot:handoff:o-help", str(row.id))
    console.login("otto", "officer")
    before = len(app.extensions["rq"])
    assert console.post(f"/admin/handoffs/{row.id}/close").status_code == 302
    assert redis.exists("bot:handoff:o-help") == 0
    db.session.refresh(row)
    assert row.status == "closed" and row.closed_at is not None
    assert len(app.extensions["rq"]) == before + 1
    assert queued(app)[-1] == (
        "o-help",
        "本次人工服务已结束，感谢您的耐心。有其他问题可以继续发消息给我。",
    )
    # A closed hand-off takes no more replies.
    console.post(f"/admin/handoffs/{row.id}/reply", {"text": "还在吗"})
    assert len(app.extensions["rq"]) == before + 1


# -- dashboard and log ------------------------------------------------------------------------
def test_dashboard_and_log(console, client) -> None:
    from bot.models import ConversationLog, Follower, utcnow

    db.session.add(Follower(openid="o-1"))
    db.session.add(Member(name="王五", mobile="13900000001", openid="o-1"))
    db.session.add(
        ConversationLog(
            at=utcnow(),
            openid="o-1",
            msg_type="text",
            text="电话 139****0001",
            reply="好的",
            intent="greeting",
            latency_ms=12.5,
            delivery="passive",
        )
    )
    db.session.add(
        ConversationLog(
            at=utcnow(),
            openid="o-2",
            msg_type="text",
            text="培训",
            reply="",
            intent="training_list",
            latency_ms=4000,
            delivery="push",
        )
    )
    db.session.commit()
    open_handoff()
    console.login()
    page = client.get("/admin/").get_data(as_text=True)
    assert "关注人数" in page and "139****0001" in page and "等待人工接入" in page
    log = client.get("/admin/log?intent=greeting").get_data(as_text=True)
    assert "139****0001" in log and "培训</div>" not in log and "12 ms" in log
    log = client.get("/admin/log?openid=o-2").get_data(as_text=True)
    assert "客服推送" in log and "4000 ms" in log and "o-1<" not in log
