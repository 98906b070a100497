"""Errors a user can cause. Each names what is wrong and how to fix it; nothing is changed.

Every error carries a machine-readable ``code`` (English, stable) beside its Chinese message,
so the HTTP API and ``--json`` answer ``{"error": {"code", "message", "field"}}``."""
from __future__ import annotations

from typing import Any, ClassVar


class GongkaiError(Exception):
    """Base of every user-facing error. ``str()`` is the message shown to staff (Chinese)."""

    default_code: ClassVar[str] = "invalid_input"

    def __init__(self, message: str, *, fix: str = "", field: str | None = None,
                 code: str | None = None) -> None:
        self.message = message
        self.fix = fix
        self.field = field
        self.code = code or self.default_code
        super().__init__(self.render())

    def render(self) -> str:
        # a message that already names its field is not prefixed twice ("--push: --push …")
        prefix = f"{self.field}: " if self.field and not self.message.startswith(self.field) else ""
        suffix = f"（{self.fix}）" if self.fix else ""
        return f"{prefix}{self.message}{suffix}"

    def as_json(self) -> dict[str, Any]:
        """The one error shape of the API and ``--json``."""
        return error_json(self.code, self.render(), self.field)


def error_json(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


class InputError(GongkaiError):
    """Bad input: front matter, a date, a phone number, an oversized text."""


class NotFound(GongkaiError):
    default_code = "not_found"


class WorkflowError(GongkaiError):
    """A step that the item's or release's current state does not allow."""

    default_code = "invalid_state"


class Forbidden(GongkaiError):
    """The acting account lacks the role an action needs (nothing is changed)."""

    default_code = "forbidden"
