"""Benchmark: the year's compliance report for a large store.

Builds a store of 200 departments, 2,000 columns (10 per department) and 1,000,000 items first
published across 2026, with a year of obligations (R1, R3, R4, L26: met, late, missed, waived)
and new-media deliveries, by bulk-inserting rows with SQLAlchemy core (a shortcut allowed here
only: the bench is not a test). Then times ``schedules.compliance_report.compute`` for
2026-01-01…2026-12-31 (all departments, then one department). The target is under 5 s.

    PYTHONPATH=. python bench/compliance_report.py                       # SQLite in a temp dir
    PYTHONPATH=. python bench/compliance_report.py --items 100000
    PYTHONPATH=. python bench/compliance_report.py --pg postgresql://postgres@127.0.0.1:5432/test

With ``--pg`` a database of its own (gongkai_bench_reports_<pid>) is made on that server and
dropped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from content.db import Store, upgrade
from content.models import Delivery, Item, Obligation, Release, Revision
from schedules.calendar import WorkdayCalendar
from schedules.compliance_report import Limits, compute
from schedules.obligations import due_instant

TZ = ZoneInfo("Asia/Shanghai")
YEAR_START = datetime(2026, 1, 1, tzinfo=TZ).astimezone(timezone.utc)
SECONDS = 365 * 86400
BATCH = 5000
RULES = (("R1", 3), ("R3", 3), ("R4", 10), ("L26", 20))


def departments(n: int) -> list[str]:
    return [f"示例市第{k:03d}局" for k in range(n)]


def columns(n: int) -> list[str]:
    words = ("工作动态", "通知公告", "政策文件", "人事信息", "规划计划", "政策解读", "办事指南",
             "新闻发布会", "要闻", "统计数据")
    return [f"{words[k % len(words)]}{k // len(words):03d}" for k in range(n)]


async def fill(store: Store, n_items: int, n_depts: int, n_columns: int) -> dict[str, int]:
    depts, cols = departments(n_depts), columns(n_columns)
    calendar = WorkdayCalendar.load()
    step = SECONDS / n_items
    counts = {"items": 0, "revisions": 0, "obligations": 0, "deliveries": 0}

    async def work(session):  # noqa: ANN001, ANN202
        items: list[dict] = []
        revisions: list[dict] = []
        obligations: list[dict] = []
        for n in range(n_items):
            item_id = n + 1
            # a quiet stretch in August: the report has weeks without an update to find
            at = YEAR_START + timedelta(seconds=int(n * step))
            if datetime(2026, 8, 3, tzinfo=TZ) <= at < datetime(2026, 8, 17, tzinfo=TZ):
                at -= timedelta(days=20)
            col = n % n_columns
            if col >= n_columns - n_columns // 20 and at >= datetime(2026, 7, 1, tzinfo=TZ):
                col -= n_columns // 20  # the last 5% of columns go quiet after June
            dept = depts[col % n_depts]
            lap = n // n_columns  # every column gets its share of each kind
            kind = "press_conference" if lap % 100 == 7 else "policy" if lap % 20 == 3 else "news"
            items.append(dict(id=item_id, kind=kind, state="published", department=dept,
                              column_name=cols[col], current_revision=1, published_revision=1,
                              created_by="bench", created_at=at, updated_at=at,
                              first_published_at=at, published_at=at))
            if kind == "press_conference":
                revisions.append(dict(
                    item_id=item_id, number=1, status="published", title=f"新闻发布会{item_id}",
                    summary="", body_md="", body_html="", department=dept, column_name=cols[col],
                    index_no="", doc_no="", issuer="", topic="", issued=at.astimezone(TZ).date(),
                    validity="", normative=False, tags=[], extra={}, correction_note="",
                    created_by="bench", created_at=at, published_at=at))
            if kind == "policy":
                rule, days = RULES[(lap // 20 + col) % len(RULES)]
                start = at.astimezone(TZ).date()
                due_on = calendar.add_workdays(start, days)
                due_at = due_instant(due_on, TZ)
                fate = (lap // 20 + col) % 7
                met_at = (due_at - timedelta(hours=30) if fate < 4 else
                          due_at + timedelta(days=3) if fate == 4 else None)
                state = ("met" if fate < 4 else "late" if fate == 4 else "waived" if fate == 5
                         else "missed")
                obligations.append(dict(
                    rule=rule, department=dept, subject_type="item", subject_id=item_id,
                    period=start.isoformat(), starts_on=start, due_on=due_on, due_at=due_at,
                    state=state, uncertain=due_on.year > 2026, met_by=item_id if met_at else None,
                    met_at=met_at, waived_by="bench" if state == "waived" else None,
                    waived_at=at if state == "waived" else None,
                    waive_reason="不需要" if state == "waived" else None, created_at=at, updated_at=at))
            if len(items) >= BATCH:
                await session.execute(insert(Item), items)
                counts["items"] += len(items)
                items = []
        for table, rows in ((Item, items), (Revision, revisions), (Obligation, obligations)):
            for k in range(0, len(rows), BATCH):
                await session.execute(insert(table), rows[k:k + BATCH])
        counts["items"] += len(items)
        counts["revisions"], counts["obligations"] = len(revisions), len(obligations)
        # one release a week to WeChat and Weibo, none after October on Weibo
        for week in range(52):
            at = YEAR_START + timedelta(days=7 * week)
            release = (await session.execute(insert(Release).values(
                state="published", due_at=at, channels=["wechat", "weibo"], created_by="bench",
                created_at=at, updated_at=at, fired_at=at).returning(Release.id))).scalar_one()
            for channel in ("wechat", "weibo"):
                if channel == "weibo" and at.month > 10:
                    continue
                await session.execute(insert(Delivery).values(
                    release_id=release, channel=channel, state="sent", next_attempt_at=at,
                    created_at=at, updated_at=at, settled_at=at + timedelta(minutes=1)))
                counts["deliveries"] += 1

    await store.transaction(work)
    return counts


async def run(url: str, n_items: int, n_depts: int, n_columns: int) -> None:
    store = Store.open(url)
    try:
        await upgrade(store)
        began = time.perf_counter()
        counts = await fill(store, n_items, n_depts, n_columns)
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        print(f"store on {store.dialect}: {counts} in {time.perf_counter() - began:.1f} s")
        calendar = WorkdayCalendar.load()
        limits = Limits(press_targets={d: 2 for d in departments(n_depts)[:20]})
        now = datetime(2027, 1, 5, 10, tzinfo=TZ).astimezone(timezone.utc)
        for label, dept in (("all departments", None), ("one department", departments(n_depts)[5])):
            for attempt in (1, 2):
                began = time.perf_counter()
                async with store.sessions() as session:
                    report = await compute(session, calendar, limits, start=date(2026, 1, 1),
                                           end=date(2026, 12, 31), department=dept,
                                           channels=["website", "wechat", "weibo"], tz=TZ, now=now)
                took = time.perf_counter() - began
                print(f"compliance report 2026, {label} (run {attempt}): {took:.2f} s — "
                      f"{len(report.rules)} department×rule rows, {len(report.lateness)} late/missed, "
                      f"{len(report.quiet_weeks)} of {report.weeks_checked} weeks quiet, "
                      f"{len(report.stale_columns)} of {len(report.columns)} columns stale, "
                      f"{len(report.stale_accounts)} stale accounts, {len(report.press)} press rows"
                      + ("" if took < 5 else "  ✗ over 5 s"))
    finally:
        await store.close()


async def pg_database(url: str, create: bool) -> str:
    import asyncpg

    name = f"gongkai_bench_reports_{os.getpid()}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--columns", type=int, default=2_000)
    parser.add_argument("--pg", default=None, help="a PostgreSQL server URL (a database is made on it)")
    args = parser.parse_args()
    if args.pg:
        url = asyncio.run(pg_database(args.pg, create=True))
        try:
            asyncio.run(run(url, args.items, args.departments, args.columns))
        finally:
            asyncio.run(pg_database(args.pg, create=False))
        return
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
        asyncio.run(run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.items, args.departments, args.columns))


if __name__ == "__main__":
    main()
