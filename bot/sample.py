"""First-run sample: on an empty store, a policy document and its interpretation (written for the
project) are added, reviewed by a second person and scheduled as one bundle a minute ahead, so a
newcomer watches a bundle release happen. Turn off with ``[bot] load_sample = false``."""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from content import frontmatter, workflow
from content.models import Item, Setting
from schedules import releases

log = logging.getLogger("gongkai.sample")
SAMPLE_DIR = Path(__file__).with_name("sample")
AUTHOR = "示例撰稿人"
REVIEWER = "示例审核人"
FLAG = "sample_loaded"


async def load_if_empty(service, lead: timedelta = timedelta(minutes=1)) -> int | None:  # noqa: ANN001
    """Returns the sample release's id, or None when the store already had content."""
    policy = frontmatter.load(SAMPLE_DIR / "policy.md")
    interpretation_file = SAMPLE_DIR / "interpretation.md"
    now = service.clock.now()

    async def txn(s):  # noqa: ANN001, ANN202
        if await s.get(Setting, FLAG) is not None or await s.scalar(select(func.count(Item.id))):
            return None
        p = await workflow.add_item(s, policy, actor=AUTHOR, now=now, files=service.files)
        await s.flush()
        i = await workflow.add_item(s, frontmatter.load(interpretation_file), actor=AUTHOR, now=now,
                                    files=service.files)
        for item in (p, i):
            await workflow.submit(s, item.id, actor=AUTHOR, now=now, rules=service.rules, files=service.files)
            await workflow.approve(s, item.id, actor=REVIEWER, now=now,
                                   override_reason="示例内容（首次运行自动载入）")
        release = await releases.create(s, [p.id, i.id], due_at=now + lead,
                                        channels=service.enabled_channel_names(), actor=AUTHOR, now=now)
        s.add(Setting(key=FLAG, value={"release": release.id}, updated_at=now))
        return release.id

    release_id = await service.store.transaction(txn, what="load sample")
    if release_id is not None:
        log.info("空库首次运行：已载入示例政策文件及其解读，组合发布计划 %s 将于 %s 发布",
                 release_id, service.renderer.local(now + lead, "%H:%M:%S"))
    return release_id
