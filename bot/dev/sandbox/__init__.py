"""Local sandbox that stands in for the WeChat official-account server API.

Real WeChat (``https://api.weixin.qq.com/cgi-bin/``) cannot be reached from development and
test machines, so this package serves a small, independent Flask app that answers the subset
of ``/cgi-bin/`` calls the bot makes, over real HTTP, with WeChat-shaped JSON answers.
Point the bot's ``WECHAT_API_BASE`` at ``http://127.0.0.1:<port>/cgi-bin/`` to use it.

Besides answering, the sandbox:

* records every ``/cgi-bin/*`` call (``GET /_sandbox/calls`` as JSON lines), so end-to-end
  tests and people can see exactly what the bot sent;
* can inject failures (``POST /_sandbox/faults``): WeChat error codes, HTTP 5xx answers and
  slow answers, so retry and error paths can be exercised;
* can invalidate all issued access tokens (``POST /_sandbox/expire-tokens``) to exercise the
  bot's token-refresh logic;
* shows the recorded calls on a self-refreshing HTML page (``GET /_sandbox/``,
  ``templates/dev/sandbox.html``).

All state lives in memory in one lock-protected :class:`SandboxState`
(``app.extensions["sandbox"]``); the server is meant to run as a single threaded process.

Modules: :mod:`~bot.dev.sandbox.state` (the memory), :mod:`~bot.dev.sandbox.faults`,
:mod:`~bot.dev.sandbox.api` (recording and dispatch of ``/cgi-bin/`` calls) with one module per
API family (``tokens``, ``messages``, ``tags``, ``users``, ``menu``, ``media``, declared through
:mod:`~bot.dev.sandbox.registry`), :mod:`~bot.dev.sandbox.control` (``/_sandbox/``) and
:mod:`~bot.dev.sandbox.server`.

Run it with ``flask wechat sandbox --port 5001`` or ``python -m bot.dev.sandbox --port 5001``.
"""

from __future__ import annotations

from bot.dev.sandbox.server import create_sandbox_app, make_sandbox_server, run_sandbox
from bot.dev.sandbox.state import SandboxState

__all__ = [
    "SandboxState",
    "create_sandbox_app",
    "make_sandbox_server",
    "run_sandbox",
]
