"""The console's case area for mediation (/admin/disputes): scope by committee in lists, pages
and downloads (out of scope is a 404 exactly like a missing case), actions through the engine
with the member told, the printable record, statistics, and the holiday calendar."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.extensions import db
from bot.models import Attachment, CalendarYear, Case
from bot.services.cases import engine, mediation
from tests.factories import PASSWORD
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)
from tests.services.case_fixtures import open_window, texts_to

TODAY = date(2026, 12, 1)


def dispute(org, openid, party, chamber):
    case = engine.open_case(
        db.session, mediation.KIND, openid=openid, today=TODAY, category="合同",
        data={"other_party": party, "facts": "对方拖欠货款二十万元，多次催讨未果。"},
        title=party, amount=200000, chamber_id=chamber.id if chamber else None,
    )  # fmt: skip
    db.session.commit()
    return case


@pytest.fixture
def cases(org):
    ours = dispute(org, "o-ours", "示范市华兴五金有限公司", org.zhejiang)
    fujian = org.other_committee.chamber
    theirs = dispute(org, "o-theirs", "示范市闽兴建材有限公司", fujian)
    assert (ours.committee_id, theirs.committee_id) == (
        org.chamber_committee.id,
        org.other_committee.id,
    )
    return ours, theirs


def unnonced(page: str) -> str:
    return re.sub(r'nonce="[^"]+"', "", page)


def sign_in(console, user):
    response = console.login(user.username, user.role, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_mediator_lists_only_their_committees_cases(console, client, org, cases):
    ours, theirs = cases
    sign_in(console, org.mediator)
    page = client.get("/admin/disputes").get_data(as_text=True)
    assert ours.number in page and theirs.number not in page
    assert "示范市华兴五金有限公司" in page and "示范市闽兴建材有限公司" not in page
    counts = client.get("/admin/disputes?status=待受理").get_data(as_text=True)
    assert ours.number in counts and theirs.number not in counts
    sign_in(console, org.admin)
    everything = client.get("/admin/disputes").get_data(as_text=True)
    assert ours.number in everything and theirs.number in everything


def test_an_out_of_scope_case_url_is_a_404_like_a_missing_one(console, client, org, cases):
    ours, theirs = cases
    sign_in(console, org.mediator)
    assert client.get(f"/admin/disputes/{ours.number}").status_code == 200
    other = client.get(f"/admin/disputes/{theirs.number}")
    missing = client.get("/admin/disputes/TJ20261201-0999")
    assert other.status_code == missing.status_code == 404
    # Nothing tells the two apart (but each response's own CSP nonce).
    assert unnonced(other.get_data(as_text=True)) == unnonced(missing.get_data(as_text=True))
    for suffix in ("/print", "/attachments/1"):
        assert client.get(f"/admin/disputes/{theirs.number}{suffix}").status_code == 404
    acted = console.post(f"/admin/disputes/{theirs.number}/act", {"action": "accept"})
    assert acted.status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, theirs.id).status == "待受理"


def test_downloads_hold_only_the_cases_in_scope_under_chinese_headers(console, client, org, cases):
    ours, theirs = cases
    sign_in(console, org.mediator)
    text = client.get("/admin/disputes/export.csv").get_data().decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["编号"] for row in table] == [ours.number]
    assert {"纠纷类型", "调解委员会", "状态", "涉及金额（元）", "期限"} <= set(table[0])
    assert table[0]["调解委员会"] == "示范市浙江商会人民调解委员会"
    book = load_workbook(io.BytesIO(client.get("/admin/disputes/export.xlsx").get_data()))
    values = [[c.value for c in r] for r in book.active.iter_rows()]
    assert values[0][0] == "编号" and [r[0] for r in values[1:]] == [ours.number]
    sign_in(console, org.other_mediator)
    theirs_only = client.get("/admin/disputes/export.csv").get_data().decode("utf-8-sig")
    assert theirs.number in theirs_only and ours.number not in theirs_only


def test_other_roles_may_not_open_the_area(console, client, org, cases):
    console.login("otto", "officer")
    assert client.get("/admin/disputes").status_code == 403
    assert client.get(f"/admin/disputes/{cases[0].number}").status_code == 403


def test_the_case_page_shows_details_attachments_history_and_actions(console, client, org, cases):
    ours, _ = cases
    db.session.add(
        Attachment(
            owner_kind="case", owner_id=ours.number, openid="o-ours", media_id="m-1",
            media_type="image", title="欠条.jpg", status="pending",
        )
    )  # fmt: skip
    db.session.commit()
    sign_in(console, org.mediator)
    page = client.get(f"/admin/disputes/{ours.number}").get_data(as_text=True)
    assert "对方拖欠货款二十万元" in page and "200,000.00 元" in page
    assert "欠条.jpg" in page and "获取中" in page
    assert "提交申请" in page and "按商会与纠纷类型" in page
    assert 'name="action" value="accept"' in page and 'value="reject"' in page
    assert 'value="settle"' not in page  # not from 待受理


def test_actions_go_through_the_engine_and_tell_the_member(app, console, client, org, cases):
    from rq import SimpleWorker

    ours, _ = cases
    open_window("o-ours")
    sign_in(console, org.mediator)
    done = console.post(
        f"/admin/disputes/{ours.number}/act", {"action": "accept", "note": "已与双方电话联系"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, ours.id)
    assert case.status == "已受理" and case.events[-1].actor == org.mediator.username
    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    from tests.conftest import SandboxCalls

    calls = SandboxCalls(app.config["WECHAT_API_BASE"].removesuffix("cgi-bin/"))
    (text,) = texts_to(calls, "o-ours")
    assert "已受理" in text and "已与双方电话联系" in text
    scheduled = console.post(
        f"/admin/disputes/{ours.number}/act",
        {"action": "schedule", "when": "2026-12-08T14:30", "place": "市民中心调解室"},
    )
    assert scheduled.status_code == 302
    page = client.get(f"/admin/disputes/{ours.number}").get_data(as_text=True)
    assert "2026-12-08 14:30，市民中心调解室" in page
    console.post(f"/admin/disputes/{ours.number}/act", {"action": "note", "note": "对方要求分期"})
    page = client.get(f"/admin/disputes/{ours.number}").get_data(as_text=True)
    assert "对方要求分期" in page and "内部" in page


def test_a_refused_action_says_why(console, client, org, cases):
    ours, _ = cases
    sign_in(console, org.mediator)
    refused = console.post(
        f"/admin/disputes/{ours.number}/act", {"action": "reject"}, follow_redirects=True
    )
    assert "需要填写说明" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, ours.id).status == "待受理"
    wrong = console.post(
        f"/admin/disputes/{ours.number}/act", {"action": "close"}, follow_redirects=True
    )
    assert "不能改为" in wrong.get_data(as_text=True)
    no_token = client.post(f"/admin/disputes/{ours.number}/act", data={"action": "accept"})
    assert no_token.status_code == 400


def test_the_printable_record_and_the_statistics(console, client, org, cases):
    ours, _ = cases
    sign_in(console, org.mediator)
    engine.set_status(db.session, ours, "已受理", org.mediator, today=TODAY)
    engine.set_status(
        db.session, ours, "调解成功", org.mediator, today=TODAY, data={"agreement": "分三期付清"}
    )
    db.session.commit()
    record = client.get(f"/admin/disputes/{ours.number}/print").get_data(as_text=True)
    assert "人民调解记录" in record and ours.number in record and "分三期付清" in record
    assert "2026-12-31前" in record  # the 司法确认 deadline, 30 days after 1 December
    figures = client.get("/admin/disputes/stats").get_data(as_text=True)
    assert "100.0%" in figures and "（1/1）" in figures and "200,000" in figures
    assert "示范市浙江商会人民调解委员会" in figures and "示范市福建商会" not in figures


def test_the_calendar_is_edited_by_admins_and_warns_before_it_runs_out(console, client, org):
    sign_in(console, org.mediator)
    assert client.get("/admin/calendar").status_code == 403
    db.session.query(CalendarYear).filter_by(year=2027).delete()
    db.session.commit()
    sign_in(console, org.admin)
    warned = client.get("/admin/disputes").get_data(as_text=True)
    if (date(2026, 12, 31) - date.today()).days <= 31:
        assert "节假日日历只录入到 2026-12-31" in warned
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "未确认" in page
    saved = console.post(
        "/admin/calendar?year=2027",
        {"form": "day", "day": "2027-02-06", "kind": "holiday", "name": "春节"},
    )
    assert saved.status_code == 302
    console.post("/admin/calendar?year=2027", {"form": "year", "year": "2027"})
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "春节" in page and "已确认" in page and "工作人员录入" in page
    assert re.search(r"2027-02-06", page)


def test_a_transfer_hands_the_case_to_the_other_committee(console, client, org, cases):
    ours, _ = cases
    sign_in(console, org.mediator)
    page = client.get(f"/admin/disputes/{ours.number}").get_data(as_text=True)
    assert "示范市劳动争议调解委员会" in page  # offered as a target
    moved = console.post(
        f"/admin/disputes/{ours.number}/act",
        {"action": "transfer", "committee_id": str(org.labour_committee.id), "note": "劳动争议"},
        follow_redirects=True,
    )
    assert "已转交示范市劳动争议调解委员会" in moved.get_data(as_text=True)
    assert client.get(f"/admin/disputes/{ours.number}").status_code == 404
    sign_in(console, org.labour_mediator)
    assert client.get(f"/admin/disputes/{ours.number}").status_code == 200
