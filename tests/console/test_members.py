"""Members in the console: the roster, the roster import (check, then confirm), the export,
and join/bind requests with their notifications."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from bot.extensions import db
from bot.models import Member, MemberRequest
from tests.console.helpers import queued

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
    # Staff read Chinese headers (`flask export` keeps the field names for scripts).
    assert [r["姓名"] for r in rows] == ["王五", "钱七"]
    assert rows[0]["手机号"] == "13900000001" and rows[0]["标签"] == "理事"
    assert rows[1]["微信用户标识"] == "o-qian" and rows[0]["微信用户标识"] == ""


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
