"""Benchmark: the console pages people open most, over HTTP, with 100,000 items and 1,000,000
SMS subscribers — the 工作台 (/console/), the 稿件 list with a Chinese search, and the 发布计划
calendar by month and by week. Target (issue 9): p95 < 150 ms each, on SQLite and PostgreSQL.

Bulk-inserts the items and revisions as ``bench/item_list.py`` does (the search index — FTS5
trigram on SQLite, pg_trgm on PostgreSQL — is filled by the same triggers and indexes as in
production; the script checks that a search finds bulk-inserted rows), one release per item
spread over ten years as ``bench/plan_calendar.py`` does, and the subscribers (each following
``all``) in chunks through SQLAlchemy core. Then it runs the real web application
(``bot.web.make_app``) on an aiohttp test server, signs in through the login form with an
account holding every role (the fullest 工作台), and times each page over HTTP.

    PYTHONPATH=. python bench/console_pages.py                   # SQLite
    PYTHONPATH=. python bench/console_pages.py --pg postgresql://postgres@127.0.0.1:5432/scratch
    PYTHONPATH=. python bench/console_pages.py --items 20000 --subscribers 100000 --runs 20
    PYTHONPATH=. python bench/console_pages.py --data /tmp/gk-console --only 工作台   # fill once, reuse
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).parent))
import item_list  # noqa: E402  (the items and revisions, as the item list bench makes them)

from bot.service import Service  # noqa: E402
from bot.settings import load  # noqa: E402
from bot.web import make_app  # noqa: E402
from content import accounts  # noqa: E402
from content.accounts import Role  # noqa: E402
from content.models import Release, ReleaseItem, Subscriber, SubscriberTopic  # noqa: E402
from schedules.plan_calendar import month_of, week_of  # noqa: E402

CHUNK = 10_000
PASSWORD = "bench-password-1"
TABLES = ("delivery_recipients", "deliveries", "release_items", "releases", "subscriber_topics", "subscribers",
          "revisions", "items")


async def fill_releases(service: Service, n: int, years: int = 10) -> None:
    now = service.clock.now()
    span = timedelta(days=365 * years)
    start = now - span / 2
    rng = random.Random(9)
    for first in range(1, n + 1, CHUNK):
        rels, members = [], []
        for i in range(first, min(first + CHUNK, n + 1)):
            due = start + span * rng.random()
            past = due < now
            rels.append(dict(id=i, purpose="publish", state="published" if past else "pending", due_at=due,
                             channels=["website", "sms"], options={}, created_by="bench", created_at=now,
                             updated_at=now, fired_at=due if past else None))
            members.append(dict(release_id=i, item_id=i, position=0))
        async with service.store.sessions() as s, s.begin():
            await s.execute(insert(Release), rels)
            await s.execute(insert(ReleaseItem), members)


async def fill_subscribers(service: Service, n: int) -> None:
    now = service.clock.now()
    for first in range(1, n + 1, CHUNK):
        ids = range(first, min(first + CHUNK, n + 1))
        subs = [dict(id=i, channel="sms", address=f"139{i:08d}", status="active", source="bench",
                     consent_at=now, consent_method="bench", consent_from="", consent_detail="", created_at=now,
                     updated_at=now, meta={}) for i in ids]
        async with service.store.sessions() as s, s.begin():
            await s.execute(insert(Subscriber), subs)
            await s.execute(insert(SubscriberTopic), [dict(subscriber_id=i, topic="all") for i in ids])


async def filled(service: Service) -> bool:
    async with service.store.engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT count(*) FROM accounts WHERE login = 'bench'")))


async def fill(service: Service, args: argparse.Namespace) -> None:
    store = service.store
    if args.pg:
        await clear(service)
    t0 = time.perf_counter()
    await item_list.fill(store, args.items)
    await fill_releases(service, args.items)
    await fill_subscribers(service, args.subscribers)
    async with store.engine.connect() as conn:  # as autovacuum would have by then: statistics, visibility map
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in TABLES if store.dialect == "postgresql" else ():
            await conn.execute(text(f"VACUUM ANALYZE {table}"))
        if store.dialect != "postgresql":
            await conn.execute(text("ANALYZE"))
    print(f"inserted {args.items} items with releases and {args.subscribers} subscribers in "
          f"{time.perf_counter() - t0:.1f} s")
    await store.transaction(lambda s: accounts.add(s, "bench", name="基准", roles=tuple(Role), department="",
                                                   password=PASSWORD, actor="bench", now=service.clock.now()))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def clear(service: Service) -> None:
    async with service.store.engine.begin() as conn:
        for table in TABLES:
            await conn.execute(text(f"DELETE FROM {table}"))


async def main(args: argparse.Namespace) -> None:
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="gk-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    keep = bool(args.data)  # keep the store for the next run (--data), and reuse one kept before
    env = {"GONGKAI_BOT__DATA_DIR": str(data), "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false",
           "GONGKAI_BOT__LOG_LEVEL": "WARNING", "GONGKAI_CHANNELS__SMS__ENABLED": "true",
           "GONGKAI_BOT__DATABASE_URL": args.pg or f"sqlite:///{data / 'bench.db'}"}
    service = await Service.create(load(None, environ=env))
    store = service.store
    print(f"store: {store.dialect}")
    try:
        if keep and await filled(service):
            print(f"reusing the store in {data}")
        else:
            await fill(service, args)
        today = service.clock.now().date()
        async with TestClient(TestServer(make_app(service))) as c:
            page = await (await c.get("/console/login")).text()
            token = re.search(r'name="_csrf" value="([^"]+)"', page)
            assert token
            r = await c.post("/console/login", data={"_csrf": token.group(1), "login": "bench",
                                                     "password": PASSWORD, "next": "/console/"})
            assert r.status == 200 and "工作台" in await r.text()
            found = await (await c.get("/console/items/?q=优化营商环境")).text()
            assert "优化营商环境" in found and "没有" not in found.split("<table", 1)[0][-200:], \
                "the search index does not cover the bulk-inserted rows"
            rng = random.Random(1)
            cases = {
                "工作台 /console/": lambda: "/console/",
                "稿件 search 优化营商环境": lambda: "/console/items/?q=优化营商环境",
                "稿件 search 乡村振兴 + state": lambda: "/console/items/?q=乡村振兴&state=published",
                "发布计划 month": lambda: "/console/plan/?month="
                + month_of(today + timedelta(days=rng.randint(-1800, 1800))),
                "发布计划 week": lambda: "/console/plan/?week="
                + week_of(today + timedelta(days=rng.randint(-1800, 1800))),
            }
            print(f"\n{args.runs} runs each, over HTTP (aiohttp test server, same process)\n")
            print("| page | median ms | p95 ms | max ms |\n|---|---|---|---|")
            for label, path in cases.items():
                if args.only not in label:
                    continue
                await c.get(path())  # warm
                timings = []
                for _ in range(args.runs):
                    url = path()
                    t = time.perf_counter()
                    r = await c.get(url)
                    await r.read()
                    timings.append((time.perf_counter() - t) * 1000)
                    assert r.status == 200, (url, r.status)
                print(f"| {label} | {statistics.median(timings):.1f} | {pct(timings, 95):.1f} | {max(timings):.1f} |")
    finally:
        if args.pg and not keep:
            await clear(service)
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg", default="", help="an empty scratch PostgreSQL database URL")
    parser.add_argument("--data", default="", help="keep the store (SQLite: in this directory; PostgreSQL: "
                        "in the --pg database) and reuse it on the next run, skipping the filling")
    parser.add_argument("--only", default="", help="time only the pages whose label contains this text")
    asyncio.run(main(parser.parse_args()))

