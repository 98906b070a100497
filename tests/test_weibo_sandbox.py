"""The Weibo emulator on its own, spoken to over HTTP with a plain aiohttp client (not the
adapter): the OAuth2 code flow, statuses/share with Weibo's validation, hourly limits, the
timeline, the error format, persistence and the timeline page."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from channels.sandbox.weibo import SandboxConfig, WeiboSandbox
from content.clock import FixedClock

KEY, SECRET = "3000000001", "s3cret"
PAGE = "https://www.gov.example.cn/items/1.html"


class Emu:
    def __init__(self, sandbox: WeiboSandbox, base: str, http: aiohttp.ClientSession, clock: FixedClock) -> None:
        self.sandbox, self.base, self.http, self.clock = sandbox, base, http, clock
        self.api = base + "/api"

    async def call(self, method: str, path: str, **kw) -> tuple[int, dict]:
        async with self.http.request(method, self.api + path, allow_redirects=False, **kw) as resp:
            return resp.status, await resp.json(content_type=None)

    async def code(self, state: str = "xyz") -> str:
        redirect = self.api + "/oauth2/default.html"
        async with self.http.post(self.api + "/oauth2/authorize", allow_redirects=False, data={
                "client_id": KEY, "redirect_uri": redirect, "response_type": "code", "state": state,
                "action": "authorize"}) as resp:
            assert resp.status == 302
            query = parse_qs(urlsplit(resp.headers["Location"]).query)
            assert query["state"] == [state]
            return query["code"][0]

    async def token(self) -> str:
        status, body = await self.call("POST", "/oauth2/access_token", data={
            "client_id": KEY, "client_secret": SECRET, "grant_type": "authorization_code",
            "code": await self.code(), "redirect_uri": self.api + "/oauth2/default.html"})
        assert status == 200, body
        return body["access_token"]

    async def share(self, token: str, status: str, rip: str = "211.156.0.1", pic: bytes | None = None) -> tuple[int, dict]:
        if pic is None:
            return await self.call("POST", "/2/statuses/share.json",
                                   data={"access_token": token, "status": status, "rip": rip})
        form = aiohttp.FormData()
        form.add_field("access_token", token)
        form.add_field("status", status)
        form.add_field("rip", rip)
        form.add_field("pic", pic, filename="cover.png", content_type="image/png")
        return await self.call("POST", "/2/statuses/share.json", data=form)


def image(fmt: str = "PNG", size: tuple[int, int] = (20, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, fmt)
    return buf.getvalue()


def make(clock: FixedClock, state_dir: Path | None = None, **kw) -> WeiboSandbox:
    return WeiboSandbox(SandboxConfig(app_key=KEY, app_secret=SECRET, safe_domains=("gov.example.cn",),
                                      state_dir=state_dir, **kw), clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 2, 10, tzinfo=UTC))


@pytest.fixture
async def emu(clock: FixedClock):
    sandbox = make(clock, share_per_hour=5, user_per_hour=12, ip_per_hour=1000)
    root = web.Application()
    root.add_subapp("/sandbox/weibo", sandbox.make_app())
    server = TestServer(root)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Emu(sandbox, str(server.make_url("/sandbox/weibo")), http, clock)
    sandbox.release_held()
    await server.close()


# ------------------------------------------------------------------------------------ OAuth2
async def test_the_authorize_page_and_the_code_exchange(emu: Emu) -> None:
    redirect = emu.api + "/oauth2/default.html"
    async with emu.http.get(emu.api + "/oauth2/authorize", params={
            "client_id": KEY, "redirect_uri": redirect, "response_type": "code", "state": "s1"}) as page:
        text = await page.text()
    assert page.status == 200 and "授权" in text and "示例市发布" in text
    code = await emu.code()
    async with emu.http.get(redirect, params={"code": code}) as landing:
        assert code in await landing.text()
    status, body = await emu.call("POST", "/oauth2/access_token", data={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "authorization_code", "code": code,
        "redirect_uri": redirect})
    assert status == 200
    assert body["access_token"].startswith("2.00") and body["uid"] == "5836109200"
    assert body["expires_in"] == 7 * 86400 and body["remind_in"] == str(7 * 86400)  # remind_in is a string
    status, again = await emu.call("POST", "/oauth2/access_token", data={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "authorization_code", "code": code,
        "redirect_uri": redirect})
    assert status == 400 and again["error_code"] == 21325 and again["error"] == "invalid_grant"
    status, info = await emu.call("POST", "/oauth2/get_token_info", data={"access_token": body["access_token"]})
    assert info["uid"] == 5836109200 and info["appkey"] == KEY and info["expire_in"] == 7 * 86400


@pytest.mark.parametrize("change, code", [
    ({"client_secret": "wrong"}, 21324),
    ({"grant_type": "password"}, 21328),
    ({"redirect_uri": "https://evil.example.com/cb"}, 21322),
])
async def test_bad_token_requests_are_refused_with_oauth_errors(emu: Emu, change: dict, code: int) -> None:
    params = {"client_id": KEY, "client_secret": SECRET, "grant_type": "authorization_code",
              "code": await emu.code(), "redirect_uri": emu.api + "/oauth2/default.html", **change}
    status, body = await emu.call("POST", "/oauth2/access_token", data=params)
    assert status in (400, 401) and body["error_code"] == code and body["error_description"]


async def test_a_code_expires_after_ten_minutes(emu: Emu) -> None:
    code = await emu.code()
    emu.clock.advance(minutes=11)
    status, body = await emu.call("POST", "/oauth2/access_token", data={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "authorization_code", "code": code,
        "redirect_uri": emu.api + "/oauth2/default.html"})
    assert status == 400 and body["error_code"] == 21325


async def test_an_unknown_app_or_redirect_gets_an_error_page_and_cancel_is_reported(emu: Emu) -> None:
    async with emu.http.get(emu.api + "/oauth2/authorize", params={
            "client_id": "999", "redirect_uri": emu.api + "/oauth2/default.html", "response_type": "code"}) as r:
        assert r.status == 400 and "21324" in await r.text()
    async with emu.http.get(emu.api + "/oauth2/authorize", params={
            "client_id": KEY, "redirect_uri": "https://evil.example.com/cb", "response_type": "code"}) as r:
        assert r.status == 400 and "21322" in await r.text()
    async with emu.http.post(emu.api + "/oauth2/authorize", allow_redirects=False, data={
            "client_id": KEY, "redirect_uri": emu.api + "/oauth2/default.html", "response_type": "code",
            "state": "s", "action": "cancel"}) as r:
        query = parse_qs(urlsplit(r.headers["Location"]).query)
        assert query["error"] == ["access_denied"] and query["error_code"] == ["21330"]


async def test_tokens_expire_and_revoked_tokens_are_invalid(emu: Emu) -> None:
    token = await emu.token()
    assert (await emu.share(token, f"通知 {PAGE}"))[0] == 200
    emu.clock.advance(days=7, seconds=1)
    status, body = await emu.share(token, f"另一条通知 {PAGE}")
    assert status == 401 and body["error_code"] == 21327 and body["error"] == "expired_token"
    fresh = await emu.token()
    status, body = await emu.call("POST", "/oauth2/revokeoauth2", data={"access_token": fresh})
    assert body == {"result": "true"}
    status, body = await emu.share(fresh, f"第三条通知 {PAGE}")
    assert body["error_code"] == 21332


# ----------------------------------------------------------------------------- statuses/share
async def test_share_with_and_without_a_picture(emu: Emu) -> None:
    token = await emu.token()
    status, plain = await emu.share(token, f"【政策文件】示例通知 全文：{PAGE}")
    assert status == 200 and plain["idstr"] == str(plain["id"]) and plain["id"] > 2 ** 53
    assert plain["text"].startswith("【政策文件】示例通知 全文：http://t.cn/")  # links are shortened
    assert plain["created_at"] == "Fri Nov 20 10:10:00 +0800 2026" and "original_pic" not in plain
    status, with_pic = await emu.share(token, f"【图片】示例通知 {PAGE}", pic=image())
    assert status == 200 and with_pic["original_pic"].endswith(f"/pic/{with_pic['idstr']}.png")
    async with emu.http.get(with_pic["original_pic"]) as pic:
        assert pic.content_type == "image/png" and (await pic.read()) == image()


@pytest.mark.parametrize("status_text, rip, pic, code", [
    ("没有链接的微博", "211.156.0.1", None, 10017),
    ("别处的链接 https://www.example.com/a.html", "211.156.0.1", None, 10017),
    (f"#话题# 不允许 {PAGE}", "211.156.0.1", None, 10017),
    ("长" * 131 + f" {PAGE}", "211.156.0.1", None, 20012),
    ("   ", "211.156.0.1", None, 20008),
    (f"缺少 rip {PAGE}", "", None, 10016),
    (f"rip 不是地址 {PAGE}", "not-an-ip", None, 10017),
    (f"BMP 图片 {PAGE}", "211.156.0.1", "BMP", 20005),
])
async def test_share_validates_like_weibo(emu: Emu, status_text: str, rip: str, pic: str | None, code: int) -> None:
    token = await emu.token()
    status, body = await emu.share(token, status_text, rip=rip, pic=image(pic) if pic else None)
    assert status >= 400 and int(body["error_code"]) == code
    assert body["request"] == "/2/statuses/share.json"
    assert emu.sandbox.timeline() == []


async def test_the_error_code_comes_as_a_string_for_system_errors_and_a_number_otherwise(emu: Emu) -> None:
    _, body = await emu.call("POST", "/2/statuses/share.json", data={"status": f"x {PAGE}", "rip": "1.1.1.1"})
    assert body["error_code"] == "10006"
    token = await emu.token()
    await emu.share(token, f"一条 {PAGE}")
    status, body = await emu.share(token, f"一条 {PAGE}")
    assert body["error_code"] == 20019
    status, body = await emu.call("GET", "/2/statuses/share.json", params={"access_token": token})
    assert status == 405 and body["error_code"] == "10021"
    status, body = await emu.call("GET", "/2/no/such/api.json")
    assert status == 404 and body["error_code"] == "10020"


async def test_a_picture_of_5_mb_or_more_is_refused(emu: Emu) -> None:
    token = await emu.token()
    big = b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024)
    status, body = await emu.share(token, f"大图 {PAGE}", pic=big)
    assert status == 400 and body["error_code"] == 20006


async def test_repeats_within_the_window_are_refused(emu: Emu) -> None:
    emu.sandbox.config.duplicate_window = timedelta(hours=1)
    token = await emu.token()
    assert (await emu.share(token, f"停水通知：明日停水。{PAGE}"))[0] == 200
    assert (await emu.share(token, f"停水通知：明日停水。{PAGE}"))[1]["error_code"] == 20019
    # the same words with other punctuation and another link: similar content
    assert (await emu.share(token, "停水通知 明日停水！ https://www.gov.example.cn/items/2.html"))[1]["error_code"] == 20017
    emu.clock.advance(hours=2)
    # outside the window, but the same as the latest post
    assert (await emu.share(token, f"停水通知：明日停水。{PAGE}"))[1]["error_code"] == 20111
    assert (await emu.share(token, f"停电通知：明日停电。{PAGE}"))[0] == 200
    assert (await emu.share(token, f"停水通知：明日停水。{PAGE}"))[0] == 200


async def test_hourly_limits_per_user_for_share_and_overall(emu: Emu) -> None:
    token = await emu.token()
    for n in range(5):
        assert (await emu.share(token, f"第 {n} 条 {PAGE}"))[0] == 200
    status, body = await emu.share(token, f"第 6 条 {PAGE}")
    assert status == 403 and body["error_code"] == "10024"
    status, limits = await emu.call("GET", "/2/account/rate_limit_status.json", params={"access_token": token})
    assert limits["reset_time_in_seconds"] == 50 * 60 and limits["reset_time"] == "2026-11-20 11:00:00"
    assert limits["api_rate_limits"][0]["remaining_hits"] == 0
    for _ in range(6):  # 6 shares so far; the user may make 12 calls an hour
        assert (await emu.call("GET", "/2/statuses/user_timeline.json", params={"access_token": token}))[0] == 200
    status, body = await emu.call("GET", "/2/statuses/user_timeline.json", params={"access_token": token})
    assert body["error_code"] == "10023"
    emu.clock.advance(minutes=50)  # a new hour
    assert (await emu.share(token, f"新的一小时 {PAGE}"))[0] == 200


async def test_the_ip_limit(clock: FixedClock) -> None:
    sandbox = make(clock, ip_per_hour=2)
    server = TestServer(sandbox.make_app())
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            emu = Emu(sandbox, str(server.make_url("")).rstrip("/"), http, clock)
            token = await emu.token()
            await emu.share(token, f"一 {PAGE}")
            await emu.share(token, f"二 {PAGE}")
            _, body = await emu.share(token, f"三 {PAGE}")
            assert body["error_code"] == "10022"
    finally:
        await server.close()


async def test_the_timeline_lists_the_accounts_posts_newest_first(emu: Emu) -> None:
    token = await emu.token()
    for n in range(3):
        await emu.share(token, f"第 {n} 条 {PAGE}")
        emu.clock.advance(minutes=1)
    status, body = await emu.call("GET", "/2/statuses/user_timeline.json",
                                  params={"access_token": token, "count": "2", "trim_user": "1"})
    assert status == 200 and body["total_number"] == 3
    assert [s["text"][:3] for s in body["statuses"]] == ["第 2", "第 1"]
    assert set(body["statuses"][0]["user"]) == {"id", "idstr"}


async def test_state_survives_a_restart(clock: FixedClock, tmp_path: Path) -> None:
    first = make(clock, state_dir=tmp_path)
    server = TestServer(first.make_app())
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        emu = Emu(first, str(server.make_url("")).rstrip("/"), http, clock)
        token = await emu.token()
        await emu.share(token, f"重启前 {PAGE}", pic=image())
    await server.close()
    second = make(clock, state_dir=tmp_path)
    assert [s.original for s in second.timeline()] == [f"重启前 {PAGE}"]
    assert token in second.state.tokens and second.state.load_picture(second.timeline()[0].pic) == image()


# ------------------------------------------------------------------------------------ the page
async def test_the_timeline_page_and_the_expiry_drill(emu: Emu) -> None:
    token = await emu.token()
    await emu.share(token, f"【政策文件】示例通知 全文：{PAGE}", pic=image())
    await emu.share(token, "没有链接", rip="1.2.3.4")
    async with emu.http.get(emu.base + "/") as page:
        html = await page.text()
    assert "微博沙箱" in html and "示例市发布" in html and "【政策文件】示例通知" in html
    assert f'href="{PAGE}"' in html and "http://t.cn/" in html and "有效" in html
    assert "text not find domain!" in html  # refused requests are listed
    async with emu.http.post(emu.base + "/drill/expire-token") as done:
        assert done.status == 200 and "已过期" in await done.text()
    assert (await emu.share(token, f"演练后 {PAGE}"))[1]["error_code"] == 21327
