# -*- coding: utf-8 -*-
"""Host incident playbooks proved by real connections (tests/integration/ops_incident/conftest.py: a host of its own):
isolate -> the service port is unreachable from outside while SSH from the management source still answers; undo ->
reachable again. Block a source -> that client cannot connect, others can; release -> it can. AI safe mode -> the
voice service port refuses; undo -> it answers. Second runs change nothing; every change is in the audit trail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import SERVICE_PORT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import run_playbook, task_results
from traffic import probe_here, verdicts

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail


def verdict(address: str, port: int) -> str:
    """From the controller: open / dropped (silence from a live address) / refused / broken: ..."""
    [result] = verdicts(probe_here([f"{address} tcp/{port}"]))
    return result


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("host-incident-audit")


def play(host, audit_dir, playbook: str, **variables) -> dict:
    report = run_playbook(host, playbook, extra_vars={"aiphone_audit_dir": str(audit_dir),
                                                      "incident_reason": "INC-2 integration test", **variables})
    assert report["returncode"] == 0, report["raw"][-3000:]
    return report


def host_changed(report, host, task_fragment: str) -> bool:
    return any(r.get("changed") for r in task_results(report, host.name, task_fragment))


def test_isolate_host_round_trip(incident_host, audit_dir):
    h = incident_host
    isolate = {"incident_target": h.name, "incident_scope": "host", "incident_management_sources": [f"{h.gateway}/32"]}
    assert verdict(h.address, SERVICE_PORT) == "open" and verdict(h.address, 22) == "open"
    report = play(h, audit_dir, "playbooks/incident_isolate.yml", **isolate)
    assert host_changed(report, h, "Apply the incident rules")
    assert verdict(h.address, SERVICE_PORT) == "dropped"
    assert h.probe_from_source(22) == "dropped"               # not from outside the management path either
    assert verdict(h.address, 22) == "open"                   # the management path is kept
    report = play(h, audit_dir, "playbooks/incident_isolate.yml", **isolate)
    assert not host_changed(report, h, "Incident")             # idempotent
    report = play(h, audit_dir, "playbooks/incident_isolate.yml", incident_state="absent", **isolate)
    assert host_changed(report, h, "Apply the incident rules")
    assert verdict(h.address, SERVICE_PORT) == "open" and h.probe_from_source(SERVICE_PORT) == "open"
    assert h.exec("nft", "list", "table", "inet", "aiphone_incident").returncode != 0   # table gone


def test_block_source_round_trip(incident_host, audit_dir):
    h = incident_host
    block = {"incident_linux_group": h.name, "incident_sources": [h.source_address]}
    assert h.probe_from_source(SERVICE_PORT) == "open"
    play(h, audit_dir, "playbooks/incident_block_source.yml", **block)
    assert h.probe_from_source(SERVICE_PORT) == "dropped"
    assert verdict(h.address, SERVICE_PORT) == "open"         # everybody else still gets through
    assert not host_changed(play(h, audit_dir, "playbooks/incident_block_source.yml", **block), h, "Incident")
    play(h, audit_dir, "playbooks/incident_block_source.yml", incident_state="absent", **block)
    assert h.probe_from_source(SERVICE_PORT) == "open"


def test_blocking_the_management_path_is_refused(incident_host, audit_dir):
    h = incident_host
    play(h, audit_dir, "playbooks/incident_isolate.yml", incident_target=h.name, incident_scope="host",
         incident_management_sources=[f"{h.gateway}/32"])
    report = run_playbook(h, "playbooks/incident_block_source.yml", extra_vars={
        "aiphone_audit_dir": str(audit_dir), "incident_reason": "INC-3", "incident_linux_group": h.name,
        "incident_sources": [f"{h.gateway}/24"]})
    [result] = task_results(report, h.name, "Apply the incident rules")
    assert result["failed"] and "management path" in result["msg"]
    assert verdict(h.address, 22) == "open"
    play(h, audit_dir, "playbooks/incident_isolate.yml", incident_target=h.name, incident_scope="host",
         incident_state="absent", incident_management_sources=[f"{h.gateway}/32"])
    assert verdict(h.address, SERVICE_PORT) == "open"


def test_ai_safe_mode_round_trip(incident_host, audit_dir):
    h = incident_host
    safe = {"incident_ai_hosts": h.name}
    play(h, audit_dir, "playbooks/incident_ai_safe_mode.yml", **safe)
    assert verdict(h.address, SERVICE_PORT) == "refused"     # the service is stopped, the host is up
    h.exec("systemctl", "start", "aiphone-voice-agent.service")   # a dependency or an admin starting it: held down
    assert h.exec("systemctl", "is-active", "aiphone-voice-agent.service").stdout.strip() != "active"
    assert not host_changed(play(h, audit_dir, "playbooks/incident_ai_safe_mode.yml", **safe), h, "Incident")
    play(h, audit_dir, "playbooks/incident_ai_safe_mode.yml", incident_state="absent", **safe)
    h.exec("sh", "-c", "for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", "
           f"{SERVICE_PORT}), 1)' && break; sleep 0.1; done")
    assert verdict(h.address, SERVICE_PORT) == "open"


def test_host_actions_are_audited(incident_host, audit_dir):
    site = audit_trail.site_dir(str(audit_dir), "lab")
    actions = {(r["action"], r["state"]) for r in audit_trail.read_records(site, kind="incident")}
    assert {("isolate_host", "present"), ("isolate_host", "absent"), ("block_source", "present"),
            ("block_source", "absent"), ("ai_safe_mode", "present"), ("ai_safe_mode", "absent")} <= actions
    assert audit_trail.verify(site).ok


def test_incident_report_bundles_the_evidence(incident_host, audit_dir, tmp_path):
    import datetime as dt
    import tarfile

    h = incident_host
    site = audit_trail.site_dir(str(audit_dir), "lab")
    audit_trail.append(site, {"kind": "incident", "action": "report_marker", "state": "present"})
    now = dt.datetime.now(dt.UTC)
    since, until = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), \
        (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    play(h, audit_dir, "playbooks/incident_report.yml", incident_linux_group=h.name, incident_since=since,
         incident_until=until, incident_report_dir=str(tmp_path), aiphone_backup_dir=str(tmp_path / "none"))
    [archive] = tmp_path.glob("lab-evidence-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        slice_text = tar.extractfile("audit/trail-slice.jsonl").read().decode()
    assert {"SHA256SUMS", "audit/trail-verify.json", "manifest.json", f"collected/staging/{h.name}/journal.log",
            f"collected/staging/{h.name}/nftables.txt", f"collected/staging/{h.name}/packages.txt"} <= names
    assert '"action":"report_marker"' in slice_text
