"""The HTTP API under ``/api/v1``: personal-token authentication, pydantic-validated requests
and answers, the OpenAPI 3.1 document built from the same models (``/api/v1/openapi.json``) and
a readable docs page (``/api/v1/docs``). Every handler calls the ops layer (``bot/ops``, and the
SMS channel's ``channels/sms/ops``), as the command line and the console do."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.api import docs, openapi, problems
from bot.api.registry import PREFIX
from bot.api.routes import API

if TYPE_CHECKING:
    from bot.service import Service

#: the modules that declare operations, in the order the docs show them
AREAS = ("bot.api.me", "bot.api.board", "bot.api.items", "bot.api.releases", "bot.api.subscribers", "bot.api.audit")
DOCUMENT_KEY: web.AppKey[dict[str, Any]] = web.AppKey("api_document")


def install(app: web.Application, service: Service) -> None:  # noqa: ARG001 - the service comes from the app
    from bot.web import SERVICE_KEY

    for module in AREAS:
        importlib.import_module(module)
    API.mount(app, SERVICE_KEY)
    app[DOCUMENT_KEY] = openapi.document(API)
    app.router.add_get(PREFIX + "/openapi.json", _openapi)
    app.router.add_get(PREFIX + "/docs", _docs)
    app.router.add_get(PREFIX + "/docs.css", _css)
    app.router.add_route("*", PREFIX + "/{tail:.*}", _unknown)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[DOCUMENT_KEY])


async def _docs(request: web.Request) -> web.Response:
    return web.Response(text=docs.page(request.app[DOCUMENT_KEY]), content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": docs.CSP, "X-Content-Type-Options": "nosniff"})


async def _css(request: web.Request) -> web.Response:
    return web.Response(body=(docs.HERE / "static" / "docs.css").read_bytes(), content_type="text/css",
                        charset="utf-8", headers={"Cache-Control": "max-age=3600"})


async def _unknown(request: web.Request) -> web.Response:
    return problems.answer(404, "not_found", f"没有这个接口：{request.method} {request.path}"
                           "（修正：可用的接口见 /api/v1/docs）")
