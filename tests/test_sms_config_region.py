"""The SMS region is sent as configured, so a region of the wrong provider is a configuration
error at start, naming the key and the fix, instead of a silent substitution."""
from __future__ import annotations

import pytest

from bot.settings import ConfigError, load

BASE = {"GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_CHANNELS__SMS__SANDBOX": "true"}


@pytest.mark.parametrize("provider, region", [("tencent", ""), ("tencent", "ap-nanjing"), ("aliyun", ""),
                                              ("aliyun", "cn-hangzhou")])
def test_regions_of_the_provider_are_accepted(provider: str, region: str) -> None:
    settings = load(None, environ={**BASE, "GONGKAI_CHANNELS__SMS__PROVIDER": provider,
                                   "GONGKAI_CHANNELS__SMS__REGION": region})
    assert settings.channels.sms.region == region


@pytest.mark.parametrize("extra", [{"GONGKAI_CHANNELS__SMS__PROVIDER": "tencent", "GONGKAI_CHANNELS__SMS__REGION": "cn-hangzhou"},
                                   {"GONGKAI_CHANNELS__SMS__FAILOVER__PROVIDER": "tencent",
                                    "GONGKAI_CHANNELS__SMS__FAILOVER__REGION": "cn-hangzhou"}])
def test_an_aliyun_region_for_tencent_is_refused_with_the_fix(extra: dict) -> None:
    with pytest.raises(ConfigError) as err:
        load(None, environ={**BASE, **extra})
    text = str(err.value)
    assert "region" in text and "cn-hangzhou" in text and "ap-guangzhou" in text and "修正" in text
