"""The Weibo open API emulator (statuses/share, user_timeline, rate_limit_status, OAuth2) and
the sandbox account's timeline page. Independent of channels/weibo: nothing is imported from
the adapter it judges."""
from channels.sandbox.weibo.app import WeiboSandbox
from channels.sandbox.weibo.state import SandboxConfig

__all__ = ["SandboxConfig", "WeiboSandbox"]
