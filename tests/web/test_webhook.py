"""The webhook through HTTP with signed XML: verification, modes, every message type."""

from __future__ import annotations

import threading
import time

import pytest
import xmltodict
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot.models import Follower, OutboundMessage
from bot.wechat.channel import WeChatChannel, signature, to_inbound, xml_fields
from bot.wechat.simulate import event_xml, message_xml, text_xml
from tests.conftest import TOKEN, WeChat


def test_get_verification_echoes_with_a_valid_signature(client):
    ts, nonce = str(int(time.time())), "n1"
    query = {
        "signature": signature(TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": "hello123",
    }
    response = client.get("/wechat", query_string=query)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello123"


def test_get_verification_refuses_a_forged_signature(client):
    ts = str(int(time.time()))
    query = {"signature": "0" * 40, "timestamp": ts, "nonce": "n", "echostr": "x"}
    assert client.get("/wechat", query_string=query).status_code == 403
    assert client.get("/wechat").status_code == 403


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_text_message_gets_a_text_reply(client, encrypt):
    wechat = WeChat(client, encrypt=encrypt)
    status, body = wechat.post(text_xml(wechat.openid, "你好"))
    assert status == 200
    reply = xmltodict.parse(body)["xml"]
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == wechat.openid
    assert "商会助手" in reply["Content"]


def test_encrypted_reply_is_sealed(client):
    wechat = WeChat(client, encrypt=True)
    query, body = wechat.signer.request(text_xml(wechat.openid, "你好"), encrypt=True)
    response = client.post("/wechat", query_string=query, data=body)
    envelope = xmltodict.parse(response.get_data(as_text=True))["xml"]
    assert set(envelope) >= {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert "你好" not in response.get_data(as_text=True)


def test_compatible_mode_plaintext_fields_and_envelope(client):
    wechat = WeChat(client)
    xml = text_xml(wechat.openid, "帮助")
    query, body = wechat.signer.request(xml, encrypt=True)
    # Compatible mode: plaintext fields travel beside the Encrypt element.
    body = body.replace(b"</xml>", xml[5:-6].encode() + b"</xml>")
    response = client.post("/wechat", query_string=query, data=body)
    assert response.status_code == 200
    assert "培训报名" in wechat.signer.decrypt_reply(response.get_data(as_text=True), query)


def test_forged_msg_signature_is_refused(client):
    wechat = WeChat(client)
    query, body = wechat.signer.request(text_xml(wechat.openid, "你好"), encrypt=True)
    query["msg_signature"] = "f" * 40
    assert client.post("/wechat", query_string=query, data=body).status_code == 403


def test_missing_and_forged_signatures_are_refused(client):
    xml = text_xml("o-x", "你好").encode()
    assert client.post("/wechat", data=xml).status_code == 403
    ts = str(int(time.time()))
    query = {"signature": "a" * 40, "timestamp": ts, "nonce": "n"}
    assert client.post("/wechat", query_string=query, data=xml).status_code == 403


def test_stale_timestamp_is_refused(wechat):
    status, _ = wechat.post(text_xml(wechat.openid, "你好"), timestamp=int(time.time()) - 301)
    assert status == 403
    status, _ = wechat.post(text_xml(wechat.openid, "你好"), timestamp=int(time.time()) + 400)
    assert status == 403


def test_a_nonce_reused_for_another_message_is_refused(wechat):
    ts = int(time.time())
    status, _ = wechat.post(text_xml(wechat.openid, "你好"), timestamp=ts, nonce="same")
    assert status == 200
    status, _ = wechat.post(text_xml(wechat.openid, "帮助"), timestamp=ts, nonce="same")
    assert status == 403


def test_malformed_xml_is_400_quickly(client):
    wechat = WeChat(client)
    for body in (b"<xml><ToUserName>", b"not xml at all", b"", b"<xml></xml>"):
        query, _ = wechat.signer.request("<xml/>")
        started = time.perf_counter()
        response = client.post("/wechat", query_string=query, data=body)
        assert response.status_code == 400, body
        assert time.perf_counter() - started < 0.1


def test_entity_expansion_bomb_is_refused(client):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i else "&lol;") * 10}">' for i in range(1, 10)
        )
        + "]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content>"
        "<MsgId>1</MsgId></xml>"
    )
    wechat = WeChat(client)
    query, _ = wechat.signer.request("<xml/>")
    started = time.perf_counter()
    response = client.post("/wechat", query_string=query, data=bomb.encode())
    assert response.status_code == 400
    assert time.perf_counter() - started < 0.1


def test_oversized_body_is_413(client):
    wechat = WeChat(client)
    query, _ = wechat.signer.request("<xml/>")
    response = client.post("/wechat", query_string=query, data=b"<xml>" + b"a" * 70000)
    assert response.status_code == 413


def test_cdata_terminator_in_content_is_neutralised(wechat):
    reply = wechat.say("]]><evil>")  # whatever it answers, the XML must stay well formed
    assert isinstance(reply, str) and reply


@pytest.mark.parametrize(
    "msg_type,fields",
    [
        ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m1"}),
        ("video", {"MediaId": "m1", "ThumbMediaId": "t1"}),
        ("shortvideo", {"MediaId": "m1", "ThumbMediaId": "t1"}),
        ("location", {"Location_X": 23.1, "Location_Y": 113.3, "Scale": 20, "Label": "某地"}),
        ("link", {"Title": "标题", "Description": "描述", "Url": "http://x"}),
        (
            "file",
            {
                "Title": "合同.pdf",
                "Description": "",
                "FileKey": "k",
                "FileMd5": "m",
                "FileTotalLen": 100,
            },
        ),
    ],
)
@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_media_messages_get_a_polite_receipt(client, msg_type, fields, encrypt):
    wechat = WeChat(client, encrypt=encrypt)
    status, body = wechat.send(msg_type, **fields)
    assert status == 200
    assert "收到" in xmltodict.parse(body)["xml"]["Content"]


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_voice_uses_recognition_or_asks_to_type(client, encrypt):
    wechat = WeChat(client, encrypt=encrypt)
    _, body = wechat.send("voice", MediaId="m", Format="amr", Recognition="你好")
    assert "商会助手" in xmltodict.parse(body)["xml"]["Content"]
    _, body = wechat.send("voice", MediaId="m", Format="amr", Recognition="")
    assert "打字" in xmltodict.parse(body)["xml"]["Content"]


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_subscribe_with_scene_records_source_and_welcomes(app, client, encrypt):
    wechat = WeChat(client, "o-new", encrypt=encrypt)
    reply = wechat.event("subscribe", "qrscene_chamber_42")
    assert "欢迎关注" in reply and "菜单" in reply
    row = Follower.query.filter_by(openid="o-new").one()
    assert row.subscribed and row.source_scene == "chamber_42"


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
def test_unsubscribe_marks_and_stays_silent(app, client, encrypt):
    wechat = WeChat(client, "o-gone", encrypt=encrypt)
    wechat.event("subscribe")
    status, body = wechat.post(event_xml("o-gone", "unsubscribe"))
    assert (status, body) == (200, "success")
    assert Follower.query.filter_by(openid="o-gone").one().subscribed is False


def test_scan_click_view_location(app, wechat):
    assert "欢迎回来" in wechat.event("SCAN", "chamber_7")
    assert "培训报名" in wechat.event("CLICK", "HELP")
    assert "电话" in wechat.event("CLICK", "CONTACT")
    assert wechat.post(event_xml(wechat.openid, "VIEW", "http://x"))[1] == "success"
    xml = event_xml(wechat.openid, "LOCATION", Latitude=23.1, Longitude=113.2, Precision=30.0)
    assert wechat.post(xml)[1] == "success"
    row = Follower.query.filter_by(openid=wechat.openid).one()
    assert row.last_scene == "chamber_7" and round(row.latitude, 1) == 23.1


def test_every_menu_key_gets_an_answer(app, wechat):
    from bot.cli.commands import load_menu

    for top in load_menu()["button"]:
        for button in top["sub_button"]:
            reply = wechat.event("CLICK", button["key"])
            assert reply and "不可用" not in reply, button


def test_send_job_finished_events_are_recorded_silently(app, wechat):
    xml = event_xml(
        wechat.openid,
        "MASSSENDJOBFINISH",
        MsgID=1000001,
        Status="send success",
        TotalCount=100,
        FilterCount=90,
        SentCount=88,
        ErrorCount=2,
    )
    assert wechat.post(xml)[1] == "success"
    xml = event_xml(
        wechat.openid, "TEMPLATESENDJOBFINISH", MsgID=2000002, Status="failed:user block"
    )
    assert wechat.post(xml)[1] == "success"
    mass = OutboundMessage.query.filter_by(kind="mass", msg_id=1000001).one()
    assert (mass.sent_count, mass.error_count, mass.status) == (88, 2, "send success")
    assert OutboundMessage.query.filter_by(kind="template").one().status == "failed:user block"


def test_unknown_event_and_type_answer_success(wechat):
    assert wechat.post(event_xml(wechat.openid, "SOMETHING_NEW"))[1] == "success"
    assert wechat.send("miniprogrampage", Title="t")[1] == "success"


def test_long_reply_is_cut_with_more(app, wechat):
    from bot.dialogue.replies import split_for_wechat

    text = "。".join(["这是一句比较长的政策说明文字" * 3] * 40) + "。"
    head, rest = split_for_wechat(text, 2000, "回复“更多”查看后续")
    assert len(head.encode()) <= 2000 and head.endswith("回复“更多”查看后续")
    assert head[: -len("\n回复“更多”查看后续")].endswith("。")
    assert rest and (head.split("\n")[0] + rest).startswith(head.split("\n")[0])


def _eventually(check, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_fast_path_stores_the_reply_for_retries_and_frees_the_user(app, wechat):
    r = app.extensions["redis"]
    xml = text_xml(wechat.openid, "你好", msg_id="880001")
    status, first = wechat.post(xml)
    assert status == 200 and "CDATA[text]" in first
    # The closing write is not waited for; Redis has it a moment later.
    assert _eventually(lambda: not r.exists(f"bot:lock:user:{wechat.openid}"))
    stored = f"bot:dedup:m:{wechat.openid}:880001"
    assert _eventually(lambda: (r.get(stored) or "").startswith("<xml>"))
    status, retried = wechat.post(xml)  # WeChat's retry: same MsgId, new nonce
    assert status == 200
    assert xmltodict.parse(retried)["xml"]["Content"] == xmltodict.parse(first)["xml"]["Content"]


def test_fast_path_waits_for_the_members_turn_in_progress(app, wechat):
    r = app.extensions["redis"]
    lock = f"bot:lock:user:{wechat.openid}"
    r.set(lock, "another-turn", px=15000)
    release = threading.Timer(0.3, r.delete, args=(lock,))
    release.start()
    started = time.monotonic()
    reply = wechat.say("你好")
    release.join()
    assert time.monotonic() - started >= 0.25  # it waited for the other turn
    assert "商会助手" in reply  # and then answered normally, not in degraded mode


_SCANCODE = (
    "<xml><ToUserName><![CDATA[gh_a]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
    "<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[]]></EventKey>"
    "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[x]]></ScanResult>"
    "</ScanCodeInfo></xml>"
)
_PICS = (
    "<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>event</MsgType><Event>pic_sysphoto</Event><SendPicsInfo><Count>2</Count><PicList>"
    "<item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item></PicList>"
    "</SendPicsInfo></xml>"
)


@pytest.mark.parametrize(
    "xml",
    [
        text_xml("o1", "你好 ]]> <b>"),
        event_xml("o1", "SCAN", "7", Ticket="t"),
        message_xml("o1", "location", Location_X=23.1, Location_Y=113.2, Scale=20, Label="广州"),
        message_xml("o1", "voice", MediaId="m", Format="amr", Recognition="你好"),
        message_xml("o1", "link", Title="t", Description="d", Url="https://example.org"),
        event_xml("o1", "MASSSENDJOBFINISH", MsgID=1000001, Status="send success", TotalCount=9),
        _SCANCODE,
        _PICS,
    ],
)
def test_fields_are_what_wechatpys_parser_reads(xml):
    # xml_fields replaces wechatpy's parse_message for speed; it must read the same fields
    # (nested and repeated elements included).
    assert xml_fields(xml) == dict(parse_message(xml)._data)


def test_follow_by_scene_keeps_the_raw_event():
    # The one difference: wechatpy rewrites a follow through a QR code into
    # "subscribe_scan" and strips "qrscene_"; we keep WeChat's fields as sent.
    fields = xml_fields(event_xml("o1", "subscribe", "qrscene_chamber-7"))
    assert (fields["Event"], fields["EventKey"]) == ("subscribe", "qrscene_chamber-7")


def test_text_reply_is_wechatpys_layout(monkeypatch):
    monkeypatch.setattr("bot.wechat.channel.time.time", lambda: 1_700_000_000)
    message = to_inbound(text_xml("o-1", "hi"))
    ours = WeChatChannel.text_reply_xml(message, "您好，<商会> & ]]>")
    theirs = TextReply(
        source=message.account,
        target=message.openid,
        content="您好，<商会> & ]]]]><![CDATA[>",
        time=1_700_000_000,
    ).render()
    assert ours == theirs
