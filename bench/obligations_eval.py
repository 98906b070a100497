"""Benchmark: evaluating every obligation rule (R1, R3, R4, L26, R5 site/columns/blank, R6, R7,
R9, R11, C6) and recording the warnings, for 200 departments, 2,000 columns and 1,000,000 items.

Target: one evaluation (the periodic sweep: ``bot.duty.evaluate_all`` in one transaction) takes
under 5 s on SQLite and on PostgreSQL.

    PYTHONPATH=. python bench/obligations_eval.py                       # SQLite in a temp dir
    PYTHONPATH=. python bench/obligations_eval.py --items 100000        # smaller store
    PYTHONPATH=. python bench/obligations_eval.py --pg postgresql://postgres@127.0.0.1:5432/scratch

The store is bulk-inserted with SQLAlchemy core (a shortcut allowed here only: the bench is not
a test): items spread over three years (2024-01 … 2026-11) across the columns, 9 in 10 of them
news, the rest policies (with interpretations for most), decisions with a meeting date, list
changes, press conferences (held_on, speakers), major emergencies (severity, occurred_at, most
with a press-conference notice following) and consultations (closing date, most with feedback).
The clock is fixed at 2026-11-27 10:00 in Beijing. It then times four sweeps: the first (which
creates every obligation and records every warning), two steady-state sweeps, and one after a
new item is published.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text

from bot import duty
from bot.settings import Settings
from content.db import Store, upgrade
from content.models import Item, Link, Obligation, Revision
from schedules.calendar import WorkdayCalendar

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, tzinfo=TZ).astimezone(timezone.utc)
START = datetime(2024, 1, 1, tzinfo=TZ).astimezone(timezone.utc)
KINDS = ["工作动态", "要闻", "通知公告", "政策文件", "人事信息", "规划计划", "专题一", "专题二", "专题三", "专题四"]
CHUNK = 5000


def department(n: int) -> str:
    return f"部门{n:03d}"


def columns(departments: int) -> list[str]:
    return [f"{department(d)}{k}" for d in range(departments) for k in KINDS]


def make_rows(total: int, departments: int, blank: int, seed: int = 7) -> Any:
    """Yield (items, revisions, links) chunks."""
    rnd = random.Random(seed)
    cols = columns(departments)
    live = cols[:len(cols) - blank]  # the last ``blank`` columns never get an item
    span = (NOW - START).total_seconds()
    items: list[dict] = []
    revisions: list[dict] = []
    links: list[dict] = []
    last_of: dict[str, int] = {}
    for item_id in range(1, total + 1):
        at = START + timedelta(seconds=span * item_id / (total + 1))
        col = live[rnd.randrange(len(live))]
        dept = col[:5]
        roll = rnd.random()
        kind, extra = "news", {}
        if roll < 0.02:
            kind = "policy"
            extra = {"formed_on": (at - timedelta(days=3)).astimezone(TZ).date().isoformat()}
            last_of["policy"] = item_id
        elif roll < 0.035 and "policy" in last_of:
            kind = "interpretation"
            links.append(dict(from_item_id=item_id, to_item_id=last_of.pop("policy"), rel="interprets"))
        elif roll < 0.04:
            kind = "decision"
            extra = {"meeting_date": (at - timedelta(days=1)).astimezone(TZ).date().isoformat()}
        elif roll < 0.045:
            kind = "list_change"
            extra = {"changed_on": (at - timedelta(days=5)).astimezone(TZ).date().isoformat()}
        elif roll < 0.047:
            kind = "press_conference"
            extra = {"held_on": at.astimezone(TZ).date().isoformat(), "speakers": ["主任" + dept],
                     "head_spoke": rnd.random() < 0.3}
            if "emergency" in last_of:
                links.append(dict(from_item_id=item_id, to_item_id=last_of.pop("emergency"), rel="follows"))
        elif roll < 0.0475:
            kind = "emergency"
            extra = {"severity": "重大", "occurred_at": (at - timedelta(hours=2)).astimezone(TZ)
                     .strftime("%Y-%m-%dT%H:%M")}
            last_of["emergency"] = item_id
        elif roll < 0.0485:
            extra = {"consultation_closes": (at + timedelta(days=20)).astimezone(TZ).date().isoformat()}
            last_of["consultation"] = item_id
        elif roll < 0.0495 and "consultation" in last_of:
            links.append(dict(from_item_id=item_id, to_item_id=last_of.pop("consultation"), rel="feedback_for"))
        items.append(dict(id=item_id, kind=kind, state="published", department=dept, column_name=col,
                          current_revision=1, published_revision=1, created_by="bench", created_at=at,
                          updated_at=at, first_published_at=at, published_at=at))
        revisions.append(dict(item_id=item_id, number=1, status="published", title=f"稿件{item_id}",
                              summary="", body_md="", body_html="", department=dept, column_name=col,
                              index_no="", doc_no="", issuer="", topic="", issued=None, validity="",
                              normative=False, tags=[], extra=extra, correction_note="",
                              created_by="bench", created_at=at, published_at=at))
        if len(items) >= CHUNK:
            yield items, revisions, links
            items, revisions, links = [], [], []
    if items:
        yield items, revisions, links


async def populate(store: Store, total: int, departments: int, blank: int) -> None:
    for items, revisions, links in make_rows(total, departments, blank):
        async def work(session, items=items, revisions=revisions, links=links):  # noqa: ANN001, ANN202
            await session.execute(insert(Item), items)
            await session.execute(insert(Revision), revisions)
            if links:
                await session.execute(insert(Link), links)

        await store.transaction(work)


def settings(departments: int) -> Settings:
    return Settings.model_validate({
        "departments": [{"name": department(d), "head": f"主任{department(d)}",
                         "press_conferences_per_quarter": 2} for d in range(departments)],
        "rules": {"R5": {"live_columns": columns(departments)}},
        "duty_contacts": [{"department": "*", "sms": "13800000001"}],
        "channels": {"weibo": {"enabled": True}, "wechat": {"enabled": True}}})


async def sweep(store: Store, calendar: WorkdayCalendar, conf: Settings, now: datetime) -> tuple[float, int, int]:
    began = time.perf_counter()
    created, made = await store.transaction(
        lambda s: duty.evaluate_all(s, calendar, conf, now=now, node="bench"), what="bench sweep")
    return time.perf_counter() - began, created, len(made)


async def run(url: str | None, total: int, departments: int, blank: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        await upgrade(store)
        tables = ("duty_messages, obligation_notices, cadence_subjects, obligations, links, "
                  "revisions, items")
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        began = time.perf_counter()
        await populate(store, total, departments, blank)
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        print(f"store: {total:,} items, {departments} departments, {departments * len(KINDS):,} columns "
              f"({blank} blank) on {store.dialect} in {time.perf_counter() - began:.1f} s")
        calendar, conf = WorkdayCalendar.load(), settings(departments)
        for label, now in (("first sweep (creates every obligation)", NOW),
                           ("steady-state sweep", NOW + timedelta(seconds=30)),
                           ("steady-state sweep", NOW + timedelta(seconds=60))):
            seconds, created, made = await sweep(store, calendar, conf, now)
            print(f"{label}: {seconds:.2f} s, {created:,} obligations created, {made:,} warnings recorded")
        async def add(session):  # noqa: ANN001, ANN202
            at = NOW + timedelta(seconds=70)
            await session.execute(insert(Item), [dict(
                id=total + 1, kind="news", state="published", department=department(0),
                column_name=columns(departments)[0], current_revision=1, published_revision=1,
                created_by="bench", created_at=at, updated_at=at, first_published_at=at, published_at=at)])
            await session.execute(insert(Revision), [dict(
                item_id=total + 1, number=1, status="published", title="新稿件", department=department(0),
                column_name=columns(departments)[0], extra={}, tags=[], created_by="bench", created_at=at,
                published_at=at)])

        await store.transaction(add)
        seconds, created, made = await sweep(store, calendar, conf, NOW + timedelta(seconds=90))
        print(f"sweep after a new item: {seconds:.2f} s, {created:,} created, {made:,} warnings recorded")
        async with store.sessions() as s:
            counts = dict((await s.execute(select(Obligation.rule, func.count()).group_by(Obligation.rule))).all())
        print("obligations stored by rule: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--blank", type=int, default=20, help="columns that never get an item")
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty scratch database); default: SQLite")
    args = parser.parse_args()
    asyncio.run(run(args.pg, args.items, args.departments, args.blank))


if __name__ == "__main__":
    main()
