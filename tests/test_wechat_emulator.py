"""The WeChat emulator on its own: the official WXBizMsgCrypt vectors through its crypto,
wechatpy's own client (2.0.0a26) completing upload → draft → publish → mass send against it,
the documented JSON shapes, token lifetimes, quotas, faults, persistence across a restart and
the follower's view."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from wechatpy import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

from channels.sandbox.wechat import EmulatorConfig, WechatEmulator
from channels.sandbox.wechat.crypto import CryptoError, MessageCrypt, sha1_signature
from content.clock import FixedClock
from tests.wechat_support import jpeg_bytes

APP_ID, SECRET = "wx1234567890abcdef", "s" * 32
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


# ---------------------------------------------------------------------------- the vectors
def test_vector_a1_encrypts_with_a_fixed_random() -> None:
    crypt = MessageCrypt("pamtest", KEY, "wxb11529c136998cb6")
    assert crypt.encrypt("我是中文abcd123", b"aaaabbbbccccdddd") == (
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==")


def test_vector_c_decrypts_a_full_callback() -> None:
    from tests.test_wechat_callback import VECTOR_ENCRYPT

    crypt = MessageCrypt("spamtest", KEY, "wx2c2769f8efd9abc2")
    assert crypt.msg_signature("1409735669", "1320562132", VECTOR_ENCRYPT) == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    assert crypt.decrypt(VECTOR_ENCRYPT) == (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
        "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
        "<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>")
    with pytest.raises(CryptoError, match="another appid"):
        MessageCrypt("spamtest", KEY, "wx0000000000000000").decrypt(VECTOR_ENCRYPT)


def test_vector_b_encrypted_echostr() -> None:
    crypt = MessageCrypt("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    assert crypt.msg_signature("1409659589", "263014780", echostr) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert crypt.decrypt(echostr) == "1616140317555161061"


def test_wechatpys_own_vector() -> None:
    crypt = MessageCrypt("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
    reply = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
             "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
             "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
             "<CreateTime>1411525903</CreateTime>\n</xml>")
    encrypted = crypt.encrypt(reply, b"1234567890123456")
    assert encrypted == (
        "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8Gq"
        "xlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qv"
        "SUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQy"
        "PR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3")
    assert crypt.msg_signature("1411525903", "461056294", encrypted) == "407518b7649e86ef23978113f92d27afa9296533"


def test_vector_e_all_zero_key_reply() -> None:
    crypt = MessageCrypt("AAAAA", "A" * 43, "wx134c8103faa5a59e")
    cipher = ("hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSv"
              "PT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7")
    assert crypt.msg_signature("1713424427", "415670741", cipher) == "03e0812039325c2712ef5f0f980fd14c70d6e307"
    assert crypt.encrypt(crypt.decrypt(cipher), b"999951349e8ee746") == cipher


def test_url_signature_and_strict_padding() -> None:
    assert sha1_signature("test_token", "1409304348", "xxxxxx") == "35398750b5022af380db6b35addf4f9c8cca01da"
    crypt = MessageCrypt("t", KEY, "wxb11529c136998cb6")
    good = crypt.encrypt("hello")
    import base64

    raw = bytearray(base64.b64decode(good))
    raw[-1] ^= 0x55  # the last block decrypts to garbage padding
    with pytest.raises(CryptoError):
        crypt.decrypt(base64.b64encode(bytes(raw)).decode())


# ---------------------------------------------------------------------------- a running emulator
class Emu:
    def __init__(self, emulator: WechatEmulator, server: TestServer) -> None:
        self.emu = emulator
        self.server = server
        self.base = str(server.make_url("")).rstrip("/")

    def client(self) -> WeChatClient:
        api = self.base + "/api/cgi-bin/"

        class SandboxClient(WeChatClient):
            """wechatpy's client, with its hard-coded token URL pointed at the emulator."""

            API_BASE_URL = api

            def fetch_access_token(self):  # noqa: ANN202
                return self._fetch_access_token(url=api + "token", params={
                    "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

        return SandboxClient(APP_ID, SECRET)

    async def call(self, method: str, path: str, **kw) -> tuple[int, dict]:  # noqa: ANN003
        async with aiohttp.ClientSession() as http, http.request(method, f"{self.base}/api/cgi-bin/{path}", **kw) as r:
            text = await r.text()
            return r.status, json.loads(text) if r.status == 200 else {"body": text}


async def start(tmp: Path | None, clock: FixedClock | None = None, **config) -> Emu:  # noqa: ANN003
    cfg = EmulatorConfig(app_id=APP_ID, app_secret=SECRET, token="tok", publish_delay=0.05,
                         template_ids=frozenset({"TPL"}), **config)
    emulator = WechatEmulator(cfg, tmp, now=clock.now if clock else None)
    server = TestServer(emulator.app())
    await server.start_server()
    cfg.public_url = str(server.make_url("")).rstrip("/")
    return Emu(emulator, server)


@pytest.fixture
async def emu(tmp_path: Path) -> AsyncIterator[Emu]:
    e = await start(tmp_path / "state")
    yield e
    await e.server.close()


async def test_wechatpys_client_completes_upload_draft_publish_and_mass_send(emu: Emu) -> None:
    emu.emu.add_followers(25000)
    client = emu.client()

    def flow() -> dict:
        url = client.media.upload_image(jpeg_bytes())
        thumb = client.material.add("thumb", jpeg_bytes((120, 80)))
        article = {"title": "关于推行一网通办的通知", "content": f"<p>正文</p><img src='{url}'>",
                   "thumb_media_id": thumb["media_id"], "content_source_url": "https://gov.example/items/1.html",
                   "author": "市政务服务局", "digest": "摘要"}
        draft = client.draft.add([article])
        published = client.freepublish.submit(draft["media_id"])
        status = {"publish_status": 1}
        for _ in range(100):
            status = client.freepublish.get(published["publish_id"])
            if status["publish_status"] != 1:
                break
            import time

            time.sleep(0.02)
        second = client.draft.add([article])
        mass = client.message.send_mass_article(second["media_id"], is_to_all=True, client_msg_id="gk-1")
        with pytest.raises(WeChatClientException) as dup:
            client.message.send_mass_article(second["media_id"], is_to_all=True, client_msg_id="gk-1")
        followers = list(client.user.iter_followers())
        tag = client.tag.create("企业")
        client.tag.tag_user(tag["id"], followers[:3])
        with pytest.raises(WeChatClientException) as template:  # a subscription account (订阅号)
            client.message.send_template(followers[0], "TPL", {"thing1": {"value": "标题"}}, url="https://x")
        return {"url": url, "status": status, "mass": mass, "dup": dup.value.errcode,
                "followers": followers, "tagged": client.tag.get_tag_users(tag["id"]),
                "template": template.value.errcode}

    result = await asyncio.to_thread(flow)
    assert result["url"].startswith(emu.base + "/mmbiz/")
    assert result["status"]["publish_status"] == 0 and result["status"]["article_detail"]["count"] == 1
    assert result["mass"]["errcode"] == 0 and result["mass"]["msg_id"]
    assert result["dup"] == 45065
    assert len(result["followers"]) == 25000 == len(set(result["followers"]))
    assert result["tagged"]["count"] == 3 and result["template"] == 48001
    [article] = emu.emu.state.publications[result["status"]["publish_id"]].articles
    assert article["removed"] == {} and article["images"] == [result["url"]]


async def test_documented_shapes_and_errors(emu: Emu) -> None:
    status, token = await emu.call("GET", "token", params={"grant_type": "client_credential",
                                                            "appid": APP_ID, "secret": SECRET})
    assert status == 200 and set(token) == {"access_token", "expires_in"}  # no errcode on success
    status, bad = await emu.call("GET", "token", params={"grant_type": "client_credential",
                                                          "appid": "wx0", "secret": SECRET})
    assert status == 200 and bad["errcode"] == 40013 and " rid: " in bad["errmsg"]
    q = {"access_token": token["access_token"]}
    _, users = await emu.call("GET", "user/get", params=q)
    assert users == {"total": 0, "count": 0, "next_openid": ""}
    _, missing = await emu.call("POST", "draft/add", params=q, json={"articles": [
        {"title": "t", "content": "<p>x</p>", "thumb_media_id": "nope"}]})
    assert missing["errcode"] == 40007
    _, escaped = await emu.call("POST", "draft/add", params=q, data='{"articles":[{"title":"\\u6807\\u9898"}]}')
    assert escaped["errcode"] == 47001  # \\uXXXX escapes are refused, as the docs warn they garble
    _, long_title = await emu.call("POST", "draft/add", params=q, data=json.dumps({"articles": [
        {"title": "长" * 33, "content": "<p>x</p>", "thumb_media_id": "x"}]}, ensure_ascii=False))
    assert long_title["errcode"] == 45003
    _, no_token = await emu.call("GET", "draft/count", params={})
    assert no_token["errcode"] == 41001


async def test_tokens_expire_and_stable_tokens_are_shared(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    emu = await start(None, clock)
    try:
        body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
        _, first = await emu.call("POST", "stable_token", json=body)
        _, again = await emu.call("POST", "stable_token", json=body)
        assert first["access_token"] == again["access_token"]
        clock.advance(seconds=10)
        _, forced = await emu.call("POST", "stable_token", json={**body, "force_refresh": True})
        _, old = await emu.call("GET", "draft/count", params={"access_token": first["access_token"]})
        assert forced["access_token"] != first["access_token"] and old["errcode"] == 40001
        _, too_soon = await emu.call("POST", "stable_token", json={**body, "force_refresh": True})
        assert too_soon["errcode"] == 45011
        clock.advance(hours=2, seconds=1)
        _, expired = await emu.call("GET", "draft/count", params={"access_token": forced["access_token"]})
        assert expired["errcode"] == 42001
    finally:
        await emu.server.close()


async def test_daily_limits_and_mass_send_quotas(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    emu = await start(None, clock, daily_limits={"draft/count": 2})
    try:
        emu.emu.add_followers(5)
        client = emu.client()

        def calls() -> tuple[dict, int]:
            client.draft.count()
            client.draft.count()
            with pytest.raises(APILimitedException):
                client.draft.count()
            thumb = client.material.add("thumb", jpeg_bytes())["media_id"]
            article = {"title": "推送", "content": "<p>x</p>", "thumb_media_id": thumb}
            first = client.message.send_mass_article(client.draft.add([article])["media_id"], is_to_all=True)
            with pytest.raises(WeChatClientException) as second:
                client.message.send_mass_article(client.draft.add([article])["media_id"], is_to_all=True)
            return first, second.value.errcode

        first, second = await asyncio.to_thread(calls)
        assert first["errcode"] == 0 and second == 45028  # a subscription account: one a day
        clock.advance(days=1)  # a new day: the limit and the quota are back
        assert (await asyncio.to_thread(client.draft.count))["total_count"] == 1
    finally:
        await emu.server.close()


async def test_service_accounts_filter_followers_past_four_a_month(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    emu = await start(None, clock, account_type="service")
    try:
        emu.emu.add_followers(2)
        emu.emu.state.commit({"t": "tag", "id": 100, "name": "甲"})
        client = emu.client()

        def pushes() -> list:
            thumb = client.material.add("thumb", jpeg_bytes())["media_id"]
            article = {"title": "推送", "content": "<p>x</p>", "thumb_media_id": thumb}
            out = []
            for _n in range(5):
                draft = client.draft.add([article])["media_id"]
                try:
                    out.append(client.message.send_mass_article(draft, is_to_all=True)["errcode"])
                except WeChatClientException as exc:
                    out.append(exc.errcode)
            return out

        assert await asyncio.to_thread(pushes) == [0, 0, 0, 0, 45028]
    finally:
        await emu.server.close()


async def test_faults_latency_5xx_and_a_hang_after_accepting(emu: Emu) -> None:
    client = emu.client()
    await asyncio.to_thread(client.draft.count)  # fetch a token
    emu.emu.faults.http_error("draft/count", 502)
    status, _ = await emu.call("GET", "draft/count", params={"access_token": "x" * 136})
    assert status == 502
    emu.emu.faults.hang_after_accept("tags/create", seconds=5)
    token = next(iter(emu.emu.state.tokens))
    with pytest.raises(asyncio.TimeoutError):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as http:
            await http.post(f"{emu.base}/api/cgi-bin/tags/create", params={"access_token": token},
                            json={"tag": {"name": "甲"}})
    assert list(emu.emu.state.tags.values()) == ["甲"]  # carried out although never answered
    emu.emu.faults.latency = 0.2
    started = asyncio.get_running_loop().time()
    await asyncio.to_thread(client.draft.count)
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_what_it_received_survives_a_restart(tmp_path: Path) -> None:
    first = await start(tmp_path / "state")
    client = first.client()

    def push() -> dict:
        thumb = client.material.add("thumb", jpeg_bytes())["media_id"]
        draft = client.draft.add([{"title": "推送", "content": "<p>x</p>", "thumb_media_id": thumb}])
        kept = client.draft.add([{"title": "留着", "content": "<p>y</p>", "thumb_media_id": thumb}])
        mass = client.message.send_mass_article(draft["media_id"], is_to_all=True, client_msg_id="once")
        return {"mass": mass, "kept": kept["media_id"]}

    result = await asyncio.to_thread(push)
    await first.server.close()
    second = await start(tmp_path / "state")
    try:
        state = second.emu.state
        assert state.clientmsgids == {"once": result["mass"]["msg_id"]}
        assert list(state.drafts) == [result["kept"]] and len(state.media) == 1
        await asyncio.sleep(0.2)  # the mass send that was running when it stopped finishes now
        assert state.publications[f"mass:{result['mass']['msg_id']}"].mass_status == "SEND_SUCCESS"
        client = second.client()
        with pytest.raises(WeChatClientException) as dup:
            await asyncio.to_thread(client.message.send_mass_article, result["kept"], None, True, False, 0, "once")
        assert dup.value.errcode == 45065
    finally:
        await second.server.close()


async def test_the_follower_page(emu: Emu) -> None:
    client = emu.client()

    def publish() -> str:
        url = client.media.upload_image(jpeg_bytes())
        thumb = client.material.add("thumb", jpeg_bytes())["media_id"]
        draft = client.draft.add([{"title": "关于推行一网通办的通知", "author": "市政务服务局",
                                   "content": f"<p>正文<script>alert(1)</script></p><img src='{url}'>",
                                   "thumb_media_id": thumb, "content_source_url": "https://gov.example/1.html"}])
        return client.freepublish.submit(draft["media_id"])["publish_id"]

    publish_id = await asyncio.to_thread(publish)
    await emu.emu.complete_pending()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base}/") as resp:
            page = await resp.text()
        pub = emu.emu.state.publications[publish_id]
        async with http.get(f"{emu.base}/s/{pub.article_id}/1") as resp:
            article = await resp.text()
        async with http.get(pub.articles[0]["images"][0]) as resp:
            image = await resp.read()
    assert "关于推行一网通办的通知" in page and "发表（不推送）" in page and "<script" not in page
    assert "正文" in article and "阅读原文" in article and "<script" not in article and "alert" not in article
    assert image[:3] == b"\xff\xd8\xff"
