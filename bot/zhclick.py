"""click in Chinese: help headings, usage line, the help option, parameter types and every usage
error as one Chinese line. ``ZhGroup`` makes each command added to it Chinese as well, so commands
defined elsewhere with plain ``click.group``/``click.command`` are covered once they are added."""
from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import click
from click import types as ctypes

from bot import crash
from bot.output import display_width, wrap

HELP_TEXT = "显示此帮助并退出"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
HEADINGS = {"Options": "选项", "Commands": "命令", "Positional arguments": "参数",
            "Arguments": "参数"}
_EXTRAS = ((re.compile(r"\brequired\b"), "必填"), (re.compile(r"\bdefault: "), "默认："),
           (re.compile(r"\benv var: "), "环境变量："), (re.compile(r"\(dynamic\)"), "（动态）"))
#: what an argument is called in usage lines and messages, by its parameter name
ARGUMENT_NAMES = {"item_id": "稿件编号", "item_ids": "稿件编号", "release_id": "发布计划编号",
                  "delivery_id": "投递编号", "file": "文件", "day": "日期", "n": "工作日数",
                  "phones": "手机号", "login": "登录名", "obligation_id": "义务编号"}
INT_LIMIT = 2**31 - 1  # every number on this command line is an id, a count or a limit


# ------------------------------------------------------------------------------ help formatting
class ZhFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        """click's definition list, measured in terminal columns (Chinese takes two)."""
        rows = [(term, _extras(text)) for term, text in rows]
        if not rows:
            return
        first_col = min(max(display_width(term) for term, _ in rows), col_max) + col_spacing
        indent = " " * self.current_indent
        for term, text in rows:
            self.write(f"{indent}{term}")
            if not text:
                self.write("\n")
                continue
            if display_width(term) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(term)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(text, max(self.width - first_col - self.current_indent - 2, 10))
            self.write("\n".join([lines[0]] + [" " * (first_col + self.current_indent) + line
                                                for line in lines[1:]]) + "\n")


_LAST_BRACKET = re.compile(r"\[([^\[\]]*)\]$")


def _extras(text: str) -> str:
    """The bracketed extras click appends to an option's help ([required], [default: …])."""
    def chinese(match: re.Match[str]) -> str:
        inner = match[1]
        for pattern, word in _EXTRAS:
            inner = pattern.sub(word, inner)
        return f"[{inner}]"

    return _LAST_BRACKET.sub(chinese, text.strip())


class ZhContext(click.Context):
    formatter_class = ZhFormatter


# ------------------------------------------------------------------------------ parameter types
def _int(value: Any, param: click.Parameter | None, ctx: click.Context | None,
         kind: click.ParamType) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            kind.fail(f"“{value}”不是整数", param, ctx)
    if abs(number) > INT_LIMIT:
        kind.fail(f"{number} 太大了（最大 {INT_LIMIT}）", param, ctx)
    return number


class ZhInt(ctypes.IntParamType):
    name = "整数"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        return _int(value, param, ctx, self)


class _Reworded(click.ParamType):
    """click's own conversion, with its complaint said again in Chinese by ``reword``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(self.reword(value), param, ctx)

    def reword(self, value: Any) -> str:
        raise NotImplementedError


class ZhIntRange(_Reworded, click.IntRange):
    name = "整数"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        return super().convert(_int(value, param, ctx, self), param, ctx)

    def reword(self, value: Any) -> str:
        bounds = [f"最小 {self.min}" if self.min is not None else "", f"最大 {self.max}" if self.max is not None else ""]
        return f"{value} 超出允许的范围（{'，'.join(b for b in bounds if b)}）"


class ZhFloat(_Reworded, ctypes.FloatParamType):
    name = "数字"

    def reword(self, value: Any) -> str:
        return f"“{value}”不是数字"


class ZhString(ctypes.StringParamType):
    name = "文本"


class ZhChoice(_Reworded, click.Choice):
    def reword(self, value: Any) -> str:
        return f"“{value}”不是可选的值（可选：{'、'.join(map(str, self.choices))}）"


class ZhPath(_Reworded, click.Path):
    def reword(self, value: Any) -> str:
        path = os.fsdecode(value)
        if not os.path.exists(path):
            return f"“{path}”不存在"
        if os.path.isdir(path) and not self.dir_okay:
            return f"“{path}”是目录，这里要一个文件"
        if not os.path.isdir(path) and not self.file_okay:
            return f"“{path}”是文件，这里要一个目录"
        return f"没有权限使用“{path}”"


_TYPES: tuple[tuple[type[click.ParamType], type[click.ParamType]], ...] = (
    (click.IntRange, ZhIntRange), (ctypes.IntParamType, ZhInt), (ctypes.FloatParamType, ZhFloat),
    (ctypes.StringParamType, ZhString), (click.Choice, ZhChoice), (click.Path, ZhPath))
_PATH_NAMES = {"file": "文件", "directory": "目录", "path": "路径"}


def _chinese_type(kind: click.ParamType) -> click.ParamType:
    """The Chinese twin of a click type, with the same settings (a copy: click's types are shared)."""
    for plain, chinese in _TYPES:
        if type(kind) is plain:
            twin = chinese.__new__(chinese)
            twin.__dict__.update(kind.__dict__)
            if chinese is ZhPath:
                twin.name = _PATH_NAMES.get(kind.name, "路径")
            return twin
    return kind


def _localise_params(cmd: click.Command) -> None:
    for param in cmd.params:
        param.type = _chinese_type(param.type)
        if isinstance(param, click.Argument) and param.metavar is None and param.name in ARGUMENT_NAMES:
            param.metavar = ARGUMENT_NAMES[param.name] + ("..." if param.nargs != 1 else "")


# ------------------------------------------------------------------------------ commands
class _Chinese:
    context_class: type[click.Context] = ZhContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option


class ZhCommand(_Chinese, click.Command):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)
        _localise_params(self)


class ZhGroup(_Chinese, click.Group):
    command_class = ZhCommand
    group_class = type  # subgroups are ZhGroups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        if kwargs.get("subcommand_metavar") is None and not kwargs.get("chain"):
            kwargs["subcommand_metavar"] = ("[命令] [参数]..." if kwargs.get("invoke_without_command")
                                            else SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)
        _localise_params(self)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        adopt(cmd)
        super().add_command(cmd, name)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """click's standalone mode, with every message in Chinese and no traceback ever."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            show_click_error(exc, as_json)
        except click.Abort:
            click.echo("已取消。", err=True)
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 — the last resort: one line, the traceback to a file
            crash.fail(exc, as_json)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def adopt(cmd: click.Command) -> None:
    """Make a command built with plain click classes (and everything under it) Chinese."""
    if type(cmd) is click.Command:
        cmd.__class__ = ZhCommand
    elif type(cmd) is click.Group:
        cmd.__class__ = ZhGroup
    if isinstance(cmd, click.Group):
        if cmd.subcommand_metavar in ("COMMAND [ARGS]...", "[COMMAND] [ARGS]..."):
            cmd.subcommand_metavar = ("[命令] [参数]..." if cmd.subcommand_metavar.startswith("[")
                                      else SUBCOMMAND_METAVAR)
        for sub in cmd.commands.values():
            adopt(sub)
    if cmd.options_metavar == "[OPTIONS]":
        cmd.options_metavar = OPTIONS_METAVAR
    cmd.context_class = ZhContext
    _localise_params(cmd)


# ------------------------------------------------------------------------------ usage errors
def _param_name(param: click.Parameter | None, ctx: click.Context | None, hint: Any = None) -> str:
    if param is None:
        if isinstance(hint, (list, tuple)):
            return " / ".join(str(h) for h in hint)
        return str(hint).strip("'\"") if hint else "参数"
    if isinstance(param, click.Argument):
        return param.make_metavar(ctx) if ctx is not None else (param.metavar or param.name or "参数")
    return " / ".join(getattr(param, "opts", ()) or [param.name or "参数"])


def _possibilities(words: Iterable[str]) -> str:
    words = sorted(words)
    return f"；是否想用 {'、'.join(words)}？" if words else ""


_ENGLISH = (
    (re.compile(r"Option '(.+)' requires (?:an argument|(\d+) arguments)\."),
     lambda m: f"选项 {m[1]} 后面要写一个值" if not m[2] else f"选项 {m[1]} 后面要写 {m[2]} 个值"),
    (re.compile(r"Option '(.+)' does not take a value\."), lambda m: f"选项 {m[1]} 不带值"),
    (re.compile(r"Got unexpected extra arguments? \((.*)\)"), lambda m: f"多余的参数：{m[1]}"),
    (re.compile(r"Missing command\."), lambda m: "缺少子命令"),
    (re.compile(r"No such command '(.+)'\."), lambda m: f"没有命令 {m[1]}"),
    (re.compile(r"Argument '(.+)' takes (\d+) values\."), lambda m: f"参数 {m[1].upper()} 要写 {m[2]} 个值"),
    (re.compile(r"No such option:? '?([^'.]+)'?\.?"), lambda m: f"没有选项 {m[1]}"),
)


def click_error_text(exc: click.ClickException) -> str:
    """One Chinese line (without the "错误：" prefix) for any error click raises."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.MissingParameter):
        what = "参数" if isinstance(exc.param, click.Argument) else "选项"
        text = f"缺少{what} {_param_name(exc.param, ctx, exc.param_hint)}"
    elif isinstance(exc, click.BadParameter):
        text = f"{_param_name(exc.param, ctx, exc.param_hint)}：{exc.message}"
    elif isinstance(exc, click.NoSuchOption):
        text = f"没有选项 {exc.option_name}{_possibilities(exc.possibilities or ())}"
    elif isinstance(exc, click.FileError):
        text = f"无法打开文件 {exc.ui_filename}"
    else:
        text = exc.message
        for pattern, chinese in _ENGLISH:
            match = pattern.fullmatch(exc.message.strip())
            if match:
                text = chinese(match)
                break
        if isinstance(ctx, click.Context) and isinstance(ctx.command, click.Group) and text.startswith("没有命令"):
            text += "；可用命令：" + "、".join(ctx.command.list_commands(ctx))
    if isinstance(ctx, click.Context):
        text += f"（用 {ctx.command_path} --help 查看用法）"
    return text


def show_click_error(exc: click.ClickException, as_json: bool) -> NoReturn:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        click.echo(ctx.get_help())  # a group alone: its help, as click does
        sys.exit(exc.exit_code)
    line = f"错误：{click_error_text(exc)}"
    if as_json:
        click.echo(json.dumps({"error": {"code": "invalid_input", "message": click_error_text(exc),
                                         "field": None}}, ensure_ascii=False))
    else:
        click.echo(line, err=True)
    sys.exit(exc.exit_code)
