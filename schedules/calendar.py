"""China's working-day calendar.

Sources, in order of precedence for a given year:

1. data files (the shipped ``schedules/data/holidays.toml`` and the file named in config),
   listing holidays and adjusted working days (调休); for a year the package covers, the days
   they list override the package's answer for those days only;
2. the ``chinesecalendar`` package, for the years it covers (2004–2026 in 1.11.0);
3. for a year in a data file but not in the package: the listed days, otherwise Monday–Friday;
4. Monday–Friday, with a loud warning that the year has no official data.

It never raises for an uncovered year. Data file format::

    [years.2027]
    holidays = ["2027-01-01", "2027-02-06/2027-02-12"]   # single days or inclusive ranges
    workdays = ["2027-02-14"]                             # weekend days that are working days
    names = { "2027-02-06/2027-02-12" = "春节" }           # optional
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

import chinese_calendar

from content.errors import InputError

log = logging.getLogger("gongkai.calendar")
SHIPPED_DATA = Path(__file__).with_name("data") / "holidays.toml"
MAX_SPAN_DAYS = 3660  # add_workdays never walks further than this


class Source(StrEnum):
    FILE = "file"
    PACKAGE = "package"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class YearData:
    holidays: dict[date, str]
    workdays: frozenset[date]


@dataclass(frozen=True)
class DayInfo:
    day: date
    workday: bool
    source: Source
    reason: str  # 工作日 / 周末 / 节假日名 / 调休上班


@dataclass
class WorkdayCalendar:
    years: dict[int, YearData] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)
    #: is_workday answers, memoised: the package validates every date against its whole table
    _workdays: dict[date, bool] = field(default_factory=dict, repr=False, compare=False)
    #: whether the package covers a year, memoised likewise (a sweep asks once per obligation)
    _covered: dict[int, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, *paths: Path | None) -> WorkdayCalendar:
        cal = cls()
        for path in (SHIPPED_DATA, *paths):
            if path is not None:
                cal.years.update(parse_data_file(path))
        return cal

    def source(self, year: int) -> Source:
        if year in self.years:
            return Source.FILE
        if year not in self._covered:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                self._covered[year] = True
            except NotImplementedError:
                self._covered[year] = False
        return Source.PACKAGE if self._covered[year] else Source.FALLBACK

    def info(self, day: date) -> DayInfo:
        data = self.years.get(day.year)
        weekend = day.weekday() >= 5
        if data is not None:
            if day in data.workdays:
                return DayInfo(day, True, Source.FILE, "调休上班")
            if day in data.holidays:
                return DayInfo(day, False, Source.FILE, data.holidays[day] or "节假日")
        try:
            workday = chinese_calendar.is_workday(day)
            _, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            if data is not None:  # the file covers this year: its days and plain weekends
                return DayInfo(day, not weekend, Source.FILE, "周末" if weekend else "工作日")
            self._warn(day.year)
            return DayInfo(day, not weekend, Source.FALLBACK,
                           ("周末" if weekend else "工作日") + "（无官方数据，按周一至周五推算）")
        if workday:
            reason = "调休上班" if weekend else "工作日"
        else:
            reason = HOLIDAY_NAMES.get(name, name) if name else "周末"
        return DayInfo(day, workday, Source.PACKAGE, reason)

    def is_workday(self, day: date) -> bool:
        known = self._workdays.get(day)
        if known is None:
            known = self._workdays[day] = self.info(day).workday
        return known

    def add_workdays(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (before it when ``n`` < 0). With ``n`` = 0:
        ``start`` itself if it is a working day, else the next one."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        day = start
        if n == 0:
            remaining = 1
            day = start - timedelta(days=1)
        for _ in range(MAX_SPAN_DAYS):
            day += timedelta(days=step)
            if self.is_workday(day):
                remaining -= 1
                if remaining == 0:
                    return day
        raise InputError(f"{n} 个工作日超出可计算范围", fix="请使用较小的天数")

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.workdays_between(end, start)
        return sum(1 for k in range(1, (end - start).days + 1)
                   if self.is_workday(start + timedelta(days=k)))

    def fallback_years(self, *days: date) -> list[int]:
        return sorted({d.year for d in days if self.source(d.year) is Source.FALLBACK})

    def _warn(self, year: int) -> None:
        if year not in self.warned:
            self.warned.add(year)
            log.warning(fallback_warning(year))


def fallback_warning(year: int) -> str:
    return (f"{year} 年没有官方节假日安排数据，暂按周一至周五计算工作日，结果可能不准确；"
            f"请升级 chinesecalendar，或在 [calendar] data_file 指定的文件中加入 [years.{year}]")


def uncertain_note(years: list[int] | tuple[int, ...]) -> str:
    """The words after a date computed without official data for ``years`` ('' when none)."""
    if not years:
        return ""
    return f"（不确定：{'、'.join(map(str, years))} 年无官方节假日数据，按周一至周五推算）"


HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利纪念日",
}


def parse_data_file(path: Path) -> dict[int, YearData]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"无法读取节假日数据文件 {path}：{exc.strerror}", field="calendar.data_file",
                         fix="检查路径，或删除该配置项") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"节假日数据文件 {path} 不是有效的 TOML：{exc}", field="calendar.data_file") from exc
    years: dict[int, YearData] = {}
    for key, table in (raw.get("years") or {}).items():
        where = f"{path.name} [years.{key}]"
        if not str(key).isdigit() or not isinstance(table, dict):
            raise InputError(f"{where}：年份应为四位数字", field="calendar.data_file")
        year = int(key)
        names = {str(k): str(v) for k, v in (table.get("names") or {}).items()}
        holidays: dict[date, str] = {}
        for entry in table.get("holidays") or []:
            for day in _expand(str(entry), where, year):
                holidays[day] = names.get(str(entry), "节假日")
        workdays = frozenset(d for e in table.get("workdays") or [] for d in _expand(str(e), where, year))
        years[year] = YearData(holidays, workdays)
    return years


def _expand(entry: str, where: str, year: int) -> list[date]:
    try:
        first, _, last = entry.partition("/")
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise InputError(f"{where}：{entry!r} 不是日期或日期范围", field="calendar.data_file",
                         fix="写成 \"2027-01-01\" 或 \"2027-02-06/2027-02-12\"") from None
    if end < start or (end - start).days > 60:
        raise InputError(f"{where}：范围 {entry!r} 无效", field="calendar.data_file")
    if start.year != year or end.year != year:
        raise InputError(f"{where}：{entry!r} 不在 {year} 年内", field="calendar.data_file",
                         fix="跨年的假期分别写在两个年份下")
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]
