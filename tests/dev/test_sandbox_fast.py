"""The sandbox's asyncio server (``--fast``): the same API, state and control endpoints."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import requests

from bot.dev.sandbox import create_sandbox_app
from bot.dev.sandbox.fast import serve


@pytest.fixture
def fast_sandbox():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    task: list[asyncio.Task] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(serve("127.0.0.1", port, create_sandbox_app())))
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass
        # Answers still sleeping (a delayed fault) end with the server.
        pending = asyncio.all_tasks(loop)
        for other in pending:
            other.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            requests.get(root + "_sandbox/stats", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    yield root
    loop.call_soon_threadsafe(task[0].cancel)
    thread.join(timeout=5)


def token(root: str) -> str:
    params = {"grant_type": "client_credential", "appid": "wx", "secret": "s"}
    return requests.get(root + "cgi-bin/token", params=params, timeout=5).json()["access_token"]


def test_template_send_is_deduplicated_and_recorded(fast_sandbox):
    root, session = fast_sandbox, requests.Session()
    url = root + "cgi-bin/message/template/send"
    body = {"touser": "o-1", "template_id": "t", "data": {"thing1": {"value": "通知"}}}
    params = {"access_token": token(root)}
    first = session.post(url, params=params, json={**body, "client_msg_id": "k1"}).json()
    again = session.post(url, params=params, json={**body, "client_msg_id": "k1"}).json()
    assert first["errcode"] == 0 and again["msgid"] == first["msgid"]
    bad = session.post(url, params=params, json={**body, "data": {"thing1": {"value": "a\nb"}}})
    assert bad.json()["errcode"] == 47003
    assert session.post(url, params={"access_token": "nope"}, json=body).json()["errcode"] == 40001
    got = requests.get(root + "_sandbox/received", params={"kind": "template"}, timeout=5).json()
    assert (got["messages"], got["deduplicated"]) == (1, 1)
    calls = requests.get(root + "_sandbox/calls", params={"path": "template"}, timeout=5).text
    assert len(calls.splitlines()) == 4


def test_a_processed_time_out_answers_late_but_delivers(fast_sandbox):
    root = fast_sandbox
    fault = {"path": "message/custom/send", "delay": 1.0, "processed": True}
    requests.post(root + "_sandbox/faults", json=fault, timeout=5).raise_for_status()
    body = {"touser": "o-2", "msgtype": "text", "text": {"content": "你好"}}
    with pytest.raises(requests.Timeout):
        requests.post(
            root + "cgi-bin/message/custom/send",
            params={"access_token": token(root)},
            json=body,
            timeout=0.3,
        )
    got = requests.get(root + "_sandbox/received", params={"kind": "custom"}, timeout=5).json()
    assert got["messages"] == 1  # it reached the member although the client gave up


def test_random_time_outs_are_drawn_once_and_still_deliver(fast_sandbox):
    root = fast_sandbox
    chaos = {"chaos": [{"path": "message/template/send", "rate": 1.0, "delay": 0.6}]}
    requests.post(root + "_sandbox/platform", json=chaos, timeout=5).raise_for_status()
    body = {"touser": "o-3", "template_id": "t", "url": "https://x/notices/1"}
    with pytest.raises(requests.Timeout):
        requests.post(
            root + "cgi-bin/message/template/send",
            params={"access_token": token(root)},
            json=body,
            timeout=0.2,
        )
    time.sleep(0.7)
    got = requests.get(root + "_sandbox/received", params={"kind": "template"}, timeout=5).json()
    calls = requests.get(root + "_sandbox/calls", timeout=5).text
    assert (got["messages"], got["timeouts"]) == (1, 1), calls
