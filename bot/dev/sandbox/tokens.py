"""Access tokens: ``token`` and ``stable_token``."""

from __future__ import annotations

import time
from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import (
    Answer,
    Body,
    Endpoints,
    Query,
    require_str,
)
from bot.dev.sandbox.state import TOKEN_LIFETIME, SandboxState

endpoints = Endpoints()


def _check_credentials(grant_type: Any, appid: Any, secret: Any) -> None:
    if grant_type != "client_credential":
        raise ApiError(40002)
    require_str(appid, 40013)
    require_str(secret, 40125)


@endpoints.route("token")
def _token(state: SandboxState, query: Query, body: Body) -> Answer:
    _check_credentials(query.get("grant_type"), query.get("appid"), query.get("secret"))
    return {"access_token": state.issue_token(), "expires_in": TOKEN_LIFETIME}


@endpoints.route("stable_token", post=True)
def _stable_token(state: SandboxState, query: Query, body: Body) -> Answer:
    _check_credentials(body.get("grant_type"), body.get("appid"), body.get("secret"))
    force_refresh = body.get("force_refresh", False)
    if not isinstance(force_refresh, bool):
        raise ApiError(47001)
    now = time.time()
    token = state.stable_token
    if (
        force_refresh
        or token is None
        or token not in state.tokens
        or now - state.tokens[token] >= TOKEN_LIFETIME
    ):
        token = state.issue_token()
        state.stable_token = token
    # The stable token is handed out again until it lapses, so report its remaining lifetime.
    remaining = max(1, int(TOKEN_LIFETIME - (now - state.tokens[token])))
    return {"access_token": token, "expires_in": remaining}
