"""Chinese names for the codes the store keeps (states, purposes, outcomes, audit actions), for
every line a person reads. ``--json`` keeps the codes themselves."""
from __future__ import annotations

from collections.abc import Mapping

from bot.outbox import DELIVERY_LABELS
from channels import catalogue
from content.kinds import STATE_LABELS, kind_label
from schedules.releases import RELEASE_LABELS

PURPOSE_LABELS = {"publish": "发布", "correct": "更正", "retract": "撤回"}

#: outcome of one delivery attempt (channels.base.Outcome)
OUTCOME_LABELS = {"sent": "已送达", "submitted": "已提交待确认", "retry": "未送达，将重试",
                  "failed": "失败", "unknown": "结果未知", "paused": "渠道暂停"}

REVISION_LABELS = {"draft": "草稿", "submitted": "待审核", "returned": "已退回", "approved": "已审核",
                   "published": "已发布", "superseded": "已被新版本取代"}

CHECK_LABELS = {"negative_list": "负面清单", "sensitive_word": "敏感词", "id_card": "身份证号",
                "mobile": "手机号", "metadata": "必填项", "accessibility": "无障碍"}

LINK_LABELS = {"interprets": "解读", "follows": "后续"}

AUDIT_LABELS = {
    "created": "新建", "edited": "修改", "submitted": "提交审核", "approved": "审核通过",
    "returned": "退回", "scheduled": "排期", "rescheduled": "改期", "cancelled": "取消发布计划",
    "held": "暂停发布计划", "split": "拆分发布计划",
    "released_publish": "发布", "released_correct": "发布更正", "released_retract": "发布撤回",
    "correction_written": "写更正", "retracted": "撤回", "delivery_resolved": "人工确认投递结果",
    "authorize": "渠道授权",
    "sms_subscribed": "短信订阅", "sms_unsubscribed": "短信退订", "sms_subscriber_removed": "移除短信订阅者",
    "sms_subscribers_imported": "导入短信订阅者",
    "wechat_follow": "微信关注", "wechat_unfollow": "微信取消关注",
    "wechat_topic_subscribe": "微信订阅主题", "wechat_topic_unsubscribe": "微信退订主题",
    "account_added": "新建账号", "account_disabled": "停用账号", "account_enabled": "启用账号",
    "account_password_changed": "修改密码", "account_roles_changed": "修改角色", "account_token_issued": "签发个人令牌",
    "review_step": "完成审核步骤", "retract_step": "完成撤回审核步骤", "retract_requested": "申请撤回",
    "retract_approved": "批准撤回", "retract_rejected": "驳回撤回申请",
    "console_login": "登录工作台", "console_login_failed": "登录失败", "console_logout": "退出工作台",
    "audit_exported": "导出审计日志",
}


def label(names: Mapping[str, str], code: str | None) -> str:
    """The Chinese name of ``code``; an unknown code is shown as it is rather than hidden."""
    if code is None:
        return ""
    return names.get(code, code)


def release_state(code: str) -> str:
    return label(RELEASE_LABELS, code)


def delivery_state(code: str) -> str:
    return label(DELIVERY_LABELS, code)


def item_state(code: str) -> str:
    return label({k.value: v for k, v in STATE_LABELS.items()}, code)


def purpose(code: str) -> str:
    return label(PURPOSE_LABELS, code)


def outcome(code: str | None) -> str:
    return label(OUTCOME_LABELS, code) if code else "进行中"


def revision_status(code: str) -> str:
    return label(REVISION_LABELS, code)


def audit_action(code: str) -> str:
    return label(AUDIT_LABELS, code)


def kind(code: str) -> str:
    return kind_label(code)


def channel(name: str) -> str:
    """The channel's Chinese name, as its package declares it (no adapter is imported)."""
    return catalogue.label(name)


def channels(names: list[str]) -> str:
    return "、".join(channel(n) for n in names)


def check(code: str) -> str:
    return label(CHECK_LABELS, code)


def link(code: str) -> str:
    return label(LINK_LABELS, code)
