"""The webhook's lean Redis client: sent and posted commands, answers read back in order."""

from __future__ import annotations

import logging
import time

import pytest
import redis

from bot.wechat.fastredis import Script, ScriptClient

ECHO = "return ARGV[1]"
FAIL = "return redis.error_reply('boom')"


@pytest.fixture
def fast(redis_url: str) -> ScriptClient:
    return ScriptClient(redis_url)


def test_sent_scripts_are_answered_in_any_order_of_asking(fast: ScriptClient) -> None:
    echo = Script(fast, ECHO)
    first, second = fast.send(echo, [], ["a"]), fast.send(echo, [], ["b"])
    # Asking for the second reads the first on the way; each keeps its own answer.
    assert second.result() == "b"
    assert first.result() == "a"


def test_posted_commands_run_in_order_before_the_next_answer(
    fast: ScriptClient, redisdb: redis.Redis
) -> None:
    fast.post([("SET", "k", "1"), ("RPUSH", "log", "x"), ("INCR", "k")])
    # Redis answers a connection in order: the next script sees what was posted.
    assert Script(fast, "return redis.call('GET', KEYS[1])")(["k"], []) == "2"
    assert redisdb.lrange("log", 0, -1) == [b"x"]


def test_a_failed_posted_command_is_logged_not_raised(
    fast: ScriptClient, redisdb: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    redisdb.set("text", "not a number")
    fast.post([("INCR", "text"), ("SET", "after", "1")])
    with caplog.at_level(logging.ERROR, logger="bot.wechat.fastredis"):
        assert Script(fast, ECHO)([], ["ok"]) == "ok"
    assert "posted Redis command failed" in caplog.text
    assert redisdb.get("after") == b"1"  # the rest of the write still happened


def test_script_errors_raise_response_error(fast: ScriptClient) -> None:
    with pytest.raises(redis.ResponseError, match="boom"):
        Script(fast, FAIL)([], [])
    assert Script(fast, ECHO)([], ["still usable"]) == "still usable"


def test_lost_script_cache_is_refilled(fast: ScriptClient, redisdb: redis.Redis) -> None:
    echo = Script(fast, ECHO)
    assert echo([], ["once"]) == "once"
    redisdb.script_flush()  # what a Redis restart does to cached scripts
    assert echo([], ["again"]) == "again"


def test_unreachable_redis_is_a_connection_error() -> None:
    fast = ScriptClient("redis://127.0.0.1:1/0", timeout=0.2)
    with pytest.raises(redis.ConnectionError):
        Script(fast, ECHO)([], ["x"])
    with pytest.raises(redis.ConnectionError):
        fast.post([("SET", "k", "v")])


def test_a_dropped_connection_fails_once_then_reconnects(
    fast: ScriptClient, redisdb: redis.Redis
) -> None:
    echo = Script(fast, ECHO)
    assert echo([], ["warm"]) == "warm"
    redisdb.client_kill_filter(_type="normal", skipme=True)  # Redis drops our connection
    with pytest.raises(redis.ConnectionError):
        echo([], ["lost"])
    assert echo([], ["back"]) == "back"


def test_a_connection_redis_closed_while_idle_is_replaced_unnoticed(
    fast: ScriptClient, redisdb: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.wechat.fastredis.IDLE_CHECK_SECONDS", 0.2)
    echo = Script(fast, ECHO)
    fast.post([("SET", "k", "1")])  # its answer is still unread when Redis hangs up
    assert echo([], ["before"]) == "before"
    fast.post([("SET", "k", "2")])
    redisdb.config_set("timeout", 1)  # Redis closes connections idle for a second
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(redisdb.client_list(_type="normal")) > 1:
            time.sleep(0.1)
        assert len(redisdb.client_list(_type="normal")) == 1  # ours is gone (redisdb's stays)
        assert echo([], ["after"]) == "after"  # a member's message would not notice
    finally:
        redisdb.config_set("timeout", 0)
