"""Mounts the Weibo emulator at /sandbox/weibo/ (API under /sandbox/weibo/api/…) when the Weibo
channel is enabled in sandbox mode. The emulator is configured from the channel's settings —
the app it registers, the safe domain (default: the host of the site's base URL), the token
lifetime — and keeps its state under <data_dir>/sandbox/weibo/ so that tokens and posts survive
a restart."""
from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from channels.sandbox.weibo import SandboxConfig, WeiboSandbox

PREFIX = "/sandbox/weibo"
SANDBOX_KEY = web.AppKey("weibo_sandbox", WeiboSandbox)


def build(service) -> WeiboSandbox:
    settings = service.settings
    weibo = settings.channels.weibo
    key, secret = weibo.credentials()
    config = SandboxConfig(app_key=key, app_secret=secret,
                           safe_domains=(weibo.domain_for(settings.base_url),),
                           redirect_uris=(weibo.redirect_uri,) if weibo.redirect_uri else (),
                           token_lifetime=timedelta(days=weibo.sandbox_token_days),
                           state_dir=settings.data_path / "sandbox" / "weibo")
    return WeiboSandbox(config, clock=service.clock)


def install(app: web.Application, service) -> None:
    weibo = service.settings.channels.weibo
    if not (weibo.enabled and weibo.sandbox):
        return
    sandbox = build(service)
    app[SANDBOX_KEY] = sandbox

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPFound(PREFIX + "/")

    app.router.add_get(PREFIX, to_page)  # before the sub-application, which would answer 404
    app.add_subapp(PREFIX, sandbox.make_app())
