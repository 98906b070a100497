"""The explicit list of channel adapters. Importing a module registers its channel."""
from __future__ import annotations


def load() -> None:
    from channels.website import channel  # noqa: F401
    from channels.weibo import channel as _weibo  # noqa: F401
    from channels.sms import channel as _sms  # noqa: F401
    from channels.wechat import channel as _wechat  # noqa: F401
