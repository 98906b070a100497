"""Obligations (the statutory deadlines and the cadences, R1…R11, C6): the list with each one's
warnings, and a waiver with a reason. Any role reads; an approver (审核签发) waives."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.ops import Role, Who, any_role, require
from content.cadence import DutyMessage, ObligationNotice
from content.errors import InputError
from content.models import Obligation
from schedules import cadence, duty_messages, notices
from schedules import obligations as ob

if TYPE_CHECKING:
    from bot.service import Service

__all__ = ["Listing", "Who", "check_filters", "listing", "waive"]


@dataclass(frozen=True)
class Listing:
    rows: tuple[Obligation, ...]
    names: Mapping[int, str] = field(default_factory=dict)  # cadence subject id → name
    notices: Mapping[int, tuple[ObligationNotice, ...]] = field(default_factory=dict)
    messages: Mapping[int, tuple[DutyMessage, ...]] = field(default_factory=dict)  # notice id → its duty messages

    def to_json(self) -> dict[str, Any]:
        return {"obligations": [
            {**ob.to_json(x), "subject_name": self.names.get(x.subject_id) if x.subject_type != "item" else None,
             "indicator": cadence.indicator(x),
             "notices": [notices.notice_json(n, self.messages.get(n.id, ())) for n in self.notices.get(x.id, ())]}
            for x in self.rows]}


def check_filters(state: str | None, rule: str | None) -> None:
    if state and state not in set(ob.State):
        raise InputError(f"未知状态“{state}”", field="state",
                         fix="可用：" + "、".join(s.value for s in ob.State))
    if rule and rule.upper() not in ob.RULE_LABELS:
        raise InputError(f"未知规则“{rule}”", field="rule", fix="可用：" + "、".join(ob.RULE_LABELS))


async def listing(svc: Service, who: Who, *, state: str | None = None, rule: str | None = None,
                  department: str | None = None) -> Listing:
    """Every stored obligation (evaluated first, so the list is current without a running
    ticker), with the warnings recorded for each."""
    any_role(who)
    check_filters(state, rule)
    await svc.evaluate_obligations()
    async with svc.store.sessions() as s:
        rows = [r for r in await ob.listing(s, state=state, rule=rule)
                if not department or r.department == department]
        names = await cadence.subject_names(s, rows)
        told = await notices.of_obligations(s, [r.id for r in rows])
        sent = await duty_messages.of_notices(s, [n.id for ns in told.values() for n in ns])
    return Listing(tuple(rows), names, {k: tuple(v) for k, v in told.items()},
                   {k: tuple(v) for k, v in sent.items()})


async def waive(svc: Service, who: Who, obligation_id: int, *, reason: str) -> Obligation:
    """Waive an open or missed obligation, with a reason, audited under the account."""
    require(who, Role.APPROVER, Role.ADMIN, action="豁免时限义务")
    return await svc.store.transaction(lambda s: ob.waive(
        s, obligation_id, reason=reason, actor=who.login, now=svc.clock.now()), what="waive obligation")
