"""Small talk and navigation: greeting, goodbye, help, contact, out-of-scope, cancel, welcome.

No slots and no records, except that a follow or scan is recorded by ``bot.wechat.events``
before these run, and that a declined message is noted for the unanswered queue (curators
see what members asked that the bot does not serve).
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Turn
from bot.kb import answers

greeting = Intent(
    "greeting",
    description="打招呼、寒暄、致谢",
    commands=("你好", "您好", "谢谢"),
    light=True,
    interrupts_forms=True,
)
goodbye = Intent("goodbye", description="道别、结束对话", light=True, interrupts_forms=True)
help_ = Intent(
    "help",
    description="能做什么、菜单",
    commands=("帮助", "菜单", "help", "?"),
    menu_keys=("HELP",),
    light=True,
    interrupts_forms=True,
)
# Reached by its menu key and exact commands only: the classifier does not learn it.
contact = Intent(
    "contact",
    description="联系方式",
    commands=("联系我们", "联系方式"),
    menu_keys=("CONTACT",),
    light=True,
    classified=False,
)
out_of_scope = Intent(
    "out_of_scope", description="与商会服务无关", light=True, interrupts_forms=True
)
cancel = Intent("cancel", description="退出当前流程", commands=("取消", "退出", "算了", "不办了"))
welcome = Intent(
    "welcome", description="关注与扫码", events=("subscribe", "scan"), classified=False
)
back = Intent(
    "back",
    description="返回上一步",
    commands=("返回", "上一步", "退回", "上一个"),
    classified=False,
)

_THANKS = ("谢", "感谢", "辛苦", "好的", "收到", "ok", "👍")


# A greeting or a goodbye is a few characters; a longer message that the knowledge base is
# sure about is a question wrapped in politeness (「您好，想问下法治体检收费吗，谢谢」).
_POLITE_MAX_CHARS = 6


def sure_answer(turn: Turn) -> Reply | None:
    """The knowledge base's answer when it is sure of one, else None.

    The intent model judges words, the knowledge base judges topics: a question it is sure
    about is answered, whatever the classifier made of its phrasing (「贷款难怎么办」 reads
    like small talk to the model, yet the base answers it well).
    """
    if turn.kb is None or not turn.text or turn.message.msg_type == "event":
        return None
    found = answers.answer(turn.kb, turn.text, org=turn.org, links=turn.links)
    return found.reply if found.band == "answer" else None


def _wrapped_question(turn: Turn) -> Reply | None:
    if len(turn.text) <= _POLITE_MAX_CHARS:
        return None
    return sure_answer(turn)


@greeting.handler
def say_hello(turn: Turn) -> Reply:
    if (question := _wrapped_question(turn)) is not None:
        return question
    if any(word in turn.text for word in _THANKS):
        return Reply("replies/greeting/thanks.txt")
    return Reply("replies/greeting/hello.txt")


@goodbye.handler
def say_goodbye(turn: Turn) -> Reply:
    if (question := _wrapped_question(turn)) is not None:
        return question
    return Reply("replies/goodbye/bye.txt")


@help_.handler
def show_help(turn: Turn) -> Reply:
    return Reply("replies/help/menu.txt")


@contact.handler
def show_contact(turn: Turn) -> Reply:
    return Reply("replies/contact/info.txt")


@out_of_scope.handler
def decline(turn: Turn) -> Reply:
    if (sure := sure_answer(turn)) is not None:
        return sure
    if turn.text:
        # Declined, or misrouted here: either way curators should see it beside the
        # knowledge base's misses (written off the request path, like those).
        turn.note(
            "unanswered",
            normalised=turn.text[:255],
            text=turn.message.text[:2000],
            topic=None,
            score=None,
        )
    return Reply("replies/out_of_scope/decline.txt")


@cancel.handler
def leave_form(turn: Turn) -> Reply:
    if turn.state.active_form is None:
        return Reply("replies/cancel/nothing.txt")
    form = turn.state.active_form
    turn.state = DialogueState(handoff=turn.state.handoff)
    if form == "training_cancel":
        # Leaving the cancellation keeps the registration: "已取消" would say the opposite.
        return Reply("replies/training_cancel/kept.txt")
    return Reply("replies/cancel/cancelled.txt")


@welcome.handler
def welcome_member(turn: Turn) -> Reply:
    if turn.message.event == "scan":
        return Reply("replies/welcome/scan.txt")
    return Reply("replies/welcome/subscribe.txt")


@back.handler
def go_back(turn: Turn) -> Reply:
    if turn.forms is None or not turn.forms.active(turn.state):
        return Reply("replies/common/nothing_to_go_back.txt")
    reply: Reply = turn.forms.back(turn)
    return reply
