"""The subscriber CSV files staff import and export.

Import columns: ``phone,topics[,source][,consent]`` (a header row naming them is optional; topics
separated by ";"). Each row is checked on its own: the number, the topics (each must exist),
how consent was obtained (the row's ``consent`` cell or the import's ``--consent``). A bad row
is listed with its reason and the fix, and does not stop the rest.

Export cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) get a leading ``'``; import takes it off again, so an export
imports back unchanged."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from channels.sms import phone as phones_
from content.errors import InputError
from content.subscribers_bulk import Incoming

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOPICS_SHOWN = 12
CONSENT_MAX = 500
SOURCE_MAX = 100
TOPIC_MAX = 200
HEADERS = {"phone": ("phone", "手机号", "手机号码", "号码", "mobile"),
           "topics": ("topics", "主题", "订阅主题"),
           "source": ("source", "来源"),
           "consent": ("consent", "consent_detail", "同意说明", "同意方式")}
CONSENT_FIX = "在 consent 列写明如何取得本人同意，或加 --consent \"如：2026 年社区登记表，本人签字同意\""


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def restore(cell: str) -> str:
    """The inverse of :func:`neutralise` for a cell read back from an export."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def decode(path: Path) -> str:
    return decode_bytes(path.read_bytes(), str(path))


def decode_bytes(raw: bytes, name: str) -> str:
    """A CSV's text: UTF-8 (with or without a BOM), else GB18030 (what Excel saves in China)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name} 的编码无法识别", field="file", fix="请存为 UTF-8 编码的 CSV")  # pragma: no cover


@dataclass(frozen=True)
class BadRow:
    line: int
    text: str
    problem: str
    unknown_topics: tuple[str, ...] = ()


class SubscriberCsv:
    """One import file: its columns (from the header, if any) and its rows, checked."""

    def __init__(self, text: str, *, consent: str = "", source: str = "") -> None:
        self.text = text
        self.consent = consent.strip()
        self.source = source  # when the row has none
        first = next(csv.reader(io.StringIO(text)), [])
        first = [c.strip().lower() for c in first]
        self.has_header = bool(first) and first[0] in HEADERS["phone"]
        if self.has_header:
            found = {key: next((i for i, c in enumerate(first) if c in aliases), None)
                     for key, aliases in HEADERS.items()}
            if found["topics"] is None:
                raise InputError("CSV 表头缺少 topics 列", fix="表头写成 phone,topics,source,consent")
            self.columns = {k: v for k, v in found.items() if v is not None}
        else:
            self.columns = {"phone": 0, "topics": 1, "source": 2}
        if "consent" not in self.columns and not self.consent:
            raise InputError("没有记录如何取得本人同意，未导入任何号码", fix=CONSENT_FIX)
        if len(self.consent) > CONSENT_MAX:
            raise InputError(f"--consent 超过 {CONSENT_MAX} 字", fix="简要写明如何取得本人同意")
        self.width = max(self.columns.values()) + 1
        lines = sum(1 for line in text.splitlines() if line.strip())
        self.total = max(lines - (1 if self.has_header else 0), 0)

    def rows(self, known_topics: Iterable[str]) -> Iterator[Incoming | BadRow]:
        known = set(known_topics)
        seen: dict[str, int] = {}
        reader = csv.reader(io.StringIO(self.text))
        if self.has_header:
            next(reader, None)
        for number, cells in enumerate(reader, start=2 if self.has_header else 1):
            cells = [restore(c.strip()) if c[:1] == "'" else c.strip() for c in cells]
            if not any(cells):
                continue
            row = self._row(number, cells + [""] * (self.width - len(cells)), known, seen)
            if isinstance(row, Incoming):
                seen[row.address] = number
            yield row

    def _row(self, number: int, cells: Sequence[str], known: set[str], seen: dict[str, int]) -> Incoming | BadRow:
        at = self.columns
        try:
            phone = phones_.normalise(cells[at["phone"]])
        except InputError as exc:
            return BadRow(number, ",".join(cells).rstrip(","), f"{exc.message}（修正：{exc.fix}）")
        raw = cells[at["topics"]]
        if ";" in raw or "；" in raw:
            topics = tuple(dict.fromkeys(t.strip() for t in raw.replace("；", ";").split(";") if t.strip()))
        else:
            topics = (raw,) if raw else ()
        problem = ""
        unknown: tuple[str, ...] = ()
        if not topics:
            problem = "没有订阅主题（修正：第二列写主题，多个主题用 ; 分隔，如 all;突发事件）"
        elif not known.issuperset(topics):
            too_long = [t for t in topics if len(t) > TOPIC_MAX]
            unknown = tuple(t for t in topics if t not in known)
            if too_long:
                problem, unknown = f"主题过长：{too_long[0][:20]}…（修正：主题不超过 {TOPIC_MAX} 字）", ()
            else:
                listed = sorted(known)
                offer = "、".join(listed[:TOPICS_SHOWN]) + ("等" if len(listed) > TOPICS_SHOWN else "")
                problem = (f"没有这个主题：{'、'.join(unknown)}；整行未导入（修正：改为已有的主题，如 {offer}；"
                           "新栏目或部门须先有稿件）")
        elif phone in seen:
            problem = f"号码与第 {seen[phone]} 行重复，已按第 {seen[phone]} 行导入"
        source = cells[at["source"]] if "source" in at else ""
        consent = (cells[at["consent"]] if "consent" in at else "") or self.consent
        if problem:
            pass
        elif len(source) > SOURCE_MAX:
            problem = f"来源过长（修正：不超过 {SOURCE_MAX} 字）"
        elif not consent:
            problem = f"没有同意说明（修正：{CONSENT_FIX}）"
        elif len(consent) > CONSENT_MAX:
            problem = f"同意说明过长（修正：不超过 {CONSENT_MAX} 字）"
        if problem:
            return BadRow(number, ",".join(cells).rstrip(","), problem, unknown)
        return Incoming(number, phone, topics, source or self.source, consent)
