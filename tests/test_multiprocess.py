"""The bot as deployed: several gunicorn worker processes, an RQ worker, shared Redis.

These tests start real processes (gunicorn serving ``tests.apps.effect_app`` with the
repository's gunicorn.conf.py, ``flask worker``, API clients in separate Python processes, a
throw-away redis-server) and talk to them over HTTP with signed XML, as WeChat's servers do.
They check what only shows with more than one process: one side effect for WeChat's
concurrent retries, the reply budget handing a slow turn to the worker, one access-token
refresh for many processes, and degraded answers when Redis dies.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import xmltodict

from bot import create_app
from bot.config import ORG_PHONE
from bot.dev.embedded import redis_server_binary
from bot.extensions import db
from bot.jobs.convlog import mask_phones
from bot.models import ConversationLog, OutboundMessage
from bot.settings import ENV_NAMES
from bot.wechat.simulate import Signer, next_msg_id, text_xml
from tests.conftest import AES_KEY, APP_ID, TOKEN

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
APP_SECRET = "test-app-secret"
WSGI_APP = "tests.apps.effect_app:app"
WORKERS = 3
EFFECT = "副作用"
DEGRADED_NOTE = "暂时不可用"  # from templates/replies/common/degraded.txt
WORKER_IDLE_SECONDS = 6.5  # past the 5-second socket timeout of the RQ connection (bot.jobs.queue)
RQ_LOST_REDIS = "could not connect to Redis instance"  # rq.worker's log line


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, diagnose: Callable[[], str] = str
) -> Any:
    """Poll ``predicate`` every 50 ms until it answers something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{diagnose()}")
        time.sleep(0.05)


class Proc:
    """A subprocess in its own session (so its children can be stopped with it), logging to a
    file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.started_at = time.monotonic()  # fixtures may move it to "ready"
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last lines of {self.name} log ({self.log}) ---\n{text}"

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.popen.returncode}\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the process group, wait, then SIGKILL whatever is left of the group."""
        pgid = self.popen.pid  # start_new_session: the group is the one we created
        if self.popen.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)  # stragglers: workers, work horses, schedulers
        except ProcessLookupError:
            pass
        if self.popen.poll() is None:
            self.popen.wait(timeout=5)
        self._log_file.close()


def bot_env(settings: dict[str, Any], **extra: Any) -> dict[str, str]:
    """The environment for a bot process: the host's minus any bot setting, plus ours."""
    env = {k: v for k, v in os.environ.items() if k not in (*ENV_NAMES, "FLASK_APP", "FLASK_ENV")}
    env.update({k: str(v) for k, v in settings.items()})
    env.update({k: str(v) for k, v in extra.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Gunicorn(Proc):
    """``gunicorn`` as deployed: run from the repository, so gunicorn.conf.py (the
    post_worker_init warm-up, timeouts) applies; --workers and --bind override it."""

    def __init__(self, name: str, env: dict[str, str], tmp: Path, workers: int = WORKERS) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            str(BIN / "gunicorn"),
            "--workers", str(workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--graceful-timeout", "5",
            # The default control socket is one path per host user: several gunicorns at
            # once (ours, `make run`, the benchmark) would take it from each other.
            "--no-control-socket",
            WSGI_APP,
        ]  # fmt: skip
        super().__init__(name, cmd, env, tmp / f"{name}.log")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every worker serves (gunicorn.conf.py's post_worker_init warm-up is done) and
        /healthz answers 200. Probes go in concurrent rounds, each held 0.2 s by the app, so
        that they spread over the free workers."""
        seen: set[int] = set()

        def probe() -> int | None:
            try:
                response = requests.get(self.url + "/_test/whoami", timeout=5)
                return int(response.json()["pid"]) if response.status_code == 200 else None
            except (requests.RequestException, ValueError, KeyError):
                return None

        def ready() -> bool:
            self.check_alive()
            seen.update(pid for pid in concurrently([probe] * self.workers) if pid)
            if len(seen) < self.workers:
                return False
            try:
                return requests.get(self.url + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout, f"{self.name} to serve", lambda: f"{seen=}\n{self.tail()}")


def start_gunicorn(
    name: str, settings: dict[str, Any], tmp: Path, workers: int = WORKERS, **extra: Any
) -> Gunicorn:
    server = Gunicorn(name, bot_env(settings, **extra), tmp, workers)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# -- the member's side -----------------------------------------------------------------------


@dataclass
class Delivery:
    status: int
    body: str  # the HTTP body as sent
    xml: str  # the reply XML (decrypted in AES mode), or the body when it is not a reply
    elapsed: float

    @property
    def reply(self) -> dict[str, Any]:
        data: dict[str, Any] = xmltodict.parse(self.xml)["xml"]
        return data

    @property
    def content(self) -> str:
        return str(self.reply["Content"])


class Member:
    """Plays WeChat's servers for one member: each delivery has its own nonce and signature."""

    def __init__(self, url: str, openid: str = "", encrypt: bool = False) -> None:
        self.url = url
        self.openid = openid or f"o-mp-{uuid.uuid4().hex[:12]}"
        self.encrypt = encrypt
        self.signer = Signer(TOKEN, APP_ID, AES_KEY)

    def deliver(self, xml: str, timeout: float = 15.0) -> Delivery:
        query, body = self.signer.request(xml, openid=self.openid, encrypt=self.encrypt)
        started = time.perf_counter()
        response = requests.post(
            self.url + "/wechat",
            params=query,
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=timeout,
        )
        elapsed = time.perf_counter() - started
        text = response.content.decode("utf-8")
        plain = text
        if self.encrypt and response.status_code == 200 and text != "success":
            plain = self.signer.decrypt_reply(text, query)
        return Delivery(response.status_code, text, plain, elapsed)

    def say(self, content: str, msg_id: str | None = None) -> Delivery:
        return self.deliver(text_xml(self.openid, content, msg_id=msg_id or next_msg_id()))


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together by a barrier; answers in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a concurrent call hung"
    return results


# -- fixtures --------------------------------------------------------------------------------


@dataclass
class Deployment:
    """The settings every bot process gets, and an app in this process on the same database."""

    settings: dict[str, Any]
    app: Any
    tmp: Path

    def rows(self, model: Any, **filters: Any) -> list[dict[str, Any]]:
        with self.app.app_context():
            found = db.session.query(model).filter_by(**filters).order_by(model.id).all()
            return [
                {c.name: getattr(row, c.name) for c in model.__table__.columns} for row in found
            ]

    def count(self, model: Any, **filters: Any) -> int:
        return len(self.rows(model, **filters))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, redis_server, sandbox) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("multiprocess")
    settings = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": sandbox + "cgi-bin/",
        "REDIS_URL": f"redis://{redis_server.host}:{redis_server.port}/0",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'bot.db'}",
        "SECRET_KEY": "test-secret",
    }
    app = create_app({**settings, "TESTING": True})
    with app.app_context():
        db.create_all()
    yield Deployment(settings, app, tmp)
    with app.app_context():
        if os.environ.get("TEST_DATABASE_URL"):
            db.drop_all()  # the bot processes using it are stopped by now
        db.engine.dispose()


@pytest.fixture(scope="module")
def web(deployment: Deployment) -> Iterator[Gunicorn]:
    """3 workers, the default reply budget (4 s), a 1-second side effect."""
    server = start_gunicorn("gunicorn-web", deployment.settings, deployment.tmp, EFFECT_SLEEP=1.0)
    yield server
    server.stop()


@pytest.fixture
def slow_web(deployment: Deployment, redisdb, redis_server) -> Iterator[tuple[Gunicorn, Proc]]:
    """2 workers with a 1-second reply budget and a 2.5-second side effect, and a
    ``flask worker`` for the pushes (started first, so the two boot side by side; stopped
    before redisdb flushes the Redis it is registered in)."""
    from rq import Worker

    extra = {"EFFECT_SLEEP": 2.5, "WEBHOOK_REPLY_BUDGET_SECONDS": 1}
    cmd = [str(BIN / "flask"), "--app", WSGI_APP, "worker"]
    env = bot_env(deployment.settings, **extra)
    worker = Proc("flask-worker", cmd, env, deployment.tmp / "flask-worker.log")
    server: Gunicorn | None = None
    connection = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        server = start_gunicorn(
            "gunicorn-slow", deployment.settings, deployment.tmp, workers=2, **extra
        )

        def registered() -> list[Any]:
            worker.check_alive()
            return Worker.all(connection=connection)

        workers = wait_for(registered, 60, "the RQ worker to register", worker.tail)
        born = min(w.birth_date.timestamp() for w in workers if w.birth_date)
        worker.started_at = time.monotonic() - (time.time() - born)  # when it began listening
        yield server, worker
    finally:
        connection.close()
        if server is not None:
            server.stop()
        worker.stop()


# -- 1. WeChat's retries, concurrently, in different processes --------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_three_concurrent_deliveries_have_one_effect_and_one_reply(
    web: Gunicorn, deployment: Deployment, redisdb, encrypt: bool
):
    member = Member(web.url, encrypt=encrypt)
    msg_id = next_msg_id()
    xml = text_xml(member.openid, EFFECT, msg_id=msg_id)  # one message: same MsgId, CreateTime

    deliveries = concurrently([lambda: member.deliver(xml)] * 3)

    for delivery in deliveries:
        assert delivery.status == 200, f"{delivery.body}\n{web.tail()}"
        assert delivery.xml != "success", f"a delivery got no reply: {deliveries}\n{web.tail()}"
    assert [d.content for d in deliveries] == [f"已处理 {msg_id}"] * 3
    assert len({d.xml for d in deliveries}) == 1, "retries must get the stored reply itself"
    assert all(d.reply["ToUserName"] == member.openid for d in deliveries)
    assert all(d.reply["MsgType"] == "text" for d in deliveries)
    if encrypt:
        assert all("已处理" not in d.body for d in deliveries)
        assert len({d.body for d in deliveries}) == 3  # sealed per request (own nonce)
    assert deployment.count(OutboundMessage, kind="test", detail=msg_id) == 1

    later = member.deliver(xml)  # WeChat's next retry, after the turn has finished
    assert later.status == 200
    assert later.xml == deliveries[0].xml
    assert later.elapsed < 1.0, "a finished message's retry answers from the ledger"
    assert deployment.count(OutboundMessage, kind="test", detail=msg_id) == 1


# -- 2. The reply budget: success now, a customer-service push later -------------------------


@pytest.mark.slow
def test_slow_handler_answers_success_then_pushes(
    slow_web: tuple[Gunicorn, Proc], deployment: Deployment, sandbox_calls
):
    web, push_worker = slow_web
    member = Member(web.url)
    hello = member.say("你好")  # opens the 48-hour customer-service window
    assert hello.status == 200 and "商会助手" in hello.content, web.tail()

    # Let the worker idle past one socket timeout of the queue's Redis client (5 s, bot.jobs.queue)
    # first, as a real worker does between pushes: its blocking dequeue must keep listening.
    # (Usually no wait at all: gunicorn's warm-up takes longer than this.)
    idle_left = push_worker.started_at + WORKER_IDLE_SECONDS - time.monotonic()
    if idle_left > 0:
        time.sleep(idle_left)

    msg_id = next_msg_id()
    slow = member.say(EFFECT, msg_id=msg_id)
    assert slow.status == 200
    assert slow.body == "success", web.tail()
    assert slow.elapsed < 1.5, f"answered after {slow.elapsed:.2f} s; the budget is 1 s"

    expected = f"已处理 {msg_id}"

    def pushes() -> list[dict[str, Any]]:
        return [
            call
            for call in sandbox_calls.list("message/custom/send")
            if isinstance(call["body"], dict) and call["body"].get("touser") == member.openid
        ]

    def delivered() -> bool:
        return any(
            call["errcode"] == 0
            and call["body"].get("msgtype") == "text"
            and call["body"].get("text", {}).get("content") == expected
            for call in pushes()
        )

    def diagnose() -> str:
        return f"pushes: {pushes()}\n{web.tail(20)}\n{push_worker.tail(30)}"

    wait_for(delivered, 10, f"a customer-service push of {expected!r}", diagnose)
    assert deployment.count(OutboundMessage, kind="test", detail=msg_id) == 1
    wait_for(
        lambda: deployment.count(OutboundMessage, kind="custom", openid=member.openid) >= 1,
        5,
        "the worker to record the push",
        diagnose,
    )
    assert deployment.count(OutboundMessage, kind="custom", openid=member.openid) == 1
    assert len(pushes()) == 1, diagnose()
    # An idle worker whose blocking read times out takes it for a lost connection and stops
    # listening for 1, 2, 4 … up to 60 s: a push enqueued meanwhile waits that long.
    lost = [line for line in push_worker.log_text().splitlines() if RQ_LOST_REDIS in line]
    assert not lost, (
        "the RQ worker's blocking dequeue timed out while Redis was up, and the worker backed "
        "off instead of listening:\n" + "\n".join(lost)
    )


# -- 3. One shared access token, refreshed once ----------------------------------------------


# The child: one BotWeChatClient on the shared Redis (configured like bot.extensions.make_redis,
# whose import would cost a second); reads {"openid", "text", "start_at"} lines on stdin and
# answers one JSON line per send on stdout.
API_CLIENT_SCRIPT = """
import json, os, sys, time
import redis
from bot.wechat.api import BotWeChatClient

settings = json.loads(sys.argv[1])
store = redis.Redis.from_url(settings["REDIS_URL"], decode_responses=True,
                             socket_connect_timeout=0.5, socket_timeout=2.0)
client = BotWeChatClient(settings["WECHAT_APP_ID"], settings["WECHAT_APP_SECRET"],
                         base=settings["WECHAT_API_BASE"], client=store)
print(json.dumps({"ready": os.getpid()}), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    delay = command["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    try:
        result = client.message.send_text(command["openid"], command["text"])
        answer = {"ok": True, "result": dict(result)}
    except Exception as exc:
        answer = {"ok": False, "error": repr(exc)}
    print(json.dumps({**answer, "pid": os.getpid()}), flush=True)
"""


class ApiProcess:
    """A separate Python process holding one API client, driven over stdin/stdout."""

    def __init__(self, name: str, settings: dict[str, Any], tmp: Path) -> None:
        self.name = name
        self.stderr_path = tmp / f"{name}.log"
        self._stderr = self.stderr_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-c", API_CLIENT_SCRIPT, json.dumps(settings)],
            cwd=ROOT,
            env=bot_env({}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = json.loads(self.lines.get(timeout=timeout))
            return answer
        except queue.Empty:
            log = self.stderr_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"{self.name} did not answer in {timeout:g} s\n{log}")

    def wait_ready(self, timeout: float = 20.0) -> None:
        assert "ready" in self._next(timeout)

    def submit(self, openid: str, text: str, start_at: float = 0.0) -> None:
        assert self.popen.stdin is not None
        command = {"openid": openid, "text": text, "start_at": start_at}
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()

    def result(self, timeout: float = 20.0) -> dict[str, Any]:
        return self._next(timeout)

    def send(self, openid: str, text: str) -> dict[str, Any]:
        self.submit(openid, text)
        return self.result()

    def stop(self) -> None:
        if self.popen.stdin is not None:
            try:
                self.popen.stdin.close()  # end of commands: the loop ends, the child exits
            except OSError:
                pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._stderr.close()


@pytest.mark.slow
def test_token_refresh_on_40001_with_two_processes(
    deployment: Deployment, redisdb, sandbox: str, sandbox_calls, tmp_path: Path
):
    redisdb.flushdb()  # no access token left in Redis by an earlier test
    openid = f"o-mp-{uuid.uuid4().hex[:12]}"

    def fetches() -> int:
        return sum(1 for c in sandbox_calls.list("/cgi-bin/token") if c["errcode"] == 0)

    def stats() -> dict[str, Any]:
        return dict(requests.get(sandbox + "_sandbox/stats", timeout=5).json())

    def sends() -> list[dict[str, Any]]:
        return sandbox_calls.list("message/custom/send")

    a = ApiProcess("api-a", deployment.settings, tmp_path)
    b = ApiProcess("api-b", deployment.settings, tmp_path)
    try:
        a.wait_ready()
        b.wait_ready()
        first = a.send(openid, "一")
        assert first["ok"] and first["result"]["errcode"] == 0, first
        assert stats()["token_fetches"] == 1

        sandbox_calls.fault("message/custom/send", 40001, times=1)
        second = b.send(openid, "二")
        assert second["ok"] and second["result"]["errcode"] == 0, second
        assert second["pid"] != first["pid"]
        after_b = fetches()
        assert after_b <= 2, sandbox_calls.list("/cgi-bin/token")

        third = a.send(openid, "三")
        assert third["ok"] and third["result"]["errcode"] == 0, third
        assert fetches() == after_b, "process A must use the token B refreshed, not fetch one"
        assert [(c["body"]["text"]["content"], c["errcode"]) for c in sends()] == [
            ("一", 0),
            ("二", 40001),
            ("二", 0),
            ("三", 0),
        ]
        tokens_used = [c["query"]["access_token"] for c in sends()]
        assert tokens_used[3] == tokens_used[2], "A sends with the token B's retry used"

        # Every token expires at once; both processes meet 42001 together: one refresh.
        requests.post(sandbox + "_sandbox/expire-tokens", timeout=5).raise_for_status()
        before = fetches()
        start_at = time.time() + 0.3
        a.submit(openid, "四", start_at)
        b.submit(openid, "五", start_at)
        fourth, fifth = a.result(), b.result()
        assert fourth["ok"] and fourth["result"]["errcode"] == 0, fourth
        assert fifth["ok"] and fifth["result"]["errcode"] == 0, fifth
        assert fetches() == before + 1, sandbox_calls.list("/cgi-bin/token")
        final = {c["body"]["text"]["content"]: c["errcode"] for c in sends()}
        assert final["四"] == 0 and final["五"] == 0  # the last call for each text succeeded
        assert stats()["token_fetches"] <= 3
    finally:
        a.stop()
        b.stop()


# -- 4. Redis dies: degraded answers, /healthz 503, the log written directly ------------------


@pytest.fixture
def lonely_redis(tmp_path: Path) -> Iterator[tuple[Proc, str]]:
    """A redis-server of this test's own, which the test may kill."""
    port = free_port()
    cmd = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(tmp_path),
    ]  # fmt: skip
    server = Proc("redis-server", cmd, bot_env({}), tmp_path / "redis.log")
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)

    def answers() -> bool:
        server.check_alive()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_for(answers, 10, "the redis-server", server.tail)
        client.close()
        yield server, f"redis://127.0.0.1:{port}/0"
    finally:
        server.stop()


@pytest.mark.slow
def test_redis_down_degraded_reply_and_healthz_503(
    deployment: Deployment, lonely_redis: tuple[Proc, str], tmp_path: Path
):
    redis_proc, redis_url = lonely_redis
    settings = {**deployment.settings, "REDIS_URL": redis_url}
    web = start_gunicorn("gunicorn-lonely", settings, tmp_path, workers=2)
    try:
        health = requests.get(web.url + "/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["redis"] == "ok", health.text
        hello = Member(web.url).say("你好")
        assert hello.status == 200 and "商会助手" in hello.content, web.tail()
        assert DEGRADED_NOTE not in hello.content

        redis_proc.popen.kill()  # SIGKILL: a crash, no goodbye to the clients
        redis_proc.popen.wait(timeout=5)

        # One member per gunicorn worker, at once, so every worker meets the dead Redis.
        members = [Member(web.url) for _ in range(web.workers)]
        deliveries = concurrently([lambda m=m: m.say("你好") for m in members])
        for member, delivery in zip(members, deliveries, strict=True):
            assert delivery.status == 200, f"{delivery.status} {delivery.body}\n{web.tail()}"
            assert delivery.elapsed < 3.0, (
                f"degraded reply took {delivery.elapsed:.2f} s\n{web.tail()}"
            )
            assert delivery.reply["ToUserName"] == member.openid
            assert "商会助手" in delivery.content and DEGRADED_NOTE in delivery.content, (
                delivery.content
            )

        started = time.perf_counter()
        health = requests.get(web.url + "/healthz", timeout=10)
        health_elapsed = time.perf_counter() - started
        assert health.status_code == 503, f"{health.status_code} {health.text}"
        checks = health.json()
        assert checks["redis"] != "ok" and checks["db"] == "ok", checks
        assert checks["status"] == "degraded"
        assert health_elapsed < 5.0, f"/healthz took {health_elapsed:.2f} s"

        # Degraded mode writes the conversation log directly (no Redis list to batch it in).
        for member, delivery in zip(members, deliveries, strict=True):
            rows = deployment.rows(ConversationLog, openid=member.openid)
            assert len(rows) == 1, rows
            assert rows[0]["msg_type"] == "text" and rows[0]["text"] == "你好"
            # The log masks phones, all but the organisation's own (it is in this reply).
            assert rows[0]["reply"] == mask_phones(delivery.content, keep=(ORG_PHONE,))
            assert rows[0]["intent"] == "greeting" and rows[0]["delivery"] == "passive"
    finally:
        web.stop()


@pytest.mark.slow
def test_log_lines_redis_held_when_it_died_are_saved(
    deployment: Deployment, lonely_redis: tuple[Proc, str], tmp_path: Path
):
    """Issue 16: with no job worker draining the list, every line sits in Redis; Redis is
    killed; the web processes find it gone and write the lines they handed it, once each."""
    redis_proc, redis_url = lonely_redis
    settings = {**deployment.settings, "REDIS_URL": redis_url}
    web = start_gunicorn(
        "gunicorn-lostlog", settings, tmp_path, workers=2, CONVLOG_FLUSH_SECONDS=0.2
    )
    try:
        members = [Member(web.url) for _ in range(12)]
        for member in members:
            assert member.say("你好").status == 200
        assert all(deployment.count(ConversationLog, openid=m.openid) == 0 for m in members)
        redis_proc.popen.kill()
        redis_proc.popen.wait(timeout=5)

        def saved() -> bool:
            return all(deployment.count(ConversationLog, openid=m.openid) == 1 for m in members)

        wait_for(saved, 15, "the kept log lines to be saved", web.tail)
        time.sleep(1.5)  # a later look must not write them again
        assert all(deployment.count(ConversationLog, openid=m.openid) == 1 for m in members)
    finally:
        web.stop()


# -- 5. Slow clients do not stall everyone else -----------------------------------------------


def _stalled_connection(url: str, member: Member) -> socket.socket:
    """A POST that announces 100 more body bytes than it sends, then goes quiet."""
    query, body = member.signer.request(text_xml(member.openid, "你好"), openid=member.openid)
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    path = "/wechat?" + "&".join(f"{k}={v}" for k, v in query.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {len(body) + 100}\r\n\r\n"
    )
    conn.sendall(head.encode() + body)
    return conn


def test_slow_clients_do_not_stall_other_members(deployment: Deployment, redisdb):
    """Issue 16: two (here four) connections that never finish their body stalled both sync
    workers for 30 s. Under the bounded threaded worker every other member is answered at
    once, the stalled connections are dropped after the read limit, and no worker dies."""
    web = start_gunicorn(
        "gunicorn-slowloris", deployment.settings, deployment.tmp, workers=2,
        WEB_READ_TIMEOUT_SECONDS=2,
    )  # fmt: skip
    try:
        stalled = [_stalled_connection(web.url, Member(web.url)) for _ in range(4)]
        time.sleep(0.3)  # the stalled requests are inside the workers now
        replies = concurrently([lambda: Member(web.url).say("你好") for _ in range(6)])
        assert all(r.status == 200 and r.elapsed < 1.5 for r in replies), [
            (r.status, round(r.elapsed, 2)) for r in replies
        ]
        # After the read limit each stalled connection is closed (or told 400), not kept.
        for conn in stalled:
            conn.settimeout(10)
            started = time.monotonic()
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            assert time.monotonic() - started < 8
            assert data == b"" or data.startswith(b"HTTP/1.1 400")
            conn.close()
        assert "WORKER TIMEOUT" not in web.log_text()
        assert Member(web.url).say("你好").status == 200
    finally:
        web.stop()
