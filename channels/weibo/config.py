"""Settings of the Weibo channel (``[channels.weibo]``)."""
from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from channels.base_settings import ChannelSettings

#: The app the bot's own emulator registers in sandbox mode when no app_key is configured.
#: Not a secret: the emulator only runs inside the bot, on its own port.
SANDBOX_APP_KEY = "3000000001"
SANDBOX_APP_SECRET = "sandbox-secret-not-for-production"


class WeiboSettings(ChannelSettings):
    app_key: str = ""
    app_secret: str = ""
    redirect_uri: str = ""
    safe_domain: str = ""
    #: The operating user's real IP, sent as ``rip`` with every post (Weibo requires it).
    rip: str = ""
    #: ``gongkai status`` warns this many days before the access token expires.
    expiry_warning_days: int = Field(default=3, ge=0, le=90)
    #: The bot's own ceiling on posts per rolling hour (0 = none); above it posts wait.
    max_posts_per_hour: int = Field(default=30, ge=0, le=1000)
    #: After a lost response, look for the post on the account's timeline
    #: (statuses/user_timeline) instead of asking staff.
    check_timeline: bool = True
    #: How often deliveries paused by an unusable token look again, in seconds.
    pause_recheck_seconds: float = Field(default=300.0, ge=5, le=86400)
    #: Time limit of one HTTP call to Weibo, in seconds.
    request_timeout_seconds: float = Field(default=20.0, gt=0, le=110)
    #: Lifetime of the tokens the sandbox emulator issues, in days (sandbox = true only).
    sandbox_token_days: float = Field(default=7.0, gt=0, le=3650)

    _secrets = ("app_key", "app_secret", "rip")

    @field_validator("safe_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower()
        if "/" in value or ":" in value:
            raise ValueError(f"安全域名 {value!r} 应只写域名，如 www.example.gov.cn（不带 http:// 和路径）")
        return value

    @field_validator("rip")
    @classmethod
    def _ip(cls, value: str) -> str:
        import ipaddress

        if value:
            try:
                ipaddress.ip_address(value.strip())
            except ValueError:
                raise ValueError(f"rip {value!r} 不是 IP 地址；应为操作用户的真实 IP，如 211.156.0.1") from None
        return value.strip()

    # derived values ---------------------------------------------------------------------------
    def credentials(self) -> tuple[str, str]:
        """(app_key, app_secret); in sandbox mode the emulator's app when none is configured."""
        if self.sandbox and not self.app_key:
            return SANDBOX_APP_KEY, SANDBOX_APP_SECRET
        return self.app_key, self.app_secret

    def domain_for(self, site_url: str) -> str:
        """The safe domain: the configured one, else the host of the website's base URL."""
        return self.safe_domain or (urlsplit(site_url).hostname or "").lower()

    def real_ip(self) -> str:
        return self.rip or ("127.0.0.1" if self.sandbox else "")
