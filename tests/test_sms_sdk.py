"""Conformance: the official SDKs (alibabacloud-dysmsapi20170525, tencentcloud-sdk-python-sms),
pointed at the emulators, send successfully; a wrong secret fails with the provider's error."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from alibabacloud_dysmsapi20170525 import models as ali_models
from alibabacloud_dysmsapi20170525.client import Client as AliyunClient
from alibabacloud_tea_openapi import utils_models as open_api
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tc_models
from tencentcloud.sms.v20210111 import sms_client

from tests.test_sms_kit import ALIYUN_KEYS, SDK_APP_ID, TENCENT_KEYS, Emulators, start_emulators


@pytest.fixture
async def emulators() -> AsyncIterator[Emulators]:
    emu = await start_emulators(report_delay=0.0)
    yield emu
    await emu.close()


def aliyun(emu: Emulators, secret: str = ALIYUN_KEYS[1], v1: bool = False) -> AliyunClient:
    config = open_api.Config(access_key_id=ALIYUN_KEYS[0], access_key_secret=secret,
                             endpoint=emu.aliyun_url.removeprefix("http://"), protocol="http")
    if v1:
        config.signature_algorithm = "v2"  # the SDK's name for RPC signature v1 (HMAC-SHA1)
    return AliyunClient(config)


def tencent(emu: Emulators, secret: str = TENCENT_KEYS[1], region: str = "ap-guangzhou") -> sms_client.SmsClient:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emu.tencent_url.removeprefix("http://")))
    return sms_client.SmsClient(credential.Credential(TENCENT_KEYS[0], secret), region, profile)


def aliyun_send(client: AliyunClient, numbers: str, code: str = "SMS_900000001", **params: str):  # noqa: ANN201
    params = params or {"department": "市政务服务局", "title": "关于开展政务公开日活动的通知"}
    return client.send_sms(ali_models.SendSmsRequest(phone_numbers=numbers, sign_name="政务公开", template_code=code,
                                                     template_param=json.dumps(params, ensure_ascii=False),
                                                     out_id="sdk-1"))


def tencent_send(client: sms_client.SmsClient, numbers: list[str]):  # noqa: ANN201
    req = tc_models.SendSmsRequest()
    req.PhoneNumberSet, req.SmsSdkAppId, req.TemplateId = numbers, SDK_APP_ID, "1900001"
    req.SignName, req.TemplateParamSet, req.SessionContext = (
        "政务公开", ["市政务服务局", "关于开展政务公开日活动的通知"], "sdk-ctx")
    return client.SendSms(req)


async def test_aliyun_sdk_sends_with_signature_v3_and_v1(emulators: Emulators) -> None:
    reply = await asyncio.to_thread(aliyun_send, aliyun(emulators), "13800000001,+8613800000002")
    assert reply.body.code == "OK" and reply.body.biz_id
    reply = await asyncio.to_thread(aliyun_send, aliyun(emulators, v1=True), "13800000003")
    assert reply.body.code == "OK"
    got = {p: [m.text for m in emulators.center.inbox(p)] for p in ("13800000001", "13800000002", "13800000003")}
    assert all(texts == ["【政务公开】市政务服务局发布了《关于开展政务公开日活动的通知》，详见政务公开网站。"]
               for texts in got.values())


async def test_aliyun_sdk_queries_send_details(emulators: Emulators) -> None:
    reply = await asyncio.to_thread(aliyun_send, aliyun(emulators), "13800000004")
    await asyncio.sleep(0.05)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    query = ali_models.QuerySendDetailsRequest(phone_number="13800000004", send_date=day, page_size=10,
                                               current_page=1, biz_id=reply.body.biz_id)
    details = await asyncio.to_thread(aliyun(emulators).query_send_details, query)
    rows = details.body.sms_send_detail_dtos.sms_send_detail_dto
    assert details.body.total_count == 1 and rows[0].out_id == "sdk-1" and rows[0].send_status == 3


async def test_aliyun_sdk_sends_a_thousand_numbers_in_one_call(emulators: Emulators) -> None:
    numbers = ",".join(f"138{n:08d}" for n in range(1000))
    reply = await asyncio.to_thread(aliyun_send, aliyun(emulators), numbers)
    assert reply.body.code == "OK" and emulators.center.total() == 1000
    over = await asyncio.to_thread(aliyun_send, aliyun(emulators), numbers + ",13912345678")
    assert over.body.code == "isv.MOBILE_COUNT_OVER_LIMIT" and over.body.biz_id is None  # HTTP 200, refused
    assert emulators.center.total() == 1000


@pytest.mark.parametrize("v1", [False, True])
async def test_aliyun_sdk_with_a_wrong_secret_gets_signature_does_not_match(emulators: Emulators, v1: bool) -> None:
    with pytest.raises(Exception) as err:
        await asyncio.to_thread(aliyun_send, aliyun(emulators, secret="wrong", v1=v1), "13800000005")
    assert getattr(err.value, "code", "") == "SignatureDoesNotMatch"
    assert getattr(err.value, "status_code", 0) == 400
    assert emulators.center.total() == 0


async def test_tencent_sdk_sends_and_pulls_status(emulators: Emulators) -> None:
    reply = await asyncio.to_thread(tencent_send, tencent(emulators), ["+8613900000001", "13900000002"])
    statuses = reply.SendStatusSet
    assert [s.Code for s in statuses] == ["Ok", "Ok"] and statuses[0].SessionContext == "sdk-ctx"
    assert emulators.center.inbox("13900000001")[0].text == (
        "【政务公开】市政务服务局发布了《关于开展政务公开日活动的通知》，详见政务公开网站。")
    req = tc_models.PullSmsSendStatusRequest()
    req.Limit, req.SmsSdkAppId = 10, SDK_APP_ID
    pulled = await asyncio.to_thread(tencent(emulators).PullSmsSendStatus, req)
    assert sorted(s.SubscriberNumber for s in pulled.PullSmsSendStatusSet) == ["13900000001", "13900000002"]
    assert {s.ReportStatus for s in pulled.PullSmsSendStatusSet} == {"SUCCESS"}
    again = await asyncio.to_thread(tencent(emulators).PullSmsSendStatus, req)
    assert again.PullSmsSendStatusSet == []  # each report is handed out once


async def test_tencent_sdk_with_a_wrong_secret_gets_auth_failure(emulators: Emulators) -> None:
    with pytest.raises(TencentCloudSDKException) as err:
        await asyncio.to_thread(tencent_send, tencent(emulators, secret="wrong"), ["13900000003"])
    assert err.value.get_code() == "AuthFailure.SignatureFailure"
    assert emulators.center.total() == 0


async def test_tencent_sdk_in_every_sms_region_and_refused_without_one(emulators: Emulators) -> None:
    for region in ("ap-beijing", "ap-nanjing"):
        reply = await asyncio.to_thread(tencent_send, tencent(emulators, region=region), ["13900000004"])
        assert [s.Code for s in reply.SendStatusSet] == ["Ok"]
    # the SDK leaves X-TC-Region out when the region is empty
    for region, code in (("", "MissingParameter"), ("cn-hangzhou", "InvalidParameterValue"),
                         ("ap-nowhere", "InvalidParameterValue")):
        with pytest.raises(TencentCloudSDKException) as err:
            await asyncio.to_thread(tencent_send, tencent(emulators, region=region), ["13900000005"])
        assert err.value.get_code() == code and "Region" in err.value.get_message()
    assert emulators.center.total() == 2
