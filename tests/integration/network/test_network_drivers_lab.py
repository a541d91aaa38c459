# -*- coding: utf-8 -*-
"""The driver contract (drivers/base.py) for the network platforms, against the lab: facts as the device reports
them (show version through ntc-templates, ubus on OpenWrt), configuration text, strict host keys."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver

NETWORK_DEVICES = {"sw-core-01": "cisco_ios", "sw-access-01": "cisco_ios", "wlc-01": "cisco_wlc9800",
                   "ap-01": "openwrt"}


@pytest.mark.parametrize("name,platform", sorted(NETWORK_DEVICES.items()))
def test_facts_and_config_match_the_device(lab, name, platform):
    host, port = lab.address(name)
    driver = get_driver(platform)(host=host, port=port, username=lab.credentials.username,
                                  password=lab.credentials.password, known_hosts_file=str(lab.known_hosts),
                                  name=name, enable_secret=lab.credentials.enable_secret, timeout=15)
    status = lab.control.status()[name]
    with driver as dev:
        facts = dev.get_facts()
        config = dev.get_config()
    assert facts["platform"] == platform
    assert facts["model"] == status["model"]
    assert facts["os_version"].startswith(status["version"]) or status["version"] in facts["os_version"]
    assert config.strip()
    if platform.startswith("cisco"):
        assert facts["hostname"] == name and facts["serial"] and facts["image"]
        assert f"hostname {name}" in config
    else:
        assert "wireless." in config
