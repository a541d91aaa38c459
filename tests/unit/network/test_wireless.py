# -*- coding: utf-8 -*-
import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import (
    expected_after,
    restore_commands,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    commands_of,
    diff_config,
    parse_running_config,
    render_sections,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    c9800_vlan_sections,
    c9800_wlan_sections,
    findings,
    mask,
    parse_uci_show,
    ssid_intents,
    uci_commands,
    uci_options,
)

SECRETS = {"vault_wifi_staff_psk": "Staff-Passphrase-2026", "vault_wifi_voice_psk": "Voice-Passphrase-2026",
           "vault_wifi_guest_psk": "Guest-Passphrase-2026"}
FRESH_OPENWRT = """wireless.radio0=wifi-device
wireless.radio0.type='mac80211'
wireless.radio0.disabled='1'
wireless.default_radio0=wifi-iface
wireless.default_radio0.device='radio0'
wireless.default_radio0.ssid='OpenWrt'
wireless.default_radio0.encryption='none'
"""


def test_intents(policy):
    intents = {i.name: i for i in ssid_intents(policy, SECRETS)}
    assert intents["Clinic-Guest"].isolate and not intents["Clinic-Staff"].isolate
    assert intents["Clinic-Voice"].transition and intents["Clinic-Voice"].vlan == 20
    assert "Voice-Passphrase" not in repr(intents["Clinic-Voice"])


def test_missing_or_hostile_secret_is_refused(policy):
    with pytest.raises(InvalidValue, match="vault_wifi_guest_psk"):
        ssid_intents(policy, {k: v for k, v in SECRETS.items() if "guest" not in k})
    with pytest.raises(InvalidValue):
        ssid_intents(policy, dict(SECRETS, vault_wifi_staff_psk="abc'; reboot; echo '12345"))
    policy["wireless"]["ssids"][0]["name"] = "Staff\nwifi down"
    with pytest.raises(InvalidValue):
        ssid_intents(policy, SECRETS)


def test_wpa3_options(policy):
    staff, voice, guest = ssid_intents(policy, SECRETS)
    assert uci_options(staff, "radio0") | {} == {
        "device": "radio0", "mode": "ap", "ssid": "Clinic-Staff", "network": "data", "isolate": "0", "hidden": "0",
        "disabled": "0", "encryption": "sae", "ieee80211w": "2", "sae_pwe": "2", "key": "Staff-Passphrase-2026"}
    assert uci_options(voice, "radio0")["encryption"] == "sae-mixed"
    assert uci_options(voice, "radio0")["ieee80211w"] == "1"
    assert uci_options(guest, "radio0")["isolate"] == "1"
    assert findings(policy) == ["SSID Clinic-Voice: WPA2/WPA3 transition mode (PMF optional) - two DECT-over-WiFi "
                                "handsets without SAE support"]


def test_uci_plan_is_idempotent_and_masks_secrets(policy):
    intents = ssid_intents(policy, SECRETS)
    current = parse_uci_show(FRESH_OPENWRT)
    commands = uci_commands(intents, current)
    assert "uci set wireless.aiphone_data_radio0=wifi-iface" in commands
    assert "uci set wireless.aiphone_data_radio0.ssid=Clinic-Staff" in commands
    after = expected_after(commands, current)
    assert uci_commands(intents, after) == []
    assert all("Passphrase" not in mask(c, intents) for c in commands)
    # the fresh AP's open SSID is reported, not touched
    assert not any("default_radio0" in c for c in commands)


def test_restore_commands_undo_a_change(policy):
    intents = ssid_intents(policy, SECRETS)
    before = parse_uci_show(FRESH_OPENWRT)
    after = expected_after(uci_commands(intents, before), before)
    assert expected_after(restore_commands(before, after), after) == before


def test_c9800_wlans(policy):
    intents = ssid_intents(policy, SECRETS)
    sections = c9800_wlan_sections(intents, {}, set_keys=False)
    text = "\n".join(render_sections(sections, {}))
    assert "wlan Clinic-Staff 1 Clinic-Staff" in text and "security pmf mandatory" in text
    assert "security wpa akm sae pwe h2e" in text
    voice = text.split("wlan Clinic-Voice")[1].split("wlan ")[0]
    assert "security pmf optional" in voice and "security wpa akm psk" in voice
    # as the controller shows it afterwards: key encrypted, defaults in place
    running = parse_running_config(text.replace("set-key ascii 0 Staff-Passphrase-2026", "set-key ascii 8 XYZ")
                                   .replace("set-key ascii 0 Voice-Passphrase-2026", "set-key ascii 8 XYZ")
                                   .replace("set-key ascii 0 Guest-Passphrase-2026", "set-key ascii 8 XYZ"))
    existing = {p.split()[1]: p for p in running.sections if p.startswith("wlan ")}
    again = c9800_wlan_sections(intents, existing, set_keys=False)
    assert commands_of(diff_config(again, {}, running)) == []


def test_c9800_ssid_vlan_mapping(policy):
    intents = ssid_intents(policy, SECRETS)
    sections = c9800_vlan_sections(intents)
    text = "\n".join(render_sections(sections, {}))
    assert "wireless profile policy aiphone-data\n vlan 30\n no shutdown" in text
    assert "wireless profile policy aiphone-guest\n vlan 40\n no shutdown" in text
    assert ("wireless tag policy default-policy-tag\n wlan Clinic-Staff policy aiphone-data\n"
            " wlan Clinic-Voice policy aiphone-voice\n wlan Clinic-Guest policy aiphone-guest") in text
    assert commands_of(diff_config(sections, {}, parse_running_config(text))) == []


def test_c9800_mapping_fixes_a_wrong_vlan_and_keeps_foreign_mappings(policy):
    intents = ssid_intents(policy, SECRETS)
    running = parse_running_config("\n".join([
        "wireless profile policy aiphone-data", " vlan 99", " shutdown",
        "wireless tag policy lobby", " wlan Clinic-Staff policy default-policy-profile", " wlan Other policy x"]))
    commands = commands_of(diff_config(c9800_vlan_sections(intents, "lobby"), {}, running))
    assert commands[:4] == ["wireless profile policy aiphone-data", " no vlan 99", " vlan 30", " no shutdown"]
    tag = commands[commands.index("wireless tag policy lobby"):]
    assert " no wlan Clinic-Staff policy default-policy-profile" in tag
    assert " wlan Clinic-Staff policy aiphone-data" in tag
    assert not any("Other" in command for command in commands)


def test_c9800_guest_wlan_blocks_peer_to_peer(policy):
    intents = ssid_intents(policy, SECRETS)
    text = "\n".join(render_sections(c9800_wlan_sections(intents, {}, set_keys=False), {}))
    guest = text.split("wlan Clinic-Guest")[1]
    staff = text.split("wlan Clinic-Staff")[1].split("wlan ")[0]
    assert " peer-blocking drop" in guest and "peer-blocking" not in staff
    running = parse_running_config(text.replace("wlan Clinic-Staff 1 Clinic-Staff\n",
                                                 "wlan Clinic-Staff 1 Clinic-Staff\n peer-blocking drop\n"))
    existing = {p.split()[1]: p for p in running.sections if p.startswith("wlan ")}
    commands = commands_of(diff_config(c9800_wlan_sections(intents, existing, False), {}, running))
    assert commands == ["wlan Clinic-Staff 1 Clinic-Staff", " no peer-blocking drop"]


@pytest.mark.parametrize("tag", ["default-policy-tag\nend", "tag;reload", "x" * 33, "end"])
def test_c9800_hostile_policy_tag_refused(policy, tag):
    with pytest.raises(InvalidValue):
        c9800_vlan_sections(ssid_intents(policy, SECRETS), tag)
