"""The OpenAPI 3.1 document of ``/api/v1``, built from the route registry and the pydantic
models' own JSON schemas (OpenAPI 3.1 uses JSON Schema 2020-12, as pydantic does), so the
document cannot drift from what the handlers accept and answer."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api.problems import ERROR_STATUSES, ERROR_TITLES, ErrorBody
from bot.api.registry import PREFIX, Empty, Operation, Registry, Text

REF = "#/components/schemas/{model}"


def _models(ops: list[Operation]) -> list[tuple[type[BaseModel], Any]]:
    seen: dict[tuple[type[BaseModel], str], None] = {(ErrorBody, "serialization"): None}
    for op in ops:
        for model in (op.path_model, op.query):
            if model is not Empty:
                seen[(model, "validation")] = None
        if isinstance(op.body, type):
            seen[(op.body, "validation")] = None
        if isinstance(op.answer, type):
            seen[(op.answer, "serialization")] = None
    return list(seen)  # type: ignore[arg-type]


def _parameters(where: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        if where == "query" and (prop.get("type") == "array" or any(
                a.get("type") == "array" for a in prop.get("anyOf", ()))):
            param["style"], param["explode"] = "form", True
        out.append(param)
    return out


def document(registry: Registry, *, server: str = "") -> dict[str, Any]:
    ops = registry.operations
    keys, top = models_json_schema(_models(ops), ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return keys[(model, mode)]  # type: ignore[index]

    def inline(model: type[BaseModel]) -> dict[str, Any]:
        found = ref(model, "validation")
        name = found["$ref"].rsplit("/", 1)[-1]
        return defs[name]

    error = {"description": "", "content": {"application/json": {"schema": ref(ErrorBody, "serialization")}}}
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        entry: dict[str, Any] = {"operationId": op.op_id, "summary": op.summary, "tags": [op.tag],
                                 "security": [{"bearerAuth": []}]}
        description = "\n\n".join(x for x in (op.description, f"角色：{op.roles}" if op.roles else "") if x)
        if description:
            entry["description"] = description
        params = []
        if op.path_model is not Empty:
            params += _parameters("path", inline(op.path_model))
        if op.query is not Empty:
            params += _parameters("query", inline(op.query))
        if params:
            entry["parameters"] = params
        if isinstance(op.body, Text):
            entry["requestBody"] = {"required": True, "description": op.body.description,
                                    "content": {op.body.media_type: {"schema": {"type": "string"}}}}
        elif op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": ref(op.body, "validation")}}}
        responses: dict[str, Any] = {}
        if op.answer is None:
            responses[str(op.status)] = {"description": "完成"}
        elif isinstance(op.answer, Text):
            responses[str(op.status)] = {"description": op.answer.description or "文件",
                                         "content": {op.answer.media_type: {"schema": {"type": "string"}}}}
        else:
            responses[str(op.status)] = {"description": op.answer.__doc__.strip().splitlines()[0]
                                         if op.answer.__doc__ else "完成",
                                         "content": {"application/json": {"schema": ref(op.answer, "serialization")}}}
        for status in (*ERROR_STATUSES, 500, 503):
            responses[str(status)] = {**error, "description": ERROR_TITLES[status]}
        entry["responses"] = responses
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = entry
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": registry.title, "version": registry.version,
                 "description": "公开（Gongkai）HTTP API。用个人令牌认证：Authorization: Bearer gk_…"},
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "个人 API 令牌（gongkai user token 登录名）"}}},
        "security": [{"bearerAuth": []}],
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc
