"""The notices area's forms: compose (with the channel's rules checked field by field) and
the admin's own WeChat binding. Messages staff read are Chinese, beside each field."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileAllowed, FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from bot.console.forms import Form, strip
from bot.services.notices import compose, rules

CHANNEL_CHOICES = [
    SelectChoice("template", "模板消息（逐人发送，任何时候可发）"),
    SelectChoice("custom", "客服消息（仅 48 小时内互动过的会员）"),
    SelectChoice("mass", "群发（全部关注者或一个微信标签）"),
]
AUDIENCE_CHOICES = [
    SelectChoice("all", "全部关注者"),
    SelectChoice("chamber", "某个商会的会员"),
    SelectChoice("tag", "带有某个标签的会员"),
    SelectChoice("session", "某场培训的报名者"),
    SelectChoice("list", "上传名单（手机号或姓名）"),
]
PROBLEMS = {
    "empty": "不能为空",
    "too_long": f"不能超过 {rules.FIELD_MAX_CHARS} 个字",
    "line_break": "不能换行",
}


class NoticeForm(Form):
    title = StringField(
        "标题",
        [
            DataRequired("请填写标题。"),
            Length(max=compose.TITLE_MAX, message=f"标题不能超过 {compose.TITLE_MAX} 个字。"),
        ],
        filters=[strip],
    )
    summary = StringField(
        "摘要",
        [Length(max=compose.SUMMARY_MAX, message=f"摘要不能超过 {compose.SUMMARY_MAX} 个字。")],
        filters=[strip],
    )
    body = TextAreaField(
        "正文",
        [
            DataRequired("请填写正文。"),
            Length(max=compose.BODY_MAX, message=f"正文不能超过 {compose.BODY_MAX} 个字。"),
        ],
    )
    attachment_url = StringField(
        "附件链接",
        [
            Optional(),
            Length(max=compose.URL_MAX, message="链接太长。"),
            Regexp(r"^https?://\S+$", message="请填写以 http:// 或 https:// 开头的链接。"),
        ],
        filters=[strip],
    )
    channel = SelectField("发送方式", choices=CHANNEL_CHOICES, default="template")
    audience_kind = SelectField("发送对象", choices=AUDIENCE_CHOICES, default="all")
    chamber = SelectField("商会", choices=[], validate_choice=False)
    tag = StringField("标签", [Length(max=90, message="标签太长。")], filters=[strip])
    session = SelectField("培训", choices=[], validate_choice=False)
    upload = FileField("名单文件", [FileAllowed(["csv", "xlsx"], "只支持 CSV 或 XLSX 文件。")])

    def validate_title(self, field: Any) -> None:
        self._template_field(field, "标题")

    def validate_summary(self, field: Any) -> None:
        self._template_field(field, "摘要", allow_empty=True)

    def _template_field(self, field: Any, label: str, allow_empty: bool = False) -> None:
        # A template message's keywords: at most 20 characters, one line (else 47003).
        if self.channel.data != "template" or (allow_empty and not field.data):
            return
        problem = rules.field_problem(field.data or "")
        if problem is not None:
            raise ValidationError(f"模板消息的{label}{PROBLEMS[problem]}（微信会以 47003 拒收）。")

    def validate_audience_kind(self, field: Any) -> None:
        kind = field.data
        if self.channel.data == "mass" and kind not in ("all", "tag"):
            raise ValidationError("群发只能发给全部关注者或一个微信标签。")
        if kind == "chamber" and not (self.chamber.data or "").isdigit():
            raise ValidationError("请选择商会。")
        if kind == "session" and not (self.session.data or "").isdigit():
            raise ValidationError("请选择培训。")
        if kind == "tag" and not self.tag.data:
            raise ValidationError("请填写标签。")

    def audience_spec(self) -> str:
        kind = self.audience_kind.data
        value = {"chamber": self.chamber.data, "session": self.session.data, "tag": self.tag.data}
        return f"{kind}:{value[kind]}" if kind in value else kind

    def fill(self, notice: Any) -> None:
        """Show a saved notice in the form (editing a draft)."""
        self.title.data, self.summary.data, self.body.data = (
            notice.title,
            notice.summary,
            notice.body,
        )
        self.attachment_url.data, self.channel.data = notice.attachment_url, notice.channel
        kind, _, value = notice.audience.partition(":")
        self.audience_kind.data = kind
        if kind == "chamber":
            self.chamber.data = value
        elif kind == "session":
            self.session.data = value
        elif kind == "tag":
            self.tag.data = value


class OpenidForm(Form):
    openid = StringField(
        "我的微信 openid",
        [
            Optional(),
            Length(max=64, message="openid 不超过 64 个字符。"),
            Regexp(r"^[A-Za-z0-9_-]+$", message="openid 只含字母、数字、下划线和连字符。"),
        ],
        filters=[strip],
    )
