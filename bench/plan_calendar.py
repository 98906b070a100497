"""Benchmark: the release calendar (发布计划) with 100,000 items — how long does a month or a
week take to answer?

Bulk-inserts N items (each with its current revision), one release per item spread over the
years before and after now (pending ahead, published behind), and an R1 obligation for every
tenth item, then times ``bot.ops.calendar.calendar`` (the data the console page and the API
show: two indexed range queries, their members, the channels' notes) for random months and
weeks. Target: p95 < 150 ms on SQLite and PostgreSQL.

Usage: PYTHONPATH=. python bench/plan_calendar.py [--items 100000] [--runs 30] [--years 10]
       [--database-url postgresql://postgres@127.0.0.1:5432/scratch]   (an empty scratch database)
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.ops.calendar import calendar
from bot.service import Service
from bot.settings import load
from content.accounts import AccountView, Role
from content.models import Item, Obligation, Release, ReleaseItem, Revision
from schedules.plan_calendar import month_of, week_of

CHUNK = 5000


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def fill(service: Service, n: int, years: int) -> None:
    now = service.clock.now()
    span = timedelta(days=365 * years)
    start = now - span / 2
    for first in range(1, n + 1, CHUNK):
        ids = range(first, min(first + CHUNK, n + 1))
        dues = {i: start + span * random.random() for i in ids}
        items, revisions, rels, members, obligations = [], [], [], [], []
        for i in ids:
            past = dues[i] < now
            kind = "policy" if i % 10 == 0 else "news"
            items.append(dict(id=i, kind=kind, state="published" if past else "scheduled", department="办公室",
                              column_name=f"栏目{i % 10}", current_revision=1, created_by="bench",
                              created_at=now, updated_at=now, first_published_at=dues[i] if past else None,
                              published_at=dues[i] if past else None))
            revisions.append(dict(item_id=i, number=1, status="published" if past else "approved",
                                  title=f"基准测试稿件 {i}", created_by="bench", created_at=now, tags=[], extra={}))
            rels.append(dict(id=i, purpose="publish", state="published" if past else "pending", due_at=dues[i],
                             channels=["website", "wechat"], options={"push": "all"} if i % 50 == 0 else {},
                             created_by="bench", created_at=now, updated_at=now,
                             fired_at=dues[i] if past else None))
            members.append(dict(release_id=i, item_id=i, position=0))
            if kind == "policy":
                due = dues[i] + timedelta(days=5)
                obligations.append(dict(rule="R1", department="办公室", subject_type="item", subject_id=i,
                                        period=dues[i].date().isoformat(), starts_on=dues[i].date(),
                                        due_on=due.date(), due_at=due, state="open", uncertain=False,
                                        created_at=now, updated_at=now))
        async with service.store.sessions() as s, s.begin():
            for model, rows in ((Item, items), (Revision, revisions), (Release, rels),
                                (ReleaseItem, members), (Obligation, obligations)):
                await s.execute(insert(model), rows)


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    env = {"GONGKAI_BOT__DATA_DIR": str(data), "GONGKAI_BOT__LOAD_SAMPLE": "false",
           "GONGKAI_BOT__LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["GONGKAI_BOT__DATABASE_URL"] = args.database_url
    service = await Service.create(load(None, environ=env))
    print(f"store: {service.settings.database_url}")
    t0 = time.perf_counter()
    await fill(service, args.items, args.years)
    print(f"inserted {args.items} items, releases and {args.items // 10} obligations in "
          f"{time.perf_counter() - t0:.1f} s")
    who = AccountView("bench", "基准", "", (Role.AUDITOR,), False, False)
    today = service.clock.now().date()
    await calendar(service, who)  # the first call imports and builds the channel adapters
    for label, key in (("month", month_of), ("week", week_of)):
        timings, shown = [], []
        for _ in range(args.runs):
            day = today + timedelta(days=random.randint(-365 * args.years // 2, 365 * args.years // 2))
            t = time.perf_counter()
            cal = await calendar(service, who, **{label: key(day)})
            timings.append((time.perf_counter() - t) * 1000)
            shown.append(cal.release_count)
        print(f"{label}: {statistics.median(shown):.0f} releases shown (median); "
              f"median {statistics.median(timings):.1f} ms, p95 {pct(timings, 95):.1f} ms, "
              f"max {max(timings):.1f} ms over {args.runs} runs")
    await service.store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--database-url", default="")
    asyncio.run(main(parser.parse_args()))
