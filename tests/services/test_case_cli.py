"""The operators' interface of docs/CONTRACT.md: ``flask cases set-status`` (same rules,
history and member messages as the console) and ``flask export cases|disputes|committees``."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from bot.extensions import db
from bot.models import Case
from bot.services.cases import engine, mediation
from tests.services.case_fixtures import *  # noqa: F403 (the case fixtures)
from tests.services.case_fixtures import open_window, texts_to


@pytest.fixture
def case(org):
    open_window("o-cli")
    made = engine.open_case(
        db.session, mediation.KIND, openid="o-cli", today=date(2026, 12, 1), category="货款债务",
        data={"other_party": "示范市华兴五金有限公司"}, amount=200000, chamber_id=org.zhejiang.id,
    )  # fmt: skip
    db.session.commit()
    return made


def cli(runner, *args):
    return runner.invoke(args=["cases", *args])


def test_set_status_follows_the_table_and_tells_the_member(app, runner, case, sandbox_calls):
    done = cli(
        runner, "set-status", case.number, "已受理", "--note", "已电话联系", "--as", "med-zj"
    )
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert (out["number"], out["status"], out["notified"]) == (case.number, "已受理", True)
    db.session.expire_all()
    row = db.session.get(Case, case.id)
    assert [e.action for e in row.events] == ["submit", "accept"]
    assert row.events[-1].actor == "med-zj" and row.events[-1].note == "已电话联系"
    from rq import SimpleWorker

    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    (text,) = texts_to(sandbox_calls, "o-cli")
    assert "已受理" in text and "已电话联系" in text
    # The whole way on, by status names.
    for status in ("调解中", "调解成功", "已结案"):
        step = cli(
            runner, "set-status", case.number, status, "--note", "分期付清", "--as", "med-zj"
        )
        assert step.exit_code == 0, step.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).data["agreement"]["summary"] == "分期付清"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["调解成功", "--as", "med-zj"], "不能改为“调解成功”"),
        (["不予受理", "--as", "med-zj"], "需要填写说明"),
        (["已受理", "--as", "med-fj"], "没有找到"),  # another committee's mediator
        (["已受理", "--as", "nobody"], "没有名为 nobody"),
        (["办完了", "--as", "med-zj"], "没有“办完了”这个状态"),
    ],
)
def test_a_refused_change_says_why_and_exits_non_zero(runner, case, args, says):
    done = cli(runner, "set-status", case.number, *args)
    assert done.exit_code == 1
    assert says in done.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "待受理"


def test_an_unknown_case_is_refused_like_an_unseen_one(runner, case):
    done = cli(runner, "set-status", "TJ20261201-0999", "已受理", "--as", "med-zj")
    assert done.exit_code == 1 and "没有找到" in done.output


def test_actions_with_their_data(runner, case):
    cli(runner, "set-status", case.number, "已受理", "--as", "med-zj")
    done = cli(
        runner, "act", case.number, "schedule", "--as", "med-zj",
        "--data", "when=2026-12-08T14:30", "--data", "place=市民中心调解室",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = json.loads(cli(runner, "show", case.number, "--as", "boss").output)
    assert shown["status"] == "调解中" and shown["history"][-1]["action"] == "schedule"
    assert "settle" in shown["actions"]
    missing = cli(runner, "act", case.number, "schedule", "--as", "med-zj")
    assert missing.exit_code == 1 and "调解时间" in missing.output


def test_export_cases_contract(runner, case, org):
    done = runner.invoke(args=["export", "cases", "--format", "json"])
    (row,) = [json.loads(line) for line in done.output.splitlines()]
    assert {"number", "kind", "openid", "status", "assignee", "created_at", "due_at"} <= set(row)
    assert (row["number"], row["kind"], row["status"]) == (case.number, "mediation", "待受理")
    assert row["assignee"] == "示范市浙江商会人民调解委员会" and row["due_at"] == "2026-12-04"
    only = runner.invoke(args=["export", "cases", "--kind", "mediation", "--format", "csv"])
    header, line = list(csv.reader(io.StringIO(only.output)))
    assert header[:7] == ["number", "kind", "openid", "status", "assignee", "created_at", "due_at"]
    assert line[0] == case.number
    unknown = runner.invoke(args=["export", "cases", "--kind", "nope"])
    assert unknown.exit_code != 0


def test_export_disputes_and_committees(runner, case, org):
    done = runner.invoke(args=["export", "disputes", "--format", "json"])
    (row,) = [json.loads(line) for line in done.output.splitlines()]
    assert row["case_no"] == case.number and row["dispute_type"] == "货款债务"
    assert row["committee"] == "示范市浙江商会人民调解委员会"
    assert (row["amount"], row["due_at"], row["closed_at"]) == (200000, "2026-12-04", None)
    assert {"openid", "status", "created_at"} <= set(row)
    committees = [
        json.loads(line)
        for line in runner.invoke(
            args=["export", "committees", "--format", "json"]
        ).output.splitlines()
    ]
    assert {"id", "name", "dispute_types"} <= set(committees[0])
    named = {c["name"]: c["dispute_types"] for c in committees}
    assert named["示范市浙江商会人民调解委员会"] == ["合同", "货款债务"]
