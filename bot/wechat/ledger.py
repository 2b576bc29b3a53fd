"""The Redis side of one delivery: replay and retry detection, the user lock, state I/O.

A turn costs two Redis round trips: :meth:`Ledger.begin` (nonce, de-duplication claim,
user lock, dialogue state, pending-reply flag) and :meth:`Ledger.finish` (stored reply,
new state, lock release, conversation log, push window), each one Lua script.

A member with nothing in progress (most messages) takes the fast path instead:
:meth:`Ledger.claim` is sent before the reply is worked out and read after it, and
:meth:`Ledger.complete` is posted without waiting. Redis runs them while the worker works,
so the worker seldom sleeps on Redis; that is what keeps the greeting path near the bare
echo webhook's throughput.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from bot.wechat.channel import Inbound
from bot.wechat.fastredis import Reply, Script, ScriptClient

PENDING = "\x00pending"
# One encoder for every log line: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False)

# One round trip to start a turn. Replay: the nonce was seen with another message. Retry:
# this message is already claimed. Otherwise claim it, try the user's lock, read the state.
# (All keys of one user and message; a Redis Cluster would need hash tags here.)
_BEGIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'replay'} end
end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4]) then return {'retry'} end
local locked = redis.call('SET', KEYS[3], ARGV[5], 'NX', 'PX', ARGV[6]) and 1 or 0
return {'new', locked, redis.call('GET', KEYS[4]) or '', redis.call('EXISTS', KEYS[5]),
        redis.call('GET', KEYS[6]) or ''}
"""

# One round trip to end a turn: the stored reply for retries, the new state, the rest of a
# long reply, the push window, the log line, and the lock (only if still ours: after a
# stall past its TTL it may be someone else's).
_FINISH = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] == 'set' then redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
elseif ARGV[3] == 'del' then redis.call('DEL', KEYS[2]) end
if ARGV[6] == 'set' then redis.call('SET', KEYS[3], ARGV[7], 'EX', ARGV[5])
elseif ARGV[6] == 'del' then redis.call('DEL', KEYS[3]) end
if ARGV[8] == '1' then redis.call('DEL', KEYS[4]) end
if ARGV[9] ~= '' then redis.call('SET', KEYS[5], ARGV[9], 'EX', ARGV[10]) end
if ARGV[11] ~= '' then redis.call('RPUSH', KEYS[6], ARGV[11]) end
if redis.call('GET', KEYS[7]) == ARGV[12] then redis.call('DEL', KEYS[7]) end
return 1
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
LOCK_MS = 15000


@dataclass
class Begin:
    kind: str  # "new", "retry" (same message again) or "replay" (nonce reused for another)
    state_raw: str | None = None
    lock_token: str | None = None
    has_pending: bool = False
    more: str | None = None


class Claim:
    """A fast-path claim in flight (see :meth:`Ledger.claim`)."""

    def __init__(
        self, fast: ScriptClient, answers: list[Reply], dkey: str, lock: str, token: str
    ) -> None:
        self._fast = fast
        self._answers = answers
        self.dkey = dkey  # the message's and the user's keys, for the closing write
        self.lock = lock
        self._granted: bool | None = None
        self.begin = Begin("new", None, token)  # what an abandoned turn gives back

    def granted(self) -> bool:
        """Whether the member was free and the message and the user are now ours.

        If not, what the claim did take (the message, the lock) is given back before any
        later command on this connection, so the two-step path starts from a clean slate.
        """
        if self._granted is None:
            fresh, claimed, locked, busy = (answer.result() for answer in self._answers)
            self._granted = bool(fresh and claimed and locked and not busy)
            if not self._granted:
                undo: list[tuple[Any, ...]] = []
                if claimed:
                    undo.append(("DEL", self.dkey))
                if locked:  # ours: set by this claim a moment ago
                    undo.append(("DEL", self.lock))
                if undo:
                    self._fast.post(undo)
        return self._granted


class Ledger:
    def __init__(
        self,
        client: redis.Redis,
        *,
        dedup_ttl: int,
        nonce_ttl: int,
        state_ttl: int,
        windows: dict[str, tuple[int, int]],
        redis_url: str,
    ) -> None:
        self.r = client
        self.dedup_ttl = dedup_ttl
        self.nonce_ttl = nonce_ttl
        self.state_ttl = state_ttl
        self.windows = windows
        # The per-message scripts go through the lean client (see bot.wechat.fastredis); it sends
        # EVALSHA and falls back to EVAL when Redis lost its script cache.
        # Told every log line handed to Redis (the web process keeps the last minute of them
        # in case Redis loses them: bot.jobs.convlog.RecentLines).
        self.keep_line: Callable[[str], None] = _ignore
        fast = self._fast = ScriptClient(redis_url)
        self._begin = Script(fast, _BEGIN)
        self._finish = Script(fast, _FINISH)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def dedup_key(message: Inbound) -> str:
        return f"bot:dedup:{message.dedup_key}"

    def begin(self, message: Inbound, timestamp: str, nonce: str, lock_wait: float) -> Begin:
        """Claim the message and the user; load the user's state. One round trip when free."""
        dkey = self.dedup_key(message)
        token = secrets.token_hex(8)
        user = message.openid
        lock = f"bot:lock:user:{user}"
        result = self._begin(
            keys=[
                f"bot:nonce:{timestamp}:{nonce}",
                dkey,
                lock,
                f"bot:dialogue:{user}",
                f"bot:pending:{user}",
                f"bot:more:{user}",
            ],
            args=[dkey, self.nonce_ttl, PENDING, self.dedup_ttl, token, LOCK_MS],
        )
        if result[0] != "new":
            return Begin(str(result[0]))
        _, locked, state_raw, pending, more = result
        if not locked:
            # Another message of this user is being handled (another process, perhaps):
            # wait for it, so the two turns never both write the state.
            deadline = time.monotonic() + lock_wait
            while not locked and time.monotonic() < deadline:
                time.sleep(0.01)
                locked = self.r.set(lock, token, nx=True, px=LOCK_MS)
            if not locked:
                self.r.delete(dkey)  # let WeChat's retry try again
                raise TimeoutError("user lock busy")
            state_raw = self.r.get(f"bot:dialogue:{user}") or ""
        return Begin("new", state_raw or None, token, bool(pending), more or None)

    def claim(self, message: Inbound, timestamp: str, nonce: str) -> Claim:
        """Start claiming the message and the user if the member has nothing in progress.

        Sent at once and answered by :meth:`Claim.granted`, so the caller can work out the
        reply while Redis runs it. Plain commands, no script (Redis spends ~12 µs setting
        up each script call): the nonce (unless seen), the message (unless claimed), the
        user's lock (unless held), then, with the lock held, whether the member has a
        state, a held reply or the rest of a long answer. Granted, the turn ends with
        :meth:`complete`; refused, the two-step path takes over (and decides between a
        replay, a retry and a busy member).
        """
        user = message.openid
        dkey = self.dedup_key(message)
        lock = f"bot:lock:user:{user}"
        token = secrets.token_hex(8)
        answers = self._fast.send_commands(
            [
                ("SET", f"bot:nonce:{timestamp}:{nonce}", dkey, "NX", "EX", self.nonce_ttl),
                ("SET", dkey, PENDING, "NX", "EX", self.dedup_ttl),
                ("SET", lock, token, "NX", "PX", LOCK_MS),
                ("EXISTS", f"bot:dialogue:{user}", f"bot:pending:{user}", f"bot:more:{user}"),
            ]
        )
        return Claim(self._fast, answers, dkey, lock, token)

    def complete(
        self,
        message: Inbound,
        claim: Claim,
        *,
        reply: str,
        state_raw: str | None,
        more: str,
        log_entry: dict[str, Any],
    ) -> None:
        """End a granted fast-path turn: the stored reply, the state, the rest of a long
        answer, the push window, the log line, and the lock, in one write that nobody waits
        for (a failure is logged with the next command's answer).

        Plain commands rather than a script (Redis spends ~12 µs setting up each script
        call). The lock is deleted without comparing its token: it was taken by this turn's
        claim a moment ago and lives 15 s.
        """
        user = message.openid
        commands: list[tuple[Any, ...]] = [("SET", claim.dkey, reply, "EX", self.dedup_ttl)]
        if state_raw:
            commands.append(("SET", f"bot:dialogue:{user}", state_raw, "EX", self.state_ttl))
        if more:
            commands.append(("SET", f"bot:more:{user}", more, "EX", self.state_ttl))
        window = window_kind(message)
        if window:
            count, ttl = self.windows[window]
            commands.append(("SET", f"bot:win:{window}:{user}", count, "EX", ttl))
        line = _JSON.encode(log_entry)
        self.keep_line(line)
        commands.append(("RPUSH", "bot:convlog", line))
        commands.append(("DEL", claim.lock))
        self._fast.post(commands)

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
        if state_raw is None:
            state_op = "del" if begin.state_raw is not None else "keep"
        else:
            state_op = "set" if state_raw != begin.state_raw else "keep"
        if more is None or more == (begin.more or ""):
            more_op = "keep"
        else:
            more_op = "set" if more else "del"
        window = window_kind(message)
        count, ttl = self.windows[window] if window else ("", "")
        line = _JSON.encode(log_entry) if log_entry is not None else ""
        if line:
            self.keep_line(line)
        self._finish(
            keys=[
                self.dedup_key(message),
                f"bot:dialogue:{user}",
                f"bot:more:{user}",
                f"bot:pending:{user}",
                f"bot:win:{window or 'none'}:{user}",
                "bot:convlog",
                f"bot:lock:user:{user}",
            ],
            args=[
                reply,
                self.dedup_ttl,
                state_op,
                state_raw or "",
                self.state_ttl,
                more_op,
                more or "",
                "1" if clear_pending else "0",
                count,
                ttl,
                line,
                begin.lock_token or "",
            ],
        )

    def abandon(self, message: Inbound, begin: Begin) -> None:
        """Give the message back (the turn failed before a reply): a retry may try again."""
        self.r.delete(self.dedup_key(message))
        self._release(keys=[f"bot:lock:user:{message.openid}"], args=[begin.lock_token or ""])


def window_kind(message: Inbound) -> str | None:
    """Which customer-service window a message opens (WeChat's 客服消息 rules)."""
    if message.msg_type != "event":
        return "msg"
    if message.event in ("click", "subscribe", "scan"):
        return "evt"
    return None


def _ignore(line: str) -> None:
    """The default ``keep_line``: nobody keeps the lines."""
