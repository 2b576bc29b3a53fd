"""Every case kind gets a working console area from the engine alone: list, case page with
its declared inputs as form fields, history, print, statistics and downloads, with the
generic templates where the kind has none of its own."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.console import case_forms, cases
from bot.extensions import db
from bot.models import CaseEvent
from bot.services.cases import KINDS, engine
from tests.factories import PASSWORD
from tests.services.appeal_fixtures import *  # noqa: F403 (the appeal fixtures)
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)

TODAY = date(2026, 12, 1)


def sign_in(console, user):
    response = console.login(user.username, user.role, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)


def open_one(kind):
    case = engine.open_case(
        db.session, kind, openid=f"o-{kind.name}", today=TODAY,
        category=kind.categories[0] if kind.categories else "",
        title=f"{kind.name} 的测试标题", data={"content": "测试用的情况说明，足够长的文字。"},
    )  # fmt: skip
    db.session.commit()
    return case


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_has_a_list_page_print_stats_and_downloads(console, client, org, depts, name):
    kind = KINDS[name]
    case = open_one(kind)
    sign_in(console, org.admin)
    base = f"/admin/{kind.area}"
    listed = client.get(base)
    assert listed.status_code == 200 and case.number in listed.get_data(as_text=True)
    page = client.get(f"{base}/{case.number}")
    assert page.status_code == 200
    assert f"{kind.name} 的测试标题" in page.get_data(as_text=True)
    assert client.get(f"{base}/{case.number}/print").status_code == 200
    assert client.get(f"{base}/stats").status_code == 200
    text = client.get(f"{base}/export.csv").get_data().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 2 and case.number in table[1]
    assert all(not h.isascii() or h == "openid" for h in table[0]), table[0]
    book = load_workbook(io.BytesIO(client.get(f"{base}/export.xlsx").get_data()))
    assert book.active.max_row == 2


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_declared_input_of_a_kind_is_a_field_of_its_action_form(app, name):
    kind = KINDS[name]
    form = case_forms.form_class(kind)
    for item in kind.inputs:
        assert hasattr(form, item.name), item.name
    for transition in kind.transitions:
        for asked in case_forms.asked(kind, transition):
            assert asked.required == (asked.input.name in transition.fields)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_sidebar_names_every_kind(console, client, org, depts, name):
    kind = KINDS[name]
    sign_in(console, org.admin)
    sidebar = client.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/{kind.area}"' in sidebar
    assert cases.NAV[name][0] in sidebar
    if name not in ("mediation", "appeal"):  # the console's own labels
        assert cases.NAV[name][0] == cases.member_label(kind)


def test_an_internal_note_made_through_the_generic_form_is_in_the_history(
    console, client, org, depts
):
    for kind in KINDS.values():
        if kind.transition("note") is None:
            continue
        case = open_one(kind)
        sign_in(console, org.admin)
        url = f"/admin/{kind.area}/{case.number}"
        done = console.post(f"{url}/act", {"action": "note", "note": "已电话联系，等待材料"})
        assert done.status_code == 302, done.get_data(as_text=True)
        notes = db.session.query(CaseEvent).filter_by(case_id=case.id, action="note").all()
        assert [n.note for n in notes] == ["已电话联系，等待材料"]
        assert "已电话联系，等待材料" in client.get(url).get_data(as_text=True)
        # A note is required: refused with the engine's words, nothing recorded.
        console.post(f"{url}/act", {"action": "note", "note": ""})
        assert db.session.query(CaseEvent).filter_by(case_id=case.id, action="note").count() == 1


def test_the_generic_form_reads_every_input_type(app):
    from datetime import datetime
    from decimal import Decimal

    from werkzeug.datastructures import MultiDict
    from wtforms import SelectChoice

    from bot.services.cases.spec import CaseKind, Input, State, Transition

    kind = CaseKind(
        name="sample", prefix="ZZ", form="", area="samples",
        states=(State("开", "open"),), initial="开",
        transitions=(Transition("note", ("开",), None, frozenset({"agent"})),),
        routes=(), inputs=(
            Input("words", "文字"), Input("story", "经过", "textarea", max_len=10),
            Input("day", "日期", "date"), Input("when", "时间", "datetime"),
            Input("count", "人数", "int"), Input("sum", "金额", "money"),
            Input("pick", "选择", "select", choices=lambda db, case: [("a", "甲"), ("b", "乙")]),
            Input("ok", "同意", "yes_no"),
        ),
    )  # fmt: skip
    cls = case_forms.form_class(kind)

    def read(**given):
        with app.test_request_context():
            form = cls(formdata=MultiDict({"action": "note", **given}), meta={"csrf": False})
            form.pick.choices = [SelectChoice(v, v) for v in ("", "a", "b")]
            form.ok.choices = [SelectChoice(v, v) for v in ("", "yes", "no")]
            return form.validate(), case_forms.values(kind, form), form.errors

    ok, values, _ = read(
        words=" 你好 ", story="短", day="2026-12-08", when="2026-12-08T14:30", count="12",
        sum="1234.5", pick="b", ok="no",
    )  # fmt: skip
    assert ok and values == {
        "words": "你好", "story": "短", "day": date(2026, 12, 8),
        "when": datetime(2026, 12, 8, 14, 30), "count": 12, "sum": Decimal("1234.50"),
        "pick": "b", "ok": False,
    }  # fmt: skip
    assert read()[:2] == (True, {})  # nothing given: nothing passed on
    for bad in ({"day": "8/12"}, {"count": "十二"}, {"sum": "-1"}, {"pick": "c"},
                {"story": "太长了" * 5}, {"count": str(10**12)}):  # fmt: skip
        ok, _, errors = read(**bad)
        assert not ok and set(errors) == set(bad), bad
