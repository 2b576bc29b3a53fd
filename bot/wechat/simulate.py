"""Build signed (and optionally encrypted) WeChat requests, as WeChat's servers would.

Used by ``flask chat``, the ``/dev/chat`` page, the tests and the benchmark, so that all of
them go through the real webhook code rather than calling handlers directly.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

from wechatpy.crypto import WeChatCrypto

from bot.wechat.channel import cdata, signature

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000 + os.getpid() % 1000)


def next_msg_id() -> str:
    return str(next(_msg_ids))


def message_xml(
    openid: str,
    msg_type: str = "text",
    *,
    account: str = "gh_shanghui_dev",
    create_time: int | None = None,
    msg_id: str | None = None,
    **fields: str | int | float,
) -> str:
    """XML for one inbound message or event; ``fields`` are WeChat element names."""
    parts = [
        f"<ToUserName>{cdata(account)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        if isinstance(value, str):
            parts.append(f"<{name}>{cdata(value)}</{name}>")
        else:
            parts.append(f"<{name}>{escape(str(value))}</{name}>")
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next_msg_id()}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str, **kw: str | int) -> str:
    return message_xml(openid, "text", Content=content, **kw)  # type: ignore[arg-type]


def event_xml(openid: str, event: str, key: str = "", **kw: str | int) -> str:
    fields: dict[str, str | int] = {"Event": event}
    if key:
        fields["EventKey"] = key
    return message_xml(openid, "event", **kw, **fields)  # type: ignore[arg-type]


@dataclass
class Signer:
    """Signs requests with the account's token; encrypts them when an AES key is given."""

    token: str
    app_id: str = "wx-dev-appid"
    aes_key: str = ""

    def query(self, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or secrets.token_hex(8)
        return {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def request(
        self, xml: str, *, openid: str = "", encrypt: bool = False, **kw: int | str
    ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body for a POST to /wechat."""
        query = self.query(**kw)  # type: ignore[arg-type]
        if openid:
            query["openid"] = openid
        if not encrypt:
            return query, xml.encode()
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        sealed = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        # encrypt_message returns our reply envelope; a request carries Encrypt + ToUserName.
        import xmltodict

        envelope = str(xmltodict.parse(sealed)["xml"]["Encrypt"])
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(self.token, query["timestamp"], query["nonce"], envelope)
        to_user = f"<ToUserName>{cdata('gh_shanghui_dev')}</ToUserName>"
        body = f"<xml>{to_user}<Encrypt>{cdata(envelope)}</Encrypt></xml>"
        return query, body.encode()

    def decrypt_reply(self, body: str, query: dict[str, str]) -> str:
        """Open an encrypted passive reply (what WeChat's servers do)."""
        import xmltodict

        envelope = xmltodict.parse(body)["xml"]
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        return str(
            crypto.decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        )
