# -*- coding: utf-8 -*-
"""Isolation proved by real connections: the lab models links (lab/links.py), so a phone behind a port that
incident_isolate.yml shuts - or moves to the quarantine VLAN - refuses connections, and answers an authenticated
API call again after the undo; shutting an access switch's uplink cuts the phones behind it too."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver

pytestmark = pytest.mark.timeout(900)
PLAYBOOK = "playbooks/incident_isolate.yml"
TASK = "Isolate the device at its switch port"


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("links-audit")


def isolate(lab, audit_dir, **variables) -> dict:
    report = run_playbook(lab, PLAYBOOK, extra_vars={"aiphone_audit_dir": str(audit_dir),
                                                     "incident_reason": "INC-7 link test", **variables})
    assert report["returncode"] == 0, report["raw"][-3000:]
    return report


def refused(lab, name: str) -> bool:
    """A TCP connection to the device is refused (not: times out, or is accepted)."""
    try:
        with socket.create_connection(lab.address(name), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def api_answers(lab, name: str) -> bool:
    host_vars = lab.host_vars(name)
    driver = get_driver(host_vars["platform"])(host=host_vars["ansible_host"], port=host_vars["ansible_port"],
                                               username=host_vars.get("ansible_user", lab.credentials.username),
                                               password=lab.credentials.password, name=name, timeout=5)
    with driver:
        return bool(driver.get_facts()["os_version"])


def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s")
        time.sleep(0.1)


@pytest.mark.parametrize("method", ["shutdown", "quarantine"])
def test_isolated_phone_refuses_connections_and_comes_back_after_undo(fresh_lab, audit_dir, method):
    assert api_answers(fresh_lab, "phone-101") and api_answers(fresh_lab, "phone-102")
    report = isolate(fresh_lab, audit_dir, incident_target="phone-101", incident_port_method=method)
    assert task_results(report, "sw-access-01", TASK)[0]["changed"]
    wait_for(lambda: refused(fresh_lab, "phone-101"), "phone-101 did not refuse connections")
    assert fresh_lab.control.status()["phone-101"]["link_up"] is False
    assert api_answers(fresh_lab, "phone-102")                 # its neighbour on the same switch is untouched
    isolate(fresh_lab, audit_dir, incident_target="phone-101", incident_port_method=method, incident_state="absent")
    wait_for(lambda: not refused(fresh_lab, "phone-101"), "phone-101 did not accept connections again")
    assert api_answers(fresh_lab, "phone-101")


def test_shut_uplink_cuts_everything_behind_the_access_switch(fresh_lab, audit_dir):
    behind = ("sw-access-01", "phone-101", "phone-102", "phone-103", "ap-01")
    uplink = {"incident_interface": "GigabitEthernet1/0/24", "incident_switch_hosts": "sw-core-01",
              "incident_allow_uplink": True}
    isolate(fresh_lab, audit_dir, **uplink)
    for name in behind:
        wait_for(lambda name=name: refused(fresh_lab, name), f"{name} did not refuse connections")
    assert not refused(fresh_lab, "sw-core-01") and not refused(fresh_lab, "wlc-01")
    isolate(fresh_lab, audit_dir, **uplink, incident_state="absent")
    for name in behind:
        wait_for(lambda name=name: not refused(fresh_lab, name), f"{name} did not come back")
    assert api_answers(fresh_lab, "phone-103")
