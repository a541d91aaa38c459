# -*- coding: utf-8 -*-
"""Credential rotation against the lab: every device ends reachable with the NEW secret and refuses the old one;
a device that cannot be rotated (lab fault) keeps its old secret, its vault entry is untouched, and it is reported.
The proof is real SSH logins (netmiko, strict host keys) and the real vault file Ansible reads afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import VAULT_PASSWORD_FILE, host_vault, login_works, rotate_credentials, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars

ROTATED = ("sw-core-01", "wlc-01")
FAILING = "sw-access-01"
TASK = "Local admin secret, proved"


def rotate(lab, audit_dir: Path, hosts: str) -> dict:
    return rotate_credentials(lab, "rotate_network", audit_dir, rotate_network_hosts=hosts)


@pytest.fixture(scope="module")
def first_rotation(fresh_lab, tmp_path_factory):
    audit_dir = tmp_path_factory.mktemp("audit")
    fresh_lab.control.set_fault(FAILING, "auth_failure")
    try:
        report = rotate(fresh_lab, audit_dir, "switches:wlcs")
    finally:
        fresh_lab.control.clear_fault(FAILING)
    return report, audit_dir


def test_rotated_devices_take_the_new_secret_and_refuse_the_old(fresh_lab, first_rotation):
    report, _ = first_rotation
    old = fresh_lab.credentials.password
    for name in ROTATED:
        [result] = task_results(report, name, TASK)
        assert result["changed"] and not result.get("failed"), result.get("msg")
        new = read_vault_vars(str(host_vault(fresh_lab, name)), str(VAULT_PASSWORD_FILE))["ansible_password"]
        assert new != old and len(new) == 24
        assert login_works(fresh_lab, name, new)
        assert not login_works(fresh_lab, name, old)
        assert result["old_credential_refused"] is True


def test_failed_device_keeps_its_old_secret_and_is_reported(fresh_lab, first_rotation):
    report, _ = first_rotation
    assert report["returncode"] != 0
    [result] = task_results(report, FAILING, TASK)
    assert result["failed"] and "keeps its old secret" in result["msg"]
    assert not host_vault(fresh_lab, FAILING).exists()
    assert not host_vault(fresh_lab, FAILING).with_suffix(".yml.pending").exists()
    assert login_works(fresh_lab, FAILING, fresh_lab.credentials.password)
    [summary] = task_results(report, "localhost", "kept their old secret")
    assert summary["msg"]["kept_old_secret"] == [FAILING]
    assert sorted(summary["msg"]["rotated"]) == sorted(ROTATED)


def test_rotation_is_audited_without_the_values(fresh_lab, first_rotation):
    _, audit_dir = first_rotation
    site = audit_trail.site_dir(str(audit_dir), "lab")
    records = {r["device"]: r for r in audit_trail.read_records(site, kind="credential_rotation")}
    assert {name: records[name]["outcome"] for name in (*ROTATED, FAILING)} == {
        "sw-core-01": "rotated", "wlc-01": "rotated", FAILING: "failed_kept_old"}
    assert audit_trail.verify(site).ok
    trail_text = Path(audit_trail.trail_path(site)).read_text()
    for name in ROTATED:
        new = read_vault_vars(str(host_vault(fresh_lab, name)), str(VAULT_PASSWORD_FILE))["ansible_password"]
        assert new not in trail_text
    assert fresh_lab.credentials.password not in trail_text


def test_next_run_reads_the_rotated_secret_from_the_vault(fresh_lab, first_rotation, tmp_path):
    """Ansible itself picks the new host_vars vault value up: a second rotation logs in with it."""
    before = read_vault_vars(str(host_vault(fresh_lab, "sw-core-01")), str(VAULT_PASSWORD_FILE))["ansible_password"]
    report = rotate(fresh_lab, tmp_path, "sw-core-01")
    assert report["returncode"] == 0, report["raw"][-2000:]
    after = read_vault_vars(str(host_vault(fresh_lab, "sw-core-01")), str(VAULT_PASSWORD_FILE))["ansible_password"]
    assert after != before and login_works(fresh_lab, "sw-core-01", after)
    assert not login_works(fresh_lab, "sw-core-01", before)
    assert before not in report["raw"] and after not in report["raw"]
