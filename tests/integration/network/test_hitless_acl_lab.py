# -*- coding: utf-8 -*-
"""Hitless ACL replacement on a lab switch through the real playbook: a policy change re-points the SVIs at the
rebuilt ACL and the switch never has an interface bound to a missing ACL (the lab checks after every command)."""

from __future__ import annotations

import pytest
import yaml
from network_helpers import run_playbook, task_results

pytestmark = pytest.mark.timeout(600)
SWITCH = "sw-core-01"
ARGS = ("--tags", "switch_acls,switch_verify", "--limit", SWITCH)


def dangling(lab) -> list:
    return lab.control.status()[SWITCH]["dangling_acl_events"]


def change_policy(lab, flow: dict) -> None:
    path = lab.inventory_file.parent / "site_policy.yml"
    policy = yaml.safe_load(path.read_text())
    policy["flows"].append(flow)
    path.write_text(yaml.safe_dump(policy, sort_keys=False))


@pytest.fixture(scope="module")
def converged(fresh_lab):
    report = run_playbook(fresh_lab, "playbooks/network.yml", "--limit", SWITCH)   # every area, then the verifier
    assert report["returncode"] == 0, report["raw"][-3000:]
    return report


def test_policy_change_swaps_the_acl_without_a_gap(fresh_lab, converged, switch_cli):
    session = switch_cli(SWITCH)
    assert "ip access-group ACL-DATA-IN in" in session.send_command("show running-config interface Vlan30")
    change_policy(fresh_lab, {"from": "data", "to": "mgmt", "service": "ntp"})
    report = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS)
    assert report["returncode"] == 0, report["raw"][-3000:]      # includes the read-back policy verifier
    commands = task_results(report, SWITCH, "Converge to the site policy | acls")[0]["commands"]
    new_acl = commands.index("ip access-list extended ACL-DATA-IN-B")
    bind = commands.index(" ip access-group ACL-DATA-IN-B in")
    assert new_acl < bind < commands.index("no ip access-list extended ACL-DATA-IN")
    running = session.send_command("show running-config")
    assert "ip access-group ACL-DATA-IN-B in" in running and "ip access-list extended ACL-DATA-IN\n" not in running
    assert "permit udp 10.10.30.0 0.0.0.255 10.10.10.0 0.0.0.255 eq 123" in \
        session.send_command("show ip access-lists ACL-DATA-IN-B")
    assert dangling(fresh_lab) == []
    again = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS)
    assert again["stats"][SWITCH]["changed"] == 0


def test_next_change_swaps_back(fresh_lab, converged, switch_cli):
    change_policy(fresh_lab, {"from": "data", "to": "mgmt", "service": "dns"})
    report = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS)
    assert report["returncode"] == 0, report["raw"][-3000:]
    running = switch_cli(SWITCH).send_command("show running-config")
    assert "ip access-group ACL-DATA-IN in" in running and "ip access-list extended ACL-DATA-IN-B" not in running
    assert dangling(fresh_lab) == []


def test_the_lab_probe_catches_a_gap(fresh_lab, converged, switch_cli):
    """Negative control: an in-place rewrite of the bound ACL is seen by the probe."""
    switch_cli(SWITCH).send_config_set(["no ip access-list extended ACL-DATA-IN", "ip access-list extended ACL-DATA-IN",
                                        "deny ip any any log"])
    assert any(event["command"] == "no ip access-list extended ACL-DATA-IN" for event in dangling(fresh_lab))
