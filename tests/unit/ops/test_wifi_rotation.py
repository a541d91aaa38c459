# -*- coding: utf-8 -*-
"""The Wi-Fi passphrase rotation's all-or-nothing rule, over an in-memory site (the lab test drives real devices)."""

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import CommandRejected
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.wifi_rotation import (
    KEPT_OLD,
    ROTATED,
    SPLIT,
    new_passphrases,
    rotate_site_psks,
)

OLD = {"vault_wifi_staff_psk": "old-staff-passphrase"}
NEW = {"vault_wifi_staff_psk": "new-staff-passphrase"}


class Site:
    """Devices holding a passphrase; `refuse` maps a device to the passphrase value it refuses to take."""

    def __init__(self, names, refuse=None):
        self.held = dict.fromkeys(names, OLD["vault_wifi_staff_psk"])
        self.refuse = refuse or {}
        self.calls = []

    def apply(self, device, secrets):
        value = secrets["vault_wifi_staff_psk"]
        self.calls.append((device, value))
        if self.refuse.get(device) == value:
            raise CommandRejected(f"{device}: refused", device=device)
        self.held[device] = value


def test_every_device_takes_the_new_passphrase():
    site = Site(["wlc-01", "ap-01", "ap-02"])
    outcome = rotate_site_psks(list(site.held), site.apply, OLD, NEW)
    assert outcome.outcome == ROTATED and outcome.rotated == ["wlc-01", "ap-01", "ap-02"]
    assert set(site.held.values()) == {"new-staff-passphrase"}


def test_a_refusal_stops_the_run_and_puts_the_changed_devices_back():
    site = Site(["wlc-01", "ap-01", "ap-02"], refuse={"ap-01": "new-staff-passphrase"})
    outcome = rotate_site_psks(list(site.held), site.apply, OLD, NEW)
    assert outcome.outcome == KEPT_OLD
    assert outcome.reverted == ["wlc-01"] and list(outcome.failed) == ["ap-01"] and outcome.rotated == []
    assert outcome.not_attempted == ["ap-02"] and ("ap-02", "new-staff-passphrase") not in site.calls
    assert set(site.held.values()) == {"old-staff-passphrase"}
    assert "keeps the old passphrase" in outcome.summary()


def test_a_device_that_cannot_be_put_back_is_a_split_ssid():
    site = Site(["wlc-01", "ap-01"], refuse={"ap-01": "new-staff-passphrase", "wlc-01": "old-staff-passphrase"})
    outcome = rotate_site_psks(list(site.held), site.apply, OLD, NEW)
    assert outcome.outcome == SPLIT and list(outcome.split) == ["wlc-01"] and outcome.rotated == ["wlc-01"]
    assert site.held == {"wlc-01": "new-staff-passphrase", "ap-01": "old-staff-passphrase"}
    assert outcome.summary().startswith("SPLIT: wlc-01 kept the NEW passphrase")


def test_new_passphrases_are_strong_cli_safe_and_distinct():
    values = new_passphrases(["a", "b", "c"], 24)
    assert len(set(values.values())) == 3
    for value in values.values():
        assert len(value) == 24 and value.isalnum() and check_value(value, "psk", "psk") == value


@pytest.mark.parametrize("length", [8, 15, 64])
def test_passphrase_length_outside_16_to_63_is_refused(length):
    with pytest.raises(ValueError):
        new_passphrases(["a"], length)
