"""Which option a member means: by name (normalised on both sides), then by number."""

from __future__ import annotations

import pytest

from bot.dialogue.forms.choices import Ambiguous, mentioned, pick, pick_many
from bot.dialogue.forms.spec import Choice
from bot.errors import Invalid

NINTH = Choice(
    "9",
    "新生代企业家培训班（第九期）（12月05日）",
    ("新生代企业家培训班（第九期）", "新生代企业家培训班"),
)
TENTH = Choice(
    "10",
    "新生代企业家培训班（第十期）（12月19日）",
    ("新生代企业家培训班（第十期）", "新生代企业家培训班"),
)
SALON = Choice("3", "第一期财务沙龙（12月08日）", ("第一期财务沙龙",))
SESSIONS = [NINTH, TENTH, SALON]


@pytest.mark.parametrize(
    "typed",
    [
        "新生代企业家培训班（第十期）",  # full-width brackets, as listed
        "新生代企业家培训班(第十期)",  # half-width, as phones often type them
        "新生代企业家培训班 第十期",
        "我报新生代企业家培训班（第十期）吧",  # the most specific name in the reply wins
    ],
)
def test_a_name_picks_its_option(typed):
    assert pick(SESSIONS, typed) is TENTH


def test_an_ordinal_inside_a_name_is_part_of_the_name():
    assert pick(SESSIONS, "第一期财务沙龙") is SALON  # not "the first one"
    assert pick(SESSIONS, "第一期") is SALON  # part of one name only


@pytest.mark.parametrize("typed,expected", [("2", TENTH), ("第二个", TENTH), ("选3", SALON)])
def test_a_number_only_when_the_whole_reply_is_one(typed, expected):
    assert pick(SESSIONS, typed) is expected


def test_numbers_follow_the_list_as_shown():
    offered = ["3", "9", "10"]  # shown in another order before
    assert pick(SESSIONS, "1", offered) is SALON
    with pytest.raises(Invalid, match="choice_gone"):
        pick(SESSIONS, "2", ["3", "99"])  # shown then, gone now
    with pytest.raises(Invalid, match="out_of_range"):
        pick(SESSIONS, "7")


def test_a_shared_name_is_answered_with_the_short_list():
    with pytest.raises(Ambiguous) as refusal:
        pick(SESSIONS, "新生代企业家培训班")
    assert refusal.value.context["matches"] == [(1, NINTH.label), (2, TENTH.label)]


def test_nothing_matching_is_refused():
    with pytest.raises(Invalid, match="invalid_choice"):
        pick(SESSIONS, "我的会员状态")


def test_several_may_be_picked():
    help_ = [Choice("a", "调解"), Choice("b", "法律咨询"), Choice("c", "律师代理")]
    assert [o.value for o in pick_many(help_, "1、3")] == ["a", "c"]
    assert [o.value for o in pick_many(help_, "调解和律师代理")] == ["a", "c"]
    assert [o.value for o in pick_many(help_, "法律咨询")] == ["b"]


def test_an_option_named_in_a_longer_message():
    disputes = [Choice("contract", "合同纠纷", ("合同", "货款")), Choice("labour", "劳动纠纷")]
    assert mentioned(disputes, "我要申请调解，合同纠纷，对方欠我20万").value == "contract"
    assert mentioned(disputes, "对方一直拖着货款不给").value == "contract"
    assert mentioned(disputes, "我要申请调解") is None
