"""The one place tables are written out as CSV or XLSX: console downloads and ``flask export``.

Names, companies and notes come from WeChat users, and a spreadsheet program runs a cell
that starts with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return as a formula (CSV/formula
injection): :func:`cell` prefixes such text with ``'`` so it stays text. Staff download CSV
for Excel, which needs the UTF-8 BOM to read Chinese; ``flask export`` writes CSV for
scripts, without one. JSON lines (``flask export --format json``) keep raw values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from flask import Response, abort, send_file

# Columns of the tables the console and `flask export` share (docs/CONTRACT.md names the
# fields of `flask export`; cases, committees and departments: bot/services/cases/rows.py).
REGISTRATIONS = (
    "id",
    "session_id",
    "openid",
    "name",
    "company",
    "position",
    "phone",
    "status",
    "created_at",
)
# A session's registrants as staff download them (created_at in local time, with offset).
SESSION_REGISTRANTS = (
    "id",
    "session_id",
    "session_title",
    "openid",
    "name",
    "company",
    "position",
    "phone",
    "status",
    "created_at",
)
# What staff read in a download's header row (scripts read `flask export`'s field names).
LABELS: dict[str, str] = {
    "id": "编号",
    "session_id": "培训编号",
    "session_title": "培训名称",
    "openid": "微信用户标识",
    "name": "姓名",
    "company": "单位",
    "position": "职务",
    "phone": "手机号",
    "status": "状态",
    "created_at": "提交时间",
    "chamber": "所属商会",
    "tags": "标签",
}
# Status words as staff read them, by the values records store.
STATUS_WORDS: dict[str, str] = {
    "confirmed": "已确认",
    "waitlisted": "候补",
    "cancelled": "已取消",
    "attended": "已签到",
}
MEMBERS = ("id", "name", "company", "position", "phone", "chamber", "openid", "tags")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WIDE = frozenset({"openid", "company", "name", "dispute_types", "categories"})
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: text that would run as a formula stays text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rows_of(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    """``records`` (dicts) as rows in ``columns`` order."""
    return [[record.get(name) for name in columns] for record in records]


def write_csv(
    out: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False
) -> None:
    """Write a header and ``rows`` to ``out``; ``bom`` for Excel."""
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([cell(v) for v in row] for row in rows)


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file for Excel: UTF-8 with the BOM."""
    buffer = io.StringIO()
    write_csv(buffer, columns, rows, bom=True)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An XLSX workbook: a bold, frozen header row and one row per record."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(columns))
    for header in sheet[1]:
        header.font = Font(bold=True)
    for row in rows:
        sheet.append([cell(v) for v in row])
    sheet.freeze_panes = "A2"
    for number, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = 28 if name in _WIDE else 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def for_staff(columns: Sequence[str], rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Chinese header labels and status words for a download staff open in a spreadsheet."""
    headers = [LABELS.get(name, name) for name in columns]
    if "status" not in columns:
        return headers, rows
    at = list(columns).index("status")
    worded = [
        [STATUS_WORDS.get(v, v) if i == at and isinstance(v, str) else v for i, v in enumerate(row)]
        for row in rows
    ]
    return headers, worded


def download(
    stem: str, fmt: str, columns: Sequence[str], rows: list[list[Any]], *, worded: bool = True
) -> Response:
    """``rows`` as a ``stem.csv`` or ``stem.xlsx`` attachment; 404 for any other format.
    Field names become Chinese labels and status values words (``worded=False``: as given)."""
    if worded:
        columns, rows = for_staff(columns, rows)
    if fmt == "csv":
        data, mimetype = csv_bytes(columns, rows), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        data, mimetype = xlsx_bytes(columns, rows), _XLSX
    else:
        abort(404)
    return send_file(io.BytesIO(data), mimetype, as_attachment=True, download_name=f"{stem}.{fmt}")
