"""The Weibo channel: each item of a release becomes one microblog posted through statuses/share
— the policy first, then each interpretation linking the policy's page.

A delivery records its progress after every post (``job.checkpoint``) and the intent before
every call, so that after a crash, a timeout or a lost response nothing is posted twice:

* a post whose outcome is unknown is looked for on the account's timeline
  (statuses/user_timeline); found → counted as posted, not found → posted (again);
* when the timeline cannot be read, the delivery waits in ``unknown`` for staff
  (``gongkai delivery resolve ID --sent|--not-sent``), which settles that one post and lets the
  rest of the bundle go out;
* 20019/20017/20111 (duplicate or similar content) are settled the same way, not failed;
* 10022/10023/10024/20016 (rate limits) and the bot's own ``max_posts_per_hour`` are a wait
  (``throttled``), never a failure: the delivery goes on where it stopped when the limit resets,
  so a long release drains over the hours it needs;
* 21327/21315/21332 and the other token errors pause the channel: the token is marked refused
  in the store, staff are alerted (``gongkai status`` and a log line), and deliveries wait until
  ``gongkai channel weibo authorize`` sets a new token, then resume where they stopped;
* 20012 (too long) fails with the length measured here.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select, update

from channels.base import (
    Capabilities,
    ChannelContext,
    Job,
    Outcome,
    Pace,
    Purpose,
    Rendition,
    Result,
)
from channels.registry import register
from channels.weibo import images
from channels.weibo.api import Picture, Status, Uncertain, Unreachable, WeiboApi
from channels.weibo.compose import Composer, Post
from channels.weibo.errors import Kind, WeiboError
from channels.weibo.oauth import (
    DEFAULT_REDIRECT,
    OFFICIAL_BASE,
    OAuthClient,
    OAuthError,
    code_from,
)
from channels.weibo.timeline import find
from channels.weibo.tokens import Token, TokenStore
from content.errors import InputError
from content.models import Delivery, ReleaseItem
from content.views import ItemView

log = logging.getLogger("gongkai.weibo")

AUTHORIZE = "gongkai channel weibo authorize"
TIMELINE_COUNT = 100


class Progress:
    """The delivery's ``progress`` JSON: posts made (in order), the post in flight, and a
    question put to staff."""

    def __init__(self, data: Mapping[str, Any] | None) -> None:
        data = dict(data or {})
        self.posts: list[dict[str, Any]] = list(data.get("posts") or [])
        self.inflight: dict[str, Any] | None = data.get("inflight")
        self.awaiting: dict[str, Any] | None = data.get("awaiting_operator")
        self.decision: str | None = data.get("operator_decision")

    def done(self, item_id: int) -> bool:
        return any(p["item"] == item_id for p in self.posts)

    def add(self, item_id: int, idstr: str, how: str, at: datetime) -> None:
        self.posts.append({"item": item_id, "idstr": idstr, "how": how, "at": at.isoformat()})
        if self.inflight and self.inflight.get("item") == item_id:
            self.inflight = None
        if self.awaiting and self.awaiting.get("item") == item_id and not self.decision:
            self.awaiting = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"posts": self.posts}
        if self.inflight:
            data["inflight"] = self.inflight
        if self.awaiting:
            data["awaiting_operator"] = self.awaiting
        if self.decision:
            data["operator_decision"] = self.decision
        return data


def _share_limit(info: Mapping[str, Any]) -> int | None:
    """statuses/share's hourly limit in an account/rate_limit_status answer."""
    for row in info.get("api_rate_limits") or []:
        if isinstance(row, dict) and str(row.get("api", "")).endswith("statuses/share"):
            try:
                return int(row["limit"]) or None
            except (KeyError, TypeError, ValueError):
                return None
    return None


@register("weibo")
class WeiboChannel:
    name: ClassVar[str]
    label: ClassVar[str] = "微博"
    capabilities: ClassVar[Capabilities] = Capabilities(
        idempotent=False, bundle_atomic=False, retract=False, correct=True, max_attempts=5)

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx
        self.settings = settings = ctx.settings
        base = settings.base_url or (ctx.sandbox_url("weibo") if settings.sandbox else OFFICIAL_BASE)
        self.api = WeiboApi(base, settings.request_timeout_seconds)
        key, secret = settings.credentials()
        redirect = settings.redirect_uri or (
            f"{self.api.base}/oauth2/default.html" if settings.sandbox else DEFAULT_REDIRECT)
        self.oauth = OAuthClient(self.api, key, secret, redirect)
        self.tokens = TokenStore(ctx.store)
        self.domain = settings.domain_for(ctx.site_url)
        self.composer = Composer(ctx.renderer, ctx.site_url, self.domain)
        self.files_dir = Path(ctx.data_dir).expanduser() / "files"
        self._grant_lock = asyncio.Lock()

    async def open(self) -> None:
        """Nothing to prepare: the HTTP session opens on first use."""

    async def close(self) -> None:
        await self.api.close()

    def _local(self, when: datetime | None) -> str:
        return self.ctx.renderer.local(when, "%Y-%m-%d %H:%M")

    # ------------------------------------------------------------------------------ preview
    def render(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[Rendition]:
        return [post.rendition(self.domain) for post in self.composer.posts(items, Purpose.PUBLISH)]

    async def precheck(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[str]:
        """Refuse a release whose microblog cannot be sent; warn about shortened texts and about
        a token that will not be usable."""
        warnings = []
        for post in self.composer.posts(items, Purpose.PUBLISH):
            if post.problems:
                raise InputError(f"微博：稿件 {post.item_id}（{post.label}）无法发送：{post.problems[0]}",
                                 field="weibo",
                                 fix="按提示修改后再排期，或用 --channels 指定不含 weibo 的渠道")
            if post.shortened:
                warnings.append(f"微博：稿件 {post.item_id} 的{'、'.join(post.notes)}，正文 {post.length}/{post.limit} 字"
                                f"（gongkai post preview {post.item_id} --channel weibo 查看）")
        warnings += await self.alerts()
        due = options.get("due_at")
        token = await self.tokens.get()
        if isinstance(due, datetime) and token is not None and token.usable(self.ctx.clock.now()) \
                and token.expires_at <= due:
            warnings.append(f"微博访问令牌将于 {self._local(token.expires_at)} 过期，早于发布时刻 {self._local(due)}："
                            f"届时微博投递将暂停，请提前运行 {AUTHORIZE}")
        return warnings

    async def alerts(self) -> list[str]:
        now = self.ctx.clock.now()
        token = await self.tokens.get()
        if token is None:
            return [] if self.settings.sandbox else [
                f"微博尚未授权，微博投递将暂停；修正：运行 {AUTHORIZE}"]
        problem = token.problem(now, self._local)
        if problem:
            waiting = await self._paused_count()
            return [(f"{problem}，微博渠道已暂停（{waiting} 条投递等待中，不会失败）；"
                     f"修正：运行 {AUTHORIZE} 重新授权，之后自动继续")]
        left = token.expires_at - now
        if left <= timedelta(days=self.settings.expiry_warning_days):
            days, hours = left.days, left.seconds // 3600
            return [(f"微博访问令牌将于 {self._local(token.expires_at)} 过期（还剩 {days} 天 {hours} 小时）；"
                     f"请在此之前运行 {AUTHORIZE} 重新授权，否则微博投递将暂停")]
        return []

    async def _paused_count(self) -> int:
        async with self.ctx.store.sessions() as session:
            rows = await session.scalars(select(Delivery.id).where(
                Delivery.channel == self.name, Delivery.state == "paused"))
            return len(list(rows))

    # ------------------------------------------------------------------------ authorisation
    async def authorize_url(self) -> str:
        state = await self.tokens.new_state(now=self.ctx.clock.now())
        return self.oauth.authorize_url(state)

    async def complete_authorization(self, pasted: str) -> tuple[Token, int]:
        """Exchange the code staff pasted (or the whole address) for a token, store it and wake
        the deliveries that were paused for want of one. Returns (token, deliveries resumed)."""
        try:
            code, state = code_from(pasted)
            if state is not None and not await self.tokens.state_matches(state, now=self.ctx.clock.now()):
                raise OAuthError("地址中的 state 与本次授权不符（或已超过 1 小时）",
                                 f"重新运行 {AUTHORIZE}，并粘贴由那次打印的地址授权后得到的地址")
            grant = await self.oauth.exchange(code)
        except OAuthError as exc:
            raise InputError(exc.message, fix=exc.fix) from exc
        now = self.ctx.clock.now()
        token = await self.tokens.save(grant.access_token, grant.uid, grant.expires_in, now=now)
        resumed = await self.resume_paused(now)
        log.info("微博已授权：账号 %s，令牌有效期至 %s；恢复 %d 条暂停的投递", grant.uid,
                 self._local(token.expires_at), resumed)
        return token, resumed

    async def resume_paused(self, now: datetime) -> int:
        """Make paused Weibo deliveries due now (the runner picks them up on its next round)."""
        async def txn(session) -> int:
            result = await session.execute(update(Delivery).where(
                Delivery.channel == self.name, Delivery.state == "paused").values(next_attempt_at=now))
            return result.rowcount or 0

        return await self.ctx.store.transaction(txn, what="resume weibo deliveries")

    async def _token(self) -> Token | Result:
        token = await self.tokens.get()
        if token is None and self.settings.sandbox:
            async with self._grant_lock:
                token = await self.tokens.get()
                if token is None:
                    try:
                        grant = await self.oauth.sandbox_grant()
                    except OAuthError as exc:
                        return Result(Outcome.RETRY, f"沙箱自动授权失败：{exc.message}；{exc.fix}")
                    token = await self.tokens.save(grant.access_token, grant.uid, grant.expires_in,
                                                   now=self.ctx.clock.now(), source="sandbox")
                    log.info("微博沙箱：已自动取得访问令牌（有效期至 %s）", self._local(token.expires_at))
        if token is None:
            return self._paused("微博尚未授权")
        problem = token.problem(self.ctx.clock.now(), self._local)
        return self._paused(problem) if problem else token

    def _paused(self, why: str, progress: Progress | None = None, soon: bool = False) -> Result:
        return Result(Outcome.PAUSED,
                      f"{why}；微博渠道暂停，投递等待新的访问令牌（不会失败）。修正：运行 {AUTHORIZE}",
                      progress=progress.to_json() if progress else None,
                      retry_after=5.0 if soon else self.settings.pause_recheck_seconds)

    async def _refused_token(self, token: Token, error: WeiboError, progress: Progress) -> Result:
        now = self.ctx.clock.now()
        news = await self.tokens.reject(token.access_token, error.code, error.message, now=now)
        if news:
            log.warning("微博拒绝了访问令牌（%s %s）：微博渠道暂停，投递等待重新授权；请运行 %s",
                        error.code, error.message, AUTHORIZE)
        current = await self.tokens.get()
        replaced = current is not None and current.access_token != token.access_token
        return self._paused(f"微博拒绝了访问令牌（{error.code} {error.message}）", progress, soon=replaced)

    # ----------------------------------------------------------------------------- delivery
    async def deliver(self, job: Job) -> Result:
        return await self._run(job)

    async def reconcile(self, job: Job) -> Result:
        """The same walk as :meth:`deliver`: the post in doubt is settled first (timeline, or
        staff's decision), posts already made are skipped, the rest are sent."""
        return await self._run(job)

    async def _run(self, job: Job) -> Result:
        if job.purpose is Purpose.RETRACT:
            return await self._retract(job)
        progress = Progress(job.progress)
        self._apply_decision(progress)
        posts = self.composer.posts(job.items, job.purpose)
        token = await self._token()
        if isinstance(token, Result):
            return Result(token.outcome, token.detail, progress=progress.to_json(), retry_after=token.retry_after)
        if progress.inflight:
            stop = await self._settle_inflight(job, token, progress, posts)
            if stop is not None:
                return stop
        if progress.awaiting:
            stop = await self._still_waiting(job, token, progress, posts)
            if stop is not None:
                return stop
        for post in posts:
            if progress.done(post.item_id):
                continue
            result = await self._post(job, token, post, progress, posts)
            if result is not None:
                return result
        return self._sent(job, progress, token)

    def _apply_decision(self, progress: Progress) -> None:
        """Staff answered the question about one post (``delivery resolve``)."""
        if progress.decision and progress.awaiting:
            item_id = progress.awaiting["item"]
            if progress.decision == "sent" and not progress.done(item_id):
                progress.add(item_id, str(progress.awaiting.get("idstr") or ""), "operator",
                             self.ctx.clock.now())
            if progress.inflight and progress.inflight.get("item") == item_id:
                progress.inflight = None
        if progress.decision:
            progress.decision = None
            progress.awaiting = None

    async def _still_waiting(self, job: Job, token: Token, progress: Progress, posts: list[Post]) -> Result | None:
        """A question is with staff: act on nothing until they answer, unless the post in
        question has meanwhile appeared on the timeline."""
        assert progress.awaiting is not None
        item_id = progress.awaiting["item"]
        post = next((p for p in posts if p.item_id == item_id), None)
        if post is None or progress.done(item_id):
            progress.awaiting = None
            return None
        statuses = await self._timeline(token)
        found = find(statuses, post.text) if isinstance(statuses, list) else None
        if found is None:
            return self._ask_staff(job, progress, posts, item_id, progress.awaiting.get("why") or "等待人工确认")
        progress.add(item_id, found.idstr, "timeline", self.ctx.clock.now())
        await self._checkpoint(job, progress)
        return None

    def _remaining(self, progress: Progress, posts: list[Post], item_id: int) -> int:
        return sum(1 for p in posts if p.item_id != item_id and not progress.done(p.item_id))

    def _ask_staff(self, job: Job, progress: Progress, posts: list[Post], item_id: int, why: str,
                   retry_after: float | None = None) -> Result:
        remaining = self._remaining(progress, posts, item_id)
        progress.awaiting = {"item": item_id, "remaining": remaining, "why": why}
        label = next((p.label for p in posts if p.item_id == item_id), f"稿件 {item_id}")
        rest = f"；确认后其余 {remaining} 条继续发送" if remaining else ""
        return Result(Outcome.UNKNOWN,
                      f"{why}。请登录微博账号核对“{label}”是否已发出：已发出则运行 gongkai delivery resolve "
                      f"{job.delivery_id} --sent，未发出则运行 gongkai delivery resolve {job.delivery_id} "
                      f"--not-sent（将重新发送）{rest}",
                      progress=progress.to_json(), retry_after=retry_after or 3600.0)

    async def _timeline(self, token: Token) -> list[Status] | WeiboError | str:
        """The account's latest posts, or the error, or why they cannot be read (str)."""
        if not self.settings.check_timeline:
            return "已关闭时间线核对（check_timeline = false）"
        try:
            return await self.api.user_timeline(token.access_token, TIMELINE_COUNT)
        except (Unreachable, Uncertain) as exc:
            return f"暂时无法读取微博时间线：{exc}"

    async def _settle_inflight(self, job: Job, token: Token, progress: Progress,
                               posts: list[Post]) -> Result | None:
        """Was the post in doubt made? None = settled (go on); a Result = stop here."""
        inflight = progress.inflight or {}
        item_id = int(inflight.get("item", 0))
        since = datetime.fromisoformat(inflight["at"]) if inflight.get("at") else None
        statuses = await self._timeline(token)
        if isinstance(statuses, str):
            if not self.settings.check_timeline:
                return self._ask_staff(job, progress, posts, item_id, f"稿件 {item_id} 的微博发送结果未知（{statuses}）")
            return Result(Outcome.UNKNOWN, f"稿件 {item_id} 的微博发送结果未知，{statuses}；稍后再核对",
                          progress=progress.to_json())
        if isinstance(statuses, WeiboError):
            if statuses.kind is Kind.TOKEN:
                return await self._refused_token(token, statuses, progress)
            if statuses.kind in (Kind.RATE, Kind.TRANSIENT, Kind.AMBIGUOUS):
                wait = (await self._rate_limit(token, statuses))[0] if statuses.kind is Kind.RATE else None
                return Result(Outcome.UNKNOWN, f"稿件 {item_id} 的微博发送结果未知；读取时间线时"
                              f"{statuses.describe()}，稍后再核对", progress=progress.to_json(), retry_after=wait)
            return self._ask_staff(job, progress, posts, item_id,
                                   f"稿件 {item_id} 的微博发送结果未知，且无法读取时间线（{statuses.describe()}）")
        found = find(statuses, str(inflight.get("text") or ""), since)
        if found is not None:
            progress.add(item_id, found.idstr, "timeline", self.ctx.clock.now())
            log.info("微博：稿件 %s 的微博已在时间线上找到（%s），不再重发", item_id, found.idstr)
        else:
            progress.inflight = None  # not on the timeline: it was not posted; post it below
            log.info("微博：稿件 %s 的微博不在时间线上，将发送", item_id)
        await self._checkpoint(job, progress)
        return None

    async def _checkpoint(self, job: Job, progress: Progress) -> None:
        if job.checkpoint is not None:
            await job.checkpoint(progress.to_json())

    async def _picture(self, post: Post) -> tuple[Picture | None, str]:
        if post.pic is None:
            return None, ""
        return await asyncio.to_thread(images.prepare, self.files_dir / post.pic.name, post.pic.filename)

    async def _post(self, job: Job, token: Token, post: Post, progress: Progress,
                    posts: list[Post]) -> Result | None:
        """Send one post. None = posted (go on); a Result = stop here."""
        if not post.ok:
            return Result(Outcome.FAILED, f"稿件 {post.item_id} 的微博无法发送：{'；'.join(post.problems)}",
                          progress=progress.to_json())
        wait = await self._own_ceiling()
        if wait is not None:
            limit = self.settings.max_posts_per_hour
            return Result(Outcome.THROTTLED, f"已达每小时最多 {limit} 条微博的设定（max_posts_per_hour），"
                          f"{wait / 60:.0f} 分钟后自动继续（还有 {self._left(progress, posts)} 条）",
                          progress=progress.to_json(), retry_after=wait,
                          pace=Pace(self._left(progress, posts), limit))
        pic, pic_note = await self._picture(post)
        if pic_note:
            log.info("微博：稿件 %s：%s", post.item_id, pic_note)
        now = self.ctx.clock.now()
        progress.inflight = {"item": post.item_id, "text": post.text, "at": now.isoformat(),
                             "attempt": job.attempt}
        await self._checkpoint(job, progress)  # intent, before the call
        try:
            answer = await self.api.share(token.access_token, post.text, self.settings.real_ip(), pic)
        except Unreachable as exc:
            progress.inflight = None
            return Result(Outcome.RETRY, f"稿件 {post.item_id}：{exc}", progress=progress.to_json())
        except Uncertain as exc:
            return Result(Outcome.UNKNOWN, f"稿件 {post.item_id} 的微博发送结果未知（{exc}）；稍后在时间线上核对，不会盲目重发",
                          progress=progress.to_json())
        if isinstance(answer, Status):
            progress.add(post.item_id, answer.idstr, "sent", self.ctx.clock.now())
            await self._checkpoint(job, progress)
            if self.settings.max_posts_per_hour:
                await self.tokens.note_post(now=self.ctx.clock.now(), keep=self.settings.max_posts_per_hour)
            return None
        return await self._refused(job, token, post, progress, posts, answer)

    async def _refused(self, job: Job, token: Token, post: Post, progress: Progress, posts: list[Post],
                       error: WeiboError) -> Result | None:
        kind = error.kind
        if kind is Kind.AMBIGUOUS:  # the server failed, perhaps after posting: settle it later
            return Result(Outcome.UNKNOWN, f"稿件 {post.item_id}：{error.describe()}，发送结果未知；稍后在时间线上核对",
                          progress=progress.to_json())
        progress.inflight = None  # Weibo answered with a refusal: this call posted nothing
        if kind is Kind.TOKEN:
            return await self._refused_token(token, error, progress)
        if kind is Kind.RATE:
            wait, per_hour = await self._rate_limit(token, error)
            left = self._left(progress, posts)
            return Result(Outcome.THROTTLED, f"稿件 {post.item_id}：{error.describe()}（频次超限），"
                          f"{wait / 60:.0f} 分钟后自动继续（还有 {left} 条）", progress=progress.to_json(),
                          retry_after=wait, pace=Pace(left, per_hour))
        if kind is Kind.TRANSIENT:
            return Result(Outcome.RETRY, f"稿件 {post.item_id}：{error.describe()}，稍后重试", progress=progress.to_json())
        if kind is Kind.DUPLICATE:
            return await self._duplicate(job, token, post, progress, posts, error)
        if kind is Kind.TOO_LONG:
            return Result(Outcome.FAILED, f"稿件 {post.item_id}：{error.describe()}：微博认为正文超过 {post.limit} 字；"
                          f"本地按微博规则计为 {post.length} 字（{len(post.text)} 个字符）。修正：{error.fix}",
                          progress=progress.to_json())
        fix = f"。修正：{error.fix}" if error.fix else ""
        return Result(Outcome.FAILED, f"稿件 {post.item_id}：{error.describe()}{fix}", progress=progress.to_json())

    async def _duplicate(self, job: Job, token: Token, post: Post, progress: Progress, posts: list[Post],
                         error: WeiboError) -> Result | None:
        """Weibo says this (or something like it) was just posted: find it rather than fail."""
        statuses = await self._timeline(token)
        if isinstance(statuses, list):
            found = find(statuses, post.text)
            if found is not None:
                progress.add(post.item_id, found.idstr, "duplicate", self.ctx.clock.now())
                await self._checkpoint(job, progress)
                log.info("微博：稿件 %s 被判重复（%s），时间线上已有该微博 %s，视为已发", post.item_id,
                         error.code, found.idstr)
                return None
            why = "且账号最近的微博中没有相同内容（可能是相似内容）"
        elif isinstance(statuses, WeiboError) and statuses.kind is Kind.TOKEN:
            return await self._refused_token(token, statuses, progress)
        else:
            why = f"且无法核对时间线（{statuses.describe() if isinstance(statuses, WeiboError) else statuses}）"
        return self._ask_staff(job, progress, posts, post.item_id,
                               f"微博判定稿件 {post.item_id} 内容重复（{error.describe()}），{why}")

    async def _rate_limit(self, token: Token, error: WeiboError) -> tuple[float, int | None]:
        """Seconds until the limit resets and the posts allowed per hour (None = not known):
        from account/rate_limit_status, else the next full hour."""
        if error.code == 20016:  # posting too fast: a short pause
            return 120.0, None
        try:
            info = await self.api.rate_limit_status(token.access_token)
        except (Unreachable, Uncertain):
            info = None
        if isinstance(info, dict):
            per_hour = _share_limit(info)
            try:
                seconds = float(info["reset_time_in_seconds"])
                if 0 < seconds <= 3600:
                    return seconds + 5.0, per_hour
            except (KeyError, TypeError, ValueError):
                pass
        now = self.ctx.clock.now()
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return (next_hour - now).total_seconds() + 30.0, None

    def _left(self, progress: Progress, posts: list[Post]) -> int:
        return sum(1 for p in posts if not progress.done(p.item_id))

    async def _own_ceiling(self) -> float | None:
        limit = self.settings.max_posts_per_hour
        if not limit:
            return None
        now = self.ctx.clock.now()
        recent = await self.tokens.recent_posts(now=now)
        if len(recent) < limit:
            return None
        return max((min(recent) + timedelta(hours=1) - now).total_seconds(), 1.0)

    def _sent(self, job: Job, progress: Progress, token: Token) -> Result:
        labels = {v.id: v.kind_label for v in job.items}
        how = {"sent": "", "timeline": "（核对时间线确认）", "duplicate": "（已存在）", "operator": "（人工确认）"}
        parts = [f"{labels.get(p['item'], '稿件')} {p['item']} → {p['idstr'] or '（编号未知）'}{how.get(p['how'], '')}"
                 for p in progress.posts]
        receipt = {"uid": token.uid, "posts": [{"item": p["item"], "idstr": p["idstr"]} for p in progress.posts]}
        return Result(Outcome.SENT, f"已发微博 {len(progress.posts)} 条：" + "；".join(parts),
                      receipt=receipt, progress=progress.to_json())

    # ----------------------------------------------------------------------------- retract
    async def _retract(self, job: Job) -> Result:
        """Weibo gives ordinary apps no way to delete a post (statuses/destroy is not granted):
        name the posts staff must delete by hand."""
        ids = [v.id for v in job.items]
        async with self.ctx.store.sessions() as session:
            rows = await session.scalars(select(Delivery).join(
                ReleaseItem, ReleaseItem.release_id == Delivery.release_id).where(
                ReleaseItem.item_id.in_(ids), Delivery.channel == self.name, Delivery.id != job.delivery_id))
            posted = []
            for d in rows:
                for p in (d.receipt or {}).get("posts", []) or (d.progress or {}).get("posts", []):
                    if p.get("item") in ids and p.get("idstr") and p not in posted:
                        posted.append(p)
        if not posted:
            return Result(Outcome.SENT, "该稿件未在微博发布过，无需撤回")
        listed = "、".join(f"稿件 {p['item']} 的微博 {p['idstr']}" for p in posted)
        return Result(Outcome.FAILED, f"微博开放接口不允许普通应用删除微博：请登录微博账号手动删除{listed}；"
                      f"删除后运行 gongkai delivery resolve {job.delivery_id} --done --note \"已人工删除微博\"",
                      receipt={"to_delete": posted})
