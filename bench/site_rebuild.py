"""Benchmark: full and incremental rebuilds of the static site with a large store.

Creates a store of N published items (default 10,000) by bulk-inserting rows with SQLAlchemy
core (a shortcut allowed here only: the bench is not a test), runs one full rebuild, then
publishes new items one at a time and times ``rebuild_for([new_id])``.

    PYTHONPATH=. python bench/site_rebuild.py                 # SQLite in a temp dir
    PYTHONPATH=. python bench/site_rebuild.py --items 2000 --runs 50
    PYTHONPATH=. python bench/site_rebuild.py --database postgresql://postgres@127.0.0.1:5432/bench
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from channels.website.config import WebsiteSettings
from channels.website.builder import SiteBuilder
from content.db import Store, upgrade
from content.files import FileStore
from content.kinds import KINDS, Kind
from content.models import Item, Link, Revision
from content.render import Renderer

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
KIND_CYCLE = [Kind.NEWS, Kind.NEWS, Kind.NEWS, Kind.POLICY, Kind.INTERPRETATION, Kind.DECISION,
              Kind.SERVICE_GUIDE, Kind.PRESS_CONFERENCE, Kind.LIST_CHANGE, Kind.EMERGENCY]
DEPARTMENTS = ["市发展改革委", "市教育委员会", "市生态环境局", "市民政局", "市政务服务局"]


def rows(first_id: int, count: int, base_time: datetime) -> tuple[list[dict], list[dict], list[dict]]:
    items, revisions, links = [], [], []
    for n in range(count):
        item_id = first_id + n
        kind = KIND_CYCLE[item_id % len(KIND_CYCLE)]
        at = base_time + timedelta(minutes=37 * n)
        department = DEPARTMENTS[item_id % len(DEPARTMENTS)]
        column = KINDS[kind].default_column
        items.append(dict(
            id=item_id, kind=kind.value, state="published", department=department,
            column_name=column, current_revision=1, published_revision=1, created_by="bench",
            created_at=at, updated_at=at, first_published_at=at, published_at=at))
        body = "\n".join(f"<p>第{item_id}号稿件正文第{p}段：围绕重点工作明确责任分工和完成时限。</p>"
                         for p in range(1, 6))
        revisions.append(dict(
            item_id=item_id, number=1, status="published", title=f"{KINDS[kind].label}第{item_id}号",
            summary="", body_md="", body_html=body, department=department, column_name=column,
            index_no=f"11000000/2025-{item_id:05d}", doc_no=f"示政发〔2025〕{item_id}号"
            if kind is Kind.POLICY else "", issuer=department if kind is Kind.POLICY else "",
            topic="综合政务", issued=date(2025, 1, 1), validity="有效",
            normative=kind is Kind.POLICY and item_id % 3 == 0, tags=[], extra={},
            correction_note="", created_by="bench", created_at=at, published_at=at))
        if kind is Kind.INTERPRETATION:
            links.append(dict(from_item_id=item_id, to_item_id=item_id - 1, rel="interprets"))
    return items, revisions, links


async def insert_rows(store: Store, first_id: int, count: int, base_time: datetime) -> None:
    items, revisions, links = rows(first_id, count, base_time)

    async def work(session):  # noqa: ANN001, ANN202
        for start in range(0, len(items), 2000):
            await session.execute(insert(Item), items[start:start + 2000])
            await session.execute(insert(Revision), revisions[start:start + 2000])
        if links:
            await session.execute(insert(Link), links)

    await store.transaction(work)


async def run(database: str | None, count: int, runs: int, fsync: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
        root = Path(tmp)
        url = database or f"sqlite:///{root / 'bench.db'}"
        store = Store.open(url)
        await upgrade(store)
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text("TRUNCATE links, revisions, items RESTART IDENTITY CASCADE"))
        began = time.perf_counter()
        await insert_rows(store, 1, count, START)
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        print(f"store: {count} published items on {store.dialect} in {time.perf_counter() - began:.1f} s")

        builder = SiteBuilder(store, Renderer(ZoneInfo("Asia/Shanghai")), root / "site",
                              FileStore(root / "files"), "https://bench.example.gov.cn",
                              WebsiteSettings(), fsync=fsync)
        full = await builder.rebuild_all()
        print(f"full rebuild: {full.written} files in {full.seconds:.2f} s")
        again = await builder.rebuild_all()
        print(f"full rebuild, nothing changed: {again.written} written, {again.unchanged} unchanged "
              f"in {again.seconds:.2f} s")

        timings, written = [], []
        next_time = START + timedelta(minutes=37 * count)
        for n in range(runs):
            item_id = count + 1 + n
            await insert_rows(store, item_id, 1, next_time + timedelta(minutes=n))
            stats = await builder.rebuild_for([item_id])
            timings.append(stats.seconds * 1000)
            written.append(stats.written)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
        print(f"incremental rebuild_for([new item]) x{runs}: median {statistics.median(timings):.1f} ms, "
              f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms, files written per run "
              f"{statistics.median(written):.0f}")
        if store.dialect == "postgresql":
            async with store.engine.begin() as conn:
                await conn.execute(text("TRUNCATE links, revisions, items RESTART IDENTITY CASCADE"))
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", help="a PostgreSQL URL (an empty scratch database); default: SQLite")
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync on each written file")
    args = parser.parse_args()
    asyncio.run(run(args.database, args.items, args.runs, not args.no_fsync))


if __name__ == "__main__":
    main()
