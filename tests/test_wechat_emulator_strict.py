"""The WeChat emulator is as strict as the platform where the platform refuses: template and
subscribe messages and openid-list mass sends only on a service account (48001), template values
within their type's limits (47003), uploads of the right type, extension and size (40005, 40009,
40006), a clientmsgid that dedupes for 24 hours and no longer, and ``message/mass/send`` to an
openid list. wechatpy's own client (2.0.0a26), pointed at the emulator, is the caller."""
from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy import parse_message
from wechatpy.exceptions import WeChatClientException

from content.clock import FixedClock
from tests.test_wechat_emulator import Emu, start
from tests.wechat_support import jpeg_bytes


def errcode(call, *args, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
    """The errcode wechatpy raises for one call (0 = it succeeded)."""
    try:
        call(*args, **kwargs)
    except WeChatClientException as exc:
        return exc.errcode
    return 0


def named(data: bytes, name: str) -> io.BytesIO:
    out = io.BytesIO(data)
    out.name = name
    return out


@pytest.fixture
async def service() -> AsyncIterator[Emu]:
    e = await start(None, account_type="service")
    yield e
    await e.server.close()


@pytest.fixture
async def subscription() -> AsyncIterator[Emu]:
    e = await start(None)  # the default kind of account
    yield e
    await e.server.close()


# ---------------------------------------------------------------------------- 48001 by account type
async def test_a_subscription_account_may_not_send_template_or_subscribe_messages(subscription: Emu) -> None:
    [openid] = subscription.emu.add_followers(1)
    client = subscription.client()
    data = {"thing1": {"value": "关于庚的通知"}}
    codes = await asyncio.to_thread(lambda: (
        errcode(client.message.send_template, openid, "TPL", data, url="https://gov.example/1.html"),
        errcode(client.message.send_subscribe_message, openid, "TPL", data)))
    assert codes == (48001, 48001)
    assert subscription.emu.state.template_counts == {}


async def test_a_service_account_sends_them(service: Emu) -> None:
    [openid] = service.emu.add_followers(1)
    client = service.client()
    data = {"thing1": {"value": "关于庚的通知"}, "time3": {"value": "2026年11月20日 10:05"}}
    codes = await asyncio.to_thread(lambda: (
        errcode(client.message.send_template, openid, "TPL", data, url="https://gov.example/1.html"),
        errcode(client.message.send_subscribe_message, openid, "TPL", data)))
    assert codes == (0, 0)


# ---------------------------------------------------------------------------- 47003 value limits
@pytest.mark.parametrize(("key", "value", "code"), [
    ("thing1", "长" * 20, 0),
    ("thing1", "长" * 21, 47003),
    ("thing1", "", 47003),
    ("thing1", "两行\n标题", 47003),
    ("number2", "12.5", 0),
    ("number2", "12a", 47003),
    ("number2", "1" * 33, 47003),
    ("letter3", "abc", 0),
    ("letter3", "abc1", 47003),
    ("symbol4", "★", 0),
    ("symbol4", "★★★★★★", 47003),
    ("character_string5", "京政发-2026-1", 47003),  # Chinese is not allowed
    ("character_string5", "GK-2026-0001", 0),
    ("character_string5", "A" * 33, 47003),
    ("time6", "2026年11月20日 10:05", 0),
    ("time6", "上午", 47003),
    ("amount7", "¥100.50元", 0),
    ("amount7", "一百元", 47003),
    ("phone_number8", "+86-010-12345678", 0),
    ("phone_number8", "1" * 18, 47003),
    ("car_number9", "京A12345", 0),
    ("car_number9", "京A1234567", 47003),
    ("name10", "王小明", 0),
    ("name10", "王" * 11, 47003),
    ("phrase11", "已发布", 0),
    ("phrase11", "已经正式发布了", 47003),
    ("keyword1", "旧式模板的字段不按类型检查，长度也不限制在二十个字以内", 0),
])
async def test_template_values_are_held_to_their_type(service: Emu, key: str, value: str, code: int) -> None:
    [openid] = service.emu.add_followers(1)
    client = service.client()
    got = await asyncio.to_thread(errcode, client.message.send_template, openid, "TPL", {key: {"value": value}})
    assert got == code


async def test_47003_names_the_key(service: Emu) -> None:
    [openid] = service.emu.add_followers(1)
    client = service.client()
    with pytest.raises(WeChatClientException) as refused:
        await asyncio.to_thread(client.message.send_template, openid, "TPL", {"thing2": {"value": "长" * 21}})
    assert refused.value.errcode == 47003 and "data.thing2.value" in refused.value.errmsg


# ---------------------------------------------------------------------------- uploads
def _mp3(size: int) -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * (size - 10)


def _mp4(size: int) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (size - 12)


async def test_uploads_must_have_the_right_type_name_and_size(service: Emu) -> None:
    client = service.client()
    jpeg = jpeg_bytes().getvalue()
    png = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (40, 40), (1, 2, 3)).save(png, "PNG")
    png_bytes = png.getvalue()
    big_jpeg = jpeg + b"\x00" * (1024 * 1024)

    def uploads() -> dict[str, int]:
        return {
            "uploadimg jpg": errcode(client.media.upload_image, named(jpeg, "a.jpg")),
            "uploadimg jpeg name": errcode(client.media.upload_image, named(jpeg, "a.JPEG")),
            "uploadimg png": errcode(client.media.upload_image, named(png_bytes, "a.png")),
            "uploadimg gif name": errcode(client.media.upload_image, named(jpeg, "a.gif")),
            "uploadimg no extension": errcode(client.media.upload_image, io.BytesIO(jpeg)),
            "uploadimg png bytes as jpg": errcode(client.media.upload_image, named(png_bytes, "a.jpg")),
            "uploadimg 1 MB": errcode(client.media.upload_image, named(big_jpeg, "a.jpg")),
            "image 1 MB": errcode(client.material.add, "image", named(big_jpeg, "a.jpg")),
            "thumb png": errcode(client.material.add, "thumb", named(png_bytes, "cover.png")),
            "thumb txt": errcode(client.material.add, "thumb", named(jpeg, "cover.txt")),
            "thumb 65 KB": errcode(client.material.add, "thumb", named(jpeg + b"\x00" * 65536, "cover.jpg")),
            "voice mp3": errcode(client.material.add, "voice", named(_mp3(4096), "a.mp3")),
            "voice 3 MB": errcode(client.material.add, "voice", named(_mp3(3 * 1024 * 1024), "a.mp3")),
            "voice as wav": errcode(client.material.add, "voice", named(_mp3(4096), "a.wav")),
            "video mp4": errcode(client.material.add, "video", named(_mp4(4096), "a.mp4"), "标题", "简介"),
            "video mov": errcode(client.material.add, "video", named(_mp4(4096), "a.mov"), "标题", "简介"),
            "temporary image": errcode(client.media.upload, "image", named(jpeg, "a.jpg")),
            "temporary image as bmp": errcode(client.media.upload, "image", named(jpeg, "a.bmp")),
            "temporary voice 3 MB": errcode(client.media.upload, "voice", named(_mp3(3 * 1024 * 1024), "a.mp3")),
        }

    assert await asyncio.to_thread(uploads) == {
        "uploadimg jpg": 0, "uploadimg jpeg name": 0, "uploadimg png": 0, "uploadimg gif name": 40005,
        "uploadimg no extension": 40005, "uploadimg png bytes as jpg": 40005, "uploadimg 1 MB": 40009,
        "image 1 MB": 0, "thumb png": 40005, "thumb txt": 40005, "thumb 65 KB": 40009,
        "voice mp3": 0, "voice 3 MB": 40006, "voice as wav": 40005, "video mp4": 0, "video mov": 40005,
        "temporary image": 0, "temporary image as bmp": 40005, "temporary voice 3 MB": 40006}


async def test_a_temporary_thumb_is_not_a_cover(service: Emu) -> None:
    client = service.client()

    def draft() -> tuple[dict, int]:
        uploaded = client.media.upload("thumb", jpeg_bytes())
        code = errcode(client.draft.add, [{"title": "通知", "content": "<p>x</p>",
                                           "thumb_media_id": uploaded["thumb_media_id"]}])
        return uploaded, code

    uploaded, code = await asyncio.to_thread(draft)
    assert uploaded["type"] == "thumb" and "media_id" not in uploaded
    assert code == 40007  # a draft's cover must be permanent material


# ---------------------------------------------------------------------------- clientmsgid lasts 24 hours
async def test_a_clientmsgid_dedupes_for_24_hours_and_not_longer() -> None:
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    emu = await start(None, clock)
    try:
        emu.emu.add_followers(3)
        client = emu.client()
        thumb = (await asyncio.to_thread(client.material.add, "thumb", jpeg_bytes()))["media_id"]

        def push() -> tuple[int, dict]:
            draft = client.draft.add([{"title": "推送", "content": "<p>x</p>", "thumb_media_id": thumb}])
            try:
                return 0, client.message.send_mass_article(draft["media_id"], is_to_all=True, client_msg_id="gk-1")
            except WeChatClientException as exc:
                return exc.errcode, {}

        first_code, first = await asyncio.to_thread(push)
        clock.advance(hours=23, minutes=59)
        again, _ = await asyncio.to_thread(push)
        clock.advance(minutes=1)
        later_code, later = await asyncio.to_thread(push)
        assert (first_code, again, later_code) == (0, 45065, 0)
        assert later["msg_id"] != first["msg_id"]
    finally:
        await emu.server.close()


# ---------------------------------------------------------------------------- message/mass/send
async def test_mass_send_to_an_openid_list(tmp_path: Path) -> None:
    received: list[str] = []

    async def callback(request: web.Request) -> web.Response:
        received.append(await request.text())
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/wechat/callback", callback)
    server = TestServer(app)
    await server.start_server()
    emu = await start(None, account_type="service", callback_url=str(server.make_url("/wechat/callback")))
    try:
        a, b, c, gone = emu.emu.add_followers(4)
        await emu.emu.unfollow(gone)
        client = emu.client()
        thumb = (await asyncio.to_thread(client.material.add, "thumb", jpeg_bytes()))["media_id"]

        def sends() -> dict:
            draft = client.draft.add([{"title": "通知", "content": "<p>x</p>", "thumb_media_id": thumb}])["media_id"]
            text = client.message.send_mass_text("今天发布了新的政策解读", [a, b, gone], client_msg_id="list-1")
            article = client.message.send_mass_article(draft, [a, c], client_msg_id="list-2")
            return {"text": text, "article": article,
                    "again": errcode(client.message.send_mass_text, "再发一次", [a, b], client_msg_id="list-1"),
                    "one": errcode(client.message.send_mass_text, "只有一个", [a]),
                    "bad openid": errcode(client.message.send_mass_text, "x", [a, "not-an-openid"])}

        result = await asyncio.to_thread(sends)
        assert result["text"]["errcode"] == 0 and result["article"]["errcode"] == 0
        assert (result["again"], result["one"], result["bad openid"]) == (45065, 40130, 40003)
        await emu.emu.complete_pending()
        await emu.emu.drain()
        events = [parse_message(body) for body in received]
        finished = {e.id: e for e in events if e.event == "masssendjobfinish"}
        text = finished[result["text"]["msg_id"]]
        assert (text.status, text.total_count, text.filter_count, text.sent_count) == ("send success", 3, 2, 2)
        assert finished[result["article"]["msg_id"]].sent_count == 2
        async with aiohttp.ClientSession() as http, http.get(f"{emu.base}/") as page:
            assert "今天发布了新的政策解读" in await page.text()  # what the followers see
    finally:
        await emu.server.close()
        await server.close()


async def test_mass_send_to_a_list_needs_a_service_account(subscription: Emu) -> None:
    a, b = subscription.emu.add_followers(2)
    client = subscription.client()
    assert await asyncio.to_thread(errcode, client.message.send_mass_text, "x", [a, b]) == 48001


async def test_a_list_counts_toward_each_followers_four_a_month(service: Emu) -> None:
    a, b = service.emu.add_followers(2)
    client = service.client()
    await asyncio.to_thread(lambda: [client.message.send_mass_text(f"第 {n} 次", is_to_all=True) for n in range(4)])
    sent = await asyncio.to_thread(client.message.send_mass_text, "第五次", [a, b])
    pub = service.emu.state.publications[f"mass:{sent['msg_id']}"]
    assert (pub.recipients, pub.filtered) == (0, 2)
