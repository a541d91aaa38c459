"""`python -m lab up|status|down` as `make lab-up` / `make lab-down` run it: background, idempotent, state kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from netmiko import ConnectHandler

from lab.control import LabControl
from lab.topology import REPO_ROOT, lab_credentials

pytestmark = pytest.mark.timeout(240)


def lab(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'collections'}{os.pathsep}{REPO_ROOT}")
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=200, check=False)


def test_up_is_idempotent_down_cleans_and_state_survives_a_restart(tmp_path):
    run = ["--run-dir", str(tmp_path)]
    first = lab("up", *run, "--no-linux", "--base-port", "0", "--size", "30")
    try:
        assert first.returncode == 0, first.stderr
        assert "inventory:" in first.stdout and "switches:" in first.stdout
        policy = yaml.safe_load((tmp_path / "inventory" / "site_policy.yml").read_text())
        assert len([d for d in policy["devices"] if d["platform"] != "linux"]) == 30
        second = lab("up", *run, "--no-linux", "--base-port", "0", "--size", "30")
        assert second.returncode == 0 and "lab already running" in second.stdout
        assert (tmp_path / "known_hosts").read_text().count("ssh-ed25519") >= 2
        hosts = yaml.safe_load((tmp_path / "inventory" / "hosts.yml").read_text())["all"]["children"]
        core = hosts["switches"]["hosts"]["sw-core-01"]
        creds = lab_credentials()
        params = {"device_type": "cisco_ios", "host": core["ansible_host"], "port": core["ansible_port"],
                  "username": creds.username, "password": creds.password, "ssh_strict": True,
                  "system_host_keys": False, "alt_host_keys": True, "alt_key_file": str(tmp_path / "known_hosts"),
                  "use_keys": False, "allow_agent": False}
        with ConnectHandler(**params) as conn:
            conn.send_config_set(["snmp-server location survives-restart"])
            conn.save_config()
        status = lab("status", *run)
        assert status.returncode == 0 and "sw-core-01" in status.stdout
    finally:
        down = lab("down", *run)
    assert down.returncode == 0 and not LabControl(tmp_path).running()
    assert lab("down", *run).returncode == 0  # idempotent
    assert lab("status", *run).returncode == 3
    again = lab("up", *run, "--no-linux", "--base-port", "0", "--size", "30")
    try:
        assert again.returncode == 0, again.stderr
        hosts = yaml.safe_load((tmp_path / "inventory" / "hosts.yml").read_text())["all"]["children"]
        core = hosts["switches"]["hosts"]["sw-core-01"]
        params.update(host=core["ansible_host"], port=core["ansible_port"])
        with ConnectHandler(**params) as conn:  # same host key (known_hosts rewritten), saved config kept
            assert "snmp-server location survives-restart" in conn.send_command("show running-config")
    finally:
        lab("down", *run)


def test_bad_size_is_refused_with_a_clear_error(tmp_path):
    result = lab("up", "--run-dir", str(tmp_path), "--no-linux", "--size", "lots")
    assert result.returncode == 2 and "--size must be 'small' or a number" in result.stderr
