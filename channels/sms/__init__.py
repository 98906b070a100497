"""SMS pushes to subscribers (Aliyun, Tencent Cloud): the adapter (``channel``), the public
subscription pages and provider callbacks (``web``), the embedded emulators (``sandbox``) and the
staff commands for subscribers (``cli``) and the console page 订阅用户 (``console``), all over
``ops``."""
from channels.extension import CliCommand, Extension, Panel

EXTENSION = Extension(
    name="sms", label="短信", adapter="channels.sms.channel",
    alerts=True,
    settings="channels.sms.config:SmsSettings",
    web=("channels.sms.web:install",),
    panels=(Panel("subscribers", "订阅用户", "channels.sms.console:PAGES"),),
    cli=(CliCommand("subscribers", "channels.sms.cli:subscribers_group",
                    "短信订阅用户：查看、导入、导出、删除、发送报告、前台推送。"),),
)
