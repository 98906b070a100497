"""Topics that pushes are subscribed by: a column name, a department name, ``emergency``, ``all``."""
from __future__ import annotations

from collections.abc import Iterable

from content.kinds import Kind
from content.views import ItemView

ALL = "all"
EMERGENCY = "emergency"


def release_topics(items: Iterable[ItemView]) -> set[str]:
    """The topics whose subscribers a release reaches: its items' columns and departments,
    ``all``, and ``emergency`` when an item is an emergency brief."""
    topics = {ALL}
    for item in items:
        topics.update(t for t in (item.column, item.department) if t)
        if item.kind == Kind.EMERGENCY:
            topics.add(EMERGENCY)
    return topics
