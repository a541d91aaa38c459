# -*- coding: utf-8 -*-
"""The one table from a site-policy `platform` value to its driver class (as netmiko's ssh_dispatcher).

Imports are static on purpose: Ansible's module packager (AnsiballZ) only ships module_utils it can see imported.
Each platform file adds one import and one table row here.
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import (
    CiscoIOSDriver,
    CiscoWLC9800Driver,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_mpp import CiscoMppDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import OpenWrtDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.poly import PolyDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.yealink import YealinkDriver

DRIVERS: dict[str, type] = {
    "cisco_ios": CiscoIOSDriver,
    "cisco_wlc9800": CiscoWLC9800Driver,
    "openwrt": OpenWrtDriver,
    "poly": PolyDriver,
    "yealink": YealinkDriver,
    "cisco_mpp": CiscoMppDriver,
}


def supported_platforms() -> list[str]:
    return sorted(DRIVERS)


def get_driver(platform: str) -> type:
    try:
        return DRIVERS[platform]
    except KeyError:
        raise ValueError(
            f"no driver for platform {platform!r}; supported: {', '.join(supported_platforms()) or 'none'}"
        ) from None
