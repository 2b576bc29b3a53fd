"""A WSGI app for the multi-process tests: the real bot plus one test-only intent.

``副作用`` runs a handler that sleeps ``EFFECT_SLEEP`` seconds (read at each call) and then
writes one ``OutboundMessage(kind="test")`` row through the turn's session: a side effect that
must happen exactly once per WeChat message however many times WeChat delivers it.

Serve with ``gunicorn tests.apps.effect_app:app`` (settings from the environment, as in
production); ``flask --app tests.apps.effect_app:app worker`` runs its job worker.
"""

from __future__ import annotations

import os
import time

import handlers
from bot import create_app
from bot.dialogue.intents import Intent
from bot.dialogue.replies import Reply
from bot.dialogue.turn import Turn
from bot.models import OutboundMessage

effect_test = Intent(
    "effect_test", description="测试用：带副作用的慢处理", commands=("副作用",), classified=False
)


@effect_test.handler
def record_effect(turn: Turn) -> Reply:
    time.sleep(float(os.environ.get("EFFECT_SLEEP", "0")))
    turn.db.add(OutboundMessage(kind="test", openid=turn.user_id, detail=turn.message.msg_id))
    return Reply(text=f"已处理 {turn.message.msg_id}")


EXTRA_INTENTS = (effect_test,)

app = create_app({"HANDLERS": handlers.ALL + EXTRA_INTENTS})


@app.get("/_test/whoami")
def whoami() -> dict[str, int]:
    """Which worker answered; held briefly so that concurrent probes spread over the workers
    (the tests wait until every worker has finished gunicorn's post_worker_init warm-up)."""
    time.sleep(0.2)
    return {"pid": os.getpid()}


@app.get("/_test/remote")
def remote() -> dict[str, str]:
    """The client as the app sees it (behind nginx: through ProxyFix)."""
    from flask import request

    return {"addr": str(request.remote_addr), "scheme": request.scheme, "host": request.host}
