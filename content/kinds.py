"""Content kinds, their Chinese names, default columns and required metadata."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from content.errors import InputError


class Kind(StrEnum):
    POLICY = "policy"
    INTERPRETATION = "interpretation"
    DECISION = "decision"
    LIST_CHANGE = "list_change"
    EMERGENCY = "emergency"
    PRESS_CONFERENCE = "press_conference"
    SERVICE_GUIDE = "service_guide"
    NEWS = "news"


class ItemState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    CORRECTED = "corrected"
    RETRACTED = "retracted"


#: States in which an item is visible on the public site.
PUBLIC_STATES = (ItemState.PUBLISHED, ItemState.CORRECTED, ItemState.RETRACTED)

STATE_LABELS = {
    ItemState.DRAFT: "草稿",
    ItemState.SUBMITTED: "待审核",
    ItemState.RETURNED: "已退回",
    ItemState.APPROVED: "已审核",
    ItemState.SCHEDULED: "已排期",
    ItemState.PUBLISHED: "已发布",
    ItemState.CORRECTED: "已更正",
    ItemState.RETRACTED: "已撤回",
}


class RevisionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


#: Service-guide fields required by rule C4 (front matter key → Chinese label).
SERVICE_GUIDE_FIELDS = {
    "matter": "事项名称",
    "basis": "办事依据",
    "office": "受理单位",
    "process": "基本流程",
    "materials": "申请材料",
    "fees": "收费标准",
    "time_limit": "办理时限",
    "phone": "咨询电话",
}

#: Front matter that starts a statutory deadline (see schedules.obligations), with its label.
DEADLINE_FIELDS = {
    "meeting_date": "会议日期",
    "changed_on": "清单调整日期",
    "formed_on": "信息形成日期",
    "interpretation": "是否需要解读",
    "interpretation_reason": "不需要解读的理由",
}

METADATA_LABELS = {
    "title": "标题",
    "department": "发布部门",
    "index_no": "索引号",
    "doc_no": "文号",
    "issuer": "发文机关",
    "topic": "主题分类",
    "issued": "成文日期",
    "validity": "有效性",
    "interprets": "所解读的政策文件",
    **SERVICE_GUIDE_FIELDS,
}


@dataclass(frozen=True)
class KindInfo:
    label: str
    default_column: str
    required: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other Chinese names staff write for the kind


KINDS: dict[Kind, KindInfo] = {
    Kind.POLICY: KindInfo("政策文件", "政策文件", ("department", "index_no", "doc_no", "issuer", "issued")),
    Kind.INTERPRETATION: KindInfo("政策解读", "政策解读", ("department", "interprets")),
    Kind.DECISION: KindInfo("重大决策", "决策公开", ("department", "issuer", "issued"),
                            ("决策", "会议决定")),
    Kind.LIST_CHANGE: KindInfo("清单调整", "权责清单", ("department", "issued"), ("名单变更",)),
    Kind.EMERGENCY: KindInfo("突发事件信息", "突发事件", ("department",), ("突发事件",)),
    Kind.PRESS_CONFERENCE: KindInfo("新闻发布会", "新闻发布会", ("department", "issued")),
    Kind.SERVICE_GUIDE: KindInfo("办事指南", "办事指南", ("department", *SERVICE_GUIDE_FIELDS)),
    Kind.NEWS: KindInfo("工作动态", "工作动态", ("department",), ("新闻",)),
}

#: Every name a kind may be given by: its code, its label and its aliases.
KIND_NAMES: dict[str, Kind] = {
    **{name: kind for kind, info in KINDS.items() for name in (info.label, *info.aliases)},
    **{kind.value: kind for kind in Kind},
}


def parse_kind(value: object, *, field: str = "kind") -> Kind:
    """The kind ``value`` names, in English (``policy``) or Chinese (政策文件); an unknown name
    gets the nearest known one as a suggestion."""
    choices = "、".join(f"{k.value}（{KINDS[k].label}）" for k in Kind)
    if value is None or not str(value).strip():
        raise InputError("缺少稿件类型", field=field, fix=f"写明类型，可用：{choices}")
    text = str(value).strip()
    kind = KIND_NAMES.get(text) or KIND_NAMES.get(text.lower())
    if kind is not None:
        return kind
    near = difflib.get_close_matches(text.lower(), list(KIND_NAMES), n=1, cutoff=0.6)
    hint = f"，是不是要写 {near[0]}？" if near else ""
    raise InputError(f"未知稿件类型“{text}”{hint}", field=field, fix=f"可用：{choices}")


def kind_label(kind: str) -> str:
    try:
        return KINDS[Kind(kind)].label
    except ValueError:
        return kind
