# -*- coding: utf-8 -*-
"""A full playbooks/rotate_credentials.yml run (every tag) against the lab: plays that come after a credential
was rotated log in with the NEW value (the rotated vault file is re-read), so the SNMP key rotation of a switch
whose admin secret was just rotated, and the Wi-Fi rotation on the WLC whose admin secret was just rotated, both
run; the run ends with every device rotated and nothing left behind (no pending vault file, no plain secret in
the trail)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import VAULT_PASSWORD_FILE, run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars

pytestmark = pytest.mark.timeout(900)


def test_full_rotation_runs_end_to_end_with_the_rotated_credentials(fresh_lab, tmp_path):
    converge = run_playbook(fresh_lab, "playbooks/network.yml", "--tags", "switch_management")
    assert converge["returncode"] == 0, converge["raw"][-3000:]
    report = run_playbook(fresh_lab, "playbooks/rotate_credentials.yml", extra_vars={
        "aiphone_vault_password_file": str(VAULT_PASSWORD_FILE), "aiphone_audit_dir": str(tmp_path),
        "rotate_phone_settle_timeout": 20, "rotate_wifi_force": True,
        "rotate_wifi_force_reason": "integration test"})
    assert report["returncode"] == 0, report["raw"][-4000:]
    host_vars = fresh_lab.inventory_file.parent / "host_vars"
    for switch in ("sw-core-01", "sw-access-01"):
        [admin] = task_results(report, switch, "Local admin secret, proved")
        [snmp] = task_results(report, switch, "SNMPv3 keys, proved")       # logged in with the NEW secret
        assert admin["changed"] and snmp["changed"] and not snmp.get("failed"), snmp.get("msg")
        vault = read_vault_vars(str(host_vars / switch / "vault.yml"), str(VAULT_PASSWORD_FILE))
        assert {"ansible_password", "vault_snmp_nms_auth_key"} <= set(vault)
    [wifi] = task_results(report, "localhost", "Wi-Fi rotation report")
    assert wifi["msg"]["outcome"] == "rotated" and not wifi["msg"]["error"], wifi["msg"]
    assert not list(host_vars.rglob("*.pending"))
    site = audit_trail.site_dir(str(tmp_path), "lab")
    assert audit_trail.verify(site).ok
    trail = Path(audit_trail.trail_path(site)).read_text()
    rotated = read_vault_vars(str(host_vars / "wlc-01" / "vault.yml"), str(VAULT_PASSWORD_FILE))
    assert rotated["ansible_password"] not in trail and rotated["ansible_password"] not in report["raw"]
