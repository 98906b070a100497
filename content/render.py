"""Jinja2 rendering of each channel's version of an item: one template per (channel, kind),
falling back to the channel's default; a configured directory overrides the shipped templates."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined,
                    select_autoescape)

from content.kinds import STATE_LABELS, ItemState, kind_label


class Renderer:
    def __init__(self, tz: ZoneInfo, override_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(str(override_dir))] if override_dir else []
        loaders.append(PackageLoader("content", "templates"))
        self.tz = tz
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["local"] = self.local
        self.env.filters["kind_label"] = kind_label
        self.env.filters["state_label"] = lambda s: STATE_LABELS.get(ItemState(s), s)

    def local(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        return value.astimezone(self.tz).strftime(fmt)

    def template_for(self, channel: str, kind: str, suffix: str = "j2"):  # noqa: ANN201
        return self.env.select_template([f"{channel}/{kind}.{suffix}", f"{channel}/default.{suffix}"])

    def item(self, channel: str, kind: str, suffix: str = "j2", **context: Any) -> str:
        return self.template_for(channel, kind, suffix).render(**context)

    def page(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)
