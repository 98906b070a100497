"""The provider emulators behave like the real services: per-number limits (codes 1/min, 5/hour,
10/day; notifications 50/day), batch limits, replay and clock checks, delivery reports pushed to
the customer's callback (and retried), and replies pushed back."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from channels.sms.providers.aliyun import AliyunSms
from channels.sms.providers.base import Failure, ProviderError
from channels.sms.providers.tencent import TencentSms
from channels.sms.signing import acs3_authorization, acs3_canonical_query, acs3_date, sha256_hex
from tests.test_sms_kit import ALIYUN_KEYS, BEIJING, SDK_APP_ID, TENCENT_KEYS, Emulators, free_port, start_emulators

CODE = {"code": "123456"}
NOTICE = {"department": "市政务服务局", "title": "通知"}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def clients(session: aiohttp.ClientSession, emu: Emulators) -> tuple[AliyunSms, TencentSms]:
    return (AliyunSms(session, key_id=ALIYUN_KEYS[0], secret=ALIYUN_KEYS[1], sign_name="政务公开", base_url=emu.aliyun_url),
            TencentSms(session, secret_id=TENCENT_KEYS[0], secret_key=TENCENT_KEYS[1], sign_name="政务公开",
                       sdk_app_id=SDK_APP_ID, base_url=emu.tencent_url))


async def test_verification_codes_are_limited_per_number(session: aiohttp.ClientSession) -> None:
    # The emulator's clock moves; signatures are made with the real time, so it stays within the
    # 15 minutes of allowed skew, and the six sends a minute apart stay within one clock hour.
    start = datetime.now(BEIJING).replace(second=5, microsecond=0)
    if start.minute > 53:
        start = (start + timedelta(hours=1)).replace(minute=0)
    clock = Clock(start)
    emu = await start_emulators(clock=clock)
    try:
        ali, _ = clients(session, emu)
        sent = await ali.send(["+8613800000001"], "SMS_900000009", CODE, marker="c1")
        assert sent[0].status == "sent"
        second = await ali.send(["+8613800000001"], "SMS_900000009", CODE, marker="c2")
        assert (second[0].status, second[0].code) == ("skipped", "isv.BUSINESS_LIMIT_CONTROL")
        assert "触发分钟级流控Permits:1" in second[0].message
        for n in range(4):  # four more, one per minute: five in the hour
            clock.advance(61)
            assert (await ali.send(["+8613800000001"], "SMS_900000009", CODE, marker=f"c{n}"))[0].status == "sent"
        clock.advance(61)
        sixth = await ali.send(["+8613800000001"], "SMS_900000009", CODE, marker="c9")
        assert "触发小时级流控Permits:5" in sixth[0].message
        assert (await ali.send(["+8613800000002"], "SMS_900000009", CODE, marker="x"))[0].status == "sent"
        assert emu.center.counts()["13800000001"] == 5
    finally:
        await emu.close()


async def test_ten_codes_a_day_and_fifty_notices_a_day() -> None:
    clock = Clock(datetime.now(BEIJING))
    emu = await start_emulators(clock=clock)
    try:
        center = emu.center
        from channels.sandbox.sms_center.center import Accepted

        for n in range(50):
            center.record("tencent", SDK_APP_ID, [Accepted("13800000004", f"s{n}")], sign="政务公开",
                          template="1900001", kind="notice", content="x", parts=1)
        async with aiohttp.ClientSession() as session:
            _, tc = clients(session, emu)
            got = await tc.send(["+8613800000004", "+8613800000005"], "1900001", NOTICE, marker="m")
        assert [(r.status, r.code) for r in got] == [("skipped", "LimitExceeded.PhoneNumberDailyLimit"), ("sent", "Ok")]
        # another template is counted on its own
        assert center.over_limit("tencent", SDK_APP_ID, ["13800000004"], kind="notice", sign="政务公开",
                                 template="1900002") == {}
        for n in range(10):
            center.record("aliyun", "", [Accepted("13800000003", f"b{n}")], sign="政务公开", template="SMS_900000009",
                          kind="code", content="x", parts=1)
        over = center.over_limit("aliyun", "", ["13800000003"], kind="code", sign="政务公开", template="SMS_900000009")
        assert over["13800000003"][0] in ("minute", "hour", "day")
        clock.advance(2 * 3600)  # minute and hour windows are past; the rolling day is not
        over = center.over_limit("aliyun", "", ["13800000003"], kind="code", sign="政务公开", template="SMS_900000009")
        assert over == {"13800000003": ("day", 10)}
        clock.advance(22 * 3600 + 1)
        assert center.over_limit("aliyun", "", ["13800000003"], kind="code", sign="政务公开", template="SMS_900000009") == {}
    finally:
        await emu.close()


async def test_batch_limits(session: aiohttp.ClientSession) -> None:
    emu = await start_emulators()
    try:
        ali, tc = clients(session, emu)
        with pytest.raises(ProviderError) as err:
            await ali.send([f"+86138{n:08d}" for n in range(1001)], "SMS_900000001", NOTICE, marker="big")
        assert err.value.code == "isv.MOBILE_COUNT_OVER_LIMIT" and err.value.failure is Failure.REJECTED
        with pytest.raises(ProviderError) as err:
            await tc.send([f"+86138{n:08d}" for n in range(201)], "1900001", NOTICE, marker="big")
        assert err.value.code == "LimitExceeded.PhoneNumberCountLimit"
        ok = await ali.send([f"+86138{n:08d}" for n in range(1000)], "SMS_900000001", NOTICE, marker="max")
        assert len(ok) == 1000 and {r.status for r in ok} == {"sent"} and len({r.remote_id for r in ok}) == 1
        assert emu.center.total() == 1000
    finally:
        await emu.close()


async def test_bad_requests_get_the_real_error_shapes(session: aiohttp.ClientSession) -> None:
    emu = await start_emulators()
    try:
        ali, tc = clients(session, emu)
        cases = [
            (ali.send(["+8613800000001"], "SMS_404", NOTICE, marker="m"), "isv.SMS_TEMPLATE_ILLEGAL"),
            (ali.send(["+8613800000001"], "SMS_900000001", {"title": "t"}, marker="m"), "isv.TEMPLATE_MISSING_PARAMETERS"),
            (ali.send(["+8613800000001"], "SMS_900000001", {**NOTICE, "title": "详见 https://x.gov.cn/a"}, marker="m"),
             "isv.PARAM_NOT_SUPPORT_URL"),
            (ali.send(["+8613800000001"], "SMS_900000001", {**NOTICE, "title": "长" * 36}, marker="m"), "isv.PARAM_LENGTH_LIMIT"),
            (tc.send(["+8613800000001"], "9999", NOTICE, marker="m"), "FailedOperation.TemplateIncorrectOrUnapproved"),
            (tc.send(["+8613800000001"], "1900001", {"a": "一"}, marker="m"),
             "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
        ]
        for call, code in cases:
            with pytest.raises(ProviderError) as err:
                await call
            assert err.value.code == code
        async with session.post(emu.aliyun_url + "/?Action=SendSms", headers={"Authorization": "ACS3-HMAC-SHA256 x"}) as r:
            body = await r.json()
            assert r.status == 400 and body["Code"] == "IncompleteSignature" and body["RequestId"]
        wrong = AliyunSms(session, key_id="LTAInobody", secret="x", sign_name="政务公开", base_url=emu.aliyun_url)
        with pytest.raises(ProviderError) as err:
            await wrong.send(["+8613800000001"], "SMS_900000001", NOTICE, marker="m")
        assert err.value.code == "InvalidAccessKeyId.NotFound" and err.value.failure is Failure.AUTH
        assert emu.center.total() == 0
    finally:
        await emu.close()


SEND_QUERY = {"PhoneNumbers": "13800000001", "SignName": "政务公开", "TemplateCode": "SMS_900000001",
              "TemplateParam": json.dumps(NOTICE, ensure_ascii=False)}


def signed_aliyun_request(emu: Emulators, when: datetime, nonce: str, *, query: dict[str, str],
                          body: bytes = b"", content_type: str = "") -> tuple[URL, dict[str, str]]:
    """A SendSms request signed with ACS3 by hand (the channel's signer, checked against the
    published vectors), with the parameters where the caller puts them."""
    host = emu.aliyun_url.removeprefix("http://")
    headers = {"host": host, "x-acs-action": "SendSms", "x-acs-version": "2017-05-25",
               "x-acs-date": acs3_date(when), "x-acs-signature-nonce": nonce, "x-acs-content-sha256": sha256_hex(body)}
    auth = acs3_authorization(method="POST", path="/", query=query, headers=headers,
                              payload_hash=headers["x-acs-content-sha256"], key_id=ALIYUN_KEYS[0], secret=ALIYUN_KEYS[1])
    extra = {"Content-Type": content_type} if content_type else {}
    return URL(f"{emu.aliyun_url}/?{acs3_canonical_query(query)}", encoded=True), {**headers, **extra, "Authorization": auth}


async def test_replayed_and_stale_requests_are_refused(session: aiohttp.ClientSession) -> None:
    emu = await start_emulators()
    try:
        now = datetime.now(BEIJING)
        url, headers = signed_aliyun_request(emu, now, "nonce-1", query=SEND_QUERY)
        async with session.post(url, headers=headers) as r:
            assert (await r.json())["Code"] == "OK"
        async with session.post(url, headers=headers) as r:
            assert r.status == 400 and (await r.json())["Code"] == "SignatureNonceUsed"
        url, headers = signed_aliyun_request(emu, now - timedelta(minutes=20), "nonce-2", query=SEND_QUERY)
        async with session.post(url, headers=headers) as r:
            assert (await r.json())["Code"] == "InvalidTimeStamp.Expired"
        assert emu.center.total() == 1
    finally:
        await emu.close()


async def test_aliyun_reads_the_parameters_from_the_query_string_only(session: aiohttp.ClientSession) -> None:
    """SendSms declares its parameters ``in: query`` (the V3 request structure; the official SDK
    sends them there with an empty body): a form body is covered by the signature but is not
    where the gateway looks for them."""
    emu = await start_emulators()
    try:
        body = acs3_canonical_query(SEND_QUERY).encode("ascii")
        url, headers = signed_aliyun_request(emu, datetime.now(BEIJING), "nonce-form", query={}, body=body,
                                             content_type="application/x-www-form-urlencoded")
        async with session.post(url, headers=headers, data=body) as r:
            answer = await r.json()
            assert r.status == 400 and answer["Code"] == "MissingPhoneNumbers", answer
        assert emu.center.total() == 0
        ali, _ = clients(session, emu)  # the channel's adapter sends them as the SDK does
        sent = await ali.send([f"+86138{n:08d}" for n in range(1000)], "SMS_900000001", NOTICE, marker="q")
        assert {r.status for r in sent} == {"sent"} and emu.center.total() == 1000
    finally:
        await emu.close()


async def test_reports_and_replies_are_pushed_and_retried(session: aiohttp.ClientSession) -> None:
    received: dict[str, list] = {"report": [], "up": []}
    fail_first = {"report": True}

    async def report(request: web.Request) -> web.Response:
        if fail_first["report"]:
            fail_first["report"] = False
            return web.Response(status=500)
        received["report"].append(await request.json())
        return web.json_response({"code": 0, "msg": "接收成功"})

    async def up(request: web.Request) -> web.Response:
        received["up"].append(await request.json())
        return web.json_response({"code": 0, "msg": "接收成功"})

    app = web.Application()
    app.router.add_post("/report", report)
    app.router.add_post("/up", up)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    emu = await start_emulators(report_url=f"http://127.0.0.1:{port}/report", up_url=f"http://127.0.0.1:{port}/up")
    try:
        ali, _ = clients(session, emu)
        emu.center.unreachable.add("13800000002")
        await ali.send(["+8613800000001", "+8613800000002"], "SMS_900000001", NOTICE, marker="gk1b0")
        await asyncio.sleep(0.5)
        assert received["report"] == []  # the first push failed: retried later (1, 5, 10 minutes)
        emu.center.db.execute("UPDATE messages SET next_push = 0")
        for _ in range(50):
            if received["report"]:
                break
            await asyncio.sleep(0.05)
        reports = {r["phone_number"]: r for r in received["report"][0]}
        assert reports["13800000001"]["success"] is True and reports["13800000001"]["out_id"] == "gk1b0"
        assert reports["13800000002"]["success"] is False and reports["13800000002"]["err_code"] == "UNDELIV"
        assert {r["biz_id"] for r in reports.values()} == {(await_biz := reports["13800000001"]["biz_id"])} and await_biz
        emu.center.reply("13800000001", "TD")
        for _ in range(50):
            if received["up"]:
                break
            await asyncio.sleep(0.05)
        assert received["up"][0][0]["content"] == "TD" and received["up"][0][0]["phone_number"] == "13800000001"
    finally:
        await emu.close()
        await runner.cleanup()


@pytest.mark.parametrize("region, outcome", [("ap-beijing", "Ok"), ("", "Ok"), ("eu-frankfurt", "InvalidParameterValue"),
                                             ("cn-hangzhou", "InvalidParameterValue")])
async def test_tencent_adapter_sends_the_configured_region(session: aiohttp.ClientSession, region: str,
                                                           outcome: str) -> None:
    """Empty = the default region (ap-guangzhou); any other value goes out as configured, and one the
    SMS service does not serve is refused rather than silently replaced."""
    emu = await start_emulators()
    try:
        tc = TencentSms(session, secret_id=TENCENT_KEYS[0], secret_key=TENCENT_KEYS[1], sign_name="政务公开",
                        sdk_app_id=SDK_APP_ID, base_url=emu.tencent_url, region=region)
        try:
            got = (await tc.send(["+8613900000010"], "1900001", NOTICE, marker="r"))[0].code
        except ProviderError as exc:
            got = exc.code
            assert exc.failure is Failure.REJECTED and "Region" in exc.message
        assert got == outcome
        assert emu.center.total() == (outcome == "Ok")
    finally:
        await emu.close()
