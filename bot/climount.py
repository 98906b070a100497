"""Command groups whose subcommands are imported only when used, so that ``gongkai --help`` and
the quick commands do not pay for loading every channel, the web server and the ORM."""
from __future__ import annotations

from dataclasses import dataclass

import click

from bot.zhclick import ZhGroup


@dataclass(frozen=True)
class Lazy:
    target: str  # "module:attribute" of a click command or group
    help: str  # the short help shown in the parent's --help without importing target


class LazyGroup(ZhGroup):
    def __init__(self, *args, lazy: dict[str, Lazy] | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})

    def add_lazy(self, name: str, target: str, help: str) -> None:  # noqa: A002
        self.lazy[name] = Lazy(target, help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            from channels.extension import resolve

            command = resolve(self.lazy[cmd_name].target)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - len(name))))
            else:
                rows.append((name, self.lazy[name].help))
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)
