"""Members and chambers: lookup, binding a WeChat account, roster import and export."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.extensions import DBSession
from bot.models import Chamber, Member, MemberRequest, utcnow

ROSTER_COLUMNS = ("name", "company", "position", "mobile", "chamber", "tags")
# Header words staff actually use in their spreadsheets.
HEADER_ALIASES = {
    "姓名": "name", "名字": "name", "name": "name",
    "单位": "company", "企业": "company", "公司": "company", "企业名称": "company",
    "单位名称": "company", "company": "company",
    "职务": "position", "职位": "position", "position": "position",
    "手机": "mobile", "手机号": "mobile", "手机号码": "mobile", "电话": "mobile",
    "联系电话": "mobile", "mobile": "mobile", "phone": "mobile",
    "商会": "chamber", "所属商会": "chamber", "chamber": "chamber",
    "标签": "tags", "tags": "tags",
}  # fmt: skip
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def by_openid(db: DBSession, openid: str) -> Member | None:
    return db.execute(select(Member).where(Member.openid == openid)).scalar_one_or_none()


def profile(db: DBSession, openid: str) -> dict[str, str]:
    """What the roster knows about this follower (empty when not bound)."""
    member = by_openid(db, openid)
    if member is None:
        return {}
    return {
        "name": member.name,
        "company": member.company,
        "position": member.position,
        "mobile": member.mobile,
    }


def match(db: DBSession, name: str, mobile: str, company: str = "") -> Member | None:
    """The roster row for name + mobile (+ company when several share them)."""
    rows = list(
        db.execute(select(Member).where(Member.name == name, Member.mobile == mobile)).scalars()
    )
    if len(rows) > 1 and company:
        rows = [r for r in rows if company in r.company or r.company in company] or rows
    return rows[0] if rows else None


def bind(db: DBSession, member: Member, openid: str) -> None:
    member.openid = openid
    member.bound_at = utcnow()


def normalise_mobile(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    dry_run: bool = True


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8 or GBK, as Excel writes them) or XLSX file, keyed by column."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.active
        assert sheet is not None
        values = [
            ["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("无法识别文件编码，请另存为 UTF-8 的 CSV 或 XLSX")
        values = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    values = [row for row in values if any(row)]
    if not values:
        return []
    header = [
        HEADER_ALIASES.get(h.strip().lower(), HEADER_ALIASES.get(h.strip(), "")) for h in values[0]
    ]
    if "name" not in header or "mobile" not in header:
        raise ValueError("表头需要至少包含“姓名”和“手机”两列")
    return [
        {key: row[i] if i < len(row) else "" for i, key in enumerate(header) if key}
        for row in values[1:]
    ]


def import_roster(db: DBSession, rows: list[dict[str, str]], *, dry_run: bool) -> ImportReport:
    """Validate every row, report errors and duplicates; write only when not a dry run."""
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    seen: dict[tuple[str, str], int] = {}
    chambers = {c.name: c for c in db.execute(select(Chamber)).scalars()}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        name = (row.get("name") or "").strip()
        mobile = normalise_mobile(row.get("mobile", ""))
        if not name:
            report.errors.append(f"第{number}行：缺少姓名")
            continue
        if not MOBILE.match(mobile):
            report.errors.append(f"第{number}行：手机号“{row.get('mobile', '')}”格式不对")
            continue
        key = (name, mobile)
        if key in seen:
            report.duplicates.append(f"第{number}行与第{seen[key]}行重复（{name}）")
            continue
        seen[key] = number
        existing = match(db, name, mobile)
        if existing is None:
            report.created += 1
        else:
            report.updated += 1
        if dry_run:
            continue
        member = existing or Member(name=name, mobile=mobile)
        if existing is None:
            db.add(member)
        member.company = row.get("company", "") or member.company or ""
        member.position = row.get("position", "") or member.position or ""
        member.tags = row.get("tags", "").replace("，", ",") or member.tags or ""
        chamber_name = (row.get("chamber") or "").strip()
        if chamber_name:
            chamber = chambers.get(chamber_name)
            if chamber is None:
                chamber = Chamber(name=chamber_name)
                db.add(chamber)
                chambers[chamber_name] = chamber
            member.chamber = chamber
    return report


def roster_rows(db: DBSession) -> list[dict[str, Any]]:
    rows = []
    for m in db.execute(select(Member).order_by(Member.id)).scalars():
        rows.append(
            {
                "id": m.id,
                "name": m.name,
                "company": m.company,
                "position": m.position,
                "phone": m.mobile,
                "chamber": m.chamber.name if m.chamber else "",
                "openid": m.openid,
                "tags": m.tags,
            }
        )
    return rows


class ApprovalConflict(ValueError):
    """The request cannot be approved as it stands; the message says why (for staff)."""


def approve(db: DBSession, request: MemberRequest) -> Member:
    """Turn a pending request into a bound member, refusing to bind over another binding."""
    member = match(db, request.name, request.mobile) or Member(
        name=request.name, mobile=request.mobile
    )
    holder = by_openid(db, request.openid)
    if holder is not None:
        raise ApprovalConflict(f"该微信号已绑定会员“{holder.name}”，无需再审批；可直接驳回此申请。")
    if member.openid and member.openid != request.openid:
        raise ApprovalConflict(f"名册中的“{member.name}”已绑定另一个微信号，请核实身份后再处理。")
    if member.id is None:
        db.add(member)
    member.company = request.company or member.company or ""
    member.position = request.position or member.position or ""
    if request.chamber_name:
        chamber = db.execute(
            select(Chamber).where(Chamber.name == request.chamber_name)
        ).scalar_one_or_none()
        if chamber is None:
            chamber = Chamber(name=request.chamber_name)
            db.add(chamber)
        member.chamber = chamber
    if member.openid is None:
        bind(db, member, request.openid)
    request.status = "approved"
    request.decided_at = utcnow()
    return member
