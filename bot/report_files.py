"""Writing a report (:class:`bot.report_sheets.Document`) in the format asked for: a readable
Chinese table for the terminal, CSV (UTF-8 with a BOM, so Excel opens it as UTF-8), XLSX
(openpyxl, one worksheet per sheet), JSON (English keys, ISO dates) or a standalone Chinese HTML
page."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.output import display_width, table
from bot.report_sheets import Document, Value
from content.errors import InputError

BAD_MARKS = ("待填写", "单项否决", "不足", "超期未更新", "空白栏目", "已超期未完成")


class Format(StrEnum):
    TEXT = "text"
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    HTML = "html"


FORMAT_CHOICES = "csv、xlsx、json、html"
EXTENSIONS = {Format.CSV: ".csv", Format.XLSX: ".xlsx", Format.JSON: ".json", Format.HTML: ".html"}


def parse_format(value: str | None, output: str | None) -> Format:
    """The format named, else the one the output file's extension implies, else text."""
    if value:
        try:
            fmt = Format(value.strip().lower())
        except ValueError:
            raise InputError(f"未知格式“{value}”", field="--format", fix=f"可用：{FORMAT_CHOICES}") from None
        if fmt is Format.TEXT:
            raise InputError("text 是默认的终端输出，不需要指定", field="--format", fix=f"可用：{FORMAT_CHOICES}")
        return fmt
    if output:
        for fmt, ext in EXTENSIONS.items():
            if output.lower().endswith(ext):
                return fmt
    return Format.TEXT


def render(doc: Document, fmt: Format, tz: ZoneInfo, now: datetime) -> bytes:
    if fmt is Format.CSV:
        return to_csv(doc)
    if fmt is Format.XLSX:
        return to_xlsx(doc)
    if fmt is Format.JSON:
        return to_json(doc).encode("utf-8")
    if fmt is Format.HTML:
        return to_html(doc, tz, now).encode("utf-8")
    return to_text(doc).encode("utf-8")


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ----------------------------------------------------------------------------------- text
def to_text(doc: Document) -> str:
    lines = [doc.title, doc.subtitle, ""]
    for sheet in doc.sheets:
        lines.append(f"【{sheet.title}】")
        for block in sheet.blocks:
            if not block.rows:
                lines.append(f"{block.caption}：{block.empty}")
                continue
            if len(sheet.blocks) > 1 or block.caption != sheet.title:
                lines.append(f"{block.caption}：")
            lines.append(table([[_text(v) for v in row] for row in block.rows], list(block.headers)))
        lines += [f"  {note}" for note in sheet.notes]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------ csv
def to_csv(doc: Document) -> bytes:
    """Every block one after another: the sheet and block titles, the header row, the rows and
    a blank line. Prefixed with a BOM so that Excel reads UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([doc.title, doc.subtitle])
    for sheet in doc.sheets:
        writer.writerow([])
        writer.writerow([f"【{sheet.title}】"])
        for block in sheet.blocks:
            writer.writerow([block.caption])
            writer.writerow(block.headers)
            if not block.rows:
                writer.writerow([block.empty])
            for row in block.rows:
                writer.writerow([_csv_cell(v) for v in row])
        for note in sheet.notes:
            writer.writerow([note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(value: Value) -> str:
    text = _text(value)
    # a cell starting with = + - @ is a formula to a spreadsheet: keep it text
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(value) else text


def _is_number(value: Value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


# ----------------------------------------------------------------------------------- xlsx
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def to_xlsx(doc: Document) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="F6F8FA")
    todo_fill = PatternFill("solid", fgColor="FFF8C5")
    used: set[str] = set()
    for sheet in doc.sheets:
        name = _SHEET_BAD.sub("_", sheet.title)[:31] or "Sheet"
        while name in used:
            name = name[:29] + f"{len(used):02d}"
        used.add(name)
        ws = book.create_sheet(name)
        ws.append([doc.title, doc.subtitle])
        ws.cell(1, 1).font = Font(bold=True, size=14)
        widths: dict[int, int] = {}
        for block in sheet.blocks:
            ws.append([])
            ws.append([block.caption])
            ws.cell(ws.max_row, 1).font = bold
            ws.append(list(block.headers))
            for col in range(1, len(block.headers) + 1):
                cell = ws.cell(ws.max_row, col)
                cell.font, cell.fill = bold, head_fill
            if not block.rows:
                ws.append([block.empty])
            for row in block.rows:
                ws.append([_xlsx_cell(v) for v in row])
                for col, value in enumerate(row, 1):
                    if isinstance(value, str) and value in BAD_MARKS:
                        ws.cell(ws.max_row, col).fill = todo_fill
            for row in (block.headers, *block.rows):
                for col, value in enumerate(row, 1):
                    widths[col] = max(widths.get(col, 0), min(display_width(_text(value)), 60))
        for note in sheet.notes:
            ws.append([note])
            ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=False)
        for col, width in widths.items():
            ws.column_dimensions[ws.cell(1, col).column_letter].width = max(width + 2, 8)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value: Value) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and value[:1] == "=":
        return "'" + value  # never a formula
    return value


# ----------------------------------------------------------------------------------- json
def to_json(doc: Document) -> str:
    return json.dumps(doc.data, ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------------- html
_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=PackageLoader("content", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True))
    return _env


def _css(value: Value) -> str:
    if _is_number(value):
        return "num"
    if isinstance(value, str) and value.startswith("待填写"):
        return "todo"
    if isinstance(value, str) and any(value.startswith(m) for m in BAD_MARKS):
        return "bad"
    if isinstance(value, str) and value.startswith(("进行中", "扣分")):
        return "warn"
    return ""


def to_html(doc: Document, tz: ZoneInfo, now: datetime) -> str:
    """A standalone page (its own styles, no script) that prints well."""
    return _environment().get_template("reports/page.html").render(
        doc=doc, css=_css, generated=now.astimezone(tz).strftime("%Y-%m-%d %H:%M"))

