"""``gongkai user …`` and ``gongkai login``: staff accounts, roles, passwords and personal API
tokens. The work (and the role check) is bot.ops.users, which the console and the API call too."""
from __future__ import annotations

import sys
from datetime import datetime

import click

from bot.clikit import Cli, command
from bot.climount import LazyGroup
from bot.output import emit, table
from bot.ops import users as ops
from bot.ops import Who
from bot.service import Service
from content import accounts
from content.accounts import Role
from content.errors import InputError


@click.group("user", cls=LazyGroup)
def user() -> None:
    """账号与角色：新建、列出、停用与启用、改密码、改角色、签发个人令牌（管理员）。"""


@click.group()
def _top() -> None:
    """Holder group: bot.cli adds ``login`` to the main group."""


def _read_password(from_stdin: bool, *, prompt: bool) -> str | None:
    """The password from one line of standard input, a hidden prompt, or None (make one)."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError("标准输入中没有密码", field="--password-stdin",
                             fix="如 printf '%s\\n' 密码 | gongkai … --password-stdin")
        return line
    if prompt:
        return str(click.prompt("密码", hide_input=True, err=True))
    return None


def _roles_text(roles: tuple[Role, ...]) -> str:
    return "、".join(f"{r.label}（{r.value}）" for r in roles)


def _local(cli: Cli, at: datetime) -> str:
    return at.astimezone(cli.settings.tz).strftime("%Y-%m-%d %H:%M")


@command(user, "add")
@click.argument("login")
@click.option("--name", required=True, help="显示名（如 张三）")
@click.option("--role", "roles", required=True,
              help="角色，逗号分隔：author 撰稿、reviewer 保密审查、approver 审核签发、admin 管理员、auditor 只读")
@click.option("--department", default="", help="所在部门")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（不加则生成随机密码并只显示一次）")
def add(cli: Cli, login: str, name: str, roles: str, department: str, password_stdin: bool) -> None:
    """新建账号。"""
    chosen = accounts.parse_roles(roles)
    given = _read_password(password_stdin, prompt=False)

    async def work(svc: Service, who: Who) -> ops.Added:
        return await ops.add(svc, who, login, name=name, roles=chosen, department=department,
                             password=given)

    made = cli.run_as(work)
    acc, password = made.account, made.password
    shown = {"password": password} if password is not None else {}
    emit(cli.as_json, {**acc.as_json(), **shown},
         [f"已新建账号 {acc.login}（{acc.name}）：{_roles_text(acc.roles)}"]
         + ([f"初始密码：{password}（只显示这一次，请转交本人并请其用 gongkai user passwd {acc.login} 修改）"]
            if password is not None else []))


@command(user, "list")
def list_(cli: Cli) -> None:
    """列出账号（不显示密码与令牌）。"""
    found = cli.run_as(ops.listing)
    rows = [[a.login, a.name, a.department or "—", "、".join(r.label for r in a.roles),
             "已停用" if a.disabled else "正常"] for a in found]
    emit(cli.as_json, {"accounts": [a.as_json() for a in found]},
         table(rows, ["登录名", "显示名", "部门", "角色", "状态"]) if rows else "还没有账号。")


@command(user, "disable")
@click.argument("login")
def disable(cli: Cli, login: str) -> None:
    """停用账号：不能再登录，其个人令牌随即失效。"""
    acc = cli.run_as(lambda svc, who: ops.disable(svc, who, login))
    emit(cli.as_json, acc.as_json(), f"账号 {acc.login}（{acc.name}）已停用，其个人令牌不再有效。")


@command(user, "enable")
@click.argument("login")
def enable(cli: Cli, login: str) -> None:
    """重新启用停用的账号（之前的令牌未过期的重新有效）。"""
    acc = cli.run_as(lambda svc, who: ops.enable(svc, who, login))
    emit(cli.as_json, acc.as_json(), f"账号 {acc.login}（{acc.name}）已重新启用。")


@command(user, "passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为新密码（不加则生成随机密码并只显示一次）")
def passwd(cli: Cli, login: str, password_stdin: bool) -> None:
    """设置账号的新密码（管理员，或本人）。"""
    given = _read_password(password_stdin, prompt=False)
    done = cli.run_as(lambda svc, who: ops.passwd(svc, who, login, given))
    acc, password = done.account, done.password
    shown = {"password": password} if password is not None else {}
    emit(cli.as_json, {**acc.as_json(), **shown},
         [f"账号 {acc.login} 的密码已更新。"]
         + ([f"新密码：{password}（只显示这一次）"] if password is not None else []))


@command(user, "roles")
@click.argument("login")
@click.option("--role", "roles", required=True, help="新的全部角色，逗号分隔（如 author,reviewer）")
def roles_(cli: Cli, login: str, roles: str) -> None:
    """改账号的角色（整体替换）。"""
    chosen = accounts.parse_roles(roles)
    acc = cli.run_as(lambda svc, who: ops.roles(svc, who, login, chosen))
    emit(cli.as_json, acc.as_json(), f"账号 {acc.login} 的角色改为：{_roles_text(acc.roles)}")


@command(user, "token")
@click.argument("login")
@click.option("--days", type=int, default=accounts.TOKEN_DAYS, show_default=True, help="有效天数（1–366）")
def token(cli: Cli, login: str, days: int) -> None:
    """签发个人 API 令牌（只显示这一次；库中只存其散列）。"""
    issued = cli.run_as(lambda svc, who: ops.token(svc, who, login, days=days))
    emit(cli.as_json, {"token": issued.secret, "id": issued.id, "login": issued.login,
                       "expires_at": issued.expires_at},
         [f"账号 {issued.login} 的个人令牌（只显示这一次，有效至 {_local(cli, issued.expires_at)}）：",
          issued.secret,
          "用法：export GONGKAI_TOKEN=<令牌>，或运行 gongkai login"])


@command(user, "tokens")
@click.argument("login")
def tokens(cli: Cli, login: str) -> None:
    """列出账号的个人令牌（编号、签发与到期时间；不显示令牌本身）。"""
    listed = cli.run_as(lambda svc, who: ops.tokens(svc, who, login))
    found, now = listed.tokens, listed.now
    rows = [[str(t.id), _local(cli, t.created_at), _local(cli, t.expires_at), t.created_by,
             "有效" if t.expires_at > now else "已过期"] for t in found]
    emit(cli.as_json, {"login": login, "tokens": [
        {"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at, "created_by": t.created_by,
         "expired": t.expires_at <= now} for t in found]},
         table(rows, ["编号", "签发时间", "到期时间", "签发人", "状态"]) if rows else f"账号 {login} 没有个人令牌。")


@command(_top, "login")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（不加则提示输入）")
def login_(cli: Cli, login: str, password_stdin: bool) -> None:
    """用密码登录：签发一个个人令牌并保存（0600）在本机用户配置目录，之后的命令凭它确认操作人。"""
    from bot.identity import save_token

    password = _read_password(password_stdin, prompt=True) or ""

    issued = cli.run(lambda svc: ops.login(svc, login, password))
    path = save_token(issued.secret)
    emit(cli.as_json, {"login": issued.login, "expires_at": issued.expires_at, "saved_to": str(path)},
         f"已登录为 {issued.login}：个人令牌已保存到 {path}（有效至 {_local(cli, issued.expires_at)}）。")
