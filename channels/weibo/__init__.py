"""Weibo microblog channel: the adapter (``channel``), OAuth2 commands (``cli``) and the sandbox
emulator's mounting (``sandbox``)."""
from channels.extension import CliCommand, Extension, Panel

EXTENSION = Extension(
    name="weibo", label="微博", adapter="channels.weibo.channel",
    alerts=True,
    settings="channels.weibo.config:WeiboSettings",
    web=("channels.weibo.sandbox:install",),
    cli=(CliCommand("weibo", "channels.weibo.cli:weibo", "微博渠道：OAuth2 授权、令牌状态。",
                    parent="channel"),),
    panels=(Panel("status", "授权状态", "channels.weibo.panel:status"),),
)
