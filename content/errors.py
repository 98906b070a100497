"""Errors a user can cause. Each names what is wrong and how to fix it; nothing is changed."""
from __future__ import annotations


class GongkaiError(Exception):
    """Base of every user-facing error. ``str()`` is the message shown to staff (Chinese)."""

    def __init__(self, message: str, *, fix: str = "", field: str | None = None) -> None:
        self.message = message
        self.fix = fix
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        # a message that already names its field is not prefixed twice ("--push: --push …")
        prefix = f"{self.field}: " if self.field and not self.message.startswith(self.field) else ""
        suffix = f"（{self.fix}）" if self.fix else ""
        return f"{prefix}{self.message}{suffix}"


class InputError(GongkaiError):
    """Bad input: front matter, a date, a phone number, an oversized text."""


class NotFound(GongkaiError):
    pass


class WorkflowError(GongkaiError):
    """A step that the item's or release's current state does not allow."""
