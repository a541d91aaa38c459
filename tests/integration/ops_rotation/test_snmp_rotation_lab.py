# -*- coding: utf-8 -*-
"""SNMPv3 key rotation against the lab switches (playbooks/rotate_credentials.yml --tags rotate_snmp).

The lab has no SNMP agent, so a key cannot be proved by an SNMP poll: the proof is the switch's stored RFC 3414
localized keys (read through the lab's control socket), which match the new vault values and no longer the old."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import VAULT_PASSWORD_FILE, host_vault, rotate_credentials, run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars
from lab.ios.snmp import password_to_key
from lab.topology import LAB_SITE

pytestmark = pytest.mark.timeout(600)
ROTATED, FAILING = "sw-core-01", "sw-access-01"
TASK = "SNMPv3 keys, proved by show snmp user"
VARS = ("vault_snmp_nms_auth_key", "vault_snmp_nms_priv_key")


def old_keys() -> dict:
    return read_vault_vars(str(LAB_SITE / "group_vars/all/snmp_vault.yml"), str(VAULT_PASSWORD_FILE))


def stored_keys_match(lab, name: str, keys: dict) -> bool:
    stored = lab.control.snmp_users(name)["nms-monitor"]
    return (stored["auth_key"] == password_to_key(keys[VARS[0]], stored["engine_id"], "sha1")
            and stored["priv_key"] == password_to_key(keys[VARS[1]], stored["engine_id"], "sha1"))


def rotate(lab, audit_dir: Path, hosts: str) -> dict:
    return rotate_credentials(lab, "rotate_snmp", audit_dir, rotate_snmp_hosts=hosts)


@pytest.fixture(scope="module")
def rotation(fresh_lab, tmp_path_factory):
    converge = run_playbook(fresh_lab, "playbooks/network.yml", "--tags", "switch_management")
    assert converge["returncode"] == 0, converge["raw"][-3000:]
    for name in (ROTATED, FAILING):
        assert stored_keys_match(fresh_lab, name, old_keys())
    audit_dir = tmp_path_factory.mktemp("audit")
    fresh_lab.control.set_fault(FAILING, "auth_failure")
    try:
        report = rotate(fresh_lab, audit_dir, "switches")
    finally:
        fresh_lab.control.clear_fault(FAILING)
    return report, audit_dir


def test_rotated_switch_holds_the_new_keys_from_the_vault(fresh_lab, rotation):
    report, _ = rotation
    [result] = task_results(report, ROTATED, TASK)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert result["users"] == ["nms-monitor"]
    new = read_vault_vars(str(host_vault(fresh_lab, ROTATED)), str(VAULT_PASSWORD_FILE))
    old = old_keys()
    for var in VARS:
        assert len(new[var]) == 24 and new[var] != old[var]
        assert new[var] not in report["raw"] and old[var] not in report["raw"]
    assert stored_keys_match(fresh_lab, ROTATED, new)
    assert not stored_keys_match(fresh_lab, ROTATED, old)


def test_failing_switch_keeps_its_old_keys_and_is_reported(fresh_lab, rotation):
    report, _ = rotation
    assert report["returncode"] != 0
    [result] = task_results(report, FAILING, TASK)
    assert result["failed"] and "keeps its old SNMPv3 keys" in result["msg"]
    assert not host_vault(fresh_lab, FAILING).exists()
    assert not host_vault(fresh_lab, FAILING).with_suffix(".yml.pending").exists()
    assert stored_keys_match(fresh_lab, FAILING, old_keys())
    [summary] = task_results(report, "localhost", "kept their old keys")
    assert summary["msg"]["kept_old_keys"] == [FAILING] and summary["msg"]["rotated"] == [ROTATED]


def test_rotation_is_audited_without_the_values(fresh_lab, rotation):
    _, audit_dir = rotation
    site = audit_trail.site_dir(str(audit_dir), "lab")
    records = {r["device"]: r for r in audit_trail.read_records(site, kind="credential_rotation")}
    assert {name: records[name]["outcome"] for name in (ROTATED, FAILING)} == {
        ROTATED: "rotated", FAILING: "failed_kept_old"}
    assert records[ROTATED]["credential_type"] == "snmpv3 user keys"
    assert audit_trail.verify(site).ok
    trail = Path(audit_trail.trail_path(site)).read_text()
    new = read_vault_vars(str(host_vault(fresh_lab, ROTATED)), str(VAULT_PASSWORD_FILE))
    for var in VARS:
        assert new[var] not in trail and old_keys()[var] not in trail


def test_converge_after_rotation_sends_nothing_and_next_rotation_starts_from_the_vault(fresh_lab, rotation, tmp_path):
    again = run_playbook(fresh_lab, "playbooks/network.yml", "--tags", "switch_management", "--limit", ROTATED)
    assert again["returncode"] == 0 and again["stats"][ROTATED]["changed"] == 0, again["raw"][-2000:]
    before = read_vault_vars(str(host_vault(fresh_lab, ROTATED)), str(VAULT_PASSWORD_FILE))
    report = rotate(fresh_lab, tmp_path, ROTATED)
    assert report["returncode"] == 0, report["raw"][-2000:]
    after = read_vault_vars(str(host_vault(fresh_lab, ROTATED)), str(VAULT_PASSWORD_FILE))
    assert after[VARS[0]] != before[VARS[0]] and stored_keys_match(fresh_lab, ROTATED, after)
