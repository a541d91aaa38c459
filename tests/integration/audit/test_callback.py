"""The audit_trail callback in a real ansible-playbook run: changes recorded, no_log honoured, secrets masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

REPO = Path(__file__).resolve().parents[3]
CANARY_PW = "CANARY-pw-91b2e6"
CANARY_PSK = "CANARY-psk-55d0aa"
CANARY_TOTP = "CANARYTOTPJBSWY3DPEHPK3PXP"

PLAYBOOK = [{
    "name": "Change a few things",
    "hosts": "pbx-01",
    "gather_facts": False,
    "tasks": [
        {"name": "2.1 | CONFIG | Write hostapd config", "ansible.builtin.copy": {
            "dest": "{{ work }}/hostapd.conf",
            "content": "ssid=Clinic-Staff\nwpa_key_mgmt=SAE\nsae_password={{ vault_wifi_staff_psk }}|vlanid=30\n",
            "mode": "0600"}},
        {"name": "Store TOTP seed", "no_log": True, "ansible.builtin.copy": {
            "dest": "{{ work }}/totp", "content": "{{ vault_totp_secret }}", "mode": "0600"}},
        {"name": "Touch marker files", "loop": ["a", "b"], "ansible.builtin.file": {
            "path": "{{ work }}/{{ item }}", "state": "touch", "mode": "0600",
            "modification_time": "preserve", "access_time": "preserve"}},
        {"name": "Read only", "ansible.builtin.stat": {"path": "{{ work }}/a"}},
    ],
}]


def _run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    site = tmp_path / "inventories" / "clinic-inventory"
    site.mkdir(parents=True, exist_ok=True)
    (site / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"pbx-01": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "ansible_password": CANARY_PW, "vault_wifi_staff_psk": CANARY_PSK, "vault_totp_secret": CANARY_TOTP,
        "work": str(tmp_path / "work")}}}}))
    (tmp_path / "work").mkdir(exist_ok=True)
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    (site / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (site / "group_vars" / "all" / "site.yml").write_text(
        'aiphone_site_name: clinic\naiphone_audit_dir: "{{ inventory_dir }}/../../audit"\n')
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="aiphone.hardening.audit_trail", AIPHONE_OPERATOR="night-shift")
    return subprocess.run(["ansible-playbook", "-i", str(site / "hosts.yml"), str(tmp_path / "play.yml"), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_changes_are_chained_with_context_and_no_secret(tmp_path):
    first = _run(tmp_path, "--diff")
    assert first.returncode == 0, first.stdout + first.stderr
    site_dir = tmp_path / "audit" / "clinic"
    assert audit_trail.verify(str(site_dir)).ok
    records = audit_trail.read_records(str(site_dir))
    changes = [r for r in records if r["kind"] == "change"]
    assert [c["task"] for c in changes] == ["2.1 | CONFIG | Write hostapd config", "Store TOTP seed",
                                            "Touch marker files", "Touch marker files"]
    hostapd, totp, *loop = changes
    assert hostapd["device"] == "pbx-01" and hostapd["operator"] == "night-shift"
    assert hostapd["action"] == "ansible.builtin.copy" and hostapd["playbook"].endswith("play.yml")
    assert len(hostapd["git"]["revision"]) == 40
    assert hostapd["diff"][0]["added"] == 3 and "sae_password=********" in hostapd["diff"][0]["preview"]
    assert totp["no_log"] is True and "diff" not in totp and totp["what"] == "hidden: the task is no_log"
    assert [c["item"] for c in loop] == ["a", "b"]
    assert records[-1]["kind"] == "run_summary" and records[-1]["changes_recorded"] == 4

    trail_text = (site_dir / audit_trail.TRAIL_FILE).read_text()
    for canary in (CANARY_PW, CANARY_PSK, CANARY_TOTP):
        assert canary not in trail_text
    assert CANARY_TOTP not in first.stdout + first.stderr   # no_log task: hidden from the output too

    second = _run(tmp_path, "--diff")                         # idempotent run: nothing new but nothing lost
    assert second.returncode == 0
    assert len(audit_trail.read_records(str(site_dir))) == len(records)


def test_check_mode_records_nothing(tmp_path):
    result = _run(tmp_path, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "audit" / "clinic" / audit_trail.TRAIL_FILE).exists()


def test_unwritable_trail_warns_but_the_run_goes_on(tmp_path):
    (tmp_path / "audit").write_text("not a directory")
    result = _run(tmp_path)
    assert result.returncode == 0
    assert "aiphone audit trail: could not record" in result.stdout + result.stderr
    assert json.dumps(CANARY_PW) not in result.stdout
