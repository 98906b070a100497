"""``gongkai channel wechat …``: the account's settings and quota, follower counts per day, and syncing
the follower list from WeChat (for followers who followed before the bot's callback existed)."""
from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager
from datetime import timedelta

import click
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from channels.extension import CliContext as Cli
from channels.extension import command
from channels.extension import emit, table
from channels.extension import Host as Service
from channels.wechat import push
from channels.wechat.errors import WechatError, WechatTransportError
from content.errors import GongkaiError
from content.models import AuditEvent, Subscriber


@click.group("wechat")
def wechat() -> None:
    """微信公众号：账号信息、群发额度、粉丝统计与同步。"""


def _channel(svc: Service):  # noqa: ANN202
    channel = svc.channels.get("wechat")
    if channel is None:
        raise GongkaiError("微信公众号渠道未启用", fix="在配置中设 [channels.wechat] enabled = true")
    return channel


@command(wechat, "info")
def info(cli: Cli) -> None:
    """账号、接口地址、回调地址、令牌有效期和群发额度。"""
    async def work(svc: Service):  # noqa: ANN202
        channel = _channel(svc)
        token = await channel.api.tokens.status()
        now = svc.clock.now()
        async with svc.store.sessions() as session:
            verdict = await push.judge(session, channel.settings, push.PushTarget("all"), now)
        return channel, token, verdict

    channel, token, verdict = cli.run(work)
    s = channel.settings
    data = {"sandbox": s.sandbox, "api_base": channel.api_base, "app_id": channel.creds.app_id,
            "original_id": channel.creds.original_id, "account_type": s.account_type,
            "callback_url": f"{cli.settings.base_url}/wechat/callback", "message_mode": s.message_mode,
            "token": token, "notify": s.notify if channel.creds.template_id else "off",
            "push_available": verdict.allowed, "push_notes": verdict.warnings or ([verdict.refusal] if verdict.refusal else [])}
    kind = "订阅号（每天 1 次群发）" if s.account_type == "subscription" else "服务号（每位粉丝每月 4 次群发）"
    lines = [f"模式：{'沙箱（模拟器 ' + channel.api_base + '）' if s.sandbox else '正式接口 ' + channel.api_base}",
             f"AppID：{channel.creds.app_id}    原始 ID：{channel.creds.original_id or '未设置'}",
             f"账号类型：{kind}",
             f"服务器地址（URL）：{data['callback_url']}    "
             f"消息加解密方式：{ {'safe': '安全模式', 'compatible': '兼容模式', 'plain': '明文模式'}[s.message_mode]}",
             f"access_token：{'有效期至 ' + token['expires_at'] if token else '尚未获取'}",
             f"主题通知：{ {'off': '关闭', 'template': '模板消息', 'subscribe': '订阅通知'}[data['notify']]}",
             f"现在群发给全部粉丝：{'可以' if verdict.allowed else '不可以'}"]
    lines += [f"  {n.split('（修正')[0]}" for n in data["push_notes"]]
    emit(cli.as_json, data, lines)


@command(wechat, "preview")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--to", "openid", required=True, help="接收预览的粉丝 openid（须已关注公众号）")
def preview(cli: Cli, item_ids: tuple[int, ...], openid: str) -> None:
    """把稿件（或政策+解读组合）作为图文预览发到一位粉丝的手机上，不占群发额度。"""
    async def work(svc: Service) -> str:
        from content.views import load_views

        channel = _channel(svc)
        async with svc.store.sessions() as session:
            items = tuple(await load_views(session, list(item_ids), revision="current"))
        if len(items) != len(item_ids):
            raise GongkaiError("有稿件不存在", fix="用 gongkai post list 查看稿件编号")
        async with _opened(channel):
            return await channel.publisher.preview(items, openid)

    msg_id = cli.run(work)
    emit(cli.as_json, {"msg_id": msg_id, "to": openid}, f"预览已发送给 {openid}（msg_id {msg_id}）。")


@asynccontextmanager
async def _opened(channel):  # noqa: ANN001, ANN202
    """The channel opened for one command; WeChat's errors become messages staff can act on."""
    await channel.open()
    try:
        yield channel
    except WechatError as exc:
        raise GongkaiError(exc.describe()) from None
    except WechatTransportError as exc:
        fix = ("沙箱模式下模拟器在 gongkai run 中：请先运行 gongkai run" if channel.settings.sandbox
               else "检查网络、IP 白名单和 base_url")
        raise GongkaiError(str(exc), fix=fix) from None
    finally:
        await channel.close()


@command(wechat, "followers")
@click.option("--days", type=int, default=14, help="统计最近多少天（默认 14）")
def followers(cli: Cli, days: int) -> None:
    """粉丝数和每天的关注、取消关注人数（来自回调记录）。"""
    async def work(svc: Service):  # noqa: ANN202
        _channel(svc)
        since = svc.clock.now() - timedelta(days=days)
        async with svc.store.sessions() as session:
            by_status = dict((await session.execute(select(Subscriber.status, func.count()).where(
                Subscriber.channel == "wechat").group_by(Subscriber.status))).all())
            events = list(await session.execute(select(AuditEvent.at, AuditEvent.action).where(
                AuditEvent.action.in_(["wechat_follow", "wechat_unfollow"]), AuditEvent.at >= since)))
        per_day: dict[str, Counter] = {}
        for at, action in events:
            day = svc.renderer.local(at, "%Y-%m-%d")
            per_day.setdefault(day, Counter())[action] += 1
        return by_status, per_day

    by_status, per_day = cli.run(work)
    rows = [{"date": day, "follow": c["wechat_follow"], "unfollow": c["wechat_unfollow"]}
            for day, c in sorted(per_day.items())]
    lines = [(f"粉丝：关注中 {by_status.get('active', 0)}，已取消关注 {by_status.get('unsubscribed', 0)}，"
              f"不活跃 {by_status.get('inactive', 0)}")]
    lines.append(table([[r["date"], str(r["follow"]), str(r["unfollow"])] for r in rows],
                       ["日期", "关注", "取消关注"]) if rows else f"最近 {days} 天没有关注或取消关注。")
    emit(cli.as_json, {"by_status": by_status, "per_day": rows}, lines)


@command(wechat, "sync-followers")
def sync_followers(cli: Cli) -> None:
    """从微信拉取粉丝列表（user/get，每页 1 万），补记本地没有的粉丝。"""
    async def work(svc: Service) -> dict:
        channel = _channel(svc)
        async with _opened(channel):
            return await _sync(svc, channel)

    result = cli.run(work)
    emit(cli.as_json, result, f"微信粉丝 {result['remote']} 人：新增 {result['added']}，"
                              f"恢复为关注中 {result['reactivated']}。")


async def _sync(svc: Service, channel) -> dict:  # noqa: ANN001
    next_openid, remote, added, reactivated = "", 0, 0, 0
    now = svc.clock.now()
    while True:
        page = await channel.api.user_get(next_openid)
        openids = list((page.get("data") or {}).get("openid") or [])
        remote += len(openids)
        if openids:
            async def store(session, ids=openids) -> tuple[int, int]:  # noqa: ANN001
                insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
                before = await session.scalar(select(func.count()).select_from(Subscriber).where(
                    Subscriber.channel == "wechat"))
                await session.execute(insert(Subscriber).on_conflict_do_nothing(
                    index_elements=["channel", "address"]), [
                    {"channel": "wechat", "address": o, "status": "active", "source": "wechat_sync",
                     "consent_method": "wechat_follow", "consent_from": "wechat", "consent_at": now,
                     "created_at": now, "updated_at": now, "meta": {}} for o in ids])
                after = await session.scalar(select(func.count()).select_from(Subscriber).where(
                    Subscriber.channel == "wechat"))
                back = await session.execute(update(Subscriber).where(
                    Subscriber.channel == "wechat", Subscriber.address.in_(ids),
                    Subscriber.status != "active").values(status="active", updated_at=now))
                return after - before, back.rowcount or 0

            new, back = await svc.store.transaction(store, what="sync wechat followers")
            added, reactivated = added + new, reactivated + back
        next_openid = str(page.get("next_openid") or "")
        if not next_openid or not openids:
            break
    return {"remote": remote, "added": added, "reactivated": reactivated}
