"""What a channel adds beyond delivery, and what the bot hands it to do so.

A channel is one folder. Its package's ``__init__`` declares an :class:`Extension`: the web
routes it mounts (callbacks, subscription pages, its sandbox emulator), the CLI commands it adds
and the console panels it shows, each named as ``"module:attribute"`` so that nothing is imported
until it is used (``gongkai --help`` stays fast). ``channels.catalogue`` lists the packages, one
line each; ``bot/`` mounts what the catalogue lists.

Channel code never imports ``bot``. What it needs from the running program comes through:

* :class:`Host` — handed to web installers (``install(app, host)``) and to the work functions of
  CLI commands (``cli.run(work)`` calls ``work(host)``): the store, clock, settings, renderer,
  the built channels, and the two things only the bot can do: settle a delivery and wake the
  delivery runner (plus running one delivery in the foreground);
* :class:`CliContext` — the ``click`` context object of every command: ``as_json``, the acting
  user, ``settings`` and ``run``;
* the output kit below (``command``, ``emit``, ``table``), which the bot binds at start-up with
  :func:`bind_kit` before any channel command module is imported.
"""
from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from channels.base import Result
    from content.clock import Clock
    from content.db import Store
    from content.render import Renderer

T = TypeVar("T")


@dataclass(frozen=True)
class CliCommand:
    """A command (or group) a channel adds: ``parent`` is the path of the group it goes under
    ("" for the top level, "channel" for ``gongkai channel …``)."""

    name: str
    target: str  # "module:attribute" of a click command or group
    help: str  # the short help shown by ``--help`` without importing ``target``
    parent: str = ""


@dataclass(frozen=True)
class Panel:
    """A console panel a channel shows (status, preview, subscribers): ``target`` names either
    a function ``f(host)`` whose answer the 渠道 page shows, or the channel's
    :class:`ConsolePages`, which the console mounts under ``/console/`` (the panel links there)."""

    name: str
    title: str
    target: str


@dataclass(frozen=True)
class PanelPage:
    """One console route of a channel: ``handler(request, console)`` with ``console`` a
    :class:`ConsoleHost`. GET renders; POST is a form target whose CSRF token the console has
    checked before the handler runs. ``roles`` (role ids) open the page; the ops functions the
    handler calls check roles again."""

    method: str  # GET | POST
    path: str  # below /console/, e.g. "subscribers/"
    roles: tuple[str, ...]
    handler: Callable[[Any, ConsoleHost], Awaitable[Any]]


@dataclass(frozen=True)
class ConsolePages:
    """A :class:`Panel` target that is pages of the channel's own: the pages and the folder of
    their Jinja2 templates (which extend the console's ``base.html``; found as ``<channel>/<name>``)."""

    channel: str
    templates: str  # a folder path
    pages: tuple[PanelPage, ...]


class ConsoleHost(Protocol):
    """The console, as a channel's pages see it (handed to each handler by the bot)."""

    def host(self, request: Any) -> Host:
        """The running program (store, clock, settings, renderer, channels)."""
        ...

    def who(self, request: Any) -> Any:
        """The signed-in account (content.accounts.AccountView)."""
        ...

    async def render(self, request: Any, template: str, *, status: int = 200, **ctx: Any) -> Any:
        """A page from the channel's template folder, with the console's frame (menu, account,
        CSRF field as ``csrf_input``, flash messages)."""
        ...

    async def redirect(self, request: Any, location: str, text: str, kind: str = "ok") -> Any:
        """A 303 to ``location`` that shows ``text`` there once (ok | error | info); raise it."""
        ...


@dataclass(frozen=True)
class Extension:
    name: str  # the channel's registry name
    label: str  # shown to staff
    adapter: str  # module whose import registers the adapter (``@register(name)``)
    web: tuple[str, ...] = ()  # "module:install" each, called as install(app, host)
    cli: tuple[CliCommand, ...] = ()
    panels: tuple[Panel, ...] = ()
    settings: str = ""  # "module:Model" of the channel's config section
    alerts: bool = False  # the adapter has ``async alerts()`` lines for ``gongkai status``
    local: bool = False  # delivers within the bot (no remote service, so no sandbox or live mode)


def resolve(target: str) -> Any:
    """Import ``"module:attribute"``."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class Host(Protocol):
    """The running program, as a channel's web routes and commands see it."""

    settings: Any  # the whole validated configuration (bot.settings.Settings)
    store: Store
    clock: Clock
    renderer: Renderer

    @property
    def channels(self) -> Mapping[str, Any]:
        """The enabled channels, built."""
        ...

    async def settle(self, session: AsyncSession, delivery_id: int, result: Result, *,
                     now: datetime, source: str) -> bool:
        """Record a remote confirmation (callback, poll) of a delivery in ``session``'s
        transaction; False when it was already settled."""
        ...

    def wake(self) -> None:
        """Tell the delivery runner (if this process runs one) that work is waiting."""
        ...

    async def reach_now(self, release_id: int, channel: str) -> Any:
        """Whom :meth:`deliver_now` would still send to (numbers and billed parts for SMS);
        raises a user error when the delivery cannot be run now."""
        ...

    async def deliver_now(self, release_id: int, channel: str,
                          on_progress: Callable[[Mapping[str, Any]], None]) -> tuple[str, Result]:
        """Run one release's delivery to ``channel`` in the foreground (claimed with a lease as
        the runner would), until it ends or must wait; returns the new state and last result."""
        ...

    def sandbox_token(self) -> str:
        """The secret that the sandbox emulators' admin endpoints require."""
        ...


class CliContext(Protocol):
    as_json: bool

    @property
    def actor(self) -> str: ...

    @property
    def settings(self) -> Any: ...

    def run(self, work: Callable[[Any], Awaitable[T]], *, migrate: bool = True) -> T: ...


# --------------------------------------------------------------------------- the output kit
#: Help text of the ``--yes`` option of commands that ask before a mass action.
YES_HELP = "不再询问，直接执行（脚本中使用）"


@dataclass
class _Kit:
    command: Callable[..., Any] | None = None
    emit: Callable[..., None] | None = None
    table: Callable[..., str] | None = None
    confirm: Callable[..., None] | None = None
    progress_line: Callable[..., Any] | None = None
    delivery_label: Callable[[str], str] | None = None


_KIT = _Kit()


def bind_kit(*, command: Callable[..., Any], emit: Callable[..., None], table: Callable[..., str],
             confirm: Callable[..., None], progress_line: Callable[..., Any],
             delivery_label: Callable[[str], str]) -> None:
    """Called by the bot before it imports any channel command module."""
    _KIT.command, _KIT.emit, _KIT.table = command, emit, table
    _KIT.confirm, _KIT.progress_line, _KIT.delivery_label = confirm, progress_line, delivery_label


def _bound(name: str) -> Callable[..., Any]:
    fn = getattr(_KIT, name)
    if fn is None:
        raise RuntimeError("channels.extension: the bot has not bound its CLI kit (bind_kit)")
    return fn


def command(group: Any, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """A leaf command under ``group`` that takes ``--json``/``--as`` and reports user errors as
    one Chinese line: the bot's own decorator, bound at start-up."""
    return _bound("command")(group, name, **kwargs)


def emit(as_json: bool, data: dict[str, Any], lines: list[str] | str) -> None:
    """Print readable Chinese, or one JSON document with ``--json``."""
    _bound("emit")(as_json, data, lines)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain text table that lines up Chinese characters."""
    return _bound("table")(rows, headers)


def confirm(what: str, *, yes: bool) -> None:
    """Before a mass action: go on if ``yes`` or the person at the terminal agrees; otherwise
    raise a user error (nothing is done). Without a terminal, ``--yes`` is required."""
    _bound("confirm")(what, yes=yes)


def progress_line(label: str, total: int | None, *, enabled: bool = True) -> Any:
    """A progress line on standard error (``update(done, extra, total=)``, ``close()``)."""
    return _bound("progress_line")(label, total, enabled=enabled)


def delivery_label(state: str) -> str:
    """A delivery state's Chinese name."""
    return _bound("delivery_label")(state)
