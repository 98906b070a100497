"""The emulator's HTML pages (Simplified Chinese): the sandbox account's timeline, the OAuth2
authorize page, the default landing page that shows the code, and OAuth error pages."""
from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from channels.sandbox.weibo import counting

if TYPE_CHECKING:
    from channels.sandbox.weibo.app import WeiboSandbox
    from channels.sandbox.weibo.state import SandboxConfig

BEIJING = ZoneInfo("Asia/Shanghai")
STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei",sans-serif;max-width:760px;margin:2em auto;padding:0 1em;
  color:#222;background:#f6f6f6}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
.box{background:#fff;border-radius:6px;padding:1em;margin:.8em 0;box-shadow:0 1px 2px #ccc}
.meta{color:#777;font-size:.85em}.text{white-space:pre-wrap;line-height:1.6}.warn{color:#b00}img{max-width:240px;display:block;margin-top:.5em}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left}
button{padding:.4em 1.2em;margin-right:.6em}code{background:#eee;padding:0 .3em}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _local(when: datetime) -> str:
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _linked(sandbox: WeiboSandbox, text: str) -> str:
    out, pos = [], 0
    for m in counting.URL.finditer(text):
        out.append(escape(text[pos:m.start()]))
        short = m.group(0)
        target = sandbox.state.long_url(short) or short
        out.append(f'<a href="{escape(target)}" title="{escape(target)}">{escape(short)}</a>')
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def timeline(sandbox: WeiboSandbox, now: datetime) -> str:
    cfg = sandbox.config
    state = sandbox.state
    posts = [s for s in reversed(state.statuses) if s.app_key == cfg.app_key]
    items = []
    for s in posts:
        pic = f'<img src="pic/{escape(s.pic)}" alt="配图">' if s.pic else ""
        items.append(f'<div class="box"><div class="meta">{escape(cfg.screen_name)} · {_local(s.created_at)} · '
                     f"来自 {escape(cfg.app_name)}</div><div class=\"text\">{_linked(sandbox, s.text)}</div>{pic}"
                     f'<div class="meta">微博编号 {s.idstr} · {s.chars} 字 · rip {escape(s.rip)}</div></div>')
    tokens = []
    for t in sorted(state.tokens.values(), key=lambda t: t.created_at, reverse=True)[:5]:
        status = "已撤销" if t.revoked else ("已过期" if t.expires_at <= now else "有效")
        cls = "" if status == "有效" else ' class="warn"'
        tokens.append(f"<tr><td><code>{escape(t.token[:8])}…</code></td><td>{_local(t.created_at)}</td>"
                      f"<td>{_local(t.expires_at)}</td><td{cls}>{status}</td></tr>")
    refusals = [f"<tr><td>{_local(r.at)}</td><td>{escape(r.request)}</td><td>{r.code}</td><td>{escape(r.message)}</td></tr>"
                for r in reversed(state.refusals[-20:])]
    used = state.used
    body = [
        "<h1>微博沙箱 · 账号时间线</h1>",
        ('<p class="meta">这是 gongkai 内置的微博开放平台模拟器（接口地址与 api.weibo.com 相同的路径，位于本页下的 '
         "<code>api/</code>），只用于测试和演练，内容不会发到真实微博。</p>"),
        (f'<div class="box">账号：<b>{escape(cfg.screen_name)}</b>（uid {escape(cfg.uid)}）　应用：{escape(cfg.app_name)}'
         f"（app_key {escape(cfg.app_key)}）<br>安全域名：{escape('、'.join(cfg.safe_domains) or '未设置')}<br>"
         f"本小时：发微博 {used('share', cfg.uid, now)}/{cfg.share_per_hour} 次，接口调用 "
         f"{used('user', cfg.uid, now)}/{cfg.user_per_hour} 次；重复内容判定窗口 "
         f"{int(cfg.duplicate_window.total_seconds() // 60)} 分钟；令牌有效期 "
         f"{cfg.token_lifetime.total_seconds() / 86400:g} 天</div>"),
        f"<h2>微博（{len(posts)} 条）</h2>",
        "".join(items) or '<p class="meta">还没有微博。</p>',
        "<h2>访问令牌</h2>",
        ("<table><tr><th>令牌</th><th>签发</th><th>到期</th><th>状态</th></tr>" + "".join(tokens) + "</table>")
        if tokens else '<p class="meta">尚未授权。</p>',
        ('<form method="post" action="drill/expire-token"><p><label>管理令牌 <input type="password" name="token" '
         'autocomplete="off"></label> <button type="submit">演练：让当前令牌立即过期</button>'
         '<span class="meta">之后机器人的微博投递会暂停，gongkai status 会提示重新授权。</span></p></form>'),
        "<h2>最近被拒绝的请求</h2>",
        ("<table><tr><th>时间</th><th>接口</th><th>错误码</th><th>说明</th></tr>" + "".join(refusals) + "</table>")
        if refusals else '<p class="meta">无。</p>',
    ]
    return _page("微博沙箱 · 时间线", "".join(body))


def authorize(config: SandboxConfig, params: dict[str, str], now: datetime) -> str:
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(params.get(k, ""))}">'
                     for k in ("client_id", "redirect_uri", "response_type", "state"))
    body = (f"<h1>微博授权（沙箱）</h1><div class=\"box\"><p>应用 <b>{escape(config.app_name)}</b> 请求访问你的微博账号：</p>"
            f"<p>账号：<b>{escape(config.screen_name)}</b>（uid {escape(config.uid)}，沙箱账号，无需密码）</p>"
            "<p>授权后该应用可以以此账号分享链接到微博、读取此账号发布的微博。</p>"
            f'<form method="post" action="authorize">{hidden}'
            '<button type="submit" name="action" value="authorize">授权</button>'
            '<button type="submit" name="action" value="cancel">取消</button></form></div>'
            f'<p class="meta">{_local(now)}</p>')
    return _page("微博授权（沙箱）", body)


def default(code: str, address: str) -> str:
    if not code:
        return _page("授权结果", "<h1>未获得授权码</h1><p>授权未完成或被取消。请重新运行 "
                     "<code>gongkai channel weibo authorize</code>。</p>")
    body = ("<h1>授权成功</h1><div class=\"box\"><p>授权码（code）：</p>"
            f"<p><code>{escape(code)}</code></p><p>请把本页地址或上面的授权码粘贴到 "
            "<code>gongkai channel weibo authorize</code> 的提示处（或作为 <code>--code</code> 的值）。"
            "授权码 10 分钟内有效，只能使用一次。</p>"
            f'<p class="meta">本页地址：{escape(address)}</p></div>')
    return _page("授权成功", body)


def oauth_error(code: int, name: str, message: str) -> str:
    return _page("授权出错", f"<h1>授权出错</h1><div class=\"box\"><p class=\"warn\">错误码 {code} {escape(name)}</p>"
                 f"<p>{escape(message)}</p></div>")

