# -*- coding: utf-8 -*-
"""Isolate a device at its switch port and undo it, against the lab switches through the real playbook:
shutdown and quarantine round-trips read back from the switch, idempotent re-runs, refusals, audit records."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from netmiko import ConnectHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config

TASK = "Isolate the device at its switch port"
PLAYBOOK = "playbooks/incident_isolate.yml"


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("incident-audit")


def isolate(lab, audit_dir, **variables) -> dict:
    return run_playbook(lab, PLAYBOOK, extra_vars={"aiphone_audit_dir": str(audit_dir),
                                                   "incident_reason": "INC-1 integration test", **variables})


def port_config(lab, switch: str, interface: str) -> list[str]:
    with ConnectHandler(**lab.netmiko(switch)) as session:
        session.enable()
        running = parse_running_config(session.send_command("show running-config"))
        status = session.send_command(f"show interfaces {interface} status")
    return [*running.children(f"interface {interface}"), f"STATUS {status}"]


def changed(report, host):
    [result] = task_results(report, host, TASK)
    assert not result.get("failed"), result.get("msg")
    return result["changed"]


def test_shutdown_round_trip(fresh_lab, audit_dir):
    target = {"incident_target": "phone-101"}
    report = isolate(fresh_lab, audit_dir, **target)
    assert report["returncode"] == 0, report["raw"][-2000:]
    assert changed(report, "sw-access-01") and not changed(report, "sw-core-01")   # only the switch holding it
    lines = port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/1")
    assert "shutdown" in lines and "disabled" in lines[-1]
    assert not changed(isolate(fresh_lab, audit_dir, **target), "sw-access-01")     # idempotent

    report = isolate(fresh_lab, audit_dir, incident_state="absent", **target)
    assert changed(report, "sw-access-01")
    lines = port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/1")
    assert "shutdown" not in lines and "disabled" not in lines[-1]
    assert not changed(isolate(fresh_lab, audit_dir, incident_state="absent", **target), "sw-access-01")


def test_quarantine_round_trip_restores_the_policy_port(fresh_lab, audit_dir):
    # phone-102: voice VLAN 20, data VLAN 30 in the lab policy; blackhole VLAN 999 is the quarantine
    target = {"incident_target": "phone-102", "incident_port_method": "quarantine"}
    isolate(fresh_lab, audit_dir, incident_state="absent", **target)   # start from the policy's port
    report = isolate(fresh_lab, audit_dir, **target)
    assert changed(report, "sw-access-01")
    lines = port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/2")
    assert "switchport access vlan 999" in lines and not any(x.startswith("switchport voice vlan") for x in lines)
    report = isolate(fresh_lab, audit_dir, incident_state="absent", **target)
    assert changed(report, "sw-access-01")
    lines = port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/2")
    assert "switchport access vlan 30" in lines and "switchport voice vlan 20" in lines


def test_uplink_and_missing_reason_are_refused(fresh_lab, audit_dir):
    report = isolate(fresh_lab, audit_dir, incident_interface="GigabitEthernet1/0/24",
                     incident_switch_hosts="sw-core-01")
    [result] = task_results(report, "sw-core-01", TASK)
    assert result["failed"] and "uplink" in result["msg"]
    report = run_playbook(fresh_lab, PLAYBOOK, extra_vars={"aiphone_audit_dir": str(audit_dir),
                                                           "incident_target": "phone-101"})
    assert report["returncode"] != 0 and "incident_response_reason" in report["raw"]


def test_changes_are_in_the_audit_trail(fresh_lab, audit_dir):
    site = audit_trail.site_dir(str(audit_dir), "lab")
    records = audit_trail.read_records(site, kind="incident")
    summary = [(r["action"], r["state"], r["target"], r["host"]) for r in records]
    assert ("isolate_device", "present", "phone-101", "sw-access-01") in summary
    assert ("isolate_device", "absent", "phone-101", "sw-access-01") in summary
    assert all(r["reason"] == "INC-1 integration test" for r in records)
    assert audit_trail.verify(site).ok


def test_rollback_restores_the_config_from_before_the_last_change(fresh_lab, audit_dir):
    isolate(fresh_lab, audit_dir, incident_target="phone-103")
    assert "shutdown" in port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/3")
    rollback = {"incident_rollback_hosts": "sw-access-01"}
    check = run_playbook(fresh_lab, "playbooks/incident_rollback.yml", "--check",
                         extra_vars={"aiphone_audit_dir": str(audit_dir), "incident_reason": "INC-4", **rollback})
    [planned] = task_results(check, "sw-access-01", "Restore the configuration")
    assert planned["backup_file"].startswith("flash:aiphone-backup-")
    assert "shutdown" in port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/3")   # check mode: untouched
    report = run_playbook(fresh_lab, "playbooks/incident_rollback.yml",
                          extra_vars={"aiphone_audit_dir": str(audit_dir), "incident_reason": "INC-4", **rollback})
    [result] = task_results(report, "sw-access-01", "Restore the configuration")
    assert result["changed"] and result["backup_file"] == planned["backup_file"], result.get("msg")
    assert "shutdown" not in port_config(fresh_lab, "sw-access-01", "GigabitEthernet1/0/3")
    report = run_playbook(fresh_lab, "playbooks/incident_rollback.yml",
                          extra_vars={"aiphone_audit_dir": str(audit_dir), "incident_reason": "INC-4", **rollback})
    [again] = task_results(report, "sw-access-01", "Restore the configuration")
    assert not again["changed"]
