"""``gongkai channel weibo …``: authorise the bot to post as the government account, and show
the state of its access token."""
from __future__ import annotations

import click

from channels.extension import CliContext as Cli
from channels.extension import command
from channels.extension import emit
from channels.extension import Host as Service
from content.errors import GongkaiError


@click.group("weibo")
def weibo() -> None:
    """微博渠道：OAuth2 授权、令牌状态。"""


def _channel(svc: Service):
    channel = svc.channels.get("weibo")
    if channel is None:
        raise GongkaiError("微博渠道未启用", fix="在配置中设 [channels.weibo] enabled = true（沙箱模式无需密钥）")
    return channel


def _mode(svc: Service) -> str:
    weibo_settings = svc.settings.channels.weibo
    return "沙箱（gongkai run 内置的模拟器）" if weibo_settings.sandbox and not weibo_settings.base_url else \
        f"正式（{_channel(svc).api.base}）"


@command(weibo, "authorize")
@click.option("--code", "pasted", default=None,
              help="授权后浏览器跳转到的完整地址，或其中 code= 的值；不给则打印授权地址并提示粘贴")
def authorize(cli: Cli, pasted: str | None) -> None:
    """打印微博授权地址；用授权后得到的 code 换取访问令牌并保存（暂停的微博投递随即恢复）。"""
    if pasted is None:
        async def url_step(svc: Service) -> tuple[str, str]:
            return await _channel(svc).authorize_url(), _mode(svc)

        url, mode = cli.run(url_step)
        if cli.as_json:
            emit(True, {"authorize_url": url, "mode": mode,
                        "next": "gongkai channel weibo authorize --code '授权后跳转到的地址'"}, [])
            return
        click.echo(f"微博渠道：{mode}")
        click.echo("1. 用浏览器打开下面的地址，以政务微博账号登录并点击“授权”：")
        click.echo(f"   {url}")
        click.echo("2. 浏览器会跳转到授权回调页，地址中带有 code=…（授权码 10 分钟内有效，只能用一次）。")
        pasted = click.prompt("3. 把跳转后的完整地址（或 code 的值）粘贴到这里", prompt_suffix="：")

    async def exchange(svc: Service):
        channel = _channel(svc)
        try:
            token, resumed = await channel.complete_authorization(pasted)
            return token, resumed, await channel.alerts(), svc.renderer
        finally:
            await channel.close()

    token, resumed, alerts, r = cli.run(exchange)
    left = token.expires_at - token.obtained_at
    lines = [(f"授权成功：微博账号 uid {token.uid or '（未返回）'}，访问令牌有效期至 "
              f"{r.local(token.expires_at)}（{left.days} 天 {left.seconds // 3600} 小时）。"),
             f"已恢复 {resumed} 条暂停的微博投递（运行中的 gongkai run 将继续发送）。" if resumed
             else "没有暂停的微博投递。"]
    lines += [f"⚠ {a}" for a in alerts]
    emit(cli.as_json, {"uid": token.uid, "expires_at": token.expires_at, "obtained_at": token.obtained_at,
                       "resumed_deliveries": resumed, "alerts": alerts}, lines)


@command(weibo, "status")
def status(cli: Cli) -> None:
    """微博渠道状态：模式、安全域名、访问令牌有效期、暂停的投递与提醒。"""
    async def work(svc: Service):
        channel = _channel(svc)
        token = await channel.tokens.get()
        return (_mode(svc), channel.domain, token, await channel._paused_count(), await channel.alerts(),
                svc.clock.now(), svc.renderer)

    mode, domain, token, paused, alerts, now, r = cli.run(work)
    data = {"mode": mode, "safe_domain": domain, "paused_deliveries": paused, "alerts": alerts, "token": None}
    lines = [f"微博渠道：{mode}", f"安全域名：{domain or '未设置'}"]
    if token is None:
        lines.append("访问令牌：无（沙箱模式下首次投递时自动取得；正式环境请运行 gongkai channel weibo authorize）")
    else:
        problem = token.problem(now, r.local)
        data["token"] = {"uid": token.uid, "obtained_at": token.obtained_at, "expires_at": token.expires_at,
                         "source": token.source, "usable": token.usable(now), "problem": problem}
        lines.append(f"访问令牌：账号 uid {token.uid}，{r.local(token.obtained_at)} 取得，有效期至 "
                     f"{r.local(token.expires_at)}" + (f"；{problem}" if problem else "（可用）"))
    lines.append(f"暂停的微博投递：{paused} 条")
    lines += [f"⚠ {a}" for a in alerts]
    emit(cli.as_json, data, lines)
