"""Benchmark: the console's item list (稿件) with filters and a Chinese text search, 100,000 items.

Bulk-inserts N items with one revision each (Chinese titles and bodies drawn from a fixed
vocabulary, seeded) through SQLAlchemy core — a shortcut allowed here only, the bench is not a
test — so the search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) is filled by the
same triggers and indexes as in production. Then it times :func:`content.item_search.search`,
the query behind ``bot.ops.items.listing`` and the console page, for the cases below.

    PYTHONPATH=. python bench/item_list.py                       # SQLite, 100,000 items
    PYTHONPATH=. python bench/item_list.py --items 20000 --runs 50
    PYTHONPATH=. python bench/item_list.py --database postgresql://postgres@127.0.0.1:5432/scratch

Target (issue 9): p95 < 150 ms for the item list with a search.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from content.db import Store, upgrade
from content.item_search import ItemFilters, search
from content.kinds import KINDS, Kind
from content.models import Item, Revision

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
KINDS_CYCLE = [Kind.NEWS, Kind.NEWS, Kind.NEWS, Kind.POLICY, Kind.INTERPRETATION, Kind.DECISION,
               Kind.SERVICE_GUIDE, Kind.PRESS_CONFERENCE, Kind.LIST_CHANGE, Kind.EMERGENCY]
STATES = ["published"] * 8 + ["draft", "submitted", "approved", "returned"]
DEPARTMENTS = ["市发展改革委", "市教育委员会", "市生态环境局", "市民政局", "市政务服务局", "市财政局",
               "市交通委员会", "市卫生健康委"]
AUTHORS = [f"author{n}" for n in range(40)]
PHRASES = ["推进政务公开标准化规范化", "优化营商环境", "加强生态环境保护", "完善社会保障体系",
           "深化教育综合改革", "提升公共服务水平", "做好防汛抗旱工作", "落实安全生产责任",
           "促进就业创业", "加快数字政府建设", "规范行政执法行为", "推动乡村振兴",
           "加强基层治理", "健全应急管理体系", "改善城乡人居环境", "保障困难群众基本生活",
           "召开专题会议研究部署", "明确责任分工和完成时限", "各区县人民政府", "市政府各委办局"]


def rows(first_id: int, count: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    items, revisions = [], []
    for n in range(count):
        item_id = first_id + n
        kind = KINDS_CYCLE[item_id % len(KINDS_CYCLE)]
        at = START + timedelta(minutes=7 * item_id)
        department = DEPARTMENTS[item_id % len(DEPARTMENTS)]
        column = KINDS[kind].default_column
        state = STATES[item_id % len(STATES)]
        author = AUTHORS[item_id % len(AUTHORS)]
        published = at if state == "published" else None
        items.append(dict(id=item_id, kind=kind.value, state=state, department=department,
                          column_name=column, current_revision=1,
                          published_revision=1 if published else None, created_by=author,
                          created_at=at, updated_at=at, first_published_at=published,
                          published_at=published))
        title = f"关于{rng.choice(PHRASES)}的{KINDS[kind].label}（第{item_id}号）"
        body = "\n\n".join("，".join(rng.sample(PHRASES, 6)) + "。" for _ in range(4))
        revisions.append(dict(
            item_id=item_id, number=1, status=state, title=title,  # the revision says what the item does
            summary="", body_md=body, body_html="", department=department, column_name=column,
            index_no=f"11000000/2025-{item_id:06d}", doc_no="", issuer="", topic="综合政务",
            issued=date(2025, 1, 1), validity="", normative=False, tags=[], extra={},
            correction_note="", created_by=author, created_at=at, published_at=published))
    return items, revisions


async def fill(store: Store, count: int) -> float:
    rng = random.Random(9)
    started = time.perf_counter()
    for first in range(1, count + 1, 5000):
        items, revisions = rows(first, min(5000, count + 1 - first), rng)

        async def work(session, items=items, revisions=revisions):  # noqa: ANN001, ANN202
            await session.execute(insert(Item), items)
            await session.execute(insert(Revision), revisions)

        await store.transaction(work)
    if store.dialect == "postgresql":
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE items"))
            await conn.execute(text("ANALYZE revisions"))
    return time.perf_counter() - started


CASES: list[tuple[str, ItemFilters, dict]] = [
    ("newest page, no filter", ItemFilters(), {}),
    ("state = submitted", ItemFilters(state="submitted"), {}),
    ("kind + department", ItemFilters(kind="policy", department="市财政局"), {}),
    ("author + date range", ItemFilters(author="author7", since=date(2024, 6, 1),
                                        until=date(2024, 12, 31)), {}),
    ("text, common 6 chars", ItemFilters(text="优化营商环境"), {}),
    ("text, rare (item number)", ItemFilters(text="第54321号"), {}),
    ("text + state", ItemFilters(text="乡村振兴", state="published"), {}),
    ("text, 2 chars (LIKE)", ItemFilters(text="会议"), {}),
    ("deep page (before id 1000)", ItemFilters(), {"before": 1000}),
    ("text, deep page", ItemFilters(text="数字政府"), {"before": 5000}),
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def run(database: str | None, count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        await upgrade(store)
        async with store.engine.begin() as conn:
            await conn.execute(text("DELETE FROM revisions"))
            await conn.execute(text("DELETE FROM items"))
        seconds = await fill(store, count)
        print(f"{store.dialect}: {count} items inserted and indexed in {seconds:.1f} s; {runs} runs per case")
        print("| case | rows | total | median ms | p95 ms |\n|---|---|---|---|---|")
        try:
            for label, filters, kw in CASES:
                times = []
                page = None
                for _ in range(runs):
                    started = time.perf_counter()
                    async with store.sessions() as session:
                        page = await search(session, filters, per_page=50, **kw)
                    times.append((time.perf_counter() - started) * 1000)
                assert page is not None
                print(f"| {label} | {len(page.rows)} | {page.total} | {statistics.median(times):.1f} "
                      f"| {pct(times, 95):.1f} |")
        finally:
            if database:
                async with store.engine.begin() as conn:
                    await conn.execute(text("DELETE FROM revisions"))
                    await conn.execute(text("DELETE FROM items"))
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", default=None, help="an empty scratch database URL")
    args = parser.parse_args()
    asyncio.run(run(args.database, args.items, args.runs))


if __name__ == "__main__":
    main()
