# -*- coding: utf-8 -*-
"""Rotation of the Linux automation SSH key against a lab Linux host started for this test's own run directory
(lab.linux_hosts: container and network names derive from the run dir, so nothing clashes with other runs):
the new key logs in, the old one is refused, the inventory uses the new key, and a second rotation works from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from lab import linux_hosts

HOST = "ai-gw-01"


class KeyLab:
    """What network_helpers.run_playbook needs: an inventory file and a run directory."""

    def __init__(self, run_dir: Path, host_vars: dict):
        self.run_dir = run_dir
        self.inventory_file = run_dir / "inventory" / "hosts.yml"
        self.inventory_file.parent.mkdir(parents=True)
        self.host_vars = host_vars
        self.inventory_file.write_text(yaml.safe_dump({"all": {
            "vars": {"aiphone_site_name": "lab"},
            "children": {"linux_hosts": {"hosts": {HOST: host_vars}}}}}))

    def login(self, key_file: str) -> bool:
        command = ["ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ControlMaster=no",
                   *self.host_vars["ansible_ssh_common_args"].split(), "-i", key_file,
                   f"{self.host_vars['ansible_user']}@{self.host_vars['ansible_host']}", "true"]
        return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 0

    def key_in_use(self) -> str:
        path = self.inventory_file.parent / "host_vars" / HOST / "automation_key.yml"
        return yaml.safe_load(path.read_text())["ansible_ssh_private_key_file"]


@pytest.fixture(scope="module")
def key_lab(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("key-rotation")
    try:
        started = linux_hosts.start(run_dir, [HOST])
    except Exception as exc:  # no image / podman: say so instead of erroring every test
        linux_hosts.stop(run_dir)
        pytest.skip(f"lab Linux host could not start: {exc}")
    try:
        yield KeyLab(run_dir, started[HOST])
    finally:
        linux_hosts.stop(run_dir)


def rotate_key(key_lab, audit_dir) -> dict:
    return run_playbook(key_lab, "playbooks/rotate_credentials.yml", "--tags", "rotate_linux_key",
                        extra_vars={"aiphone_audit_dir": str(audit_dir),
                                    "aiphone_automation_key_dir": str(key_lab.run_dir / "keys")})


def test_new_key_logs_in_and_the_old_one_is_refused(key_lab, tmp_path):
    old_key = key_lab.host_vars["ansible_ssh_private_key_file"]
    assert key_lab.login(old_key)
    report = rotate_key(key_lab, tmp_path)
    assert report["returncode"] == 0, report["raw"][-3000:]
    new_key = key_lab.key_in_use()
    assert new_key != old_key and Path(new_key).stat().st_mode & 0o077 == 0
    assert key_lab.login(new_key) and not key_lab.login(old_key)
    [record] = audit_trail.read_records(audit_trail.site_dir(str(tmp_path), "lab"), kind="credential_rotation")
    assert record["outcome"] == "rotated" and record["new_key_fingerprint"].startswith("SHA256:")
    assert "PRIVATE KEY" not in report["raw"]

    # the inventory now points at the new key: the next rotation logs in with it and retires it in turn
    report = rotate_key(key_lab, tmp_path)
    assert report["returncode"] == 0, report["raw"][-3000:]
    newest = key_lab.key_in_use()
    assert newest != new_key and key_lab.login(newest) and not key_lab.login(new_key)
    assert task_results(report, HOST, "A new SSH login with the new key alone")
