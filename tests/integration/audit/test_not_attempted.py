"""A play that stops early (serial batch failed) must not leave a host untried in silence: the recap names it
(callback aiphone.hardening.site_lock). Positive control: a run where every host is reached names none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PLAY = """
- name: Harden the switches
  hosts: switches
  gather_facts: false
  serial: 1
  tasks:
    - name: Change something
      ansible.builtin.command: "{{ 'false' if inventory_hostname == fail_on else 'true' }}"
      changed_when: false
"""


def run(tmp_path: Path, fail_on: str) -> subprocess.CompletedProcess:
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    switches:\n      hosts:\n        sw-core-01: {}\n        sw-access-01: {}\n"
        f"  vars: {{ansible_connection: local, ansible_python_interpreter: {sys.executable}}}\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PYTHONPATH=f"{REPO / 'collections'}:{REPO}",
               ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                           str(tmp_path / "play.yml"), "-e", f"fail_on={fail_on}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_hosts_a_stopped_play_never_reached_are_named(tmp_path):
    stopped = run(tmp_path, "sw-core-01")
    assert stopped.returncode != 0
    output = " ".join((stopped.stdout + stopped.stderr).split())
    assert "not attempted: sw-access-01 - play 'Harden the switches' stopped" in output, output[-2000:]
    complete = run(tmp_path, "none")
    assert complete.returncode == 0 and "not attempted" not in complete.stdout + complete.stderr
