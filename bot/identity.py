"""Who is acting on the command line: in demo mode the name given with ``--as`` (an account is
made for it on first use), otherwise the account a personal API token proves (``GONGKAI_TOKEN``,
else the token ``gongkai login`` saved under the user's config directory)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from content import accounts
from content.errors import GongkaiError

if TYPE_CHECKING:
    from bot.clikit import Cli
    from bot.service import Service

NO_PROOF_FIX = ("运行 gongkai login 登录名 登录，或设置环境变量 GONGKAI_TOKEN"
                "（个人令牌由管理员用 gongkai user token 登录名 签发）")


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gongkai" / "token"


def saved_token() -> str:
    env = os.environ.get("GONGKAI_TOKEN", "").strip()
    if env:
        return env
    try:
        return token_file().read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return ""


def save_token(secret: str) -> Path:
    """Keep the token for later commands: 0600 in a 0700 folder, replaced atomically."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f"token.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.replace(tmp, path)
    return path


def resolve(cli: Cli) -> str:
    name = (cli.actor_name or "").strip()
    demo = cli.settings.bot.demo
    if demo and name:
        cli._demo_pending = name
        return name
    token = saved_token()
    if not token:
        if demo:
            raise GongkaiError("不知道是谁在操作（审计记录需要操作人）",
                               fix="加 --as 姓名，或设置环境变量 GONGKAI_USER", code="unauthenticated")
        raise GongkaiError("未登录：非演示模式下只凭个人令牌确认操作人，--as 不作数", fix=NO_PROOF_FIX,
                           code="unauthenticated")

    async def work(svc: Service) -> accounts.AccountView:
        async with svc.store.sessions() as session:
            return await accounts.by_token(session, token, now=svc.clock.now())

    account = cli.run(work)
    if name and name != account.login:
        raise GongkaiError(f"--as {name} 与令牌所属账号 {account.login} 不符",
                           fix="去掉 --as（或清空 GONGKAI_USER），或换用该账号的令牌",
                           code="unauthenticated")
    cli.account = account
    return account.login


async def ensure_demo_account(cli: Cli, service: Service) -> None:
    name, cli._demo_pending = cli._demo_pending, None
    assert name is not None
    cli.account = await service.store.transaction(
        lambda s: accounts.ensure_demo(s, name, now=service.clock.now()), what="demo account")
