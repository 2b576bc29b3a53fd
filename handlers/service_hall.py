"""服务大厅: every service the bot handles, numbered; a number starts that service's form.

The menu has room for five buttons under 服务大厅 and there are more services than that, so
its first button lists them all here (and ``help`` names them too).
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn

intent = Intent(
    "service_hall",
    description="服务大厅：全部服务",
    menu_keys=("SERVICE_HALL",),
    commands=("服务大厅", "全部服务", "所有服务", "服务列表"),
    classified=False,
)

# The forms a number starts, in the order the list shows them (replies/service_hall/list.txt).
SERVICES = (
    "mediation_apply",
    "appeal_submit",
    "legal_checkup",
    "financing_request",
    "proxy_service",
    "investment_lead",
)


@intent.handler
def hall(turn: Turn) -> Reply:
    choice = turn.entities.get("choice")
    if choice is not None and turn.state.choice_kind == intent.name:
        offered = list(turn.state.choices)
        turn.state.choices, turn.state.choice_kind = [], None
        number = int(choice)
        if not 1 <= number <= len(offered):
            return Reply("replies/service_hall/bad_choice.txt", {"count": len(offered)})
        return turn.start_form(offered[number - 1])
    available = [name for name in SERVICES if turn.forms is not None and name in turn.forms.forms]
    turn.state.choices = available
    turn.state.choice_kind = intent.name
    return Reply("replies/service_hall/list.txt", {"services": available})
