"""The 代办事项清单 (商会+最多跑一次): reading it, and importing it from the departments'
XLSX or CSV lists.

A list has one item per row under a header row; the columns are found by their Chinese
headers (事项名称, 部门, 所需材料, 可否代办, 办理时限, 关键词, 备注 — a few spellings of
each are understood), in any order. An item is identified by its name and department: an
import updates those it has and adds the others; rows it does not list are left alone
(``deactivate_missing`` retires them). Nothing here commits.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.extensions import DBSession
from bot.models import ProxyItem

# Column → the headers that name it (compared without spaces, case-insensitively).
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("事项名称", "事项", "名称", "办理事项", "name"),
    "department": ("部门", "办理部门", "受理部门", "所属部门", "department"),
    "materials": ("所需材料", "材料", "申请材料", "需要材料", "materials"),
    "by_proxy": ("可否代办", "是否可代办", "可代办", "能否代办", "by_proxy"),
    "workdays": ("办理时限", "办理时限（工作日）", "时限", "承诺时限", "工作日", "workdays"),
    "keywords": ("关键词", "别名", "俗称", "keywords"),
    "note": ("备注", "说明", "note"),
}
NO_WORDS = frozenset({"否", "不可", "不可以", "不能", "不可代办", "须本人", "需本人", "no", "0"})
MAX_ROWS = 5000


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    retired: int = 0
    errors: list[str] = field(default_factory=list)  # "第3行：缺少事项名称"


def active(db: DBSession) -> list[ProxyItem]:
    return list(
        db.execute(
            select(ProxyItem).where(ProxyItem.active.is_(True)).order_by(ProxyItem.id)
        ).scalars()
    )


def version(db: DBSession) -> tuple[int, str]:
    """What changes whenever the catalogue does: the count and the latest change."""
    count, latest = db.execute(
        select(func.count(ProxyItem.id), func.max(ProxyItem.updated_at))
    ).one()
    return int(count or 0), latest.isoformat() if isinstance(latest, datetime) else str(latest)


def label(item: ProxyItem) -> str:
    return f"{item.name}（{item.department}）" if item.department else item.name


def search_rows(items: Iterable[ProxyItem]) -> list[tuple[str, str, tuple[str, ...], str, str]]:
    """What the catalogue search indexes of each item: key, name, keywords, department, and
    the materials and notes (``bot.kb.catalogue.Row``'s fields)."""
    return [
        (
            str(i.id),
            i.name,
            tuple(k.strip() for k in (i.keywords or "").split(",") if k.strip()),
            i.department,
            f"{i.materials}\n{i.note}",
        )
        for i in items
    ]


def by_label(db: DBSession, text: str) -> ProxyItem | None:
    """The active item whose label (or name) is ``text``."""
    for item in active(db):
        if text in (label(item), item.name):
            return item
    return None


# -- importing -------------------------------------------------------------------------------
def read_table(path: Path) -> list[list[Any]]:
    """The cells of the first sheet of an XLSX file, or of a CSV file (UTF-8, BOM or not)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path.read_bytes())
    return read_csv(path.read_bytes())


def read_xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 1)
        return [list(row) for row in rows]
    finally:
        book.close()


def read_csv(content: bytes) -> list[list[Any]]:
    text = content.decode("utf-8-sig")
    return [list(row) for row in csv.reader(io.StringIO(text))][: MAX_ROWS + 1]


def _key(header: Any) -> str:
    return re.sub(r"\s+", "", str(header or "")).lower()


def columns(header: Sequence[Any]) -> dict[str, int]:
    """Which cell holds which column, by the header row."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        text = _key(cell)
        for column, names in HEADERS.items():
            if column not in found and text in {_key(n) for n in names}:
                found[column] = position
    return found


def _cell(row: Sequence[Any], position: int | None) -> str:
    if position is None or position >= len(row) or row[position] is None:
        return ""
    value = row[position]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _materials(text: str) -> str:
    parts = re.split(r"[\n；;、]|(?<!\d)[，,](?!\d)", text)
    return "\n".join(p.strip(" 　.。") for p in parts if p.strip(" 　.。"))


def import_table(
    db: DBSession, table: Iterable[Sequence[Any]], *, deactivate_missing: bool = False
) -> ImportResult:
    """Upsert the items of ``table`` (a header row, then one item per row)."""
    result = ImportResult()
    rows = list(table)
    if not rows:
        result.errors.append("文件是空的")
        return result
    where = columns(rows[0])
    if "name" not in where:
        result.errors.append("第1行没有“事项名称”列")
        return result
    existing = {(i.name, i.department): i for i in db.execute(select(ProxyItem)).scalars()}
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows[1:], start=2):
        name = _cell(row, where.get("name"))
        if not name:
            if any(_cell(row, p) for p in where.values()):
                result.errors.append(f"第{number}行：缺少事项名称")
            continue
        department = _cell(row, where.get("department"))
        days = _cell(row, where.get("workdays"))
        digits = re.search(r"\d+", days)
        if days and digits is None:
            result.errors.append(f"第{number}行：办理时限“{days}”不是天数")
        key = (name[:200], department[:100])
        if key in seen:
            result.errors.append(f"第{number}行：“{name}”重复，已按后一行为准")
        seen.add(key)
        item = existing.get(key)
        if item is None:
            item = ProxyItem(name=key[0], department=key[1])
            db.add(item)
            existing[key] = item
            result.created += 1
        else:
            result.updated += 1
        item.materials = _materials(_cell(row, where.get("materials")))
        item.by_proxy = _cell(row, where.get("by_proxy")).lower() not in NO_WORDS
        item.workdays = int(digits.group()) if digits else None
        item.keywords = ",".join(
            k.strip()
            for k in re.split(r"[,，、;；\s]+", _cell(row, where.get("keywords")))
            if k.strip()
        )
        item.note = _cell(row, where.get("note"))
        item.active = True
    if deactivate_missing:
        for key, item in existing.items():
            if key not in seen and item.active:
                item.active = False
                result.retired += 1
    db.flush()
    return result
