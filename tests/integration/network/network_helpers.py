# -*- coding: utf-8 -*-
"""Helpers of the network integration tests: run the real playbooks against the lab, look at the devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VAULT_PASSWORD_FILE = REPO / "inventories/lab/vault-password.txt"
# The lab's switches evaluate a VTY access-class as if the controller stood at this mgmt-zone address.
LAB_CONTROLLER_ADDRESS = "10.10.10.100"


def playbook_command(lab, playbook: str, *args: str, extra_vars: dict | None = None,
                     env: dict | None = None) -> tuple[list[str], dict]:
    """The ansible-playbook command line against the lab inventory, and its environment (ansible.posix.json)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json", PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {}))
    variables = {"aiphone_controller_address": LAB_CONTROLLER_ADDRESS,
                 "aiphone_backup_dir": str(lab.run_dir / "backups"),
                 "switch_hardening_force": True, "switch_hardening_force_reason": "integration test",
                 "wireless_wpa3_force": True, "wireless_wpa3_force_reason": "integration test"}
    variables.update(extra_vars or {})
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory_file),
               "--vault-password-file", str(VAULT_PASSWORD_FILE), "-e", json.dumps(variables), str(REPO / playbook),
               *args]
    return command, env


def run_playbook(lab, playbook: str, *args: str, extra_vars: dict | None = None, env: dict | None = None) -> dict:
    """ansible-playbook against the lab inventory; returns the ansible.posix.json report (+ returncode)."""
    command, env = playbook_command(lab, playbook, *args, extra_vars=extra_vars, env=env)
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    return playbook_report(result.returncode, result.stdout, result.stderr)


def playbook_report(returncode: int, stdout: str, stderr: str = "") -> dict:
    try:
        report = json.loads(stdout[stdout.index("{"):])
    except ValueError:
        pytest.fail(f"no JSON report from ansible-playbook:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    report["returncode"] = returncode
    report["raw"] = stdout + stderr
    return report


def host_vault(lab, name: str) -> Path:
    """The vault file a rotation writes for one device (the lab inventory's host_vars)."""
    return lab.inventory_file.parent / "host_vars" / name / "vault.yml"


def rotate_credentials(lab, tag: str, audit_dir: Path, **extra_vars) -> dict:
    """playbooks/rotate_credentials.yml --tags `tag` against the lab, its vault and audit trail in `audit_dir`."""
    return run_playbook(lab, "playbooks/rotate_credentials.yml", "--tags", tag, extra_vars={
        "aiphone_vault_password_file": str(VAULT_PASSWORD_FILE), "aiphone_audit_dir": str(audit_dir), **extra_vars})


def task_results(report: dict, host: str, task_fragment: str) -> list[dict]:
    return [task["hosts"][host] for play in report["plays"] for task in play["tasks"]
            if task_fragment in task["task"]["name"] and host in task["hosts"]]


def config_events(session) -> int:
    """How many times the device logged a configuration change (%SYS-5-CONFIG_I)."""
    return session.send_command("show logging").count("%SYS-5-CONFIG_I")


def lab_vault() -> dict:
    """The decrypted lab vault (LAB-ONLY secrets), to prove no secret leaks into any output."""
    import yaml
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    from lab.topology import VAULT_FILE
    secret = VaultSecret(VAULT_PASSWORD_FILE.read_bytes().strip())
    return yaml.safe_load(VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)]).decrypt(VAULT_FILE.read_bytes()))


def login_works(lab, name: str, password: str) -> bool:
    """A new SSH login to lab device `name` with `password` is accepted (a refused password is False)."""
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoAuthenticationException

    try:
        ConnectHandler(**lab.netmiko(name, password=password)).disconnect()
        return True
    except NetmikoAuthenticationException:
        return False
