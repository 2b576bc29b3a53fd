"""Odd and hostile bodies through the real webhook: refused with a plain 400, never
expanded, stored, crashed on, or answered with an apology (issue 16)."""

from __future__ import annotations

import io

from bot.models import Follower, OutboundMessage
from bot.wechat.simulate import event_xml, text_xml
from tests.conftest import WeChat

ENTITY_MESSAGE = (
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY who "EXPANDED-SECRET">]>'
    "<xml><ToUserName>gh_test</ToUserName><FromUserName>o-utf16</FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&who;</Content>"
    "<MsgId>77</MsgId></xml>"
)


def _post_raw(client, body: bytes, **query_kw):
    query, _ = WeChat(client).signer.request("<xml/>", **query_kw)
    return client.post("/wechat", query_string=query, data=body, content_type="text/xml")


def test_a_utf16_body_with_an_entity_is_refused_not_expanded(client):
    for body in (
        ENTITY_MESSAGE.encode("utf-16"),  # with its byte-order mark
        ENTITY_MESSAGE.encode("utf-16-le"),
        ENTITY_MESSAGE.replace("UTF-16", "UTF-8").encode("utf-16"),
    ):
        response = _post_raw(client, body)
        assert response.status_code == 400
        assert "EXPANDED" not in response.get_data(as_text=True)


def test_other_declared_encodings_and_nul_bytes_are_refused(client):
    latin = text_xml("o-latin", "hi").replace(
        "<xml>", '<?xml version="1.0" encoding="latin-1"?><xml>'
    )
    assert _post_raw(client, latin.encode()).status_code == 400
    nul = text_xml("o-nul", "a\x00b").encode()
    assert _post_raw(client, nul).status_code == 400
    # A UTF-8 byte-order mark is harmless and accepted.
    ok = WeChat(client, openid="o-bom")
    query, body = ok.signer.request(text_xml("o-bom", "你好"), openid="o-bom")
    response = client.post("/wechat", query_string=query, data=b"\xef\xbb\xbf" + body)
    assert response.status_code == 200 and "<Content>" in response.get_data(as_text=True)


def test_bad_request_bodies_name_no_exception_and_no_configuration(client):
    for body in (b"<xml><ToUserName>", b"\xff\xfe<\x00x\x00", b"<xml></xml>"):
        response = _post_raw(client, body)
        assert response.status_code == 400
        assert response.get_data(as_text=True) == "bad request"
    query, _ = WeChat(client).signer.request(text_xml("o-x", "hi"), encrypt=True)
    sealed = client.post("/wechat", query_string=query, data=b"<xml><Nothing/></xml>")
    assert (sealed.status_code, sealed.get_data(as_text=True)) == (400, "bad request")


def test_out_of_range_ids_in_events_are_refused_and_nothing_is_stored(app, client):
    mass = event_xml("o-mass", "MASSSENDJOBFINISH").replace(
        "</xml>", "<MsgID>99999999999999999999</MsgID><Status>send success</Status></xml>"
    )
    assert _post_raw(client, mass.encode()).status_code == 400
    long_id = "o" * 65
    subscribe = event_xml(long_id, "subscribe")
    assert _post_raw(client, subscribe.encode(), openid=long_id).status_code == 400
    from bot.extensions import db

    assert db.session.query(OutboundMessage).count() == 0
    assert db.session.query(Follower).count() == 0


def test_ordinary_ids_still_pass(wechat):
    assert wechat.event("subscribe")  # the welcome
    assert wechat.say("你好", msg_id=2**63 - 1)


def test_a_chunked_body_over_the_limit_is_refused_not_cut(client):
    query, body = WeChat(client).signer.request(text_xml("o-chunk", "你好"))
    huge = body + b"\n" * (70 * 1024) + b"<junk"

    # As gunicorn passes a chunked body on: no Content-Length, the stream ends by itself.
    response = client.post(
        "/wechat",
        query_string=query,
        input_stream=io.BytesIO(huge),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_job_results_with_odd_counts_are_stored_without_a_crash(app, client):
    from bot.extensions import db

    for counts in (
        "<TotalCount>9223372036854775808</TotalCount><SentCount>1</SentCount>",
        "<SentCount>1</SentCount><SentCount>2</SentCount>",
        "<TotalCount><x>1</x></TotalCount>",
    ):
        xml = event_xml("o-job", "MASSSENDJOBFINISH").replace(
            "</xml>", f"<MsgID>1000001</MsgID><Status>send success</Status>{counts}</xml>"
        )
        assert _post_raw(client, xml.encode()).status_code == 200
    row = db.session.query(OutboundMessage).filter_by(kind="mass").one()
    assert row.status == "send success" and row.total_count is None
