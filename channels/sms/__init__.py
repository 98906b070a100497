"""SMS pushes to subscribers (Aliyun, Tencent Cloud): the adapter (``channel``), the public
subscription pages and provider callbacks (``web``), the embedded emulators (``sandbox``) and the
staff commands for subscribers (``cli``)."""
from channels.extension import CliCommand, Extension

EXTENSION = Extension(
    name="sms", label="短信", adapter="channels.sms.channel",
    alerts=True,
    settings="channels.sms.config:SmsSettings",
    web=("channels.sms.web:install",),
    cli=(CliCommand("subscribers", "channels.sms.cli:subscribers_group",
                    "短信订阅用户：查看、导入、导出、删除、发送报告、前台推送。"),),
)
