"""Ansible's own cisco.ios modules over ansible.netcommon.network_cli (paramiko) against the lab switch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lab.ios.show import version_tag
from lab.topology import REPO_ROOT, VAULT_PASSWORD_FILE

pytestmark = pytest.mark.timeout(300)

PLAYBOOK = """
- name: cisco.ios against the lab switch
  hosts: sw-core-01
  gather_facts: false
  vars:
    ansible_connection: ansible.netcommon.network_cli
    ansible_network_os: cisco.ios.ios
    ansible_network_cli_ssh_type: paramiko
  tasks:
    - name: Facts
      cisco.ios.ios_facts:
        gather_subset: min
      register: facts
    - name: Commands
      cisco.ios.ios_command:
        commands: [show vlan brief, show ip access-lists]
      register: shown
    - name: An unknown command fails the task
      cisco.ios.ios_command:
        commands: [show lab-does-not-model-this]
      register: unknown
      ignore_errors: true
    - name: Configure a VLAN
      cisco.ios.ios_config:
        parents: [vlan 77]
        lines: [name ansible-test]
      register: first
    - name: Configure it again
      cisco.ios.ios_config:
        parents: [vlan 77]
        lines: [name ansible-test]
      register: second
    - name: Report
      ansible.builtin.copy:
        content: "{{ {'facts': facts.ansible_facts, 'shown': shown.stdout, 'unknown': unknown,
                     'first': first.changed, 'second': second.changed} | to_json }}"
        dest: "{{ report }}"
        mode: "0600"
      delegate_to: localhost
"""


def test_ios_facts_command_and_config_over_network_cli(lab, tmp_path: Path):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    # Ansible's paramiko connection checks host keys against ~/.ssh/known_hosts only
    (home / ".ssh" / "known_hosts").write_text(lab.known_hosts.read_text())
    report = tmp_path / "report.json"
    env = dict(os.environ, HOME=str(home), ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
               ANSIBLE_HOST_KEY_CHECKING="true",
               PYTHONPATH=f"{REPO_ROOT / 'collections'}{os.pathsep}{REPO_ROOT}")
    result = subprocess.run(["ansible-playbook", "-i", str(lab.inventory_file), "--vault-password-file",
                             str(VAULT_PASSWORD_FILE), "-e", f"report={report}", str(tmp_path / "play.yml")],
                            env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=280, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    data = json.loads(report.read_text())
    status = lab.control.status()["sw-core-01"]
    assert data["facts"]["ansible_net_version"] == version_tag(status["version"])  # 17.9.5 -> "17.09.05"
    assert data["facts"]["ansible_net_model"] == "C9300-24P"
    assert data["facts"]["ansible_net_hostname"] == "sw-core-01"
    assert "VLAN Name" in data["shown"][0]
    assert data["unknown"]["failed"] and "Invalid input" in data["unknown"]["msg"]
    assert (data["first"], data["second"]) == (True, False)
