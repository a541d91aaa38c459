# -*- coding: utf-8 -*-
"""playbooks/network.yml with the controller's whole process tree SIGKILLed in the middle of an ACL push (issue #14,
bullet 2: intent before a config change, reconciliation after).

The lab switch holds the first zone-ACL line of the push (fault hold_line: no answer, as a CLI busy programming an
ACL), the test SIGKILLs ansible-playbook and every worker and module below it, then: the trail verifies and holds the
change's `started` record without an end; the audit names the switch as unreconciled; the next run reads the switch
back and records `reconciled` (what it holds: neither the intent nor the backup, with the lines still missing)
before it plans, then converges: the switch holds the policy's config, nothing ever referenced a missing ACL, and
no file the toolkit (or Ansible for it) wrote holds a lab vault secret.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from network_helpers import REPO, VAULT_PASSWORD_FILE, lab_vault, playbook_command, playbook_report, task_results
from process_tree import kill_tree
from switch_fault_helpers import SWITCH, ios_driver, policy_change, site_policy

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail, backup_vault
from ansible_collections.aiphone.hardening.plugins.module_utils.network import config_change
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    config_differences,
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import write_backup
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.config_rollback import restore_controller_backup
from ansible_collections.aiphone.hardening.plugins.modules.audit_verify import unreconciled

pytestmark = pytest.mark.timeout(300)
ACL_LINE = "^ip access-list extended ACL-DATA-IN$"
CANARY = "Canary-Community-3317"
WRITTEN = ("audit", "backups", "ansible-local", "ansible-remote")


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def network_yml(lab, work, name: str) -> subprocess.Popen:
    """network.yml, ACL area of the core switch only (the lean part that holds the zone ACLs), in the background."""
    for sub in ("ansible-local", "ansible-remote"):
        (work / sub).mkdir(exist_ok=True)
    command, env = playbook_command(
        lab, "playbooks/network.yml", "--limit", SWITCH, "--tags", "switch_acls",
        extra_vars={"aiphone_audit_dir": str(work / "audit"), "aiphone_backup_dir": str(work / "backups")},
        env={"ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"), "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote"),
             "AIPHONE_OPERATOR": f"pytest-{name}"})
    out = open(work / f"{name}.out", "w", encoding="utf-8")   # noqa: SIM115 - closed by finish()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.out = out
    return process


def finish(process: subprocess.Popen, work, name: str) -> str:
    process.wait(timeout=240)
    process.out.close()
    return (work / f"{name}.out").read_text()


def records(site_dir) -> list[dict]:
    return audit_trail.read_records(str(site_dir), kind=config_change.RECORD_KIND)


def secret_hits(work) -> list[str]:
    secrets = {value for value in lab_vault().values() if isinstance(value, str) and len(value) >= 6}
    files = [p for top in WRITTEN for p in (work / top).rglob("*") if p.is_file()]
    assert any(p.name == "trail.jsonl" for p in files) and any(p.parent.name == "backups" for p in files)
    return [f"{path}: {secret[:3]}..." for path in files for secret in secrets if secret.encode() in path.read_bytes()]


def test_killed_mid_acl_push_is_reconciled_then_converged(fresh_lab, tmp_path):
    policy = site_policy(fresh_lab)
    site_dir = tmp_path / "audit" / policy.site.name
    control = fresh_lab.control
    control.set_fault(SWITCH, "hold_line", match=ACL_LINE, seconds=8)
    try:
        run = network_yml(fresh_lab, tmp_path, "killed")
        wait_until(lambda: (control.status()[SWITCH].get("held") or {}).get("command") is not None or
                   run.poll() is not None, 150, "the push to reach the held ACL line")
        assert run.poll() is None, finish(run, tmp_path, "killed")[-3000:]
        assert kill_tree(run.pid)
        finish(run, tmp_path, "killed")
    finally:
        control.clear_fault(SWITCH)
    wait_until(lambda: control.status()[SWITCH]["held"]["released"], 30, "the held session to end")

    left = records(site_dir)
    assert [r["result"] for r in left] == ["started"] and left[0]["areas"] == ["acls"]
    assert audit_trail.verify(str(site_dir)).ok
    assert [w["device"] for w in unreconciled(audit_trail.read_records(str(site_dir)))] == [SWITCH]
    with ios_driver(fresh_lab) as dev:
        assert policy_change(dev, policy, ("acls",)), "the kill left nothing to do: it did not land mid-push"

    again = finish(network_yml(fresh_lab, tmp_path, "again"), tmp_path, "again")
    report = playbook_report(0, again)
    result = task_results(report, SWITCH, "Converge to the site policy | acls")[0]
    assert not result.get("failed"), again[-3000:]
    assert result["reconciled_change"]["outcome"] == config_change.NEITHER
    after = records(site_dir)
    assert [r["result"] for r in after] == ["started", "reconciled", "started", "applied"]
    reconciled = after[1]
    assert reconciled["change_id"] == after[0]["change_id"] and reconciled["run_id"] != after[0]["run_id"]
    assert reconciled["summary"]["differs_from_intent"] > 0 and reconciled["summary"]["differs_from_backup"]
    assert unreconciled(audit_trail.read_records(str(site_dir))) == []
    assert audit_trail.verify(str(site_dir)).ok
    with ios_driver(fresh_lab) as dev:
        assert policy_change(dev, policy, ("acls",)) == []          # the switch holds the policy's ACLs
    assert control.status()[SWITCH]["dangling_acl_events"] == []   # nothing ever referenced a missing ACL
    assert not list((tmp_path / "ansible-remote").glob("ansible-tmp-*"))
    assert list((tmp_path / "backups").glob(f"{SWITCH}-*.cfg.vault"))   # the vault identity is the controller's
    assert secret_hits(tmp_path) == []


def test_a_restore_from_an_encrypted_backup_brings_back_the_secrets(fresh_lab, tmp_path, monkeypatch):
    """The controller-side backup of a switch holding a secret (an SNMP community) is written encrypted with the
    site's vault identity; after a change that removes it, config_rollback's controller restore brings the whole
    configuration back, the secret included - which a masked backup cannot (negative control)."""
    monkeypatch.setenv("ANSIBLE_VAULT_IDENTITY_LIST", f"lab@{VAULT_PASSWORD_FILE}")
    vault = backup_vault.site_vault("lab")
    with ios_driver(fresh_lab) as dev:
        dev.push([f"snmp-server community {CANARY} RO"])
        before = dev.get_config()
        assert CANARY in before
        encrypted = write_backup(str(tmp_path / "backups"), SWITCH, before, vault=vault)
        masked = write_backup(str(tmp_path / "backups"), SWITCH, before)
        assert CANARY.encode() not in Path(encrypted).read_bytes() + Path(masked).read_bytes()
        dev.push([f"no snmp-server community {CANARY} RO", "logging host 10.99.0.9"])
        assert CANARY not in dev.get_config()
        with pytest.raises(ValueError):
            restore_controller_backup(dev, masked, vault, check_mode=False)
        plan = restore_controller_backup(dev, encrypted, vault, check_mode=True)
        assert plan["changed"] and CANARY not in dev.get_config()          # check mode sends nothing
        done = restore_controller_backup(dev, encrypted, vault, check_mode=False)
        assert done["changed"] and done["backup_file"] == encrypted
        after = dev.get_config()
        assert config_differences(parse_running_config(before), parse_running_config(after)) == []
        assert f"snmp-server community {CANARY} RO" in after and "logging host 10.99.0.9" not in after
        assert not restore_controller_backup(dev, encrypted, vault, check_mode=False)["changed"]   # idempotent
        dev.push([f"no snmp-server community {CANARY} RO"])
