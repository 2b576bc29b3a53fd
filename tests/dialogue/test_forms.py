"""The form engine driven through the webhook with a throw-away intake form of every slot kind.

The form stands in for the intake forms to come (mediation, appeals …): it is registered in
place of ``mediation_apply`` (so the classifier's label routes "我要申请调解…" to it) the way
tests/apps/effect_app.py adds its intent, ``create_app({"HANDLERS": ...})``. It has no
templates of its own: every prompt and the summary come from the kinds' generic ones.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import current_app

import handlers
from bot.dialogue.forms.spec import Choice, Consent, MediaItem, Money, Number, Slot, Submitted
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Turn
from bot.errors import FormEnded
from bot.models import Attachment, FormSubmission, OutboundMessage
from bot.services.clock import local_now
from bot.wechat.simulate import text_xml

intake = Intent("mediation_apply", description="测试用：覆盖所有槽位类型的申请表")

DISPUTES = (
    Choice("contract", "合同纠纷", ("合同", "货款", "欠款")),
    Choice("labour", "劳动纠纷", ("工资", "劳动")),
    Choice("ip", "知识产权纠纷", ("商标", "专利")),
)
HELP = (Choice("mediate", "调解"), Choice("advice", "法律咨询"), Choice("lawyer", "律师代理"))


def not_our_own(turn: Turn, text: str) -> str:
    """A validator that ends the form ("本会" cannot be the other party)."""
    if text == "本会":
        raise FormEnded("replies/cancel/cancelled.txt")
    return text


form = intake.form(
    Slot("dispute", "纠纷类型", options=DISPUTES, mention=True),
    Slot("amount", "涉及金额", "money", entity="money", when=lambda v: v["dispute"] == "contract"),
    Slot("written", "是否签订书面合同", "yes_no", when=lambda v: v["dispute"] == "contract"),
    Slot("staff", "涉及人数", "number", when=lambda v: v["dispute"] == "labour"),
    Slot("counterparty", "对方单位", min_len=2, max_len=100, validate=not_our_own, free_text=True),
    Slot("summary", "纠纷经过", max_len=500, free_text=True),
    Slot("happened", "发生日期", "date", past=True),
    Slot("call_time", "回访时间", "time"),
    Slot("meet_at", "面谈时间", "datetime", past=False),
    Slot("phone", "联系电话", "phone", entity="phone"),
    Slot("wanted", "希望的帮助", options=HELP, multi=True),
    Slot("evidence", "证据材料", "media", optional=True),
    Slot("consent", "个人信息授权", "consent", consent="replies/common/consent_privacy.txt"),
    name="intake_test",  # its own name: no templates of its own, the generic ones serve
    collects_media="evidence",
)


@form.on_submit
def submit(turn: Turn, values: dict[str, Any], key: str) -> Submitted:
    row = OutboundMessage(kind="intake", openid=turn.user_id, detail=json.dumps(_plain(values)))
    turn.db.add(row)
    turn.db.flush()
    SEEN.append((dict(values), key))
    return Submitted(f"T{row.id}", Reply(text=f"申请已提交，编号 T{row.id}。"))


SEEN: list[tuple[dict[str, Any], str]] = []


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in values.items()}


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    swapped = tuple(intake if i.name == "mediation_apply" else i for i in handlers.ALL)
    return {**app_config, "HANDLERS": swapped, "ATTACHMENTS_FOLDER": str(tmp_path / "files")}


@pytest.fixture(autouse=True)
def _fresh_seen():
    SEEN.clear()


def run_worker(app) -> None:
    from rq import SimpleWorker

    queue = app.extensions["rq"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def up_to_the_phone(wechat) -> str:
    """From the first message to the phone prompt of a contract dispute."""
    first = wechat.say("我要申请调解，合同纠纷，对方欠我大概20万")
    assert "是否签订书面合同" in first  # type and amount both came from the first message
    assert "对方单位" in wechat.say("是的")
    assert "纠纷经过" in wechat.say("ABC Co., Ltd.")
    assert "发生日期" in wechat.say("对方拖欠货款，多次催要未果；地址：广西路 1-3 号。")
    assert "回访时间" in wechat.say("昨天")
    assert "面谈时间" in wechat.say("下午3点")
    return wechat.say("明天上午10点")


def test_every_kind_from_first_message_to_stored_attachments(app, wechat, sandbox_calls):
    assert "联系电话" in up_to_the_phone(wechat)
    # An image sent while the phone is asked is attached, said so, and the prompt repeated.
    status, body = wechat.send("image", MediaId="img-contract-1", PicUrl="http://x/1.jpg")
    assert status == 200 and "已收到图片" in body and "共 1 个附件" in body and "联系电话" in body
    assert "希望的帮助" in wechat.say("138 1234 5678")
    evidence = wechat.say("调解、法律咨询")
    assert "已收到 1 个附件" in evidence and "完成" in evidence
    status, body = wechat.send("voice", MediaId="voice-contract-2", Format="amr", Recognition="")
    assert "已收到语音" in body and "共 2 个附件" in body
    consent = wechat.say("完成")
    assert "个人信息使用说明" in consent and "同意" in consent
    summary = wechat.say("同意")
    for shown in (
        "合同纠纷",  # the option's label, not its value
        "大概20万（200,000 元）",
        "是否签订书面合同：是",
        "ABC Co., Ltd.",  # as typed: case, commas and spaces kept
        "对方拖欠货款，多次催要未果；地址：广西路 1-3 号。",
        "回访时间：15:00",
        "138****5678",
        "调解、法律咨询",
        "2 个附件",
    ):
        assert shown in summary, (shown, summary)
    for raw in ("contract", "True", "13812345678", "mediate", "Decimal"):
        assert raw not in summary
    done = wechat.say("1")
    assert "申请已提交" in done
    record = OutboundMessage.query.filter_by(kind="intake").one()
    values, key = SEEN[-1]
    today = local_now(current_app.config).date()
    assert values["dispute"] == "contract" and values["wanted"] == ["mediate", "advice"]
    assert values["amount"] == Money(Decimal("200000"), "大概20万")
    assert values["written"] is True and values["phone"] == "13812345678"
    assert values["counterparty"] == "ABC Co., Ltd."
    assert values["happened"] == today - timedelta(days=1)
    assert values["meet_at"].date() == today + timedelta(days=1) and values["meet_at"].hour == 10
    assert [(m.type, m.media_id) for m in values["evidence"]] == [
        ("image", "img-contract-1"),
        ("voice", "voice-contract-2"),
    ]
    assert all(isinstance(m, MediaItem) for m in values["evidence"])
    assert isinstance(values["consent"], Consent) and values["consent"].version == "2026-12-v1"
    assert "staff" not in values  # a labour-only slot was never asked
    submission = FormSubmission.query.one()
    assert submission.key == key and submission.record_ref == f"T{record.id}"
    assert submission.reply == done and submission.consent_version == "2026-12-v1"
    assert submission.consent_at is not None
    # The attachments wait for the worker, then are fetched from WeChat and stored.
    rows = Attachment.query.order_by(Attachment.id).all()
    assert [(r.owner_kind, r.owner_id, r.status) for r in rows] == [
        ("intake_test", f"T{record.id}", "pending")
    ] * 2
    run_worker(app)
    folder = Path(current_app.config["ATTACHMENTS_FOLDER"])
    for row in Attachment.query.order_by(Attachment.id):
        assert row.status == "stored" and row.fetched_at is not None and row.error == ""
        data = (folder / row.stored_path).read_bytes()
        assert len(data) == row.size and row.media_id.encode() in data
    image, voice = Attachment.query.order_by(Attachment.id).all()
    assert (image.content_type, voice.content_type) == ("image/jpeg", "audio/amr")
    assert image.stored_path.endswith(".jpg") and voice.stored_path.endswith(".amr")
    fetched = [c["query"]["media_id"] for c in sandbox_calls.list("media/get")]
    assert fetched == ["img-contract-1", "voice-contract-2"]


def test_a_repeated_confirmation_gets_the_same_record_and_reply(app, wechat):
    up_to_the_phone(wechat)
    for text in ("13812345678", "1", "完成", "同意"):
        wechat.say(text)
    key = f"bot:dialogue:{wechat.openid}"
    redis = app.extensions["redis"]
    before = redis.get(key)  # the state at the confirmation
    first = wechat.say("1")
    assert "申请已提交" in first
    # The member confirms again (a double tap): the same reply, nothing new.
    assert wechat.say("1") == first
    # The state was not saved after the submission (a crash, a lost write): confirming
    # the same run again gives the same record and the same reply.
    redis.set(key, before)
    assert wechat.say("1") == first
    # WeChat's retry of one delivery is answered from the ledger, also the same.
    xml = text_xml(wechat.openid, "1", msg_id="770077")
    redis.set(key, before)
    assert wechat.post(xml) == wechat.post(xml)
    assert OutboundMessage.query.filter_by(kind="intake").count() == 1
    assert FormSubmission.query.count() == 1 and len(SEEN) == 1


def test_an_edit_that_flips_a_condition_drops_and_asks(app, wechat):
    up_to_the_phone(wechat)
    for text in ("13812345678", "1", "完成", "同意"):
        summary = wechat.say(text)
    assert "涉及金额" in summary and "是否签订书面合同" in summary
    assert "纠纷类型" in wechat.say("改纠纷类型")
    # Labour instead of contract: the amount and the contract question no longer apply,
    # and the head count is now required, so it is asked before confirming again.
    asked = wechat.say("劳动纠纷")
    assert "涉及人数" in asked and "请核对" not in asked
    summary = wechat.say("大概30人")
    assert "劳动纠纷" in summary and "涉及人数：大概30人" in summary
    assert "涉及金额" not in summary and "是否签订书面合同" not in summary
    wechat.say("1")
    values, _ = SEEN[-1]
    assert values["staff"] == Number(Decimal(30), "大概30人")
    assert "amount" not in values and "written" not in values


def test_refusing_consent_ends_politely_with_alternatives(app, wechat):
    up_to_the_phone(wechat)
    wechat.send("image", MediaId="img-refused-1", PicUrl="http://x/1.jpg")
    for text in ("13812345678", "1", "完成"):
        wechat.say(text)
    declined = wechat.say("不同意")
    assert "没有提交" in declined and current_app.config["ORG_PHONE"] in declined
    assert "人工" in declined
    state = DialogueState.from_json(app.extensions["redis"].get(f"bot:dialogue:{wechat.openid}"))
    assert state.active_form is None and state.values == {}
    assert "申请已提交" not in wechat.say("1")  # nothing is waiting to be confirmed
    assert OutboundMessage.query.filter_by(kind="intake").count() == 0
    assert Attachment.query.count() == 0 and FormSubmission.query.count() == 0


def test_a_phone_number_is_not_a_company_name(app, wechat):
    wechat.say("我要申请调解，合同纠纷，对方欠我12.5万元")
    wechat.say("没有")
    refused = wechat.say("1381234")
    assert "不能只是一串数字" in refused and "对方单位" in refused
    asked = wechat.say("13812345678")
    assert "是您的手机号吗" in asked
    kept = wechat.say("1")
    assert "已记下您的联系电话" in kept and "对方单位" in kept
    wechat.say("华兴五金有限公司")
    for text in ("货款没付", "昨天", "下午3点"):
        wechat.say(text)
    # The phone was kept from the earlier answer: it is not asked again.
    assert "希望的帮助" in wechat.say("后天上午9点")
    for text in ("3", "没有", "同意"):
        summary = wechat.say(text)
    assert "12.5万元" in summary and "138****5678" in summary and "律师代理" in summary


def test_a_phone_number_the_member_disowns_is_asked_for_again(app, wechat):
    wechat.say("我要申请调解，合同纠纷，对方欠我20万")
    wechat.say("没有")
    wechat.say("13812345678")
    again = wechat.say("不是")
    assert "电话号码" in again and "对方单位" in again
    assert (
        "phone"
        not in DialogueState.from_json(
            app.extensions["redis"].get(f"bot:dialogue:{wechat.openid}")
        ).values
    )


def test_a_validator_may_end_the_form(app, wechat):
    wechat.say("我要申请调解，劳动纠纷")
    wechat.say("5")
    assert "已取消" in wechat.say("本会")
    assert "没有正在办理" in wechat.say("取消")


def test_money_needs_a_unit_and_three_failures_offer_help(app, wechat):
    wechat.say("我要申请调解，合同纠纷")
    assert "单位" in wechat.say("20")
    wechat.say("很多")
    stuck = wechat.say("不知道")
    assert "人工" in stuck and "取消" in stuck


def test_choices_are_matched_by_name_then_number(app, wechat):
    asked = wechat.say("我要申请调解")
    assert "1. 合同纠纷" in asked and "3. 知识产权纠纷" in asked
    assert "列表里只有 3 项" in wechat.say("7")
    assert "涉及人数" in wechat.say("劳动纠纷")  # the name (no number needed)


def test_an_old_state_record_is_dropped_not_crashed_on(app, wechat):
    redis = app.extensions["redis"]
    old = {"version": 1, "active_form": "intake_test", "values": {"_prefill": {}}}
    redis.set(f"bot:dialogue:{wechat.openid}", json.dumps(old))
    assert "商会助手" in wechat.say("你好")
    damaged = {"version": 2, "active_form": "intake_test", "values": ["not", "a", "dict"]}
    assert DialogueState.from_json(json.dumps(damaged)) == DialogueState()


def test_the_same_request_in_a_new_run_is_recognised_not_recorded_twice(app, wechat):
    for _ in range(2):
        up_to_the_phone(wechat)
        for text in ("13812345678", "1", "完成", "同意"):
            wechat.say(text)
        last = wechat.say("1")
    record = OutboundMessage.query.filter_by(kind="intake").one()
    assert "已经提交过" in last and f"T{record.id}" in last
    assert OutboundMessage.query.filter_by(kind="intake").count() == 1 and len(SEEN) == 1


def test_a_phone_kept_by_a_consent_word_and_an_option_after_a_negation(app, wechat):
    wechat.say("我要申请调解，合同纠纷，对方欠我20万")
    wechat.say("没有")
    assert "是您的手机号吗" in wechat.say("13812345678")
    kept = wechat.say("同意")  # any yes the forms know keeps it
    assert "已记下您的联系电话" in kept and "对方单位" in kept
    from bot.dialogue.forms.choices import mentioned_all

    assert [o.value for o in mentioned_all(list(DISPUTES), "没有合同只有工资纠纷")] == ["labour"]
