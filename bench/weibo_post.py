"""Benchmark: the Weibo channel's own costs.

1. Fitting: compose N posts whose summaries are far over 140 字 (binary search over the
   summary, Jinja2 rendering, Weibo's count): time per post.
2. Delivery: R two-post bundles (policy + interpretation, the policy with a cover picture)
   through the real delivery runner, the real store and the Weibo emulator on a local port:
   time per bundle from claim to recorded outcome, and posts per second.

3. Drain: one release of D news items under the bot's 30-posts-an-hour ceiling (and Weibo's
   own 30 an hour in the emulator), on a fast clock that jumps to the next due instant whenever
   nothing is due: every item posted, nothing failed, and the finish estimated after the first
   hour (``outbox.drain_estimates``) against the actual one.

Usage: PYTHONPATH=. python bench/weibo_post.py [--posts 5000] [--bundles 100] [--drain 1000]
[--database-url URL] (with --database-url, pass an empty scratch database; --drain 0 skips 3).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image
from sqlalchemy import func, select

from bot import outbox
from bot.runner import Runner
from bot.settings import DeliverySettings
from channels.base import ChannelContext, Purpose
from channels.sandbox.weibo import SandboxConfig, WeiboSandbox
from channels.weibo.channel import WeiboChannel
from channels.weibo.config import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, WeiboSettings
from content import workflow
from content.checks import CheckRules
from content.clock import FixedClock
from content.db import Store, upgrade
from content.models import Delivery, DeliveryAttempt
from content.files import FileStore
from content.frontmatter import build
from content.render import Renderer
from content.views import ItemView
from schedules import releases

SITE = "https://www.gov.example.cn"
SUMMARY = "明确了政策文件与解读同步发布、网站每周更新、重点部门按季度召开新闻发布会、突发事件信息第一时间发布等要求，" * 6


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def fitting(n: int) -> None:
    from channels.weibo.compose import Composer

    composer = Composer(Renderer(ZoneInfo("Asia/Shanghai")), SITE, "gov.example.cn")
    times = []
    for i in range(n):
        view = ItemView(id=i + 1, kind="policy" if i % 2 else "interpretation", state="approved", revision=1,
                        title=f"示例市关于进一步做好政务公开工作的通知（第 {i} 号）", summary=SUMMARY[i % 40:],
                        body_html="", body_md="", department="", column="", index_no="", doc_no="", issuer="",
                        topic="", issued=None, validity="", normative=False, tags=(), extra={}, correction_note="",
                        published_at=None, first_published_at=None, retracted_at=None, retract_reason=None,
                        interprets=(i,) if i % 2 == 0 else ())
        t0 = time.perf_counter()
        post = composer.post(view, Purpose.PUBLISH)
        times.append((time.perf_counter() - t0) * 1000)
        assert post.ok and post.length <= 140
    print(f"fitting: {n} posts, median {statistics.median(times):.2f} ms, p95 {pct(times, 95):.2f} ms, "
          f"max {max(times):.2f} ms per post")


async def delivery(bundles: int, database_url: str | None) -> None:
    data = Path(tempfile.mkdtemp(prefix="gk-weibo-bench-"))
    store = Store.open(database_url or f"sqlite:///{data / 'gongkai.db'}")
    await upgrade(store)
    clock = FixedClock(datetime.now(UTC))
    sandbox = WeiboSandbox(SandboxConfig(app_key=SANDBOX_APP_KEY, app_secret=SANDBOX_APP_SECRET,
                                         safe_domains=("gov.example.cn",), share_per_hour=10 ** 6,
                                         user_per_hour=10 ** 6, ip_per_hour=10 ** 6), clock=clock)
    root = web.Application()
    root.add_subapp("/sandbox/weibo", sandbox.make_app())
    server = TestServer(root)
    await server.start_server()
    ctx = ChannelContext(settings=WeiboSettings(max_posts_per_hour=0), store=store, clock=clock,
                         renderer=Renderer(ZoneInfo("Asia/Shanghai")), site_url=SITE, data_dir=data,
                         local_url=str(server.make_url("")).rstrip("/"))
    channel = WeiboChannel(ctx)
    files = FileStore(data / "files")
    cover = data / "cover.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (900, 500), (180, 20, 20)).save(buf, "JPEG")
    cover.write_bytes(buf.getvalue())
    now = clock.now()

    async def setup(s):
        ids = []
        for n in range(bundles):
            p = await workflow.add_item(s, build({"kind": "policy", "title": f"政策文件 {n}", "department": "办公室",
                                                  "index_no": f"000/2026-{n:05d}", "doc_no": f"示发〔2026〕{n}号",
                                                  "issuer": "示例市人民政府", "issued": "2026-11-20",
                                                  "summary": SUMMARY, "cover": cover.name}, "正文。",
                                                 base_dir=cover.parent),
                                        actor="bench", now=now, files=files)
            await s.flush()
            i = await workflow.add_item(s, build({"kind": "interpretation", "title": f"政策文件 {n} 解读",
                                                  "department": "办公室", "interprets": p.id,
                                                  "summary": "三问三答。"}, "正文。"),
                                        actor="bench", now=now, files=files)
            for item in (p, i):
                await workflow.submit(s, item.id, actor="bench", now=now, rules=CheckRules(), files=files)
                await workflow.approve(s, item.id, actor="reviewer", now=now, override_reason="bench")
            rel = await releases.create(s, [p.id, i.id], due_at=now, channels=["weibo"], actor="bench",
                                        now=now, allow_past=True)
            ids.append(rel.id)
        return ids

    ids = await store.transaction(setup)
    for rid in ids:
        await store.transaction(lambda s, rid=rid: releases.fire(s, rid, now=now))
    runner = Runner(store, {"weibo": channel}, clock, DeliverySettings(concurrency=4), node="bench")
    per = []
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        handled = await runner.run_once()
        if not handled:
            break
        per.append((time.perf_counter() - t) * 1000 / handled)
    total = time.perf_counter() - t0
    posts = len(sandbox.timeline())
    assert posts == 2 * bundles, posts
    print(f"delivery ({store.dialect}): {bundles} bundles, {posts} posts in {total:.2f} s = "
          f"{posts / total:.0f} posts/s; {total * 1000 / bundles:.1f} ms per bundle "
          f"(runner rounds: median {statistics.median(per):.1f} ms per delivery)")
    await channel.close()
    await server.close()
    await store.close()


async def drain(n: int, database_url: str | None, per_hour: int = 30) -> None:
    data = Path(tempfile.mkdtemp(prefix="gk-weibo-drain-"))
    store = Store.open(database_url or f"sqlite:///{data / 'gongkai.db'}")
    await upgrade(store)
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    sandbox = WeiboSandbox(SandboxConfig(app_key=SANDBOX_APP_KEY, app_secret=SANDBOX_APP_SECRET,
                                         safe_domains=("gov.example.cn",), share_per_hour=per_hour,
                                         user_per_hour=10 ** 6, ip_per_hour=10 ** 6), clock=clock)
    root = web.Application()
    root.add_subapp("/sandbox/weibo", sandbox.make_app())
    server = TestServer(root)
    await server.start_server()
    ctx = ChannelContext(settings=WeiboSettings(max_posts_per_hour=per_hour), store=store, clock=clock,
                         renderer=Renderer(ZoneInfo("Asia/Shanghai")), site_url=SITE, data_dir=data,
                         local_url=str(server.make_url("")).rstrip("/"))
    channel = WeiboChannel(ctx)
    files = FileStore(data / "files")
    now = clock.now()

    async def setup(s):
        ids = []
        for k in range(n):
            item = await workflow.add_item(s, build({"kind": "news", "title": f"便民服务信息第 {k + 1} 条",
                                                     "department": "办公室", "summary": "办理时间调整。"}, "正文。"),
                                           actor="bench", now=now, files=files)
            await s.flush()
            await workflow.submit(s, item.id, actor="bench", now=now, rules=CheckRules())
            await workflow.approve(s, item.id, actor="reviewer", now=now, override_reason="bench")
            ids.append(item.id)
        rel = await releases.create(s, ids, due_at=now, channels=["weibo"], actor="bench", now=now, allow_past=True)
        return rel.id

    rid = await store.transaction(setup)
    await store.transaction(lambda s: releases.fire(s, rid, now=now))
    runner = Runner(store, {"weibo": channel}, clock, DeliverySettings(), node="bench")
    estimate = None
    t0 = time.perf_counter()
    while True:
        await runner.run_once()
        async with store.sessions() as s:
            d = await s.scalar(select(Delivery).where(Delivery.release_id == rid))
            if estimate is None:
                estimate = next(iter(await outbox.drain_estimates(s, clock.now())), None)
        if d.state in outbox.SETTLED:
            break
        clock.set(max(clock.now(), d.next_attempt_at))  # the fast clock: straight to the next due instant
    wall = time.perf_counter() - t0
    async with store.sessions() as s:
        outcomes = dict((await s.execute(select(DeliveryAttempt.outcome, func.count()).where(
            DeliveryAttempt.delivery_id == d.id).group_by(DeliveryAttempt.outcome))).all())
    posted = len(sandbox.timeline())
    hours = (d.settled_at - now).total_seconds() / 3600
    est = (f"estimated after the first hour {estimate.finishes_at:%Y-%m-%d %H:%M} UTC "
           f"({estimate.remaining} left at {estimate.per_window}/h)") if estimate else "no estimate"
    print(f"drain ({store.dialect}): {n} items at {per_hour}/h: state {d.state}, {posted} posted, "
          f"{n - posted} not posted, attempts {outcomes}; finished {d.settled_at:%Y-%m-%d %H:%M} UTC "
          f"({hours:.1f} simulated h), {est}; {wall:.1f} s wall")
    assert d.state == "sent" and posted == n, (d.state, posted)
    await channel.close()
    await server.close()
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--bundles", type=int, default=100)
    parser.add_argument("--drain", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    fitting(args.posts)
    asyncio.run(delivery(args.bundles, args.database_url))
    if args.drain:
        asyncio.run(drain(args.drain, args.database_url))


if __name__ == "__main__":
    main()
