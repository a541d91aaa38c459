"""Faults of the lab switch as a client sees them, switched through the control socket and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

from lab.device import LabError
from lab.topology import REPO_ROOT

pytestmark = pytest.mark.timeout(120)
SWITCH = "sw-core-01"


def test_auth_failure_refuses_the_right_password(lab, lab_control):
    lab_control.set_fault(SWITCH, "auth_failure")
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(**lab.netmiko(SWITCH))
    lab_control.clear_fault(SWITCH, "auth_failure")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        assert conn.find_prompt() == f"{SWITCH}#"


def test_host_key_change_is_caught_by_strict_host_key_checking(lab, lab_control):
    lab_control.set_fault(SWITCH, "host_key_change")
    lab.wait_until(SWITCH, reachable=True)
    with pytest.raises(NetmikoTimeoutException, match=r"Host key for server .* does not match"):
        ConnectHandler(**lab.netmiko(SWITCH))
    lab_control.clear_fault(SWITCH, "host_key_change")
    lab.wait_until(SWITCH, reachable=True)
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        assert conn.find_prompt() == f"{SWITCH}#"


def test_slow_responses_exceed_a_short_read_timeout(lab, lab_control):
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.send_command("show clock", read_timeout=2)  # answers in time without the fault
        lab_control.set_fault(SWITCH, "slow_responses", delay=4)
        with pytest.raises(ReadTimeout):
            conn.send_command("show clock", read_timeout=2)
        assert "UTC" in conn.send_command("show clock", read_timeout=20)  # a patient client still gets it


def test_unknown_fault_or_device_is_explained(lab_control):
    with pytest.raises(LabError, match="not modelled by platform cisco_ios"):
        lab_control.set_fault(SWITCH, "poly_4001")
    with pytest.raises(LabError, match="no lab device named 'sw-nope'"):
        lab_control.set_fault("sw-nope", "auth_failure")


def test_fault_command_line(lab, lab_control):
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'collections'}{os.pathsep}{REPO_ROOT}")
    run = [sys.executable, "-m", "lab", "fault", SWITCH, "slow_responses", "--param", "delay=1",
           "--run-dir", str(lab.run_dir)]
    result = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert "active faults: slow_responses" in result.stdout
    assert lab_control.status()[SWITCH]["faults"] == {"slow_responses": {"delay": 1}}
    subprocess.run([*run[:5], "all", "--clear", "--run-dir", str(lab.run_dir)], env=env, check=True,
                   capture_output=True)
    assert lab_control.status()[SWITCH]["faults"] == {}
    status = subprocess.run([sys.executable, "-m", "lab", "status", "--run-dir", str(lab.run_dir)], env=env,
                            capture_output=True, text=True, check=True).stdout
    assert SWITCH in status and " up " in status
