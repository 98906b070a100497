"""Duty warnings by template message: an obligation about to be due, or missed, sent to a duty
contact's openid (``[[duty_contacts]] wechat_openid``) with the ``duty_template_id`` template,
its fields filled as ``duty_fields`` says. ``bot.duty`` hands each queued message here through
the channel's ``send_duty``; this module answers what happened, never raising for an answer of
WeChat's: an error retrying cannot fix (not a follower, a wrong openid or template, no
permission) is final, the others (busy, quota, network) are retried by ``bot.duty``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from channels.base import DutySent
from channels.wechat import notify_values
from channels.wechat.errors import WechatError, WechatTransportError

if TYPE_CHECKING:
    from channels.wechat.channel import WechatChannel

#: Each stage as a template field shows it (a ``phrase`` holds at most 5 Chinese characters).
STAGES = {"before": "提前提醒", "due_day": "当日到期", "missed": "已逾期"}
TEMPLATE_FIX = "请在公众平台“模板消息”中核对模板 ID，填入 [channels.wechat] duty_template_id"
#: WeChat's answers that a retry cannot change, with what to do about each.
FINAL = {
    40003: "值班联系人的 wechat_openid 不是本公众号粉丝的 OpenID：请核对 [[duty_contacts]] wechat_openid",
    40036: TEMPLATE_FIX,
    40037: TEMPLATE_FIX,
    43004: "值班联系人未关注公众号：请其关注后再提醒，或为其填写 [[duty_contacts]] sms 改用短信",
    47001: "请核对 [channels.wechat] duty_fields 与模板的字段",
    47003: "请核对 [channels.wechat] duty_fields 与模板的字段",
    48001: "模板消息只有已认证的服务号能发：请设 account_type = \"service\"，或改用短信",
}
NO_TEMPLATE = ("微信值班提醒未启用：未设置 [channels.wechat] duty_template_id（修正：在公众平台“模板消息”中"
               "选用工作提醒类模板，填入其模板 ID，或设环境变量 GONGKAI_CHANNELS__WECHAT__DUTY_TEMPLATE_ID）")


def template_data(fields: Mapping[str, str], values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The template's ``data``: each key of ``duty_fields`` with the value it names, fitted to
    the key's type. ``values`` are the notice's (schedules.notices.duty_params)."""
    shown = {"rule": values.get("rule", ""), "rule_label": values.get("rule_label", ""),
             "subject": values.get("subject", ""), "department": values.get("department", "") or "未填部门",
             "due": values.get("due_at", ""), "stage": STAGES.get(values.get("stage", ""), "")}
    return {key: {"value": notify_values.fit(key, shown.get(source) or "—")} for key, source in fields.items()}


async def send(channel: WechatChannel, openid: str, values: Mapping[str, str]) -> DutySent:
    template = channel.creds.duty_template_id
    if not template:
        return DutySent(error=NO_TEMPLATE, final=True)
    data = template_data(channel.settings.duty_fields, values)
    await channel.open()
    try:
        msgid = await channel.api.template_send(openid, template, data, values.get("url", ""))
    except WechatError as exc:
        fix = FINAL.get(exc.code)
        return DutySent(error=exc.describe() + (f"；{fix}" if fix else ""), final=fix is not None)
    except WechatTransportError as exc:
        return DutySent(error=str(exc))
    return DutySent(msgid)
