"""The aiohttp application: the static site and feeds with conditional GET, a health check, and
the routes each channel declares (callbacks, subscription pages, sandbox emulators)."""
from __future__ import annotations

import hashlib
import hmac
import mimetypes
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from channels.website.writer import GZIP_SUFFIX, compressible

if TYPE_CHECKING:
    from bot.service import Service

SERVICE_KEY: web.AppKey[Service] = web.AppKey("service")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
FEED_TYPES = {"rss.xml": "application/rss+xml; charset=utf-8",
              "atom.xml": "application/atom+xml; charset=utf-8"}


class StaticSite:
    """Serves files from the site directory with strong ETags, Last-Modified and 304s."""

    def __init__(self, root: Path, hub: str = "", base_url: str = "") -> None:
        self.root = root.resolve()
        self.hub = hub
        self.base_url = base_url
        self._etags: dict[Path, tuple[int, int, str]] = {}

    def _resolve(self, tail: str) -> Path | None:
        path = (self.root / tail.lstrip("/")).resolve()
        if path != self.root and self.root not in path.parents:
            return None
        if path.is_dir():
            path = path / "index.html"
        return path if path.is_file() else None

    def _etag(self, path: Path, stat) -> str:  # noqa: ANN001
        cached = self._etags.get(path)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2]
        tag = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:32] + '"'
        self._etags[path] = (stat.st_mtime_ns, stat.st_size, tag)
        return tag

    def _variant(self, request: web.Request, path: Path) -> tuple[Path, dict[str, str]]:
        """The file to send and its extra headers: the gzip copy the builder wrote next to a
        text file, when the client accepts gzip."""
        if not compressible(path.name):
            return path, {}
        extra = {"Vary": "Accept-Encoding"}
        packed = path.with_name(path.name + GZIP_SUFFIX)
        if accepts_gzip(request.headers.get("Accept-Encoding", "")) and packed.is_file():
            return packed, {**extra, "Content-Encoding": "gzip"}
        return path, extra

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = self._resolve(request.match_info.get("tail", ""))
        if path is None:
            not_found = self.root / "404.html"
            body = not_found.read_bytes() if not_found.is_file() else "页面不存在".encode()
            return web.Response(status=404, body=body, content_type="text/html", charset="utf-8")
        sent, extra = self._variant(request, path)
        stat = sent.stat()
        etag = self._etag(sent, stat)
        modified = datetime.fromtimestamp(int(stat.st_mtime), tz=timezone.utc)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Cache-Control": "no-cache",
            "Content-Type": FEED_TYPES.get(path.name) or CONTENT_TYPES.get(path.suffix)
            or mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            **extra,
        }
        if path.name in FEED_TYPES and self.hub:
            self_url = self.base_url + "/" + path.relative_to(self.root).as_posix()
            headers["Link"] = f'<{self.hub}>; rel="hub", <{self_url}>; rel="self"'
        if _not_modified(request, etag, modified):
            return web.Response(status=304, headers={k: v for k, v in headers.items()
                                                     if k != "Content-Type"})
        if request.method == "HEAD":
            return web.Response(headers={**headers, "Content-Length": str(stat.st_size)})
        return web.Response(body=sent.read_bytes(), headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip: named, or through ``*``, with q > 0."""
    weights: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if name:
            weights[name] = q
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def _not_modified(request: web.Request, etag: str, modified: datetime) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # If-None-Match takes precedence over If-Modified-Since
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    since = request.if_modified_since
    return since is not None and modified <= since


async def health(request: web.Request) -> web.Response:
    """200 while this deployment's scheduler is alive, 503 once it stopped or went quiet (the
    same judgement as ``gongkai status``)."""
    service = request.app[SERVICE_KEY]
    beat = await service.ticker_health()
    return web.json_response({"status": "ok" if beat.running else beat.state.value,
                              "ticker_heartbeat_age": beat.age_seconds, "node": beat.node},
                             status=200 if beat.running else 503)


def extensions() -> list:
    """The route installers the channels declare (``Extension.web``), in catalogue order:
    callbacks, subscription pages and, in sandbox mode, the emulators under /sandbox/<name>/.
    Each is called as ``install(app, service)`` and decides itself whether it applies."""
    from channels import catalogue
    from channels.extension import resolve

    return [resolve(target) for ext in catalogue.extensions() for target in ext.web]


SANDBOX_ADMIN = re.compile(r"^/sandbox/[^/]+/(?:api/)?(?:_admin|drill)(?:/|$)")


@web.middleware
async def sandbox_admin_guard(request: web.Request, handler):  # noqa: ANN001, ANN201
    """The emulators' admin endpoints (state, fault injection, drills) answer only to the
    sandbox admin token (``X-Sandbox-Token`` header or ``token`` query/form field): anyone who
    reaches the public port could otherwise break or read the trial."""
    if SANDBOX_ADMIN.match(request.path):
        service = request.app[SERVICE_KEY]
        given = request.headers.get("X-Sandbox-Token") or request.query.get("token", "")
        if not given and request.method == "POST" and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            given = str((await request.post()).get("token", ""))
        if not given or not hmac.compare_digest(given, service.sandbox_token()):
            return web.Response(status=403, text="沙箱管理接口需要管理令牌（见 <data_dir>/sandbox/admin-token）",
                                content_type="text/plain", charset="utf-8")
    return await handler(request)


def staff_installers() -> list:
    """What staff use (the console, the HTTP API): served with the site, or on ``[console]
    listen`` only when that is set. Each is called as ``install(app, service)``."""
    from bot.console.app import install as console

    return [console]


def make_app(service, *, public: bool = True, staff: bool = True) -> web.Application:  # noqa: ANN001
    """The web application: the public site and channel routes (``public``) and the staff
    console and API (``staff``); both by default, one each when the console listens apart."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=[sandbox_admin_guard])
    app[SERVICE_KEY] = service
    app.router.add_get("/healthz", health)
    if staff:
        for install in staff_installers():
            install(app, service)
    if public:
        site = StaticSite(service.settings.site_path, service.settings.channels.website.websub_hub,
                          service.settings.base_url)
        for install in extensions():
            install(app, service)
        app.router.add_get("/{tail:.*}", site.handle)  # last: the site catches everything else
    return app


def listeners(service) -> list[tuple[str, web.Application]]:  # noqa: ANN001
    """(host:port, application) for each server ``gongkai run`` starts: one for everything, or
    the public site on ``[web] listen`` and the console and API on ``[console] listen``."""
    settings = service.settings
    if not settings.console.listen:
        return [(settings.web.listen, make_app(service))]
    return [(settings.web.listen, make_app(service, staff=False)),
            (settings.console.listen, make_app(service, public=False))]
