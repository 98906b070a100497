"""``gongkai report …`` and ``gongkai inspect``: the compliance report, table II of the annual
report (with the figures staff enter) and the self-inspection. The work is done by
bot.ops.reports, which the console calls too; this only parses input and writes the result."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.clikit import Cli, command
from bot.ops import Who
from bot.ops import reports as ops
from bot.output import emit
from bot.report_files import FORMAT_CHOICES, Format, parse_format, render
from bot.report_sheets import Document, annual, compliance, inspect as inspect_sheets
from bot.service import Service
from bot.timeparse import parse_date
from bot.zhclick import ZhGroup
from content.errors import InputError

VETO_EXIT = 3  # gongkai inspect found a 单项否决 problem
FORMAT_HELP = f"输出格式：{FORMAT_CHOICES}（默认在终端显示中文表格；--output 的扩展名也可决定格式）"


@click.group("report", cls=ZhGroup)
def report() -> None:
    """报表：合规报告、政府信息公开年度报告（表二）。"""


def _write(cli: Cli, doc: Document, fmt_name: str | None, output: str | None) -> None:
    fmt = parse_format(fmt_name, output)
    settings = cli.settings
    if cli.as_json and not output:
        fmt = Format.JSON
    if fmt is Format.XLSX and not output:
        raise InputError("xlsx 是二进制文件，不能直接显示在终端", field="--output",
                         fix="加 --output 文件名.xlsx")
    from datetime import datetime, timezone

    data = render(doc, fmt, settings.tz, datetime.now(timezone.utc))
    if output:
        path = Path(output).expanduser()
        if path.is_dir():
            raise InputError(f"{path} 是一个目录", field="--output", fix="写上文件名，如 合规报告.xlsx")
        try:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError as exc:
            raise InputError(f"无法写入 {path}（{exc.strerror}）", field="--output",
                             fix="检查文件夹是否存在、是否有写权限") from exc
        emit(cli.as_json, {"output": str(path), "format": fmt.value, "bytes": len(data)},
             f"已写入 {path}（{fmt.value}，{len(data)} 字节）")
        return
    sys.stdout.flush()
    click.echo(data.decode("utf-8"), nl=False)


@command(report, "compliance")
@click.option("--from", "start", required=True, help="开始日期（含），如 2026-01-01")
@click.option("--to", "end", required=True, help="结束日期（含），如 2026-12-31")
@click.option("--department", default=None, help="只看该部门")
@click.option("--format", "fmt", default=None, help=FORMAT_HELP)
@click.option("--output", default=None, help="写入文件（xlsx 必须写入文件）")
def compliance_cmd(cli: Cli, start: str, end: str, department: str | None, fmt: str | None,
                   output: str | None) -> None:
    """合规报告（时限义务、网站更新、新媒体、新闻发布会）。

    各部门各规则的时限义务（按时、逾期及逾期时长、超期未完成、豁免、按时率），网站无更新的周、
    未按期更新的栏目、政务新媒体账号、每季度新闻发布会。"""
    first, last = parse_date(start, field="--from"), parse_date(end, field="--to")
    parse_format(fmt, output)  # a bad format is refused before the store is opened

    async def work(svc: Service, who: Who) -> Document:
        result = await ops.compliance(svc, who, start=first, end=last, department=department)
        return compliance(result, svc.settings.tz)

    _write(cli, cli.run_as(work), fmt, output)


@command(report, "annual")
@click.argument("year", type=int)
@click.option("--format", "fmt", default=None, help=FORMAT_HELP)
@click.option("--output", default=None, help="写入文件（xlsx 必须写入文件）")
def annual_cmd(cli: Cli, year: int, fmt: str | None, output: str | None) -> None:
    """年度报告表二（主动公开政府信息情况）。

    国办公开办函〔2021〕30号格式的表二及本年主动公开数量（按栏目和类型）；库中无从统计的项目
    标为“待填写”，用 gongkai report annual-set 填写。"""
    parse_format(fmt, output)

    async def work(svc: Service, who: Who) -> Document:
        return annual(await ops.annual(svc, who, year), svc.settings.tz)

    _write(cli, cli.run_as(work), fmt, output)


@command(report, "annual-set")
@click.argument("year", type=int)
@click.argument("row")
@click.argument("column")
@click.argument("value")
def annual_set(cli: Cli, year: int, row: str, column: str, value: str) -> None:
    """填写年报表二中库里没有的数据（保存并记入审计）。

    例：gongkai report annual-set 2026 licensing decisions 128

    行：regulations 规章、normative 行政规范性文件、licensing 行政许可、penalty 行政处罚、
    enforcement 行政强制、fees 行政事业性收费；栏：issued 本年制发件数、abolished 本年废止件数、
    in_force 现行有效件数、decisions 本年处理决定数量、amount 本年收费金额（万元）。"""
    from content.annual_report import parse_cell

    parse_cell(row, column, value)  # bad input is refused before anything is opened
    cell = cli.run_as(lambda svc, who: ops.annual_set(svc, who, year, row, column, value))
    emit(cli.as_json, {"year": year, "row": cell.row, "column": cell.column, "value": cell.text,
                       "source": cell.source, "counted": cell.counted, "entered_by": cell.entered_by},
         f"{year} 年年报表二已保存：{_cell_name(cell.row, cell.column)} = {cell.text}"
         + (f"（库中统计为 {cell.counted}，以填写值为准）" if cell.counted is not None else ""))


def _cell_name(row: str, column: str) -> str:
    from content.annual_report import ROW_BY_NAME

    r = ROW_BY_NAME[row]
    return f"{r.label}·{next(c.label for c in r.columns if c.code == column)}"


@click.group()
def _top() -> None:
    """Holds the top-level ``gongkai inspect`` (mounted lazily by bot.cli)."""


@command(_top, "inspect")
@click.option("--site", default=None, help="已构建的网站目录（默认取配置中的网站目录）")
@click.option("--url", default=None, help="正在运行的网站首页地址：另查 15 秒内能否打开（指标 I10）")
@click.option("--format", "fmt", default=None, help=FORMAT_HELP)
@click.option("--output", default=None, help="写入文件（xlsx 必须写入文件）")
def inspect(cli: Cli, site: str | None, url: str | None, fmt: str | None, output: str | None) -> None:
    """网站与政务新媒体自查（单项否决与扣分）。

    按检查指标自查（指标 I1–I10，见 README）：首页与栏目更新、空白栏目、
    新媒体账号更新、站内链接、解读关联、发布日期、敏感词。每项问题标明“单项否决”或“扣分”；
    存在单项否决问题时退出状态为 3。"""
    parse_format(fmt, output)

    async def work(svc: Service, who: Who):  # noqa: ANN202
        result = await ops.inspect(svc, who, site=Path(site).expanduser() if site else None, url=url)
        return result, inspect_sheets(result, svc.settings.tz)

    result, doc = cli.run_as(work)
    _write(cli, doc, fmt, output)
    if result.vetoes:
        sys.exit(VETO_EXIT)
