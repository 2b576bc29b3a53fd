"""Services whose forms are still being built: each answers with how to get it done today.

Each intent moves to a module of its own (``handlers/<intent>.py``) when its form lands.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn


def _interim(
    name: str, description: str, *, menu: tuple[str, ...] = (), commands: tuple[str, ...] = ()
) -> Intent:
    intent = Intent(name, description=description, menu_keys=menu, commands=commands)

    def reply(turn: Turn) -> Reply:
        return Reply(f"replies/{name}/intro.txt")

    reply.__name__ = f"{name}_intro"
    intent.handler(reply)
    return intent


# Until the services issue: what the check-up is, and how to book it by phone.
legal_checkup = _interim("legal_checkup", "预约法治体检", commands=("预约法治体检",))
