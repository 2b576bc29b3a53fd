"""Exports: the console's downloads and ``flask export`` share one writer (bot/console/exports.py)
that keeps member-typed formulas as text; committees and departments export as the contract says."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from bot.console import exports
from bot.extensions import db
from bot.models import Member
from tests.console.helpers import make_committee, make_session, sign_up

FORMULAS = ('=HYPERLINK("http://x")', "+86 1", "-1+1", "@SUM(A1)", "\tx", "\rx")


def test_cells_that_would_run_as_formulas_stay_text() -> None:
    for text in FORMULAS:
        assert exports.cell(text) == "'" + text
    assert exports.cell("张三") == "张三" and exports.cell(3) == 3 and exports.cell(None) == ""
    assert exports.cell(["合同", "=租赁"]) == "合同,=租赁"  # a list is one cell, starting safely
    assert exports.cell(["=合同"]) == "'=合同"
    text = exports.csv_bytes(["a"], [["=1+1"]]).decode("utf-8")
    assert text.startswith("\ufeff") and "'=1+1" in text  # Excel's BOM for Chinese


def test_console_downloads_escape_formulas(console, client) -> None:
    db.session.add(Member(name="=cmd|' /C calc'!A0", mobile="13900000001", company="@evil"))
    db.session.commit()
    row = make_session(capacity=5)
    sign_up(row, "o-b", '=HYPERLINK("http://x")', company="+danger")
    console.login("otto", "officer")

    members = client.get("/admin/members/export.csv").get_data().decode("utf-8-sig")
    member = next(csv.DictReader(io.StringIO(members)))
    assert member["姓名"] == "'=cmd|' /C calc'!A0" and member["单位"] == "'@evil"

    sheet = load_workbook(io.BytesIO(client.get("/admin/members/export.xlsx").get_data())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[1][1] == "'=cmd|' /C calc'!A0"
    assert all(not str(c.value).startswith("=") for r in sheet.iter_rows() for c in r if c.value)

    regs = client.get(f"/admin/training/{row.id}/export.csv").get_data().decode("utf-8-sig")
    reg = next(csv.DictReader(io.StringIO(regs)))
    assert reg["姓名"] == '\'=HYPERLINK("http://x")' and reg["单位"] == "'+danger"


def test_flask_export_csv_escapes_formulas_and_json_keeps_raw_values(runner, app) -> None:
    db.session.add(Member(name="=1+2", mobile="13900000001", company="-3", tags="@x"))
    db.session.commit()
    row = make_session(capacity=5)
    sign_up(row, "o-b", "=HYPERLINK(1)", company="@co")

    out = runner.invoke(args=["export", "members", "--format", "csv"]).output
    assert not out.startswith("\ufeff")  # for scripts, not Excel
    member = next(csv.DictReader(io.StringIO(out)))
    assert (member["name"], member["company"], member["tags"]) == ("'=1+2", "'-3", "'@x")
    raw = json.loads(runner.invoke(args=["export", "members", "--format", "json"]).output)
    assert raw["name"] == "=1+2" and raw["company"] == "-3"

    out = runner.invoke(args=["export", "registrations", "--format", "csv"]).output
    reg = next(csv.DictReader(io.StringIO(out)))
    assert reg["name"] == "'=HYPERLINK(1)" and reg["company"] == "'@co"
    assert list(reg) == list(exports.REGISTRATIONS)


def test_export_committees_and_departments(runner, app) -> None:
    from bot.models import Department

    committee = make_committee("示范市商会人民调解委员会", "合同", "货款债务")
    db.session.add(Department(name="经济服务部", categories=["=税费", "融资"], contact="1"))
    db.session.commit()

    lines = runner.invoke(args=["export", "committees", "--format", "json"]).output.splitlines()
    row = json.loads(lines[0])
    assert {k: row[k] for k in ("id", "name", "dispute_types")} == {
        "id": committee.id,
        "name": "示范市商会人民调解委员会",
        "dispute_types": ["合同", "货款债务"],
    }
    out = runner.invoke(args=["export", "committees", "--format", "csv"]).output
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["name"] == "示范市商会人民调解委员会" and row["dispute_types"] == "合同、货款债务"

    department = json.loads(runner.invoke(args=["export", "departments"]).output)
    assert department["categories"] == ["=税费", "融资"]  # JSON keeps what was stored
    out = runner.invoke(args=["export", "departments", "--format", "csv"]).output
    row = next(csv.DictReader(io.StringIO(out)))
    assert {"id", "name", "categories"} <= set(row)
    assert row["categories"] == "'=税费、融资"  # through the one CSV writer: no formula
