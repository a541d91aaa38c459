# -*- coding: utf-8 -*-
"""Offline parts of incident response: the incident nftables table, its lock-out checks, the host module's state
merging, and the switch-port isolation lines against the lab policy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.incident_nft import (
    IncidentRuleError,
    lockout_problems,
    networks,
    render,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.incident_port import (
    PortIsolationError,
    locate,
    missing,
    wanted_lines,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from ansible_collections.aiphone.hardening.plugins.modules.incident_host_firewall import EMPTY, desired_state

POLICY = load_site_policy(str(Path(__file__).resolve().parents[3] / "inventories/lab/site_policy.yml"))
ISOLATED = {"isolated": True, "blocked": ["203.0.113.0/24", "2001:db8::/32"],
            "management_sources": ["10.10.10.0/24"], "management_ports": [22]}


def params(**overrides):
    return {"isolate": None, "management_sources": [], "management_ports": [22], "block": [], "unblock": [],
            **overrides}


def test_networks_are_normalised_and_garbage_refused():
    assert networks(["10.0.0.5", "10.1.0.0/16", "2001:db8::1"], "block") == ["10.0.0.5/32", "10.1.0.0/16",
                                                                               "2001:db8::1/128"]
    with pytest.raises(IncidentRuleError, match="block"):
        networks(["10.0.0.1; flush ruleset"], "block")


def test_isolation_keeps_only_loopback_established_and_the_management_path():
    script = render(ISOLATED)
    assert script.startswith("table inet aiphone_incident {}\ndelete table inet aiphone_incident\n")
    assert "elements = { 10.10.10.0/24 }" in script and "ip saddr @mgmt_v4 tcp dport { 22 } accept" in script
    assert script.count('counter drop comment "aiphone incident: isolated"') == 3   # input, forward, output
    assert "isolated" not in render({**ISOLATED, "isolated": False})


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
                    reason="needs root, nft and unshare for `nft -c` in a throw-away network namespace")
@pytest.mark.parametrize("state", [ISOLATED, {**ISOLATED, "isolated": False}, {**EMPTY, "blocked": ["192.0.2.1/32"]}])
def test_rendered_tables_pass_nft_check(state):
    result = subprocess.run(["unshare", "--net", "nft", "-c", "-f", "-"], input=render(state), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_lockout_checks():
    assert lockout_problems(ISOLATED, "10.10.10.100") == []
    assert "outside management_sources" in lockout_problems(ISOLATED, "192.0.2.9")[0]
    assert "management path" in lockout_problems({**ISOLATED, "blocked": ["10.10.0.0/16"]}, None)[0]
    assert "needs management_sources" in lockout_problems({**ISOLATED, "management_sources": []}, None)[0]
    assert "inside a blocked network" in lockout_problems({**EMPTY, "blocked": ["192.0.2.0/24"]}, "192.0.2.9")[0]


def test_host_state_merges_blocks_and_lifts_to_empty():
    state = desired_state(dict(EMPTY), params(block=["203.0.113.7"]))
    state = desired_state(state, params(isolate=True, management_sources=["10.10.10.0/24"]))
    assert state == {"isolated": True, "blocked": ["203.0.113.7/32"], "management_sources": ["10.10.10.0/24"],
                     "management_ports": [22]}
    state = desired_state(state, params(isolate=False, unblock=["203.0.113.7"]))
    assert state == EMPTY


def test_port_of_a_policy_device_and_its_isolation_lines():
    assert locate(POLICY, "phone-102") == ("sw-access-01", "GigabitEthernet1/0/2")
    with pytest.raises(PortIsolationError, match="not in the site policy"):
        locate(POLICY, "nobody")
    assert wanted_lines(POLICY, "sw-access-01", "GigabitEthernet1/0/2", "shutdown", True, None) == ["shutdown"]
    quarantine = wanted_lines(POLICY, "sw-access-01", "GigabitEthernet1/0/2", "quarantine", True, 999)
    assert "switchport access vlan 999" in quarantine
    undo = wanted_lines(POLICY, "sw-access-01", "GigabitEthernet1/0/2", "quarantine", False, 999)
    assert "switchport access vlan 30" in undo and "switchport voice vlan 20" in undo


def test_quarantine_of_a_trunk_or_unknown_port_is_refused():
    with pytest.raises(PortIsolationError, match="trunk"):
        wanted_lines(POLICY, "sw-core-01", "GigabitEthernet1/0/23", "quarantine", True, 999)   # the WLC's trunk
    with pytest.raises(PortIsolationError, match="names"):
        wanted_lines(POLICY, "sw-access-01", "GigabitEthernet1/0/9", "quarantine", True, 999)


def test_only_missing_lines_are_sent_and_no_forms_negate_the_configured_line():
    running = parse_running_config("interface GigabitEthernet1/0/2\n switchport mode access\n"
                                   " switchport access vlan 30\n switchport voice vlan 20\n")
    assert missing(["switchport mode access", "switchport access vlan 999", "no switchport voice vlan"], running,
                   "GigabitEthernet1/0/2") == ["interface GigabitEthernet1/0/2", " switchport access vlan 999",
                                               " no switchport voice vlan 20"]
    assert missing(["no shutdown"], running, "GigabitEthernet1/0/2") == []
