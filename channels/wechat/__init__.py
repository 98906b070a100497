"""WeChat official account channel: articles (draft → freepublish), pushes (mass send) within
the account's quota, topic notifications (template / subscribe messages), retraction and
correction. The server callback lives in ``bot.wechat_callback``; the sandbox emulator in
``channels.sandbox.wechat``."""
