"""WeChat error codes as staff should read them, and the two ways a call can fail: the platform
answered with an error code, or the request did not get a clear answer."""
from __future__ import annotations

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
CREDENTIAL_ERRORS = frozenset({40013, 40125, 41002, 41004, 40164, 40002})

EXPLAIN = {
    -1: "微信系统繁忙，稍后重试",
    40001: "access_token 无效或不是最新的（若获取令牌时出现，说明 AppSecret 错误：请核对 app_secret）",
    40003: "openid 无效（不是本公众号的粉丝）",
    40007: "素材 media_id 无效（素材或草稿已不存在）",
    40009: "图片大小超出限制",
    40005: "文件类型不受支持",
    40013: "AppID 无效：请核对 [channels.wechat] app_id",
    40014: "access_token 无效",
    40036: "模板 ID 长度不对：请核对 notify_template_id",
    40037: "模板 ID 无效：请在公众平台“模板消息/订阅通知”中确认 notify_template_id",
    40125: "AppSecret 无效：请核对 app_secret（公众平台“开发 → 基本配置”可重置）",
    40164: "调用方 IP 不在公众号的 IP 白名单中：请在公众平台“开发 → 基本配置 → IP白名单”加入本机出口 IP",
    41001: "缺少 access_token",
    42001: "access_token 已过期",
    43004: "对方未关注公众号",
    43101: "用户拒绝接收此订阅通知（未授权或已用完授权次数）",
    45002: "正文超过长度限制（2 万字符 / 1 MB）",
    45003: "标题超过 32 字",
    45004: "摘要超过 128 字",
    45008: "一次图文最多 8 篇",
    45009: "接口调用已达今日上限：可次日再试，或在公众平台“开发 → 接口权限”清零额度",
    45011: "调用过于频繁，请稍后再试",
    45028: "群发额度已用完（订阅号每天 1 次；服务号每月 4 次）",
    45065: "相同 clientmsgid 的群发已存在（此前已经群发过）",
    45067: "clientmsgid 超过 64 字节",
    45110: "作者超过 16 字",
    45157: "标签名无效或重复",
    45159: "标签不存在",
    47001: "请求数据格式错误",
    48001: "公众号没有此接口的权限（未认证或类型不符）",
    53503: "该草稿正在发布中",
    53600: "文章 ID 无效（已删除或不存在）",
}


class WechatError(Exception):
    """The platform answered with a non-zero errcode."""

    def __init__(self, code: int, errmsg: str, endpoint: str, body: dict | None = None) -> None:
        self.code = code
        self.errmsg = errmsg
        self.endpoint = endpoint
        self.body = body or {}
        super().__init__(self.describe())

    def describe(self) -> str:
        meaning = EXPLAIN.get(self.code)
        raw = self.errmsg.split(" rid:")[0].strip()
        return (f"微信接口 {self.endpoint} 返回 {self.code}：{meaning}（{raw}）" if meaning
                else f"微信接口 {self.endpoint} 返回 {self.code}：{raw}")


class WechatTransportError(Exception):
    """No usable answer: refused connection, timeout, HTTP error, a body that is not JSON.

    ``reached`` is False only when the request certainly did not reach the platform (the
    connection was refused); otherwise the call may have been carried out."""

    def __init__(self, endpoint: str, reason: str, *, reached: bool) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.reached = reached
        super().__init__(f"调用微信接口 {endpoint} 时{reason}")
