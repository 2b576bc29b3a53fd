"""The ceiling: a bare Flask + wechatpy webhook that echoes text back.

It does what any WeChat webhook must do and nothing else: check the signature, decrypt
(safe mode), parse, build a text reply, encrypt it. No Redis, no database, no dispatch.
``bench.run`` serves it under the same gunicorn settings as the bot::

    WECHAT_TOKEN=... WECHAT_APP_ID=... WECHAT_AES_KEY=... gunicorn bench.echo_app:app
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WECHAT_TOKEN", "bench-token")
APP_ID = os.environ.get("WECHAT_APP_ID", "wxbench")
AES_KEY = os.environ.get("WECHAT_AES_KEY", "")

app = Flask(__name__)
crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if AES_KEY else None


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response | str:
    args = request.args
    timestamp = args.get("timestamp", "")
    nonce = args.get("nonce", "")
    try:
        check_signature(TOKEN, args.get("signature", ""), timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    if request.method == "GET":
        return args.get("echostr", "")
    body = request.get_data()
    encrypted = args.get("encrypt_type") == "aes"
    if encrypted:
        if crypto is None:
            abort(400)
        try:
            xml = crypto.decrypt_message(body, args.get("msg_signature", ""), timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException):
            abort(403)
    else:
        xml = body
    message = parse_message(xml)
    content = getattr(message, "content", "") or "success"
    reply = str(create_reply(content, message, render=True))
    if encrypted:
        assert crypto is not None
        reply = str(crypto.encrypt_message(reply, nonce, timestamp))
    return Response(reply, mimetype="application/xml")
