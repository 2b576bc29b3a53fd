"""The four service kinds in the console, from the engine: lists, case pages and actions
(the lawyer, the bank and the 代办员 see only their own; out of scope is a 404), statistics
with the amounts asked and obtained, downloads; the 代办事项清单 page with its XLSX import and
the rosters page."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook, load_workbook

from bot.extensions import db
from bot.models import Case, Provider, ProxyItem
from bot.services.cases import engine, financing, legal_checkup, proxy
from tests.factories import PASSWORD
from tests.services.service_fixtures import *  # noqa: F403 (the service fixtures)

TODAY = date(2026, 12, 1)


def sign_in(console, user):
    response = console.login(user.username, user.role, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)


def open_case(kind, **kw):
    kw.setdefault("data", {})
    case = engine.open_case(db.session, kind, openid="o-console", today=TODAY, **kw)
    db.session.commit()
    return case


def test_a_checkup_is_arranged_from_its_page_and_then_the_lawyers(console, client, svc):
    case = open_case(
        legal_checkup.KIND, category="综合", title="示范市青禾科技有限公司",
        data={"company": "示范市青禾科技有限公司", "areas": ["合同", "劳动用工"],
              "preferred": "下周三上午", "mode": "上门体检"},
    )  # fmt: skip
    sign_in(console, svc.legal_officer)
    listed = client.get("/admin/legal-checkups").get_data(as_text=True)
    assert case.number in listed
    page = client.get(f"/admin/legal-checkups/{case.number}").get_data(as_text=True)
    assert "合同、劳动用工" in page and "下周三上午" in page and "张律师（示范律师事务所）" in page
    done = console.post(
        f"/admin/legal-checkups/{case.number}/act",
        {"action": "arrange", "when": "2026-12-09T09:30", "provider_id": str(svc.lawyer_row.id),
         "place": "企业会议室"},
    )  # fmt: skip
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "已安排"
    console.logout()
    sign_in(console, svc.lawyer)
    assert case.number in client.get("/admin/legal-checkups").get_data(as_text=True)
    other = open_case(legal_checkup.KIND, category="合同")
    assert client.get(f"/admin/legal-checkups/{other.number}").status_code == 404


def test_a_bank_sees_only_the_requests_pushed_to_it_and_the_figures_show_both_amounts(
    console, client, svc
):
    ours = open_case(financing.KIND, category="扩产", amount=3_000_000, title="青禾科技")
    theirs = open_case(financing.KIND, category="设备", amount=800_000, title="华兴五金")
    for case, bank in ((ours, svc.bank_row), (theirs, svc.other_bank_row)):
        engine.act(db.session, case, "push", svc.economic_officer, today=TODAY,
                   data={"provider_id": bank.id})  # fmt: skip
    db.session.commit()
    sign_in(console, svc.bank)
    listed = client.get("/admin/financing").get_data(as_text=True)
    assert ours.number in listed and theirs.number not in listed
    assert client.get(f"/admin/financing/{theirs.number}").status_code == 404
    done = console.post(
        f"/admin/financing/{ours.number}/act", {"action": "grant", "obtained": "2500000"}
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    stats = client.get("/admin/financing/stats").get_data(as_text=True)
    assert "获贷金额（元）" in stats and "2,500,000" in stats and "3,000,000" in stats
    assert "800,000" not in stats  # the other bank's request is out of scope
    console.logout()
    sign_in(console, svc.economic_officer)
    download = client.get("/admin/financing/export.xlsx")
    sheet = load_workbook(io.BytesIO(download.data)).active
    numbers = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert numbers == {ours.number, theirs.number}


def test_an_agent_handles_their_chambers_requests(console, client, svc):
    mine = open_case(
        proxy.KIND, chamber_id=svc.zhejiang.id, category="公安", title="户籍迁移（迁入迁出）",
        data={"item": {"name": "户籍迁移（迁入迁出）", "materials": ["身份证", "户口簿"],
                       "department": "公安", "workdays": 10},
              "details": "从常山迁到示范市"},
    )  # fmt: skip
    elsewhere = open_case(proxy.KIND, category="公安")  # no chamber: another agent's lot
    assert elsewhere.user_id == svc.agent.id  # the only agent on the roster takes all
    sign_in(console, svc.agent)
    page = client.get(f"/admin/proxy/{mine.number}").get_data(as_text=True)
    assert "户口簿" in page and "从常山迁到示范市" in page
    asked = console.post(
        f"/admin/proxy/{mine.number}/act",
        {"action": "take", "note": "已联系申请人"},
    )
    assert asked.status_code == 302
    missing = console.post(
        f"/admin/proxy/{mine.number}/act", {"action": "ask_materials", "missing": "准迁证明"}
    )
    assert missing.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, mine.id).status == "待补材料"
    page = client.get(f"/admin/proxy/{mine.number}").get_data(as_text=True)
    assert "准迁证明" in page
    download = client.get("/admin/proxy/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(download.lstrip("\ufeff"))))
    assert {r[0] for r in rows[1:]} == {mine.number, elsewhere.number}


def test_the_catalogue_is_imported_from_an_xlsx_upload(console, client, svc):
    before = ProxyItem.query.count()
    book = Workbook()
    book.active.append(["事项名称", "部门", "所需材料", "可否代办", "办理时限"])
    book.active.append(["驾驶证审验", "公安交管", "驾驶证；体检证明", "是", 5])
    book.active.append(["户籍迁移（迁入迁出）", "公安", "身份证；户口簿", "是", 7])
    content = io.BytesIO()
    book.save(content)
    sign_in(console, svc.chamber_officer)
    uploaded = console.post(
        "/admin/proxy-catalogue/import",
        {"file": (io.BytesIO(content.getvalue()), "清单.xlsx")},
        content_type="multipart/form-data",
    )
    page = uploaded.get_data(as_text=True)
    assert uploaded.status_code == 200 and "导入完成" in page
    assert ProxyItem.query.count() == before + 1
    assert ProxyItem.query.filter_by(name="户籍迁移（迁入迁出）").one().workdays == 7
    bad = console.post(
        "/admin/proxy-catalogue/import",
        {"file": (io.BytesIO(b"\x00not a workbook"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "无法读取" in bad.get_data(as_text=True)
    console.logout()
    sign_in(console, svc.agent)  # an agent reads the list, and may not import
    assert "驾驶证审验" in client.get("/admin/proxy-catalogue").get_data(as_text=True)
    refused = console.post(
        "/admin/proxy-catalogue/import",
        {"file": (io.BytesIO(content.getvalue()), "清单.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403


def test_admins_keep_the_rosters(console, client, svc):
    sign_in(console, svc.admin)
    page = client.get("/admin/rosters").get_data(as_text=True)
    assert "张律师" in page and "示范农村商业银行" in page and "王代办员" in page
    refused = console.post(
        "/admin/rosters",
        {"kind": "bank", "name": "示范银行", "user_id": str(svc.lawyer.id), "chamber_id": ""},
    )
    assert refused.status_code == 400 and "不能列入" in refused.get_data(as_text=True)
    added = console.post(
        "/admin/rosters",
        {"kind": "lawyer", "name": "李律师", "organisation": "示范第二律师事务所",
         "user_id": "", "chamber_id": "", "contact": ""},
    )  # fmt: skip
    assert added.status_code == 302
    row = Provider.query.filter_by(name="李律师").one()
    console.post(f"/admin/rosters/{row.id}/toggle")
    db.session.refresh(row)
    assert row.active is False
    console.logout()
    sign_in(console, svc.legal_officer)
    assert client.get("/admin/rosters").status_code == 403
