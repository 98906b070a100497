"""First-run sample: on an empty store, a policy document and its interpretation (written for the
project) are added by the sample author, taken through the review chain by the sample reviewer
(保密审查) and the sample approver (审核签发), and scheduled as one bundle a minute ahead, so a
newcomer watches a bundle release happen. Turn off with ``[bot] load_sample = false``.

The three sample people are accounts. In demo mode they are made at ``gongkai run`` start with
the demo password (:data:`DEMO_PASSWORD`, shown on the console's login page), so a newcomer can
sign in as each of them; otherwise they have no password and cannot sign in."""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from content import accounts, frontmatter, review_chain, workflow
from content.accounts import DEMO_PASSWORD, Role
from content.models import Item, Setting
from schedules import releases

log = logging.getLogger("gongkai.sample")
SAMPLE_DIR = Path(__file__).with_name("sample")
AUTHOR = "示例撰稿人"
REVIEWER = "示例审核人"
APPROVER = "示例签发人"
PEOPLE = ((AUTHOR, AUTHOR, Role.AUTHOR), (REVIEWER, REVIEWER, Role.REVIEWER), (APPROVER, APPROVER, Role.APPROVER))
FLAG = "sample_loaded"

__all__ = ["APPROVER", "AUTHOR", "DEMO_PASSWORD", "PEOPLE", "REVIEWER", "ensure_people", "load_if_empty"]


async def ensure_people(service, *, demo: bool) -> list[accounts.AccountView]:  # noqa: ANN001
    """The sample author, reviewer and approver, with the demo password in demo mode."""
    return await service.store.transaction(lambda s: accounts.ensure_people(
        s, PEOPLE, password=DEMO_PASSWORD if demo else None, now=service.clock.now()),
        what="sample people")


async def load_if_empty(service, lead: timedelta = timedelta(minutes=1)) -> int | None:  # noqa: ANN001
    """Returns the sample release's id, or None when the store already had content."""
    policy = frontmatter.load(SAMPLE_DIR / "policy.md")
    interpretation_file = SAMPLE_DIR / "interpretation.md"
    now = service.clock.now()
    chains = service.chains

    async def txn(s):  # noqa: ANN001, ANN202
        if await s.get(Setting, FLAG) is not None or await s.scalar(select(func.count(Item.id))):
            return None
        people = {a.login: a for a in await accounts.ensure_people(
            s, PEOPLE, password=DEMO_PASSWORD if service.settings.bot.demo else None, now=now)}
        p = await workflow.add_item(s, policy, actor=AUTHOR, now=now, files=service.files)
        await s.flush()
        i = await workflow.add_item(s, frontmatter.load(interpretation_file), actor=AUTHOR, now=now,
                                    files=service.files)
        for item in (p, i):
            await workflow.submit(s, item.id, actor=AUTHOR, now=now, rules=service.rules, files=service.files)
            state = await review_chain.item_state(s, item.id, chains)
            while state.next is not None:
                taker = people[APPROVER] if state.next.role is Role.APPROVER else people[REVIEWER]
                state = (await review_chain.take_step(
                    s, item.id, taker, chains=chains, now=now,
                    override_reason="示例内容（首次运行自动载入）")).state
        release = await releases.create(s, [p.id, i.id], due_at=now + lead,
                                        channels=service.enabled_channel_names(), actor=APPROVER, now=now)
        s.add(Setting(key=FLAG, value={"release": release.id}, updated_at=now))
        return release.id

    release_id = await service.store.transaction(txn, what="load sample")
    if release_id is not None:
        log.info("空库首次运行：已载入示例政策文件及其解读，组合发布计划 %s 将于 %s 发布",
                 release_id, service.renderer.local(now + lead, "%H:%M:%S"))
    return release_id
