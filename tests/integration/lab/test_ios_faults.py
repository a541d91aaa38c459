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


def test_a_host_key_change_is_in_place_when_the_control_answers(lab, lab_control):
    """Set and cleared back to back (a test's try/finally does that), the switch ends on the key of the last
    change, and each answer comes once the SSH server listens again: no wait, no refused connection."""
    for _ in range(3):
        lab_control.set_fault(SWITCH, "host_key_change")
        lab_control.clear_fault(SWITCH, "host_key_change")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        assert conn.find_prompt() == f"{SWITCH}#"
    lab_control.set_fault(SWITCH, "host_key_change")
    try:
        with pytest.raises(NetmikoTimeoutException, match=r"Host key for server .* does not match"):
            ConnectHandler(**lab.netmiko(SWITCH))
    finally:
        lab_control.clear_fault(SWITCH, "host_key_change")
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


# -- configuration-session faults (lab/ios/faults.py says where each is seen on real boxes) ------------------------
def _line(conn, text: str) -> str:
    """One configuration line as a raw terminal would send it; the answer up to the next prompt (echo included)."""
    conn.write_channel(text + "\n")
    return conn.read_until_pattern(pattern=rf"{SWITCH}\(config[^)]*\)#\s*$|{SWITCH}#\s*$")


def test_refuse_and_drop_line_faults(lab, lab_control):
    lab_control.set_fault(SWITCH, "refuse_line", match="^vlan 3998$", answer="Error: unrecognized command")
    lab_control.set_fault(SWITCH, "drop_line", match="^vlan 3997$")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.enable()
        conn.config_mode()
        refused = _line(conn, "vlan 3998")
        assert "Error: unrecognized command" in refused and "%" not in refused
        assert refused.rstrip().endswith(f"{SWITCH}(config)#")      # not applied: no (config-vlan) mode
        assert _line(conn, "vlan 3997").replace("\r", "").split("\n")[1:] == [f"{SWITCH}(config)#"]   # silent
        conn.exit_config_mode()
        running = conn.send_command("show running-config")
    assert "vlan 3998" not in running and "vlan 3997" not in running


def test_no_end_fault_leaves_only_exit(lab, lab_control):
    lab_control.set_fault(SWITCH, "no_end")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.enable()
        conn.config_mode()
        with pytest.raises(ValueError, match="Failed to exit configuration mode"):
            conn.exit_config_mode()           # what netmiko raises on such a box (netmiko issue #2094)
        assert _line(conn, "exit").rstrip().endswith(f"{SWITCH}#")


def test_save_and_backup_faults(lab, lab_control):
    lab_control.set_fault(SWITCH, "write_answers_ok")
    lab_control.set_fault(SWITCH, "copy_flash_error")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.enable()
        saved = conn.send_command("write memory")
        assert "OK" in saved and "[OK]" not in saved
        copy = conn.send_command_timing("copy running-config flash:fault-test.cfg")
        copy += conn.send_command_timing("\n")
        assert "Error opening running-config (Timed out)" in copy and "%" not in copy
        assert "fault-test.cfg" not in conn.send_command("dir flash:")


def test_close_after_lines_cuts_once_and_keeps_the_state(lab, lab_control):
    lab_control.set_fault(SWITCH, "close_after_lines", lines=2)
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.enable()
        conn.config_mode()
        _line(conn, "vlan 3996")
        conn.write_channel("name CUT-TEST\n")
        with pytest.raises((OSError, EOFError, ReadTimeout)):
            conn.read_until_pattern(pattern=r"#\s*$", read_timeout=3)
            conn.write_channel("exit\n")
            conn.read_until_pattern(pattern=r"#\s*$", read_timeout=3)
    status = lab_control.status()[SWITCH]
    assert status["faults"] == {} and status["cut"]["line"] == 2 and status["cut"]["command"] == "name CUT-TEST"
    assert "vlan 3996\n name CUT-TEST" in status["cut"]["running"]
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:   # once: the next session is not cut
        conn.enable()
        conn.send_config_set(["no vlan 3996"])


def test_no_configure_replace_fault(lab, lab_control):
    lab_control.set_fault(SWITCH, "no_configure_replace")
    with ConnectHandler(**lab.netmiko(SWITCH)) as conn:
        conn.enable()
        assert "% Invalid input detected" in conn.send_command("configure replace flash:nothing.cfg force")
