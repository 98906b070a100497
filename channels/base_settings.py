"""The settings every channel shares (``enabled``, ``sandbox``, ``base_url``) and the check that
a channel used outside sandbox mode has its secrets."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
    sandbox: bool = True
    base_url: str = ""  # remote API base; empty = the official endpoint (or the sandbox)

    #: Fields that must be set when the channel is enabled and not in sandbox mode.
    _secrets: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _need_secrets(self):  # noqa: ANN202
        if self.enabled and not self.sandbox:
            missing = [name for name in self._secrets if not getattr(self, name)]
            if missing:
                raise ValueError("MISSING_SECRETS:" + ",".join(missing))
        return self
