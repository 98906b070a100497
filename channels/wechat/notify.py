"""Topic notifications: once a release is published on WeChat, followers subscribed to one of
its topics (column, department, ``emergency``, ``all``) get a template message (or, with
``notify = "subscribe"``, a subscribe message through ``bizsend``) linking to the article.

Followers are streamed from the store a page at a time (never the whole list in memory); each
page is first written to ``delivery_recipients`` as ``unknown`` (the intent), then sent at
``notify_rate_per_second`` with ``notify_concurrency`` calls in flight, then each row gets its
result. A restart resumes after the last page written and never sends to a follower who already
has a row — one whose result was lost stays ``unknown`` rather than being notified twice.
43004 (no longer following) marks the follower ``inactive``; 43101 (refused) is recorded.
45009 (the day's quota) and lasting 45011/-1 (rate, busy) stop the run: the followers not yet
notified are ``held`` and the delivery waits (throttled) to send them, never failing them.
One call of the channel works for at most ``fanout_slice_seconds``, then hands back with its
progress (the runner's call limit is 120 s) and is called again at once."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from channels.base import Job, Outcome, Pace, Purpose, Result
from channels.wechat import notify_values
from channels.wechat.errors import WechatError, WechatTransportError
from channels.wechat.outcomes import THROTTLED_CODES, seconds_to_midnight
from content import subscribers
from content.models import DeliveryRecipient, Subscriber
from content.topics import release_topics

if TYPE_CHECKING:
    from channels.wechat.channel import WechatChannel

PAGE = 1000
HELD = "held"  # a follower not notified yet because of a quota or rate limit: sent when it lifts


def wanted(channel: WechatChannel, job: Job) -> bool:
    return (job.purpose is Purpose.PUBLISH and channel.settings.notify != "off"
            and bool(channel.creds.template_id) and str(job.options.get("notify", "")) != "none")


def template_data(channel: WechatChannel, job: Job) -> dict[str, dict[str, str]]:
    first = job.items[0]
    at = job.published_at or channel.clock.now()
    values = {"title": first.title + (f"（含 {len(job.items) - 1} 篇解读）" if len(job.items) > 1 else ""),
              "summary": first.excerpt, "department": first.department,
              "column": first.column, "kind": first.kind_label, "doc_no": first.doc_no or "—",
              "published_at": channel.renderer.local(at, "%Y年%m月%d日 %H:%M"), "site": channel.ctx.site_url}
    data = {}
    for key, source in channel.settings.notify_fields.items():
        value = values.get(source) or "—"
        if source == "published_at" and notify_values.kind(key) == "date":
            value = channel.renderer.local(at, "%Y年%m月%d日")
        data[key] = {"value": notify_values.fit(key, value)}
    return data


class RateLimiter:
    """Evenly spaced slots at ``rate`` per second, shared by every sender of one fan-out."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class Notified:
    """What happened to one follower."""

    subscriber_id: int
    address: str
    status: str  # sent | failed | skipped | unknown
    remote_id: str = ""
    detail: str = ""


class FanOut:
    def __init__(self, channel: WechatChannel, job: Job, url: str) -> None:
        self.ch = channel
        self.job = job
        self.url = url
        self.data = template_data(channel, job)
        self.limiter = RateLimiter(channel.settings.notify_rate_per_second)
        self.topics = sorted(release_topics(job.items))
        #: The quota (45009) or rate limit (45011, -1) that stopped this run, if any.
        self.limited: WechatError | None = None
        self.after = int(job.progress.get("notify_after", 0)) if job.progress else 0

    async def send_one(self, recipient: subscribers.Recipient) -> Notified:
        if self.limited is not None:  # the quota or rate limit was hit: keep the rest for later
            return Notified(recipient.id, recipient.address, HELD, detail="等待限额恢复")
        api, settings = self.ch.api, self.ch.settings
        for attempt in range(4):
            await self.limiter.wait()
            try:
                if settings.notify == "subscribe":
                    msgid = await api.bizsend(recipient.address, self.ch.creds.template_id, self.data, self.url)
                else:
                    msgid = await api.template_send(recipient.address, self.ch.creds.template_id, self.data, self.url)
                return Notified(recipient.id, recipient.address, "sent", msgid)
            except WechatError as exc:
                if exc.code == 43004:
                    return Notified(recipient.id, recipient.address, "skipped", detail="43004 未关注公众号，已标记为不活跃")
                if exc.code == 43101:
                    return Notified(recipient.id, recipient.address, "failed", detail="43101 用户拒收订阅通知")
                if exc.code in THROTTLED_CODES and attempt < 3:
                    await asyncio.sleep(1.0 * (attempt + 1))  # over the rate: slow down, try again
                    continue
                if exc.code == 45009 or exc.code in THROTTLED_CODES:  # a wait, never a failure
                    self.limited = self.limited or exc
                    return Notified(recipient.id, recipient.address, HELD, detail=exc.describe()[:500])
                return Notified(recipient.id, recipient.address, "failed", detail=exc.describe()[:500])
            except WechatTransportError as exc:
                if not exc.reached and attempt < 3:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                return Notified(recipient.id, recipient.address, "unknown" if exc.reached else "failed",
                                detail=str(exc)[:500])
        return Notified(recipient.id, recipient.address, "failed", detail="多次重试仍失败")

    async def _intend(self, page: list[subscribers.Recipient]) -> list[subscribers.Recipient]:
        """Write the page's rows as ``unknown`` first; followers who already have a row (an
        earlier, interrupted attempt) are left out."""
        now = self.ch.clock.now()
        delivery_id = self.job.delivery_id

        async def work(session: Any) -> list[subscribers.Recipient]:
            done = set(await session.scalars(select(DeliveryRecipient.address).where(
                DeliveryRecipient.delivery_id == delivery_id,
                DeliveryRecipient.address.in_([r.address for r in page]))))
            fresh = [r for r in page if r.address not in done]
            if fresh:
                insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
                await session.execute(insert(DeliveryRecipient).on_conflict_do_nothing(
                    index_elements=["delivery_id", "address"]), [
                    {"delivery_id": delivery_id, "subscriber_id": r.id, "address": r.address,
                     "batch": 0, "status": "unknown", "remote_id": "", "detail": "发送中",
                     "updated_at": now} for r in fresh])
            return fresh

        return await self.ch.store.transaction(work, what="record notification intents")

    async def _record(self, results: list[Notified]) -> None:
        if not results:
            return
        now = self.ch.clock.now()
        delivery_id = self.job.delivery_id
        inactive = [r.address for r in results if r.status == "skipped"]

        table = cast(Table, DeliveryRecipient.__table__)  # the stubs declare a FromClause
        reported = (table.c.status == "delivered") | ((table.c.status == "failed") & (table.c.remote_id != ""))

        async def work(session: Any) -> None:
            # A delivery report that arrived first (see events.template_finished) is kept.
            await session.execute(
                update(table).where(table.c.delivery_id == delivery_id, table.c.address == bindparam("a"))
                .values(status=case((reported, table.c.status), else_=bindparam("s")),
                        detail=case((reported, table.c.detail), else_=bindparam("d")),
                        remote_id=bindparam("r"), updated_at=now),
                [{"a": r.address, "s": r.status, "r": r.remote_id, "d": r.detail} for r in results])
            if inactive:
                await session.execute(update(Subscriber).where(
                    Subscriber.channel == "wechat", Subscriber.address.in_(inactive),
                    Subscriber.status == "active").values(status="inactive", updated_at=now))

        await self.ch.store.transaction(work, what="record notification results")

    async def run(self, deadline: float) -> bool:
        """Send until done (True) or until ``deadline`` (monotonic) passes (False). Pages hold
        about five seconds of sending, so what is queued at the deadline drains quickly."""
        page_size = max(50, min(PAGE, int(self.ch.settings.notify_rate_per_second * 5)))
        queue: asyncio.Queue[subscribers.Recipient | None] = asyncio.Queue(maxsize=page_size)
        results: list[Notified] = []
        workers = self.ch.settings.notify_concurrency

        async def worker() -> None:
            while (recipient := await queue.get()) is not None:
                results.append(await self.send_one(recipient))

        async def writer(stop: asyncio.Event) -> None:
            while True:
                if not stop.is_set():
                    try:
                        await asyncio.wait_for(stop.wait(), 0.25)
                    except TimeoutError:
                        pass
                batch = results[:]
                del results[:len(batch)]
                await self._record(batch)
                if stop.is_set() and not results:
                    return

        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        stop = asyncio.Event()
        writing = asyncio.create_task(writer(stop))
        finished = True
        try:
            for recipient in await self._held():
                await queue.put(recipient)
            async for page in subscribers.stream(self.ch.store, "wechat", self.topics,
                                                 after_id=self.after, page_size=page_size):
                if self.limited is not None:
                    break
                fresh = await self._intend(page)
                for recipient in fresh:
                    await queue.put(recipient)
                self.after = page[-1].id
                if self.job.checkpoint is not None:
                    await self.job.checkpoint({"notify_after": self.after})
                if time.monotonic() > deadline:
                    finished = False
                    break
        finally:
            for _ in tasks:
                await queue.put(None)
            await asyncio.gather(*tasks, return_exceptions=True)
            stop.set()
            await writing
        return finished and self.limited is None

    async def _held(self) -> list[subscribers.Recipient]:
        """Followers held back by a quota or rate limit in an earlier run, sent first: their rows
        become intents (``unknown``) again before the calls, like a fresh page's."""
        now = self.ch.clock.now()

        async def work(session: Any) -> list[subscribers.Recipient]:
            mine = (DeliveryRecipient.delivery_id == self.job.delivery_id) & (DeliveryRecipient.status == HELD)
            rows = list(await session.execute(select(DeliveryRecipient.subscriber_id, DeliveryRecipient.address)
                                              .where(mine).order_by(DeliveryRecipient.id)))
            await session.execute(update(DeliveryRecipient).where(mine).values(
                status="unknown", detail="发送中", updated_at=now))
            return [subscribers.Recipient(sid or 0, address) for sid, address in rows]

        return await self.ch.store.transaction(work, what="resume held notifications")

    async def counts(self) -> Counter[str]:
        async with self.ch.store.sessions() as session:
            rows = await session.execute(select(DeliveryRecipient.status, func.count()).where(
                DeliveryRecipient.delivery_id == self.job.delivery_id).group_by(DeliveryRecipient.status))
            return Counter({status: n for status, n in rows})


def summary(counts: Counter[str]) -> str:
    total = sum(counts.values())
    if not total:
        return "没有订阅相关主题的粉丝，无需通知"
    parts = [f"通知 {total} 位粉丝：成功 {counts['sent'] + counts['delivered']}"]
    if counts["failed"]:
        parts.append(f"失败 {counts['failed']}")
    if counts["skipped"]:
        parts.append(f"已取消关注 {counts['skipped']}（已标记为不活跃）")
    if counts["unknown"]:
        parts.append(f"结果未知 {counts['unknown']}（不会重发）")
    if counts[HELD]:
        parts.append(f"等待限额恢复 {counts[HELD]}")
    return "，".join(parts)


async def run(channel: WechatChannel, job: Job, url: str, base_receipt: dict[str, Any],
              published_detail: str) -> Result:
    fan = FanOut(channel, job, url)
    done = await fan.run(time.monotonic() + channel.settings.fanout_slice_seconds)
    counts = await fan.counts()
    receipt = {**base_receipt, "notified": dict(counts)}
    progress = {"notify_after": fan.after, "notify_done": done}
    if fan.limited is not None:
        now = channel.clock.now()
        wait = seconds_to_midnight(now) if fan.limited.code == 45009 else 60.0
        when = "次日 0 点后" if fan.limited.code == 45009 else "1 分钟后"
        return Result(Outcome.THROTTLED, f"{published_detail}；通知暂停：{fan.limited.describe()}，{when}自动继续"
                      f"（{summary(counts)}）", receipt, progress=progress, retry_after=wait,
                      pace=Pace(counts[HELD]) if counts[HELD] else None)
    if not done:
        return Result(Outcome.SUBMITTED, f"{published_detail}；通知进行中：{summary(counts)}", receipt,
                      progress=progress, retry_after=0.01)
    return Result(Outcome.SENT, f"{published_detail}；{summary(counts)}", receipt, progress=progress)
