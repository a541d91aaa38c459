# -*- coding: utf-8 -*-
"""The one table from a site-policy `platform` value to its driver class and what it can do (as netmiko's
ssh_dispatcher and FILE_TRANSFER_MAP).

    driver_for("cisco_ios", "snmp")        # -> CiscoIOSDriver
    driver_for("openwrt", "snmp")          # ValueError: platform 'openwrt' has no snmp (SNMPv3 users) ...
    has_capability("poly", "firmware")     # True

A capability is a contract class of drivers/base.py: a platform declaring it implements every method of that class
(tests/unit/drivers/test_driver_contract.py checks it, tests/integration/drivers/test_contract.py runs it against
the lab). Modules ask for the capability they need and never test a platform name.

Imports are static on purpose: Ansible's module packager (AnsiballZ) only ships module_utils it can see imported.
Each platform file adds one import and one table row here.
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import (
    AdminPassword,
    ConfigDriver,
    DeviceBackup,
    FirmwareDriver,
    LocalLogin,
    PhoneHardening,
    SnmpUsers,
    WirelessConfig,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import (
    CiscoIOSDriver,
    CiscoWLC9800Driver,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_mpp import CiscoMppDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import OpenWrtDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.poly import PolyDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.yealink import YealinkDriver

# capability -> (the contract class of drivers/base.py, what it means for an error message)
CAPABILITIES: dict[str, tuple[type, str]] = {
    "config": (ConfigDriver, "text configuration (load_candidate / commit / rollback)"),
    "snmp": (SnmpUsers, "SNMPv3 users"),
    "device_backup": (DeviceBackup, "configuration backups kept on the device"),
    "login_secret": (LocalLogin, "a local login secret rotated by configuration"),
    "admin_password": (AdminPassword, "a phone admin password"),
    "phone_hardening": (PhoneHardening, "phone hardening through provisioning"),
    "wireless": (WirelessConfig, "the site's SSIDs"),
    "firmware": (FirmwareDriver, "firmware upgrades"),
}

# platform -> (driver class, the capabilities it declares)
DRIVERS: dict[str, tuple[type, frozenset[str]]] = {
    "cisco_ios": (CiscoIOSDriver, frozenset({"config", "snmp", "device_backup", "login_secret", "firmware"})),
    "cisco_wlc9800": (CiscoWLC9800Driver, frozenset({"config", "wireless", "device_backup", "login_secret"})),
    "openwrt": (OpenWrtDriver, frozenset({"config", "wireless"})),
    "poly": (PolyDriver, frozenset({"firmware", "admin_password", "phone_hardening"})),
    "yealink": (YealinkDriver, frozenset({"firmware", "admin_password", "phone_hardening"})),
    "cisco_mpp": (CiscoMppDriver, frozenset({"firmware", "admin_password", "phone_hardening"})),
}


def supported_platforms() -> list[str]:
    return sorted(DRIVERS)


def get_driver(platform: str) -> type:
    try:
        return DRIVERS[platform][0]
    except KeyError:
        raise ValueError(
            f"no driver for platform {platform!r}; supported: {', '.join(supported_platforms()) or 'none'}"
        ) from None


def capabilities(platform: str) -> frozenset[str]:
    get_driver(platform)
    return DRIVERS[platform][1]


def has_capability(platform: str, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; known: {', '.join(sorted(CAPABILITIES))}")
    return platform in DRIVERS and capability in DRIVERS[platform][1]


def platforms_with(capability: str) -> list[str]:
    return [platform for platform in supported_platforms() if has_capability(platform, capability)]


def driver_for(platform: str, *needed: str) -> type:
    """The driver class of `platform`, which must declare every capability in `needed` (ValueError naming it)."""
    cls = get_driver(platform)
    for capability in needed:
        if not has_capability(platform, capability):
            raise ValueError(f"platform {platform!r} has no {capability} ({CAPABILITIES[capability][1]}); "
                             f"platforms that have it: {', '.join(platforms_with(capability)) or 'none'}")
    return cls
