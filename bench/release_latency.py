"""Benchmark: 1,000 releases due within one minute — how late is each published?

Runs the real service (ticker, firing transaction, delivery runner, website channel) on a fresh
SQLite store (or the PostgreSQL URL given with --database-url), schedules N single-item
releases at random instants within one minute, waits, and reports from the store:

* firing delay  = release.fired_at − release.due_at   (target: p99 < 100 ms on SQLite)
* delivery delay = website delivery settled_at − due_at (the page and feeds are on disk)

Usage: python bench/release_latency.py [--releases 1000] [--window 60] [--database-url URL]
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

from sqlalchemy import select

from bot.service import Service
from bot.settings import load
from content import workflow
from content.frontmatter import build
from content.models import Delivery, Release
from schedules import releases


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    env = {"GONGKAI_BOT__DATA_DIR": str(data), "GONGKAI_BOT__LOAD_SAMPLE": "false",
           "GONGKAI_BOT__LOG_LEVEL": "WARNING", "GONGKAI_DELIVERY__CONCURRENCY": "8"}
    if args.database_url:
        env["GONGKAI_BOT__DATABASE_URL"] = args.database_url
    settings = load(None, environ=env)
    service = await Service.create(settings)
    print(f"store: {settings.database_url}")
    t0 = time.perf_counter()
    now = service.clock.now()
    lead = 20.0
    dues = sorted(now + timedelta(seconds=lead + random.random() * args.window)
                  for _ in range(args.releases))

    async def setup(s):  # noqa: ANN001, ANN202
        for n, due in enumerate(dues):
            draft = build({"kind": "news", "title": f"基准测试动态 {n}", "department": "办公室",
                           "column": f"栏目{n % 10}"}, f"第 {n} 条。")
            item = await workflow.add_item(s, draft, actor="bench", now=now, files=service.files)
            await workflow.submit(s, item.id, actor="bench", now=now, rules=service.rules, files=service.files)
            await workflow.approve(s, item.id, actor="reviewer", now=now)
            await releases.create(s, [item.id], due_at=due, channels=["website"], actor="bench", now=now)

    await service.store.transaction(setup)
    print(f"set-up: {args.releases} approved items and releases in {time.perf_counter() - t0:.1f} s; "
          f"due between +{lead:.0f} s and +{lead + args.window:.0f} s")
    await service.start()
    end = dues[-1] + timedelta(seconds=10)
    while service.clock.now() < end:
        await asyncio.sleep(1)
    for _ in range(60):
        async with service.store.sessions() as s:
            open_ = await s.scalar(select(Delivery.id).where(Delivery.state != "sent").limit(1))
        if open_ is None:
            break
        await asyncio.sleep(1)
    async with service.store.sessions() as s:
        rels = list(await s.scalars(select(Release)))
        dels = {d.release_id: d for d in await s.scalars(select(Delivery))}
    await service.stop()
    fired = [r.late_ms for r in rels if r.state == "published"]
    settled = [(dels[r.id].settled_at - r.due_at).total_seconds() * 1000
               for r in rels if r.id in dels and dels[r.id].settled_at]
    print(f"published {len(fired)}/{len(rels)}; website deliveries settled {len(settled)}")
    print(f"firing delay   ms: p50 {pct(fired, 50):7.1f}  p99 {pct(fired, 99):7.1f}  "
          f"max {max(fired):7.1f}  mean {statistics.mean(fired):6.1f}")
    if settled:
        print(f"delivery delay ms: p50 {pct(settled, 50):7.1f}  p99 {pct(settled, 99):7.1f}  "
              f"max {max(settled):7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--database-url", default="")
    asyncio.run(main(parser.parse_args()))
