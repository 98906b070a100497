"""The route registry: each operation of ``/api/v1`` is declared once with its method, path,
roles-independent summary, and the pydantic models of its path, query, body and answers. The
same declaration mounts the aiohttp route (parsing and validating input, checking the token,
turning errors into the error shape) and builds the OpenAPI document (``bot.api.openapi``).

A handler is ``async def handler(call: Call) -> Model`` and calls the ops layer; it never
checks roles itself (the ops function does) and never writes to the store directly."""
from __future__ import annotations

import json
import logging
import types
from urllib.parse import quote
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.api import auth, problems
from content.errors import GongkaiError

if TYPE_CHECKING:
    from bot.service import Service
    from content.accounts import AccountView

log = logging.getLogger("gongkai.api")
PREFIX = "/api/v1"
P = TypeVar("P", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)
B = TypeVar("B")


#: a stored object's number (the store's integers are 32-bit on every backend)
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Empty(BaseModel):
    """No parameters."""


@dataclass(frozen=True)
class Text:
    """A request or answer body that is plain text of a media type (a Markdown file, a CSV)."""

    media_type: str
    description: str = ""


@dataclass
class Call(Generic[P, Q, B]):
    """One request, checked: the service, the account its token proves, and the parsed input."""

    request: web.Request
    svc: Service
    who: AccountView
    path: P
    query: Q
    body: B


@dataclass(frozen=True)
class Download:
    """An answer that is a file (e.g. a CSV export), not JSON."""

    text: str
    filename: str


Handler = Callable[[Call[Any, Any, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # below PREFIX, aiohttp/OpenAPI style: "/items/{item_id}"
    op_id: str
    summary: str  # Chinese, shown on the docs page
    tag: str
    handler: Handler
    answer: type[BaseModel] | Text | None  # None: 204 without a body
    status: int = 200
    path_model: type[BaseModel] = Empty
    query: type[BaseModel] = Empty
    body: type[BaseModel] | Text | None = None
    description: str = ""
    roles: str = ""  # who may call it, in Chinese, for the docs (the ops function decides)


@dataclass
class Registry:
    title: str
    version: str
    operations: list[Operation] = field(default_factory=list)

    def add(self, method: str, path: str, *, op_id: str, summary: str, tag: str,
            answer: type[BaseModel] | Text | None, status: int = 200,
            path_model: type[BaseModel] = Empty, query: type[BaseModel] = Empty,
            body: type[BaseModel] | Text | None = None, description: str = "",
            roles: str = "") -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(Operation(method.upper(), path, op_id, summary, tag, handler, answer, status,
                                             path_model, query, body, description, roles))
            return handler
        return register

    def mount(self, app: web.Application, service_key: web.AppKey[Any]) -> None:
        for op in self.operations:
            app.router.add_route(op.method, PREFIX + op.path, _endpoint(op, service_key))


def _endpoint(op: Operation, service_key: web.AppKey[Any]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        svc = request.app[service_key]
        try:
            who = await auth.account(request, svc)
        except auth.Unauthenticated as exc:
            return problems.unauthorized(str(exc))
        try:
            path = op.path_model.model_validate(dict(request.match_info))
            query = op.query.model_validate(_query(request, op.query))
            body = await _body(request, op)
        except ValidationError as exc:
            return problems.from_validation(exc)
        except _BadBody as exc:
            return problems.answer(422, "invalid_input", str(exc), None)
        except web.HTTPRequestEntityTooLarge:
            limit = request.app._client_max_size // 1024  # the web app's own request limit
            return problems.answer(413, "too_large", f"请求体超过 {limit} KB（修正：分批发送；大的订阅用户文件用命令行导入）")
        try:
            result = await op.handler(Call(request, svc, who, path, query, body))
        except GongkaiError as exc:
            return problems.from_error(exc)
        except Exception:  # noqa: BLE001 - an answer in the error shape, the trace in the log
            log.exception("API %s %s failed", op.method, op.path)
            return problems.answer(500, "internal", "服务器内部错误，已记录（请稍后重试或联系管理员）")
        return _reply(op, result)

    endpoint.__name__ = op.op_id
    return endpoint


class _BadBody(Exception):
    pass


def _query(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """The query string as the model expects it: repeated keys for list fields."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.query:
            continue
        values = request.query.getall(key)
        out[key] = values if _is_list(info.annotation) else values[-1]
    return out


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (Union, types.UnionType):
        return any(_is_list(a) for a in get_args(annotation))
    return False


async def _body(request: web.Request, op: Operation) -> Any:
    if op.body is None:
        return None
    raw = await request.read()
    if isinstance(op.body, Text):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return raw.decode("gb18030")
            except UnicodeDecodeError:
                raise _BadBody("请求体不是 UTF-8 编码的文本（修正：存为 UTF-8 后再发送）") from None
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _BadBody("请求体不是合法的 JSON（修正：发送 UTF-8 编码的 JSON，Content-Type: application/json）") from None
    return op.body.model_validate(data)


def _disposition(filename: str) -> str:
    """``attachment`` with an ASCII name and the real (possibly Chinese) one per RFC 6266."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _reply(op: Operation, result: Any) -> web.StreamResponse:
    if op.answer is None:
        return web.Response(status=204)
    if isinstance(op.answer, Text):
        assert isinstance(result, Download), f"{op.op_id} must answer a Download"
        return web.Response(status=op.status, text=result.text, content_type=op.answer.media_type,
                            charset="utf-8",
                            headers={"Content-Disposition": _disposition(result.filename)})
    # the answer is checked against its declared model before it leaves
    checked = op.answer.model_validate(result.model_dump() if isinstance(result, BaseModel) else result)
    return web.json_response(checked.model_dump(mode="json"), status=op.status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))
