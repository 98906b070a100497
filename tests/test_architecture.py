"""The dependency rules of DESIGN.md, checked on the source: a violation here is a channel that
no longer lives in its own folder, or an emulator that would accept its adapter's mistakes."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ("channels.website", "channels.wechat", "channels.weibo", "channels.sms")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sources(folder):
        for module in imports(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("content", ("bot", "channels", "schedules")),
    ("channels", ("bot",)),
    ("schedules", ("bot",)),
    ("channels/sandbox", ADAPTERS),
])
def test_dependencies_point_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(folder, forbidden) == []


def test_every_catalogued_channel_declares_itself_in_its_own_folder() -> None:
    import bot.cli  # noqa: F401 - binds the CLI kit the channels' commands are written against
    from channels import catalogue
    from channels.extension import ConsolePages, resolve

    for ext in catalogue.extensions():
        package = f"channels.{ext.name}"
        targets = [ext.adapter, ext.settings, *ext.web, *(c.target for c in ext.cli), *(p.target for p in ext.panels)]
        assert all(t.startswith(package + ".") for t in targets), ext
        for target in targets[2:]:
            found = resolve(target)
            # a panel is a function (its answer shown on 渠道) or a set of console pages
            assert callable(found) or isinstance(found, ConsolePages), target


def test_a_channel_declares_alerts_exactly_when_its_adapter_has_them() -> None:
    """``gongkai status`` loads only the adapters that declare alerts: one that has alerts but
    does not declare them would silently drop its warnings from the duty board."""
    from channels import catalogue
    from channels.registry import REGISTRY

    catalogue.load()
    for ext in catalogue.extensions():
        assert ext.alerts == hasattr(REGISTRY[ext.name], "alerts"), ext.name
