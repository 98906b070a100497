"""Table II of the annual government-information-disclosure report (第二部分 主动公开政府信息情况,
in the layout of 国办公开办函〔2021〕30号), for what the store knows, plus the year's proactive
disclosure counts by column and kind.

What the store knows: 规章 and 行政规范性文件 among the published policy documents —
- a policy is a 规章 when its document number is a government order (…令…号) or it is tagged 规章;
  otherwise a 行政规范性文件 when it carries the ``normative`` flag;
- issued (本年制发) in the year of its 成文日期 (``issued``), else of its first publication;
- abolished (本年废止) in the year of the first published revision whose 有效性 (``validity``)
  says 废止 or 失效;
- in force (现行有效) at the end of the year: issued by then and not abolished by then.

The other rows (行政许可, 行政处罚, 行政强制, 行政事业性收费) the store cannot know: they are
left for staff (待填写) and kept once entered (:func:`set_entry`, audited). A figure entered for
a row the store counts replaces the count, and says so.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.errors import InputError
from content.kinds import Kind, kind_label
from content.models import AuditEvent, Item, Revision
from content.report_entries import AnnualEntry

ABOLISHED = re.compile(r"废止|失效|废除")
ORDER_NO = re.compile(r"令.*第?\s*\d+\s*号")


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    decimal: bool = False  # 万元 with decimals; counts are whole numbers


@dataclass(frozen=True)
class Row:
    code: str
    label: str
    item: str  # 第二十条第（一）项 …
    columns: tuple[Column, ...]
    known: bool  # the store counts it


ISSUED = Column("issued", "本年制发件数")
ABOLISHED_COL = Column("abolished", "本年废止件数")
IN_FORCE = Column("in_force", "现行有效件数")
DECISIONS = Column("decisions", "本年处理决定数量")
AMOUNT = Column("amount", "本年收费金额（单位：万元）", decimal=True)

ROWS: tuple[Row, ...] = (
    Row("regulations", "规章", "第二十条第（一）项", (ISSUED, ABOLISHED_COL, IN_FORCE), True),
    Row("normative", "行政规范性文件", "第二十条第（一）项", (ISSUED, ABOLISHED_COL, IN_FORCE), True),
    Row("licensing", "行政许可", "第二十条第（五）项", (DECISIONS,), False),
    Row("penalty", "行政处罚", "第二十条第（六）项", (DECISIONS,), False),
    Row("enforcement", "行政强制", "第二十条第（六）项", (DECISIONS,), False),
    Row("fees", "行政事业性收费", "第二十条第（八）项", (AMOUNT,), False),
)
ROW_BY_NAME = {name: row for row in ROWS for name in (row.code, row.label)}
MAX_VALUE = Decimal("1000000000")


class Source:
    STORE = "store"  # counted from the store
    STAFF = "staff"  # entered by staff
    MISSING = "missing"  # 待填写


SOURCE_LABELS = {Source.STORE: "库中统计", Source.STAFF: "人工填写", Source.MISSING: "待填写"}


@dataclass(frozen=True)
class Cell:
    row: str
    column: str
    value: Decimal | None
    source: str  # Source.*
    counted: int | None = None  # the store's own count, when staff replaced it
    entered_by: str | None = None
    entered_at: datetime | None = None

    @property
    def text(self) -> str:
        return "待填写" if self.value is None else format_value(self.value)


@dataclass(frozen=True)
class DisclosureCount:
    column: str
    kind: str
    count: int

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


@dataclass(frozen=True)
class AnnualReport:
    year: int
    cells: tuple[Cell, ...]
    disclosures: tuple[DisclosureCount, ...]

    def cell(self, row: str, column: str) -> Cell:
        return next(c for c in self.cells if c.row == row and c.column == column)

    @property
    def missing(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.source == Source.MISSING)


def format_value(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def policy_class(doc_no: str, tags: list[str] | None, normative: bool) -> str | None:
    """``regulations`` (规章), ``normative`` (行政规范性文件) or None."""
    if ORDER_NO.search(doc_no or "") or "规章" in (tags or []):
        return "regulations"
    return "normative" if normative else None


def _year_bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(date(year, 1, 1), time(0), tz).astimezone(timezone.utc),
            datetime.combine(date(year + 1, 1, 1), time(0), tz).astimezone(timezone.utc))


async def _policy_counts(session: AsyncSession, year: int, tz: ZoneInfo) -> dict[tuple[str, str], int]:
    """Issued, abolished and in force for 规章 and 行政规范性文件, from the published revisions."""
    rows = await session.execute(
        select(Item.id, Item.state, Item.first_published_at, Item.retracted_at, Revision.number,
               Revision.doc_no, Revision.tags, Revision.normative, Revision.issued,
               Revision.validity, Revision.published_at)
        .join(Revision, Revision.item_id == Item.id)
        .where(Item.kind == Kind.POLICY.value, Item.first_published_at.is_not(None),
               Revision.published_at.is_not(None))
        .order_by(Item.id, Revision.number))
    docs: dict[int, dict] = {}
    for iid, state, first, retracted, _n, doc_no, tags, normative, issued, validity, published in rows:
        doc = docs.setdefault(iid, {"class": None, "issued": None, "abolished": None,
                                    "retracted": retracted if state == "retracted" else None})
        # the latest published revision says what the document is and when it was made
        doc["class"] = policy_class(doc_no, tags, normative)
        doc["issued"] = issued or (first.astimezone(tz).date() if first else published.astimezone(tz).date())
        if doc["abolished"] is None and ABOLISHED.search(validity or ""):
            doc["abolished"] = published.astimezone(tz).date()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    end = date(year, 12, 31)
    for doc in docs.values():
        kind = doc["class"]
        if kind is None:
            continue
        issued, abolished = doc["issued"], doc["abolished"]
        gone = doc["retracted"].astimezone(tz).date() if doc["retracted"] else None
        if issued.year == year:
            counts[(kind, "issued")] += 1
        if abolished is not None and abolished.year == year:
            counts[(kind, "abolished")] += 1
        if issued <= end and (abolished is None or abolished > end) and (gone is None or gone > end):
            counts[(kind, "in_force")] += 1
    return counts


async def _disclosures(session: AsyncSession, year: int, tz: ZoneInfo) -> tuple[DisclosureCount, ...]:
    start, end = _year_bounds(year, tz)
    rows = await session.execute(
        select(Item.column_name, Item.kind, func.count())
        .where(Item.first_published_at >= start, Item.first_published_at < end)
        .group_by(Item.column_name, Item.kind).order_by(Item.column_name, Item.kind))
    return tuple(DisclosureCount(col or "（未分栏目）", kind, n) for col, kind, n in rows)


async def entries(session: AsyncSession, year: int) -> dict[tuple[str, str], AnnualEntry]:
    found = await session.scalars(select(AnnualEntry).where(AnnualEntry.year == year))
    return {(e.row, e.column): e for e in found}


async def compute(session: AsyncSession, year: int, *, tz: ZoneInfo) -> AnnualReport:
    check_year(year)
    counted = await _policy_counts(session, year, tz)
    entered = await entries(session, year)
    cells = []
    for row in ROWS:
        for col in row.columns:
            staff = entered.get((row.code, col.code))
            own = counted.get((row.code, col.code), 0) if row.known else None
            if staff is not None:
                cells.append(Cell(row.code, col.code, Decimal(staff.value), Source.STAFF, own,
                                  staff.entered_by, staff.entered_at))
            elif own is not None:
                cells.append(Cell(row.code, col.code, Decimal(own), Source.STORE))
            else:
                cells.append(Cell(row.code, col.code, None, Source.MISSING))
    return AnnualReport(year, tuple(cells), await _disclosures(session, year, tz))


def check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise InputError(f"年份 {year} 无效", field="year", fix="写四位年份，如 2026")


def parse_cell(row_name: str, column_name: str, value: str) -> tuple[Row, Column, Decimal]:
    """The row, column and value staff gave (English codes or the table's Chinese words)."""
    rows = "、".join(f"{r.code}（{r.label}）" for r in ROWS)
    row = ROW_BY_NAME.get(row_name.strip())
    if row is None:
        raise InputError(f"年报表二没有“{row_name}”这一行", field="row", fix=f"可用：{rows}")
    cols = {name: c for c in row.columns for name in (c.code, c.label, c.label.split("（")[0])}
    col = cols.get(column_name.strip())
    if col is None:
        choices = "、".join(f"{c.code}（{c.label}）" for c in row.columns)
        raise InputError(f"“{row.label}”一行没有“{column_name}”这一栏", field="column",
                         fix=f"可用：{choices}")
    try:
        number = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or number >= MAX_VALUE:
        raise InputError(f"“{value}”不是有效的数值", field="value",
                         fix="填写不小于 0 的数" + ("（万元，可带小数）" if col.decimal else "（整数）"))
    if not col.decimal and number != number.to_integral_value():
        raise InputError(f"{col.label}应为整数，收到“{value}”", field="value", fix="填写整数件数")
    if col.decimal and -number.as_tuple().exponent > 4:  # type: ignore[operator]
        raise InputError(f"金额“{value}”小数位过多", field="value", fix="最多保留 4 位小数（万元）")
    return row, col, number


async def set_entry(session: AsyncSession, year: int, row_name: str, column_name: str, value: str,
                    *, actor: str, now: datetime) -> AnnualEntry:
    """Keep a staff figure for the year's table II (replacing an earlier one); audited."""
    check_year(year)
    row, col, number = parse_cell(row_name, column_name, value)
    if not actor:
        raise InputError("填写年报数据须记录操作人", field="as", fix="用 --as 姓名 或设置环境变量 GONGKAI_USER")
    existing = (await session.scalars(select(AnnualEntry).where(
        AnnualEntry.year == year, AnnualEntry.row == row.code, AnnualEntry.column == col.code))).first()
    text = format_value(number)
    before = existing.value if existing is not None else None
    if existing is None:
        existing = AnnualEntry(year=year, row=row.code, column=col.code, value=text,
                               entered_by=actor, entered_at=now)
        session.add(existing)
    else:
        existing.value, existing.entered_by, existing.entered_at = text, actor, now
    session.add(AuditEvent(at=now, actor=actor, action="annual_report_set", reason="",
                           detail={"year": year, "row": row.code, "column": col.code,
                                   "value": text, "previous": before}))
    await session.flush()
    return existing
