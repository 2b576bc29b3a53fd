"""The Redis side of one delivery: replay and retry detection, the user lock, state I/O.

A turn costs two Redis round trips: :meth:`Ledger.begin` (nonce, de-duplication claim,
user lock, dialogue state, pending-reply flag) and :meth:`Ledger.finish` (stored reply,
new state, lock release, conversation log, push window). Both are pipelines, which is what
keeps the greeting path near the bare echo webhook's throughput.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from bot.channel import Inbound

PENDING = "\x00pending"

# Delete the lock only if we still own it: after a stall past its TTL it may be someone else's.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass
class Begin:
    kind: str  # "new", "retry" (same message again) or "replay" (nonce reused for another)
    state_raw: str | None = None
    lock_token: str | None = None
    has_pending: bool = False
    more: str | None = None


class Ledger:
    def __init__(
        self,
        client: redis.Redis,
        *,
        dedup_ttl: int,
        nonce_ttl: int,
        state_ttl: int,
        windows: dict[str, tuple[int, int]],
    ) -> None:
        self.r = client
        self.dedup_ttl = dedup_ttl
        self.nonce_ttl = nonce_ttl
        self.state_ttl = state_ttl
        self.windows = windows
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def dedup_key(message: Inbound) -> str:
        return f"bot:dedup:{message.dedup_key}"

    def begin(self, message: Inbound, timestamp: str, nonce: str, lock_wait: float) -> Begin:
        """Claim the message and the user; load the user's state. One round trip when free."""
        dkey = self.dedup_key(message)
        nkey = f"bot:nonce:{timestamp}:{nonce}"
        token = secrets.token_hex(8)
        user = message.openid
        pipe = self.r.pipeline(transaction=False)
        pipe.set(nkey, dkey, nx=True, ex=self.nonce_ttl)
        pipe.set(dkey, PENDING, nx=True, ex=self.dedup_ttl)
        pipe.set(f"bot:lock:user:{user}", token, nx=True, px=15000)
        pipe.get(f"bot:dialogue:{user}")
        pipe.exists(f"bot:pending:{user}")
        pipe.get(f"bot:more:{user}")
        nonce_new, claimed, locked, state_raw, pending, more = pipe.execute()
        if not nonce_new and self.r.get(nkey) != dkey:
            if locked:
                self._release(keys=[f"bot:lock:user:{user}"], args=[token])
            return Begin("replay")
        if not claimed:
            if locked:
                self._release(keys=[f"bot:lock:user:{user}"], args=[token])
            return Begin("retry")
        if not locked:
            # Another message of this user is being handled (another process, perhaps):
            # wait for it, so the two turns never both write the state.
            deadline = time.monotonic() + lock_wait
            while not locked and time.monotonic() < deadline:
                time.sleep(0.01)
                locked = self.r.set(f"bot:lock:user:{user}", token, nx=True, px=15000)
            if not locked:
                raise TimeoutError("user lock busy")
            state_raw = self.r.get(f"bot:dialogue:{user}")
        return Begin("new", state_raw, token, bool(pending), more)

    def stored_reply(self, message: Inbound, wait: float) -> str | None:
        """A retry's answer: the first delivery's reply, waiting up to ``wait`` seconds for it."""
        dkey = self.dedup_key(message)
        deadline = time.monotonic() + wait
        while True:
            value = self.r.get(dkey)
            if value is not None and value != PENDING:
                return str(value)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def finish(
        self,
        message: Inbound,
        begin: Begin,
        *,
        reply: str,
        state_raw: str | None,
        log_entry: dict[str, Any] | None,
        more: str | None,
        clear_pending: bool = False,
    ) -> None:
        """Store the reply for retries, write the state, release the lock, log: one round trip."""
        user = message.openid
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.dedup_key(message), reply, ex=self.dedup_ttl)
        skey = f"bot:dialogue:{user}"
        if state_raw is None:
            pipe.delete(skey)
        elif state_raw != begin.state_raw:
            pipe.set(skey, state_raw, ex=self.state_ttl)
        if more is not None and more != begin.more:
            if more:
                pipe.set(f"bot:more:{user}", more, ex=self.state_ttl)
            else:
                pipe.delete(f"bot:more:{user}")
        if clear_pending:
            pipe.delete(f"bot:pending:{user}")
        window = window_kind(message)
        if window:
            count, ttl = self.windows[window]
            pipe.set(f"bot:win:{window}:{user}", count, ex=ttl)
        if log_entry is not None:
            pipe.rpush("bot:convlog", json.dumps(log_entry, ensure_ascii=False))
        self._release(keys=[f"bot:lock:user:{user}"], args=[begin.lock_token or ""], client=pipe)
        pipe.execute()

    def abandon(self, message: Inbound, begin: Begin) -> None:
        """Give the message back (the turn failed before a reply): a retry may try again."""
        pipe = self.r.pipeline(transaction=False)
        pipe.delete(self.dedup_key(message))
        lock = f"bot:lock:user:{message.openid}"
        self._release(keys=[lock], args=[begin.lock_token or ""], client=pipe)
        pipe.execute()


def window_kind(message: Inbound) -> str | None:
    """Which customer-service window a message opens (WeChat's 客服消息 rules)."""
    if message.msg_type != "event":
        return "msg"
    if message.event in ("click", "subscribe", "scan"):
        return "evt"
    return None
