"""A simulated member talking to the webhook with signed XML (``flask chat``, ``/dev/chat``).

Requests go through the app's WSGI stack, so signature checks, de-duplication, state and
replies are the real ones; only WeChat's servers are played by this module.
"""

from __future__ import annotations

import xmltodict
from flask import Flask

from bot.wechat.simulate import Signer, event_xml, text_xml


def reply_text(body: str) -> str:
    """The text of a passive reply ("" for `success` or a non-text reply)."""
    if not body or body == "success":
        return ""
    data = xmltodict.parse(body)["xml"]
    return str(data.get("Content") or "")


class Conversation:
    def __init__(self, app: Flask, openid: str, *, encrypt: bool = False) -> None:
        self.app = app
        self.openid = openid
        cfg = app.config
        self.encrypt = encrypt and bool(cfg.get("WECHAT_AES_KEY"))
        self.signer = Signer(
            cfg["WECHAT_TOKEN"], cfg["WECHAT_APP_ID"], cfg.get("WECHAT_AES_KEY", "")
        )
        self.account = cfg["WECHAT_ACCOUNT_ID"]

    def post(self, xml: str) -> tuple[int, str]:
        query, body = self.signer.request(xml, openid=self.openid, encrypt=self.encrypt)
        with self.app.test_client() as client:
            response = client.post(
                "/wechat", query_string=query, data=body, content_type="text/xml"
            )
        text = response.get_data(as_text=True)
        if self.encrypt and response.status_code == 200 and text != "success":
            text = self.signer.decrypt_reply(text, query)
        return response.status_code, text

    def send_text(self, content: str) -> str:
        return reply_text(self.post(text_xml(self.openid, content, account=self.account))[1])

    def send_event(self, event: str, key: str = "") -> str:
        return reply_text(self.post(event_xml(self.openid, event, key, account=self.account))[1])

    def say(self, line: str) -> list[str]:
        """Interpret a console line: text, or /follow, /unfollow, /scan K, /click K."""
        if line.startswith("/follow"):
            scene = line.split(maxsplit=1)[1] if " " in line else ""
            replies = [self.send_event("subscribe", f"qrscene_{scene}" if scene else "")]
        elif line.startswith("/unfollow"):
            replies = [self.send_event("unsubscribe")]
        elif line.startswith("/scan "):
            replies = [self.send_event("SCAN", line.split(maxsplit=1)[1])]
        elif line.startswith("/click "):
            replies = [self.send_event("CLICK", line.split(maxsplit=1)[1])]
        else:
            replies = [self.send_text(line)]
        return [r for r in replies if r] or ["（无回复）"]
