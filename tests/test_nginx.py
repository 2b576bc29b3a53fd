"""The documented production set-up, run: deploy/nginx.conf in front of gunicorn.

The file is used as shipped; only the listen port, the upstream address and the
temporary paths are swapped for the test's own. Skips when nginx is not installed
(``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.test_multiprocess import (  # noqa: F401 - fixtures
    Deployment,
    Member,
    deployment,
    free_port,
    start_gunicorn,
    wait_for,
)

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"
    ),
]


@pytest.fixture
def nginx_in_front(deployment: Deployment, tmp_path: Path, redisdb):  # noqa: F811
    web = start_gunicorn(
        "gunicorn-nginx", deployment.settings, deployment.tmp, workers=2, PROXY_COUNT=1
    )
    port = free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("server 127.0.0.1:5000;", f"server 127.0.0.1:{web.port};"),
        ("include mime.types;", ""),
        (
            "# (temp paths: the distribution's defaults)",
            "".join(f"{kind}_temp_path {tmp_path}/{kind};" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        ),
    ):  # fmt: skip
        assert old in conf, old
        conf = conf.replace(old, new)
    (tmp_path / "nginx.conf").write_text(conf)
    cmd = [
        NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
        "-g", f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log warn;",
    ]  # fmt: skip
    nginx = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return nginx.poll() is not None and pytest.fail(nginx.stderr.read().decode())

    try:
        wait_for(up, 20, "nginx to serve")
        yield url
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        web.stop()


def test_messages_pass_through_nginx(nginx_in_front):
    delivery = Member(nginx_in_front).say("你好")
    assert delivery.status == 200 and delivery.content


def test_bodies_over_64_kb_are_refused_by_nginx(nginx_in_front):
    member = Member(nginx_in_front)
    query, _ = member.signer.request("<xml/>")
    response = requests.post(
        nginx_in_front + "/wechat", params=query, data=b"x" * (65 * 1024), timeout=10
    )
    assert response.status_code == 413


def test_the_client_address_and_scheme_are_forwarded(nginx_in_front):
    seen = requests.get(nginx_in_front + "/_test/remote", timeout=5).json()
    assert seen["addr"] == "127.0.0.1" and seen["scheme"] == "http"
    spoofed = requests.get(
        nginx_in_front + "/_test/remote", headers={"X-Forwarded-For": "6.6.6.6"}, timeout=5
    ).json()
    # nginx overwrites what the client claims; ProxyFix trusts only that one hop.
    assert spoofed["addr"] == "127.0.0.1"


def test_a_stalled_body_never_reaches_the_bot(nginx_in_front):
    host, port = nginx_in_front.removeprefix("http://").split(":")
    stalled = []
    for _ in range(6):
        conn = socket.create_connection((host, int(port)), timeout=5)
        conn.sendall(b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n<xml>")
        stalled.append(conn)
    time.sleep(0.2)
    replies = [Member(nginx_in_front).say("你好") for _ in range(4)]
    assert all(r.status == 200 and r.elapsed < 1.5 for r in replies)
    for conn in stalled:
        conn.close()
