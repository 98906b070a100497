"""Staff accounts and roles through the real command line: argon2id password hashes, personal
API tokens (stored hashed, with an expiry), demo mode's --as, and the first start's admin."""
from __future__ import annotations

import asyncio
import json
import re
import stat
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from content import accounts
from content.clock import FixedClock
from content.db import Store
from content.errors import GongkaiError
from content.models import Account, ApiToken, AuditEvent
from tests.botproc import bot_env, cli_json, invoke, start_bot, stop_bot


def _query(url: str, stmt):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        store = Store.open(url)
        try:
            async with store.sessions() as s:
                return list((await s.execute(stmt)).all())
        finally:
            await store.close()

    return asyncio.run(go())


def _account(url: str, login: str) -> Account:
    return _query(url, select(Account).where(Account.login == login))[0][0]


def _events(url: str, action: str) -> list[AuditEvent]:
    return [r[0] for r in _query(url, select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def _accounts_count(url: str) -> int:
    return _query(url, select(func.count()).select_from(Account))[0][0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config directory of the test's own (where `gongkai login` saves the token); no
    acting user or token from the environment of whoever runs the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GONGKAI_USER", raising=False)
    monkeypatch.delenv("GONGKAI_TOKEN", raising=False)
    return tmp_path / "home"


def test_administrators_add_list_change_and_disable_accounts(database_url: str, tmp_path: Path,
                                                             home: Path) -> None:
    env = bot_env(tmp_path, database_url)
    # demo mode: `--as admin` is the administrator the first start would make
    out = invoke(env, "user", "add", "zhangmin", "--name", "张敏", "--role", "author,reviewer",
                 "--department", "办公室", "--password-stdin", input="correct horse 1\n", user="admin").output
    assert "已新建账号 zhangmin（张敏）：撰稿（author）、保密审查（reviewer）" in out
    stored = _account(database_url, "zhangmin")
    assert stored.password_hash.startswith("$argon2id$") and "correct horse" not in stored.password_hash

    # without --password-stdin a random password is shown once, and only its hash is kept
    made = cli_json(env, "user", "add", "lihua", "--name", "李华", "--role", "approver", user="admin")
    assert len(made["password"]) >= 12 and made["password"] not in _account(database_url, "lihua").password_hash

    listed = {a["login"]: a for a in cli_json(env, "user", "list", user="admin")["accounts"]}
    assert listed["zhangmin"] == {"login": "zhangmin", "name": "张敏", "department": "办公室",
                                  "roles": ["author", "reviewer"], "disabled": False}
    assert "password" not in json.dumps(listed)
    assert "撰稿、保密审查" in invoke(env, "user", "list", user="admin").output

    invoke(env, "user", "roles", "zhangmin", "--role", "approver,auditor", user="admin")
    assert _account(database_url, "zhangmin").roles == ["approver", "auditor"]
    change = _events(database_url, "account_roles_changed")[-1]
    assert change.actor == "admin" and change.detail["before"] == ["author", "reviewer"]

    before = _account(database_url, "zhangmin").password_hash
    invoke(env, "user", "passwd", "zhangmin", "--password-stdin", input="another pass 2\n", user="admin")
    after = _account(database_url, "zhangmin").password_hash
    assert after != before and after.startswith("$argon2id$")
    assert [e.actor for e in _events(database_url, "account_password_changed")] == ["admin"]

    assert "已停用" in invoke(env, "user", "disable", "zhangmin", user="admin").output
    assert _account(database_url, "zhangmin").disabled is True
    assert _events(database_url, "account_disabled")[0].detail["login"] == "zhangmin"


def test_bad_account_input_is_refused_and_changes_nothing(database_url: str, tmp_path: Path,
                                                          home: Path) -> None:
    env = bot_env(tmp_path, database_url)
    invoke(env, "user", "add", "wang", "--name", "王", "--role", "author", "--password-stdin", input="longenough\n", user="admin")
    count = _accounts_count(database_url)
    out = invoke(env, "user", "add", "zhao", "--name", "赵", "--role", "author,boss", code=2, user="admin").output
    assert "未知角色 boss" in out and "auditor（只读）" in out
    assert "已存在" in invoke(env, "user", "add", "wang", "--name", "王", "--role", "author", code=2, user="admin").output
    assert "密码太短" in invoke(env, "user", "add", "qian", "--name", "钱", "--role", "author",
                                "--password-stdin", input="short\n", code=2, user="admin").output
    assert "没有账号 nobody" in invoke(env, "user", "roles", "nobody", "--role", "author", code=2, user="admin").output
    assert _accounts_count(database_url) == count
    assert "Traceback" not in out


def test_demo_mode_makes_an_account_for_as(database_url: str, tmp_path: Path, home: Path) -> None:
    env = bot_env(tmp_path, database_url)
    # 李华 acts as author, reviewer and approver: items and releases, but not accounts
    assert cli_json(env, "post", "list", user="李华") == {"items": []}
    refused = cli_json(env, "user", "list", user="李华", code=2)["error"]
    assert refused["code"] == "forbidden" and "“管理员”或“只读”" in refused["message"]
    listed = cli_json(env, "user", "list", user="admin")["accounts"]
    assert {a["login"]: a["roles"] for a in listed} == {"admin": ["admin"],
                                                       "李华": ["author", "reviewer", "approver"]}
    invoke(env, "post", "list", user="李华")  # a second time: still the same account
    assert _accounts_count(database_url) == 2
    invoke(env, "user", "disable", "李华", user="admin")
    out = invoke(env, "post", "list", user="李华", code=2).output
    assert "账号 李华 已停用" in out
    invoke(env, "user", "enable", "李华", user="admin")
    assert [a["login"] for a in cli_json(env, "user", "list", user="admin")["accounts"]] == ["admin", "李华"]
    assert [e.actor for e in _events(database_url, "account_enabled")] == ["admin"]


def _run_once(env: dict) -> str:
    """Start ``gongkai run``, wait until it says it has started, stop it: everything it logged."""
    proc = start_bot(env)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "已启动" in line:
            break
    # the bot answers HTTP again only once its start-up is over and it listens for SIGTERM
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{env['port']}/healthz", timeout=10)
    except urllib.error.HTTPError:
        pass
    return "".join(seen) + stop_bot(proc)


def _password_of(log: str) -> str:
    found = re.findall(r"初始密码 (\S+?)（", log)
    assert len(found) == 1, log
    return found[0]


def test_outside_demo_mode_only_a_token_proves_who_acts(database_url: str, tmp_path: Path, home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGKAI_BOT__DEMO", "false")
    env = bot_env(tmp_path, database_url)

    # the first start makes `admin`, printing its password once; the second start does not
    first = _run_once(env)
    password = _password_of(first)
    assert password not in _account(database_url, "admin").password_hash
    again = _run_once(env)
    assert "已启动" in again and "初始密码" not in again
    assert _accounts_count(database_url) == 1

    # no proof: --as is not believed
    out = invoke(env, "user", "add", "zhangmin", "--name", "张敏", "--role", "author", code=2).output
    assert "未登录" in out and "gongkai login" in out
    assert _accounts_count(database_url) == 1

    # one message for a wrong password and for an account that does not exist
    wrong = invoke(env, "login", "admin", "--password-stdin", input="not it\n", user=None, code=2).output
    nobody = invoke(env, "login", "nobody", "--password-stdin", input="not it\n", user=None, code=2).output
    assert wrong == nobody and accounts.BAD_LOGIN in wrong
    assert not (home / "gongkai" / "token").exists()

    assert "已登录为 admin" in invoke(env, "login", "admin", "--password-stdin", input=password + "\n",
                                    user=None).output
    saved = home / "gongkai" / "token"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert saved.read_text().strip() not in json.dumps(
        [r[0] for r in _query(database_url, select(ApiToken.token_hash))])

    invoke(env, "user", "add", "zhangmin", "--name", "张敏", "--role", "author", "--password-stdin",
           input="zhangmin pass\n", user=None)
    assert _events(database_url, "account_added")[-1].actor == "admin"
    token = cli_json(env, "user", "token", "zhangmin", user=None)["token"]
    listed = cli_json(env, "user", "tokens", "zhangmin", user=None)["tokens"]
    assert len(listed) == 1 and token not in json.dumps(listed)

    # zhangmin's token: acts as zhangmin (her own password), but may not manage others
    monkeypatch.setenv("GONGKAI_TOKEN", token)
    invoke(env, "user", "passwd", "zhangmin", "--password-stdin", input="zhangmin new\n", user=None)
    assert _events(database_url, "account_password_changed")[-1].actor == "zhangmin"
    out = invoke(env, "user", "add", "lihua", "--name", "李华", "--role", "admin", user=None, code=2).output
    assert "没有“管理员”角色" in out
    assert "与令牌所属账号 zhangmin 不符" in invoke(env, "user", "list", user="admin", code=2).output

    # a wrong token is refused and changes nothing
    monkeypatch.setenv("GONGKAI_TOKEN", "gk_" + "x" * 43)
    events = len(_query(database_url, select(AuditEvent.id)))
    assert accounts.BAD_TOKEN in invoke(env, "user", "disable", "zhangmin", user=None, code=2).output

    # once disabled, her token is refused too
    monkeypatch.delenv("GONGKAI_TOKEN")
    invoke(env, "user", "disable", "zhangmin", user=None)
    events += 1
    monkeypatch.setenv("GONGKAI_TOKEN", token)
    assert accounts.BAD_TOKEN in invoke(env, "user", "list", user=None, code=2).output
    assert len(_query(database_url, select(AuditEvent.id))) == events
    assert _account(database_url, "zhangmin").disabled


async def test_a_token_expires(store: Store, clock: FixedClock) -> None:
    async def issue(s):  # noqa: ANN001, ANN202
        await accounts.add(s, "wang", name="王", roles=(accounts.Role.AUTHOR,), password=None,
                           actor="admin", now=clock.now())
        return await accounts.issue_token(s, "wang", actor="admin", now=clock.now(), days=1)

    issued = await store.transaction(issue)
    async with store.sessions() as s:
        assert (await accounts.by_token(s, issued.secret, now=clock.now() + timedelta(hours=23))).login == "wang"
        with pytest.raises(GongkaiError, match="令牌无效、已过期"):
            await accounts.by_token(s, issued.secret, now=clock.now() + timedelta(days=1))
        stored = await s.scalar(select(ApiToken.token_hash))
    assert stored != issued.secret and issued.secret[3:] not in stored
