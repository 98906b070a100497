"""What an emulated official account is: its credentials, kind, quotas and where it posts events."""
from __future__ import annotations

from dataclasses import dataclass, field

#: Daily call limits of a newly registered account (protocol reference §1.2); 0 = unlimited.
DEFAULT_DAILY_LIMITS = {
    "token": 2000, "media/uploadimg": 100000, "material/add_material": 100000,
    "message/mass/sendall": 100, "message/mass/send": 100, "message/mass/preview": 100,
    "user/get": 500, "draft/add": 1000, "draft/get": 500, "draft/delete": 1000,
    "draft/count": 1000, "draft/batchget": 1000, "freepublish/submit": 100,
    "freepublish/get": 100, "freepublish/delete": 10, "freepublish/getarticle": 100,
    "freepublish/batchget": 100,
}


@dataclass
class EmulatorConfig:
    app_id: str
    app_secret: str
    token: str  # the server-configuration token that signs callbacks
    encoding_aes_key: str = ""  # set = safe mode: events are encrypted
    original_id: str = "gh_000000000000"  # ToUserName of events
    account_type: str = "subscription"  # or "service"
    account_name: str = "政务公开（沙箱）"
    template_ids: frozenset[str] = frozenset()  # template / subscribe-message ids the account has
    callback_url: str = ""  # where events are posted; empty = none
    public_url: str = ""  # absolute URL of the emulator's mount (article and image links)
    publish_delay: float = 1.0  # seconds until a publish or mass send finishes
    token_ttl: int = 7200
    template_events: bool = True  # post TEMPLATESENDJOBFINISH after each template message
    ip_whitelist: tuple[str, ...] = ()  # empty = every caller allowed
    daily_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_LIMITS))
    rate_limits: dict[str, float] = field(default_factory=dict)  # endpoint -> calls per second
    mass_per_day: int = 1  # subscription accounts: successful mass sends a day
    mass_to_all_per_month: int = 4  # service accounts: is_to_all sends a month
    per_follower_per_month: int = 4  # service accounts: pushes a follower receives a month
    timezone: str = "Asia/Shanghai"  # WeChat's day and month
