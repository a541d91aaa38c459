"""The lab's Catalyst 9800 WLC over real SSH (netmiko cisco_ios): WPA3 WLANs, refusals, show wlan, firmware."""

from __future__ import annotations

import pytest
from netmiko import ConnectHandler

pytestmark = pytest.mark.timeout(120)
WLC = "wlc-01"
WPA3_WLAN = ["wlan Clinic-Staff 1 Clinic-Staff", "no security wpa akm dot1x", "no security wpa wpa2",
             "security wpa wpa3", "security wpa akm sae", "security pmf mandatory",
             "security wpa psk set-key ascii 0 lab-staff-wifi-2026-Kq7"]


@pytest.fixture(scope="module")
def wlc(fresh_lab):
    with ConnectHandler(**fresh_lab.netmiko(WLC)) as conn:
        yield conn


def test_wlc_reports_its_firmware(wlc, fresh_lab):
    [version] = wlc.send_command("show version", use_textfsm=True)
    assert version["version"] == fresh_lab.control.status()[WLC]["version"]
    assert version["software_image"] == "C9800_IOSXE-K9" and version["running_image"].startswith("C9800-L")


def test_sae_h2e_is_unknown_before_17_7_1(wlc, fresh_lab):
    assert fresh_lab.control.status()[WLC]["version"] == "17.6.4"
    output = wlc.send_config_set(["wlan H2E-Test 10 H2E-Test", "security wpa akm sae pwe h2e"])
    assert "% Invalid input detected at '^' marker." in output
    assert "pwe" not in wlc.send_command("show running-config | section H2E-Test")
    wlc.send_config_set(["no wlan H2E-Test 10 H2E-Test"])


def test_new_wlan_starts_shut_with_wpa2_dot1x(wlc):
    assert "Invalid" not in wlc.send_config_set(["wlan Guest-Test 9 Guest-Test"])
    summary = wlc.send_command("show wlan summary")
    row = next(line for line in summary.splitlines() if line.startswith("9 "))
    assert "DOWN" in row and "[WPA2][802.1x][AES]" in row
    wlc.send_config_set(["no wlan Guest-Test 9 Guest-Test"])
    assert "Guest-Test" not in wlc.send_command("show wlan summary")


def test_wpa3_sae_wlan_with_pmf_required(wlc):
    output = wlc.send_config_set([*WPA3_WLAN, "no shutdown"])
    assert "%" not in output
    detail = wlc.send_command("show wlan id 1")
    assert "Status                                         : Enabled" in detail
    assert "WPA3 (WPA3 IE)                         : Enabled" in detail
    assert "SAE                                : Enabled" in detail
    assert "PMF Support                                : Required" in detail
    running = wlc.send_command("show running-config | section wlan Clinic-Staff")
    assert " no security wpa akm dot1x\n" in running and " security pmf mandatory\n" in running
    assert "lab-staff-wifi" not in running  # the key is shown encrypted
    assert running.rstrip().endswith("no shutdown")


@pytest.mark.parametrize("broken, reason", [
    (["no security pmf"], "needs PMF"),
    (["no security wpa akm sae"], "no AKM is enabled"),
    (["no security wpa akm sae", "security wpa akm psk", "security wpa wpa2"], "WPA3 needs AKM SAE"),
    (["no security wpa wpa3"], "needs security wpa wpa3"),
])
def test_no_shutdown_refuses_security_that_cannot_work(wlc, broken, reason):
    wlc.send_config_set([*WPA3_WLAN, "shutdown"])
    output = wlc.send_config_set([WPA3_WLAN[0], *broken, "no shutdown"])
    assert "WLAN cannot be enabled" in output and reason in output
    assert "Status                                         : Disabled" in wlc.send_command("show wlan id 1")
    wlc.send_config_set([*WPA3_WLAN, "no security wpa akm psk", "no security wpa wpa2", "no shutdown"])


def test_enabled_wlan_refuses_a_security_change_until_shut(wlc):
    wlc.send_config_set([*WPA3_WLAN, "no shutdown"])
    assert "Status                                         : Enabled" in wlc.send_command("show wlan id 1")
    assert "needs to be disabled" in wlc.send_config_set([WPA3_WLAN[0], "security wpa psk set-key ascii 0 "
                                                                         "another-passphrase-1"])
    assert "needs to be disabled" not in wlc.send_config_set([WPA3_WLAN[0], "security pmf mandatory"])  # no change
    output = wlc.send_config_set([WPA3_WLAN[0], "shutdown", "security wpa psk set-key ascii 0 another-passphrase-1",
                                  "no shutdown"])
    assert "%" not in output
    assert "Status                                         : Enabled" in wlc.send_command("show wlan id 1")


def test_short_psk_and_unknown_wlan_commands_are_refused(wlc):
    assert "PSK length" in wlc.send_config_set([WPA3_WLAN[0], "shutdown", "security wpa psk set-key ascii 0 short"])
    assert "% Invalid input" in wlc.send_config_set([WPA3_WLAN[0], "security wpa akm bogus"])
    assert "% Invalid input" in wlc.send_command("show wlan bogus")
    assert "%" not in wlc.send_config_set([WPA3_WLAN[0], "no shutdown"])


def test_policy_profile_and_tag_map_a_wlan_to_a_vlan(wlc):
    assert "%" not in wlc.send_config_set(["wireless profile policy lab-pp"])
    detail = wlc.send_command("show wireless profile policy detailed lab-pp")
    assert "Status                              : DISABLED" in detail   # a new policy profile starts disabled
    output = wlc.send_config_set(["wireless profile policy lab-pp", "vlan 40", "no shutdown", "peer-blocking drop"])
    assert "% Invalid input" in output          # peer-blocking belongs to the WLAN, not to the policy profile
    assert "%" not in wlc.send_config_set(["wireless tag policy lab-tag", "wlan Clinic-Staff policy lab-pp",
                                           WPA3_WLAN[0], "peer-blocking drop"])
    detail = wlc.send_command("show wireless profile policy detailed lab-pp")
    assert "Status                              : ENABLED" in detail
    assert "VLAN                                : 40" in detail
    tag = wlc.send_command("show wireless tag policy detailed lab-tag")
    assert "Number of WLAN-POLICY maps: 1" in tag and "Clinic-Staff                      lab-pp" in tag
    assert "default-policy-tag" in wlc.send_command("show wireless tag policy summary")
    running = wlc.send_command("show running-config | section wireless")
    assert "wireless profile policy lab-pp\n vlan 40\n no shutdown" in running
    assert "wireless tag policy lab-tag\n wlan Clinic-Staff policy lab-pp" in running
    assert "% Invalid input" in wlc.send_config_set(["wireless tag policy lab-tag", "wlan Clinic-Staff lab-pp"])
    wlc.send_config_set(["no wireless tag policy lab-tag", "no wireless profile policy lab-pp",
                         WPA3_WLAN[0], "no peer-blocking"])
    assert "lab-" not in wlc.send_command("show running-config | section wireless")


def test_transition_mode_wlan_shows_both_generations(wlc):
    wlc.send_config_set(["wlan Clinic-Voice 2 Clinic-Voice", "no security wpa akm dot1x", "security wpa wpa3",
                         "security wpa akm psk", "security wpa akm sae", "security pmf optional",
                         "security wpa psk set-key ascii 0 lab-voice-wifi-2026-Zm4", "no shutdown"])
    row = next(line for line in wlc.send_command("show wlan summary").splitlines() if line.startswith("2 "))
    assert "UP" in row and "[WPA2][PSK][AES]" in row and "[WPA3][SAE][AES]" in row


def test_wlans_survive_a_reload(wlc, fresh_lab):
    wlc.save_config()
    boots = fresh_lab.boot_count(WLC)
    output = wlc.send_command("reload", expect_string=r"\[confirm\]")
    assert "Proceed with reload" in output
    wlc.write_channel("\n")
    fresh_lab.wait_rebooted(WLC, boots)
    with ConnectHandler(**fresh_lab.netmiko(WLC)) as again:
        summary = again.send_command("show wlan summary")
    assert "Clinic-Staff" in summary and "Clinic-Voice" in summary
    assert all(" UP " in line for line in summary.splitlines() if line[:2] in ("1 ", "2 "))
