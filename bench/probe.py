"""``python -m bench.probe``: the running bot as a hostile client and a Redis outage meet it.

It starts a stack of its own on 127.0.0.1 (redis-server, the WeChat API sandbox, an SQLite
database made by ``flask init``, a ``flask worker``, the bot under gunicorn with the
project's gunicorn.conf.py, and a second bot with no AES key) in a temporary directory,
then, with a fixed seed and bounded in count and time:

- slow clients: 4 connections that announce more body than they send, 20 members meanwhile
  (and, beyond that, connections that trickle their body one byte at a time);
- hostile plaintext bodies, correctly signed (26 classes);
- hostile AES envelopes, correctly signed, and valid envelopes around every hostile class;
  some of them to the bot without a key too (the answers must not tell the two apart);
- bad signatures, stale timestamps, replayed nonces;
- odd URLs on the web side (ids beyond 64 bits, NUL in paths, queries and login fields);
- every console form found by crawling the console, posted without a valid CSRF token;
- a Redis outage (SIGKILL, ~10 s, restart on the same port) under a steady message rate.

It prints a table per part and writes ``bench/out/probe.json``. Exit status 0 when no
response was a 5xx (bar /healthz while Redis is down), no body leaked (exception class
names, whether an AES key is configured, a secret, an expanded entity, a read file), no
console form changed anything without a token and no log line was lost; 1 otherwise.
Every process it starts is stopped on the way out, Ctrl-C included. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit
from xml.etree import ElementTree

import redis
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.dev.embedded import redis_server_binary
from bot.settings import ENV_NAMES
from bot.wechat.channel import cdata, signature
from bot.wechat.simulate import Signer, event_xml, message_xml, text_xml

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent

SEED = 20261124
TOKEN = "probe-token-5f1c"
APP_ID = "wxprobe5f1c0000"
APP_SECRET = "probe-app-secret-5f1c"
AES_KEY = "ProbeAesKey0123456789abcdefghijklmnopqrstuv"  # 43 characters
AES_BYTES = base64.b64decode(AES_KEY + "=")
SECRET_KEY = "probe-secret-key-" + hashlib.sha256(str(SEED).encode()).hexdigest()[:24]
ADMIN_USER = "probe"
ADMIN_PASSWORD = "probe-pw-" + hashlib.sha256(b"probe" + str(SEED).encode()).hexdigest()[:12]
ACCOUNT = "gh_shanghui_dev"
assert len(AES_KEY) == 43 and len(AES_BYTES) == 32

# An internal entity's expansion contains MARKER; the request itself never does (the marker
# is split across two entities), so finding it in a reply means the entity was expanded.
MARK_A, MARK_B = "ZQXJ", "KVWP"
MARKER = MARK_A + MARK_B
FILE_MARKER = "ZQXJFILEKVWP"  # the content of a file an external entity points at

LIMIT = 64 * 1024  # WEBHOOK_MAX_BODY_BYTES
PER_CLASS = 120  # hostile plaintext bodies per class (26 classes: 3,120)
WRAPPED_PER_CLASS = 8  # valid AES envelopes around each hostile class
THREADS = 8
DEGRADED_NOTE = "暂时不可用"  # templates/replies/common/degraded.txt: a reply made without Redis
NORMAL_TEXTS = ("你好", "最近有什么培训", "法治体检收费吗", "怎么入会", "联系方式", "谢谢", "hello")

# -- what a body must not say ------------------------------------------------------------------
EXCEPTION_NAME = re.compile(
    r"Traceback \(most recent call last\)"
    r"|\b(?:[A-Z][a-z0-9]+){1,6}(?:Error|Exception)\b"
    r"|\b(?:KeyError|StopIteration|GeneratorExit|KeyboardInterrupt)\b"
    r"|\bexpat\b|\bsqlalchemy\b|\bsqlite3\b|\bpsycopg\b|\bwerkzeug\.exceptions\b"
)
AES_CONFIG = re.compile(
    r"(?i)\bAES\b|aes[_ -]?key|EncodingAESKey|encrypt\w*\s+(?:is\s+)?not\s+(?:configured|enabled"
    r"|supported)|no\s+(?:aes|encryption)\s+key|key\s+(?:is\s+)?(?:not\s+)?configured"
)
SECRETS = {
    "WECHAT_TOKEN": TOKEN,
    "WECHAT_APP_SECRET": APP_SECRET,
    "WECHAT_AES_KEY": AES_KEY,
    "SECRET_KEY": SECRET_KEY,
    "admin password": ADMIN_PASSWORD,
}
# Kinds of finding that make the exit status 1.
FAILING = {
    "5xx",
    "exception name",
    "aes config",
    "secret",
    "entity expanded",
    "file read",
    "external fetch",
    "lost log line",
    "change without csrf",
}


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` every 50 ms until it answers something truthy, or raise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Proc:
    """A subprocess in its own session (its children are stopped with it), logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
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

    def log_text(self, since: int = 0) -> str:
        with self.log.open("rb") as fh:
            fh.seek(since)
            return fh.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def tail(self, lines: int = 30) -> str:
        text = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last lines of {self.name} ({self.log}) ---\n{text}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the process group, wait, then SIGKILL whatever is left of the group."""
        pgid = self.popen.pid  # start_new_session: the group is the one we created
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)  # stragglers: workers, work horses
        if self.popen.poll() is None:
            self.popen.wait(timeout=5)
        self._log_file.close()


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            pids.append(int(entry.name))
    return sorted(pids)


class Stack:
    """redis-server, the API sandbox, the database, a job worker and gunicorn, all ours."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis_port = free_port()
        self.sandbox_port = free_port()
        self.web_port = free_port()
        self.nokey_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.db_path = tmp / "probe.db"
        self.redis: Proc | None = None
        self.procs: list[Proc] = []
        self.web: Proc | None = None
        self.worker: Proc | None = None
        self.settings = {
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE": f"http://127.0.0.1:{self.sandbox_port}/cgi-bin/",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "SECRET_KEY": SECRET_KEY,
        }
        env = {
            k: v for k, v in os.environ.items() if k not in (*ENV_NAMES, "FLASK_APP", "FLASK_ENV")
        }
        env.update(self.settings)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.env = env

    # -- redis ------------------------------------------------------------------------------
    def start_redis(self) -> None:
        cmd = [
            redis_server_binary(),
            "--port", str(self.redis_port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmp),
        ]  # fmt: skip
        self.redis = Proc("redis-server", cmd, self.env, self.tmp / "redis.log")
        client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.5)

        def answers() -> bool:
            assert self.redis is not None
            self.redis.check_alive()
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_for(answers, 10, "the redis-server")
        finally:
            client.close()

    def kill_redis(self) -> None:
        assert self.redis is not None
        self.redis.popen.kill()  # SIGKILL: a crash, no goodbye to the clients
        self.redis.popen.wait(timeout=5)
        self.redis.stop()

    def redis_client(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, socket_timeout=2, socket_connect_timeout=1)

    # -- the rest ---------------------------------------------------------------------------
    def flask(self, *args: str) -> list[str]:
        return [str(BIN / "flask"), "--app", "wsgi", *args]

    def run(self, *args: str) -> str:
        done = subprocess.run(
            self.flask(*args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        started = time.monotonic()
        self.start_redis()
        sandbox = self._proc(
            "sandbox", self.flask("wechat", "sandbox", "--port", str(self.sandbox_port))
        )
        self.run("init")
        self.run(
            "admin", "create-user", ADMIN_USER, "--role", "admin", "--password", ADMIN_PASSWORD
        )
        self.worker = self._proc("flask-worker", self.flask("worker"))
        cmd = [
            str(BIN / "gunicorn"),
            "-c", "gunicorn.conf.py",
            "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", "2",
            "--no-control-socket",
            "wsgi:app",
        ]  # fmt: skip
        self.web = self._proc("gunicorn", cmd)
        # The same bot with no AES key, one worker: an envelope must get the same answer from
        # both, or the answer tells a prober whether a key is configured.
        self.nokey_url = f"http://127.0.0.1:{self.nokey_port}"
        nokey_cmd = [
            str(BIN / "gunicorn"),
            "-c", "gunicorn.conf.py",
            "--bind", f"127.0.0.1:{self.nokey_port}",
            "--workers", "1",
            "--no-control-socket",
            "wsgi:app",
        ]  # fmt: skip
        nokey_env = {**self.env, "WECHAT_AES_KEY": ""}
        self.nokey = Proc(
            "gunicorn-no-aes-key", nokey_cmd, nokey_env, self.tmp / "gunicorn-no-aes-key.log"
        )
        self.procs.append(self.nokey)

        def sandbox_up() -> bool:
            sandbox.check_alive()
            return _get_ok(f"http://127.0.0.1:{self.sandbox_port}/_sandbox/stats")

        def web_up() -> bool:
            assert self.web is not None
            self.web.check_alive()
            return _get_ok(self.url + "/healthz") and len(child_pids(self.web.popen.pid)) == 2

        def worker_up() -> bool:
            assert self.worker is not None
            self.worker.check_alive()
            return "Listening on" in self.worker.log_text()

        wait_for(sandbox_up, 30, "the API sandbox")
        wait_for(web_up, 120, "gunicorn")
        wait_for(worker_up, 60, "the flask worker")

        def nokey_up() -> bool:
            self.nokey.check_alive()
            return _get_ok(self.nokey_url + "/healthz")

        wait_for(nokey_up, 120, "the bot without an AES key")
        self.startup_seconds = time.monotonic() - started

    def _proc(self, name: str, cmd: list[str]) -> Proc:
        proc = Proc(name, cmd, self.env, self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc

    def worker_pids(self) -> list[int]:
        assert self.web is not None
        return child_pids(self.web.popen.pid)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            with suppress(Exception):
                proc.stop()
        self.procs.clear()
        if self.redis is not None:
            with suppress(Exception):
                self.redis.stop()


def _get_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


# -- requests and what came back ----------------------------------------------------------------

_local = threading.local()


def http() -> requests.Session:
    """One keep-alive session per thread."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


@dataclass
class Shot:
    """One request to the webhook."""

    cls: str
    body: bytes | Callable[[], Iterator[bytes]]
    query: dict[str, str]
    to: str | None = None  # the ToUserName a reply must carry, when the body names one
    encrypted: bool = False
    variant: str = ""
    method: str = "POST"
    size: int = 0  # the body's length when it is sent chunked


@dataclass
class Outcome:
    status: int | None  # None: no HTTP answer (connection error)
    text: str
    plain: str  # the reply, decrypted in safe mode
    elapsed: float
    error: str = ""


def signed_query(rng: random.Random, *, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = f"{rng.getrandbits(64):016x}"
    return {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def fire(url: str, shot: Shot, timeout: float = 20.0, keep_alive: bool = True) -> Outcome:
    """POST (or GET) one shot to /wechat. Hostile shots go on a connection of their own
    (``keep_alive=False``), so an error is the shot's, not a reused connection's."""
    started = time.perf_counter()
    data = shot.body() if callable(shot.body) else shot.body
    headers = {"Content-Type": "text/xml"}
    if not keep_alive:
        headers["Connection"] = "close"
    try:
        response = http().request(
            shot.method,
            url + "/wechat",
            params=shot.query,
            data=data,
            headers=headers,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        detail = f"{type(exc).__name__}: {exc}"[:200]
        return Outcome(None, detail, "", time.perf_counter() - started, type(exc).__name__)
    elapsed = time.perf_counter() - started
    text = response.content.decode("utf-8", errors="replace")
    plain = text
    if shot.encrypted and response.status_code == 200 and text.strip() != "success":
        try:
            plain = open_reply(text, shot.query)
        except Exception as exc:  # noqa: BLE001 - reported as a finding
            plain = f"<undecryptable reply: {type(exc).__name__}>"
    return Outcome(response.status_code, text, plain, elapsed)


def bucket(status: int | None) -> str:
    return "err" if status is None else f"{status // 100}xx"


def leaks(text: str) -> list[tuple[str, str]]:
    """What a response body must not say: (kind, the words)."""
    found: list[tuple[str, str]] = []
    if m := EXCEPTION_NAME.search(text):
        found.append(("exception name", m.group(0)))
    if m := AES_CONFIG.search(text):
        found.append(("aes config", m.group(0)))
    for name, secret in SECRETS.items():
        if secret and secret in text:
            found.append(("secret", name))
    if MARKER in text:
        found.append(("entity expanded", MARKER))
    if FILE_MARKER in text or "root:x:0:0" in text:
        found.append(("file read", "planted file or /etc/passwd content"))
    return found


def reply_problem(plain: str, to: str | None) -> str:
    """Why a passive reply would not reach the member, or ''."""
    if plain.startswith("<undecryptable"):
        return plain
    try:
        root = ElementTree.fromstring(plain.encode("utf-8"))
    except ElementTree.ParseError as exc:
        return f"reply is not well-formed XML ({exc})"
    if root.tag != "xml" or root.findtext("MsgType") is None:
        return "reply has no <xml><MsgType>"
    if to is not None and root.findtext("ToUserName") != to:
        return f"reply ToUserName {root.findtext('ToUserName')!r} is not the sender {to!r}"
    return ""


def is_reply(outcome: Outcome) -> bool:
    return outcome.status == 200 and outcome.text.strip() not in ("", "success")


# -- AES envelopes -------------------------------------------------------------------------------


def aes_cbc(data: bytes) -> bytes:
    """WeChat's cipher: AES-256-CBC, the IV the key's first 16 bytes, no padding of its own."""
    encryptor = Cipher(algorithms.AES(AES_BYTES), modes.CBC(AES_BYTES[:16])).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def pkcs7(data: bytes, block: int = 32) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def sealed(
    xml: bytes,
    *,
    app_id: bytes = APP_ID.encode(),
    rand16: bytes = b"0123456789abcdef",
    length: int | None = None,
    pad: Callable[[bytes], bytes] = pkcs7,
) -> str:
    """An ``Encrypt`` value as WeChat builds it, each part replaceable."""
    raw = rand16 + struct.pack(">I", len(xml) if length is None else length) + xml + app_id
    return base64.b64encode(aes_cbc(pad(raw))).decode()


def envelope_shot(
    cls: str,
    rng: random.Random,
    encrypt: str,
    *,
    variant: str = "",
    body: bytes | None = None,
    to: str | None = None,
    msg_signature: str | None = None,
    extra: dict[str, str] | None = None,
) -> Shot:
    query = signed_query(rng)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = (
        msg_signature
        if msg_signature is not None
        else signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
    )
    query.update(extra or {})
    if body is None:
        to_user = f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>"
        body = f"<xml>{to_user}<Encrypt>{cdata(encrypt)}</Encrypt></xml>".encode()
    return Shot(cls, body, query, to=to, encrypted=True, variant=variant)


def open_reply(text: str, query: dict[str, str]) -> str:
    """Check an encrypted passive reply's signature and open it, as WeChat's servers do."""
    root = ElementTree.fromstring(text.encode("utf-8"))
    encrypt = root.findtext("Encrypt") or ""
    expected = signature(
        TOKEN, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "", encrypt
    )
    if expected != (root.findtext("MsgSignature") or ""):
        raise ValueError("reply MsgSignature does not verify")
    decryptor = Cipher(algorithms.AES(AES_BYTES), modes.CBC(AES_BYTES[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    if plain[20 + length :].decode() != APP_ID:
        raise ValueError("reply sealed for another AppId")
    return plain[20 : 20 + length].decode("utf-8")


# -- hostile plaintext bodies -------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass
class Ctx:
    """What a generator may point at: the out-of-band listener and the planted file."""

    oob: str  # http://127.0.0.1:PORT
    planted: Path


def oid(rng: random.Random) -> str:
    return "o" + "".join(rng.choice(ALNUM + "_-") for _ in range(27))


def msg_id(rng: random.Random) -> str:
    return str(rng.randrange(10**17, 9 * 10**17))


def base_fields(
    rng: random.Random, openid: str, msg_type: str = "text", content: str | None = None
) -> list[tuple[str, str]]:
    """The elements of a normal message, as (name, rendered element) pairs."""
    fields = [
        ("ToUserName", f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>"),
        ("FromUserName", f"<FromUserName>{cdata(openid)}</FromUserName>"),
        ("CreateTime", f"<CreateTime>{int(time.time())}</CreateTime>"),
        ("MsgType", f"<MsgType>{cdata(msg_type)}</MsgType>"),
    ]
    if msg_type == "text":
        text = content if content is not None else rng.choice(NORMAL_TEXTS)
        fields.append(("Content", f"<Content>{cdata(text)}</Content>"))
    fields.append(("MsgId", f"<MsgId>{msg_id(rng)}</MsgId>"))
    return fields


def normal(rng: random.Random, content: str | None = None) -> tuple[str, str]:
    openid = oid(rng)
    return "<xml>" + "".join(
        e for _, e in base_fields(rng, openid, content=content)
    ) + "</xml>", openid


def with_content_raw(
    rng: random.Random, raw_content: str, openid: str | None = None
) -> tuple[str, str]:
    """A text message whose <Content> element body is ``raw_content`` as given (not CDATA)."""
    openid = openid or oid(rng)
    parts = [
        e if n != "Content" else f"<Content>{raw_content}</Content>"
        for n, e in base_fields(rng, openid)
    ]
    return "<xml>" + "".join(parts) + "</xml>", openid


Gen = Callable[[random.Random, Ctx], tuple[bytes, str | None, str]]


def g_malformed(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    kind = rng.choice(["mutate", "mutate", "template", "soup"])
    if kind == "mutate":
        xml, _ = normal(rng)
        chars = list(xml)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.4:
                del chars[at]
            elif op < 0.8:
                chars.insert(at, rng.choice("<>&/\"'=![]?;#"))
            else:
                chars[at:at] = chars[at : at + rng.randint(1, 20)]
        return "".join(chars).encode(), None, "mutated"
    if kind == "template":
        xml, _ = normal(rng)
        inner = xml[5:-6]
        options = [
            "<xml>",
            "</xml>",
            "<xml><ToUserName>",
            "<xml><a></b></xml>",
            "<xml attr=noquote></xml>",
            "<<xml>>",
            "<xml><Content>a<b</Content></xml>",
            "<?xml?>",
            "<?xml version='1.0'?>",
            "hello",
            '{"MsgType": "text", "Content": "你好"}',
            f"<xml>{inner}</XML>",
            f"<xml>{inner}<!--",
            f"<xml>{inner}</xml></xml>",
            f"<xml>{inner}",
            f"{inner}</xml>",
            f"<xml {inner}></xml>",
            f"<xml><{inner}></xml>",
            "<xml>&</xml>",
            "<xml>&amp</xml>",
            f"<xml>{inner}<Content>&#xZZ;</Content></xml>",
            "<xml><![CDATA[</xml>",
            "<",
            "<>",
            f"<xml>{inner.replace('<', '< ')}</xml>",
            "<xml><1a>x</1a></xml>",
            "<xml><a b='1' b='2'/></xml>",
        ]
        return rng.choice(options).encode(), None, "template"
    tokens = [
        "<xml>",
        "</xml>",
        "<Content>",
        "</Content>",
        "<![CDATA[",
        "]]>",
        "<",
        ">",
        "&",
        ";",
        "/",
        "=",
        '"',
        "你好",
        "x",
        "<!--",
        "-->",
        "<?",
        "?>",
        " ",
    ]
    return "".join(rng.choice(tokens) for _ in range(rng.randint(1, 60))).encode(), None, "soup"


def g_truncated(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    xml, _ = normal(rng, rng.choice(["最近有什么培训", "你好" * 20, "a]]>b", "hello world"]))
    data = xml.encode()
    cut = rng.randrange(1, len(data))
    return data[:cut], None, f"cut at {cut}/{len(data)}"


def g_deep_nesting(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    depth = rng.choice([50, 500, 998, 999, 1000, 1001, 3000, 5000, 9000, 10000, 30000])
    where = rng.choice(["around", "content", "sibling", "wide"])
    openid = oid(rng)
    fields = "".join(e for _, e in base_fields(rng, openid))
    if where == "around":
        xml = "<xml>" + "<a>" * depth + fields + "</a>" * depth + "</xml>"
    elif where == "content":
        xml, _ = with_content_raw(rng, "<a>" * depth + "x" + "</a>" * depth, openid)
    elif where == "sibling":
        xml = "<xml>" + fields + "<Extra>" + "<b>" * depth + "</b>" * depth + "</Extra></xml>"
    else:
        xml = "<xml>" + fields + "<x/>" * depth + "</xml>"
    return xml.encode(), None, f"{where} depth {depth}"


def _sized(rng: random.Random, size: int) -> tuple[bytes, str | None, str]:
    """A message of ``size`` bytes, the bulk in one place."""
    where = rng.choice(
        [
            "content-ascii",
            "content-cjk",
            "content-emoji",
            "tagname",
            "attribute",
            "openid",
            "comment",
        ]
    )
    openid = oid(rng)
    skeleton = "<xml>" + "".join(e for _, e in base_fields(rng, openid, content="")) + "</xml>"
    room = max(0, size - len(skeleton.encode()) - 40)
    if where.startswith("content"):
        unit = {"content-ascii": "a", "content-cjk": "培", "content-emoji": "😀"}[where]
        filler = unit * (room // len(unit.encode()))
        xml = skeleton.replace(
            "<Content><![CDATA[]]></Content>", f"<Content>{cdata(filler)}</Content>"
        )
        to: str | None = openid
    elif where == "tagname":
        name = "T" * max(1, room // 2)
        xml = skeleton.replace("</xml>", f"<{name}/></xml>")
        to = openid
    elif where == "attribute":
        xml = skeleton.replace("<xml>", f'<xml a="{"v" * room}">')
        to = openid
    elif where == "openid":
        big = "o" * room
        xml = skeleton.replace(cdata(openid), cdata(big))
        to = None
    else:
        xml = skeleton.replace("</xml>", f"<!--{'c' * room}--></xml>")
        to = openid
    data = xml.encode()
    if len(data) < size:  # trailing newlines after the root make up the exact size
        data += b"\n" * (size - len(data))
    return data, to, f"{where} {len(data)} B"


def g_huge_near_64k(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    return _sized(rng, LIMIT - rng.choice([0, 0, 1, 2, 16, 100, 500, 1000, 2000, 4000]))


def g_huge_over_64k(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    return _sized(rng, LIMIT + rng.choice([1, 2, 100, 1000, 10_000, 100_000, 300_000]))


def _dtd_message(rng: random.Random, dtd: str, ref: str, where: str = "Content") -> tuple[str, str]:
    openid = oid(rng)
    parts = []
    for name, element in base_fields(rng, openid):
        if name == where:
            element = f"<{name}>{ref}</{name}>"
        parts.append(element)
    if where == "EventKey":
        parts.append(f"<EventKey>{ref}</EventKey>")
    return dtd + "<xml>" + "".join(parts) + "</xml>", openid


def g_dtd_entities(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    pair = f'<!ENTITY a "{MARK_A}"><!ENTITY b "{MARK_B}">'
    variants = {
        "internal": (f"<!DOCTYPE xml [{pair}]>", "&a;&b;"),
        "declared": (f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE xml [{pair}]>', "&a;&b;"),
        "lowercase": (f"<!doctype xml [{pair.replace('ENTITY', 'entity')}]>", "&a;&b;"),
        "newlines": (f"<!DOCTYPE\nxml\n[\n{pair}\n]\n>", "&a;&b;"),
        "after-comment": (f"<!-- hi --><!DOCTYPE xml [{pair}]>", "&a;&b;"),
        "after-pi": (f"<?pi x?><!DOCTYPE xml [{pair}]>", "&a;&b;"),
        "public-id": (f'<!DOCTYPE xml PUBLIC "-//X//Y" "x.dtd" [{pair}]>', "&a;&b;"),
        "single-quotes": (
            f"<!DOCTYPE xml [<!ENTITY a '{MARK_A}'><!ENTITY b '{MARK_B}'>]>",
            "&a;&b;",
        ),
        "nested": (f'<!DOCTYPE xml [{pair}<!ENTITY c "&a;&b;">]>', "&c;"),
        "parameter": (
            '<!DOCTYPE xml [<!ENTITY % p "<!ENTITY c '
            f"'{MARK_A}&#x{ord(MARK_B[0]):x};{MARK_B[1:]}'>\"> %p;]>",
            "&c;",
        ),
        "recursive": ('<!DOCTYPE xml [<!ENTITY a "&b;"><!ENTITY b "&a;">]>', "&a;"),
        "no-subset": ('<!DOCTYPE xml SYSTEM "x.dtd">', "x"),
        "attribute-default": (f'<!DOCTYPE xml [<!ATTLIST xml v CDATA "{MARKER[:4]}">]>', "x"),
        "element-decl": ("<!DOCTYPE xml [<!ELEMENT xml ANY>]>", "x"),
        "with-bom": (f"\ufeff<!DOCTYPE xml [{pair}]>", "&a;&b;"),
        "text-mention": ("", cdata("<!DOCTYPE html> 是什么意思")),  # a member's words, not a DTD
    }
    name = rng.choice(sorted(variants))
    dtd, ref = variants[name]
    where = rng.choice(["Content", "Content", "FromUserName", "MsgType", "EventKey"])
    xml, openid = _dtd_message(rng, dtd, ref, where)
    return xml.encode(), None, f"{name} in {where}"


def g_billion_laughs(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    kind = rng.choice(["laughs", "laughs", "quadratic", "attribute"])
    if kind in ("laughs", "attribute"):
        levels, fan = rng.randint(3, 10), rng.randint(2, 10)
        decl = [
            f'<!ENTITY l0a "{MARK_A}">',
            f'<!ENTITY l0b "{MARK_B}">',
            '<!ENTITY l1 "&l0a;&l0b;">',
        ]
        for i in range(2, levels + 1):
            decl.append(f'<!ENTITY l{i} "' + f"&l{i - 1};" * fan + '">')
        dtd = "<!DOCTYPE xml [" + "".join(decl) + "]>"
        if kind == "attribute":
            xml, _ = normal(rng)
            xml = dtd + xml.replace("<xml>", f'<xml v="&l{levels};">')
        else:
            xml, _ = _dtd_message(rng, dtd, f"&l{levels};")
        return xml.encode(), None, f"{kind} {fan}^{levels}"
    size, refs = rng.choice([(1000, 50), (20_000, 2000), (40_000, 1000)])
    dtd = f'<!DOCTYPE xml [<!ENTITY q "{MARK_A}{"x" * size}{MARK_B}">]>'
    xml, _ = _dtd_message(rng, dtd, "&q;" * refs)
    return xml.encode(), None, f"quadratic {size}x{refs}"


def g_external_entities(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    n = rng.randrange(10**6)
    planted = ctx.planted.as_uri()
    variants = {
        "file-planted": (f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{planted}">]>', "&x;"),
        "file-passwd": ('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
        "http": (f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{ctx.oob}/entity/{n}">]>', "&x;"),
        "parameter-http": (f'<!DOCTYPE xml [<!ENTITY % x SYSTEM "{ctx.oob}/param/{n}"> %x;]>', "x"),
        "dtd-http": (f'<!DOCTYPE xml SYSTEM "{ctx.oob}/dtd/{n}">', "x"),
        "public-http": (f'<!DOCTYPE xml PUBLIC "-//P//D" "{ctx.oob}/public/{n}">', "x"),
        "xinclude": (
            "",
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{planted}" '
            'parse="text"/>',
        ),
        "xinclude-http": (
            "",
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            f'href="{ctx.oob}/xinclude/{n}"/>',
        ),
        "schema": (
            "",
            '<s xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x '
            f'{ctx.oob}/xsd/{n}"/>',
        ),
        "stylesheet": (f'<?xml-stylesheet type="text/xsl" href="{ctx.oob}/xsl/{n}"?>', "x"),
    }
    name = rng.choice(sorted(variants))
    dtd, ref = variants[name]
    xml, _ = _dtd_message(rng, dtd, ref)
    return xml.encode(), None, name


def _encoded(
    rng: random.Random, codec: str, bom: bool, declare: str | None, dtd: bool = False
) -> bytes:
    content = rng.choice(["最近有什么培训", "你好", "hello"])
    xml, _ = normal(rng, content)
    if dtd:
        xml, _ = _dtd_message(
            rng, f'<!DOCTYPE xml [<!ENTITY a "{MARK_A}"><!ENTITY b "{MARK_B}">]>', "&a;&b;"
        )
    if declare:
        xml = f'<?xml version="1.0" encoding="{declare}"?>' + xml
    data = xml.encode(codec)
    boms = {
        "utf-16-le": b"\xff\xfe",
        "utf-16-be": b"\xfe\xff",
        "utf-32-le": b"\xff\xfe\x00\x00",
        "utf-32-be": b"\x00\x00\xfe\xff",
    }
    return (boms.get(codec, b"") if bom else b"") + data


def g_utf16(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    codec = rng.choice(["utf-16-le", "utf-16-be"])
    bom, dtd = rng.random() < 0.5, rng.random() < 0.3
    declare = rng.choice([None, "UTF-16", "utf-16", "UTF-8"])
    return (
        _encoded(rng, codec, bom, declare, dtd),
        None,
        f"{codec} bom={bom} decl={declare} dtd={dtd}",
    )


def g_utf32(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    codec = rng.choice(["utf-32-le", "utf-32-be"])
    bom, dtd = rng.random() < 0.5, rng.random() < 0.3
    declare = rng.choice([None, "UTF-32", "UTF-8"])
    return (
        _encoded(rng, codec, bom, declare, dtd),
        None,
        f"{codec} bom={bom} decl={declare} dtd={dtd}",
    )


def g_other_encodings(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    declared = rng.choice(
        [
            ("ISO-8859-1", "latin-1"),
            ("GBK", "gbk"),
            ("gb2312", "gb2312"),
            ("GB18030", "gb18030"),
            ("Big5", "big5"),
            ("Shift_JIS", "shift_jis"),
            ("EUC-KR", "euc-kr"),
            ("KOI8-R", "koi8-r"),
            ("windows-1252", "cp1252"),
            ("UTF-7", "utf-7"),
            ("IBM037", "cp037"),
            ("US-ASCII", "ascii"),
            ("utf8", "utf-8"),
            ("UTF_8", "utf-8"),
            (" utf-8 ", "utf-8"),
            ("utf-8\t", "utf-8"),
            ("x-bogus", "utf-8"),
            ("", "utf-8"),
            ("UTF-8;base64", "utf-8"),
            ("UTF-16", "utf-8"),
            (None, "gbk"),
            (None, "latin-1"),
        ]
    )
    name, codec = declared
    content = rng.choice(["最近有什么培训", "你好", "hello", "café"])
    xml, openid = normal(rng, content)
    if name is not None:
        quote_char = rng.choice(['"', "'"])
        xml = f"<?xml version='1.0' encoding={quote_char}{name}{quote_char}?>" + xml
    try:
        data = xml.encode(codec)
    except UnicodeEncodeError:
        data = xml.encode(codec, errors="replace")
    return data, None, f"declared {name!r} body {codec}"


def _insert(rng: random.Random, data: bytes, what: bytes, where: str) -> bytes:
    if where == "content" and b"<Content>" in data:
        at = data.index(b"<Content>") + len(b"<Content><![CDATA[")
    elif where == "openid" and b"<FromUserName>" in data:
        at = data.index(b"<FromUserName>") + len(b"<FromUserName><![CDATA[") + 3
    elif where == "tag":
        at = data.index(b"<MsgType>") + 4
    elif where == "end":
        at = len(data)
    else:
        at = rng.randrange(len(data) + 1)
    return data[:at] + what + data[at:]


def g_nul_bytes(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    xml, _ = normal(rng)
    where = rng.choice(["content", "openid", "tag", "end", "random"])
    variant = rng.choice(["byte", "byte", "charref", "only"])
    if variant == "only":
        return b"\x00" * rng.randint(1, 64), None, "NULs only"
    if variant == "charref":
        raw, _ = with_content_raw(rng, "a&#0;b")
        return raw.encode(), None, "&#0; in Content"
    return _insert(rng, xml.encode(), b"\x00" * rng.randint(1, 3), where), None, f"NUL in {where}"


def g_control_chars(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    kind = rng.choice(["c0", "c0", "charref", "c1", "nonchar", "bidi", "del"])
    where = rng.choice(["content", "openid", "tag", "random"])
    xml, openid = normal(rng)
    if kind == "c0":
        ch = chr(rng.choice([c for c in range(1, 32) if c not in (9, 10, 13)]))
        return _insert(rng, xml.encode(), ch.encode(), where), None, f"U+{ord(ch):04X} in {where}"
    if kind == "charref":
        ref = rng.choice(
            [
                "&#1;",
                "&#x1F;",
                "&#x7F;",
                "&#xFFFE;",
                "&#xFFFF;",
                "&#xD800;",
                "&#x110000;",
                "&#x85;",
                "&#8232;",
            ]
        )
        raw, _ = with_content_raw(rng, f"a{ref}b")
        return raw.encode(), None, f"{ref} in Content"
    ch = {
        "c1": chr(rng.randint(0x80, 0x9F)),
        "nonchar": rng.choice(["\ufffe", "\uffff", "\U0001fffe"]),
        "bidi": rng.choice(["\u202e", "\u2066", "\u200f", "\u2028", "\u2029"]),
        "del": "\x7f",
    }[kind]
    return (
        _insert(rng, xml.encode(), ch.encode(), where),
        (openid if where in ("content", "end") else None),
        f"U+{ord(ch):04X} ({kind}) in {where}",
    )


def g_invalid_utf8(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    junk = rng.choice(
        [
            b"\xff",
            b"\xfe\xff",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xed\xa0\x80",
            b"\xed\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\x80",
            b"\xc3",
            b"\xe5\x9f",
            b"caf\xe9",
        ]
    )
    where = rng.choice(["content", "openid", "tag", "end", "random"])
    xml, _ = normal(rng)
    return _insert(rng, xml.encode(), junk, where), None, f"{junk!r} in {where}"


def g_cdata_tricks(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    kind = rng.choice(
        [
            "breakout",
            "raw-close",
            "unterminated",
            "nested",
            "two-sections",
            "split-close",
            "xml-inside",
            "lowercase",
            "openid-close",
            "member-text",
        ]
    )
    if kind == "member-text":  # a member typing "]]>": the reply must still be well-formed
        text = rng.choice(
            ["]]>", "a]]>b", "]]><xml>", "最近有什么培训]]>", "]]]]><![CDATA[>", "<![CDATA[x]]>"]
        )
        xml, openid = normal(rng, text)
        return xml.encode(), openid, f"member text {text!r}"
    raw = {
        "breakout": f"<![CDATA[x]]></Content><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('subscribe')}</Event><Content><![CDATA[y]]>",
        "raw-close": "a]]>b",
        "unterminated": "<![CDATA[abc",
        "nested": "<![CDATA[<![CDATA[x]]>]]>",
        "two-sections": "<![CDATA[你]]><![CDATA[好]]>",
        "split-close": "<![CDATA[a]]]]><![CDATA[>b]]>",
        "xml-inside": "<![CDATA[</Content></xml><xml><Content>x]]>",
        "lowercase": "<![cdata[x]]>",
        "openid-close": None,
    }[kind]
    if raw is None:
        xml = (
            "<xml>"
            + "".join(
                f"<FromUserName><![CDATA[{openid}]]>x]]></FromUserName>"
                if n == "FromUserName"
                else e
                for n, e in base_fields(rng, openid)
            )
            + "</xml>"
        )
        return xml.encode(), None, kind
    xml, openid = with_content_raw(rng, raw, openid)
    to = openid if kind in ("two-sections", "split-close", "xml-inside", "nested") else None
    return xml.encode(), to, kind


def g_unknown_msgtype(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    odd = {
        "location": {
            "Location_X": rng.choice(["abc", "1e999", "NaN", "-91", "", "23.1,1"]),
            "Location_Y": rng.choice(["113.3", "inf", "x"]),
            "Scale": rng.choice(["-1", "99999999999999999999", "z"]),
            "Label": "<b>",
        },
        "image": {
            "PicUrl": rng.choice(["javascript:alert(1)", "file:///etc/passwd", "x" * 3000]),
            "MediaId": rng.choice(["", "m" * 5000, "../../"]),
        },
        "voice": {
            "MediaId": "m",
            "Format": rng.choice(["amr", "", "x" * 100]),
            "Recognition": rng.choice(["最近有什么培训", "", "r" * 5000]),
        },
        "video": {"MediaId": "", "ThumbMediaId": "t" * rng.choice([0, 10, 5000])},
        "shortvideo": {"MediaId": "m", "ThumbMediaId": ""},
        "link": {
            "Title": "t" * rng.choice([1, 5000]),
            "Description": "",
            "Url": rng.choice(["javascript:alert(1)", "http://127.0.0.1:1/", ""]),
        },
        "file": {
            "Title": "a.pdf",
            "FileKey": "",
            "FileMd5": "zz",
            "FileTotalLen": rng.choice(["-1", "99999999999999999999", "abc"]),
        },
        "miniprogrampage": {"AppId": "wx", "PagePath": "/../", "Title": ""},
    }
    msg_type = rng.choice(
        [
            "TEXT",
            "Text",
            " text",
            "text ",
            "unknown",
            "music",
            "news",
            "transfer_customer_service",
            "device_text",
            "<b>",
            "x" * rng.choice([64, 1000]),
            "文本",
            "event ",
            "0",
            "../",
            *odd,
            *odd,
        ]
    )
    fields: dict[str, Any] = dict(odd.get(msg_type.strip(), {"Content": rng.choice(NORMAL_TEXTS)}))
    xml = message_xml(openid, msg_type, msg_id=msg_id(rng), **fields)
    return xml.encode(), openid, f"MsgType {msg_type[:20]!r}"


def g_unknown_event(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    event, extra = rng.choice(
        [
            ("SUBSCRIBE", {}),
            ("subscribe", {"EventKey": "qrscene_"}),
            ("subscribe", {"EventKey": "qrscene_" + "9" * 5000}),
            ("subscribe", {"EventKey": "qrscene_../../x", "Ticket": ""}),
            ("unsubscribe", {}),
            ("SCAN", {"EventKey": "abc"}),
            ("SCAN", {"EventKey": "99999999999999999999", "Ticket": "t" * 1000}),
            ("LOCATION", {"Latitude": "NaN", "Longitude": "1e999", "Precision": "-5"}),
            ("VIEW", {"EventKey": "javascript:alert(1)"}),
            ("scancode_push", {"EventKey": "k"}),
            ("scancode_waitmsg", {"EventKey": "k", "ScanCodeInfo": "x"}),
            ("pic_sysphoto", {"EventKey": "k"}),
            ("location_select", {"EventKey": "k"}),
            ("view_miniprogram", {"EventKey": "/p"}),
            ("kf_create_session", {"KfAccount": "a@b"}),
            ("card_pass_check", {"CardId": ""}),
            ("user_enter_tempsession", {}),
            ("wxa_nickname_audit", {}),
            ("", {}),
            ("x" * 300, {}),
            ("事件", {}),
            ("click", {}),
            ("CLICK", {"EventKey": ""}),
        ]
    )
    if rng.random() < 0.15:
        xml = (
            "<xml>"
            + "".join(e for n, e in base_fields(rng, openid, "event") if n != "MsgId")
            + "</xml>"
        )
        return xml.encode(), openid, "event without Event"
    xml = message_xml(openid, "event", Event=event, **dict[str, Any](extra))
    if event == "scancode_waitmsg" and rng.random() < 0.5:
        xml = xml.replace(
            "<ScanCodeInfo><![CDATA[x]]></ScanCodeInfo>",
            "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult><a/></ScanResult></ScanCodeInfo>",
        )
    return xml.encode(), openid, f"Event {event[:20]!r}"


def g_missing_empty(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    kind = rng.choice(["drop", "drop", "empty", "empty", "whole"])
    fields = base_fields(rng, openid)
    if kind == "whole":
        body = rng.choice(
            [
                "<xml/>",
                "<xml></xml>",
                "<XML></XML>",
                "<root></root>",
                "   ",
                "\n",
                "\t\r\n",
                "<xml> </xml>",
                "<?xml version='1.0'?><xml/>",
                "<!-- -->",
            ]
        )
        return body.encode(), None, f"body {body!r}"
    names = [n for n, _ in fields]
    chosen = set(rng.sample(names, rng.randint(1, len(names))))
    if kind == "drop":
        xml = "<xml>" + "".join(e for n, e in fields if n not in chosen) + "</xml>"
        return xml.encode(), None, f"without {','.join(sorted(chosen))}"
    form = rng.choice(
        ["<{n}/>", "<{n}></{n}>", "<{n}><![CDATA[]]></{n}>", "<{n}> </{n}>", "<{n}>\n</{n}>"]
    )
    xml = "<xml>" + "".join(form.format(n=n) if n in chosen else e for n, e in fields) + "</xml>"
    return xml.encode(), None, f"empty {','.join(sorted(chosen))} as {form}"


def g_duplicated(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    fields = base_fields(rng, openid)
    kind = rng.choice(["repeat", "repeat", "nested", "attributes"])
    name = rng.choice([n for n, _ in fields] + ["Event", "EventKey"])
    if kind == "repeat":
        times = rng.choice([2, 2, 3, 50])
        same = rng.random() < 0.5
        elements = dict(fields)
        one = (
            elements.get(name)
            or f"<{name}>{cdata('CLICK' if name == 'Event' else 'HELP')}</{name}>"
        )
        value = rng.choice(["event", "x", "最近有什么培训", "1", openid + "x"])
        other = f"<{name}>{cdata(value)}</{name}>"
        extra = "".join(one if same or i % 2 else other for i in range(times - 1))
        xml = "<xml>" + "".join(e for _, e in fields) + extra + "</xml>"
        return xml.encode(), None, f"{name} x{times} same={same}"
    if kind == "nested":
        inner = rng.choice(["<a>b</a>", "<a/><b/>", "<p>最近有什么培训</p>", "<x><y><z/></y></x>"])
        mapping = dict(fields)
        mapping.setdefault(name, "")
        xml = (
            "<xml>"
            + "".join(f"<{n}>{inner}</{n}>" if n == name else e for n, e in mapping.items())
            + "</xml>"
        )
        return xml.encode(), None, f"{name} holds {inner}"
    xml = (
        "<xml>"
        + "".join(e.replace(f"<{n}>", f'<{n} type="x" {n}="y">', 1) for n, e in fields)
        + "</xml>"
    )
    return xml.encode(), openid, "attributes on every field"


def g_fromuser_odd(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    valid = ALNUM + "_-"
    kind = rng.choice(["long", "long", "boundary", "odd", "odd", "to"])
    if kind == "long":
        n = rng.choice([65, 66, 100, 1000, 10_000])
        openid = "".join(rng.choice(valid) for _ in range(n))
    elif kind == "boundary":
        openid = "".join(rng.choice(valid) for _ in range(64))
    elif kind == "odd":
        ch = rng.choice(
            [
                " ",
                "\t",
                ":",
                "*",
                "?",
                "{",
                "}",
                "/",
                "\\",
                "'",
                '"',
                "<",
                ">",
                "%00",
                "\u200b",
                "用户",
                "é",
                "😀",
                "\n",
                "#",
                "%",
                "&amp;",
                "@",
                ".",
                "..",
                "[",
                "]",
                "|",
                ",",
                "$",
                "+",
            ]
        )
        openid = oid(rng)[:10] + ch + oid(rng)[:10]
    else:
        openid = oid(rng)
        to = rng.choice(["", "x" * 65, "gh_:*", "账号", "gh_shanghui_dev" * 5])
        xml = message_xml(openid, "text", account=to, Content="你好", msg_id=msg_id(rng))
        return xml.encode(), None, f"ToUserName {to[:20]!r}"
    raw = rng.random() < 0.2 and "&" not in openid and "<" not in openid
    xml = message_xml(openid, "text", Content="你好", msg_id=msg_id(rng))
    if raw:
        xml = xml.replace(cdata(openid), openid)
    ok = re.fullmatch(r"[A-Za-z0-9_@.-]{1,64}", openid) is not None
    return xml.encode(), (openid if ok else None), f"{kind} {len(openid)} chars {openid[:12]!r}…"


NUMBERS = [
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1" + "0" * 30,
    "-1",
    "-9223372036854775808",
    "0",
    "abc",
    "1e10",
    "0x1f",
    " 42 ",
    "4 2",
    "١٢٣",
    "²³",
    "12.5",
    "+7",
    "NaN",
    "Infinity",
    "0" * 19 + "1",
    "00012",
    "",
    "99999999999999999999999999999999",
]


def g_numbers(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    name = rng.choice(["MsgId", "MsgID", "CreateTime", "MsgId+MsgID"])
    value = rng.choice(NUMBERS)
    fields = base_fields(rng, openid)
    parts = []
    for n, e in fields:
        if n == "MsgId" and name.startswith("MsgID"):
            continue
        if n == name or (n == "MsgId" and name == "MsgId+MsgID"):
            e = f"<{n}>{value}</{n}>"
        parts.append(e)
    if "MsgID" in name:
        parts.append(f"<MsgID>{value}</MsgID>")
    return ("<xml>" + "".join(parts) + "</xml>").encode(), None, f"{name}={value[:24]!r}"


def _counts(rng: random.Random) -> dict[str, str]:
    pick = ["-1", "0", "9223372036854775808", "abc", "1" * 40, "1.5", "", "10", "２"]
    return {
        k: rng.choice(pick)
        for k in ("TotalCount", "FilterCount", "SentCount", "ErrorCount")
        if rng.random() < 0.85
    }


def g_masssend(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    fields: dict[str, Any] = {
        "Event": rng.choice(["MASSSENDJOBFINISH", "masssendjobfinish"]),
        "MsgID": rng.choice(NUMBERS),
        "Status": rng.choice(["send success", "sendsuccess", "err(10001)", "", "x" * 3000]),
    }
    fields.update(_counts(rng))
    xml = message_xml(openid, "event", **fields)
    if rng.random() < 0.3:
        junk = rng.choice(
            [
                "<CopyrightCheckResult><Count>-1</Count><ResultList><item><a/></item></ResultList><CheckState>x</CheckState></CopyrightCheckResult>",
                "<ArticleUrlResult><Count>99999999999999999999</Count></ArticleUrlResult>",
                "<ResultList>" + "<item><ArticleIdx>1</ArticleIdx></item>" * 1000 + "</ResultList>",
                "<SentCount>1</SentCount><SentCount>2</SentCount>",
            ]
        )
        xml = xml.replace("</xml>", junk + "</xml>")
    return (
        xml.encode(),
        None,
        f"MsgID={fields['MsgID'][:20]!r} "
        f"counts={ {k: v[:8] for k, v in fields.items() if k.endswith('Count')} }",
    )


def g_templatesend(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    status = rng.choice(
        ["success", "failed:user block", "failed: system failed", "", "x" * 5000, "成功", "<b>"]
    )
    fields: dict[str, Any] = {
        "Event": rng.choice(["TEMPLATESENDJOBFINISH", "templatesendjobfinish"]),
        "MsgID": rng.choice(NUMBERS),
        "Status": status,
    }
    if rng.random() < 0.3:
        del fields["MsgID"]
    xml = message_xml(openid, "event", **fields)
    return xml.encode(), None, f"Status={status[:20]!r} MsgID={fields.get('MsgID', '-')[:20]!r}"


EMOJI = [
    "😀",
    "👨‍👩‍👧‍👦",
    "🇨🇳",
    "👍🏽",
    "❤️",
    "🧑🏿‍🚀",
    "𠀀",
    "𪚥",
    "e\u0301",
    "\u200b",
    "\u202e",
    "🏳️‍🌈",
    "#️⃣",
]


def g_emoji_long(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    kind = rng.choice(["emoji", "cjk-5000", "mixed-5000", "question-5000", "combining", "phones"])
    if kind == "emoji":
        text = "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 200)))
    elif kind == "cjk-5000":
        text = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(5000))
    elif kind == "mixed-5000":
        text = "".join(
            rng.choice(["培", "训", "a", " ", "😀", "1", "，", "\n"]) for _ in range(5000)
        )
    elif kind == "question-5000":
        text = ("最近有什么培训" * 715)[:5000]
    elif kind == "combining":
        text = "a" + "\u0301" * rng.choice([100, 5000])
    else:
        text = " ".join(
            f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}" for _ in range(rng.randint(1, 300))
        )
    xml, openid = normal(rng, text)
    return xml.encode(), openid, f"{kind} ({len(text)} chars)"


def g_menu_unknown(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    openid = oid(rng)
    key = rng.choice(
        [
            "UNKNOWN",
            "policy_ask",
            "POLICY_ASK ",
            " POLICY_ASK",
            "POLICY_ASKX",
            "HELP" * 100,
            "{{7*7}}",
            "{{ config }}",
            "{% debug %}",
            "${7*7}",
            "%s%s%n",
            "../../etc/passwd",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "K" * 5000,
            "政策问答",
            "TRAINING_LIST;DROP",
            "",
            "\u202eKSAT",
            "TRAINING_REGISTER:99999999999999999999",
            "CASE_STATUS\t",
        ]
    )
    event = rng.choice(["CLICK", "CLICK", "click", "Click", "VIEW"])
    xml = (
        event_xml(openid, event, key)
        if key
        else message_xml(openid, "event", Event=event, EventKey="")
    )
    return xml.encode(), openid, f"{event} {key[:24]!r}"


def g_xml_oddities(rng: random.Random, ctx: Ctx) -> tuple[bytes, str | None, str]:
    xml, openid = normal(rng)
    inner = xml[5:-6]
    options = {
        "namespace": (f'<xml xmlns="urn:x">{inner}</xml>', None),
        "prefixed": (f'<w:xml xmlns:w="urn:x">{inner}</w:xml>', None),
        "root-attrs": (
            "<xml "
            + " ".join(f'a{i}="v"' for i in range(rng.choice([10, 3000])))
            + f">{inner}</xml>",
            openid,
        ),
        "pi-inside": (f"<xml><?php system('id'); ?>{inner}</xml>", openid),
        "comments": (
            "<!--a--><xml><!--b-->" + inner.replace("</", "<!--c--></") + "</xml><!--d-->",
            openid,
        ),
        "trailing": (f"<xml>{inner}</xml>garbage", None),
        "two-roots": (f"<xml>{inner}</xml><xml>{inner}</xml>", None),
        "ws-before-decl": (f' \n<?xml version="1.0"?><xml>{inner}</xml>', None),
        "version-1.1": (f'<?xml version="1.1"?><xml>{inner}</xml>', None),
        "standalone": (f'<?xml version="1.0" standalone="yes"?><xml>{inner}</xml>', openid),
        "predefined": (
            with_content_raw(rng, "&lt;b&gt; &amp; &quot;你好&quot;", openid)[0],
            openid,
        ),
        "numeric": (with_content_raw(rng, "&#x4F60;&#22909;", openid)[0], openid),
        "undefined-entity": (with_content_raw(rng, "&foo;", openid)[0], None),
        "unicode-tag": (f"<xml>{inner}<培训>x</培训><a:b>y</a:b></xml>", None),
        "two-boms": ("\ufeff\ufeff" + xml, None),
        "decl-mid": (f'<xml><?xml version="1.0"?>{inner}</xml>', None),
        "crlf": (xml.replace("><", ">\r\n<"), openid),
    }
    name = rng.choice(sorted(options))
    body, to = options[name]
    return body.encode(), to, name


CLASSES: dict[str, Gen] = {
    "malformed": g_malformed,
    "truncated": g_truncated,
    "deep nesting": g_deep_nesting,
    "near 64 KB": g_huge_near_64k,
    "over 64 KB": g_huge_over_64k,
    "DTD / internal entity": g_dtd_entities,
    "billion laughs": g_billion_laughs,
    "external entity": g_external_entities,
    "UTF-16": g_utf16,
    "UTF-32": g_utf32,
    "other encodings": g_other_encodings,
    "NUL bytes": g_nul_bytes,
    "control characters": g_control_chars,
    "invalid UTF-8": g_invalid_utf8,
    "CDATA tricks": g_cdata_tricks,
    "unknown MsgType": g_unknown_msgtype,
    "unknown Event": g_unknown_event,
    "missing / empty fields": g_missing_empty,
    "duplicated fields": g_duplicated,
    "odd FromUserName": g_fromuser_odd,
    "MsgId/CreateTime numbers": g_numbers,
    "MASSSENDJOBFINISH": g_masssend,
    "TEMPLATESENDJOBFINISH": g_templatesend,
    "emoji / 5,000 chars": g_emoji_long,
    "unknown menu key": g_menu_unknown,
    "XML oddities": g_xml_oddities,
}


def plaintext_shots(ctx: Ctx) -> dict[str, list[Shot]]:
    shots: dict[str, list[Shot]] = {}
    for name, gen in CLASSES.items():
        rng = random.Random(f"{SEED}:plain:{name}")
        shots[name] = []
        for _ in range(PER_CLASS):
            body, to, variant = gen(rng, ctx)
            query = signed_query(rng)
            query["openid"] = to or oid(rng)
            shots[name].append(Shot(name, body, query, to=to, variant=variant))
        if name in ("over 64 KB", "near 64 KB"):  # the same sizes again, without a Content-Length
            for shot in shots[name][:: max(1, PER_CLASS // 10)][:10]:
                data = bytes(shot.body) if not callable(shot.body) else b""
                chunked = Shot(
                    name,
                    _chunks(data),
                    signed_query(rng),
                    to=shot.to,
                    variant=shot.variant + " chunked",
                    size=len(data),
                )
                shots[name].append(chunked)
        if name == "over 64 KB":
            # A complete message, then 70,000 newlines and an unclosed tag: refused whole, or
            # read up to the limit and the rest dropped (then it is answered).
            xml, openid = normal(rng, "你好")
            data = xml.encode() + b"\n" * 70_000 + b"<junk"
            query = signed_query(rng)
            for send, label in (
                (data, "message + 70,000 newlines + '<junk'"),
                (_chunks(data), "message + 70,000 newlines + '<junk' chunked"),
            ):
                shots[name].append(
                    Shot(
                        name,
                        send,
                        dict(query) | {"nonce": f"{rng.getrandbits(64):016x}"},
                        to=openid,
                        variant=label,
                        size=len(data),
                    )
                )
            for shot in shots[name][-2:]:
                shot.query["signature"] = signature(
                    TOKEN, shot.query["timestamp"], shot.query["nonce"]
                )
    return shots


def _chunks(data: bytes) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:  # requests sends a generator with Transfer-Encoding: chunked
        for at in range(0, len(data), 8192):
            yield data[at : at + 8192]

    return chunks


def aes_shots(ctx: Ctx) -> dict[str, list[Shot]]:
    rng = random.Random(f"{SEED}:aes")
    out: dict[str, list[Shot]] = {
        k: []
        for k in (
            "garbage Encrypt",
            "wrong AppId",
            "bad padding",
            "bad length field",
            "base64 junk",
            "envelope shape",
            "valid envelope, hostile body",
        )
    }

    def good_xml() -> tuple[bytes, str]:
        xml, openid = normal(rng)
        return xml.encode(), openid

    for _ in range(60):
        n = rng.choice([0, 1, 15, 16, 17, 31, 32, 48, 64, 100, 512, 4096])
        enc = base64.b64encode(rng.randbytes(n)).decode()
        out["garbage Encrypt"].append(
            envelope_shot("garbage Encrypt", rng, enc, variant=f"{n} random bytes")
        )
    for _ in range(50):
        xml, openid = good_xml()
        other = rng.choice(
            [
                b"",
                b"wxother",
                APP_ID.encode() + b"x",
                APP_ID.encode()[:-1],
                APP_ID.upper().encode(),
                b"\x00" + APP_ID.encode(),
                "测试".encode(),
                b"x" * 500,
                b"\xff\xfe",
                APP_ID.encode() + b"\x00",
            ]
        )
        out["wrong AppId"].append(
            envelope_shot(
                "wrong AppId", rng, sealed(xml, app_id=other), variant=f"app id {other[:20]!r}"
            )
        )
    for _ in range(50):
        xml, openid = good_xml()
        kind = rng.choice(["zero", "33", "255", "inconsistent", "none", "16-block", "whole"])
        pads: dict[str, Callable[[bytes], bytes]] = {
            "zero": lambda d: d + b"\x00" * (32 - len(d) % 32),
            "33": lambda d: d + b"\x21" * (32 - len(d) % 32),
            "255": lambda d: d + b"\xff" * (32 - len(d) % 32),
            "inconsistent": lambda d: pkcs7(d)[:-2] + b"\x01\x05",
            "none": lambda d: d + b"A" * ((16 - len(d) % 16) % 16),
            "16-block": lambda d: pkcs7(d, 16),
            "whole": lambda d: d + bytes([32]) * ((32 - len(d) % 32) or 32) + bytes([200]) * 32,
        }
        out["bad padding"].append(
            envelope_shot("bad padding", rng, sealed(xml, pad=pads[kind]), variant=kind, to=None)
        )
    for _ in range(40):
        xml, openid = good_xml()
        length = rng.choice([0, 1, len(xml) - 1, len(xml) + 1, len(xml) + 10**4, 2**31, 2**32 - 1])
        out["bad length field"].append(
            envelope_shot(
                "bad length field",
                rng,
                sealed(xml, length=length),
                variant=f"length {length} of {len(xml)}",
            )
        )
    for _ in range(50):
        xml, openid = good_xml()
        good = sealed(xml)
        junk = rng.choice(
            [
                good[:-1],
                good[:-2] + "==",
                good + "=",
                good + "==",
                good.replace("+", "-").replace("/", "_"),
                good[:40] + "\n" + good[40:],
                good[:40] + " " + good[40:],
                "!" + good,
                good[: len(good) // 2],
                "",
                "====",
                "*" * 64,
                "5aW9" * 10,
                good + "A",
                "é" + good,
                good + "\x00",
                "%2B" + good,
            ]
        )
        out["base64 junk"].append(
            envelope_shot("base64 junk", rng, junk, variant=f"{len(junk)} chars")
        )
    for _ in range(60):
        xml, openid = good_xml()
        enc = sealed(xml)
        kind = rng.choice(
            [
                "no Encrypt",
                "empty Encrypt",
                "two Encrypt",
                "nested Encrypt",
                "Encrypt attribute",
                "DTD envelope",
                "laughs envelope",
                "UTF-16 envelope",
                "bad msg_signature",
                "no msg_signature",
                "encrypt_type=AES",
                "plaintext body",
                "over 64 KB envelope",
                "signature over other Encrypt",
                "NUL in envelope",
            ]
        )
        to_user = f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>"
        body = None
        msg_sig = None
        extra: dict[str, str] = {}
        if kind == "no Encrypt":
            body = f"<xml>{to_user}</xml>".encode()
        elif kind == "empty Encrypt":
            enc, body = "", f"<xml>{to_user}<Encrypt></Encrypt></xml>".encode()
        elif kind == "two Encrypt":
            one = f"<Encrypt>{cdata(enc)}</Encrypt>"
            body = f"<xml>{to_user}{one}{one}</xml>".encode()
        elif kind == "nested Encrypt":
            body = f"<xml>{to_user}<Encrypt><a>{enc}</a></Encrypt></xml>".encode()
        elif kind == "Encrypt attribute":
            body = f'<xml Encrypt="{enc}">{to_user}</xml>'.encode()
        elif kind == "DTD envelope":
            dtd = f'<!DOCTYPE xml [<!ENTITY e "{enc}">]>'
            body = f"{dtd}<xml>{to_user}<Encrypt>&e;</Encrypt></xml>".encode()
        elif kind == "laughs envelope":
            body = (
                f'<!DOCTYPE xml [<!ENTITY a "{MARK_A}"><!ENTITY b '
                '"&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                f"<xml>{to_user}<Encrypt>{cdata(enc)}</Encrypt><X>&c;</X></xml>"
            ).encode()
        elif kind == "UTF-16 envelope":
            body = f"<xml>{to_user}<Encrypt>{cdata(enc)}</Encrypt></xml>".encode("utf-16")
        elif kind == "bad msg_signature":
            msg_sig = "0" * 40
        elif kind == "no msg_signature":
            msg_sig = ""
        elif kind == "encrypt_type=AES":
            extra = {"encrypt_type": "AES"}
        elif kind == "plaintext body":
            body = xml
        elif kind == "over 64 KB envelope":
            big, _ = normal(rng, "培" * 22_000)
            enc = sealed(big.encode())
        elif kind == "signature over other Encrypt":
            msg_sig = signature(TOKEN, "1", "2", enc)
        else:
            body = f"<xml>{to_user}<Encrypt>{cdata(enc)}</Encrypt>\x00</xml>".encode()
        out["envelope shape"].append(
            envelope_shot(
                "envelope shape",
                rng,
                enc,
                variant=kind,
                body=body,
                msg_signature=msg_sig,
                extra=extra,
            )
        )
    for name, gen in CLASSES.items():
        sub = random.Random(f"{SEED}:wrapped:{name}")
        for _ in range(WRAPPED_PER_CLASS):
            body, to, variant = gen(sub, ctx)
            out["valid envelope, hostile body"].append(
                envelope_shot(
                    "valid envelope, hostile body",
                    rng,
                    sealed(body),
                    variant=f"{name}: {variant}",
                    to=to,
                )
            )
    return out


def signature_shots(rng: random.Random) -> tuple[dict[str, list[Shot]], list[tuple[Shot, Shot]]]:
    """Requests to refuse with 403, and (first, replay) pairs that reuse one nonce."""
    out: dict[str, list[Shot]] = {
        k: []
        for k in (
            "bad signature",
            "missing parameters",
            "stale / odd timestamp",
            "current timestamp, odd spelling",
        )
    }

    def body() -> tuple[bytes, str]:
        xml, openid = normal(rng)
        return xml.encode(), openid

    for i in range(150):
        data, openid = body()
        query = signed_query(rng)
        good = query["signature"]
        kind = i % 10
        query["signature"] = [
            f"{rng.getrandbits(160):040x}",
            good.upper(),
            good[:-1],
            good + "0",
            "",
            " " + good,
            signature("other-token", query["timestamp"], query["nonce"]),
            good[::-1],
            signature(TOKEN, query["timestamp"], query["nonce"] + "x"),
            "%00" + good[3:],
        ][kind]
        method = "GET" if i % 7 == 0 else "POST"
        if method == "GET":
            query["echostr"] = "probe-echo"
        out["bad signature"].append(
            Shot("bad signature", data, query, variant=f"variant {kind} {method}", method=method)
        )
    for i in range(50):
        data, openid = body()
        query = signed_query(rng)
        drop = [
            ("timestamp",),
            ("nonce",),
            ("signature",),
            ("timestamp", "nonce"),
            ("signature", "timestamp", "nonce"),
        ][i % 5]
        for name in drop:
            query.pop(name)
        out["missing parameters"].append(
            Shot("missing parameters", data, query, variant="without " + ",".join(drop))
        )
    now = int(time.time())
    for i in range(150):
        data, openid = body()
        # ±400 s: still outside the 300 s window when sent a few seconds after being made.
        ts = [
            str(now - 400),
            str(now + 400),
            str(now - 86400),
            str(now + 10**7),
            "0",
            "-5",
            "abc",
            "1e9",
            f"{now}.5",
            "now",
            str(10**30),
            str(-(10**30)),
            "١٧٠٠٠٠٠٠٠٠",
            "",
            str(now - 10**9),
        ][i % 15]
        nonce = f"{rng.getrandbits(64):016x}"
        query = {
            "signature": signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": openid,
        }
        out["stale / odd timestamp"].append(
            Shot("stale / odd timestamp", data, query, variant=f"timestamp {ts[:16]!r}")
        )
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    for i in range(30):  # signed, current, spelt oddly: no expectation, reported as seen
        data, openid = body()
        now = int(time.time())
        ts = [
            " " + str(now),
            str(now) + " ",
            "+" + str(now),
            "0" + str(now),
            str(now).translate(arabic),
            "\t" + str(now),
        ][i % 6]
        nonce = f"{rng.getrandbits(64):016x}"
        query = {
            "signature": signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": openid,
        }
        out["current timestamp, odd spelling"].append(
            Shot("current timestamp, odd spelling", data, query, variant=f"timestamp {ts!r}")
        )
    pairs = []
    for i in range(150):
        first, openid = body()
        query = signed_query(rng)
        query["openid"] = openid
        if i % 2:
            second = normal(rng)[0].encode()
        else:
            second = text_xml(openid, "最近有什么培训", msg_id=msg_id(rng)).encode()
        how = "other member" if i % 2 else "same member, other message"
        pairs.append(
            (
                Shot("replay primer", first, dict(query), to=openid),
                Shot("replayed nonce", second, dict(query), variant=how),
            )
        )
    return out, pairs


# -- running a class of shots, and what it found ------------------------------------------------


@dataclass
class ClassStats:
    part: str
    name: str
    expect: str = ""  # e.g. "403": anything else is counted as unexpected
    sent: int = 0
    buckets: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    unexpected: int = 0
    latencies: list[float] = field(default_factory=list)
    leak_count: int = 0
    expanded: int = 0
    bad_replies: int = 0
    log_errors: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # status -> a variant that got it

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "part": self.part,
            "class": self.name,
            "sent": self.sent,
            "2xx": self.buckets["2xx"],
            "3xx": self.buckets["3xx"],
            "4xx": self.buckets["4xx"],
            "5xx": self.buckets["5xx"],
            "conn_errors": self.buckets["err"],
            "statuses": dict(sorted(self.statuses.items())),
            "replies": self.replies,
            "expect": self.expect,
            "unexpected": self.unexpected,
            "leaks": self.leak_count,
            "entity_expanded": self.expanded,
            "bad_replies": self.bad_replies,
            "server_log_errors": self.log_errors,
            "refusal_reasons": dict(self.refusals.most_common(6)),
            "example_per_status": self.examples,
            "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        }


class Findings:
    """Every finding, capped per (class, kind) in the report; the counts are kept in full."""

    CAP = 5

    def __init__(self, repro_dir: Path) -> None:
        self.items: list[dict[str, Any]] = []
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.repro_dir = repro_dir
        self._lock = threading.Lock()

    def add(
        self,
        part: str,
        cls: str,
        kind: str,
        detail: str,
        request: dict[str, Any],
        response: dict[str, Any],
        body: bytes | None = None,
    ) -> None:
        with self._lock:
            self.counts[(part, cls, kind)] += 1
            if self.counts[(part, cls, kind)] > (self.CAP * 5 if kind == "5xx" else self.CAP):
                return
            item: dict[str, Any] = {
                "part": part,
                "class": cls,
                "kind": kind,
                "detail": detail,
                "request": request,
                "response": response,
            }
            if body is not None:
                self.repro_dir.mkdir(parents=True, exist_ok=True)
                path = self.repro_dir / f"{len(self.items):03d}.body"
                path.write_bytes(body)
                item["request"]["body_file"] = (
                    str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
                )
            self.items.append(item)

    def failing(self) -> int:
        return sum(n for (_, _, kind), n in self.counts.items() if kind in FAILING)


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def body_repr(shot: Shot, limit: int = 300) -> str:
    data = b"<chunked>" if callable(shot.body) else shot.body
    text = repr(data[:limit])
    return text + (f" … ({len(data)} bytes)" if len(data) > limit else "")


REFUSED = re.compile(r"webhook refused (\d+): (.*)")


def run_class(
    stack: Stack,
    part: str,
    name: str,
    shots: list[Shot],
    findings: Findings,
    pool: ThreadPoolExecutor,
    expect: str = "",
) -> ClassStats:
    stats = ClassStats(part, name, expect)
    assert stack.web is not None
    since = stack.web.log_size()
    outcomes = list(pool.map(lambda s: fire(stack.url, s, keep_alive=False), shots))
    time.sleep(0.3)  # the workers' log lines for this class
    log = stack.web.log_text(since)
    for shot, outcome in zip(shots, outcomes, strict=True):
        record(stats, shot, outcome, findings)
    for line in log.splitlines():
        if m := REFUSED.search(line):
            reason = re.sub(r"\d+", "N", m.group(2))
            stats.refusals[f"{m.group(1)} {reason}"] += 1
        elif " ERROR " in line or "Traceback" in line:
            stats.log_errors += 1
    if stats.log_errors:
        errors = [ln for ln in log.splitlines() if " ERROR " in ln][:3]
        findings.add(
            part,
            name,
            "server error logged",
            f"{stats.log_errors} ERROR lines in the bot's log",
            {},
            {"log": errors},
        )
    return stats


def record(stats: ClassStats, shot: Shot, outcome: Outcome, findings: Findings) -> None:
    stats.sent += 1
    stats.buckets[bucket(outcome.status)] += 1
    stats.statuses[str(outcome.status) if outcome.status else outcome.error] += 1
    stats.latencies.append(outcome.elapsed)
    request = {
        "method": shot.method,
        "query": shot.query,
        "variant": shot.variant,
        "body": body_repr(shot),
    }
    response = {
        "status": outcome.status,
        "error": outcome.error,
        "body": outcome.text[:200],
        "elapsed_ms": round(outcome.elapsed * 1000, 1),
    }
    raw = None if callable(shot.body) else shot.body
    stats.examples.setdefault(str(outcome.status or outcome.error), shot.variant[:80])
    if stats.expect and str(outcome.status) != stats.expect:
        stats.unexpected += 1
        findings.add(
            stats.part, stats.name, f"not {stats.expect}", shot.variant, request, response, raw
        )
    if outcome.status is not None and outcome.status >= 500:
        findings.add(stats.part, stats.name, "5xx", shot.variant, request, response, raw)
    # A body over the limit may be answered 413 and the connection closed while the client
    # is still sending: a reset there is the limit working, not a failure.
    over_limit = raw is None or len(raw) > LIMIT
    if outcome.status is None and not over_limit:
        findings.add(
            stats.part,
            stats.name,
            "connection error",
            f"{shot.variant}: {outcome.error}",
            request,
            response,
            raw,
        )
    if outcome.status is None:
        return
    size = shot.size or (len(raw) if raw is not None else 0)
    if size > LIMIT and outcome.status < 300:
        findings.add(
            stats.part,
            stats.name,
            "over-limit body answered",
            f"{shot.variant}: {size} bytes answered {outcome.status} (the bytes past {LIMIT} were "
            "never read)",
            request,
            response,
            raw if raw is not None else None,
        )
    texts = [outcome.text] if not shot.encrypted or not is_reply(outcome) else [outcome.plain]
    for text in texts:
        for kind, words in leaks(text):
            stats.leak_count += 1
            stats.expanded += kind == "entity expanded"
            findings.add(
                stats.part,
                stats.name,
                kind,
                f"{shot.variant}: {words}",
                request,
                response | {"plain": outcome.plain[:300]},
                raw,
            )
    if is_reply(outcome):
        stats.replies += 1
        problem = reply_problem(outcome.plain, shot.to)
        if problem:
            stats.bad_replies += 1
            findings.add(
                stats.part,
                stats.name,
                "bad reply",
                f"{shot.variant}: {problem}",
                request,
                response | {"plain": outcome.plain[:300]},
                raw,
            )


# -- the web side -------------------------------------------------------------------------------


class PageParser(HTMLParser):
    """Links and forms (with their fields) of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "method": (a.get("method") or "get").lower(),
                "action": a.get("action", ""),
                "enctype": a.get("enctype", ""),
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is not None:
            name = a.get("name")
            if not name:
                return
            if tag == "input":
                kind = (a.get("type") or "text").lower()
                if (
                    kind in ("checkbox", "radio")
                    and "checked" not in a
                    and any(f[0] == name for f in self._form["fields"])
                ):
                    return
                self._form["fields"].append(
                    (name, a.get("value", "on" if kind == "checkbox" else ""), kind)
                )
            elif tag in ("textarea", "button"):
                self._form["fields"].append((name, a.get("value", ""), tag))
            elif tag == "select":
                self._select = [name, None]
        if tag == "option" and self._select is not None and self._select[1] is None:
            self._select[1] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            self._form["fields"].append((self._select[0], self._select[1] or "", "select"))
            self._select = None
        elif tag == "form":
            self._form = None


def page_text(html: str) -> str:
    """The visible words of an HTML page (for reports: the first 200 characters of a console
    page are its <head>)."""
    body = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def csrf_field(forms: list[dict[str, Any]]) -> tuple[str, str] | None:
    for form in forms:
        for name, value, _ in form["fields"]:
            if "csrf" in name.lower():
                return name, value
    return None


def sign_in(url: str) -> tuple[requests.Session, str, str]:
    """A console session signed in as the probe's admin; answers (session, csrf name, token)."""
    session = requests.Session()
    page = session.get(url + "/admin/login", timeout=10)
    found = csrf_field(parse_page(page.text).forms)
    if found is None:
        raise RuntimeError(f"no CSRF field on the login page ({page.status_code})")
    name, token = found
    done = session.post(
        url + "/admin/login",
        data={name: token, "username": ADMIN_USER, "password": ADMIN_PASSWORD, "next": ""},
        allow_redirects=False,
        timeout=10,
    )
    if done.status_code not in (302, 303):
        raise RuntimeError(f"sign-in answered {done.status_code}: {done.text[:200]}")
    home = session.get(url + "/admin/", allow_redirects=False, timeout=10)
    if home.status_code != 200:
        raise RuntimeError(f"/admin/ after sign-in answered {home.status_code}")
    after = csrf_field(parse_page(home.text).forms)
    return session, name, after[1] if after else token


SKIP_CRAWL = re.compile(r"logout|export\.|/admin/checkin/|download")


def crawl(url: str, session: requests.Session, limit: int = 60) -> dict[str, Any]:
    """The console's pages reachable from /admin/ (GET only, no exports or check-ins)."""
    seen: dict[str, int] = {}
    per_path: Counter[str] = Counter()
    queue = ["/admin/"]
    forms: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    query_names: set[str] = set()
    while queue and len(seen) < limit:
        target = queue.pop(0)
        if target in seen:
            continue
        pattern = re.sub(r"/\d+", "/N", urlsplit(target).path)
        if per_path[pattern] >= 2:
            continue
        per_path[pattern] += 1
        try:
            response = session.get(url + target, allow_redirects=False, timeout=15)
        except requests.RequestException:
            seen[target] = 0
            continue
        seen[target] = response.status_code
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        page = parse_page(response.text)
        for href in page.links:
            absolute = urljoin(url + target, href)
            parts = urlsplit(absolute)
            if (
                absolute.startswith(url)
                and parts.path.startswith("/admin")
                and not SKIP_CRAWL.search(parts.path)
            ):
                for pair in parts.query.split("&"):
                    if pair:
                        query_names.add(pair.split("=")[0])
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        for form in page.forms:
            action = urlsplit(urljoin(url + target, form["action"] or target)).path
            names = tuple(sorted({f[0] for f in form["fields"]}))
            if form["method"] == "get":
                query_names.update(names)
            key = (form["method"], re.sub(r"/\d+", "/N", action), names)
            forms.setdefault(key, form | {"action_path": action, "found_on": target})
    return {"pages": seen, "forms": list(forms.values()), "query_names": sorted(query_names)}


def routes(stack: Stack) -> list[dict[str, Any]]:
    """The app's URL rules (from its url_map, in a process of its own)."""
    code = (
        "import json\nfrom wsgi import app\nout=[]\n"
        "for r in app.url_map.iter_rules():\n"
        "    out.append({'rule': r.rule, 'endpoint': r.endpoint,"
        " 'methods': sorted(r.methods - {'HEAD','OPTIONS'}),"
        " 'args': {k: type(v).__name__ for k, v in r._converters.items()}})\n"
        "print('ROUTES' + json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(BIN / "python"), "-c", code],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for line in done.stdout.splitlines():
        if line.startswith("ROUTES"):
            return list(json.loads(line[len("ROUTES") :]))
    raise RuntimeError(f"could not list the routes: {done.stderr[-500:]}")


BIG_IDS = [
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "1" + "0" * 40,
    "-1",
    "0",
    "00000000000000000000001",
]
ODD_STRINGS = [
    "a%00b",
    "%00",
    "x" * 3000,
    "%E5%9F%B9%E8%AE%AD",
    "..%2F..%2Fetc%2Fpasswd",
    "%ff%fe",
    "%c0%af",
    "a%20b",
    "%25",
    "%7B%7B7*7%7D%7D",
    "%3Cscript%3E",
    "1%00",
]
QUERY_VALUES = [
    "99999999999999999999",
    "9223372036854775808",
    "18446744073709551616",
    "-99999999999999999999",
    "²",
    "١٢٣",
    "%00",
    "1%00",
    "-1",
    "0",
    "1e309",
    "NaN",
    "x" * 3000,
    "%ff",
    "1,2",
    "[]",
    " 1",
]
# Sent to every query argument of every page: beyond 64 bits, BIGINT's maximum (a page number
# that size overflows its offset), a digit int() reads but SQL does not, a NUL.
ALWAYS_QUERY_VALUES = ["99999999999999999999", "9223372036854775807", "²", "%00"]
QUERY_NAMES = [
    "page",
    "chamber",
    "bound",
    "q",
    "show",
    "all",
    "openid",
    "intent",
    "next",
    "per_page",
    "id",
    "status",
    "session",
    "session_id",
    "topic",
    "sort",
    "fmt",
]
ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def fill_rule(rule: str, args: dict[str, str], values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(2)
        if name in values:
            return values[name]
        return "1" if "Int" in args.get(name, "") else ("csv" if name == "fmt" else "x")

    return ARG.sub(sub, rule)


@dataclass
class WebShot:
    cls: str
    method: str
    path: str  # with the query, already encoded
    signed_in: bool
    data: dict[str, str] | None = None
    files: dict[str, tuple[str | None, bytes]] | None = None
    headers: dict[str, str] | None = None
    csrf: bool = False  # add the session's own token to ``data``


def web_shots(
    rules: list[dict[str, Any]], crawled: dict[str, Any], rng: random.Random
) -> dict[str, list[WebShot]]:
    out: dict[str, list[WebShot]] = {
        k: []
        for k in (
            "ids beyond 64 bits",
            "odd path strings",
            "%00 in paths",
            "odd query args",
            "%00 in login fields",
        )
    }
    web_rules = [
        r for r in rules if not r["endpoint"].startswith(("static", "webhook", "dev.", "sandbox"))
    ]
    for rule in web_rules:
        ints = [n for n, c in rule["args"].items() if "Int" in c]
        strings = [n for n, c in rule["args"].items() if "Int" not in c and n != "fmt"]
        for signed_in in (False, True):
            for method in rule["methods"]:
                if method not in ("GET", "POST"):
                    continue
                for name in ints:
                    for big in BIG_IDS:
                        path = fill_rule(rule["rule"], rule["args"], {name: big})
                        # A POST carries the session's token only for ids the converter refuses:
                        # no view runs, so nothing can change.
                        token = method == "POST" and (big.startswith("-") or int(big) > 2**63 - 1)
                        out["ids beyond 64 bits"].append(
                            WebShot(
                                "ids beyond 64 bits", method, path, signed_in, data={}, csrf=token
                            )
                        )
                for name in strings:
                    for odd in ODD_STRINGS:
                        if method == "GET":
                            out["odd path strings"].append(
                                WebShot(
                                    "odd path strings",
                                    method,
                                    fill_rule(rule["rule"], rule["args"], {name: odd}),
                                    signed_in,
                                )
                            )
            if "GET" in rule["methods"]:
                base = fill_rule(rule["rule"], rule["args"], {})
                for path in {
                    base + "%00",
                    base.rstrip("/") + "/%00",
                    base + "/a%00b",
                    base + "?x=%00",
                }:
                    out["%00 in paths"].append(WebShot("%00 in paths", "GET", path, signed_in))
    for path in (
        "/checkin/a%00b",
        "/admin/checkin/a%00b",
        "/kb/a%00b",
        "/%00",
        "/healthz%00",
        "/healthz?x=%00",
    ):
        for signed_in in (False, True):
            out["%00 in paths"].append(WebShot("%00 in paths", "GET", path, signed_in))
    pages = [p for p, status in crawled["pages"].items() if status == 200][:15] + [
        "/healthz",
        "/kb/chamber.election",
        "/checkin/x",
        "/admin/login",
    ]
    names = sorted(set(QUERY_NAMES) | set(crawled["query_names"]))
    for page in pages:
        base, _, existing = page.partition("?")
        for name in names:
            values = [*ALWAYS_QUERY_VALUES, rng.choice(QUERY_VALUES)]
            for value in values:
                query = (
                    existing + "&" if existing else ""
                ) + f"{quote(name)}={value if '%' in value else quote(value)}"
                out["odd query args"].append(
                    WebShot(
                        "odd query args",
                        "GET",
                        f"{base}?{query}",
                        base.startswith("/admin") and base != "/admin/login",
                    )
                )
    for field_name, value in [
        ("username", "a\x00b"),
        ("username", "\x00"),
        ("username", ADMIN_USER + "\x00"),
        ("password", "pw\x00"),
        ("password", ADMIN_PASSWORD + "\x00"),
        ("next", "/admin/\x00"),
        ("next", "\x00//evil.example"),
        ("username", "x" * 5000 + "\x00"),
    ]:
        data = {
            "username": "nobody-" + f"{rng.getrandbits(24):x}",
            "password": "wrong-password",
            "next": "",
        }
        data[field_name] = value
        out["%00 in login fields"].append(
            WebShot("%00 in login fields", "POST", "/admin/login", False, data=data, csrf=True)
        )
        # multipart: the same fields as parts
        files: dict[str, tuple[str | None, bytes]] = {
            k: (None, v.encode()) for k, v in data.items()
        }
        out["%00 in login fields"].append(
            WebShot("%00 in login fields", "POST", "/admin/login", False, files=files, csrf=True)
        )
    out["%00 in login fields"].append(
        WebShot(
            "%00 in login fields",
            "POST",
            "/admin/login",
            False,
            data={"username": "a", "password": "b", "csrf_token": "\x00"},
        )
    )
    return out


def raw_requests(url: str) -> list[tuple[str, bytes]]:
    """Requests no client library would send: a raw NUL in the request line or a header."""
    host = urlsplit(url).netloc
    lines = [
        ("raw NUL in path", f"GET /admin/\x00 HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        ("raw NUL in query", f"GET /admin/members?q=\x00 HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        ("raw NUL in header", f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Probe: a\x00b\r\n\r\n"),
        (
            "raw NUL in cookie",
            f"GET /admin/ HTTP/1.1\r\nHost: {host}\r\nCookie: session=\x00\r\n\r\n",
        ),
        (
            "raw NUL in webhook query",
            f"POST /wechat?signature=\x00 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n",
        ),
        ("raw bytes in path", f"GET /kb/\xff\xfe HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    ]
    return [(name, text.encode("latin-1")) for name, text in lines]


def send_raw(url: str, data: bytes) -> tuple[int | None, str]:
    host, port = urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(data)
        chunks = b""
        with suppress(OSError):
            while len(chunks) < 65536:
                got = conn.recv(65536)
                if not got:
                    break
                chunks += got
                if b"\r\n\r\n" in chunks and (
                    b"Content-Length: 0" in chunks
                    or chunks.count(b"\r\n\r\n")
                    and len(chunks.split(b"\r\n\r\n", 1)[1]) >= _content_length(chunks)
                ):
                    break
    head = chunks.split(b"\r\n", 1)[0].decode("latin-1")
    m = re.match(r"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else None), chunks.decode("utf-8", errors="replace")


def _content_length(data: bytes) -> int:
    m = re.search(rb"(?i)content-length:\s*(\d+)", data)
    return int(m.group(1)) if m else 10**9


def fire_web(
    url: str, shot: WebShot, session: requests.Session, token: tuple[str, str] | None
) -> Outcome:
    data = dict(shot.data) if shot.data is not None else None
    files = dict(shot.files) if shot.files is not None else None
    if shot.csrf and token is not None:
        if files is not None:
            files[token[0]] = (None, token[1].encode())
        else:
            data = (data or {}) | {token[0]: token[1]}
    started = time.perf_counter()
    try:
        response = session.request(
            shot.method,
            url + shot.path,
            data=data,
            files=files,
            headers=shot.headers,
            allow_redirects=False,
            timeout=20,
        )
    except requests.RequestException as exc:
        return Outcome(None, "", "", time.perf_counter() - started, type(exc).__name__)
    return Outcome(
        response.status_code,
        response.text,
        response.text,
        time.perf_counter() - started,
        response.headers.get("Location", ""),
    )


def web_leaks(outcome: Outcome) -> list[tuple[str, str]]:
    """Console pages are long HTML: only error pages are searched for exception names."""
    if outcome.status is None:
        return []
    found = [
        (k, w)
        for k, w in leaks(outcome.text)
        if k not in ("exception name", "aes config") or outcome.status >= 400
    ]
    if outcome.status < 400 and "Traceback (most recent call last)" in outcome.text:
        found.append(("exception name", "Traceback"))
    return found


def run_web_class(
    stack: Stack,
    name: str,
    shots: list[WebShot],
    findings: Findings,
    sessions: dict[bool, tuple[requests.Session, tuple[str, str] | None]],
) -> ClassStats:
    stats = ClassStats("web", name, "never 5xx")
    assert stack.web is not None
    since = stack.web.log_size()
    lock = threading.Lock()

    def one(shot: WebShot) -> tuple[WebShot, Outcome]:
        session, token = sessions[shot.signed_in]
        if not shot.signed_in and shot.csrf:  # a fresh anonymous session with its own token
            session = requests.Session()
            found = csrf_field(
                parse_page(session.get(stack.url + "/admin/login", timeout=10).text).forms
            )
            token = found
        return shot, fire_web(stack.url, shot, session, token)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, shots))
    time.sleep(0.3)
    for shot, outcome in results:
        with lock:
            stats.sent += 1
            stats.buckets[bucket(outcome.status)] += 1
            stats.statuses[str(outcome.status) if outcome.status else outcome.error] += 1
            stats.latencies.append(outcome.elapsed)
        request = {
            "method": shot.method,
            "path": shot.path[:300],
            "signed_in": shot.signed_in,
            "data": {k: v[:80] for k, v in (shot.data or {}).items()},
            "multipart": shot.files is not None,
        }
        response = {
            "status": outcome.status,
            "location": outcome.error if outcome.status else "",
            "body": outcome.text[:200],
            "text": page_text(outcome.text)[:200],
        }
        if outcome.status is None or outcome.status >= 500:
            stats.unexpected += 1
            findings.add(
                "web",
                name,
                "5xx" if outcome.status else "connection error",
                f"{shot.method} {shot.path[:120]}",
                request,
                response,
            )
        for kind, words in web_leaks(outcome):
            stats.leak_count += 1
            findings.add(
                "web", name, kind, f"{shot.method} {shot.path[:120]}: {words}", request, response
            )
    for line in stack.web.log_text(since).splitlines():
        if " ERROR " in line:
            stats.log_errors += 1
            stats.refusals[re.sub(r"^.*? ERROR ", "", line)[:100]] += 1
    return stats


def db_digest(db_path: Path) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        out = {}
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - names from sqlite_master
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()[:16]
            out[table] = (len(rows), digest)
        return out
    finally:
        conn.close()


def csrf_part(
    stack: Stack,
    findings: Findings,
    crawled: dict[str, Any],
    session: requests.Session,
    token: tuple[str, str],
    rules: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every POST form found, sent without a valid token, and every other console POST route
    (from the URL map, ids 1, no fields); nothing may change."""
    rng = random.Random(f"{SEED}:csrf")
    other_session, _, other_token = sign_in(stack.url)  # a second sign-in: its token is not ours
    wait_quiet(stack)
    before = db_digest(stack.db_path)
    rows = []
    forms = [f for f in crawled["forms"] if f["method"] == "post"]
    anonymous_login = {
        "action_path": "/admin/login",
        "fields": [
            ("username", ADMIN_USER, "text"),
            ("password", ADMIN_PASSWORD, "password"),
            ("next", "", "hidden"),
        ],
        "enctype": "",
        "found_on": "(anonymous)",
        "anonymous": True,
    }
    seen = {re.sub(r"/\d+", "/N", f["action_path"]) for f in [*forms, anonymous_login]}
    unformed = []
    for rule in rules:
        if not rule["endpoint"].startswith("admin.") or "POST" not in rule["methods"]:
            continue
        path = fill_rule(rule["rule"], rule["args"], {})
        if re.sub(r"/\d+", "/N", path) not in seen:
            seen.add(re.sub(r"/\d+", "/N", path))
            unformed.append(
                {"action_path": path, "fields": [], "enctype": "", "found_on": "(url map)"}
            )
    for form in [*forms, anonymous_login, *unformed]:
        fields = {}
        files = {}
        for name, value, kind in form["fields"]:
            if "csrf" in name.lower():
                continue
            if kind == "file":
                files[name] = ("roster.csv", "姓名,手机\n探针,13800000000\n".encode())
            else:
                fields[name] = value or ("2031-01-01" if "date" in name else "probe-csrf")
        variants = {
            "no token": {},
            "empty token": {token[0]: ""},
            "wrong token": {token[0]: f"{rng.getrandbits(128):032x}"},
            "other session's token": {token[0]: other_token},
            "wrong X-CSRF-Token header": "header",
        }
        row = {
            "form": form["action_path"],
            "found_on": form["found_on"],
            "fields": sorted(fields),
            "statuses": {},
        }
        for variant, extra in variants.items():
            client = requests.Session() if form.get("anonymous") else session
            headers = (
                {"X-CSRF-Token": f"{rng.getrandbits(128):032x}"} if extra == "header" else None
            )
            data = fields | (extra if isinstance(extra, dict) else {})
            try:
                response = client.post(
                    stack.url + form["action_path"],
                    data=data,
                    files=files or None,
                    headers=headers,
                    allow_redirects=False,
                    timeout=20,
                )
                status: int | None = response.status_code
                text = response.text
            except requests.RequestException as exc:
                status, text = None, type(exc).__name__
            row["statuses"][variant] = status
            if status != 400:
                findings.add(
                    "csrf",
                    form["action_path"],
                    "5xx" if status and status >= 500 else "not 400",
                    variant,
                    {
                        "method": "POST",
                        "path": form["action_path"],
                        "data": {k: str(v)[:60] for k, v in data.items()},
                    },
                    {"status": status, "body": text[:200]},
                )
            for kind, words in leaks(text):
                if kind != "exception name" or (status or 0) >= 400:
                    findings.add(
                        "csrf",
                        form["action_path"],
                        kind,
                        f"{variant}: {words}",
                        {"path": form["action_path"]},
                        {"status": status, "body": text[:200]},
                    )
        rows.append(row)
    time.sleep(1.5)
    after = db_digest(stack.db_path)
    changed = {
        t: {"before": before.get(t), "after": after.get(t)}
        for t in sorted(set(before) | set(after))
        if before.get(t) != after.get(t)
    }
    for table, change in changed.items():
        findings.add(
            "csrf",
            table,
            "change without csrf",
            f"table {table} changed while forms were posted without a token",
            {},
            change,
        )
    still = session.get(stack.url + "/admin/", allow_redirects=False, timeout=10).status_code
    other_session.close()
    return rows, {
        "tables_changed": changed,
        "still_signed_in": still == 200,
        "forms": len(forms) + 1,
        "routes_without_a_form": len(unformed),
    }


def wait_quiet(stack: Stack, timeout: float = 20.0) -> None:
    """Until the conversation-log list in Redis is drained (the worker has written it)."""
    client = stack.redis_client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with suppress(redis.RedisError):
                if client.llen("bot:convlog") == 0:
                    break
            time.sleep(0.2)
        time.sleep(1.5)  # the batch the worker popped last is committed by now
    finally:
        client.close()


# -- slow clients -------------------------------------------------------------------------------


class Member:
    """One member's deliveries, signed (and sealed in safe mode) as WeChat does."""

    def __init__(self, url: str, openid: str, rng: random.Random) -> None:
        self.url = url
        self.openid = openid
        self.rng = rng
        self.signer = Signer(TOKEN, APP_ID, AES_KEY)

    def say(self, text: str, timeout: float = 10.0) -> Outcome:
        query, body = self.signer.request(
            text_xml(self.openid, text, msg_id=msg_id(self.rng)),
            openid=self.openid,
            nonce=f"{self.rng.getrandbits(64):016x}",
        )
        return fire(self.url, Shot("member", body, query, to=self.openid), timeout=timeout)


def stalled_connection(url: str, member: Member, extra: int = 100) -> tuple[socket.socket, bytes]:
    """A POST that announces ``extra`` more body bytes than it sends; answers the socket and
    the bytes still owed."""
    query, body = member.signer.request(text_xml(member.openid, "你好"), openid=member.openid)
    host, port = urlsplit(url).netloc.split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST /wechat?{urlencode(query)} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {len(body) + extra}\r\n\r\n"
    )
    conn.sendall(head.encode() + body)
    return conn, b" " * extra


def slow_part(stack: Stack, rng: random.Random) -> dict[str, Any]:
    assert stack.web is not None
    since = stack.web.log_size()
    pids_before = stack.worker_pids()
    stalled = [stalled_connection(stack.url, Member(stack.url, oid(rng), rng))[0] for _ in range(4)]
    opened = time.monotonic()
    time.sleep(0.3)  # the stalled requests are inside the workers now
    members = [Member(stack.url, oid(rng), rng) for _ in range(20)]
    with ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(lambda m: m.say(rng.choice(["你好", "最近有什么培训"])), members))
    ends = []
    for conn in stalled:
        conn.settimeout(max(0.5, 12 - (time.monotonic() - opened)))
        try:
            data = conn.recv(4096)
            how = "closed" if not data else data.split(b"\r\n", 1)[0].decode("latin-1")
        except TimeoutError:
            how = "still open after 12 s"
        except OSError as exc:
            how = f"reset ({type(exc).__name__})"
        ends.append({"ended": how, "after_s": round(time.monotonic() - opened, 2)})
        conn.close()
    after = Member(stack.url, oid(rng), rng).say("你好")
    trickle = trickle_part(stack, rng)
    log = stack.web.log_text(since)
    lat = sorted(o.elapsed for o in outcomes)
    return {
        "stalled_connections": ends,
        "messages": len(outcomes),
        "statuses": dict(Counter(str(o.status or o.error) for o in outcomes)),
        "answered": sum(is_reply(o) for o in outcomes),
        "latency_ms": [round(o.elapsed * 1000, 1) for o in outcomes],
        "p50_ms": round(percentile(lat, 50) * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "after_status": after.status,
        "worker_timeouts_in_log": log.count("WORKER TIMEOUT"),
        "worker_pids_before": pids_before,
        "worker_pids_after": stack.worker_pids(),
        "trickle": trickle,
    }


def trickle_part(
    stack: Stack, rng: random.Random, conns: int = 16, seconds: float = 12.0
) -> dict[str, Any]:
    """Beyond the brief: connections that send their body one byte every 1.5 s, always inside
    the per-read limit, as many as the two workers have threads (2 x 8); members meanwhile."""
    sockets = [
        stalled_connection(stack.url, Member(stack.url, oid(rng), rng), extra=100)
        for _ in range(conns)
    ]
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.5):
            for conn, _owed in sockets:
                with suppress(OSError):
                    conn.send(b" ")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    time.sleep(0.5)
    outcomes = []
    started = time.monotonic()
    while time.monotonic() - started < seconds - 1:
        outcomes.append(Member(stack.url, oid(rng), rng).say("你好", timeout=6.0))
        time.sleep(max(0.0, 1.0 - outcomes[-1].elapsed))
    stop.set()
    dripper.join(timeout=5)
    for conn, _ in sockets:
        conn.close()
    time.sleep(0.5)
    lat = sorted(o.elapsed for o in outcomes)
    return {
        "connections": conns,
        "seconds": seconds,
        "messages": len(outcomes),
        "answered": sum(is_reply(o) for o in outcomes),
        "over_5s_or_failed": sum(1 for o in outcomes if o.status != 200 or o.elapsed > 5),
        "latency_ms": [round(o.elapsed * 1000, 1) for o in outcomes],
        "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        "after": Member(stack.url, oid(rng), rng).say("你好").status,
    }


# -- the Redis outage ---------------------------------------------------------------------------


def fault_part(
    stack: Stack,
    findings: Findings,
    rate: float = 20.0,
    seconds: float = 30.0,
    kill_at: float = 8.0,
    down_for: float = 10.0,
) -> dict[str, Any]:
    run = f"{random.Random().getrandbits(24):06x}"  # openids of this run only
    total = int(rate * seconds)
    sent: list[dict[str, Any]] = [{} for _ in range(total)]
    health: list[dict[str, Any]] = []
    events: dict[str, float] = {}
    stop = threading.Event()
    t0 = time.monotonic()

    def send(i: int) -> None:
        openid = f"o-probe-f-{run}-{i:04d}"
        text = "你好" if i % 2 == 0 else "最近有什么培训"
        at = time.monotonic() - t0
        outcome = Member(stack.url, openid, random.Random(f"{SEED}:{i}")).say(text, timeout=10.0)
        sent[i] = {
            "i": i,
            "openid": openid,
            "text": text,
            "at": at,
            "status": outcome.status,
            "error": outcome.error,
            "reply": is_reply(outcome),
            "degraded": DEGRADED_NOTE in outcome.text,
            "elapsed": outcome.elapsed,
            "body": outcome.text[:200],
        }
        if outcome.status is not None and outcome.status >= 500:
            findings.add(
                "fault",
                "webhook",
                "5xx",
                f"{text} at {at:.1f} s",
                {"openid": openid, "text": text},
                {"status": outcome.status, "body": outcome.text[:200]},
            )
        for kind, words in leaks(outcome.text):
            findings.add(
                "fault",
                "webhook",
                kind,
                words,
                {"openid": openid},
                {"status": outcome.status, "body": outcome.text[:200]},
            )

    def poll_health() -> None:
        while not stop.is_set():
            at = time.monotonic() - t0
            try:
                response = requests.get(stack.url + "/healthz", timeout=5)
                health.append(
                    {
                        "at": at,
                        "status": response.status_code,
                        "elapsed": response.elapsed.total_seconds(),
                        "body": response.text[:300],
                    }
                )
            except requests.RequestException as exc:
                health.append({"at": at, "status": None, "error": type(exc).__name__})
            stop.wait(0.5)

    def outage() -> None:
        time.sleep(max(0.0, kill_at - (time.monotonic() - t0)))
        events["killed"] = time.monotonic() - t0
        stack.kill_redis()
        time.sleep(max(0.0, kill_at + down_for - (time.monotonic() - t0)))
        events["restarting"] = time.monotonic() - t0
        stack.start_redis()
        events["up"] = time.monotonic() - t0

    poller = threading.Thread(target=poll_health, daemon=True)
    killer = threading.Thread(target=outage, daemon=True)
    poller.start()
    killer.start()
    with ThreadPoolExecutor(16) as pool:
        for i in range(total):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, i)
    killer.join(timeout=30)
    time.sleep(2)
    stop.set()
    poller.join(timeout=10)

    def phase(at: float) -> str:
        if at < events.get("killed", 1e9):
            return "before"
        return "during" if at < events.get("up", 1e9) else "after"

    # The log: each member sent one message, so each answered one needs one row.
    rows = wait_for_rows(
        stack, f"o-probe-f-{run}-%", expected=sum(1 for s in sent if s.get("status") == 200)
    )
    phases: dict[str, dict[str, Any]] = {}
    for name in ("before", "during", "after"):
        these = [s for s in sent if s and phase(s["at"]) == name]
        lat = sorted(s["elapsed"] for s in these if s["status"] is not None)
        checks = [h for h in health if phase(h["at"]) == name]
        phases[name] = {
            "sent": len(these),
            "answered": sum(s["reply"] for s in these),
            "success_only": sum(1 for s in these if s["status"] == 200 and not s["reply"]),
            "degraded_note": sum(s["degraded"] for s in these),
            "not_answered": sum(1 for s in these if s["status"] != 200),
            "5xx": sum(1 for s in these if (s["status"] or 0) >= 500),
            "over_5s": sum(1 for s in these if s["elapsed"] > 5),
            "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
            "p99_ms": round(percentile(lat, 99) * 1000, 1) if lat else None,
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "healthz": dict(Counter(str(h.get("status")) for h in checks)),
        }
    answered = {s["openid"] for s in sent if s and s["reply"]}
    accepted = {s["openid"] for s in sent if s and s["status"] == 200 and not s["reply"]}
    lost = sorted(o for o in answered if rows.get(o, 0) == 0)
    lost_success = sorted(o for o in accepted if rows.get(o, 0) == 0)
    twice = sorted(o for o, n in rows.items() if n > 1)
    for openid in lost[:5]:
        s = next(x for x in sent if x and x["openid"] == openid)
        findings.add(
            "fault",
            "conversation log",
            "lost log line",
            f"answered at {s['at']:.1f} s ({phase(s['at'])}), no row",
            {"openid": openid, "text": s["text"]},
            {"status": s["status"], "body": s["body"]},
        )
    for _ in lost[5:]:
        findings.counts[("fault", "conversation log", "lost log line")] += 1
    for openid in lost_success[:5]:
        s = next(x for x in sent if x and x["openid"] == openid)
        findings.add(
            "fault",
            "conversation log",
            "lost log line",
            f"'success' at {s['at']:.1f} s ({phase(s['at'])}), no row (a late reply is logged as "
            "a push)",
            {"openid": openid},
            {"status": s["status"]},
        )
    for _ in lost_success[5:]:
        findings.counts[("fault", "conversation log", "lost log line")] += 1
    outage_health = [h for h in health if phase(h["at"]) == "during"]
    for h in outage_health:
        for kind, words in leaks(h.get("body", "")):
            findings.add(
                "fault",
                "/healthz",
                kind,
                f"/healthz during the outage: {words}",
                {"method": "GET", "path": "/healthz"},
                {"status": h.get("status"), "body": h.get("body", "")[:200]},
            )
            break
    for h in health:
        if (
            phase(h["at"]) != "during"
            and (h.get("status") or 0) >= 500
            and h["at"] > events.get("up", 0) + 5
        ):
            findings.add(
                "fault",
                "/healthz",
                "5xx",
                f"/healthz {h['status']} at {h['at']:.1f} s, 5 s after Redis was back",
                {"path": "/healthz"},
                {"status": h["status"], "body": h.get("body", "")[:200]},
            )
    recovered = next(
        (
            h["at"] - events["up"]
            for h in health
            if "up" in events and h["at"] >= events["up"] and h.get("status") == 200
        ),
        None,
    )
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "events_s": {k: round(v, 2) for k, v in events.items()},
        "phases": phases,
        "answered": len(answered),
        "success_only": len(accepted),
        "not_answered": sum(1 for s in sent if s and s["status"] != 200),
        "log_rows": sum(rows.values()),
        "answered_without_row": len(lost),
        "success_without_row": len(lost_success),
        "members_with_two_rows": len(twice),
        "healthz_during_outage": [
            {
                "at": round(h["at"], 1),
                "status": h.get("status"),
                "body": h.get("body", h.get("error", ""))[:160],
            }
            for h in outage_health[:3]
        ],
        "healthz_200_again_after_s": round(recovered, 2) if recovered is not None else None,
        "job_worker_alive": stack.worker.alive() if stack.worker else None,
        "gunicorn_workers": stack.worker_pids(),
    }


def wait_for_rows(
    stack: Stack, pattern: str, expected: int, timeout: float = 40.0
) -> dict[str, int]:
    """Rows of the conversation log per openid, once the count has been still for 4 s (or all
    expected rows are there and have been for 2 s)."""
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    rows: dict[str, int] = {}
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{stack.db_path}?mode=ro", uri=True, timeout=10)
        try:
            rows = dict(
                conn.execute(
                    "SELECT openid, COUNT(*) FROM conversation_logs WHERE openid LIKE ? GROUP BY "
                    "openid",
                    (pattern,),
                ).fetchall()
            )
        except sqlite3.Error:
            rows = {}
        finally:
            conn.close()
        count = sum(rows.values())
        if count != last:
            last, still_since = count, time.monotonic()
        quiet = time.monotonic() - still_since
        if quiet >= 4 or (count >= expected and quiet >= 2):
            break
        time.sleep(0.5)
    return rows


# -- out-of-band listener ------------------------------------------------------------------------


class OutOfBand:
    """An HTTP listener that external entities point at: any request to it is a fetch."""

    def __init__(self) -> None:
        hits = self.hits = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(FILE_MARKER.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the report ---------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(_wide(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c + " " * (w - _wide(c)) if i == 0 else " " * (w - _wide(c)) + c
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _wide(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def class_rows(stats: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for s in stats:
        top = next(iter(s["refusal_reasons"]), "")
        rows.append(
            [
                s["class"],
                s["sent"],
                s["2xx"],
                s["3xx"],
                s["4xx"],
                s["5xx"],
                s["conn_errors"],
                s["replies"],
                s["leaks"],
                s["entity_expanded"],
                s["bad_replies"],
                s["server_log_errors"],
                s["p50_ms"],
                s["max_ms"],
                top[:44],
            ]
        )
    total = [
        sum(s[k] for s in stats)
        for k in (
            "sent",
            "2xx",
            "3xx",
            "4xx",
            "5xx",
            "conn_errors",
            "replies",
            "leaks",
            "entity_expanded",
            "bad_replies",
            "server_log_errors",
        )
    ]
    rows.append(["TOTAL", *total, "", "", ""])
    return rows


CLASS_HEADERS = [
    "class",
    "sent",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "err",
    "reply",
    "leak",
    "expand",
    "badreply",
    "logERR",
    "p50ms",
    "maxms",
    "most common refusal (log)",
]


def print_report(report: dict[str, Any]) -> None:
    parts = report["parts"]
    print()
    if "slow" in parts:
        s = parts["slow"]
        print("== slow clients: 4 connections owing 100 body bytes, then 20 members ==")
        print(
            table(
                ["stalled connection", "ended", "after s"],
                [[i + 1, e["ended"], e["after_s"]] for i, e in enumerate(s["stalled_connections"])],
            )
        )
        print(
            f"20 messages: statuses {s['statuses']}, answered {s['answered']}, p50 {s['p50_ms']} "
            f"ms, max {s['max_ms']} ms"
        )
        print(f"  latencies ms: {s['latency_ms']}")
        print(
            f"WORKER TIMEOUT in gunicorn log: {s['worker_timeouts_in_log']} (end of run: "
            f"{report['worker_timeouts_total']}); "
            f"worker pids {s['worker_pids_before']} -> {s['worker_pids_after']} (end of run: "
            f"{report['worker_pids_end']})"
        )
        t = s["trickle"]
        print(
            f"extra: {t['connections']} connections trickling 1 byte/1.5 s for {t['seconds']:g} "
            f"s: {t['messages']} messages, "
            f"answered {t['answered']}, >5 s or failed {t['over_5s_or_failed']}, p50 "
            f"{t['p50_ms']} ms, max {t['max_ms']} ms, next message after: {t['after']}"
        )
        print()
    for key, title in (
        ("plain", "hostile plaintext bodies (correctly signed)"),
        ("aes", "hostile AES envelopes (correct msg_signature unless the class says otherwise)"),
    ):
        if key in parts:
            print(f"== {title} ==")
            print(table(CLASS_HEADERS, class_rows(parts[key])))
            print()
    if "aes_no_key" in parts:
        n = parts["aes_no_key"]
        print(
            f"the same {n['sent']} envelopes to a bot without an AES key: status with key / "
            f"without {n['status_with_key / without']}; "
            f"refusals that differ {n['refusals_that_differ']}; "
            f"bodies without key {n['bodies_without_key']}"
        )
        print()
    if "signatures" in parts:
        print("== bad signatures, stale timestamps, replayed nonces (expect 403) ==")
        rows = [
            [
                s["class"],
                s["sent"],
                s["statuses"].get("403", 0),
                s["unexpected"],
                s["5xx"],
                s["leaks"],
                json.dumps(s["statuses"]),
            ]
            for s in parts["signatures"]
        ]
        print(table(["class", "sent", "403", "not 403", "5xx", "leak", "statuses"], rows))
        print()
    if "web" in parts:
        print("== odd URLs on the web side (expect 400/404/redirect, never 5xx) ==")
        rows = [
            [
                s["class"],
                s["sent"],
                s["2xx"],
                s["3xx"],
                s["4xx"],
                s["5xx"],
                s["conn_errors"],
                s["leaks"],
                s["server_log_errors"],
                json.dumps(s["statuses"]),
            ]
            for s in parts["web"]["classes"]
        ]
        print(
            table(
                ["class", "sent", "2xx", "3xx", "4xx", "5xx", "err", "leak", "logERR", "statuses"],
                rows,
            )
        )
        print(
            f"crawled {len(parts['web']['crawled_pages'])} console pages, "
            f"{parts['web']['forms_found']} forms; raw requests: {parts['web']['raw']}"
        )
        print()
    if "csrf" in parts:
        c = parts["csrf"]
        print("== console forms posted without a valid CSRF token (expect 400, never a change) ==")
        variants = [
            "no token",
            "empty token",
            "wrong token",
            "other session's token",
            "wrong X-CSRF-Token header",
        ]
        rows = [
            [r["form"], r["found_on"][:28], *[r["statuses"].get(v) for v in variants]]
            for r in c["forms"]
        ]
        print(
            table(["form action", "found on", "none", "empty", "wrong", "other sess", "hdr"], rows)
        )
        summary = c["summary"]
        print(
            f"{summary['forms']} forms found on pages, {summary['routes_without_a_form']} POST "
            "routes with no form on any page (posted from the URL map, ids 1, no fields); "
            f"tables changed: {list(summary['tables_changed']) or 'none'}; still signed in "
            f"afterwards: {summary['still_signed_in']}"
        )
        print()
    if "fault" in parts:
        f = parts["fault"]
        print(
            f"== Redis outage: {f['rate_per_s']:g} msg/s for {f['seconds']:g} s, SIGKILL at "
            f"{f['events_s'].get('killed')} s, back at {f['events_s'].get('up')} s =="
        )
        rows = [
            [
                name,
                p["sent"],
                p["answered"],
                p["degraded_note"],
                p["success_only"],
                p["not_answered"],
                p["5xx"],
                p["over_5s"],
                p["p50_ms"],
                p["p99_ms"],
                p["max_ms"],
                json.dumps(p["healthz"]),
            ]
            for name, p in f["phases"].items()
        ]
        print(
            table(
                [
                    "phase",
                    "sent",
                    "answered",
                    "degraded",
                    "success",
                    "no 200",
                    "5xx",
                    ">5s",
                    "p50ms",
                    "p99ms",
                    "maxms",
                    "/healthz",
                ],
                rows,
            )
        )
        print(
            f"log rows {f['log_rows']} for {f['answered']} answered + {f['success_only']} "
            f"'success'; answered without a row {f['answered_without_row']}, "
            f"'success' without a row {f['success_without_row']}, members with two rows "
            f"{f['members_with_two_rows']}"
        )
        print(
            f"/healthz during the outage: {f['healthz_during_outage'][:1]}; 200 again "
            f"{f['healthz_200_again_after_s']} s after Redis was back; job worker alive: "
            f"{f['job_worker_alive']}"
        )
        print()
    print(f"out-of-band fetches (external entities): {len(report['oob_hits'])}")
    counts = report["finding_counts"]
    if counts:
        print("== findings ==")
        print(
            table(
                ["part", "class", "kind", "count", "fails"],
                [
                    [
                        c["part"],
                        c["class"][:40],
                        c["kind"],
                        c["count"],
                        "yes" if c["kind"] in FAILING else "",
                    ]
                    for c in counts
                ],
            )
        )
    else:
        print("no findings")
    print(
        f"\nexit status {report['exit_status']}; report: {report['json']}; {report['elapsed_s']} s"
    )


# -- the run ------------------------------------------------------------------------------------


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so the ``finally`` blocks stop everything."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


PARTS = ("slow", "plain", "aes", "signatures", "web", "csrf", "fault")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.probe", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="run only these parts (repeatable)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, database)"
    )
    parser.add_argument("--out", type=Path, default=OUT / "probe.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = set(args.only or PARTS)
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="probe-"))
    planted = tmp / "planted.txt"
    planted.write_text(FILE_MARKER)
    repro = OUT / "probe-repro"
    if repro.is_dir():
        for old in repro.iterdir():
            old.unlink()
    findings = Findings(repro)
    report: dict[str, Any] = {"seed": SEED, "git": _git_head(), "parts": {}, "tmp": str(tmp)}
    oob: OutOfBand | None = None
    stack = Stack(tmp)
    with terminate_as_interrupt():
        try:
            oob = OutOfBand()
            ctx = Ctx(oob.url, planted)
            print(f"probe: temp dir {tmp}; starting the stack …", flush=True)
            stack.start()
            print(f"probe: stack up in {stack.startup_seconds:.1f} s at {stack.url}", flush=True)
            report["startup_s"] = round(stack.startup_seconds, 1)
            rng = random.Random(f"{SEED}:members")
            warm = [Member(stack.url, oid(rng), rng).say("你好") for _ in range(6)]
            report["warm_up_statuses"] = [w.status for w in warm]
            pids_start = stack.worker_pids()
            if "slow" in wanted:
                _step("slow clients")
                slow = report["parts"]["slow"] = slow_part(stack, random.Random(f"{SEED}:slow"))
                for ended in slow["stalled_connections"]:
                    if not (
                        ended["ended"] == "closed" or ended["ended"].startswith("HTTP/1.1 400")
                    ):
                        findings.add(
                            "slow", "stalled connection", "not dropped", str(ended), {}, {}
                        )
                if slow["answered"] < slow["messages"] or slow["max_ms"] > 1500:
                    findings.add(
                        "slow",
                        "members beside stalled connections",
                        "slow or unanswered",
                        f"answered {slow['answered']}/{slow['messages']}, max {slow['max_ms']} ms",
                        {},
                        {},
                    )
                trickle = slow["trickle"]
                if trickle["over_5s_or_failed"]:
                    findings.add(
                        "slow",
                        "trickling connections (extra)",
                        "members starved",
                        f"{trickle['connections']} connections sending 1 byte/1.5 s: "
                        f"{trickle['over_5s_or_failed']} of {trickle['messages']} messages failed "
                        "or took > 5 s",
                        {
                            "how": "16 POSTs to /wechat announcing 100 more body bytes than "
                            "sent, then one byte every 1.5 s"
                        },
                        {"latency_ms": trickle["latency_ms"]},
                    )
            with ThreadPoolExecutor(THREADS) as pool:
                if "plain" in wanted:
                    _step("hostile plaintext")
                    report["parts"]["plain"] = [
                        run_class(stack, "plain", name, shots, findings, pool).summary()
                        for name, shots in plaintext_shots(ctx).items()
                    ]
                if "aes" in wanted:
                    _step("hostile AES envelopes")
                    report["parts"]["aes"] = [
                        run_class(stack, "aes", name, shots, findings, pool).summary()
                        for name, shots in aes_shots(ctx).items()
                    ]
                    report["parts"]["aes_no_key"] = no_key_part(stack, ctx, findings, pool)
                if "signatures" in wanted:
                    _step("signatures")
                    report["parts"]["signatures"] = signatures_part(stack, findings, pool)
            session = token = None
            if wanted & {"web", "csrf"}:
                session, token_name, token_value = sign_in(stack.url)
                token = (token_name, token_value)
                crawled = crawl(stack.url, session)
                rules = routes(stack)
            if "web" in wanted:
                _step("web side")
                report["parts"]["web"] = web_part(stack, findings, crawled, session, token, rules)
            if "csrf" in wanted:
                _step("CSRF")
                assert session is not None and token is not None
                rows, summary = csrf_part(stack, findings, crawled, session, token, rules)
                report["parts"]["csrf"] = {"forms": rows, "summary": summary}
            if "fault" in wanted:
                _step("Redis outage")
                report["parts"]["fault"] = fault_part(stack, findings)
            assert stack.web is not None
            report["worker_timeouts_total"] = stack.web.log_text().count("WORKER TIMEOUT")
            report["worker_pids_start"] = pids_start
            report["worker_pids_end"] = stack.worker_pids()
            report["oob_hits"] = list(oob.hits)
            for path in oob.hits[:5]:
                findings.add(
                    "plain", "external entity", "external fetch", f"the bot fetched {path}", {}, {}
                )
            if report["worker_timeouts_total"]:
                findings.add(
                    "slow",
                    "gunicorn",
                    "worker timeout",
                    f"{report['worker_timeouts_total']} WORKER TIMEOUT lines",
                    {},
                    {},
                )
        finally:
            stack.stop()
            if oob is not None:
                oob.stop()
            _keep_logs(tmp)
            if not args.keep:
                _rmtree(tmp)
    report["findings"] = findings.items
    report["finding_counts"] = [
        {"part": p, "class": c, "kind": k, "count": n}
        for (p, c, k), n in sorted(findings.counts.items())
    ]
    report["exit_status"] = 1 if findings.failing() else 0
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    report["json"] = str(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print_report(report)
    return int(report["exit_status"])


def no_key_part(
    stack: Stack, ctx: Ctx, findings: Findings, pool: ThreadPoolExecutor
) -> dict[str, Any]:
    """The same envelopes to the bot with a key and to the bot without one: any difference in
    status or body tells a prober whether safe mode is configured."""
    groups = aes_shots(ctx)
    sample = [
        s
        for name in (
            "garbage Encrypt",
            "wrong AppId",
            "base64 junk",
            "envelope shape",
            "valid envelope, hostile body",
        )
        for s in groups[name][:8]
    ]
    rng = random.Random(f"{SEED}:nokey")
    for _ in range(10):  # valid envelopes around a normal message: the keyed bot answers them
        xml, openid = normal(rng)
        sample.append(
            envelope_shot(
                "valid envelope",
                rng,
                sealed(xml.encode()),
                variant="valid envelope, 你好",
                to=openid,
            )
        )
    fresh = []
    for s in sample:  # new nonces and signatures: neither bot has seen these deliveries
        query = dict(s.query)
        encrypt = _envelope_encrypt(s.body)
        was_valid = encrypt is not None and query.get("msg_signature") == signature(
            TOKEN, query.get("timestamp", ""), query.get("nonce", ""), encrypt
        )
        query["nonce"] = f"{rng.getrandbits(64):016x}"
        query["timestamp"] = str(int(time.time()))
        query["signature"] = signature(TOKEN, query["timestamp"], query["nonce"])
        if was_valid and encrypt is not None:
            query["msg_signature"] = signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
        fresh.append(Shot(s.cls, s.body, query, s.to, s.encrypted, s.variant, s.method, s.size))
    keyed = list(pool.map(lambda s: fire(stack.url, s, keep_alive=False), fresh))
    unkeyed = list(pool.map(lambda s: fire(stack.nokey_url, s, keep_alive=False), fresh))
    pairs: Counter[str] = Counter()
    differ = 0
    for shot, a, b in zip(sample, keyed, unkeyed, strict=True):
        pairs[f"{a.status} / {b.status}"] += 1
        for kind, words in leaks(b.text):
            findings.add(
                "aes",
                "bot without an AES key",
                kind,
                f"{shot.variant}: {words}",
                {"query": shot.query, "body": body_repr(shot)},
                {"status": b.status, "body": b.text[:200]},
            )
        if a.status != 200 and (a.status, a.text) != (b.status, b.text):
            differ += 1
            findings.add(
                "aes",
                "bot without an AES key",
                "answer differs",
                f"{shot.variant}: with key {a.status} {a.text[:40]!r}, "
                f"without {b.status} {b.text[:40]!r}",
                {"body": body_repr(shot)},
                {"with_key": a.status, "without_key": b.status},
            )
    return {
        "sent": len(sample),
        "status_with_key / without": dict(pairs),
        "refusals_that_differ": differ,
        "bodies_without_key": dict(Counter(b.text[:40] for b in unkeyed)),
    }


def _envelope_encrypt(body: bytes | Callable[[], Iterator[bytes]]) -> str | None:
    if callable(body):
        return None
    m = re.search(rb"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", body, re.S)
    return m.group(1).decode("latin-1") if m else None


def signatures_part(
    stack: Stack, findings: Findings, pool: ThreadPoolExecutor
) -> list[dict[str, Any]]:
    rng = random.Random(f"{SEED}:signatures")
    refused, pairs = signature_shots(rng)
    out = [
        run_class(
            stack,
            "signatures",
            name,
            shots,
            findings,
            pool,
            expect="" if name.startswith("current") else "403",
        ).summary()
        for name, shots in refused.items()
    ]
    primers = run_class(
        stack,
        "signatures",
        "replay primer (expect 200)",
        [p for p, _ in pairs],
        findings,
        pool,
        expect="200",
    )
    out.append(
        run_class(
            stack,
            "signatures",
            "replayed nonce",
            [r for _, r in pairs],
            findings,
            pool,
            expect="403",
        ).summary()
    )
    out.append(primers.summary())
    return out


def web_part(
    stack: Stack,
    findings: Findings,
    crawled: dict[str, Any],
    session: requests.Session | None,
    token: tuple[str, str] | None,
    rules: list[dict[str, Any]],
) -> dict[str, Any]:
    assert session is not None
    rng = random.Random(f"{SEED}:web")
    shots = web_shots(rules, crawled, rng)
    anonymous = requests.Session()
    sessions = {True: (session, token), False: (anonymous, None)}
    classes = [
        run_web_class(stack, name, group, findings, sessions).summary()
        for name, group in shots.items()
    ]
    raw = {}
    for name, data in raw_requests(stack.url):
        try:
            status, text = send_raw(stack.url, data)
        except OSError as exc:
            status, text = None, type(exc).__name__
        raw[name] = status
        if status is not None and status >= 500:
            findings.add(
                "web",
                "raw requests",
                "5xx",
                name,
                {"raw": repr(data)},
                {"status": status, "body": text[:200]},
            )
    still = session.get(stack.url + "/admin/", allow_redirects=False, timeout=10).status_code
    return {
        "classes": classes,
        "raw": raw,
        "crawled_pages": crawled["pages"],
        "forms_found": len(crawled["forms"]),
        "query_names": crawled["query_names"],
        "still_signed_in": still == 200,
    }


def _step(name: str) -> None:
    print(f"probe: {name} …", flush=True)


def _git_head() -> str:
    with suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    return ""


def _keep_logs(tmp: Path) -> None:
    """The processes' logs go to bench/out/probe-logs/ (the temporary directory goes away)."""
    dest = OUT / "probe-logs"
    dest.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        with suppress(OSError):
            (dest / log.name).write_bytes(log.read_bytes())


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("probe: interrupted; every process it started is stopped", file=sys.stderr)
        sys.exit(130)
