"""The settings every channel shares (``enabled``, ``sandbox``, ``base_url``) and the check that
a channel used outside sandbox mode has its secrets."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
    sandbox: bool = True
    base_url: str = ""  # remote API base; empty = the official endpoint (or the sandbox)
    #: posting slots for ``gongkai release queue``: "工作日 18:00" (working days) or "09:00" (every day)
    slots: list[str] = Field(default_factory=list)
    daily_cap: int = Field(default=0, ge=0)  # releases a day on this channel the queue may plan, 0 = no cap

    #: Fields that must be set when the channel is enabled and not in sandbox mode.
    _secrets: tuple[str, ...] = ()

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        from content.errors import InputError
        from schedules.slots import parse

        for text in value:
            try:
                parse(text)
            except InputError as exc:
                raise ValueError(f"{exc.message}（修正：{exc.fix}）") from None
        return value

    @model_validator(mode="after")
    def _need_secrets(self):  # noqa: ANN202
        if self.enabled and not self.sandbox:
            missing = [name for name in self._secrets if not getattr(self, name)]
            if missing:
                raise ValueError("MISSING_SECRETS:" + ",".join(missing))
        return self
