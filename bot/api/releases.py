"""Releases and deliveries over the API: whom a release would reach, create (a release that
texts or pushes to people needs ``confirm: true``), queue into the next free posting slots, list,
show, reschedule, cancel, split a held bundle, and resolve a delivery. Every handler is one call
of :mod:`bot.ops.releases`, :mod:`bot.ops.queue` or :mod:`bot.ops.deliveries`."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.api.registry import Id

from bot.api.registry import Call
from bot.api.routes import API
from bot.confirm import describe
from bot.ops import deliveries as delivery_ops
from bot.ops import queue as queue_ops
from bot.ops import releases as ops

TAG = "发布计划"
Channel = str
CONFIRM = "true：已确认发送范围（会发短信或群发时必须）；未确认时答 409 confirmation_required 并说明将发给谁"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReleaseOut(_Out):
    id: int
    purpose: str
    state: str
    due_at: datetime
    channels: list[str]
    options: dict[str, Any]
    created_by: str
    fired_at: datetime | None
    hold_reason: str | None
    split_from: int | None


class ReachOut(_Out):
    channel: str
    people: int
    parts: int | None = Field(description="每人计费短信条数；不计费的渠道为 null")
    label: str
    sentence: str = Field(description="给人看的说明")


def _reach(found: tuple[Any, ...] | list[Any]) -> list[ReachOut]:
    return [ReachOut(channel=r.channel, people=r.people, parts=r.parts, label=r.label, sentence=describe(r))
            for r in found]


class ReachBody(_In):
    item_ids: list[Id] = Field(min_length=1, max_length=50, description="稿件编号（政策文件及其解读可一同发布）")
    channels: list[Channel] | None = Field(None, max_length=10, description="渠道，默认全部已启用的渠道")
    options: dict[str, str] = Field(default_factory=dict, max_length=20)


class ReachList(BaseModel):
    """发布将送达的人数（按渠道）"""

    reach: list[ReachOut]


class CreateBody(ReachBody):
    due_at: AwareDatetime = Field(description="发布时刻（带时区），如 2026-12-01T09:00:00+08:00")
    confirm: bool = Field(False, description=CONFIRM)
    allow_past: bool = Field(False, description="true：允许过去的时刻（立即发布）")


class Created(BaseModel):
    """已创建的发布计划"""

    release: ReleaseOut
    items: list[int]
    warnings: list[str]
    reach: list[ReachOut]


class QueueBody(ReachBody):
    confirm: bool = Field(False, description=CONFIRM)


class Placed(BaseModel):
    item: int
    release: ReleaseOut
    due_at: datetime
    skipped: list[str] = Field(description="跳过的时段及原因")
    warnings: list[str]


class QueuedOut(BaseModel):
    """排入的位置：每篇稿件所在的发布计划和时刻"""

    queued: list[Placed]


class ListQuery(BaseModel):
    state: Literal["pending", "held", "published", "cancelled"] | None = None
    limit: int = Field(50, ge=1, le=500)


class Listed(BaseModel):
    release: ReleaseOut
    items: list[int]


class ReleaseList(BaseModel):
    """发布计划（最近的在前）"""

    releases: list[Listed]


class ReleasePath(BaseModel):
    release_id: Id


class ShownItem(BaseModel):
    id: int
    kind: str
    state: str
    title: str


class Attempt(BaseModel):
    number: int
    worker: str
    started_at: datetime | None
    outcome: str | None
    detail: str = ""


class DeliveryOut(BaseModel):
    id: int
    channel: str
    state: str
    attempts: int
    receipt: dict[str, Any]
    progress: dict[str, Any]
    last_error: str | None
    next_attempt_at: datetime | None
    settled_at: datetime | None
    attempt_log: list[Attempt]


class ReleaseDetail(BaseModel):
    """一个发布计划：稿件、各渠道投递与尝试记录"""

    id: int
    purpose: str
    state: str
    due_at: datetime
    fired_at: datetime | None
    late_ms: int | None
    hold_reason: str | None
    channels: list[str]
    items: list[ShownItem]
    deliveries: list[DeliveryOut]
    draining: list[dict[str, Any]]


class RescheduleBody(_In):
    due_at: AwareDatetime = Field(description="新的发布时刻（带时区）")
    allow_past: bool = False


class CancelBody(_In):
    reason: str = Field("", max_length=1000)


class SplitBody(_In):
    confirm: bool = Field(False, description=CONFIRM)


class SplitOut(BaseModel):
    """拆分出的发布计划（已审核的稿件立即发布，其余继续暂停）"""

    release: ReleaseOut
    split_from: int
    told: list[str]
    reach: list[ReachOut]


class DeliveryPath(BaseModel):
    delivery_id: Id


class ResolveBody(_In):
    sent: bool | None = Field(None, description="结果未知的投递：true 已送达，false 未送达（将重新发送）")
    done: bool = Field(False, description="true：失败的投递已人工处理（须写 note）")
    note: str = Field("", max_length=1000)


class Resolved(_Out):
    """投递的新状态"""

    id: int
    state: str


@API.add("POST", "/releases/reach", op_id="release_reach", summary="发布将送达多少人（确认前查看）", tag=TAG,
         answer=ReachList, body=ReachBody, roles="任何账号")
async def reach(call: Call[Any, Any, ReachBody]) -> ReachList:
    b = call.body
    return ReachList(reach=_reach(await ops.reach(call.svc, call.who, b.item_ids, channels=b.channels, options=b.options)))


@API.add("POST", "/releases", op_id="release_create", summary="创建发布计划", tag=TAG, answer=Created, status=201,
         body=CreateBody, roles="审核签发")
async def create(call: Call[Any, Any, CreateBody]) -> Created:
    b = call.body
    done = await ops.create(call.svc, call.who, b.item_ids, due_at=b.due_at, channels=b.channels, options=b.options,
                            allow_past=b.allow_past, confirm=ops.confirmed if b.confirm else None)
    return Created(release=ReleaseOut.model_validate(done.release), items=list(done.items),
                   warnings=list(done.warnings), reach=_reach(done.reach))


@API.add("POST", "/releases/queue", op_id="release_queue", summary="把已审核的稿件排入各渠道下一个空闲的发布时段",
         tag=TAG, answer=QueuedOut, body=QueueBody, roles="审核签发")
async def queue(call: Call[Any, Any, QueueBody]) -> QueuedOut:
    b = call.body
    done = await queue_ops.queue(call.svc, call.who, b.item_ids, channels=b.channels, options=b.options,
                                 confirm=ops.confirmed if b.confirm else None)
    return QueuedOut(queued=[Placed(item=p.item_id, release=ReleaseOut.model_validate(p.release), due_at=p.due_at,
                                    skipped=list(p.skipped), warnings=list(p.warnings)) for p in done.placed])


@API.add("GET", "/releases", op_id="release_list", summary="发布计划列表", tag=TAG, answer=ReleaseList,
         query=ListQuery, roles="任何账号")
async def listing(call: Call[Any, ListQuery, None]) -> ReleaseList:
    found = await ops.listing(call.svc, call.who, state=call.query.state, limit=call.query.limit)
    return ReleaseList(releases=[Listed(release=ReleaseOut.model_validate(x.release), items=list(x.items))
                                 for x in found])


@API.add("GET", "/releases/{release_id}", op_id="release_show", summary="查看发布计划及其投递", tag=TAG,
         answer=ReleaseDetail, path_model=ReleasePath, roles="任何账号")
async def show(call: Call[ReleasePath, Any, None]) -> ReleaseDetail:
    return ReleaseDetail.model_validate((await ops.show(call.svc, call.who, call.path.release_id)).as_json())


@API.add("POST", "/releases/{release_id}/reschedule", op_id="release_reschedule", summary="改期", tag=TAG,
         answer=ReleaseOut, path_model=ReleasePath, body=RescheduleBody, roles="审核签发")
async def reschedule(call: Call[ReleasePath, Any, RescheduleBody]) -> ReleaseOut:
    b = call.body
    return ReleaseOut.model_validate(await ops.reschedule(call.svc, call.who, call.path.release_id, due_at=b.due_at,
                                                          allow_past=b.allow_past))


@API.add("POST", "/releases/{release_id}/cancel", op_id="release_cancel", summary="取消发布计划", tag=TAG,
         answer=ReleaseOut, path_model=ReleasePath, body=CancelBody, roles="审核签发")
async def cancel(call: Call[ReleasePath, Any, CancelBody]) -> ReleaseOut:
    return ReleaseOut.model_validate(await ops.cancel(call.svc, call.who, call.path.release_id, reason=call.body.reason))


@API.add("POST", "/releases/{release_id}/split", op_id="release_split", summary="拆分暂停的发布计划：已审核的稿件先发布",
         tag=TAG, answer=SplitOut, path_model=ReleasePath, body=SplitBody, roles="审核签发")
async def split(call: Call[ReleasePath, Any, SplitBody]) -> SplitOut:
    done = await ops.split(call.svc, call.who, call.path.release_id,
                           confirm=ops.confirmed if call.body.confirm else None)
    return SplitOut(release=ReleaseOut.model_validate(done.release), split_from=done.split_from, told=list(done.told),
                    reach=_reach(done.reach))


@API.add("POST", "/deliveries/{delivery_id}/resolve", op_id="delivery_resolve", summary="处理投递：确认结果或结案",
         tag="投递", answer=Resolved, path_model=DeliveryPath, body=ResolveBody, roles="审核签发")
async def resolve(call: Call[DeliveryPath, Any, ResolveBody]) -> Resolved:
    b = call.body
    return Resolved.model_validate(await delivery_ops.resolve(call.svc, call.who, call.path.delivery_id, sent=b.sent,
                                                              done=b.done, note=b.note))
