"""The sandbox's memory: recorded calls, pending faults, tokens, users, tags, menu."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections import deque
from typing import Any

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.faults import Fault
from bot.dev.sandbox.platform import PlatformState

TOKEN_PATHS = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token"})
TOKEN_LIFETIME = 7200
# Bounded so a sandbox left running for days cannot grow without limit; old calls drop off.
MAX_RECORDED_CALLS = 20_000
FIRST_CUSTOM_TAG_ID = 100


class SandboxState:
    """All in-memory sandbox state. Every access must hold :attr:`lock`."""

    calls: deque[dict[str, Any]]
    faults: list[Fault]
    tokens: dict[str, float]
    expired_tokens: set[str]
    stable_token: str | None
    tags: dict[int, str]
    user_tags: dict[str, set[int]]
    users: dict[str, int]
    menu: dict[str, Any] | None
    mass_jobs: dict[int, str]
    platform: PlatformState

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything (callers other than ``__init__`` must hold the lock)."""
        self.calls = deque(maxlen=MAX_RECORDED_CALLS)
        self._next_call_id = 1
        self.faults = []
        # token -> issue time; tokens never lapse on their own, only via expire_tokens().
        self.tokens = {}
        # Remembered so that a stale token answers 42001 ("expired") rather than 40001.
        self.expired_tokens = set()
        self.stable_token = None
        # Real accounts always carry the system "星标组" tag (id 2); custom tags start at 100.
        self.tags = {2: "星标组"}
        self._next_tag_id = FIRST_CUSTOM_TAG_ID
        self.user_tags = {}
        # openid -> first-seen unix time, reported as subscribe_time; dict keeps insertion order.
        self.users = {}
        self.menu = None
        self._next_msg_id = 1000
        self._next_msg_data_id = 2_000_000_001
        self.mass_jobs = {}
        # Notice channels' rules: de-duplication, quotas, windows, time-outs, events.
        self.platform = PlatformState()

    # --- recording and faults -------------------------------------------------------------

    def record_call(
        self, method: str, path: str, query: dict[str, str], body: Any, body_error: str | None
    ) -> dict[str, Any]:
        """Append a call record; its answer fields are filled in once the call completes."""
        record: dict[str, Any] = {
            "id": self._next_call_id,
            # Taken under the lock, so records are in time order and ?since= never misses one.
            "time": time.time(),
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "errcode": None,
            "status": None,
        }
        # An empty body is normal (GET calls), so only real parse failures are noted.
        if body_error is not None and body_error != "empty":
            record["body_error"] = body_error
        self._next_call_id += 1
        self.calls.append(record)
        return record

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the oldest pending fault matching ``path``."""
        for index, fault in enumerate(self.faults):
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[index]
                return copy.copy(fault)
        return None

    # --- tokens ---------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = time.time()
        return token

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001)
        if token in self.tokens:
            return
        if token in self.expired_tokens:
            raise ApiError(42001)
        raise ApiError(40001)

    def expire_tokens(self) -> int:
        count = len(self.tokens)
        self.expired_tokens.update(self.tokens)
        self.tokens.clear()
        self.stable_token = None
        return count

    # --- users, tags, ids -----------------------------------------------------------------

    def see_user(self, openid: str) -> None:
        self.users.setdefault(openid, int(time.time()))

    def user_info(self, openid: str) -> dict[str, Any]:
        self.see_user(openid)
        # Mirrors today's WeChat answer: nickname/avatar are no longer disclosed.
        return {
            "subscribe": 1,
            "openid": openid,
            "nickname": "",
            "sex": 0,
            "language": "zh_CN",
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": "",
            "subscribe_time": self.users[openid],
            "remark": "",
            "groupid": 0,
            "tagid_list": sorted(self.user_tags.get(openid, ())),
            "subscribe_scene": "ADD_SCENE_OTHERS",
            "qr_scene": 0,
            "qr_scene_str": "",
        }

    def tag_members(self, tag_id: int) -> list[str]:
        return [openid for openid in self.users if tag_id in self.user_tags.get(openid, ())]

    def create_tag(self, name: str) -> int:
        tag_id = self._next_tag_id
        self._next_tag_id += 1
        self.tags[tag_id] = name
        return tag_id

    def next_msg_id(self) -> int:
        msg_id = self._next_msg_id
        self._next_msg_id += 1
        return msg_id

    def next_msg_data_id(self) -> int:
        msg_data_id = self._next_msg_data_id
        self._next_msg_data_id += 1
        return msg_data_id

    def stats(self) -> dict[str, Any]:
        token_fetches = sum(
            1
            for call in self.calls
            if call["path"] in TOKEN_PATHS and call["errcode"] == 0 and call["status"] == 200
        )
        return {
            "calls": len(self.calls),
            "token_fetches": token_fetches,
            "tokens_valid": len(self.tokens),
            "faults_pending": len(self.faults),
            "users": len(self.users),
            "tags": len(self.tags),
        }
