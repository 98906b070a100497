"""A release on WeChat: one multi-article draft (policy first — a bundle is atomic on WeChat),
then either free publishing (``freepublish/submit``, no push) or, when the release asks for a
push, a mass send of that draft with a deterministic clientmsgid (``message/mass/sendall`` to
everyone or a tag, ``message/mass/send`` to an openid list named in ``push_lists``).

The delivery's publication row is the intent record. Its states::

    drafted ─► pending ─► submitted ─► published ─► (notifications) ─► sent
                  │  (call made, answer not recorded: crash or timeout)
                  └► recovered: a push is repeated with the same clientmsgid (45065 = it was
                     sent; the original msg_id is taken) within WeChat's 24 hours of dedupe, and
                     left ``unknown`` for staff after that; a publish is looked up by its draft
                     and its articles' source links — never blindly repeated

Deliver and reconcile are the same walk from wherever the row is, so a restart at any point
continues the same publication."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from channels.base import Job, Outcome, Purpose, Result
from channels.wechat import outcomes, push, rendition
from channels.wechat.errors import WechatError, WechatTransportError
from channels.wechat.images import ImageProblem
from channels.wechat.media import MissingFile
from channels.wechat.models import WechatPublication
from content.models import ReleaseItem

if TYPE_CHECKING:
    from channels.wechat.channel import WechatChannel

#: WeChat dedupes a mass send's clientmsgid for 24 hours; an unrecorded push older than this
#: (an hour kept for clock differences) can no longer be repeated safely
DEDUPE_WINDOW = timedelta(hours=23)


@dataclass(frozen=True)
class Earlier:
    """An article of an item already on WeChat."""

    row: WechatPublication
    index: int  # 1-based position in its publication

    @property
    def url(self) -> str:
        urls = self.row.urls or []
        return urls[self.index - 1] if len(urls) >= self.index else ""


async def earlier_articles(session: Any, item_id: int) -> list[Earlier]:
    """Published WeChat articles of ``item_id``, newest first."""
    rows = await session.scalars(
        select(WechatPublication).join(ReleaseItem, ReleaseItem.release_id == WechatPublication.release_id)
        .where(ReleaseItem.item_id == item_id, WechatPublication.status == "published")
        .order_by(WechatPublication.id.desc()))
    return [Earlier(row, list(row.items).index(item_id) + 1) for row in rows if item_id in (row.items or [])]


def receipt(row: WechatPublication) -> dict[str, Any]:
    data: dict[str, Any] = {"mode": row.mode, "items": list(row.items or [])}
    if row.mode == "push":
        data.update(push=row.target, msg_id=row.msg_id)
    if row.publish_id:
        data["publish_id"] = row.publish_id
    if row.article_id:
        data["article_id"] = row.article_id
    if row.urls:
        data.update(urls=list(row.urls), url=row.urls[0])
    return data


class Publisher:
    def __init__(self, channel: WechatChannel) -> None:
        self.ch = channel

    # ------------------------------------------------------------------ the row
    async def load(self, delivery_id: int) -> WechatPublication | None:
        async with self.ch.store.sessions() as session:
            return await session.scalar(select(WechatPublication).where(
                WechatPublication.delivery_id == delivery_id))

    async def save(self, row: WechatPublication, **values: Any) -> WechatPublication:
        values["updated_at"] = self.ch.clock.now()
        await self.ch.store.transaction(lambda s: s.execute(update(WechatPublication).where(
            WechatPublication.id == row.id).values(**values)), what="update wechat publication")
        for key, value in values.items():
            setattr(row, key, value)
        return row

    # ------------------------------------------------------------------ the walk
    async def run(self, job: Job) -> Result:
        row = await self.load(job.delivery_id)
        for _ in range(6):  # each step moves the row on or answers
            if row is None or row.status == "stale":
                step = await self._draft(job, row)
            elif row.status == "drafted":
                step = await self._submit(job, row)
            elif row.status == "pending":
                step = await self._recover(job, row)
            elif row.status == "submitted":
                step = await self._poll(row)
            elif row.status == "published":
                return await self.ch.after_publish(job, row)
            else:
                return Result(Outcome.FAILED, row.detail or "微信发布失败", receipt(row))
            if isinstance(step, Result):
                return step
            row = step
        assert row is not None
        return Result(Outcome.SUBMITTED, "微信发布进行中", receipt(row), retry_after=self.ch.settings.poll_seconds)

    # ------------------------------------------------------------------ 1. the draft
    async def _articles(self, job: Job) -> list[rendition.Article]:
        articles = []
        for item in job.items:
            correction = None
            if job.purpose is Purpose.CORRECT:
                async with self.ch.store.sessions() as session:
                    earlier = await earlier_articles(session, item.id)
                url = next((e.url for e in earlier if e.url), "")
                correction = rendition.Correction(item.correction_note or "内容有更正", url, item.title)
            articles.append(self.ch.article(item, correction))
        return articles

    async def _draft(self, job: Job, row: WechatPublication | None) -> WechatPublication | Result:
        articles = await self._articles(job)
        for a in articles:
            bad = [c for c in a.checks if not c.ok]
            if bad:
                return Result(Outcome.FAILED, f"稿件 {a.item_id} 不符合微信的要求：" + "；".join(
                    f"{c.name} {c.actual}/{c.limit} {c.unit}" for c in bad) + "（修正：精简正文后更正稿件）")
        try:
            try:
                draft_id = await self._upload_and_draft(articles)
            except WechatError as exc:
                if exc.code != 40007:
                    raise
                await self.ch.media.forget_thumbs()  # a remembered cover is gone: upload again
                draft_id = await self._upload_and_draft(articles)
        except MissingFile as exc:
            return Result(Outcome.PAUSED, f"准备微信图文失败：{exc}（修正：补回该文件，渠道随后自动继续）",
                          retry_after=600)
        except ImageProblem as exc:
            return Result(Outcome.FAILED, f"准备微信图文失败：{exc}（修正：更正稿件并换一张图片）")
        except ContentTooLong as exc:
            return Result(Outcome.FAILED, str(exc))
        except WechatError as exc:
            return outcomes.for_error(exc, self.ch.clock.now(), "创建微信草稿")
        except WechatTransportError as exc:
            return outcomes.for_transport(exc, "创建微信草稿", intent_recorded=False)
        target = push.parse(job.options) if job.purpose is Purpose.PUBLISH else push.PushTarget("none")
        now = self.ch.clock.now()
        values = {"purpose": job.purpose.value, "mode": "push" if target.kind != "none" else "publish",
                  "target": target.key if target.kind != "none" else "", "status": "drafted",
                  "items": [a.item_id for a in articles], "draft_media_id": draft_id,
                  "source_urls": [a.source_url for a in articles], "updated_at": now}

        async def store(session: Any) -> WechatPublication:
            existing = await session.scalar(select(WechatPublication).where(
                WechatPublication.delivery_id == job.delivery_id))
            if existing is not None:
                for key, value in values.items():
                    setattr(existing, key, value)
                return existing
            created = WechatPublication(delivery_id=job.delivery_id, release_id=job.release_id,
                                        clientmsgid=await push.clientmsgid(session, job.idempotency_key, now),
                                        created_at=now, **values)
            session.add(created)
            await session.flush()
            return created

        return await self.ch.store.transaction(store, what="record wechat draft")

    async def preview(self, items: tuple, openid: str) -> str:
        """Send what these items would look like to one follower's phone (message/mass/preview,
        no quota, nobody else sees it); returns the preview's msg_id. Errors are raised."""
        articles = [self.ch.article(item) for item in items]
        draft_id = await self._upload_and_draft(articles)
        return str((await self.ch.api.mass_preview(draft_id, openid)).get("msg_id", ""))

    async def _upload_and_draft(self, articles: list[rendition.Article]) -> str:
        payloads = []
        for article in articles:
            thumb = await self.ch.media.thumb(article.cover)
            urls = await self.ch.media.image_urls(list(article.images))
            body = rendition.payload(article, thumb, urls, open_comment=self.ch.settings.open_comment,
                                     single=len(articles) == 1)
            if len(body["content"]) >= rendition.CONTENT_LIMIT:
                raise ContentTooLong(f"稿件 {article.item_id} 的微信正文上传图片后为 {len(body['content'])} 字符，"
                                     f"超过 {rendition.CONTENT_LIMIT} 的上限（修正：精简正文后更正稿件）")
            payloads.append(body)
        return await self.ch.api.draft_add(payloads)

    # ------------------------------------------------------------------ 2. publish or push
    async def _submit(self, job: Job, row: WechatPublication) -> WechatPublication | Result:
        if row.mode == "push":
            return await self._push(job, row)
        await self.save(row, status="pending")
        return await self._freepublish(row)

    async def _freepublish(self, row: WechatPublication) -> WechatPublication | Result:
        try:
            publish_id = await self.ch.api.publish_submit(row.draft_media_id)
        except WechatError as exc:
            if exc.code == 40007:  # the draft is gone (deleted by someone): draft again
                return await self.save(row, status="stale", draft_media_id="")
            if exc.code == 53503:  # an earlier submit of this draft is being published
                return Result(Outcome.UNKNOWN, "该草稿正在发布中，稍后核对结果", receipt(row),
                              retry_after=self.ch.settings.poll_seconds)
            await self.save(row, status="drafted")  # refused: nothing was published
            return outcomes.for_error(exc, self.ch.clock.now(), "提交微信发布", receipt(row))
        except WechatTransportError as exc:
            if not exc.reached:
                await self.save(row, status="drafted")
            return outcomes.for_transport(exc, "提交微信发布", intent_recorded=True, receipt=receipt(row))
        await self.save(row, status="submitted", publish_id=publish_id)
        return Result(Outcome.SUBMITTED, f"已提交微信发布（publish_id {publish_id}），等待发布结果",
                      receipt(row), retry_after=self.ch.settings.poll_seconds)

    async def _to_publish_only(self, row: WechatPublication, why: str) -> WechatPublication:
        return await self.save(row, mode="publish", status="drafted", pushed_at=None,
                               detail=f"未群发：{why}；已改为仅发布（不推送）")

    async def _push(self, job: Job, row: WechatPublication) -> WechatPublication | Result:
        target = push.parse({"push": row.target})
        now = self.ch.clock.now()
        async with self.ch.store.sessions() as session:
            verdict = await push.judge(session, self.ch.settings, target, now,
                                       exclude_delivery=job.delivery_id, planned=False,
                                       emergency=any(i.kind == "emergency" for i in job.items))
        if not verdict.allowed:
            return await self._to_publish_only(row, verdict.refusal.split("（修正")[0])
        tag_id = None
        if target.kind == "tag":
            try:
                tags = await self.ch.api.tags()
            except WechatError as exc:
                return outcomes.for_error(exc, now, "查询粉丝标签", receipt(row))
            except WechatTransportError as exc:
                return outcomes.for_transport(exc, "查询粉丝标签", intent_recorded=False, receipt=receipt(row))
            tag_id = next((t["id"] for t in tags if t.get("name") == target.tag), None)
            if tag_id is None:
                return await self._to_publish_only(row, f"公众号没有名为“{target.tag}”的标签")
        if target.kind == "list" and target.tag not in self.ch.settings.push_lists:
            return await self._to_publish_only(row, f"没有名为“{target.tag}”的群发名单")
        await self.save(row, status="pending", pushed_at=now)
        return await self._sendall(row, target, tag_id)

    async def _sendall(self, row: WechatPublication, target: push.PushTarget,
                       tag_id: int | None) -> WechatPublication | Result:
        note = ""
        try:
            if target.kind == "list":
                openids = list(dict.fromkeys(self.ch.settings.push_lists.get(target.tag, [])))
                body = await self.ch.api.mass_send(row.draft_media_id, openids, clientmsgid=row.clientmsgid)
            else:
                body = await self.ch.api.mass_sendall(row.draft_media_id, to_all=target.kind == "all",
                                                      tag_id=tag_id, clientmsgid=row.clientmsgid)
        except WechatError as exc:
            if exc.code == 45065 and exc.body.get("msg_id"):
                body, note = exc.body, "（此前的群发已生效，微信返回 45065，未重复群发）"
            elif exc.code == 45028:
                return await self._to_publish_only(row, "微信返回 45028，群发额度已用完")
            elif exc.code == 40007:
                return await self.save(row, status="stale", draft_media_id="", pushed_at=None)
            else:
                await self.save(row, status="drafted", pushed_at=None)
                return outcomes.for_error(exc, self.ch.clock.now(), "群发", receipt(row))
        except WechatTransportError as exc:
            if not exc.reached:
                await self.save(row, status="drafted", pushed_at=None)
            return outcomes.for_transport(exc, "群发", intent_recorded=True, receipt=receipt(row))
        msg_id = str(body["msg_id"])
        await self.save(row, status="submitted", msg_id=msg_id,
                        detail=(row.detail + note) if note else row.detail)
        return Result(Outcome.SUBMITTED, f"已提交{target.label}（msg_id {msg_id}）{note}，等待群发结果",
                      receipt(row), retry_after=self.ch.settings.poll_seconds)

    # ------------------------------------------------------------------ 3. an unrecorded answer
    async def _recover(self, job: Job, row: WechatPublication) -> WechatPublication | Result:
        if row.mode == "push":
            if row.pushed_at is not None and self.ch.clock.now() - _aware(row.pushed_at) >= DEDUPE_WINDOW:
                return Result(Outcome.UNKNOWN, "群发调用已过去 24 小时仍无结果记录，微信的 clientmsgid 已不再防止重复群发，"
                              "为免重复推送不再自动重发（修正：在公众平台的发表记录中核对是否已群发）", receipt(row))
            target = push.parse({"push": row.target})
            tag_id = None
            if target.kind == "tag":
                try:
                    tags = await self.ch.api.tags()
                except (WechatError, WechatTransportError) as exc:
                    return Result(Outcome.UNKNOWN, f"核对群发时查询标签失败：{exc}", receipt(row))
                tag_id = next((t["id"] for t in tags if t.get("name") == target.tag), None)
            return await self._sendall(row, target, tag_id)  # same clientmsgid: 45065 if it was sent
        try:
            if await self.ch.api.draft_exists(row.draft_media_id):
                return await self._freepublish(row)  # still a draft: it was never published
            found = await self._find_published(row)
        except WechatError as exc:
            return outcomes.for_error(exc, self.ch.clock.now(), "核对微信发布", receipt(row))
        except WechatTransportError as exc:
            return Result(Outcome.UNKNOWN, f"核对微信发布：{exc}", receipt(row))
        if found is None:
            return Result(Outcome.UNKNOWN, "已提交发布但微信尚无结果（可能仍在发布中），稍后再核对", receipt(row),
                          retry_after=self.ch.settings.poll_seconds)
        article_id, urls = found
        return await self.save(row, status="published", article_id=article_id, urls=urls,
                               detail="发布结果由核对已发布列表确认")

    async def _find_published(self, row: WechatPublication) -> tuple[str, list[str]] | None:
        """The publication whose articles link to exactly this release's pages."""
        wanted = list(row.source_urls or [])
        for offset in range(0, 100, 20):
            page = await self.ch.api.publish_batchget(offset)
            for entry in page.get("item", []):
                news = entry.get("content", {}).get("news_item", [])
                if [n.get("content_source_url") for n in news] == wanted:
                    return str(entry["article_id"]), [n.get("url", "") for n in news]
            if offset + 20 >= int(page.get("total_count", 0)):
                break
        return None

    # ------------------------------------------------------------------ 4. waiting for the result
    async def _poll(self, row: WechatPublication) -> WechatPublication | Result:
        waiting = Result(Outcome.SUBMITTED, "等待微信发布结果", receipt(row), retry_after=self.ch.settings.poll_seconds)
        try:
            if row.mode == "push":
                info = await self.ch.api.mass_get(row.msg_id)
                return await self.apply_mass_status(row, str(info.get("msg_status", ""))) or waiting
            info = await self.ch.api.publish_get(row.publish_id)
        except WechatError as exc:
            return outcomes.for_error(exc, self.ch.clock.now(), "查询发布状态", receipt(row))
        except WechatTransportError as exc:
            return Result(Outcome.SUBMITTED, f"查询发布状态：{exc}，稍后再查", receipt(row),
                          retry_after=self.ch.settings.poll_seconds)
        return await self.apply_publish_status(row, info) or waiting

    async def apply_publish_status(self, row: WechatPublication, info: dict[str, Any]) -> WechatPublication | None:
        """Record a freepublish result (from a poll or the PUBLISHJOBFINISH event); None while
        it is still being published."""
        status = int(info.get("publish_status", 1))
        if status == 1:
            return None
        if status == 0:
            detail = info.get("article_detail") or {}
            items = sorted(detail.get("item") or [], key=lambda i: int(i.get("idx", 0)))
            return await self.save(row, status="published", article_id=str(info.get("article_id", "")),
                                   urls=[str(i.get("article_url", "")) for i in items])
        reason = outcomes.PUBLISH_STATUS.get(status, f"状态 {status}")
        fails = [int(i) for i in info.get("fail_idx") or []]
        which = "、".join(f"第 {i} 篇（稿件 {row.items[i - 1]}）" for i in fails if 0 < i <= len(row.items))
        return await self.save(row, status="failed",
                               detail=f"微信发布失败：{reason}" + (f"，出问题的是{which}" if which else "")
                               + "（修正：在公众平台查看原因，修改稿件后更正并重新发布）")

    async def apply_mass_status(self, row: WechatPublication, status: str, urls: list[str] | None = None,
                                reason: str = "") -> WechatPublication | None:
        if status in ("SENDING", ""):
            return None
        if status == "SEND_SUCCESS":
            return await self.save(row, status="published", urls=list(urls or row.urls or []))
        what = "群发已被删除" if status == "DELETE" else f"群发失败（{reason or status}）"
        return await self.save(row, status="failed", detail=f"微信{what}（修正：在公众平台查看原因）")


class ContentTooLong(Exception):
    pass


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
