"""playbooks/firmware.yml against the lab site served by `python -m lab up` (generated inventory, lab vault,
site policy with its real baseline sha256): outside the policy's windows nothing reboots; forced with a reason, the
switches are upgraded and the override is in the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from lab.firmware_images import make_image

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[3]


def firmware_store(path: Path, policy_file: Path) -> None:
    """The controller's firmware store for the lab: the baseline builds (what a vendor download would be)."""
    path.mkdir(parents=True, exist_ok=True)
    for baseline in yaml.safe_load(policy_file.read_text())["firmware_baselines"]:
        (path / baseline["image"]).write_bytes(
            make_image(baseline["platform"], baseline["model"], str(baseline["version"])))


def run(lab, tmp: Path, *args: str) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "ANSIBLE_VAULT_PASSWORD_FILE": str(REPO / "inventories" / "lab" / "vault-password.txt"),
           "AIPHONE_OPERATOR": "night-shift", "PYTHONPATH": f"{REPO / 'collections'}:{REPO}"}
    extra = [f"aiphone_audit_dir={tmp / 'audit'}", f"aiphone_report_root={tmp / 'reports'}",
             f"aiphone_backup_dir={tmp / 'backups'}", f"aiphone_firmware_dir={tmp / 'firmware'}"]
    proc = subprocess.run(["ansible-playbook", "-i", str(lab.inventory_file), str(REPO / "playbooks" / "firmware.yml"),
                           "--tags", "firmware_switches", *(a for e in extra for a in ("-e", e)), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=540, check=False)
    report = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{"):])[0]
    for play in report["plays"]:
        for task in play["tasks"]:
            outcome = task["hosts"].get("localhost", {})
            if "Firmware | Roll out the baselines" in task["task"]["name"] and "devices" in outcome:
                return {d["device"]: d for d in outcome["devices"]}
    raise AssertionError(f"no rollout result: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")


def test_lab_switches_refused_outside_the_window_then_forced_and_recorded(fresh_lab, tmp_path):
    firmware_store(tmp_path / "firmware", fresh_lab.run_dir / "inventory" / "site_policy.yml")
    refused = run(fresh_lab, tmp_path)
    # the lab policy's windows are Sunday 02:00-05:00 and Wednesday 01:00-02:30 (Europe/Berlin): outside them
    # (almost always) nothing may reboot
    if all(r["result"] == "deferred" for r in refused.values()):
        assert all("next window" in r["reason"] for r in refused.values())
    forced = run(fresh_lab, tmp_path, "-e", "firmware_force=true", "-e", "firmware_force_reason='CHG-42 lab drill'")
    assert {r["result"] for r in forced.values()} == {"upgraded"}, forced
    records = [json.loads(line) for line in (tmp_path / "audit" / "lab" / "trail.jsonl").read_text().splitlines()]
    attempts = [r for r in records if r["kind"] == "firmware_attempt" and r["result"] == "upgraded"]
    assert {r["device"] for r in attempts} == set(forced)
    assert all(r["operator"] == "night-shift" for r in attempts)
    if any(r["forced"] for r in attempts):
        assert all(r["force_reason"] == "CHG-42 lab drill" for r in attempts if r["forced"])
