"""In sandbox mode the bot runs its own WeChat emulator at ``/sandbox/wechat/``: the API the
channel calls (``/sandbox/wechat/api/cgi-bin/...``), the follower's view of what was published
(``/sandbox/wechat/``), and events posted back to ``/wechat/callback``. The account's
credentials are the ones the bot generated for the sandbox; what the emulator received is kept
under ``<data_dir>/sandbox/wechat/`` and survives a restart."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.sandbox.wechat import EmulatorConfig, WechatEmulator

MOUNT = "/sandbox/wechat"
EMULATOR_KEY = web.AppKey("wechat_sandbox", WechatEmulator)


def emulator_for(service: Any) -> WechatEmulator | None:
    settings = service.settings.channels.wechat
    channel = service.channels.get("wechat")
    if channel is None or not settings.sandbox or settings.base_url:
        return None
    creds = channel.creds
    config = EmulatorConfig(
        app_id=creds.app_id, app_secret=creds.app_secret, token=creds.token,
        encoding_aes_key=creds.encoding_aes_key, original_id=creds.original_id,
        account_type=settings.account_type, template_ids=frozenset({creds.template_id, creds.duty_template_id}),
        callback_url=f"{service.settings.local_url}/wechat/callback",
        public_url=f"{service.settings.base_url}{MOUNT}",
        publish_delay=settings.sandbox_publish_delay_seconds,
        mass_per_day=settings.push_quota_per_day,
        mass_to_all_per_month=settings.push_quota_per_month,
        per_follower_per_month=settings.push_quota_per_month,
    )
    return WechatEmulator(config, service.settings.data_path / "sandbox" / "wechat", now=service.clock.now)


def install(app: web.Application, service: Any) -> None:
    emulator = emulator_for(service)
    if emulator is None:
        return

    async def slash(_request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"{MOUNT}/")

    app[EMULATOR_KEY] = emulator
    app.router.add_get(MOUNT, slash)
    app.add_subapp(MOUNT, emulator.app())
