"""Self-inspection: the indicators of the government-website and new-media inspection
(国办秘函〔2019〕19号 and the rules in reference/inspection-rules.md) run against the built site
and the accounts, each finding marked 单项否决 (veto: the site fails whatever its score) or 扣分
(deduction), so an office knows before an inspector does.

| id | indicator | severity |
|---|---|---|
| I1 | home page has a new item within 2 weeks (a page date missing counts as not updated) | veto |
| I2 | 动态/要闻 columns within 2 weeks, 通知公告/政策文件 within 6 months | veto when ≥5, else deduction each |
| I3 | any column within its freshness limit | veto when ≥10, else deduction each |
| I4 | blank columns | veto when ≥5, else deduction each |
| I5 | each WeChat/Weibo account sent something within 2 weeks | veto |
| I6 | every internal link of the site resolves to a file | deduction |
| I7 | each published interpretation is linked to its policy (in the store and on its page) | deduction |
| I8 | each item page shows its publish date | deduction |
| I9 | no sensitive word or negative-list term on a published page | veto |
| I10 | the running site's home page opens within 15 s (only when a URL is given) | veto |
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import asyncio
import time
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.ext.asyncio import AsyncSession

from content.checks import CheckRules, Text, text_findings
from content.kinds import Kind
from content.models import Item, Link
from schedules import site_scan
from schedules.compliance_report import LIVE, Limits, judge_columns, last_sent, NEW_MEDIA
from schedules.site_scan import Page

CHANNEL_LABELS = {"wechat": "微信公众号", "weibo": "微博"}


class Severity(StrEnum):
    VETO = "veto"
    DEDUCTION = "deduction"


SEVERITY_LABELS = {Severity.VETO: "单项否决", Severity.DEDUCTION: "扣分"}

INDICATORS: dict[str, str] = {
    "I1": "首页两周内更新",
    "I2": "动态要闻、通知公告政策文件栏目更新",
    "I3": "栏目按期更新",
    "I4": "无空白栏目",
    "I5": "政务新媒体两周内更新",
    "I6": "站内链接可用",
    "I7": "政策解读关联政策文件",
    "I8": "页面标注发布日期",
    "I9": "已发布页面无敏感词和不予公开事项",
    "I10": "网站首页可访问",
}
OPEN_WITHIN = 15.0  # seconds: inspection rule 1


@dataclass(frozen=True)
class Thresholds:
    home_page_days: int = 14
    key_columns_veto: int = 5
    stale_columns_veto: int = 10
    blank_columns_veto: int = 5
    dynamic_paths: tuple[str, ...] = ("sms/", "wechat/", "console/", "api/", "sandbox/", "search")


@dataclass(frozen=True)
class Finding:
    indicator: str
    severity: Severity
    message: str  # Chinese, names what and where
    where: str = ""  # a page path, a column, a channel, an item

    @property
    def label(self) -> str:
        return INDICATORS[self.indicator]


@dataclass(frozen=True)
class Inspection:
    at: datetime
    site: str
    pages: int
    findings: tuple[Finding, ...]

    @property
    def vetoes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.VETO)

    @property
    def deductions(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.DEDUCTION)

    def passed(self, indicator: str) -> bool:
        return not any(f.indicator == indicator for f in self.findings)


async def run(session: AsyncSession, site: Path, *, limits: Limits, thresholds: Thresholds,
              rules: CheckRules, channels: Sequence[str], base_url: str, tz: ZoneInfo,
              now: datetime, url: str | None = None) -> Inspection:
    def read_site() -> tuple[dict[str, Page], list[Finding], list[Finding]]:
        # reading and checking every page is file and CPU work: off the event loop, so that a
        # console request for a large site does not stall the scheduler and the other requests
        pages = {p.path: p for p in site_scan.pages(site)} if site.is_dir() else {}
        first = _home(pages, thresholds, tz, now) + _columns(pages, limits, thresholds, now)
        rest = _links(site, pages, base_url, thresholds) + _dates(pages) + _words(pages, rules)
        return pages, first, rest

    pages, first, rest = await asyncio.to_thread(read_site)
    found: list[Finding] = list(first)
    found += await _accounts(session, limits, channels, tz, now)
    found += await _interpretations(session, pages)
    found += rest
    if url:
        found += await reachable(url)
    found.sort(key=lambda f: int(f.indicator[1:]))  # by indicator, in the order each found them
    return Inspection(now, str(site), len(pages), tuple(found))


async def reachable(url: str, within: float = OPEN_WITHIN) -> list[Finding]:
    """The running site's home page answers 200 within ``within`` seconds."""
    import aiohttp

    began = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as http:
            async with http.get(url, allow_redirects=True) as answer:
                await answer.read()
                status = answer.status
    except TimeoutError:
        return [Finding("I10", Severity.VETO, f"网站首页 {url} 在 {within:g} 秒内没有打开", url)]
    except aiohttp.ClientError as exc:
        return [Finding("I10", Severity.VETO, f"网站首页 {url} 无法访问（{type(exc).__name__}）", url)]
    if status != 200:
        return [Finding("I10", Severity.VETO, f"网站首页 {url} 返回 HTTP {status}", url)]
    took = time.monotonic() - began
    if took > within:
        return [Finding("I10", Severity.VETO, f"网站首页 {url} 用时 {took:.1f} 秒才打开", url)]
    return []


def _fmt(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else "从未"


def _home(pages: dict[str, Page], t: Thresholds, tz: ZoneInfo, now: datetime) -> list[Finding]:
    home = pages.get("index.html")
    if home is None:
        return [Finding("I1", Severity.VETO, "网站首页不存在（站点目录中没有 index.html）；"
                        "请先运行 gongkai site build 或 gongkai run", "index.html")]
    newest = home.newest
    if newest is None or now - newest > timedelta(days=t.home_page_days):
        when = f"最近一条信息发布于 {_fmt(newest, tz)}" if newest else "没有任何标注发布日期的信息"
        return [Finding("I1", Severity.VETO,
                        f"首页{when}，{t.home_page_days} 天内没有更新（无发布日期的信息视为未更新）",
                        "index.html")]
    return []


def _column_pages(pages: dict[str, Page]) -> dict[str, Page]:
    """Each column's index page by the column's name (moved addresses left out)."""
    found = {}
    for path, page in pages.items():
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "columns" and parts[2] == "index.html" \
                and not page.redirect and page.title:
            found[page.title] = page
    return found


def _columns(pages: dict[str, Page], limits: Limits, t: Thresholds, now: datetime) -> list[Finding]:
    columns = _column_pages(pages)
    rows = judge_columns(limits, {name: p.newest for name, p in columns.items()}, now)
    stale = [r for r in rows if r.stale and not r.blank]
    blank = [r for r in rows if r.blank]
    key = [r for r in stale if r.key]
    found = []
    key_sev = Severity.VETO if len(key) >= t.key_columns_veto else Severity.DEDUCTION
    for r in key:
        found.append(Finding("I2", key_sev, f"栏目“{r.column}”{r.days_since} 天未更新（要求 {r.limit_days} 天内）"
                             + (f"；此类栏目共 {len(key)} 个未按期更新，达到 {t.key_columns_veto} 个即单项否决"
                                if key_sev == Severity.VETO else ""), r.column))
    all_sev = Severity.VETO if len(stale) >= t.stale_columns_veto else Severity.DEDUCTION
    for r in stale:
        if r.key:
            continue  # under I2
        found.append(Finding("I3", all_sev, f"栏目“{r.column}”{r.days_since} 天未更新（要求 {r.limit_days} 天内）"
                             + (f"；共 {len(stale)} 个栏目长期未更新，达到 {t.stale_columns_veto} 个即单项否决"
                                if all_sev == Severity.VETO else ""), r.column))
    blank_sev = Severity.VETO if len(blank) >= t.blank_columns_veto else Severity.DEDUCTION
    for r in blank:
        found.append(Finding("I4", blank_sev, f"栏目“{r.column}”没有任何信息（空白栏目）"
                             + (f"；空白栏目共 {len(blank)} 个，达到 {t.blank_columns_veto} 个即单项否决"
                                if blank_sev == Severity.VETO else ""), r.column))
    return found


async def _accounts(session: AsyncSession, limits: Limits, channels: Sequence[str], tz: ZoneInfo,
                    now: datetime) -> list[Finding]:
    found = []
    for channel in channels:
        if channel not in NEW_MEDIA:
            continue
        last = await last_sent(session, channel, as_of=now)
        if last is None or now - last > timedelta(days=limits.account_days):
            name = CHANNEL_LABELS.get(channel, channel)
            when = f"最近一次发布于 {_fmt(last, tz)}" if last else "从未发布过信息"
            found.append(Finding("I5", Severity.VETO,
                                 f"{name}{when}，{limits.account_days} 天内没有更新", channel))
    return found


def _links(site: Path, pages: dict[str, Page], base_url: str, t: Thresholds) -> list[Finding]:
    found = []
    for path, page in pages.items():
        broken = []
        for href in dict.fromkeys(page.links):
            target = site_scan.resolve(site, path, href, base_url)
            if target is None or any(target.startswith(p) for p in t.dynamic_paths):
                continue
            if not site_scan.exists(site, target):
                broken.append(href)
        for href in broken:
            found.append(Finding("I6", Severity.DEDUCTION, f"页面 {path} 的链接 {href} 指向不存在的文件", path))
    return found


async def _interpretations(session: AsyncSession, pages: dict[str, Page]) -> list[Finding]:
    policy = aliased(Item)
    rows = await session.execute(
        select(Item.id, Link.to_item_id, policy.state)
        .outerjoin(Link, (Link.from_item_id == Item.id) & (Link.rel == "interprets"))
        .outerjoin(policy, policy.id == Link.to_item_id)
        .where(Item.kind == Kind.INTERPRETATION.value, Item.state.in_(LIVE)).order_by(Item.id))
    linked: dict[int, list[tuple[int, bool]]] = {}
    for iid, target, state in rows:
        linked.setdefault(iid, [])
        if target is not None:
            linked[iid].append((target, state in LIVE))
    found = []
    for iid, targets in linked.items():
        where = f"items/{iid}.html"
        live = [t for t, ok in targets if ok]
        if not live:
            found.append(Finding("I7", Severity.DEDUCTION,
                                 f"政策解读（稿件 {iid}）没有关联到已发布的政策文件", where))
            continue
        page = pages.get(where)
        if page is not None and not any(
                href.rstrip("/").endswith(f"items/{t}.html") for t in live for href in page.links):
            found.append(Finding("I7", Severity.DEDUCTION,
                                 f"政策解读页面 {where} 没有链接到所解读的政策文件（稿件 {live[0]}）", where))
    return found


def _dates(pages: dict[str, Page]) -> list[Finding]:
    found = []
    for path, page in pages.items():
        if not path.startswith("items/") or page.redirect or "-v" in path.rsplit("/", 1)[-1]:
            continue
        if not page.publish_dated:
            found.append(Finding("I8", Severity.DEDUCTION, f"页面 {path} 没有标注发布日期", path))
    return found


def _words(pages: dict[str, Page], rules: CheckRules) -> list[Finding]:
    if not rules.sensitive_words and not rules.negative_terms:
        return []
    word_rules = CheckRules(rules.negative_terms, rules.sensitive_words)
    found = []
    for path, page in pages.items():
        for f in text_findings(Text("page", f"页面 {path} ", page.text), word_rules):
            if f.check in ("sensitive_word", "negative_list"):
                found.append(Finding("I9", Severity.VETO, f.message, path))
    return found
