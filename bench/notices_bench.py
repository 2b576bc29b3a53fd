"""``python -m bench.notices_bench``: a template notice to 100,000 followers, a worker killed.

It starts a real Redis, a SQLite database (migrated), the WeChat API sandbox (a process of its
own) and two ``flask worker`` processes; creates N followers (``flask demo followers``) and a
template notice to all of them (``flask notices create`` / ``send``). When about half of them
have the message (counted by the sandbox), one worker's process group is SIGKILLed mid-batch
and another worker is started. Checks, from the sandbox's record of what reached whom:
exactly N recipients, none twice; the notice finished within the budget (3 minutes); every
worker process (and work horse) stayed under the memory limit (300 MB). Prints the figures
and writes ``bench/out/notices.json``; the exit status says whether every goal was met.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.run import BIN, ROOT, Processes, base_env, child_pids, free_port, rss_kib, wait_http
from bot.dev.embedded import EmbeddedRedis

OUT = Path(__file__).resolve().parent / "out"
GOAL_SECONDS = 180.0
GOAL_RSS_MB = 300.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.5, help="share delivered first")
    parser.add_argument("--lease", type=int, default=20, help="NOTICE_LEASE_SECONDS")
    parser.add_argument(
        "--timeouts", type=float, default=0.0005, help="share of sends answered too late"
    )
    return parser.parse_args(argv)


def received(sandbox: str) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(
        sandbox + "_sandbox/received", params={"kind": "template"}, timeout=10
    ).json()
    return answer


def tree_rss_mb(pid: int) -> dict[int, float]:
    """RSS of ``pid`` and its children (an RQ worker and its work horse), in MB."""
    found = {}
    for p in [pid, *child_pids(pid)]:
        try:
            found[p] = rss_kib(p) / 1024
        except OSError:
            continue
    return found


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of ``pid`` (with ``children``: plus its reaped children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="notices-bench-") as name:
        tmp = Path(name)
        (tmp / "logs").mkdir()
        procs = Processes(tmp / "logs")
        try:
            return run(args, tmp, procs)
        finally:
            procs.stop_all()


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> int:
    env = base_env()
    procs.redis = EmbeddedRedis(tmp / "redis")
    procs.redis.start()
    sandbox_port = free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}/"
    db_path = tmp / "bench.db"
    env.update(
        WECHAT_TOKEN="bench-token",
        WECHAT_APP_ID="wxbench",
        WECHAT_APP_SECRET="bench-app-secret",
        SECRET_KEY="bench-secret-key-" + os.urandom(8).hex(),
        REDIS_URL=procs.redis.url,
        DATABASE_URL=f"sqlite:///{db_path}",
        WECHAT_API_BASE=sandbox + "cgi-bin/",
        NOTICE_TEMPLATE_ID="bench-template",
        NOTICE_LEASE_SECONDS=str(args.lease),
        NOTICE_REQUEST_TIMEOUT="2",
        NOTICE_SWEEP_SECONDS="10",
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]

    def cli(*step: str) -> str:
        done = subprocess.run([*flask, *step], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            raise RuntimeError(f"flask {' '.join(step)} failed")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    print(f"notices bench: temp dir {tmp}", flush=True)
    cli("db", "upgrade")
    started = time.monotonic()
    cli("demo", "followers", str(args.followers))
    print(f"notices bench: {args.followers} followers in {time.monotonic() - started:.1f} s")
    for user in ("bench-ada", "bench-bo"):
        cli("admin", "create-user", user, "--role", "admin", "--password", "bench-password-1")
    # The asyncio server: the threaded one tops out near a few hundred calls a second.
    sandbox_cmd = [sys.executable, "-m", "bot.dev.sandbox", "--fast", "--port", str(sandbox_port)]
    sb = procs.start("sandbox", sandbox_cmd, env)
    wait_http(sandbox + "_sandbox/stats", sb)
    if args.timeouts > 0:
        chaos = [{"path": "message/template/send", "rate": args.timeouts, "delay": 2.5}]
        requests.post(sandbox + "_sandbox/platform", json={"chaos": chaos}, timeout=5)

    workers = [procs.start(f"worker-{i}", [*flask, "worker"], env) for i in range(args.workers)]
    # As deployed: the chores' scheduler (its notices sweep restarts a send whose chains died).
    procs.start("scheduler", [*flask, "scheduler"], env)
    time.sleep(3.0)  # the workers register with Redis and start listening
    created = json.loads(
        cli("notices", "create", "--title", "年度会员大会通知", "--body", "会议安排见正文。",
            "--summary", "12月20日召开年度会员大会", "--as", "bench-ada")
    )  # fmt: skip
    notice_id = int(created["id"])
    t0 = time.monotonic()
    cli("notices", "send", str(notice_id), "--approve-as", "bench-bo", "--as", "bench-ada")
    print(f"notices bench: notice {notice_id} queued ({time.monotonic() - t0:.1f} s)")

    peak: dict[str, float] = {}
    killed_at = None
    replacement = None
    status = "sending"
    last_print = 0.0
    conn = sqlite3.connect(db_path, timeout=30)
    while time.monotonic() - t0 < GOAL_SECONDS * 2:
        for proc in [*workers, *([replacement] if replacement else [])]:
            if proc.poll() is None:
                for pid, mb in tree_rss_mb(proc.pid).items():
                    key = f"{proc.pid}/{pid}"
                    peak[key] = max(peak.get(key, 0.0), mb)
        got = received(sandbox)
        elapsed = time.monotonic() - t0
        if killed_at is None and got["recipients"] >= args.kill_at * args.followers:
            victim = workers[0]
            # RQ runs each job in a work horse of its own session (setsid): SIGKILL the
            # horse mid-batch, its leased rows unfinished, then the worker.
            horses = child_pids(victim.pid)
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(10)
            killed_at = (elapsed, got["recipients"])
            print(f"notices bench: SIGKILL worker {victim.pid} and horse {horses} at "
                  f"{elapsed:.1f} s, {got['recipients']} delivered; starting another",
                  flush=True)  # fmt: skip
            replacement = procs.start("worker-new", [*flask, "worker"], env)
        if elapsed - last_print >= 10:
            last_print = elapsed
            print(f"notices bench: {elapsed:5.1f} s  {got['recipients']:>7} delivered", flush=True)
        row = conn.execute("SELECT status FROM notices WHERE id = ?", (notice_id,)).fetchone()
        status = row[0] if row else "?"
        if status != "sending":
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    got = received(sandbox)
    # CPU the survivors used (a worker's reaped work horses included; the killed one's is
    # lost with it), and the sandbox's: the cost per message, whatever else the machine ran.
    alive = [p for p in [*workers, *([replacement] if replacement else [])] if p.poll() is None]
    workers_cpu = sum(cpu_seconds(p.pid, children=True) for p in alive)
    workers_cpu += sum(cpu_seconds(c) for p in alive for c in child_pids(p.pid))
    sandbox_cpu = cpu_seconds(sb.pid)
    load = os.getloadavg()[0]
    counts = dict(
        conn.execute(
            "SELECT status, count(*) FROM notice_deliveries WHERE notice_id = ? GROUP BY status",
            (notice_id,),
        ).fetchall()
    )
    attempts = conn.execute(
        "SELECT count(*) FROM notice_deliveries WHERE notice_id = ? AND attempts > 1",
        (notice_id,),
    ).fetchone()[0]
    conn.close()
    max_rss = max(peak.values(), default=0.0)
    goals = {
        "finished": status == "sent",
        "exactly_once": got["recipients"] == args.followers
        and got["messages"] == args.followers
        and got["duplicates"] == 0,
        "within_time": elapsed <= GOAL_SECONDS,
        "memory": max_rss <= GOAL_RSS_MB,
        "worker_killed": killed_at is not None,
    }
    figures = {
        "followers": args.followers,
        "seconds": round(elapsed, 1),
        "rate_per_s": round(got["messages"] / elapsed, 1) if elapsed else None,
        "sandbox": got,
        "deliveries": counts,
        "rows_claimed_more_than_once": attempts,
        "killed_at": {"seconds": killed_at[0], "delivered": killed_at[1]} if killed_at else None,
        "peak_rss_mb": {k: round(v, 1) for k, v in sorted(peak.items())},
        "max_rss_mb": round(max_rss, 1),
        "cpu_seconds": {
            "workers_surviving": round(workers_cpu, 1),
            "sandbox": round(sandbox_cpu, 1),
        },
        "sandbox_cpu_us_per_message": round(1e6 * sandbox_cpu / max(1, got["messages"])),
        "load_average_1min": round(load, 2),
        "goals": goals,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "notices.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print("\nnotices bench: template notice to {followers} followers".format(**figures))
    print(f"  finished        {status} in {elapsed:.1f} s (goal ≤ {GOAL_SECONDS:.0f} s)")
    print(f"  rate            {figures['rate_per_s']} messages/s")
    print(f"  sandbox         {got['messages']} messages, {got['recipients']} recipients, "
          f"{got['duplicates']} twice, {got['deduplicated']} de-duplicated by client_msg_id, "
          f"{got['timeouts']} answered too late")  # fmt: skip
    print(f"  deliveries      {counts}; {attempts} rows claimed more than once")
    if killed_at:
        print(f"  killed          at {killed_at[0]:.1f} s with {killed_at[1]} delivered")
    print(f"  worker RSS      max {max_rss:.0f} MB (goal ≤ {GOAL_RSS_MB:.0f} MB)")
    print(f"  CPU             surviving workers {workers_cpu:.0f} s, sandbox {sandbox_cpu:.0f} s "
          f"({figures['sandbox_cpu_us_per_message']} µs a message); "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    for goal, met in goals.items():
        print(f"  {'ok ' if met else 'MISSED'} {goal}")
    if not all(goals.values()):
        for name in ("worker-0", "worker-1", "worker-new", "sandbox"):
            tail = procs.log_tail(name, 15)
            if tail:
                print(f"--- {name} ---\n{tail}", file=sys.stderr)
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
