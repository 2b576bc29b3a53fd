"""The action form of a case kind, built from the kind's declared inputs (``spec.Input``).

Every kind gets one form class: the action's name, the note, and one field per input of
the kind (text, textarea, date, datetime, int, money, select, yes_no). Which of them an
action needs is its transition's ``fields``/``optional``; the engine checks that again on
submit, so a form field shown or hidden is a convenience, not a permission. A select's
options are the input's ``choices(db, case)``, set per case before the form is shown or
checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wtforms import (
    DateField,
    DateTimeLocalField,
    DecimalField,
    Field,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from bot.console.common import sql
from bot.console.forms import LOCAL_FORMATS, Form, strip
from bot.models.cases import Case
from bot.services.cases.spec import CaseKind, Input, Transition

NOTE_MAX = 4000
# Far beyond any count of days or people, far inside the database's integers.
INT_LIMIT = 1_000_000_000
YES, NO = "yes", "no"
_CLASSES: dict[str, type[Form]] = {}


def _field(item: Input) -> Field:
    """The WTForms field of one declared input (every one optional at the form's level)."""
    label = item.label
    if item.type == "textarea":
        return TextAreaField(label, [Optional(), Length(max=item.max_len)])
    if item.type == "date":
        return DateField(label, [Optional()], invalid_value_message="日期格式不对。")
    if item.type == "datetime":
        return DateTimeLocalField(
            label, [Optional()], format=LOCAL_FORMATS, invalid_value_message="时间格式不对。"
        )
    if item.type == "int":
        return IntegerField(
            label,
            [Optional(), NumberRange(min=-INT_LIMIT, max=INT_LIMIT, message="数字超出范围。")],
        )
    if item.type == "money":
        return DecimalField(
            label,
            [Optional(), NumberRange(min=0, max=10**12, message="金额超出范围。")],
            places=2,
        )
    if item.type in ("select", "yes_no"):
        return SelectField(label, [Optional()], coerce=str, validate_choice=True)
    return StringField(label, [Optional(), Length(max=item.max_len)], filters=[strip])


def form_class(kind: CaseKind) -> type[Form]:
    """The one action form class of ``kind`` (made once)."""
    made = _CLASSES.get(kind.name)
    if made is not None:
        return made
    attrs: dict[str, Any] = {
        "action": HiddenField(validators=[DataRequired()]),
        "note": TextAreaField(
            "说明", [Optional(), Length(max=NOTE_MAX, message=f"说明不能超过 {NOTE_MAX} 字。")]
        ),
    }
    for item in kind.inputs:
        if item.name in attrs:
            raise RuntimeError(f"{kind.name}: input {item.name!r} clashes with the form's own")
        attrs[item.name] = _field(item)
    made = type(f"{kind.name.title().replace('_', '')}ActionForm", (Form,), attrs)
    _CLASSES[kind.name] = made
    return made


def action_form(kind: CaseKind, case: Case, *, submitted: bool = False) -> Form:
    """The form for ``case``: the posted one (``submitted``) or an empty one to show."""
    cls = form_class(kind)
    form = cls() if submitted else cls(formdata=None)
    for item in kind.inputs:
        field = getattr(form, item.name)
        if item.type == "yes_no":
            field.choices = [SelectChoice("", "—"), SelectChoice(YES, "是"), SelectChoice(NO, "否")]
        elif item.type == "select":
            options = item.choices(sql(), case) if item.choices is not None else []
            field.choices = [SelectChoice("", "—")] + [SelectChoice(v, t) for v, t in options]
    return form


def values(kind: CaseKind, form: Form) -> dict[str, Any]:
    """What was given for the engine: the inputs filled in (yes_no as a boolean)."""
    given: dict[str, Any] = {}
    for item in kind.inputs:
        value = getattr(form, item.name).data
        if value in (None, ""):
            continue
        if item.type == "yes_no":
            value = value == YES
        elif item.type == "money" and isinstance(value, Decimal):
            value = value.quantize(Decimal("0.01"))
        given[item.name] = value
    return given


@dataclass(frozen=True)
class Asked:
    """One field an action's form shows: the input, and whether the table requires it."""

    input: Input
    required: bool


def asked(kind: CaseKind, transition: Transition) -> list[Asked]:
    """The inputs ``transition`` takes, required ones first, in the kind's declared order."""
    names = list(transition.fields) + [n for n in transition.optional if n not in transition.fields]
    found = [(kind.input(n), n in transition.fields) for n in names]
    return [Asked(item, required) for item, required in found if item is not None]
