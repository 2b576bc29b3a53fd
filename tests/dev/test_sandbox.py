"""Tests for the local WeChat server-API sandbox (bot/dev/sandbox/), over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from wechatpy import WeChatClient

from bot.dev.sandbox import SandboxState, make_sandbox_server

OPENID = "oSandboxUser000000000000001"
OTHER_OPENID = "oSandboxUser000000000000002"


class Sandbox:
    """A running sandbox plus small helpers for talking to it."""

    def __init__(self, root: str, state: SandboxState) -> None:
        self.root = root
        self.base = root + "/cgi-bin/"
        self.state = state
        self.http = requests.Session()

    def token(self) -> str:
        answer = self.http.get(
            self.base + "token",
            params={"grant_type": "client_credential", "appid": "wxapp", "secret": "s3cret"},
        ).json()
        assert answer["expires_in"] == 7200
        return str(answer["access_token"])

    def post(self, endpoint: str, body: Any, token: str | None = None) -> dict[str, Any]:
        # Raw UTF-8 bytes without a JSON content type, exactly like wechatpy posts them.
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        params = {"access_token": token} if token else {}
        answer: dict[str, Any] = self.http.post(
            self.base + endpoint, params=params, data=data
        ).json()
        return answer

    def get(self, endpoint: str, token: str, **params: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get(
            self.base + endpoint, params={"access_token": token, **params}
        ).json()
        return answer

    def calls(self, **filters: str) -> list[dict[str, Any]]:
        response = self.http.get(self.root + "/_sandbox/calls", params=filters)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in response.text.splitlines() if line]

    def fault(self, **spec: Any) -> None:
        response = self.http.post(self.root + "/_sandbox/faults", json=spec)
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, SandboxState]]:
    # Port 0 lets the OS pick a free port; the server object is kept so teardown can stop it.
    srv = make_sandbox_server("127.0.0.1", 0)
    # A short poll interval keeps shutdown() (which waits for the serve loop) fast.
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state = srv.app.extensions["sandbox"]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{srv.port}", state
    finally:
        srv.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def sandbox(server: tuple[str, SandboxState]) -> Iterator[Sandbox]:
    root, state = server
    # One server for the module, but every test starts from a blank sandbox.
    with state.lock:
        state.reset()
    box = Sandbox(root, state)
    yield box
    box.http.close()


def text_message(openid: str, content: str) -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


def test_token_fetch_and_use(sandbox: Sandbox) -> None:
    first = sandbox.token()
    second = sandbox.token()
    assert first != second
    # Issuing a new token does not invalidate the previous one.
    for token in (first, second):
        answer = sandbox.post("message/custom/send", text_message(OPENID, "hi"), token)
        assert answer == {"errcode": 0, "errmsg": "ok"}
    stats = sandbox.http.get(sandbox.root + "/_sandbox/stats").json()
    assert stats["token_fetches"] == 2
    assert stats["tokens_valid"] == 2
    assert stats["calls"] == 4


def test_token_requires_credentials(sandbox: Sandbox) -> None:
    url = sandbox.base + "token"
    no_appid = sandbox.http.get(url, params={"grant_type": "client_credential", "secret": "x"})
    assert no_appid.json()["errcode"] == 40013
    no_secret = sandbox.http.get(url, params={"grant_type": "client_credential", "appid": "x"})
    assert no_secret.json()["errcode"] == 40125


def test_missing_and_unknown_token(sandbox: Sandbox) -> None:
    message = text_message(OPENID, "hi")
    assert sandbox.post("message/custom/send", message)["errcode"] == 41001
    unknown = sandbox.post("message/custom/send", message, "not-a-token")
    assert unknown["errcode"] == 40001
    assert unknown["errmsg"] == "invalid credential, access_token is invalid or not latest"


def test_stable_token(sandbox: Sandbox) -> None:
    body = {"grant_type": "client_credential", "appid": "wxapp", "secret": "s3cret"}
    first = sandbox.post("stable_token", body)
    again = sandbox.post("stable_token", body)
    assert first["access_token"] == again["access_token"]
    assert 0 < again["expires_in"] <= 7200
    forced = sandbox.post("stable_token", {**body, "force_refresh": True})
    assert forced["access_token"] != first["access_token"]
    assert sandbox.get("menu/delete", first["access_token"])["errcode"] == 0


def test_custom_send_is_recorded_as_json_lines(sandbox: Sandbox) -> None:
    token = sandbox.token()
    before = time.time()
    sandbox.post("message/custom/send", text_message(OPENID, "你好，商会"), token)
    calls = sandbox.calls()
    assert [call["path"] for call in calls] == ["/cgi-bin/token", "/cgi-bin/message/custom/send"]
    send = calls[-1]
    assert {"time", "path", "query", "body"} <= send.keys()
    assert send["time"] >= before
    assert send["method"] == "POST"
    assert send["query"] == {"access_token": token}
    assert send["body"]["text"]["content"] == "你好，商会"
    assert send["errcode"] == 0
    assert send["status"] == 200


def test_call_filters(sandbox: Sandbox) -> None:
    token = sandbox.token()
    sandbox.post("message/custom/send", text_message(OPENID, "one"), token)
    mark = sandbox.calls()[-1]["time"]
    sandbox.post("message/custom/send", text_message(OTHER_OPENID, "two"), token)
    mass = {"touser": [OPENID, OTHER_OPENID], "msgtype": "text", "text": {"content": "all"}}
    sandbox.post("message/mass/send", mass, token)

    assert len(sandbox.calls(path="custom/send")) == 2
    assert len(sandbox.calls(path="message/")) == 3
    to_first = sandbox.calls(touser=OPENID)
    assert [call["path"] for call in to_first] == [
        "/cgi-bin/message/custom/send",
        "/cgi-bin/message/mass/send",
    ]
    newer = sandbox.calls(since=repr(mark))
    assert [call["body"]["msgtype"] for call in newer] == ["text", "text"]
    assert newer[0]["body"]["touser"] == OTHER_OPENID
    both = sandbox.calls(path="custom", touser=OTHER_OPENID)
    assert [call["body"]["text"]["content"] for call in both] == ["two"]


def test_delete_clears_calls(sandbox: Sandbox) -> None:
    sandbox.token()
    assert sandbox.calls()
    answer = sandbox.http.delete(sandbox.root + "/_sandbox/calls").json()
    assert answer == {"ok": True, "cleared": 1}
    assert sandbox.calls() == []


def test_unparsable_body(sandbox: Sandbox) -> None:
    token = sandbox.token()
    response = sandbox.http.post(
        sandbox.base + "message/custom/send", params={"access_token": token}, data=b"{nope"
    )
    assert response.json() == {"errcode": 47001, "errmsg": "data format error"}
    call = sandbox.calls(path="custom/send")[0]
    assert call["body"] is None
    assert call["errcode"] == 47001


def test_fault_errcode_times(sandbox: Sandbox) -> None:
    token = sandbox.token()
    sandbox.fault(path="message/custom/send", errcode=45015, times=2)
    pending = sandbox.http.get(sandbox.root + "/_sandbox/faults").json()["faults"]
    assert [(fault["path"], fault["times"]) for fault in pending] == [("message/custom/send", 2)]

    message = text_message(OPENID, "retry me")
    results = [sandbox.post("message/custom/send", message, token) for _ in range(3)]
    assert [result["errcode"] for result in results] == [45015, 45015, 0]
    assert results[0]["errmsg"] == "response out of time limit or subscription is canceled"
    assert [call["errcode"] for call in sandbox.calls(path="custom/send")] == [45015, 45015, 0]
    assert sandbox.http.get(sandbox.root + "/_sandbox/faults").json()["faults"] == []


def test_fault_on_token_path_is_anchored(sandbox: Sandbox) -> None:
    sandbox.fault(path="token", errcode=-1)
    body = {"grant_type": "client_credential", "appid": "wxapp", "secret": "s3cret"}
    # "token" must not match /cgi-bin/stable_token ...
    assert "access_token" in sandbox.post("stable_token", body)
    # ... but does match /cgi-bin/token.
    answer = sandbox.http.get(
        sandbox.base + "token",
        params={"grant_type": "client_credential", "appid": "wxapp", "secret": "s3cret"},
    ).json()
    assert answer == {"errcode": -1, "errmsg": "system error"}
    sandbox.token()


def test_fault_http_status(sandbox: Sandbox) -> None:
    token = sandbox.token()
    sandbox.fault(path="/cgi-bin/message/template/send", status=502)
    body: dict[str, Any] = {"touser": OPENID, "template_id": "TPL", "data": {}}
    url = sandbox.base + "message/template/send"
    failed = sandbox.http.post(url, params={"access_token": token}, json=body)
    assert failed.status_code == 502
    ok = sandbox.post("message/template/send", body, token)
    assert ok["errcode"] == 0
    assert isinstance(ok["msgid"], int)
    statuses = [call["status"] for call in sandbox.calls(path="template")]
    assert statuses == [502, 200]


def test_fault_delay(sandbox: Sandbox) -> None:
    token = sandbox.token()
    sandbox.fault(path="message/custom/send", delay=0.3)
    started = time.monotonic()
    answer = sandbox.post("message/custom/send", text_message(OPENID, "slow"), token)
    assert time.monotonic() - started >= 0.3
    # A delay-only fault slows the call down but then answers normally.
    assert answer["errcode"] == 0
    assert sandbox.calls(path="custom/send")[0]["duration"] >= 0.3


def test_fault_validation_and_clear(sandbox: Sandbox) -> None:
    url = sandbox.root + "/_sandbox/faults"
    assert sandbox.http.post(url, json={"path": "x"}).status_code == 400
    assert sandbox.http.post(url, json={"errcode": 1}).status_code == 400
    sandbox.fault(path="menu/get", errcode=45009, times=3)
    assert sandbox.http.delete(url).json() == {"ok": True, "cleared": 1}
    assert sandbox.http.get(url).json() == {"faults": []}


def test_expire_tokens(sandbox: Sandbox) -> None:
    token = sandbox.token()
    answer = sandbox.http.post(sandbox.root + "/_sandbox/expire-tokens").json()
    assert answer == {"ok": True, "expired": 1}
    expired = sandbox.post("message/custom/send", text_message(OPENID, "x"), token)
    assert expired["errcode"] == 42001
    stats = sandbox.http.get(sandbox.root + "/_sandbox/stats").json()
    assert stats["tokens_valid"] == 0
    fresh = sandbox.token()
    assert sandbox.post("message/custom/send", text_message(OPENID, "x"), fresh)["errcode"] == 0


def test_menu_create_get_delete(sandbox: Sandbox) -> None:
    token = sandbox.token()
    assert sandbox.get("menu/get", token)["errcode"] == 46003
    menu = {
        "button": [
            {"type": "click", "name": "商会简介", "key": "ABOUT"},
            {"name": "服务", "sub_button": [{"type": "view", "name": "官网", "url": "http://x"}]},
        ]
    }
    assert sandbox.post("menu/create", menu, token) == {"errcode": 0, "errmsg": "ok"}
    assert sandbox.get("menu/get", token) == {"menu": menu}
    info = sandbox.get("get_current_selfmenu_info", token)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["name"] == "官网"
    assert sandbox.post("menu/create", {"button": []}, token)["errcode"] == 40016
    assert sandbox.get("menu/delete", token)["errcode"] == 0
    assert sandbox.get("menu/get", token)["errcode"] == 46003


def test_tags_and_users(sandbox: Sandbox) -> None:
    token = sandbox.token()
    created = sandbox.post("tags/create", {"tag": {"name": "理事"}}, token)
    tag_id = created["tag"]["id"]
    assert created["tag"]["name"] == "理事"
    assert sandbox.post("tags/create", {"tag": {"name": "理事"}}, token)["errcode"] == 45157

    tagging = {"openid_list": [OPENID, OTHER_OPENID], "tagid": tag_id}
    assert sandbox.post("tags/members/batchtagging", tagging, token)["errcode"] == 0
    ids = sandbox.post("tags/getidlist", {"openid": OPENID}, token)
    assert ids["tagid_list"] == [tag_id]
    members = sandbox.post("user/tag/get", {"tagid": tag_id, "next_openid": ""}, token)
    assert members["data"]["openid"] == [OPENID, OTHER_OPENID]
    tags = sandbox.get("tags/get", token)["tags"]
    assert {"id": tag_id, "name": "理事", "count": 2} in tags

    info = sandbox.get("user/info", token, openid=OPENID)
    assert info["subscribe"] == 1
    assert info["tagid_list"] == [tag_id]
    followers = sandbox.get("user/get", token)
    assert followers["total"] == 2
    assert followers["data"]["openid"] == [OPENID, OTHER_OPENID]
    # The page after the last one is empty and carries no "data", like WeChat's.
    last = sandbox.get("user/get", token, next_openid=followers["next_openid"])
    assert last["count"] == 0
    assert "data" not in last

    untag = {"openid_list": [OPENID], "tagid": tag_id}
    assert sandbox.post("tags/members/batchuntagging", untag, token)["errcode"] == 0
    assert sandbox.post("tags/getidlist", {"openid": OPENID}, token)["tagid_list"] == []
    bad_tag = {"openid_list": [OPENID], "tagid": 99999}
    assert sandbox.post("tags/members/batchtagging", bad_tag, token)["errcode"] == 45159
    assert sandbox.post("tags/delete", {"tag": {"id": tag_id}}, token)["errcode"] == 0


def test_mass_send(sandbox: Sandbox) -> None:
    token = sandbox.token()
    body = {
        "filter": {"is_to_all": False, "tag_id": 100},
        "msgtype": "text",
        "text": {"content": "年会通知"},
    }
    answer = sandbox.post("message/mass/sendall", body, token)
    assert answer["errcode"] == 0
    assert answer["errmsg"] == "send job submission success"
    assert isinstance(answer["msg_id"], int)
    assert isinstance(answer["msg_data_id"], int)
    status = sandbox.post("message/mass/get", {"msg_id": answer["msg_id"]}, token)
    assert status["msg_status"] == "SEND_SUCCESS"
    to_all = {**body, "filter": {"is_to_all": True}}
    assert sandbox.post("message/mass/sendall", to_all, token)["errcode"] == 0
    # WeChat refuses openid-list mass sends to a single user.
    single = {"touser": [OPENID], "msgtype": "text", "text": {"content": "x"}}
    assert sandbox.post("message/mass/send", single, token)["errcode"] == 40130


def test_unknown_api_is_recorded(sandbox: Sandbox) -> None:
    token = sandbox.token()
    answer = sandbox.post("message/custom/typing", {"touser": OPENID, "command": "Typing"}, token)
    assert answer == {"errcode": 0, "errmsg": "ok"}
    assert sandbox.calls(path="typing")[0]["body"]["command"] == "Typing"


def test_calls_page(sandbox: Sandbox) -> None:
    for path in ("/_sandbox/", "/"):
        response = sandbox.http.get(sandbox.root + path)
        assert response.status_code == 200
        assert "<title>WeChat API 沙箱 · 调用记录</title>" in response.text
        # Intranet deployments have no internet: everything must be inline.
        assert "<script src" not in response.text
        assert "<link" not in response.text
    # The page is templates/dev/sandbox.html: its script reads the JSON lines and strips the
    # API prefix with escapes that must reach the browser as written.
    assert 'text.split("\\n")' in response.text
    assert 'call.path.replace(/^\\/cgi-bin\\//, "")' in response.text


def test_an_endpoint_declared_twice_is_refused() -> None:
    from bot.dev.sandbox.registry import Endpoints, merge

    first, second = Endpoints(), Endpoints()
    for family in (first, second):
        family.route("menu/get")(lambda state, query, body: {})
    with pytest.raises(ValueError, match="/cgi-bin/menu/get"):
        merge(first, second)


class SandboxWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy client whose token fetch goes to the sandbox instead of the hard-coded URL."""

    def fetch_access_token(self) -> dict[str, Any]:
        result: dict[str, Any] = self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
            },
        )
        return result


def test_wechatpy_client_against_sandbox(sandbox: Sandbox) -> None:
    client = SandboxWeChatClient("wxsandboxappid", "sandbox-secret")
    client.API_BASE_URL = sandbox.base
    client.message.send_text(OPENID, "你好")
    sends = sandbox.calls(path="message/custom/send", touser=OPENID)
    assert len(sends) == 1
    assert sends[0]["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": "你好"}}

    # After the tokens expire, wechatpy's auto-retry fetches a new one and resends.
    sandbox.http.post(sandbox.root + "/_sandbox/expire-tokens")
    client.message.send_text(OPENID, "再见")
    errcodes = [call["errcode"] for call in sandbox.calls(path="custom/send")]
    assert errcodes == [0, 42001, 0]
    stats = sandbox.http.get(sandbox.root + "/_sandbox/stats").json()
    assert stats["token_fetches"] == 2
