"""An emulator of the WeChat official-account platform: the ``/cgi-bin`` API (tokens, materials,
drafts, free publishing, mass sends, template and subscribe messages, users and tags), the
events it posts to the account's server, and a follower's view of what was published.

It shares no code with ``channels.wechat``: its own signing and AES (``crypto``), its own HTML
filter and its own records, checked against the official test vectors and wechatpy's client."""
from channels.sandbox.wechat.app import WechatEmulator
from channels.sandbox.wechat.config import EmulatorConfig

__all__ = ["EmulatorConfig", "WechatEmulator"]
