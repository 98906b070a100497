"""The API's error answers: ``{"error": {"code", "message", "field"}}`` with a stable code, a
Chinese message that names the problem and the fix, and the field at fault (or null).

User errors (:class:`content.errors.GongkaiError`) carry their own code; the HTTP status follows
from it. Request validation errors (pydantic) become 422 ``invalid_input`` naming the field."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from content.errors import Forbidden, GongkaiError, InputError, NotFound, WorkflowError


class ErrorDetail(BaseModel):
    """错误：稳定的代码、中文说明（含修正办法）、出错的字段"""

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """出错时的应答（API 的所有拒绝都是这个形状）"""

    error: ErrorDetail


#: HTTP status per error code, for codes whose status is not that of their class
STATUS_BY_CODE = {"forbidden": 403, "account_disabled": 403, "unauthorized": 401, "unauthenticated": 401,
                  "not_found": 404, "invalid_state": 409, "confirmation_required": 409, "invalid_input": 422,
                  "render_failed": 422, "store_unavailable": 503}
#: the statuses every operation may answer with besides its success
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422)
ERROR_TITLES = {400: "请求被拒绝", 401: "未认证：缺少或无效的个人令牌", 403: "账号没有执行此操作的角色",
                404: "对象不存在", 409: "当前状态不允许此操作（或需要确认）", 413: "请求体过大", 422: "输入不合格",
                500: "服务器内部错误", 503: "数据库暂时不可用"}


def code_of(exc: GongkaiError) -> str:
    """The machine-readable code: the error's own, else one from its class."""
    own = getattr(exc, "code", None)
    if isinstance(own, str) and own:
        return own
    if isinstance(exc, InputError):
        return "invalid_input"
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, WorkflowError):
        return "invalid_state"
    return "invalid_input"


def status_of(exc: GongkaiError) -> int:
    code = code_of(exc)
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, WorkflowError):
        return 409
    return 400


def answer(status: int, code: str, message: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return web.json_response(body.model_dump(mode="json"), status=status, headers=headers,
                             dumps=_dumps)


def from_error(exc: GongkaiError) -> web.Response:
    message = exc.message + (f"（{exc.fix}）" if exc.fix else "")
    return answer(status_of(exc), code_of(exc), message, exc.field)


def unauthorized(message: str) -> web.Response:
    return answer(401, "unauthorized", message, None, headers={"WWW-Authenticate": 'Bearer realm="gongkai"'})


# ------------------------------------------------------------------------ pydantic → Chinese
_MESSAGES = {
    "missing": "缺少必填项",
    "string_type": "应为文本",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "float_type": "应为数字", "float_parsing": "应为数字",
    "list_type": "应为数组", "dict_type": "应为 JSON 对象", "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "datetime_type": "应为时间", "datetime_parsing": "应为 ISO 8601 时间",
    "datetime_from_date_parsing": "应为 ISO 8601 时间",
    "timezone_aware": "时间须带时区",
    "date_type": "应为日期", "date_parsing": "应为日期", "date_from_datetime_parsing": "应为日期",
    "extra_forbidden": "不认识的字段",
    "json_invalid": "请求体不是合法的 JSON",
    "json_type": "请求体不是合法的 JSON",
    "string_pattern_mismatch": "格式不对",
    "value_error": "取值不合格",
    "string_unicode": "含有无法识别的字符",
}
_FIXES = {
    "missing": "补上该项",
    "datetime_parsing": "如 2026-12-01T09:00:00+08:00",
    "datetime_from_date_parsing": "如 2026-12-01T09:00:00+08:00",
    "timezone_aware": "如 2026-12-01T09:00:00+08:00",
    "date_parsing": "如 2026-12-01", "date_from_datetime_parsing": "如 2026-12-01",
    "extra_forbidden": "删去该字段；可用字段见 /api/v1/docs",
    "json_invalid": "发送 UTF-8 编码的 JSON，Content-Type: application/json",
    "string_pattern_mismatch": "格式见 /api/v1/docs 中该项的说明",
}


def _one(err: Any) -> tuple[str | None, str]:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    if kind in ("enum", "literal_error"):
        text = "应为以下之一：" + str(ctx.get("expected", "")).replace(" or ", ", ")
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "不小于", "greater_than": "大于", "less_than_equal": "不大于",
                 "less_than": "小于"}[kind]
        limit = next(iter(ctx.values()), "")
        text = f"须{bound} {limit}"
    elif kind in ("string_too_short", "too_short"):
        text = f"太短（至少 {ctx.get('min_length', 1)}）"
    elif kind in ("string_too_long", "too_long"):
        text = f"太长（最多 {ctx.get('max_length', '')}）"
    else:
        text = _MESSAGES.get(kind, "取值不合格")
        if kind == "value_error" and ctx.get("error"):
            text = str(ctx["error"])
    fix = _FIXES.get(kind, "")
    prefix = f"{field}: " if field else ""
    return field, prefix + text + (f"（{fix}）" if fix else "")


def from_validation(exc: ValidationError) -> web.Response:
    """422 ``invalid_input`` naming the first field at fault (all problems in the message)."""
    problems = [_one(e) for e in exc.errors(include_url=False)]
    field = problems[0][0] if problems else None
    message = "；".join(dict.fromkeys(p[1] for p in problems)) or "输入不合格"
    return answer(422, "invalid_input", message, field)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)
