"""The four service kinds below the chat: the 代办事项清单 (XLSX/CSV import, the search a
member's description goes through), the rosters, refusals the kinds' rules make, the
statistics (amounts asked and obtained), the exports, and the templates every kind needs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.extensions import db
from bot.kb import catalogue as search
from bot.models import Case, ProxyItem
from bot.paths import TEMPLATES_DIR
from bot.services import catalogue, providers
from bot.services.cases import KINDS, engine, financing, investment, legal_checkup, proxy, stats
from tests.services.service_fixtures import *  # noqa: F403 (the service fixtures)

TODAY = date(2026, 12, 1)
MINE = ("legal_checkup", "financing_request", "proxy_service", "investment_lead")


def found(text: str) -> list[str]:
    items = {str(i.id): i for i in catalogue.active(db.session)}
    rows = [search.Row(*r) for r in catalogue.search_rows(items.values())]
    return [items[m.key].name for m in search.find(catalogue.version(db.session), rows, text)]


# -- the catalogue -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "first"),
    [
        ("老家的户口迁移", "户籍迁移（迁入迁出）"),
        ("社保转移", "社会保险关系转移"),
        ("帮我开个无犯罪证明", "无犯罪记录证明"),
        ("想把公积金提出来", "住房公积金提取"),
        ("个体户要注销", "个体工商户注销"),
    ],
)
def test_a_description_finds_its_item(svc, said, first):
    assert found(said)[0] == first


def test_a_description_of_nothing_in_the_list_finds_nothing(svc):
    assert found("帮我代办") == []
    assert found("明天天气怎么样") == []


def test_an_xlsx_list_is_imported_by_its_headers_and_updated_on_import_again(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "办理部门", "事项名称", "申请材料", "是否可代办", "承诺时限", "俗称"])
    sheet.append(
        [1, "公安", "户籍证明开具", "身份证复印件、户口簿复印件", "是", "3个工作日", "户口证明"]
    )
    sheet.append([2, "公安", "居民身份证换领", "户口簿", "否", 20, "换身份证"])
    sheet.append([3, None, None, None, None, None, None])  # an empty row is skipped quietly
    sheet.append([4, "民政", "", "身份证", "是", 3, ""])  # a name is missing: reported
    path = tmp_path / "清单.xlsx"
    book.save(path)
    result = catalogue.import_table(db.session, catalogue.read_table(path))
    db.session.commit()
    assert (result.created, result.updated) == (2, 0)
    assert result.errors == ["第5行：缺少事项名称"]
    proof = ProxyItem.query.filter_by(name="户籍证明开具").one()
    assert proof.material_list == ["身份证复印件", "户口簿复印件"]
    assert (proof.department, proof.by_proxy, proof.workdays) == ("公安", True, 3)
    assert proof.keywords == "户口证明"
    assert ProxyItem.query.filter_by(name="居民身份证换领").one().by_proxy is False

    sheet.delete_rows(3, 3)
    sheet.cell(2, 6, "5")
    book.save(path)
    again = catalogue.import_table(db.session, catalogue.read_table(path), deactivate_missing=True)
    db.session.commit()
    assert (again.created, again.updated, again.retired) == (0, 1, 1)
    db.session.refresh(proof)
    assert proof.workdays == 5
    assert [i.name for i in catalogue.active(db.session)] == ["户籍证明开具"]


def test_a_file_without_a_name_column_is_refused(app, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("部门,材料\n公安,身份证\n", encoding="utf-8")
    result = catalogue.import_table(db.session, catalogue.read_table(path))
    assert result.errors == ["第1行没有“事项名称”列"] and ProxyItem.query.count() == 0


def test_the_cli_imports_finds_and_keeps_the_rosters(app, runner, svc, tmp_path):
    path = tmp_path / "more.csv"
    path.write_text(
        "事项名称,部门,所需材料,可否代办,办理时限\n驾驶证审验,公安交管,驾驶证;体检证明,是,5\n",
        encoding="utf-8-sig",
    )
    done = runner.invoke(args=["services", "import-catalogue", str(path)])
    assert done.exit_code == 0 and "1 added" in done.output
    shown = runner.invoke(args=["services", "find", "老家的户口迁移"])
    assert "户籍迁移（迁入迁出）（公安）" in shown.output.splitlines()[0]
    assert "taken alone" in shown.output
    listed = runner.invoke(args=["services", "catalogue", "--format", "json"])
    assert "驾驶证审验" in {row["name"] for row in json.loads(listed.output)}
    # A roster row's console user must hold the roster's role.
    refused = runner.invoke(
        args=["services", "roster-add", "bank", "示范银行", "--user", "lawyer-zhang"]
    )
    assert refused.exit_code == 1 and "lawyer" in refused.output
    added = runner.invoke(
        args=["services", "roster-add", "agent", "钱代办员", "--user", "agent-zj",
              "--chamber", "示范市浙江商会"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "钱代办员" in runner.invoke(args=["services", "roster", "--kind", "agent"]).output


def test_the_roster_refuses_a_user_of_another_role(svc):
    with pytest.raises(providers.RosterRefused):
        providers.add(db.session, "lawyer", "李律师", user=svc.bank)


# -- the kinds' own rules ----------------------------------------------------------------------
def open_case(kind, svc, **kw):
    case = engine.open_case(
        db.session, kind, openid="o-kinds", today=TODAY, data=kw.pop("data", {}), **kw
    )
    db.session.commit()
    return case


@pytest.mark.parametrize(
    ("kind", "department"),
    [
        (legal_checkup.KIND, "legal"),
        (financing.KIND, "economic"),
        (proxy.KIND, "chamber_dept"),
        (investment.KIND, "economic"),
    ],
)
def test_each_kind_is_routed_to_its_department(svc, kind, department):
    case = open_case(kind, svc)
    assert case.department_id == getattr(svc, department).id
    assert case.due_at is not None  # every kind's first state runs on a clock


def test_a_proxy_request_of_a_chamber_member_goes_to_its_agent(svc):
    case = open_case(proxy.KIND, svc, chamber_id=svc.zhejiang.id)
    assert case.user_id == svc.agent.id and case.route_rule == "chamber-agent"
    assert case.department_id == svc.chamber_dept.id


def test_refusals_say_why(svc):
    checkup = open_case(legal_checkup.KIND, svc)
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, checkup, "arrange", svc.legal_officer, today=TODAY,
                   data={"when": "2026-12-09T09:30"})  # fmt: skip
    assert refused.value.reason == "fields_required"  # no lawyer arranged
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, checkup, "arrange", svc.legal_officer, today=TODAY,
                   data={"when": "下周", "provider_id": svc.lawyer_row.id})  # fmt: skip
    assert refused.value.reason == "bad_datetime"
    loan = open_case(financing.KIND, svc)
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, loan, "push", svc.economic_officer, today=TODAY,
                   data={"provider_id": svc.lawyer_row.id})  # fmt: skip
    assert refused.value.reason == "unknown_provider"  # a lawyer is not a bank
    engine.act(db.session, loan, "push", svc.economic_officer, today=TODAY,
               data={"provider_id": svc.bank_row.id})  # fmt: skip
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, loan, "grant", svc.bank, today=TODAY, data={"obtained": "很多"})
    assert refused.value.reason == "bad_amount"
    # The member's own step (补材料) is not a console action for an agent.
    handled = open_case(proxy.KIND, svc, chamber_id=svc.zhejiang.id)
    engine.act(db.session, handled, "take", svc.agent, today=TODAY)
    engine.act(db.session, handled, "ask_materials", svc.agent, today=TODAY,
               data={"missing": "户口簿首页"})  # fmt: skip
    with pytest.raises(engine.CaseRefused) as refused:
        engine.act(db.session, handled, "supplied", svc.agent, today=TODAY)
    assert refused.value.reason == "role"


def test_statistics_show_amounts_asked_and_obtained(svc):
    asked = [(Decimal(3_000_000), "150万"), (Decimal(500_000), None), (Decimal(800_000), "fail")]
    for amount, outcome in asked:
        case = open_case(financing.KIND, svc, category="扩产", amount=amount)
        engine.act(db.session, case, "push", svc.economic_officer, today=TODAY,
                   data={"provider_id": svc.bank_row.id})  # fmt: skip
        if outcome == "fail":
            engine.act(db.session, case, "fail", svc.bank, "抵押物不足", today=TODAY)
        elif outcome:
            engine.act(db.session, case, "grant", svc.bank, today=TODAY,
                       data={"obtained": outcome})  # fmt: skip
    db.session.commit()
    figures = stats.report(db.session, financing.KIND, None).total
    assert figures.received == 3 and (figures.success, figures.failure, figures.open) == (1, 1, 1)
    assert figures.amount == 4_300_000  # asked
    assert figures.settled_amount == 3_000_000  # asked by the requests that got a loan
    assert figures.outcome_amount == 1_500_000  # obtained
    # The bank sees its own figures; another bank none.
    assert stats.report(db.session, financing.KIND, svc.bank).total.received == 3
    assert stats.report(db.session, financing.KIND, svc.other_bank).total.received == 0


def test_leads_and_projects_landed_are_counted(svc):
    for landed in (True, False, None):
        case = open_case(investment.KIND, svc, category="项目", amount=Decimal(10**8))
        if landed:
            engine.act(db.session, case, "land", svc.economic_officer, today=TODAY,
                       data={"landed_amount": "8000万"})  # fmt: skip
        elif landed is False:
            engine.act(db.session, case, "drop", svc.economic_officer, "对方改投他市", today=TODAY)
    db.session.commit()
    figures = stats.report(db.session, investment.KIND, None).total
    assert (figures.received, figures.success, figures.failure) == (3, 1, 1)
    assert figures.outcome_amount == 80_000_000


@pytest.mark.parametrize("kind", MINE)
def test_export_cases_of_each_kind(runner, svc, kind):
    case = open_case(KINDS[kind], svc)
    done = runner.invoke(args=["export", "cases", "--kind", kind, "--format", "json"])
    assert done.exit_code == 0, done.output
    (row,) = [json.loads(line) for line in done.output.splitlines() if line.strip()]
    assert {"number", "kind", "openid", "status", "assignee", "created_at", "due_at"} <= set(row)
    assert (row["number"], row["kind"], row["status"]) == (case.number, kind, case.status)
    assert row["assignee"] and row["due_at"] == case.due_at.isoformat()


@pytest.mark.parametrize("kind", MINE)
def test_each_kind_has_its_member_templates(kind):
    spec = KINDS[kind]
    folder = Path(TEMPLATES_DIR) / "replies" / "cases" / kind
    wanted = {"label", "event"} | {f"next_{s.slug}" for s in spec.states}
    wanted |= {t.action for t in spec.transitions if t.tell}
    missing = sorted(n for n in wanted if not (folder / f"{n}.txt").is_file())
    assert not missing, missing


def test_case_rows_have_no_unsaved_case(svc):
    assert Case.query.count() == 0  # nothing above leaks into another test's database


def test_the_demo_data_routes_every_service(app, calendar_ready):
    from bot.dev import seed

    seed.load_demo()
    seed.load_departments()
    assert seed.load_services_demo().startswith("services demo: rosters of 5, 31")
    assert "kept" in seed.load_services_demo()  # safe to repeat
    names = {}
    for kind in MINE:
        case = engine.open_case(db.session, KINDS[kind], openid="o-demo", today=TODAY, data={})
        names[kind] = engine.member_context(db.session, case)["assignee"]
    assert names["legal_checkup"] == app.config["ORG_LEGAL_DEPT"]
    assert names["financing_request"] == names["investment_lead"] == app.config["ORG_ECONOMIC_DEPT"]
    assert names["proxy_service"] == app.config["ORG_CHAMBER_DEPT"]


def test_a_checkup_of_a_paired_chamber_goes_to_its_law_firm_at_once(svc):
    # 千家律所联千家商会: the roster's lawyer of the 浙江商会 takes its members' check-ups.
    svc.lawyer_row.chamber_id = svc.zhejiang.id
    db.session.commit()
    paired = open_case(legal_checkup.KIND, svc, chamber_id=svc.zhejiang.id)
    assert (paired.user_id, paired.department_id) == (svc.lawyer.id, svc.legal.id)
    assert paired.route_rule == "chamber-lawyer"
    # The department arranges the time; the lawyer is the one routed to.
    engine.act(db.session, paired, "arrange", svc.legal_officer, today=TODAY,
               data={"when": "2026-12-10T14:00"})  # fmt: skip
    assert paired.data["provider"]["name"] == "张律师（示范律师事务所）"
    unpaired = open_case(legal_checkup.KIND, svc)
    assert unpaired.user_id is None and unpaired.route_rule == "checkup"
