# -*- coding: utf-8 -*-
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import SwitchOptions
from ansible_collections.aiphone.hardening.plugins.module_utils.network.switch_task import lockout_problem
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import openwrt_plan

SECRETS = {"vault_wifi_staff_psk": "Staff-Passphrase-2026", "vault_wifi_voice_psk": "Voice-Passphrase-2026",
           "vault_wifi_guest_psk": "Guest-Passphrase-2026"}


def test_lockout_guard(policy):
    assert "127.0.0.1" in lockout_problem(policy, SwitchOptions(), "127.0.0.1")
    assert lockout_problem(policy, SwitchOptions(), "10.10.10.100") is None            # inside the mgmt zone
    assert lockout_problem(policy, SwitchOptions(management_sources=["127.0.0.0/8"]), "127.0.0.1") is None


def test_openwrt_plan_enables_radios_and_reports_open_ssids(policy):
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import ssid_intents
    text = ("wireless.radio0=wifi-device\nwireless.radio0.disabled='1'\n"
            "wireless.default_radio0=wifi-iface\nwireless.default_radio0.encryption='none'\n")
    commands, weak = openwrt_plan(ssid_intents(policy, SECRETS), text, enable_radios=True)
    assert "uci set wireless.radio0.disabled=0" in commands
    assert weak and "default_radio0" in weak[0]
    commands, _ = openwrt_plan(ssid_intents(policy, SECRETS), text, enable_radios=False)
    assert "uci set wireless.radio0.disabled=0" not in commands
