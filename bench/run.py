"""``python -m bench.run``: the webhook's throughput and latency next to a bare echo webhook.

It starts a real Redis, a SQLite database (migrated and seeded), the WeChat API sandbox, the
bot under gunicorn and ``bench.echo_app`` (the ceiling) under the same gunicorn settings.
Per scenario it checks one request with ``requests``, writes freshly signed unique requests
to a file and replays them with ``wrk`` (``bench/wrk_replay.lua``). It prints a table and the
workers' resident memory, and writes ``bench/out/results.json``. Every process it started is
stopped on the way out, Ctrl-C included. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bot.dev.chat import reply_text
from bot.dev.embedded import EmbeddedRedis
from bot.settings import ENV_NAMES
from bot.wechat.simulate import Signer, text_xml

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
LUA = BENCH_DIR / "wrk_replay.lua"
BIN = Path(sys.executable).parent

TOKEN = "bench-token"
APP_ID = "wxbench"
AES_KEY = "BenchAesKey0123456789abcdefghijklmnopqrstuv"  # 43 characters
assert len(AES_KEY) == 43

GREETING = "你好"
KB_QUESTION = "法治体检收费吗"

# The performance budget. Ratios are against the echo webhook in the same mode.
GOAL_GREETING_RATIO = 0.60
GOAL_KB_RATIO = 0.50
GOAL_P99_MS = 50.0
# Above this much CPU used by other processes during a run, its numbers are not comparable.
BUSY_PERCENT = 20.0


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    target: str  # "echo" or "bot"
    encrypt: bool
    text: str
    baseline: str | None = None  # key of the echo scenario this one is compared with
    goal_ratio: float | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("echo-plain", "echo  plaintext 你好", "echo", False, GREETING),
    Scenario("echo-aes", "echo  AES       你好", "echo", True, GREETING),
    Scenario(
        "bot-plain", "bot   plaintext 你好", "bot", False, GREETING, "echo-plain",
        GOAL_GREETING_RATIO,
    ),
    Scenario(
        "bot-aes", "bot   AES       你好", "bot", True, GREETING, "echo-aes", GOAL_GREETING_RATIO
    ),
    Scenario(
        "bot-kb", "bot   plaintext KB question", "bot", False, KB_QUESTION, "echo-plain",
        GOAL_KB_RATIO,
    ),
)  # fmt: skip


@dataclass
class Result:
    scenario: str
    label: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    bad_status: int = 0
    bad_body: int = 0
    server_errors: int = 0  # ERROR lines in the server's log during the run (crashed turns)
    server_error_sample: str = ""
    repeats: int = 0
    generated: int = 0
    worker_cpu_us_per_msg: float = 0.0
    redis_cpu_us_per_msg: float = 0.0
    wrk_cpu_us_per_msg: float = 0.0
    other_cpu_percent: float = 0.0  # CPU used by processes not ours during the run
    workers_restarted: bool = False  # gunicorn's max_requests recycled a worker during the run
    sample_reply: str = ""
    failure: str = ""  # why the scenario was not measured (its sanity check failed)
    ratio: float | None = None
    cpu_ratio: float | None = None  # the same ratio predicted from CPU per message
    round_ratios: list[float] = field(default_factory=list)  # each round's, with --rounds
    goals: dict[str, bool] = field(default_factory=dict)

    @property
    def cpu_per_msg(self) -> float:
        """All the CPU one message costs on this machine: workers, Redis and wrk."""
        return self.worker_cpu_us_per_msg + self.redis_cpu_us_per_msg + self.wrk_cpu_us_per_msg

    @property
    def errors(self) -> int:
        # Non-2xx statuses are counted by both wrk and the Lua script; count them once.
        return (
            max(self.non_2xx, self.bad_status)
            + self.bad_body
            + self.server_errors
            + sum(self.socket_errors.values())
        )


# -- processes --------------------------------------------------------------------------------


class Processes:
    """Children started by the benchmark, stopped in reverse order (and Redis last)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.redis: EmbeddedRedis | None = None

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
        with open(self.logs / f"{name}.log", "ab") as log:
            child = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        self.children.append((name, child))
        return child

    def stop_all(self) -> None:
        for _, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        for _, child in reversed(self.children):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
            # Each child leads its own process group; a gunicorn worker that did not exit
            # (a stuck thread blocks interpreter exit) would outlive a killed master.
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.children.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def log_size(self, name: str) -> int:
        path = self.logs / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def log_errors(self, name: str, since: int) -> list[str]:
        """ERROR lines the server logged after byte offset ``since``."""
        path = self.logs / f"{name}.log"
        if not path.exists():
            return []
        with path.open("rb") as fh:
            fh.seek(since)
            text = fh.read().decode(errors="replace")
        return [line for line in text.splitlines() if " ERROR " in line or "[ERROR]" in line]

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, child: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {child.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def base_env() -> dict[str, str]:
    """The caller's environment without any of the bot's settings or Flask's variables."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES and not k.startswith("FLASK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


PROJECT_GUNICORN_CONF = ROOT / "gunicorn.conf.py"
ECHO_GUNICORN_CONF = BENCH_DIR / "echo_gunicorn.conf.py"


def gunicorn_cmd(app: str, config: Path, port: int, workers: int) -> list[str]:
    """The production command line; the command-line options override the config file's."""
    cmd = [str(BIN / "gunicorn")]
    if config.exists():
        cmd += ["--config", str(config)]
    return cmd + [
        "--workers", str(workers),
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        # gunicorn's control socket defaults to one path per user: two servers (or a
        # `make run` in another terminal) would take it from each other.
        "--no-control-socket",
        app,
    ]  # fmt: skip


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
        # The command name may contain spaces; fields after the closing parenthesis are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            pids.append(int(entry.name))
    return sorted(pids)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (0 for a process that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def workers_cpu_seconds(master: int) -> float:
    """CPU time of gunicorn's workers: the live ones, plus those the master has reaped.

    A worker recycled by ``max_requests`` during a run leaves its time in the master's
    cutime/cstime, so a before/after difference stays right across restarts.
    """
    try:
        stat = Path(f"/proc/{master}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return reaped + cpu_seconds(child_pids(master))


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat), to see who else used them."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit: float) -> float:
    """Wait (up to ``limit`` s) until the machine is nearly idle; return the last busy share.

    Nothing of ours is busy between scenarios, so CPU use then is someone else's.
    """
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = (machine_busy_seconds() - before) * 100  # % of one core over that second
        if busy <= BUSY_PERCENT or time.monotonic() >= deadline:
            return busy
        print(f"bench: waiting for the machine to quieten ({busy:.0f}% of a core busy)", flush=True)


def children_cpu_seconds() -> float:
    """CPU time of our reaped children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- requests ---------------------------------------------------------------------------------


def _generate_chunk(args: tuple[bool, str, int, int, int, int]) -> list[str]:
    """Lines ``<path?query>\\t<body>`` for message numbers ``start`` … ``stop - 1``."""
    encrypt, text, start, stop, users, msg_base = args
    signer = Signer(TOKEN, APP_ID, AES_KEY)
    lines = []
    for i in range(start, stop):
        # Round robin over the users: consecutive requests (the ones in flight together)
        # are from different members, so the per-user lock never makes one wait.
        openid = f"bench-user-{i % users:05d}"
        xml = text_xml(openid, text, msg_id=str(msg_base + i))
        query, body = signer.request(xml, openid=openid, encrypt=encrypt)
        line_body = body.decode().replace("\r", "").replace("\n", "")
        lines.append(f"/wechat?{urlencode(query)}\t{line_body}")
    return lines


def generate(
    path: Path, scenario: Scenario, count: int, users: int, msg_base: int, pool: ProcessPoolExecutor
) -> None:
    """Write ``count`` unique signed requests (timestamp = now) to ``path``."""
    chunk = 5000
    jobs = [
        (scenario.encrypt, scenario.text, start, min(start + chunk, count), users, msg_base)
        for start in range(0, count, chunk)
    ]
    with path.open("w", encoding="utf-8") as out:
        for lines in pool.map(_generate_chunk, jobs):
            out.write("\n".join(lines))
            out.write("\n")


def apology_prefix() -> str:
    """The fixed start of the bot's "something went wrong" reply (its template's text)."""
    path = ROOT / "templates" / "replies" / "common" / "sorry.txt"
    if not path.exists():
        return ""
    return path.read_text(encoding="utf-8").split("{{")[0].strip()[:20]


def sanity_check(url: str, scenario: Scenario, msg_base: int, attempts: int = 3) -> str:
    """One request with ``requests``: a 200 text reply (decrypted in AES mode), or raise.

    ``success`` (the reply was not ready within the bot's budget, e.g. a first request that
    loads an index) is retried, each time as a new message from a new member.
    """
    signer = Signer(TOKEN, APP_ID, AES_KEY)
    for attempt in range(attempts):
        openid = f"bench-sanity-{scenario.key}-{attempt}"
        xml = text_xml(openid, scenario.text, msg_id=str(msg_base + attempt))
        query, body = signer.request(xml, openid=openid, encrypt=scenario.encrypt)
        resp = requests.post(
            url + "/wechat",
            params=query,
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=10,
        )
        if resp.status_code != 200:
            raise AssertionError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        payload = resp.content.decode("utf-8")
        if payload == "success":
            time.sleep(1)
            continue
        if scenario.encrypt:
            if "<Encrypt>" not in payload:
                raise AssertionError(f"reply is not encrypted: {payload[:200]}")
            payload = signer.decrypt_reply(payload, query)
        content = reply_text(payload)
        if not content:
            raise AssertionError(f"no text reply: {payload[:200]}")
        apology = apology_prefix()
        if apology and content.startswith(apology):
            raise AssertionError(f"the bot apologised (a handler crashed): {content[:80]}")
        return content
    raise AssertionError(f"only 'success' (no reply within the bot's budget) {attempts} times")


# -- wrk --------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s+(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s+(\d+) requests in", re.MULTILINE)
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_REPLAY = re.compile(r"^REPLAY (.*)$", re.MULTILINE)


@dataclass
class WrkOutput:
    rps: float
    requests: int
    percentiles: dict[str, float]
    non_2xx: int
    socket_errors: dict[str, int]
    replay: dict[str, int]
    raw: str


def parse_wrk(text: str) -> WrkOutput:
    rps = _RPS.search(text)
    if rps is None:
        raise RuntimeError(f"could not read wrk's output:\n{text}")
    total = _TOTAL.search(text)
    percentiles = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _PERCENTILE.finditer(text)
    }
    non_2xx = _NON2XX.search(text)
    sock = _SOCKET.search(text)
    socket_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    if sock:
        socket_errors = dict(zip(socket_errors, map(int, sock.groups()), strict=True))
    replay: dict[str, int] = {}
    found = _REPLAY.search(text)
    if found:
        for pair in found.group(1).split():
            name, _, value = pair.partition("=")
            replay[name] = int(value)
    return WrkOutput(
        rps=float(rps.group(1)),
        requests=int(total.group(1)) if total else 0,
        percentiles=percentiles,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
        replay=replay,
        raw=text,
    )


def run_wrk(
    procs: Processes,
    url: str,
    path: Path,
    first: int,
    count: int,
    *,
    threads: int,
    connections: int,
    seconds: float,
) -> WrkOutput:
    cmd = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "5s", "--latency",
        "-s", str(LUA), url + "/wechat",
        "--", str(path), str(first), str(count), str(threads),
    ]  # fmt: skip
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    procs.children.append(("wrk", child))
    try:
        out, _ = child.communicate(timeout=seconds + 120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        procs.children.remove(("wrk", child))
    text = out.decode(errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"wrk failed ({child.returncode}):\n{text}")
    return parse_wrk(text)


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so the ``finally`` blocks stop everything.

    SIGINT is set explicitly: a shell starts background jobs with it ignored.
    """

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per scenario"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per scenario")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--users", type=int, default=5000, help="distinct openids")
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="requests generated per scenario (default: enough for the fastest rate seen)",
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="KEY",
        help="run only these scenarios (" + ", ".join(s.key for s in SCENARIOS) + ")",
    )  # fmt: skip
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other processes to go idle",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every scenario this many times, interleaved; report medians",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def combine(runs: list[Result]) -> Result:
    """One scenario's rounds as one row: medians of the rates and latencies, sums of the
    errors, the worst of the noise."""
    first = runs[0]
    if len(runs) == 1:
        return first
    measured = [r for r in runs if not r.failure]
    if len(measured) < len(runs):
        failed = next(r for r in runs if r.failure)
        return Result(first.scenario, first.label, failure=failed.failure)

    def median(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in measured))

    merged = Result(first.scenario, first.label, sample_reply=first.sample_reply)
    for name in (
        "rps", "p50_ms", "p99_ms", "worker_cpu_us_per_msg", "redis_cpu_us_per_msg",
        "wrk_cpu_us_per_msg",
    ):  # fmt: skip
        setattr(merged, name, median(name))
    for name in ("requests", "non_2xx", "bad_status", "bad_body", "server_errors", "repeats"):
        setattr(merged, name, sum(getattr(r, name) for r in measured))
    merged.generated = min(r.generated for r in measured)
    merged.socket_errors = {
        kind: sum(r.socket_errors.get(kind, 0) for r in measured)
        for kind in {k for r in measured for k in r.socket_errors}
    }
    merged.server_error_sample = next(
        (r.server_error_sample for r in measured if r.server_errors), ""
    )
    merged.other_cpu_percent = max(r.other_cpu_percent for r in measured)
    merged.workers_restarted = any(r.workers_restarted for r in measured)
    return merged


def planned_count(rate: float, seconds: float, override: int) -> int:
    if override:
        return override
    return max(5000, math.ceil(rate * seconds * 1.3))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = [s for s in SCENARIOS if not args.only or s.key in args.only]
    if not scenarios:
        print("no scenario selected", file=sys.stderr)
        return 2
    if shutil.which("wrk") is None and not Path("/usr/bin/wrk").exists():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="shanghui-bench-"))
    (tmp / "logs").mkdir()
    procs = Processes(tmp / "logs")
    pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 2)
    try:
        with terminate_as_interrupt():
            return _run(args, scenarios, tmp, procs, pool)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        pool.shutdown(cancel_futures=True)
        procs.stop_all()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    tmp: Path,
    procs: Processes,
    pool: ProcessPoolExecutor,
) -> int:
    env = base_env()
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        procs.redis = EmbeddedRedis(tmp / "redis")
        procs.redis.start()
        redis_url = procs.redis.url
    sandbox_port = free_port()
    env.update(
        ENV="production",
        WECHAT_TOKEN=TOKEN,
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET="bench-app-secret",
        WECHAT_AES_KEY=AES_KEY,
        SECRET_KEY="bench-secret-key-" + os.urandom(8).hex(),
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        WECHAT_API_BASE=f"http://127.0.0.1:{sandbox_port}/cgi-bin/",
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    print(f"bench: temp dir {tmp}; redis {redis_url}", flush=True)
    # The migrations, then the starter content (knowledge base entries, demo data) that
    # `make run` loads too, so the KB question is answered from a real index.
    for step in (["db", "upgrade"], ["init"]):
        done = subprocess.run([*flask, *step], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            raise RuntimeError(f"flask {' '.join(step)} failed")
    sandbox = procs.start(
        "sandbox", [*flask, "wechat", "sandbox", "--port", str(sandbox_port)], env
    )
    wait_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/stats", sandbox)
    # A job worker, as in production: it writes the conversation log (the web processes
    # only do so as a backstop when no worker is running) and delivers pushes.
    procs.start("worker", [*flask, "worker"], env)

    bot_port, echo_port = free_port(), free_port()
    bot_cmd = gunicorn_cmd("wsgi:app", PROJECT_GUNICORN_CONF, bot_port, args.workers)
    echo_cmd = gunicorn_cmd("bench.echo_app:app", ECHO_GUNICORN_CONF, echo_port, args.workers)
    bot = procs.start("bot", bot_cmd, env)
    echo = procs.start("echo", echo_cmd, env)
    urls = {"bot": f"http://127.0.0.1:{bot_port}", "echo": f"http://127.0.0.1:{echo_port}"}
    masters = {"bot": bot, "echo": echo}
    try:
        wait_http(urls["bot"] + "/healthz", bot)
        wait_http(urls["echo"] + "/healthz", echo)
    except RuntimeError:
        print(procs.log_tail("bot"), procs.log_tail("echo"), sep="\n", file=sys.stderr)
        raise
    redis_pid = procs.redis.process.pid if procs.redis and procs.redis.process else None

    msg_base = int(time.time()) * 10**6  # unique MsgIds across runs on the same Redis
    ceiling = 0.0  # the echo webhook's best rate so far: sizes the request files

    def measure(scenario: Scenario, index: int) -> Result:
        nonlocal ceiling
        result = Result(scenario.key, scenario.label)
        # Checked right before its load, so a scenario that breaks a worker (a hung
        # thread, say) cannot spoil the ones measured before it.
        url = urls[scenario.target]
        try:
            result.sample_reply = sanity_check(url, scenario, msg_base - 1000 * (index + 1))
        except (AssertionError, requests.RequestException) as exc:
            result.failure = f"sanity check failed: {exc}"
            print(f"bench: {scenario.key}: {result.failure}; not measured", flush=True)
            return result
        print(f"bench: {scenario.key}: sanity 200 → {result.sample_reply[:50]!r}", flush=True)
        rate_guess = ceiling or 6000.0
        warm = planned_count(rate_guess, args.warmup, 0) if args.warmup > 0 else 0
        count = planned_count(rate_guess, args.duration, args.requests)
        path = tmp / f"{scenario.key}.requests"
        started = time.monotonic()
        generate(path, scenario, warm + count, args.users, msg_base + index * 10**5 * 100, pool)
        print(
            f"bench: {scenario.key}: {warm + count} requests generated in "
            f"{time.monotonic() - started:.1f} s; warm-up {args.warmup:g} s, "
            f"run {args.duration:g} s",
            flush=True,
        )
        wrk_opts = {"threads": args.threads, "connections": args.connections}
        if args.wait_quiet > 0:
            wait_for_quiet(args.wait_quiet)
        if warm:
            run_wrk(procs, url, path, 0, warm, seconds=args.warmup, **wrk_opts)
        master = masters[scenario.target].pid
        workers = child_pids(master)
        cpu_before = workers_cpu_seconds(master)
        redis_before = cpu_seconds([redis_pid]) if redis_pid else 0.0
        wrk_before = children_cpu_seconds()
        busy_before = machine_busy_seconds()
        log_offset = procs.log_size(scenario.target)
        run_started = time.monotonic()
        output = run_wrk(procs, url, path, warm, count, seconds=args.duration, **wrk_opts)
        elapsed = time.monotonic() - run_started
        busy = machine_busy_seconds() - busy_before
        cpu_used = workers_cpu_seconds(master) - cpu_before
        redis_used = (cpu_seconds([redis_pid]) - redis_before) if redis_pid else 0.0
        wrk_used = children_cpu_seconds() - wrk_before
        others = max(0.0, busy - cpu_used - redis_used - wrk_used)
        result.other_cpu_percent = others / elapsed * 100
        path.unlink()
        time.sleep(0.2)  # let the workers' last log lines reach the file
        server_errors = procs.log_errors(scenario.target, log_offset)
        result.server_errors = len(server_errors)
        result.server_error_sample = server_errors[0][:300] if server_errors else ""
        result.workers_restarted = child_pids(master) != workers

        result.rps = output.rps
        result.requests = output.requests
        result.p50_ms = output.percentiles.get("50", 0.0)
        result.p99_ms = output.percentiles.get("99", 0.0)
        result.non_2xx = output.non_2xx
        result.socket_errors = {k: v for k, v in output.socket_errors.items() if v}
        result.bad_status = output.replay.get("bad_status", 0)
        result.bad_body = output.replay.get("bad_body", 0)
        result.repeats = output.replay.get("repeats", 0)
        result.generated = count
        if output.requests:
            result.worker_cpu_us_per_msg = cpu_used / output.requests * 1e6
            result.wrk_cpu_us_per_msg = wrk_used / output.requests * 1e6
            if scenario.target == "bot":
                result.redis_cpu_us_per_msg = redis_used / output.requests * 1e6
        if scenario.target == "echo":
            ceiling = max(ceiling, output.rps)
        print(
            f"bench: {scenario.key}: {output.rps:.0f} msg/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms, errors {result.errors}, repeats {result.repeats}",
            flush=True,
        )

        return result

    # Rounds: every scenario once per round, in order, so each bot figure has an echo figure
    # measured a minute apart; the machine's speed drifts more than that over a whole run.
    rounds: list[list[Result]] = []
    for round_no in range(args.rounds):
        if args.rounds > 1:
            print(f"bench: round {round_no + 1} of {args.rounds}", flush=True)
        rounds.append(
            [measure(sc, round_no * len(scenarios) + i) for i, sc in enumerate(scenarios)]
        )
    results = [combine([r[i] for r in rounds]) for i in range(len(scenarios))]
    by_key = {r.scenario: r for r in results}
    for scenario, result in zip(scenarios, results, strict=True):
        if scenario.target != "bot":
            continue
        if result.failure:
            result.goals["answers"] = False
            continue
        base = by_key.get(scenario.baseline or "")
        if base is not None and base.rps:
            # Each round's bot figure against the echo measured in the same round; the
            # median of those ratios (one round: simply the ratio).
            i, j = scenarios.index(scenario), [s.key for s in scenarios].index(base.scenario)
            pairs = [(r[i], r[j]) for r in rounds if r[i].rps and r[j].rps]
            result.round_ratios = [bot.rps / echo.rps for bot, echo in pairs]
            result.ratio = statistics.median(result.round_ratios)
            result.cpu_ratio = statistics.median(
                echo.cpu_per_msg / bot.cpu_per_msg for bot, echo in pairs
            )
            assert scenario.goal_ratio is not None
            result.goals[f"≥{scenario.goal_ratio:.0%} of echo"] = (
                result.ratio >= scenario.goal_ratio
            )
        result.goals[f"p99 ≤ {GOAL_P99_MS:g} ms"] = result.p99_ms <= GOAL_P99_MS
        result.goals["no errors"] = result.errors == 0

    memory = {
        name: {str(pid): rss_kib(pid) for pid in child_pids(master.pid)}
        for name, master in masters.items()
    }
    sandbox_stats = requests.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/stats", timeout=5)
    bot_log = procs.log_tail("bot", 10_000)

    print_report(args, results, memory, bot_log)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": _git_describe(),
        "cpus": os.cpu_count(),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "gunicorn_workers": args.workers,
            "users": args.users,
        },
        "goals": {
            "greeting_ratio": GOAL_GREETING_RATIO,
            "kb_ratio": GOAL_KB_RATIO,
            "p99_ms": GOAL_P99_MS,
        },
        "scenarios": [
            {**asdict(r), "errors": r.errors, "cpu_us_per_msg_total": r.cpu_per_msg}
            for r in results
        ],
        "rss_kib": memory,
        "sandbox_stats": sandbox_stats.json(),
        "bot_log_lines": len(bot_log.splitlines()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {args.out}")
    met = all(all(r.goals.values()) for r in results)
    return 0 if met else 1


def print_report(
    args: argparse.Namespace,
    results: list[Result],
    memory: dict[str, dict[str, int]],
    bot_log: str,
) -> None:
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per scenario after a "
        f"{args.warmup:g} s warm-up; gunicorn {args.workers} sync workers; "
        f"{os.cpu_count()} CPUs shared by wrk, gunicorn and Redis"
    )
    header = (
        f"{'scenario':<28} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'% echo':>7} {'cpu µs/msg':>11} {'by cpu':>7} {'others':>7}  goals"
    )
    print(header)
    print("-" * (len(header) + 40))
    for r in results:
        if r.failure:
            print(f"{r.label:<{28 - _wide(r.label)}} not measured: {r.failure[:80]}")
            continue
        ratio = f"{r.ratio:.0%}" if r.ratio is not None else ""
        cpu_ratio = f"{r.cpu_ratio:.0%}" if r.cpu_ratio is not None else ""
        cpu = f"{r.worker_cpu_us_per_msg:.0f}"
        if r.redis_cpu_us_per_msg:
            cpu += f"+{r.redis_cpu_us_per_msg:.0f}"
        goals = "  ".join(f"{'✔' if ok else '✘'} {name}" for name, ok in r.goals.items())
        print(
            f"{r.label:<{28 - _wide(r.label)}} {r.rps:>8.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.errors:>7} {ratio:>7} {cpu:>11} {cpu_ratio:>7} {r.other_cpu_percent:>6.0f}%  "
            f"{goals}"
        )
    print(
        "cpu µs/msg: the gunicorn workers' CPU time per message (+ Redis's, for the bot).\n"
        "by cpu: % of echo predicted from the CPU per message (workers + Redis + wrk); it "
        "holds even\n  when the machine is busy, when msg/s and latency do not.\n"
        "others: CPU used during the run by everything else (100% = one core): the job worker\n"
        "  writing the conversation log, and processes the benchmark did not start."
    )
    if args.rounds > 1:
        print(f"{args.rounds} rounds: medians; % echo is the median of each round's ratio:")
        for r in results:
            if len(r.round_ratios) > 1:
                print(f"  {r.scenario:<10} " + "  ".join(f"{x:.0%}" for x in r.round_ratios))
    busy = [r for r in results if not r.failure and r.other_cpu_percent > BUSY_PERCENT]
    if busy:
        print(
            f"warning: other processes used the CPUs during {', '.join(r.scenario for r in busy)}"
            f" (up to {max(r.other_cpu_percent for r in busy):.0f}% of a core): those numbers "
            "are low and noisy (trust the 'by cpu' column); rerun on a quiet machine"
        )
    for r in results:
        if r.workers_restarted:
            print(
                f"note: {r.scenario}: gunicorn recycled a worker during the run (max_requests "
                "in gunicorn.conf.py), as it would in production"
            )
        if r.repeats:
            print(
                f"warning: {r.scenario} ran out of unique requests and repeated {r.repeats} "
                f"(de-duplicated by the bot); raise --requests above {r.generated}"
            )
        if r.errors:
            print(
                f"warning: {r.scenario}: non-2xx {r.non_2xx}, not a reply {r.bad_body}, "
                f"ERROR lines in the server log {r.server_errors}, "
                f"socket errors {r.socket_errors or 0}"
            )
            if r.server_error_sample:
                print(f"  e.g. {r.server_error_sample[:200]}")
    print()
    for name, workers in memory.items():
        sizes = ", ".join(f"pid {pid}: {kib / 1024:.1f} MiB" for pid, kib in workers.items())
        print(f"RSS of {name} workers after the run: {sizes}")
    problems = [line for line in bot_log.splitlines() if " WARNING " in line or " ERROR " in line]
    if problems:
        print(f"bot log: {len(problems)} warnings/errors, e.g. {problems[-1][:160]}")


def _wide(text: str) -> int:
    """Extra terminal columns taken by CJK characters (for table alignment)."""
    return sum(1 for ch in text if ord(ch) > 0x2E80)


def _git_describe() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return ""
    return rev + ("-dirty" if dirty else "")


if __name__ == "__main__":
    raise SystemExit(main())
