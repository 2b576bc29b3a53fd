"""Services whose forms are still being built: each answers with how to get it done today.

Each intent moves to a module of its own (``handlers/<intent>.py``) when its form lands.
"""

from __future__ import annotations

from bot.dispatch import Intent, Turn
from bot.replies import Reply


def _interim(name: str, description: str, *, menu: tuple[str, ...] = (),
             commands: tuple[str, ...] = ()) -> Intent:
    intent = Intent(name, description=description, menu_keys=menu, commands=commands)

    def reply(turn: Turn) -> Reply:
        return Reply(f"replies/{name}/intro.txt")

    reply.__name__ = f"{name}_intro"
    intent.handler(reply)
    return intent


human_agent = _interim("human_agent", "人工客服", commands=("人工", "转人工", "人工客服"))
training_list = _interim("training_list", "近期培训", menu=("TRAINING_LIST",))
training_register = _interim("training_register", "培训报名", menu=("TRAINING_REGISTER",))
training_mine = _interim("training_mine", "我的报名", menu=("TRAINING_MINE",),
                         commands=("我的报名",))
training_cancel = _interim("training_cancel", "取消报名", commands=("取消报名",))
mediation_apply = _interim("mediation_apply", "调解申请", menu=("MEDIATION_APPLY",),
                           commands=("申请调解",))
appeal_submit = _interim("appeal_submit", "诉求反映", menu=("APPEAL_SUBMIT",),
                         commands=("反映问题",))
case_status = _interim("case_status", "办理进度", menu=("CASE_STATUS",), commands=("查进度",))
member_bind = _interim("member_bind", "会员认证", menu=("MEMBER_BIND",),
                       commands=("会员认证",))
