# -*- coding: utf-8 -*-
"""Block a source at the switch ACLs (incident_block_source.yml, switch play) against the lab's core switch, which
routes every zone: the entries land before every permit at the reserved sequences, read back from the switch over a
separate SSH session; re-runs change nothing; a network.yml converge - even one that has to rewrite a tampered ACL -
keeps them; the verifier reports them as incident deviations, not violations; release removes exactly them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from netmiko import ConnectHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import REPO, run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import compile_zone_acls, zone_acl_name
from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import deviations
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    alternate_name,
    canonical_children,
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import verify_switch
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

pytestmark = pytest.mark.timeout(900)
SWITCH = "sw-core-01"
TASK = "Block the sources at the top of the switch's zone ACLs"
SOURCES = ["203.0.113.7", "198.51.100.0/24"]
BLOCKS = ["deny ip host 203.0.113.7 any log", "deny ip 198.51.100.0 0.0.0.255 any log"]


@pytest.fixture(scope="module")
def policy():
    return load_site_policy(str(REPO / "inventories/lab/site_policy.yml"))


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("block-audit")


def block(lab, audit_dir, sources, state="present", *args) -> dict:
    return run_playbook(lab, "playbooks/incident_block_source.yml", "--tags", "incident_block_source_switches",
                        *args, extra_vars={"aiphone_audit_dir": str(audit_dir), "incident_switch_hosts": SWITCH,
                                           "incident_reason": "INC-43 integration test", "incident_sources": sources,
                                           "incident_state": state})


def running(lab):
    with ConnectHandler(**lab.netmiko(SWITCH)) as session:
        session.enable()
        return parse_running_config(session.send_command("show running-config"))


def acl_lines(config, zone: str) -> list[str]:
    """The zone's ACL under whichever name it has now (a rewrite builds it under the alternate one: place_acl)."""
    [name] = [name for name in (zone_acl_name(zone), alternate_name(zone_acl_name(zone)))
              if f"ip access-list extended {name}" in config.sections]
    return config.sections[f"ip access-list extended {name}"]


def result_of(report) -> dict:
    [result] = task_results(report, SWITCH, TASK)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture(scope="module")
def converged(fresh_lab):
    report = run_playbook(fresh_lab, "playbooks/network.yml", "--limit", SWITCH)
    assert report["returncode"] == 0, report["raw"][-3000:]


@pytest.fixture(scope="module")
def blocked(fresh_lab, converged, audit_dir):
    check = block(fresh_lab, audit_dir, SOURCES, "present", "--check")
    before_check = running(fresh_lab)
    first = block(fresh_lab, audit_dir, SOURCES)
    return check, before_check, first


def test_blocks_sit_before_every_permit_of_every_zone_acl(fresh_lab, policy, blocked):
    check, before_check, first = blocked
    assert result_of(check)["changed"] and all(not any(b in line for b in BLOCKS)
                                               for zone in compile_zone_acls(policy)
                                               for line in acl_lines(before_check, zone))
    assert result_of(first)["changed"]
    config = running(fresh_lab)
    for zone, entries in compile_zone_acls(policy).items():
        lines = acl_lines(config, zone)
        assert lines[:2] == [f"1 {BLOCKS[0]}", f"2 {BLOCKS[1]}"], lines
        assert canonical_children(lines[2:]) == [e.cli() for e in entries]      # the policy entries, untouched


def test_second_run_changes_nothing(fresh_lab, audit_dir, blocked):
    assert not result_of(block(fresh_lab, audit_dir, SOURCES))["changed"]


def test_verifier_reports_an_incident_deviation_not_a_violation(fresh_lab, policy, blocked):
    config = running(fresh_lab)
    assert verify_switch(policy, SWITCH, config) == []
    found = deviations(policy, SWITCH, config)
    assert {(d["acl"], d["sequence"], d["entry"]) for d in found} == {
        (zone_acl_name(zone), seq, entry) for zone in compile_zone_acls(policy) for seq, entry in enumerate(BLOCKS, 1)}
    report = run_playbook(fresh_lab, "playbooks/network.yml", "--limit", SWITCH, "--tags", "switch_verify")
    assert report["returncode"] == 0, report["raw"][-3000:]


def test_network_converge_keeps_the_blocks_even_when_it_rewrites_the_acl(fresh_lab, policy, blocked):
    with ConnectHandler(**fresh_lab.netmiko(SWITCH)) as session:     # someone tampers with a policy entry
        session.enable()
        session.send_config_set(["ip access-list extended ACL-DATA-IN", "no 10"])
    report = run_playbook(fresh_lab, "playbooks/network.yml", "--limit", SWITCH)
    assert report["returncode"] == 0, report["raw"][-3000:]
    config = running(fresh_lab)
    assert "ip access-list extended ACL-DATA-IN-B" in config.sections   # rebuilt hitless, the blocks carried over
    for zone, entries in compile_zone_acls(policy).items():
        lines = acl_lines(config, zone)
        assert lines[:2] == [f"1 {BLOCKS[0]}", f"2 {BLOCKS[1]}"], (zone, lines)
        assert canonical_children(lines[2:]) == [e.cli() for e in entries], (zone, lines)


def test_release_removes_exactly_the_named_source(fresh_lab, policy, audit_dir, blocked):
    released = block(fresh_lab, audit_dir, [SOURCES[0]], "absent")
    assert result_of(released)["changed"]
    config = running(fresh_lab)
    for zone, entries in compile_zone_acls(policy).items():
        assert acl_lines(config, zone)[0] == f"2 {BLOCKS[1]}"
        assert canonical_children(acl_lines(config, zone)[1:]) == [e.cli() for e in entries]
    assert not result_of(block(fresh_lab, audit_dir, [SOURCES[0]], "absent"))["changed"]
    assert result_of(block(fresh_lab, audit_dir, [SOURCES[1]], "absent"))["changed"]
    config = running(fresh_lab)
    assert deviations(policy, SWITCH, config) == [] and verify_switch(policy, SWITCH, config) == []


def test_lock_out_sources_are_refused(fresh_lab, audit_dir, converged):
    before = running(fresh_lab).sections
    for source in ("10.10.10.100", "10.0.0.0/8"):      # the controller (lab), a network over the mgmt zone
        report = block(fresh_lab, audit_dir, [source])
        [result] = task_results(report, SWITCH, TASK)
        assert result["failed"] and "refused before connecting" in result["msg"], result
    assert running(fresh_lab).sections == before


def test_every_change_is_audited(fresh_lab, audit_dir, blocked):
    records = audit_trail.read_records(audit_trail.site_dir(str(audit_dir), "lab"), kind="incident")
    mine = [(r["action"], r["state"], r["host"]) for r in records if r["action"] == "block_source_switch"]
    assert mine[0] == ("block_source_switch", "present", SWITCH)
    assert all(r["reason"] == "INC-43 integration test" for r in records)
