"""Every form of the console (WTForms through Flask-WTF), with the messages staff read.

Each field names its label and its own error messages in Chinese; the templates show them
beside the field (``admin/macros/forms.html``). Every form carries the CSRF token, which
CSRFProtect checks app-wide before any view runs. Forms that need the record being edited
(capacity against seats taken, a topic that must be new) take it as ``row``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import abort, current_app, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from jinja2 import TemplateError
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from bot.dialogue.replies import org_settings
from bot.extensions import db
from bot.kb.index import unique
from bot.models import KnowledgeEntry, TrainingSession
from bot.web.guards import INT64_MAX, has_nul

# Kinds offered when creating a session (a session made on the command line may have its own).
TRAINING_KINDS = (
    "新生代企业家培训班",
    "优秀民营企业家培训班",
    "入党积极分子培训班",
    "非公经济大讲堂",
    "其他",
)
SESSION_STATUSES = [
    SelectChoice("draft", "草稿（会员看不到）"),
    SelectChoice("open", "报名中"),
    SelectChoice("closed", "已截止（停止报名）"),
]
AUDIENCES = [
    SelectChoice("anyone", "所有关注者"),
    SelectChoice("members", "仅已绑定的会员"),
    SelectChoice("tag", "带有指定标签的会员"),
]
# <input type="datetime-local"> sends the first; the others are what people type by hand.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
MAX_CAPACITY = 100_000  # far above any hall, far below the column's limit
_TOPIC = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,79}$")  # e.g. chamber.four-good
_KEYWORD_SPLIT = re.compile(r"[,，、;；\n]+")


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class Form(FlaskForm):  # type: ignore[misc]
    """Base of the console's forms: WTForms' own messages, where ours are not given, in Chinese.

    A field holding a NUL byte is a 400, as in a URL (``bot.web.guards``): PostgreSQL refuses
    NUL in text, and the form's own checks (a unique topic, say) query with what was typed.
    """

    class Meta:
        locales = ("zh",)

    def validate(self, extra_validators: Any = None) -> bool:
        if has_nul(value for values in request.form.listvalues() for value in values):
            abort(400)
        return bool(super().validate(extra_validators))


class ActionForm(Form):
    """A one-button form (cancel, approve, close, resolve, sign out): the CSRF token only."""


# -- sign-in -----------------------------------------------------------------------------------
class LoginForm(Form):
    username = StringField(
        "用户名",
        [DataRequired("请输入用户名。"), Length(max=50, message="用户名不能超过 50 个字符。")],
        filters=[strip],
    )
    password = PasswordField("密码", [InputRequired("请输入密码。")])
    next = HiddenField()


# -- training ----------------------------------------------------------------------------------
class SessionForm(Form):
    """A training session, new or edited."""

    title = StringField(
        "培训名称",
        [DataRequired("请填写培训名称。"), Length(max=200, message="培训名称不能超过 200 个字。")],
        filters=[strip],
    )
    kind = SelectField("类别", invalid_choice_message="请从列表中选择类别。")
    status = SelectField(
        "状态", choices=SESSION_STATUSES, default="draft", invalid_choice_message="状态选择有误。"
    )
    starts_at = DateTimeLocalField(
        "开始时间",
        [InputRequired("请填写开始时间。")],
        format=LOCAL_FORMATS,
        invalid_value_message="开始时间格式不对，请用日期时间选择器填写。",
    )
    ends_at = DateTimeLocalField(
        "结束时间",
        [Optional()],
        format=LOCAL_FORMATS,
        invalid_value_message="结束时间格式不对，请用日期时间选择器填写。",
    )
    deadline = DateTimeLocalField(
        "报名截止",
        [Optional()],
        format=LOCAL_FORMATS,
        invalid_value_message="报名截止格式不对，请用日期时间选择器填写。",
    )
    capacity = IntegerField(
        "名额",
        [InputRequired("请填写名额。")],
        default=50,
        invalid_value_message="名额必须是整数。",
    )
    place = StringField(
        "地点", [Length(max=300, message="地点不能超过 300 个字。")], filters=[strip]
    )
    online_link = StringField(
        "线上链接", [Length(max=500, message="线上链接太长。")], filters=[strip]
    )
    audience_kind = SelectField(
        "报名对象",
        choices=AUDIENCES,
        default="anyone",
        invalid_choice_message="报名对象选择有误。",
    )
    audience_tag = StringField(
        "会员标签",
        [Length(max=95, message="标签太长。")],
        filters=[strip, lambda v: v.replace("，", ",") if isinstance(v, str) else v],
    )
    description = TextAreaField("介绍", filters=[strip])

    def __init__(self, *args: Any, row: TrainingSession | None = None, **kwargs: Any) -> None:
        if row is not None and "data" not in kwargs:
            kwargs["data"] = self.row_values(row)
        super().__init__(*args, **kwargs)
        self.row = row
        kinds = list(TRAINING_KINDS)
        if row is not None and row.kind and row.kind not in kinds:
            kinds.append(row.kind)
        self.kind.choices = [SelectChoice(k) for k in kinds]

    @staticmethod
    def row_values(row: TrainingSession) -> dict[str, Any]:
        audience = row.audience or "anyone"
        tagged = audience.startswith("tag:")
        return {
            "title": row.title,
            "kind": row.kind,
            "status": row.status,
            "starts_at": row.starts_at,
            "ends_at": row.ends_at,
            "deadline": row.deadline,
            "capacity": row.capacity,
            "place": row.place,
            "online_link": row.online_link,
            "audience_kind": "tag" if tagged else audience,
            "audience_tag": audience[4:] if tagged else "",
            "description": row.description,
        }

    def validate_ends_at(self, field: Field) -> None:
        starts = self.starts_at.data
        if field.data and starts and field.data <= starts:
            raise ValidationError("结束时间必须晚于开始时间。")

    def validate_deadline(self, field: Field) -> None:
        starts = self.starts_at.data
        if field.data and starts and field.data > starts:
            raise ValidationError("报名截止时间不能晚于开始时间。")

    def validate_capacity(self, field: Field) -> None:
        if field.data is None:
            return  # not a number: the field said so already
        if field.data < 1:
            raise ValidationError("名额至少为 1。")
        if field.data > MAX_CAPACITY:
            raise ValidationError(f"名额不能超过 {MAX_CAPACITY}。")
        taken = self.row.seats_taken if self.row is not None else 0
        if field.data < taken:
            raise ValidationError(f"已有 {taken} 人确认报名，名额不能少于 {taken}。")

    def validate_online_link(self, field: Field) -> None:
        if field.data and not field.data.startswith(("http://", "https://")):
            raise ValidationError("线上链接需以 http:// 或 https:// 开头。")

    def validate_audience_tag(self, field: Field) -> None:
        if self.audience_kind.data == "tag" and not field.data:
            raise ValidationError("按标签限定对象时，请填写标签。")

    def values(self) -> dict[str, Any]:
        """The validated form as ``TrainingSession`` attributes."""
        kind = self.audience_kind.data
        return {
            "title": self.title.data,
            "kind": self.kind.data or "",
            "description": self.description.data or "",
            "place": self.place.data or "",
            "online_link": self.online_link.data or "",
            "starts_at": _minute(self.starts_at.data),
            "ends_at": _minute(self.ends_at.data),
            "deadline": _minute(self.deadline.data),
            "capacity": self.capacity.data,
            "audience": f"tag:{self.audience_tag.data}" if kind == "tag" else kind,
            "status": self.status.data,
        }


def _minute(value: datetime | None) -> datetime | None:
    return value.replace(second=0, microsecond=0) if value else None


class SessionStatusForm(Form):
    """Open or close sign-up (the buttons on a session's page and in lists)."""

    status = HiddenField(validators=[AnyOf(("open", "closed"), message="无效的操作。")])
    back = HiddenField()


class AttendForm(Form):
    """Mark one registrant as attended (the button in the registrants table)."""

    reg_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=INT64_MAX)]
    )


# -- members -----------------------------------------------------------------------------------
class RosterUploadForm(Form):
    file = FileField(
        "CSV 或 Excel（.xlsx）文件",
        [
            FileRequired("请选择要导入的名册文件。"),
            FileAllowed(["csv", "xlsx"], "只支持 CSV 或 XLSX 文件。"),
        ],
    )


class RosterConfirmForm(Form):
    """Import the checked upload, named by the token that only this session may redeem."""

    token = HiddenField(validators=[DataRequired()])


class RejectForm(Form):
    note = StringField(
        "驳回说明",
        [Length(max=500, message="驳回说明不能超过 500 个字。")],
        filters=[strip],
    )


# -- hand-offs ---------------------------------------------------------------------------------
class ReplyForm(Form):
    text = TextAreaField("回复会员", [DataRequired("请输入回复内容。")], filters=[strip])

    def validate_text(self, field: Field) -> None:
        limit = int(current_app.config.get("REPLY_MAX_BYTES", 2000))
        if len(field.data.encode()) > limit:
            raise ValidationError(
                f"回复太长（微信单条消息上限约 {limit // 3} 个汉字），请分成几条发送。"
            )


# -- knowledge base ---------------------------------------------------------------------------
class EntryForm(Form):
    """A knowledge-base entry; ``topic`` only when it is new (it names the entry for good)."""

    topic = StringField("主题编号", [DataRequired("请填写主题编号。")], filters=[strip])
    title = StringField(
        "标题",
        [DataRequired("请填写标题。"), Length(max=200, message="标题不能超过 200 个字。")],
        filters=[strip],
    )
    question = StringField(
        "标准问法",
        [DataRequired("请填写标准问法。"), Length(max=500, message="标准问法不能超过 500 个字。")],
        filters=[strip],
    )
    paraphrases = TextAreaField("其他问法")
    keywords = StringField("关键词")
    answer = TextAreaField("答案", [DataRequired("请填写答案。")], filters=[strip])
    detail = TextAreaField("详细说明", filters=[strip])
    source = StringField(
        "依据 / 来源", [Length(max=500, message="来源不能超过 500 个字。")], filters=[strip]
    )
    region = StringField(
        "适用地区", [Length(max=100, message="适用地区不能超过 100 个字。")], filters=[strip]
    )
    valid_until = DateField(
        "有效期至", [Optional()], invalid_value_message="有效期格式不对，应为 年-月-日。"
    )
    reviewed = DateField(
        "审核日期", [Optional()], invalid_value_message="审核日期格式不对，应为 年-月-日。"
    )
    active = BooleanField("启用（用于回答会员）", default=True)

    def __init__(self, *args: Any, row: KnowledgeEntry | None = None, **kwargs: Any) -> None:
        if row is not None and "data" not in kwargs:
            kwargs["data"] = self.row_values(row)
        super().__init__(*args, **kwargs)
        self.row = row
        if row is not None:
            del self.topic

    @staticmethod
    def row_values(row: KnowledgeEntry) -> dict[str, Any]:
        return {
            "title": row.title,
            "question": row.question,
            "paraphrases": row.paraphrases,
            "keywords": row.keywords.replace(",", "，"),
            "answer": row.answer,
            "detail": row.detail,
            "source": row.source,
            "region": row.region or "",
            "valid_until": row.valid_until,
            "reviewed": row.reviewed,
            "active": row.active,
        }

    def validate_topic(self, field: Field) -> None:
        if not _TOPIC.match(field.data):
            raise ValidationError("主题编号只能用小写字母、数字、点、下划线和连字符（2–80 位）。")
        taken = select(KnowledgeEntry.id).where(KnowledgeEntry.topic == field.data)
        if db.session.execute(taken).first():
            raise ValidationError(f"主题编号“{field.data}”已存在。")

    # Answers are sandboxed templates (org.* only): a broken one must not reach members.
    def validate_answer(self, field: Field) -> None:
        _check_template(field.data)

    def validate_detail(self, field: Field) -> None:
        _check_template(field.data)

    def values(self) -> dict[str, Any]:
        """The validated form as ``KnowledgeEntry`` attributes (``topic`` aside)."""
        lines = [line.strip() for line in (self.paraphrases.data or "").splitlines()]
        words = [w.strip() for w in _KEYWORD_SPLIT.split(self.keywords.data or "")]
        return {
            "title": self.title.data,
            "question": self.question.data,
            "paraphrases": "\n".join(unique([x for x in lines if x])),
            "keywords": ",".join(unique([w for w in words if w])),
            "answer": self.answer.data,
            "detail": self.detail.data or "",
            "source": self.source.data or "",
            "region": self.region.data or None,
            "valid_until": self.valid_until.data,
            "reviewed": self.reviewed.data,
            "active": bool(self.active.data),
        }

    def preview(self) -> dict[str, str]:
        """The answer and detail as members would read them ("" where they do not render)."""
        return {"answer": preview(self.answer.data), "detail": preview(self.detail.data)}


def _check_template(text: str | None) -> None:
    try:
        current_app.extensions["kb"].render_text(text or "", org_settings())
    except TemplateError as exc:
        raise ValidationError(f"模板写法有误：{exc.message or exc}") from exc


def preview(text: str | None) -> str:
    """``text`` rendered with the organisation's settings, or "" when it does not render."""
    try:
        rendered: str = current_app.extensions["kb"].render_text(text or "", org_settings())
    except TemplateError:
        return ""
    return rendered


def first_errors(forms: Iterable[Form]) -> list[str]:
    """Every error message of ``forms``, for a flash where the form is a row's button."""
    out: list[str] = []
    for form in forms:
        for messages in form.errors.values():
            out.extend(str(m) for m in messages)
    return out
