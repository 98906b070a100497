"""channels/sms/ops through the command line outside demo mode: the account a personal token
proves decides (an author may not import, an auditor reads numbers masked), numbers are masked
on request, and the CLI and the API answer from the same functions."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from content import accounts
from content.accounts import Role
from content.clock import SystemClock
from content.db import Store

CSV = "phone,topics,source\n13800000031,all,线下登记表\n13800000032,all,\n"


def _tokens(database_url: str) -> dict[str, str]:
    async def make() -> dict[str, str]:
        store = Store.open(database_url)
        try:
            async def txn(s):  # noqa: ANN001, ANN202
                out = {}
                for login, role in (("guanli", Role.ADMIN), ("lihua", Role.AUTHOR), ("shenji", Role.AUDITOR)):
                    now = SystemClock().now()
                    await accounts.add(s, login, name=login, roles=(role,), password=None, actor="gongkai", now=now)
                    out[role.value] = (await accounts.issue_token(s, login, actor="gongkai", now=now)).secret
                return out
            return await store.transaction(txn, what="accounts")
        finally:
            await store.close()
    return asyncio.run(make())


@pytest.fixture
def gk(tmp_path: Path, sqlite_url: str):  # noqa: ANN201
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": sqlite_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false", "GONGKAI_CHANNELS__SMS__ENABLED": "true",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    assert CliRunner(env=env).invoke(main, ["db", "upgrade"]).exit_code == 0
    tokens = _tokens(sqlite_url)

    def run(role: str, *args: str, code: int = 0, raw: bool = False):  # noqa: ANN202
        result = CliRunner(env={**env, "GONGKAI_TOKEN": tokens[role]}).invoke(main, [*args] + ([] if raw else ["--json"]))
        assert result.exit_code == code, result.output
        return result.stdout if raw else json.loads(result.stdout)

    return run


def test_roles_decide_on_the_command_line_as_in_the_api(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "s.csv").write_text(CSV, encoding="utf-8")
    refused = gk("author", "subscribers", "import", str(tmp_path / "s.csv"), "--consent", "本人签字", code=2)
    assert refused["error"]["code"] == "forbidden" and "管理员" in refused["error"]["message"]
    assert gk("admin", "subscribers", "list")["total"] == 0  # nothing was imported
    assert gk("admin", "subscribers", "import", str(tmp_path / "s.csv"), "--consent", "本人签字")["added"] == 2
    # an auditor reads, masked; whole numbers are for an administrator
    assert gk("auditor", "subscribers", "list", "--masked")["total"] == 2
    assert [s["phone"] for s in gk("auditor", "subscribers", "list", "--masked")["subscribers"]] == [
        "138****0032", "138****0031"]
    assert gk("auditor", "subscribers", "list", code=2)["error"]["code"] == "forbidden"
    text = gk("auditor", "subscribers", "export", "--masked", raw=True)
    assert [r["phone"] for r in csv.DictReader(io.StringIO(text))] == ["138****0031", "138****0032"]
    assert gk("author", "subscribers", "remove", "13800000031", code=2)["error"]["code"] == "forbidden"
    assert gk("admin", "subscribers", "remove", "13800000031")["removed"] == ["+8613800000031"]
