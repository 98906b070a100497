"""Benchmark: a topic notification (template messages) to 100,000 WeChat followers.

The WeChat emulator runs in its own process with 20 ms latency per call and a rate limit of
1,000 template messages a second (45009 beyond it). The bot side is the real channel driven by
the real delivery runner on a fresh store (SQLite, or --database-url): a release is published
on WeChat, then the fan-out streams the followers from the store and notifies each one, writing
a per-follower result. Reported:

* throughput of the fan-out (followers notified per second; target ≥ 90 % of the 1,000/s limit)
* peak memory of the bot process (max RSS; target < 200 MB)
* beside it, the same fan-out as a plain loop over wechatpy's synchronous client, run on a
  sample (--sample, default 1,000 followers) and extrapolated to the full count; the ratio.

Usage: PYTHONPATH=. python bench/wechat_notify.py [--followers 100000] [--rate 1000]
       [--latency 0.02] [--concurrency 64] [--sample 1000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

APP_ID, SECRET, TOKEN, TEMPLATE = "wxbench0000000001", "b" * 32, "benchtoken", "BENCH_TEMPLATE"


# ---------------------------------------------------------------------------- the emulator process
def serve(port: int, followers: int, rate: float, latency: float) -> None:
    from aiohttp import web

    from channels.sandbox.wechat import EmulatorConfig, WechatEmulator

    # template messages need a verified 服务号: a 订阅号 gets 48001, as on the real platform
    config = EmulatorConfig(app_id=APP_ID, app_secret=SECRET, token=TOKEN, template_ids=frozenset({TEMPLATE}),
                            account_type="service",
                            public_url=f"http://127.0.0.1:{port}", publish_delay=0.2, template_events=False,
                            rate_limits={"message/template/send": rate})
    emulator = WechatEmulator(config)  # in memory: nothing journaled
    emulator.faults.latency = latency
    emulator.add_followers(followers)

    async def started(_app: web.Application) -> None:
        print("ready", flush=True)

    app = emulator.app()
    app.on_startup.append(started)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- the bot side
async def bot_side(args: argparse.Namespace, base: str) -> dict:
    from zoneinfo import ZoneInfo

    from sqlalchemy import func, insert, select

    from bot.runner import Runner
    from bot.settings import DeliverySettings
    from channels.base import ChannelContext
    from channels.sandbox.wechat.state import State
    from channels.wechat.channel import WechatChannel
    from channels.wechat.config import WechatSettings
    from content import workflow
    from content.clock import SystemClock
    from content.db import Store, upgrade
    from content.frontmatter import build
    from content.models import Delivery, DeliveryRecipient, Subscriber, SubscriberTopic
    from content.render import Renderer
    from schedules import releases

    data = Path(tempfile.mkdtemp(prefix="gk-wechat-bench-"))
    url = args.database_url or f"sqlite:///{data / 'gongkai.db'}"
    store = Store.open(url)
    await upgrade(store)
    clock = SystemClock()
    now = clock.now()
    print(f"store: {url.split('@')[-1]}")

    t = time.perf_counter()
    chunk = 5000
    for start in range(0, args.followers, chunk):
        ids = range(start, min(start + chunk, args.followers))
        async with store.sessions() as s, s.begin():
            first = (await s.scalar(select(func.max(Subscriber.id))) or 0) + 1
            await s.execute(insert(Subscriber), [
                {"channel": "wechat", "address": State.bulk_openid(APP_ID, n), "status": "active",
                 "source": "bench", "consent_method": "wechat_follow", "consent_from": "wechat",
                 "created_at": now, "updated_at": now, "meta": {}} for n in ids])
            await s.execute(insert(SubscriberTopic), [
                {"subscriber_id": first + i, "topic": "all"} for i in range(len(ids))])
    print(f"{args.followers:,} followers stored in {time.perf_counter() - t:.1f} s")

    settings = WechatSettings(enabled=True, sandbox=True, base_url=base, app_id=APP_ID, app_secret=SECRET,
                              token=TOKEN, message_mode="plain", notify_template_id=TEMPLATE,
                              account_type="service", notify="template",
                              notify_rate_per_second=args.rate * args.rate_share,
                              notify_concurrency=args.concurrency, fanout_slice_seconds=100, poll_seconds=0.5)
    renderer = Renderer(ZoneInfo("Asia/Shanghai"))
    channel = WechatChannel(ChannelContext(settings=settings, store=store, clock=clock, renderer=renderer,
                                           site_url="https://gov.example", data_dir=data))
    await channel.open()

    async def release(s):  # noqa: ANN001, ANN202
        item = await workflow.add_item(s, build({"kind": "news", "title": "关于开展防汛演练的通知",
                                                 "department": "示例市应急管理局"}, "正文。"),
                                       actor="bench", now=now, files=None)
        await workflow.submit(s, item.id, actor="bench", now=now,
                              rules=__import__("content.checks").checks.CheckRules(), files=None)
        await workflow.approve(s, item.id, actor="reviewer", now=now, override_reason="bench")
        rel = await releases.create(s, [item.id], due_at=now, channels=["wechat"], actor="bench", now=now,
                                    allow_past=True)
        await releases.fire(s, rel.id, now=now)
        return rel.id

    release_id = await store.transaction(release)
    runner = Runner(store, {"wechat": channel}, clock, DeliverySettings(), node="bench", call_timeout=120)

    async def state() -> tuple[str, int]:
        async with store.sessions() as s:
            d = await s.scalar(select(Delivery).where(Delivery.release_id == release_id))
            notified = await s.scalar(select(func.count()).select_from(DeliveryRecipient).where(
                DeliveryRecipient.delivery_id == d.id))
            return d.state, notified

    # The fan-out's time is the time of the runner rounds that notified followers (the round
    # that learns the publication succeeded goes on to notify in the same call).
    elapsed, delivery_state = 0.0, ""
    while delivery_state not in ("sent", "failed"):
        _, before = await state()
        started = time.perf_counter()
        await runner.run_once()
        took = time.perf_counter() - started
        delivery_state, after = await state()
        if after > before:
            elapsed += took
            print(f"  runner round notified {after - before:,} followers in {took:.1f} s")
        elif delivery_state not in ("sent", "failed"):
            await asyncio.sleep(0.2)  # waiting for the publication to finish
    async with store.sessions() as s:
        d = await s.scalar(select(Delivery).where(Delivery.release_id == release_id))
        counts = dict((await s.execute(select(DeliveryRecipient.status, func.count()).where(
            DeliveryRecipient.delivery_id == d.id).group_by(DeliveryRecipient.status))).all())
    await channel.close()
    await store.close()
    sent = counts.get("sent", 0)
    return {"state": delivery_state, "counts": counts, "seconds": elapsed, "rate": sent / elapsed,
            "detail": d.last_error, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "calls": dict(channel.api.calls), "token_fetches": channel.api.tokens.fetches}


def wechatpy_side(base: str, sample: int) -> float:
    """The same notification as a plain loop over wechatpy's synchronous client."""
    from wechatpy import WeChatClient

    from channels.sandbox.wechat.state import State

    api = base + "/cgi-bin/"

    class Client(WeChatClient):
        API_BASE_URL = api

        def fetch_access_token(self):  # noqa: ANN202
            return self._fetch_access_token(url=api + "token", params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

    client = Client(APP_ID, SECRET)
    client.fetch_access_token()
    data = {"thing1": {"value": "关于开展防汛演练的通知"}, "thing2": {"value": "示例市应急管理局"},
            "time3": {"value": "2026年11月20日 10:00"}}
    started = time.perf_counter()
    for n in range(sample):
        client.message.send_template(State.bulk_openid(APP_ID, n), TEMPLATE, data, url="https://gov.example/")
    return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="the emulator's limit, calls/s")
    parser.add_argument("--rate-share", type=float, default=1.0,
                        help="the bot's configured rate as a share of the limit (default 1.0)")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sample", type=int, default=1000, help="followers for the wechatpy loop")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.followers, args.rate, args.latency)
        return
    port = free_port()
    emulator = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--followers", str(args.followers),
                                 "--rate", str(args.rate), "--latency", str(args.latency)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout.readline().strip() == "ready", "the emulator did not start"
        base = f"http://127.0.0.1:{port}/api"
        print(f"emulator: {args.followers:,} followers, {args.latency * 1000:.0f} ms latency, "
              f"{args.rate:,.0f} template messages/s limit (pid {emulator.pid})")
        ours = asyncio.run(bot_side(args, base))
        print(f"gongkai fan-out: {ours['counts']} in {ours['seconds']:.1f} s → {ours['rate']:,.0f}/s "
              f"({ours['rate'] / args.rate:.1%} of the limit); delivery {ours['state']}; peak RSS "
              f"{ours['maxrss_mb']:.0f} MB; token fetches {ours['token_fetches']}")
        loop_rate = wechatpy_side(base, args.sample)
        extrapolated = args.followers / loop_rate
        print(f"wechatpy loop: {args.sample:,} followers at {loop_rate:,.1f}/s → {args.followers:,} would take "
              f"{timedelta(seconds=round(extrapolated))} (extrapolated from the sample)")
        print(f"ratio: gongkai is {ours['rate'] / loop_rate:,.1f}× the plain wechatpy loop")
        print(json.dumps({"followers": args.followers, "gongkai_per_s": round(ours["rate"], 1),
                          "share_of_limit": round(ours["rate"] / args.rate, 3),
                          "peak_rss_mb": round(ours["maxrss_mb"], 1), "wechatpy_per_s": round(loop_rate, 1),
                          "wechatpy_sample": args.sample, "ratio": round(ours["rate"] / loop_rate, 1)},
                         ensure_ascii=False))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
