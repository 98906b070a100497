"""The follower's view of the emulated account (``/sandbox/wechat/``): published articles and
pushes as a follower sees them, the notifications sent, and a simulated follower who can follow,
unfollow and send messages to the account (the bot's callback answers). Plain HTML, no script."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import DictLoader, Environment

if TYPE_CHECKING:
    from channels.sandbox.wechat.app import WechatEmulator

STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#ededed;color:#222}
header{background:#2e2e2e;color:#fff;padding:12px 20px}header h1{font-size:18px;margin:0}
header p{margin:4px 0 0;font-size:13px;color:#bbb}main{max-width:720px;margin:0 auto;padding:12px}
section{background:#fff;border-radius:6px;margin:12px 0;padding:12px 16px}
h2{font-size:15px;color:#576b95;margin:4px 0 10px}.msg{border-top:1px solid #eee;padding:10px 0}
.msg:first-of-type{border-top:0}.time{color:#999;font-size:12px}.badge{font-size:12px;
border-radius:3px;padding:1px 5px;margin-left:6px;background:#07c160;color:#fff}
.badge.gray{background:#aaa}.badge.red{background:#fa5151}.art{display:flex;gap:10px;margin:6px 0}
.art img{width:96px;height:41px;object-fit:cover;background:#ddd}.art a{color:#222;text-decoration:none;font-weight:600}
.digest{color:#666;font-size:13px;margin:2px 0}.deleted{color:#999;font-style:italic}
article{background:#fff;padding:20px}article h1{font-size:22px}.meta{color:#999;font-size:14px}
.content img{max-width:100%}.source{margin-top:24px;font-size:14px}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:4px}form{display:inline-block;margin:4px 8px 4px 0}
.chat{font-size:14px}.chat .me{color:#07c160}.chat .bot{margin-left:16px}.note{font-size:12px;color:#999}
"""

INDEX = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ name }} · 微信公众号沙箱</title><style>{{ style|safe }}</style></head><body>
<header><h1>{{ name }}</h1><p>微信公众号沙箱：粉丝看到的消息 · 粉丝 {{ followers }} 人 ·
{{ account_type }}</p></header><main>
<section><h2>消息</h2>
{% for p in publications %}<div class="msg">
<div class="time">{{ p.time }}{% if p.pushed %}<span class="badge">群发推送 · 送达 {{ p.recipients }} 人</span>
{% elif p.preview %}<span class="badge gray">预览</span>{% else %}<span class="badge gray">发表（不推送）</span>{% endif %}
{% if p.failed %}<span class="badge red">{{ p.failed }}</span>{% endif %}</div>
{% for a in p.articles %}<div class="art">{% if a.deleted %}<div class="deleted">此内容已被发布者删除</div>{% else %}
{% if a.thumb %}<img src="{{ a.thumb }}" alt="">{% endif %}<div>
{% if a.url %}<a href="{{ a.url }}">{{ a.title }}</a>{% else %}<strong>{{ a.title }}</strong>{% endif %}
{% if loop.first and a.digest %}<p class="digest">{{ a.digest }}</p>{% endif %}</div>{% endif %}</div>
{% endfor %}{% if p.text %}<div class="art"><div>{{ p.text }}</div></div>{% endif %}</div>
{% else %}<p class="note">还没有发表或群发的文章。</p>{% endfor %}
</section>
<section><h2>模板消息与订阅通知（最近 {{ templates|length }} 条，共 {{ template_total }} 条）</h2>
{% for t in templates %}<div class="msg"><div class="time">{{ t.time }} → {{ t.touser }}
<span class="badge gray">{{ "订阅通知" if t.kind == "bizsend" else "模板消息" }}</span></div>
{% for k, v in t.data %}<div>{{ k }}：{{ v }}</div>{% endfor %}
{% if t.url %}<div><a href="{{ t.url }}">详情</a></div>{% endif %}</div>
{% else %}<p class="note">还没有通知。</p>{% endfor %}
</section>
<section id="chat"><h2>模拟粉丝</h2>
<form method="post" action="{{ base }}/follow"><button>新粉丝关注</button></form>
{% if last_openid %}
<form method="post" action="{{ base }}/say"><input type="hidden" name="openid" value="{{ last_openid }}">
<input name="text" placeholder="给公众号发消息，如：解读" required>
<button>发送</button></form>
<form method="post" action="{{ base }}/unfollow"><input type="hidden" name="openid" value="{{ last_openid }}">
<button>取消关注</button></form>
<p class="note">当前粉丝：{{ last_openid }}</p>{% endif %}
<div class="chat">{% for c in conversation %}<div class="msg">
<div class="me">{{ c.openid[:10] }}…：{{ c.said }}</div>
{% if c.error %}<div class="bot">（公众号服务器未正常回复：{{ c.status }} {{ c.error }}）</div>
{% elif c.reply.Content %}<div class="bot">公众号：{{ c.reply.Content }}</div>
{% elif c.reply.Articles %}<div class="bot">公众号：{% for a in c.reply.Articles %}
<div><a href="{{ a.Url }}">{{ a.Title }}</a> <span class="note">{{ a.Description }}</span></div>{% endfor %}</div>
{% else %}<div class="bot note">（无回复）</div>{% endif %}
{% if c.reply._encrypted %}<div class="bot note">回复已加密（安全模式）并通过校验</div>{% endif %}
</div>{% endfor %}</div>
</section></main></body></html>"""

ARTICLE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ a.title }}</title><style>{{ style|safe }}</style></head><body><main><article>
{% if deleted %}<p class="deleted">此内容已被发布者删除</p>{% else %}
<h1>{{ a.title }}</h1><p class="meta">{{ a.author or name }} · {{ name }} · {{ time }}</p>
<div class="content">{{ a.content|safe }}</div>
{% if a.content_source_url %}<p class="source"><a href="{{ a.content_source_url }}">阅读原文</a></p>{% endif %}
{% endif %}<p class="note"><a href="{{ base }}/">返回公众号</a></p></article></main></body></html>"""

ENV = Environment(loader=DictLoader({"index.html": INDEX, "article.html": ARTICLE}), autoescape=True)


def routes(emu: WechatEmulator) -> list[web.RouteDef]:
    base = urlsplit(emu.config.public_url).path.rstrip("/")

    def when(ts: float) -> str:
        return datetime.fromtimestamp(ts, emu.state.tz).strftime("%Y-%m-%d %H:%M")

    async def index(_request: web.Request) -> web.Response:
        state = emu.state
        pubs = []
        for p in sorted(state.publications.values(), key=lambda p: -p.at):
            failed = ""
            if p.kind == "publish" and p.status in (2, 3, 4):
                failed = {2: "原创校验失败", 3: "发表失败", 4: "审核未通过"}[p.status]
            elif p.kind == "mass" and p.mass_status == "SEND_FAIL":
                failed = f"群发失败（{p.fail_reason or 'send fail'}）"
            elif (p.status == 1 and p.kind == "publish") or p.mass_status == "SENDING":
                failed = "发表中"
            arts = [{"title": a["title"], "digest": a.get("digest", ""), "thumb": a.get("thumb_url", ""),
                     "url": p.url(base, i) if p.article_id else "", "deleted": i in p.deleted}
                    for i, a in enumerate(p.articles, 1)]
            pubs.append({"time": when(p.at), "pushed": p.kind == "mass" and not p.preview,
                         "preview": p.preview, "recipients": p.recipients, "failed": failed,
                         "articles": arts, "text": p.text})
        templates = [{"time": when(t["at"]), "touser": t["touser"], "kind": t["kind"], "url": t["url"],
                      "data": [(k, v.get("value", "")) for k, v in t["data"].items()]}
                     for t in reversed(list(state.templates)[-50:])]
        recent = [c["openid"] for c in reversed(emu.conversation)]
        recent += [r["openid"] for r in reversed(state.follow_log) if r["t"] == "follow"]  # kept on restart
        last = next((o for o in recent if state.followers.get(o) and state.followers[o].subscribed), "")
        html = ENV.get_template("index.html").render(
            style=STYLE, name=emu.config.account_name, base=base, publications=pubs,
            followers=sum(1 for f in state.followers.values() if f.subscribed),
            account_type="订阅号" if emu.config.account_type == "subscription" else "服务号",
            templates=templates, template_total=sum(state.template_counts.values()),
            conversation=list(reversed(emu.conversation)), last_openid=last)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def article(request: web.Request) -> web.Response:
        key = emu.state.by_article.get(request.match_info["article_id"])
        pub = emu.state.publications.get(key or "")
        idx = int(request.match_info["idx"])
        if pub is None or not 1 <= idx <= len(pub.articles):
            raise web.HTTPNotFound(text="文章不存在")
        html = ENV.get_template("article.html").render(
            style=STYLE, a=pub.articles[idx - 1], name=emu.config.account_name, base=base,
            time=when(pub.done_at or pub.at), deleted=idx in pub.deleted)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def image(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = emu.state.load_file(name) if "/" not in name and ".." not in name else None
        if data is None:
            raise web.HTTPNotFound()
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        return web.Response(body=data, content_type=kind, headers={"Cache-Control": "max-age=86400"})

    async def follow(_request: web.Request) -> web.Response:
        await emu.follow()
        raise web.HTTPSeeOther(f"{base}/#chat")

    async def say(request: web.Request) -> web.Response:
        form = await request.post()
        openid, text = str(form.get("openid", "")), str(form.get("text", "")).strip()[:600]
        if openid in emu.state.followers and text:
            await emu.say(openid, text)
        raise web.HTTPSeeOther(f"{base}/#chat")

    async def unfollow(request: web.Request) -> web.Response:
        openid = str((await request.post()).get("openid", ""))
        if openid in emu.state.followers:
            await emu.unfollow(openid)
        raise web.HTTPSeeOther(f"{base}/#chat")

    return [web.get("/", index), web.get("/s/{article_id}/{idx:\\d+}", article),
            web.get("/mmbiz/{name}", image), web.post("/follow", follow), web.post("/say", say),
            web.post("/unfollow", unfollow)]
