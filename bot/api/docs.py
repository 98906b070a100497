"""``/api/v1/docs``: a readable page listing every operation of the registry (method, path,
what it does, who may call it, its parameters and body fields, its answers), rendered on the
server from the same OpenAPI document as ``/api/v1/openapi.json``. No script, no CDN."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"{_type(schema.get('items', {}))}[]"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _fields(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", ()))
    return [{"name": name, "type": _type(prop), "required": name in required,
             "description": prop.get("description") or prop.get("title", "")}
            for name, prop in schema.get("properties", {}).items()]


def page(doc: dict[str, Any]) -> str:
    defs = doc["components"]["schemas"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            none: tuple[str | None, dict[str, Any]] = (None, {})
            media, spec = next(iter(body.items()), none)
            ok = next((code, r) for code, r in op["responses"].items() if code.startswith("2"))
            ok_content: dict[str, Any] = ok[1].get("content", {})
            ok_media, ok_spec = next(iter(ok_content.items()), none)
            groups.setdefault(op["tags"][0], []).append({
                "method": method.upper(), "path": path, "id": op["operationId"], "summary": op["summary"],
                "description": op.get("description", ""),
                "params": [{"name": p["name"], "in": p["in"], "type": _type(p["schema"]), "required": p["required"],
                            "description": p.get("description", "")} for p in op.get("parameters", ())],
                "body_media": media,
                "body": _fields(spec.get("schema", {}), defs) if media == "application/json" else [],
                "ok_status": ok[0], "ok_media": ok_media,
                "ok": _fields(ok_spec.get("schema", {}), defs) if ok_media == "application/json" else [],
                "errors": [c for c in op["responses"] if not c.startswith("2")],
            })
    return _env.get_template("docs.html").render(info=doc["info"], groups=groups)
