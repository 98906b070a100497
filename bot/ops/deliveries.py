"""Deliveries: a person settles one whose outcome is unknown (``sent`` true or false), or closes
a failed one handled by hand (``done`` with a note). Approvers do this."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import outbox
from bot.ops import Role, Who, require
from content.errors import InputError

if TYPE_CHECKING:
    from bot.service import Service


@dataclass(frozen=True)
class Resolved:
    id: int
    state: str


async def resolve(svc: Service, who: Who, delivery_id: int, *, sent: bool | None = None,
                  done: bool = False, note: str = "") -> Resolved:
    require(who, Role.APPROVER, action="处理投递")
    if done and sent is not None:
        raise InputError("--done 不能与 --sent/--not-sent 同时使用", field="done",
                         fix="结果未知的投递用 --sent 或 --not-sent；失败且已人工处理的用 --done --note")
    if sent is None and not done:
        raise InputError("请说明结果", field="sent", fix="加 --sent（已送达）或 --not-sent（未送达，将重新发送）；"
                                                      "失败且已人工处理的加 --done --note \"做了什么\"")
    now = svc.clock.now()
    if done:
        d = await svc.store.transaction(lambda s: outbox.close(
            s, delivery_id, actor=who.login, now=now, note=note), what="close delivery")
    else:
        assert sent is not None
        d = await svc.store.transaction(lambda s: outbox.resolve(
            s, delivery_id, sent=sent, actor=who.login, now=now, reason=note), what="resolve delivery")
    svc.wake()
    return Resolved(d.id, d.state)
