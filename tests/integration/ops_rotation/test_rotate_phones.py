# -*- coding: utf-8 -*-
"""Phone admin password rotation against the lab phones (Poly REST, Yealink provisioning + SIP check-sync, Cisco MPP
profile resync): every rotated phone answers an authenticated API call with the NEW password and refuses the OLD one,
the value is written into the vault Ansible reads and is gone from the provisioning server; a phone that cannot be
rotated (lab fault) keeps its old password and vault entry and is reported; the trail never holds a value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import VAULT_PASSWORD_FILE, host_vault, rotate_credentials, run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import AuthenticationFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars

PHONES = ("phone-101", "phone-102", "phone-103")      # Poly, Yealink, Cisco MPP
TASK = "Phone admin password, proved"


def api_login_works(lab, name: str, password: str) -> bool:
    """An authenticated API call (the vendor driver's facts read: Poly device/info, Yealink phonecfg, MPP status)."""
    host_vars = lab.host_vars(name)
    driver = get_driver(host_vars["platform"])(host=host_vars["ansible_host"], port=host_vars["ansible_port"],
                                               username=host_vars.get("ansible_user", lab.credentials.username),
                                               password=password, name=name, timeout=10)
    try:
        with driver:
            return bool(driver.get_facts()["os_version"])
    except AuthenticationFailed:
        return False


def new_password(lab, name: str) -> str:
    return read_vault_vars(str(host_vault(lab, name)), str(VAULT_PASSWORD_FILE))["ansible_password"]


def rotate(lab, audit_dir: Path, hosts: str) -> dict:
    return rotate_credentials(lab, "rotate_phones", audit_dir, rotate_phone_hosts=hosts, rotate_phone_settle_timeout=20)


@pytest.fixture(scope="module")
def rotation(fresh_lab, tmp_path_factory):
    """Rotate the three lab phones; then rotate phone-103 again while it refuses every login."""
    audit_dir = tmp_path_factory.mktemp("audit")
    report = rotate(fresh_lab, audit_dir, "phones")
    fresh_lab.control.set_fault("phone-103", "auth_failure")
    try:
        faulted = rotate(fresh_lab, audit_dir, "phone-103")
    finally:
        fresh_lab.control.clear_fault("phone-103")
    return report, faulted, audit_dir


def test_every_phone_takes_the_new_password_and_refuses_the_old(fresh_lab, rotation):
    report, _, _ = rotation
    assert report["returncode"] == 0, report["raw"][-3000:]
    old = fresh_lab.credentials.password
    for name in PHONES:
        [result] = task_results(report, name, TASK)
        assert result["changed"] and result["old_credential_refused"] is True, result
        new = new_password(fresh_lab, name)
        assert new != old and len(new) == 24
        assert api_login_works(fresh_lab, name, new), name
        assert not api_login_works(fresh_lab, name, old), name
    [summary] = task_results(report, "localhost", "kept their old password")
    assert sorted(summary["msg"]["rotated"]) == sorted(PHONES) and summary["msg"]["kept_old_password"] == []


def test_no_password_is_left_on_the_provisioning_server(fresh_lab, rotation):
    served = b"".join(path.read_bytes() for path in (fresh_lab.run_dir / "provisioning").rglob("*") if path.is_file())
    for name in PHONES:
        assert new_password(fresh_lab, name).encode() not in served, name


def test_faulted_phone_keeps_its_old_password_and_vault_entry(fresh_lab, rotation):
    _, faulted, _ = rotation
    assert faulted["returncode"] != 0
    [result] = task_results(faulted, "phone-103", TASK)
    assert result["failed"] and "keeps its old" in result["msg"]
    kept = new_password(fresh_lab, "phone-103")           # the value of the first (successful) rotation
    assert api_login_works(fresh_lab, "phone-103", kept)
    assert not host_vault(fresh_lab, "phone-103").with_suffix(".yml.pending").exists()
    [summary] = task_results(faulted, "localhost", "kept their old password")
    assert summary["msg"]["kept_old_password"] == ["phone-103"]


def test_rotation_is_audited_without_values(fresh_lab, rotation):
    report, faulted, audit_dir = rotation
    site = audit_trail.site_dir(str(audit_dir), "lab")
    records = audit_trail.read_records(site, kind="credential_rotation")
    assert [(r["device"], r["outcome"]) for r in records] == [
        *((name, "rotated") for name in sorted(PHONES, key=[r["device"] for r in records].index)),
        ("phone-103", "failed_kept_old")]
    assert {r["credential_type"] for r in records} == {"phone admin password"}
    assert audit_trail.verify(site).ok
    text = Path(audit_trail.trail_path(site)).read_text() + report["raw"] + faulted["raw"]
    for name in PHONES:
        assert new_password(fresh_lab, name) not in text
    assert fresh_lab.credentials.password not in text


def test_check_mode_logs_in_and_changes_nothing(fresh_lab, rotation, tmp_path):
    before = {name: host_vault(fresh_lab, name).read_bytes() for name in PHONES}
    report = run_playbook(fresh_lab, "playbooks/rotate_credentials.yml", "--check", "--tags", "rotate_phones",
                          extra_vars={"aiphone_vault_password_file": str(VAULT_PASSWORD_FILE),
                                      "aiphone_audit_dir": str(tmp_path)})
    assert report["returncode"] == 0, report["raw"][-3000:]
    for name in PHONES:
        assert task_results(report, name, TASK)[0]["changed"]          # the plan: it would rotate
        assert host_vault(fresh_lab, name).read_bytes() == before[name]
        assert api_login_works(fresh_lab, name, new_password(fresh_lab, name))
    assert not (tmp_path / "lab").exists() or not audit_trail.read_records(
        audit_trail.site_dir(str(tmp_path), "lab"), kind="credential_rotation")
