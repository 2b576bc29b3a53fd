"""Fixtures: a real Redis server, a real database (SQLite file or TEST_DATABASE_URL),
the WeChat API sandbox over HTTP, a ``wechat`` driver that talks to the webhook with signed
XML, and (for the tests of the zero-configuration default) the embedded Redis of an instance
folder of the test's own. Rows come from tests/factories.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_redis import factories

from bot import create_app, warm_up
from bot.dev.chat import reply_text
from bot.dev.embedded import EmbeddedRedis, redis_server_binary
from bot.dev.embedded import embedded_redis as embedded_redis_of
from bot.extensions import db
from bot.settings import ENV_NAMES
from bot.wechat.simulate import Signer, event_xml, message_xml, text_xml

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN = "test-token"
APP_ID = "wx-test-app"

ROOT = Path(__file__).resolve().parent.parent
# The development sets are not part of the repository: CI lays them beside the clone
# (``EVAL_DIR`` overrides). Tests that measure against them skip when they are absent, so a
# clone with nothing beside it still passes ``make test``.
EVAL_DIR = Path(os.environ.get("EVAL_DIR") or ROOT.parent.joinpath("shared", "eval"))


def eval_set(name: str) -> Path:
    """The development set ``name`` (e.g. ``kb_dev.tsv``), or skip the test with a reason."""
    path = EVAL_DIR / name
    if not path.is_file():
        pytest.skip(f"development set {path} is absent (it is laid beside the clone in CI)")
    return path


redis_server = factories.redis_proc(executable=redis_server_binary(), port=None)
redisdb = factories.redisdb("redis_server")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The host's configuration must not leak into tests (Flask's own conftest does this).
    for name in (*ENV_NAMES, "FLASK_ENV", "FLASK_APP"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[str]:
    """The WeChat API sandbox on a free port; yields its root URL."""
    from bot.dev.sandbox import make_sandbox_server

    server = make_sandbox_server("127.0.0.1", 0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.port}/"
    server.shutdown()


@pytest.fixture
def sandbox_calls(sandbox: str) -> Iterator[SandboxCalls]:
    requests.post(sandbox + "_sandbox/reset", timeout=5)
    yield SandboxCalls(sandbox)


class SandboxCalls:
    def __init__(self, root: str) -> None:
        self.root = root

    def list(self, path: str = "") -> list[dict]:
        import json

        resp = requests.get(self.root + "_sandbox/calls", params={"path": path}, timeout=5)
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

    def fault(self, path: str, errcode: int | None = None, times: int = 1, **extra) -> None:
        body = {"path": path, "times": times, **extra}
        if errcode is not None:
            body["errcode"] = errcode
        requests.post(self.root + "_sandbox/faults", json=body, timeout=5).raise_for_status()


def database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def redis_url(redis_server, redisdb) -> str:
    return f"redis://{redis_server.host}:{redis_server.port}/0"


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    """An instance folder of the test's own (``create_app(instance_path=...)``); not created."""
    return tmp_path / "instance"


@pytest.fixture
def embedded_redis(instance_path: Path) -> Iterator[EmbeddedRedis]:
    """The embedded Redis of ``instance_path``, started as ``make run`` starts it; stopped after.
    (The factory never starts it: an app with no REDIS_URL only points at it.)"""
    server = embedded_redis_of(instance_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_config(tmp_path: Path, redis_url: str, sandbox: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "test-app-secret",
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": sandbox + "cgi-bin/",
        "DATABASE_URL": database_url(tmp_path),
        "REDIS_URL": redis_url,
    }


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_starter_knowledge()
        warm_up(app)
        yield app
        app.extensions["webhook"].flusher.stop()
        app.extensions["kb"].stop()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def load_starter_knowledge() -> None:
    from bot.kb import entries as knowledge

    knowledge.import_entries(db.session, knowledge.read_files())
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class WeChat:
    """Plays WeChat's servers: signs (and encrypts) messages and posts them to /wechat."""

    def __init__(self, client, openid: str = "o-member-1", encrypt: bool = False) -> None:
        self.client = client
        self.openid = openid
        self.encrypt = encrypt
        self.signer = Signer(TOKEN, APP_ID, AES_KEY)

    def post(self, xml: str, *, encrypt: bool | None = None, **query_kw):
        enc = self.encrypt if encrypt is None else encrypt
        query, body = self.signer.request(xml, openid=self.openid, encrypt=enc, **query_kw)
        response = self.client.post(
            "/wechat", query_string=query, data=body, content_type="text/xml"
        )
        text = response.get_data(as_text=True)
        if enc and response.status_code == 200 and text != "success":
            text = self.signer.decrypt_reply(text, query)
        return response.status_code, text

    def say(self, content: str, **kw) -> str:
        status, body = self.post(text_xml(self.openid, content, **kw))
        assert status == 200, body
        return reply_text(body)

    def event(self, event: str, key: str = "", **kw) -> str:
        status, body = self.post(event_xml(self.openid, event, key, **kw))
        assert status == 200, body
        return reply_text(body)

    def send(self, msg_type: str, **fields) -> tuple[int, str]:
        return self.post(message_xml(self.openid, msg_type, **fields))


@pytest.fixture
def wechat(client) -> WeChat:
    return WeChat(client)


@pytest.fixture
def live_server(app):
    """Serve ``app`` over real HTTP on a free port (for browser tests); yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser build); one per
    test module, each test opening its own context (no cookie carries over)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield browser
        finally:
            browser.close()
