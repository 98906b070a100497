"""Benchmark: an emergency released while a 1,000,000-subscriber SMS fan-out is running.

Measured: the time from the emergency's release (the release fired, as ``gongkai release create
ITEM --now`` does) to its SMS delivery settled as sent — every batch of it accepted by the Aliyun
emulator and recorded. The routine fan-out gives way between batches (channels/sms/fanout.py,
``urgent_waiting``), the runner claims the emergency first (bot/outbox.claim orders by priority),
then the routine fan-out resumes where it stopped.

Set-up as bench/sms_fanout.py: the emulator in its own process (20 ms per call, 50 calls/s), the
channel at 1,000-number batches and 50 calls/s, subscribers bulk-inserted (sqlite3 executemany,
PostgreSQL COPY). The routine release goes to N subscribers of its column; the emergency to
``--emergency`` subscribers of the ``emergency`` topic (10,000 by default: 10 calls).

Measured on the development container (2 CPUs shared with other work, load average 3–5; Python
3.11), 1,000,000 routine subscribers, 10,000 emergency subscribers, the routine fan-out 5 s in:

| store | release → last emergency batch accepted | routine fan-out meanwhile |
|---|---|---|
| SQLite | 2.82 s | gave way (stopped: yielded), resumed after |
| PostgreSQL | 1.66 s | gave way (stopped: yielded), resumed after |

Without the priority the emergency would have waited for the routine fan-out's call to end
(``max_call_seconds``, up to 110 s here) or for the whole 1,000,000 (about 20 s at 50 calls/s).

Usage (from the repository root, virtualenv active):

    PYTHONPATH=. python bench/emergency_priority.py                        # SQLite, 1,000,000
    PYTHONPATH=. python bench/emergency_priority.py --subscribers 200000   # on a loaded machine
    PYTHONPATH=. python bench/emergency_priority.py --pg postgresql://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scratch import scratch_database  # noqa: E402
from sms_fanout import KEY_ID, SECRET, TEMPLATE, settings_env  # noqa: E402

ROUTINE_TOPIC = "工作动态"
EMERGENCY_TEMPLATE = "SMS_900000002=notice:紧急信息：${department}发布《${title}》，请注意防范并关注后续通知。"


def start_emulator(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    """The Aliyun emulator (own process) knowing the routine and the emergency templates."""
    proc = subprocess.Popen([sys.executable, "-m", "channels.sandbox.aliyun_sms", "--key-id", KEY_ID,
                             "--secret", SECRET, "--template", TEMPLATE, "--template", EMERGENCY_TEMPLATE,
                             "--latency", str(args.latency), "--qps", str(args.rate)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    return proc, line.removeprefix("listening on ")


def seed_sqlite(path: Path, routine: int, urgent: int) -> None:
    import sqlite3

    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    total, chunk = routine + urgent, 100_000
    for start in range(1, total + 1, chunk):
        ids = range(start, min(start + chunk, total + 1))
        db.executemany("INSERT INTO subscribers (id, channel, address, status, source, consent_at, consent_method, "
                       "consent_from, created_at, updated_at, meta) VALUES (?, 'sms', ?, 'active', 'bench', ?, "
                       "'bench', '', ?, ?, '{}')", ((i, f"+8613{i:09d}", now, now, now) for i in ids))
        db.executemany("INSERT INTO subscriber_topics (subscriber_id, topic) VALUES (?, ?)",
                       ((i, ROUTINE_TOPIC if i <= routine else "emergency") for i in ids))
    db.commit()
    db.close()


async def seed_postgres(url: str, routine: int, urgent: int) -> None:
    import asyncpg

    now = datetime.now(timezone.utc)
    total = routine + urgent
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "subscribers", columns=["id", "channel", "address", "status", "source", "consent_at", "consent_method",
                                    "consent_from", "created_at", "updated_at", "meta"],
            records=((i, "sms", f"+8613{i:09d}", "active", "bench", now, "bench", "", now, now, "{}")
                     for i in range(1, total + 1)))
        await conn.copy_records_to_table("subscriber_topics", columns=["subscriber_id", "topic"], records=(
            (i, ROUTINE_TOPIC if i <= routine else "emergency") for i in range(1, total + 1)))
        await conn.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), $1)", total)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(env: dict[str, str], head_start: float) -> dict:
    """In a process of its own: the routine release fired and the runner going (as ``gongkai
    run``), then after ``head_start`` seconds the emergency released; until it is sent."""
    from sqlalchemy import select

    from bot.runner import Runner
    from bot.service import Service
    from bot.settings import load
    from content import workflow
    from content.frontmatter import build
    from content.models import Delivery
    from schedules import releases

    settings = load(None, environ=env)
    service = await Service.create(settings)

    async def approved(kind: str, title: str, department: str, column: str) -> int:
        now = service.clock.now()

        async def work(s):  # noqa: ANN001, ANN202
            draft = build({"kind": kind, "title": title, "department": department, "column": column}, "正文。")
            item = await workflow.add_item(s, draft, actor="bench", now=now, files=service.files)
            await workflow.submit(s, item.id, actor="bench", now=now, rules=service.rules, files=service.files)
            await workflow.approve(s, item.id, actor="approver", now=now)
            return item.id

        return await service.store.transaction(work)

    async def release(item_id: int) -> int:
        now = service.clock.now()
        rel = await service.store.transaction(lambda s: releases.create(
            s, [item_id], due_at=now, channels=["sms"], actor="bench", now=now))
        await service.fire(rel.id)
        return rel.id

    async def delivery(release_id: int) -> Delivery:
        async with service.store.sessions() as s:
            return await s.scalar(select(Delivery).where(Delivery.release_id == release_id))

    news = await approved("news", "关于开展政务公开日活动的通知", "办公室", ROUTINE_TOPIC)
    alert = await approved("emergency", "暴雨红色预警", "市应急管理局", "突发事件")
    await service.open_channels()
    service.runner = Runner(service.store, service.channels, service.clock, settings.delivery, node="bench")
    stop = asyncio.Event()
    running = asyncio.create_task(service.runner.run(stop))
    routine = await release(news)
    await asyncio.sleep(head_start)
    before = (await delivery(routine)).progress.get("numbers_done", 0)
    t0 = time.perf_counter()
    urgent = await release(alert)
    while (d := await delivery(urgent)).state not in ("sent", "failed", "paused"):
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - t0
    yielded = (await delivery(routine)).progress
    await asyncio.sleep(3)  # the routine fan-out resumes
    after = (await delivery(routine)).progress.get("numbers_done", 0)
    stop.set()
    await running
    await service.close_channels()
    await service.store.close()
    return {"seconds": seconds, "state": d.state, "summary": d.progress.get("summary"),
            "routine_done_at_release": before, "routine_done_when_urgent_sent": yielded.get("numbers_done", 0),
            "routine_stopped": yielded.get("stopped"), "routine_done_3s_later": after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=1_000_000, help="the routine fan-out's subscribers")
    ap.add_argument("--emergency", type=int, default=10_000, help="subscribers of the emergency topic")
    ap.add_argument("--head-start", type=float, default=5.0, help="seconds the routine fan-out runs first")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="calls per second (client and emulator limit)")
    ap.add_argument("--latency", type=float, default=0.02, help="emulated seconds per call")
    ap.add_argument("--concurrency", type=int, default=8, help="calls in flight (the channel default)")
    ap.add_argument("--pg", default="", help="admin URL of a PostgreSQL server: use a scratch database there")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(json.loads(args.child), args.head_start))))
        return
    data = Path(tempfile.mkdtemp(prefix="gk-emergency-bench-"))
    with scratch_database(args.pg, data) as database_url:
        run(args, data, database_url)


def run(args: argparse.Namespace, data: Path, database_url: str) -> None:
    from content.db import Store, upgrade

    async def migrate() -> None:
        store = Store.open(database_url)
        await upgrade(store)
        await store.close()

    emulator = None
    try:
        asyncio.run(migrate())
        t0 = time.perf_counter()
        if args.pg:
            asyncio.run(seed_postgres(database_url, args.subscribers, args.emergency))
        else:
            seed_sqlite(data / "gongkai.db", args.subscribers, args.emergency)
        print(f"store: {'PostgreSQL' if args.pg else 'SQLite'}; seeded {args.subscribers:,} + {args.emergency:,} "
              f"subscribers in {time.perf_counter() - t0:.1f} s")
        emulator, url = start_emulator(args)
        env = {**settings_env(data, database_url, url, args), "GONGKAI_DELIVERY__POLL_SECONDS": "0.05"}
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(env), "--head-start", str(args.head_start)],
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", ".")})
        if out.returncode != 0:
            print(out.stderr)
            raise SystemExit("the measuring process failed")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        calls = -(-args.emergency // args.batch)
        print(f"emergency: {r['state']} in {r['seconds']:.2f} s from its release to its last batch accepted "
              f"({args.emergency:,} numbers, {calls} calls; alone at {args.rate:g} calls/s: {calls / args.rate:.2f} s)")
        print(f"  {r['summary']}")
        print(f"routine fan-out: {r['routine_done_at_release']:,} numbers done when the emergency was released, "
              f"{r['routine_done_when_urgent_sent']:,} when it was sent (stopped: {r['routine_stopped'] or '-'}), "
              f"{r['routine_done_3s_later']:,} three seconds later (resumed)")
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(10)


if __name__ == "__main__":
    main()
