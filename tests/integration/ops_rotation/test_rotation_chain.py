# -*- coding: utf-8 -*-
"""A full playbooks/rotate_credentials.yml run (every tag) against the lab: plays that come after a credential
was rotated log in with the NEW value (the rotated vault file is re-read), so the SNMP key rotation of a switch
whose admin secret was just rotated, and the Wi-Fi rotation on the WLC whose admin secret was just rotated, both
run; the run ends with every device rotated and nothing left behind (no pending vault file, no plain secret in
the trail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import REPO, VAULT_PASSWORD_FILE, lab_vault, login_works, run_playbook, task_results
from process_tree import kill_tree

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars

pytestmark = pytest.mark.timeout(900)


def secret_hits(roots: list[Path], secrets: set[str]) -> list[str]:
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert files                              # the grep sees something
    return [f"{p}: {s[:3]}..." for p in files for s in secrets if s.encode() in p.read_bytes()]


def vault_values(directory: Path) -> set[str]:
    values = set()
    for vault in directory.rglob("*.yml"):
        if vault.read_bytes().startswith(b"$ANSIBLE_VAULT"):
            values |= {str(v) for v in read_vault_vars(str(vault), str(VAULT_PASSWORD_FILE)).values()}
    return {v for v in values if len(v) >= 8}


def test_full_rotation_runs_end_to_end_with_the_rotated_credentials(fresh_lab, tmp_path):
    canaries = {str(v) for v in lab_vault().values() if isinstance(v, str) and len(v) >= 8}
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
    # the lab vault's secrets (canaries) and every new value: in no file the toolkit wrote (trail, backups)
    secrets = canaries | vault_values(fresh_lab.inventory_file.parent)
    assert len(secrets) > 10
    assert secret_hits([tmp_path, fresh_lab.run_dir / "backups"], secrets) == []


def admin_secret_line(lab, name: str) -> str:
    """The saved `username <admin> ... secret` line of the lab switch (its NVRAM startup-config)."""
    startup = (lab.run_dir / "devices" / name / "nvram_startup-config").read_text()
    return "\n".join(line for line in startup.splitlines()
                     if line.startswith(f"username {lab.credentials.username} ") and " secret " in line)


# kill point -> what must hold, polled every 20 ms, before the controller's whole tree is SIGKILLed
KILL_POINTS = {
    "pending_prepared": lambda lab, vault, before: vault.with_suffix(".yml.pending").exists(),
    "switch_saved_the_new_secret": lambda lab, vault, before: admin_secret_line(lab, "sw-core-01") != before,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_rotation_killed_mid_way_is_settled_by_the_next_run(point, fresh_lab, tmp_path):
    """SIGKILL of the whole controller tree once the rotation prepared its pending vault file, or once the switch
    saved the new secret (before the vault was replaced): the next run finds which secret the switch takes, settles
    vault and switch on one value, and leaves nothing behind."""
    vault = fresh_lab.inventory_file.parent / "host_vars" / "sw-core-01" / "vault.yml"
    variables = {"aiphone_vault_password_file": str(VAULT_PASSWORD_FILE), "aiphone_audit_dir": str(tmp_path),
                 "rotate_network_hosts": "sw-core-01"}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(fresh_lab.inventory_file),
               "--vault-password-file", str(VAULT_PASSWORD_FILE), "-e", json.dumps(variables),
               str(REPO / "playbooks/rotate_credentials.yml"), "--tags", "rotate_network"]
    old = read_vault_vars(str(vault), str(VAULT_PASSWORD_FILE))["ansible_password"]
    before = admin_secret_line(fresh_lab, "sw-core-01")
    assert before, "the lab switch has no saved admin secret line: the kill point cannot be seen"
    reached = KILL_POINTS[point]
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not reached(fresh_lab, vault, before) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.poll() is None, f"the rotation ended before the kill point {point}"
    kill_tree(run.pid)
    run.wait()
    assert vault.with_suffix(".yml.pending").exists()            # what the kill leaves (encrypted)
    assert read_vault_vars(str(vault), str(VAULT_PASSWORD_FILE))["ansible_password"] == old
    switch_took_new = not login_works(fresh_lab, "sw-core-01", old)
    if point == "switch_saved_the_new_secret":
        assert switch_took_new
    site = audit_trail.site_dir(str(tmp_path), "lab")

    again = run_playbook(fresh_lab, "playbooks/rotate_credentials.yml", "--tags", "rotate_network",
                         extra_vars=variables)
    assert again["returncode"] == 0, again["raw"][-3000:]
    outcomes = [r["outcome"] for r in audit_trail.read_records(site, kind="credential_rotation")]
    assert outcomes == (["completed_after_interruption"] if switch_took_new
                        else ["interrupted_kept_old", "rotated"]), outcomes
    current = read_vault_vars(str(vault), str(VAULT_PASSWORD_FILE))["ansible_password"]
    assert current != old and login_works(fresh_lab, "sw-core-01", current)
    assert not login_works(fresh_lab, "sw-core-01", old)
    assert not vault.with_suffix(".yml.pending").exists()
    assert audit_trail.verify(site).ok
    assert secret_hits([tmp_path], {current, old}) == []
