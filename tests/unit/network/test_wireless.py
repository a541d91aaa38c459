# -*- coding: utf-8 -*-
import asyncio
import copy
import shutil

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import (
    expected_after,
    restore_commands,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    commands_of,
    diff_config,
    parse_running_config,
    render_sections,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    c9800_aaa_sections,
    c9800_vlan_sections,
    c9800_wlan_sections,
    findings,
    mask,
    parse_uci_show,
    ssid_intents,
    uci_commands,
    uci_options,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    unchecked_site_policy,
    validate_site_policy,
)
from lab.hostapd import hostapd_accepts, render_wireless

wlc_plan = driver_for("cisco_wlc9800", "wireless").wireless_plan

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

model = unchecked_site_policy   # the model of a policy mapping a test changed (not validated again)


def test_intents(policy):
    intents = {i.name: i for i in ssid_intents(policy, SECRETS)}
    assert intents["Clinic-Guest"].isolate and not intents["Clinic-Staff"].isolate
    assert intents["Clinic-Voice"].transition and intents["Clinic-Voice"].vlan == 20
    assert "Voice-Passphrase" not in repr(intents["Clinic-Voice"])


def test_missing_or_hostile_secret_is_refused(policy, policy_data):
    with pytest.raises(InvalidValue, match="vault_wifi_guest_psk"):
        ssid_intents(policy, {k: v for k, v in SECRETS.items() if "guest" not in k})
    with pytest.raises(InvalidValue):
        ssid_intents(policy, dict(SECRETS, vault_wifi_staff_psk="abc'; reboot; echo '12345"))
    policy_data["wireless"]["ssids"][0]["name"] = "Staff\nwifi down"
    with pytest.raises(InvalidValue):
        ssid_intents(model(policy_data), SECRETS)


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


RADIUS_SECRET = "Radius-Shared-Secret-2026"


@pytest.fixture
def enterprise_policy(policy_data):
    """The lab policy (as a mapping) with the staff SSID on WPA3-Enterprise against one RADIUS server."""
    policy_data["wireless"]["radius_servers"] = [{"host": "10.10.10.7", "port": 1812,
                                                   "secret_var": "vault_radius_secret"}]
    staff = policy_data["wireless"]["ssids"][0]
    staff["security"] = "wpa3-enterprise"
    staff.pop("psk_var")
    validate_site_policy(policy_data)
    return policy_data


def enterprise_intents(policy):
    return ssid_intents(unchecked_site_policy(policy), {**SECRETS, "vault_radius_secret": RADIUS_SECRET})


def test_c9800_wpa3_enterprise_wlan_and_aaa(enterprise_policy):
    intents = enterprise_intents(enterprise_policy)
    sections = c9800_aaa_sections(intents, [], set_keys=False) + c9800_wlan_sections(intents, {}, set_keys=False)
    text = "\n".join(render_sections(sections, {}))
    assert "aaa new-model" in text
    assert f"radius server aiphone-radius-1\n address ipv4 10.10.10.7 auth-port 1812 acct-port 1813\n key 0 " \
           f"{RADIUS_SECRET}" in text
    assert "aaa group server radius aiphone-radius\n server name aiphone-radius-1" in text
    assert "aaa authentication dot1x aiphone-dot1x group aiphone-radius" in text
    staff = text.split("wlan Clinic-Staff")[1].split("wlan ")[0]
    for line in ("no security wpa wpa2", "no security wpa akm dot1x", "security wpa wpa3",
                 "security wpa akm dot1x-sha256", "security pmf mandatory",
                 "security dot1x authentication-list aiphone-dot1x", "no shutdown"):
        assert f" {line}\n" in staff + "\n"
    assert "sae" not in staff and "set-key" not in staff
    assert RADIUS_SECRET not in mask(text, intents)
    # as the controller shows it: the key encrypted; a second plan sends nothing (the key is not re-sent)
    running = parse_running_config(text.replace(f"key 0 {RADIUS_SECRET}", "key 7 0822455D0A16")
                                   .replace("set-key ascii 0", "set-key ascii 8"))
    existing = {p.split()[1]: p for p in running.sections if p.startswith("wlan ")}
    again = c9800_aaa_sections(intents, list(running.sections), False) + c9800_wlan_sections(intents, existing, False)
    assert commands_of(diff_config(again, {}, running)) == []
    rotated = c9800_aaa_sections(intents, list(running.sections), set_keys=True)
    assert f" key 0 {RADIUS_SECRET}" in commands_of(diff_config(rotated, {}, running))


def test_c9800_enterprise_transition_keeps_wpa2_dot1x(enterprise_policy):
    enterprise_policy["wireless"]["ssids"][0] |= {"transition": True, "transition_reason": "old laptops"}
    intents = enterprise_intents(enterprise_policy)
    text = "\n".join(render_sections(c9800_wlan_sections(intents, {}, set_keys=False), {}))
    staff = text.split("wlan Clinic-Staff")[1].split("wlan ")[0]
    assert " security wpa wpa2\n security wpa akm dot1x\n" in staff and " security pmf optional" in staff
    assert any("Clinic-Staff: WPA2/WPA3 transition" in finding for finding in findings(model(enterprise_policy)))


def test_c9800_radius_host_must_be_an_address(enterprise_policy):
    enterprise_policy["wireless"]["radius_servers"][0]["host"] = "radius.lab.example"
    with pytest.raises(InvalidValue, match="IPv4 address"):
        c9800_aaa_sections(enterprise_intents(enterprise_policy), [], False)


def test_no_aaa_without_enterprise_ssids(policy):
    assert c9800_aaa_sections(ssid_intents(policy, SECRETS), [], False) == []


@pytest.mark.skipif(shutil.which("hostapd") is None, reason="hostapd not installed")
@pytest.mark.parametrize(("transition", "encryption", "key_mgmt", "pmf"), [
    (False, "wpa3", "WPA-EAP-SHA256", "2"),
    (True, "wpa3-mixed", "WPA-EAP WPA-EAP-SHA256", "1"),
])
def test_openwrt_wpa3_enterprise_is_accepted_by_hostapd(enterprise_policy, transition, encryption, key_mgmt, pmf):
    if transition:
        enterprise_policy["wireless"]["ssids"][0] |= {"transition": True, "transition_reason": "old laptops"}
    staff = enterprise_intents(enterprise_policy)[0]
    options = uci_options(staff, "radio0")
    assert (options["encryption"], options["ieee80211w"]) == (encryption, pmf)
    assert (options["auth_server"], options["auth_port"], options["auth_secret"]) == ("10.10.10.7", "1812",
                                                                                     RADIUS_SECRET)
    assert "key" not in options
    (bss,) = render_wireless([("wifi-device", "radio0", {"type": "mac80211", "band": "2g", "channel": "1"}),
                              ("wifi-iface", "staff", options)])
    conf = dict(line.split("=", 1) for line in bss.bss_lines)
    assert conf["wpa_key_mgmt"] == key_mgmt and conf["ieee80211w"] == pmf and conf["ieee8021x"] == "1"
    accepted, message = asyncio.run(hostapd_accepts(bss))     # the real hostapd parses and starts the BSS
    assert accepted, message


def test_c9800_switching_an_ssid_to_enterprise_removes_sae_and_its_key(enterprise_policy):
    personal_policy = copy.deepcopy(enterprise_policy)
    personal_policy["wireless"]["ssids"][0] |= {"security": "wpa3-personal", "psk_var": "vault_wifi_staff_psk"}
    personal = ssid_intents(unchecked_site_policy(personal_policy), SECRETS)
    text = "\n".join(render_sections(c9800_wlan_sections(personal, {}, set_keys=False), {}))
    running = parse_running_config(text.replace("set-key ascii 0 Staff-Passphrase-2026", "set-key ascii 8 XYZ"))
    existing = {p.split()[1]: p for p in running.sections if p.startswith("wlan ")}
    commands = commands_of(diff_config(c9800_wlan_sections(enterprise_intents(enterprise_policy), existing, False),
                                       {}, running))
    assert {" no security wpa akm sae", " no security wpa akm sae pwe h2e",
            " no security wpa psk set-key ascii 8 XYZ", " security wpa akm dot1x-sha256"} <= set(commands)


def test_c9800_security_change_on_an_enabled_wlan_is_wrapped_in_shutdown(policy):
    intents = ssid_intents(policy, SECRETS)
    text = "\n".join(render_sections(c9800_wlan_sections(intents, {}, set_keys=False), {}))
    running = parse_running_config(text.replace("set-key ascii 0", "set-key ascii 8"))
    commands, _ = wlc_plan(intents, text.replace("set-key ascii 0", "set-key ascii 8")
                              + "\nwireless profile policy aiphone-data\n vlan 30\n no shutdown", rotate_keys=True)
    staff = commands[commands.index("wlan Clinic-Staff 1 Clinic-Staff"):][:4]
    assert staff == ["wlan Clinic-Staff 1 Clinic-Staff", " shutdown",
                     " security wpa psk set-key ascii 0 Staff-Passphrase-2026", " no shutdown"]
    # the controller afterwards: the transient `shutdown` is not expected in the read-back
    after = parse_running_config(text.replace("Staff-Passphrase-2026", "NEWKEY").replace("set-key ascii 0",
                                                                                       "set-key ascii 8"))
    assert verify_applied(staff, after) == []
    assert verify_applied(staff[:3], running) == [" shutdown"]      # a WLAN left shut is caught
    # no security change (only the VLAN mapping): the WLAN is not touched
    assert "wlan Clinic-Staff 1 Clinic-Staff" not in wlc_plan(intents, text.replace(
        "set-key ascii 0", "set-key ascii 8"))[0]


# -- IOS-XE release gates and the policy profile (issue #13) ---------------------------------------------------------
def _c9800_running(policy, version: str) -> str:
    text = "\n".join(render_sections(c9800_wlan_sections(ssid_intents(policy, SECRETS), {}, set_keys=False), {}))
    return f"!\nversion {version}\n" + text.replace("set-key ascii 0", "set-key ascii 8")


@pytest.mark.parametrize(("version", "h2e"), [("17.6", False), ("17.7", True), ("17.12", True)])
def test_c9800_sae_h2e_only_from_17_7_1(policy, version, h2e):
    intents = ssid_intents(policy, SECRETS)
    commands, found = wlc_plan(intents, f"!\nversion {version}\n")
    assert (" security wpa akm sae pwe h2e" in commands) is h2e
    assert any("hash-to-element" in f and f"IOS-XE {version}" in f for f in found) is not h2e


def test_c9800_unknown_release_leaves_h2e_out_and_says_so(policy):
    commands, found = wlc_plan(ssid_intents(policy, SECRETS), "")
    assert " security wpa akm sae pwe h2e" not in commands
    assert any("does not show" in f for f in found)


def test_c9800_enabled_policy_profile_is_shut_while_its_vlan_changes(policy):
    intents = ssid_intents(policy, SECRETS)
    running = _c9800_running(policy, "17.9") + "\nwireless profile policy aiphone-data\n vlan 99\n no shutdown\n"
    commands, _ = wlc_plan(intents, running)
    start = commands.index("wireless profile policy aiphone-data")
    assert commands[start:start + 5] == ["wireless profile policy aiphone-data", " shutdown", " no vlan 99",
                                         " vlan 30", " no shutdown"]
    # positive control: a disabled profile is edited without the wrap
    shut = running.replace(" vlan 99\n no shutdown", " vlan 99\n shutdown")
    commands, _ = wlc_plan(intents, shut)
    start = commands.index("wireless profile policy aiphone-data")
    assert commands[start + 1:start + 3] == [" no vlan 99", " vlan 30"]
