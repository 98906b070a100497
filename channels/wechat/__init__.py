"""WeChat official account channel: articles (draft → freepublish), pushes (mass send) within
the account's quota, topic notifications (template / subscribe messages), retraction and
correction. The server callback is ``callback`` (its keyword replies ``replies``), the commands
``cli``, and ``sandbox`` mounts the emulator from ``channels.sandbox.wechat``."""
from channels.extension import CliCommand, Extension

EXTENSION = Extension(
    name="wechat", label="微信公众号", adapter="channels.wechat.channel",
    alerts=True,
    settings="channels.wechat.config:WechatSettings",
    web=("channels.wechat.callback:install", "channels.wechat.sandbox:install"),
    cli=(CliCommand("wechat", "channels.wechat.cli:wechat", "微信公众号：账号信息、粉丝、预览。",
                    parent="channel"),),
)
