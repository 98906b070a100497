"""The explicit channel registry: ``@register("website")`` on the adapter class."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from content.errors import InputError

C = TypeVar("C", bound=type)

REGISTRY: dict[str, type] = {}


def register(name: str) -> Callable[[C], C]:
    def wrap(cls: C) -> C:
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise RuntimeError(f"channel {name!r} registered twice")
        cls.name = name  # type: ignore[attr-defined]
        REGISTRY[name] = cls
        return cls

    return wrap


def channel_class(name: str) -> type:
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"没有名为 {name!r} 的渠道",
                         fix=f"可用渠道：{', '.join(sorted(REGISTRY))}") from None
