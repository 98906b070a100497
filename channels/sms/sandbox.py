"""The embedded SMS sandbox: both provider emulators mounted in the bot's own web app (at
/sandbox/aliyun-sms/api and /sandbox/tencent-sms/api), the handsets' phone-like view at
/sandbox/sms, and delivery reports and replies pushed back to the bot's own callbacks.

The emulators get only configuration from here (credentials the bot generated, the templates
and signatures staff configured, callback URLs); they share no code with the SMS channel."""
from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from channels.sandbox.aliyun_sms import AliyunOptions
from channels.sandbox.aliyun_sms import make_app as aliyun_app
from channels.sandbox.aliyun_sms.app import PUSHER_KEY as ALIYUN_PUSHER
from channels.sandbox.sms_center import SmsCenter, Template
from channels.sandbox.sms_center.view import install_view
from channels.sandbox.tencent_sms import TencentOptions
from channels.sandbox.tencent_sms import make_app as tencent_app
from channels.sandbox.tencent_sms.app import PUSHER_KEY as TENCENT_PUSHER
from channels.sms.config import SmsSettings, SmsTemplate

CENTER_KEY = web.AppKey("sms_sandbox_center", SmsCenter)
CENTER_FILE = Path("sandbox") / "sms.sqlite3"


def _tencent_text(template: SmsTemplate) -> str:
    """Tencent numbers its variables ({1}, {2}…) in the order the parameters are given."""
    order = {name: n for n, name in enumerate(template.params, start=1)}
    return re.sub(r"\$\{(\w+)\}", lambda m: "{%d}" % order.get(m.group(1), 0), template.text)


def approved_templates(settings: SmsSettings) -> dict[str, dict[str, Template]]:
    """What each sandbox account has "approved": the configured templates, under the code each
    provider knows them by."""
    approved: dict[str, dict[str, Template]] = {"aliyun": {}, "tencent": {}}
    pairs = [(t, "notice") for t in settings.templates.values()] + [(settings.code_template, "code"),
                                                                    (settings.duty_template, "notice")]
    for template, kind in pairs:
        for provider, code in ((settings.provider, template.code),
                               (settings.failover.provider, template.failover_code)):
            if provider and code:
                text = template.text if provider == "aliyun" else _tencent_text(template)
                approved[provider][code] = Template(kind, text)
    return approved


def callback_urls(local_url: str, token: str) -> dict[str, str]:
    base = f"{local_url}/sms/callback"
    return {"aliyun_report": f"{base}/aliyun/report/{token}", "aliyun_up": f"{base}/aliyun/up/{token}",
            "tencent_report": f"{base}/tencent/report/{token}", "tencent_reply": f"{base}/tencent/reply/{token}"}


def _accounts(settings: SmsSettings, keys) -> tuple[dict[str, dict[str, str]], set[str]]:  # noqa: ANN001
    """The sandbox accounts: the generated keys, plus any keys configured for sandbox use."""
    credentials = {"aliyun": {keys.aliyun_key_id: keys.aliyun_secret},
                   "tencent": {keys.tencent_secret_id: keys.tencent_secret_key}}
    apps = {keys.tencent_sdk_app_id}
    fo = settings.failover
    for provider, key_id, secret, app_id in ((settings.provider, settings.access_key_id, settings.access_key_secret,
                                              settings.sdk_app_id),
                                             (fo.provider, fo.access_key_id, fo.access_key_secret, fo.sdk_app_id)):
        if provider and key_id and secret:
            credentials[provider][key_id] = secret
        if provider == "tencent" and app_id:
            apps.add(app_id)
    return credentials, apps


def install(app: web.Application, service, channel) -> None:  # noqa: ANN001
    settings: SmsSettings = channel.settings
    keys = channel.keys
    center = SmsCenter(service.settings.data_path / CENTER_FILE,
                       report_delay=settings.sandbox_report_delay_ms / 1000)
    approved = approved_templates(settings)
    signs = {settings.sign_name, settings.failover.sign_name or settings.sign_name}
    urls = callback_urls(service.settings.local_url, channel.callback_token)
    latency = settings.sandbox_latency_ms / 1000
    credentials, apps = _accounts(settings, keys)
    aliyun = aliyun_app(center, AliyunOptions(
        credentials=credentials["aliyun"], signs=signs, templates=approved["aliyun"],
        report_url=urls["aliyun_report"], up_url=urls["aliyun_up"], latency=latency,
        param_max=settings.param_max_chars))
    tencent = tencent_app(center, TencentOptions(
        credentials=credentials["tencent"], apps=apps, signs=signs, templates=approved["tencent"],
        report_url=urls["tencent_report"], reply_url=urls["tencent_reply"], latency=latency,
        param_max=settings.param_max_chars))

    def wake() -> None:
        aliyun[ALIYUN_PUSHER].wake.set()
        tencent[TENCENT_PUSHER].wake.set()

    app.add_subapp("/sandbox/aliyun-sms/api", aliyun)
    app.add_subapp("/sandbox/tencent-sms/api", tencent)
    install_view(app, "/sandbox/sms", center, on_reply=wake)
    app[CENTER_KEY] = center

    async def close(_app: web.Application) -> None:
        center.close()

    app.on_cleanup.append(close)
