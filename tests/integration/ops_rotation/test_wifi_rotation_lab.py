# -*- coding: utf-8 -*-
"""Wi-Fi passphrase rotation against the lab WLC and AP (playbooks/rotate_credentials.yml, tag rotate_wifi).

Proof by reading the devices back: the AP's `uci get` shows the new key and the real hostapd accepts the
configuration (`wifi reload`); the lab WLC stores its keys reversibly obfuscated (a real 9800 does not), so the
test can decode what the controller holds. A device that refuses the change leaves every device on the old
passphrase and the vault untouched."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from netmiko import ConnectHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import VAULT_PASSWORD_FILE, run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import OpenWrtDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import c9800_stored_keys
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars
from lab.ios.secrets import untype7

pytestmark = pytest.mark.timeout(600)
AP, WLC = "ap-01", "wlc-01"
PSK_VARS = {"Clinic-Staff": "vault_wifi_staff_psk", "Clinic-Voice": "vault_wifi_voice_psk",
            "Clinic-Guest": "vault_wifi_guest_psk"}
REPORT = "Wi-Fi rotation report"


def group_vault(lab) -> dict:
    return read_vault_vars(str(lab.inventory_file.parent / "group_vars/all/vault.yml"), str(VAULT_PASSWORD_FILE))


def psks(lab) -> dict[str, str]:
    vault = group_vault(lab)
    return {ssid: vault[var] for ssid, var in PSK_VARS.items()}


def ap(lab) -> OpenWrtDriver:
    host, port = lab.address(AP)
    return OpenWrtDriver(host=host, port=port, username=lab.credentials.username, password=lab.credentials.password,
                         known_hosts_file=str(lab.known_hosts), name=AP, timeout=15)


def ap_keys(lab) -> dict[str, str]:
    zones = {"Clinic-Staff": "data", "Clinic-Voice": "voice", "Clinic-Guest": "guest"}
    with ap(lab) as dev:
        keys = {ssid: dev.run(f"uci get wireless.aiphone_{zone}_radio0.key")[1].strip() for ssid, zone in zones.items()}
        status, _, err = dev.run("wifi reload")        # the committed configuration passes the real hostapd
    assert status == 0, err
    return keys


def wlc_keys(lab) -> dict[str, str]:
    """What the lab controller holds, decoded (lab only: its stored keys are type 7)."""
    with ConnectHandler(**lab.netmiko(WLC)) as session:
        session.enable()
        stored = c9800_stored_keys(session.send_command("show running-config"))
    return {profile: untype7(value) for profile, value in stored.items()}


def rotate(lab, audit_dir: Path, *args: str) -> dict:
    return run_playbook(lab, "playbooks/rotate_credentials.yml", "--tags", "rotate_wifi", *args, extra_vars={
        "aiphone_vault_password_file": str(VAULT_PASSWORD_FILE), "aiphone_audit_dir": str(audit_dir),
        "rotate_wifi_force": True, "rotate_wifi_force_reason": "integration test"})


@pytest.fixture(scope="module")
def rotation(fresh_lab, tmp_path_factory):
    converged = run_playbook(fresh_lab, "playbooks/wireless.yml")
    assert converged["returncode"] == 0, converged["raw"][-3000:]
    old = psks(fresh_lab)
    audit_dir = tmp_path_factory.mktemp("audit")
    return old, rotate(fresh_lab, audit_dir), audit_dir


def test_every_device_takes_the_new_passphrases(fresh_lab, rotation):
    old, report, _ = rotation
    assert report["returncode"] == 0, report["raw"][-3000:]
    [summary] = task_results(report, "localhost", REPORT)
    assert summary["msg"]["outcome"] == "rotated" and summary["msg"]["rotated"] == [WLC, AP]
    new = psks(fresh_lab)
    for ssid in PSK_VARS:
        assert new[ssid] != old[ssid] and len(new[ssid]) == 24 and new[ssid].isalnum()
    assert ap_keys(fresh_lab) == new
    assert wlc_keys(fresh_lab) == new
    for value in (*old.values(), *new.values()):
        assert value not in report["raw"]


def test_rotation_is_audited_per_ssid_without_values(fresh_lab, rotation):
    old, _, audit_dir = rotation
    site = audit_trail.site_dir(str(audit_dir), "lab")
    records = {r["ssid"]: r for r in audit_trail.read_records(site, kind="credential_rotation")}
    assert {ssid: records[ssid]["outcome"] for ssid in PSK_VARS} == dict.fromkeys(PSK_VARS, "rotated")
    assert records["Clinic-Staff"]["vault_variable"] == "vault_wifi_staff_psk"
    trail = Path(audit_trail.trail_path(site)).read_text()
    assert not any(value in trail for value in (*old.values(), *psks(fresh_lab).values()))


def test_wireless_playbook_converged_with_the_new_vault_values(fresh_lab, rotation):
    again = run_playbook(fresh_lab, "playbooks/wireless.yml")
    assert again["returncode"] == 0 and again["stats"][AP]["changed"] == 0 and again["stats"][WLC]["changed"] == 0


def test_check_mode_connects_and_plans_but_changes_nothing(fresh_lab, rotation, tmp_path):
    before, keys = psks(fresh_lab), ap_keys(fresh_lab)
    report = rotate(fresh_lab, tmp_path, "--check")
    assert report["returncode"] == 0, report["raw"][-3000:]
    assert psks(fresh_lab) == before and ap_keys(fresh_lab) == keys and wlc_keys(fresh_lab) == before
    site = audit_trail.site_dir(str(tmp_path), "lab")
    assert not Path(site).exists() or audit_trail.read_records(site, kind="credential_rotation") == []


def test_a_device_that_refuses_leaves_every_device_on_the_old_passphrase(fresh_lab, rotation, tmp_path):
    """Someone left an uncommitted UCI change on the AP: the AP refuses, the WLC (changed first) is put back."""
    before = psks(fresh_lab)
    with ap(fresh_lab) as dev:
        assert dev.run("uci set wireless.radio0.channel=6")[0] == 0
    try:
        report = rotate(fresh_lab, tmp_path)
    finally:
        with ap(fresh_lab) as dev:
            dev.run("uci revert wireless")
    assert report["returncode"] != 0
    [summary] = task_results(report, "localhost", REPORT)
    msg = summary["msg"]
    assert msg["outcome"] == "failed_kept_old" and msg["reverted_to_old"] == [WLC] and AP in msg["refused"]
    assert "uncommitted UCI changes" in msg["refused"][AP]
    assert psks(fresh_lab) == before                       # the vault keeps the values every device uses
    assert wlc_keys(fresh_lab) == before
    assert ap_keys(fresh_lab) == before
    site = audit_trail.site_dir(str(tmp_path), "lab")
    assert {r["outcome"] for r in audit_trail.read_records(site, kind="credential_rotation")} == {"failed_kept_old"}
