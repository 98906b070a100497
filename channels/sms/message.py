"""What one release sends: the template chosen for its kind, the parameters rendered with Jinja2,
the full text with 【signature】, and every provider limit checked (reference §5)."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from channels.base import LengthCheck, Rendition
from channels.sms import length
from channels.sms.config import SmsSettings, SmsTemplate
from content.errors import InputError
from content.kinds import kind_label
from content.views import ItemView

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
CODE_PARAM_MAX = 6


def clip(value: Any, limit: int) -> str:
    """Shorten to ``limit`` characters, ending with "…" when something was cut."""
    text = str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def make_environment(local=None) -> SandboxedEnvironment:  # noqa: ANN001
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters["clip"] = clip
    if local is not None:
        env.filters["local"] = local
    return env


@dataclass(frozen=True)
class Message:
    kind: str  # the templates table used
    template: SmsTemplate
    params: dict[str, str]
    content: str  # the template text with the parameters in it
    full: str  # 【signature】content
    checks: tuple[LengthCheck, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def segments(self) -> int:
        return length.segments(self.full)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def problems(self) -> list[str]:
        return [f"{c.name}：{c.actual}/{c.limit} {c.unit}" + (f"（{c.note}）" if c.note else "")
                for c in self.checks if not c.ok]

    def code_for(self, provider_index: int) -> str:
        return self.template.code if provider_index == 0 else self.template.failover_code


class Composer:
    def __init__(self, settings: SmsSettings, site_url: str, local=None) -> None:  # noqa: ANN001
        self.settings = settings
        self.site_url = site_url.rstrip("/")
        self.env = make_environment(local)

    def template_for(self, kind: str) -> tuple[str, SmsTemplate]:
        templates = self.settings.templates
        if kind in templates:
            return kind, templates[kind]
        if "default" in templates:
            return "default", templates["default"]
        raise InputError(f"没有可用于“{kind_label(kind)}”的短信模板",
                         field=f"channels.sms.templates.{kind}",
                         fix=f"在配置中加 [channels.sms.templates.{kind}] 或 [channels.sms.templates.default]，"
                             "写明服务商审核通过的模板 code 和 params")

    def _render_params(self, key: str, template: SmsTemplate, context: Mapping[str, Any]) -> dict[str, str]:
        params = {}
        for name, expression in template.params.items():
            try:
                params[name] = " ".join(self.env.from_string(expression).render(**context).split())
            except TemplateError as exc:
                raise InputError(f"短信模板参数 {name} 的表达式无法渲染：{exc}",
                                 field=f"channels.sms.templates.{key}.params.{name}",
                                 fix="检查 Jinja2 表达式，如 \"{{ item.title | clip(30) }}\"；"
                                     "可用 item、items、url、site_url") from exc
        return params

    def compose(self, items: tuple[ItemView, ...], *, kind: str | None = None) -> Message:
        if not items:
            raise InputError("短信没有可发送的稿件", fix="检查发布计划中的稿件编号：gongkai post list")
        first = items[0]
        key, template = self.template_for(kind or first.kind)
        url = f"{self.site_url}/{first.path}"
        context = {"item": first, "items": items, "url": url, "site_url": self.site_url,
                   "kind_label": kind_label(first.kind), "sign_name": self.settings.sign_name}
        return self._build(key, template, self._render_params(key, template, context),
                           self.settings.param_max_chars)

    def compose_code(self, code: str) -> Message:
        template = self.settings.code_template
        params = self._render_params("code_template", template, {"code": code})
        return self._build("code_template", template, params, CODE_PARAM_MAX)

    def compose_duty(self, values: Mapping[str, str]) -> Message:
        """A compliance warning to a duty contact (schedules.notices.duty_params)."""
        template = self.settings.duty_template
        params = self._render_params("duty_template", template, values)
        return self._build("duty_template", template, params, self.settings.param_max_chars)

    def _build(self, key: str, template: SmsTemplate, params: dict[str, str], param_max: int) -> Message:
        s = self.settings
        checks: list[LengthCheck] = []
        notes: list[str] = []
        for name, value in params.items():
            checks.append(LengthCheck(
                f"变量 {name}", param_max, len(value),
                note="服务商限制单个变量长度；可在 params 中用 clip 截短" if len(value) > param_max else ""))
            if not s.allow_url_params and length.has_url(value):
                checks.append(LengthCheck(f"变量 {name} 中的网址", 0, 1, "处",
                                          note="服务商不允许在变量中放网址；请把固定网址写进模板正文"))
        if template.text:
            missing = [n for n in PLACEHOLDER.findall(template.text) if n not in params]
            if missing:
                raise InputError(f"模板正文中的变量 {'、'.join(missing)} 没有对应的参数",
                                 field=f"channels.sms.templates.{key}.params",
                                 fix="为每个 ${变量} 在 params 中写一个表达式")
            content = PLACEHOLDER.sub(lambda m: params[m.group(1)], template.text)
        else:
            content = "，".join(params.values())
            notes.append("未配置模板正文（text），长度只按变量估算；请把服务商审核通过的模板正文写进 text")
        full = length.full_text(s.sign_name, content)
        bad = length.forbidden_characters(content)
        if bad:
            checks.append(LengthCheck("不宜使用的字符", 0, len(bad), "个",
                                      note=f"{' '.join(bad)} 会被拒发或显示为乱码（内容中不得有【】）"))
        checks.append(LengthCheck("短信长度（含【签名】）", length.MAX_CHARS, len(full)))
        parts = length.segments(full)
        checks.append(LengthCheck("计费条数", s.max_segments, parts, "条",
                                  note=f"共 {len(full)} 字：不超过 70 字为 1 条，超过后每 67 字 1 条"))
        notes.append(f"模板 {template.code}" + (f"（备用服务商 {template.failover_code}）" if template.failover_code else "")
                     + "，参数 " + json.dumps(params, ensure_ascii=False))
        return Message(key, template, params, content, full, tuple(checks), tuple(notes))

    def rendition(self, message: Message, label: str) -> Rendition:
        return Rendition(label=label, text=message.full, checks=message.checks, notes=message.notes)
