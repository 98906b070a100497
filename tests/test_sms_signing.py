"""The providers' published signature examples, checked against both sides: the channel's signers
(Aliyun ACS3, Tencent TC3) and the emulators' separate verifiers (Aliyun ACS3 and RPC v1, TC3)."""
from __future__ import annotations

import hashlib

import pytest

from channels.sandbox.aliyun_sms.verify import parse_v3, rpc_v1_signature, rpc_v1_string_to_sign, v3_signature
from channels.sandbox.tencent_sms.verify import Tc3Header, expected_signature, parse
from channels.sms.signing import acs3_authorization, tc3_authorization, tc3_signature

# Aliyun RPC v1 (HMAC-SHA1): the DescribeRegions example and the old dysms SendSms example.
DESCRIBE_REGIONS = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
                    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
                    "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
SEND_SMS_V1 = {"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
               "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
               "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
               "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
               "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}


def test_aliyun_rpc_v1_published_examples() -> None:
    assert rpc_v1_string_to_sign("GET", DESCRIBE_REGIONS) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
    assert rpc_v1_signature("GET", DESCRIBE_REGIONS, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert rpc_v1_signature("GET", SEND_SMS_V1, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert rpc_v1_signature("GET", SEND_SMS_V1, "wrongSecret") != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


# Aliyun signature V3: the worked examples of the "V3 request structure and signature" page
# (RunInstances in cn-shanghai), with the two nonce/date pairs the documentation shows.
ACS3_EXAMPLES = [
    ("2023-10-26T10:22:32Z", "3156853299f313e23d1673dc12e1703d",
     "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"),
    ("2023-10-26T09:01:01Z", "d410180a5abf7fe235dd9b74aca91fc0",
     "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"),
]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
RUN_INSTANCES_QUERY = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}


@pytest.mark.parametrize("date, nonce, signature", ACS3_EXAMPLES)
def test_aliyun_acs3_published_examples(date: str, nonce: str, signature: str) -> None:
    headers = {"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances", "x-acs-content-sha256": EMPTY,
               "x-acs-date": date, "x-acs-signature-nonce": nonce, "x-acs-version": "2014-05-26"}
    auth = acs3_authorization(method="POST", path="/", query=RUN_INSTANCES_QUERY, headers=headers,
                              payload_hash=EMPTY, key_id="YourAccessKeyId", secret="YourAccessKeySecret")
    assert auth == ("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
                    f"x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={signature}")
    head = parse_v3(auth)
    assert head is not None and head.key_id == "YourAccessKeyId"
    assert v3_signature("POST", "/", RUN_INSTANCES_QUERY, headers, head.signed_headers,
                        "YourAccessKeySecret") == signature
    assert v3_signature("POST", "/", {**RUN_INSTANCES_QUERY, "RegionId": "cn-beijing"}, headers,
                        head.signed_headers, "YourAccessKeySecret") != signature


# Tencent Cloud TC3: the CVM DescribeInstances worked example (the payload keeps the \u escapes).
TC3_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC3_SIGNATURE = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


def test_tencent_tc3_published_example() -> None:
    assert hashlib.sha256(TC3_PAYLOAD).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    kwargs = {"secret_key": "Gu5t9xGARNpq86cd98joQYCN3*******", "service": "cvm", "timestamp": 1551113065,
              "payload": TC3_PAYLOAD, "host": "cvm.tencentcloudapi.com"}
    assert tc3_signature(**kwargs) == TC3_SIGNATURE
    auth = tc3_authorization(secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", **kwargs)
    assert auth == ("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
                    f"SignedHeaders=content-type;host, Signature={TC3_SIGNATURE}")
    head = parse(auth)
    assert head == Tc3Header("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "2019-02-25", "cvm", ("content-type", "host"),
                             TC3_SIGNATURE)
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    assert expected_signature(secret_key=kwargs["secret_key"], head=head, method="POST", query="", headers=headers,
                              payload=TC3_PAYLOAD, timestamp="1551113065") == TC3_SIGNATURE
    assert expected_signature(secret_key="another", head=head, method="POST", query="", headers=headers,
                              payload=TC3_PAYLOAD, timestamp="1551113065") != TC3_SIGNATURE
