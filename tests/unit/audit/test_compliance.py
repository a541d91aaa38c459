"""Compliance checklist: attestations that expire, checks on read-back evidence, the report files."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as cl
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import report as rp
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    Device,
    Site,
    SitePolicy,
    load_site_policy,
    unchecked_site_policy,
)

REPO = Path(__file__).resolve().parents[3]
CHECKLIST = str(REPO / "checklist" / "checklist.yml")
NOW = dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC)
CANARY = "CANARY-inv-pw-8a1f"
RULESET_DROP = {"nftables": [{"chain": {"family": "inet", "table": "aiphone", "name": "input", "type": "filter",
                                        "hook": "input", "policy": "drop"}}]}
GOOD_HOST = {
    "nft_ruleset": json.dumps(RULESET_DROP), "apt_config": 'APT::Periodic::Unattended-Upgrade "1";',
    "retention_timer": "active", "tls_weak": [], "sudo_members": ["ita", "aiphone-automation"],
    "accounts": {"ita": ["x", "1000", "1000", "", "/home/ita", "/bin/bash"],
                 "nobody": ["x", "65534", "65534", "", "/nonexistent", "/usr/sbin/nologin"],
                 "olduser": ["x", "1005", "1005", "", "/home/olduser", "/bin/bash"]},
    "locked_accounts": ["olduser L 2026-01-02 0 99999 7 -1", "ita P 2026-11-01 0 99999 7 -1"],
    "ssh_mfa": {"person_methods": "publickey,keyboard-interactive",
                "pam_sshd": "auth required pam_google_authenticator.so nullok\n"},
    "log_forwarding": ["/etc/rsyslog.d/60-aiphone-siem.conf"],
}


@pytest.fixture(scope="module")
def policy():
    return load_site_policy(str(REPO / "inventories" / "lab" / "site_policy.yml"))


def _ctx(policy, evidence=None, inventory=None, inventory_dir=None, records=(), trail_report=None):
    return Context(policy=policy, inventory=inventory or {}, trail_records=list(records), trail_report=trail_report,
                   evidence=evidence if evidence is not None else {}, inventory_dir=inventory_dir, now=NOW)


def _item(items, item_id):
    return next(i for i in items if i["id"] == item_id)


def _attest(kind, when, **extra):
    return {"type": kind, "who": "Omar Haddad", "when": when, "evidence": "ticket SEC-1", **extra}


def test_checklist_loads_and_every_reference_resolves(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    areas = {i["area"] for i in checklist["items"]}
    assert {"network", "updates", "provider", "privacy", "access", "mfa", "minimisation", "logging", "ai",
            "credentials", "audits", "incident_response"} <= areas


def test_expired_attestation_awaits_evidence_and_is_never_failing(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    fresh = [_attest("access_review", dt.date(2026, 10, 1))]
    expired = [_attest("access_review", dt.date(2026, 8, 1))]            # 92-day validity: expired 2026-11-01
    assert _item(rp.evaluate(checklist, _ctx(policy), fresh), "ACC-02")["status"] == "attested"
    awaiting = _item(rp.evaluate(checklist, _ctx(policy), expired), "ACC-02")
    assert awaiting["status"] == "awaiting_evidence" and "expired on 2026-11-01" in awaiting["detail"]
    assert awaiting["kind"] == "attestation" and awaiting["quick_fix"]["fix"] == "Apply role-based access controls"
    own_expiry = [_attest("access_review", dt.date(2026, 8, 1), expires_after_days=200)]
    assert _item(rp.evaluate(checklist, _ctx(policy), own_expiry), "ACC-02")["status"] == "attested"
    missing = _item(rp.evaluate(checklist, _ctx(policy), []), "IR-03")
    assert missing["status"] == "awaiting_evidence" and "no attestation 'ir_drill'" in missing["detail"]
    items = rp.evaluate(checklist, _ctx(policy), expired)
    assert not [i["id"] for i in items if i["kind"] == "attestation" and i["status"] == "fail"]


def test_score_counts_automated_checks_and_evidence_apart(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    good = {"hosts": {"pbx-01": GOOD_HOST, "ai-gw-01": GOOD_HOST}}
    attestations = [_attest("access_review", dt.date(2026, 10, 1)), _attest("ir_drill", dt.date(2026, 1, 2))]
    items = rp.evaluate(checklist, _ctx(policy, good), attestations)
    score = rp.score(items)
    automated = [i for i in checklist["items"] if i.get("checks")]
    attested_kinds = [i for i in checklist["items"] if i.get("attestation")]   # MIN-02 has checks and one
    assert score["automated"]["total"] == len(automated) == 28   # AI-01, AI-02 probed (17); VOI-01..04 (15)
    assert score["automated"]["passed"] + score["automated"]["failed"] + score["automated"]["no_evidence"] == 28
    assert score["evidence"] == {"attested": 1, "awaiting": len(attested_kinds) - 1, "total": len(attested_kinds)}
    assert score["failed"] == sum(1 for i in items if i["status"] == "fail" and i["kind"] == "automated")
    awaited = rp.evidence_awaited(items, checklist, policy)
    assert len(awaited) == score["evidence"]["awaiting"]
    drill = next(w for w in awaited if w["id"] == "IR-03")
    assert drill == {"id": "IR-03", "title": "Incident-response drills are held", "type": "ir_drill",
                     "what": checklist["attestation_types"]["ir_drill"]["what"], "owner": "supervisor",
                     "people": ["Sofia Reyes"], "every_days": 180, "state": "expired",
                     "last": {"who": "Omar Haddad", "when": "2026-01-02", "evidence": "ticket SEC-1",
                              "expires": "2026-07-01"}, "expired_on": "2026-07-01"}
    never = next(w for w in awaited if w["id"] == "AUD-01")
    assert never["state"] == "missing" and never["last"] is None and never["people"] == ["Omar Haddad"]


def test_example_site_attestations_cover_every_type(policy):
    """inventories/example_site/attestations.yml shows one (commented) entry of every attestation type."""
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    example = REPO / "inventories" / "example_site"
    entries = cl.load_attestations(str(example))
    assert {e["type"] for e in entries} == set(checklist["attestation_types"])
    text = (example / "attestations.yml").read_text()
    for kind in checklist["attestation_types"]:
        assert f"# {kind}:" in text, kind


def test_baa_applies_only_with_regulated_data_and_waivers_need_reasons(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    assert _item(rp.evaluate(checklist, _ctx(policy), []), "PRV-02")["status"] == "awaiting_evidence"  # lab: hipaa
    data = copy.deepcopy(policy.raw)
    data["site"]["regulated_data"] = []
    data["checklist"] = {"waive": [{"id": "AI-01", "reason": "no AI agent on this site yet"}]}
    unregulated = unchecked_site_policy(data)
    waived_checklist = cl.load_checklist(CHECKLIST, unregulated, set(CHECKS))
    items = rp.evaluate(waived_checklist, _ctx(unregulated), [])
    assert _item(items, "PRV-02")["status"] == "not_applicable" and _item(items, "AI-01")["status"] == "waived"
    data["checklist"] = {"waive": [{"id": "AI-01"}]}
    with pytest.raises(cl.ChecklistError, match="needs a known item id and a reason"):
        cl.load_checklist(CHECKLIST, unchecked_site_policy(data), set(CHECKS))


def test_host_checks_pass_on_good_evidence_and_name_the_bad_host(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    good = {"hosts": {"pbx-01": GOOD_HOST, "ai-gw-01": GOOD_HOST}}
    items = rp.evaluate(checklist, _ctx(policy, good), [])
    for item_id in ("NET-01", "UPD-04", "PRI-02", "PRI-04", "ACC-01", "ACC-03", "MFA-01", "LOG-01"):
        host_checks = [c for c in _item(items, item_id)["checks"] if c["check"].startswith("hosts.")]
        assert all(c["status"] == "pass" for c in host_checks), (item_id, host_checks)

    bad_host = dict(GOOD_HOST, nft_ruleset=json.dumps({"nftables": [{"chain": dict(
        RULESET_DROP["nftables"][0]["chain"], policy="accept")}]}), sudo_members=["ita", "marc"],
        ssh_mfa={"person_methods": "publickey", "pam_sshd": ""}, tls_weak=["0.0.0.0:5061 (TLSv1)"],
        accounts={"mallory": ["x", "1001", "1001", "", "/home/mallory", "/bin/bash"]})
    items = rp.evaluate(checklist, _ctx(policy, {"hosts": {"pbx-01": GOOD_HOST, "ai-gw-01": bad_host}}), [])
    for item_id, text in (("NET-01", "ai-gw-01: from zone mgmt (10.10.10.1): tcp/9 (a port no rule names"),
                          ("ACC-01", "sudo for marc"), ("MFA-01", "people log in with 'publickey'"),
                          ("PRI-04", "accepts old TLS"), ("ACC-03", "mallory")):
        item = _item(items, item_id)
        assert item["status"] == "fail"
        assert any(text in f for c in item["checks"] for f in c["findings"]), (item_id, item)


def test_missing_evidence_is_never_a_pass(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    items = rp.evaluate(checklist, _ctx(policy, {"hosts": {"pbx-01": GOOD_HOST}}), [])
    assert _item(items, "PRI-02")["status"] == "no_evidence"
    assert "ai-gw-01" in _item(items, "PRI-02")["detail"]


def test_outdated_device_fails_updates_and_undocumented_change_is_caught(policy):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    inventory = {"devices": [
        {"name": "sw-core-01", "platform": "cisco_ios", "status": "outdated", "version": "17.9.4",
         "detail": "runs 17.9.4, approved 17.9.5", "previous_versions": [], "changed_by": None},
        {"name": "phone-101", "platform": "poly", "status": "compliant", "version": "6.4.6.2000", "detail": "",
         "previous_versions": ["6.4.3"], "changed_by": None, "first_seen": "2026-11-20T00:00:00Z"}]}
    items = rp.evaluate(checklist, _ctx(policy, inventory=inventory), [])
    assert _item(items, "UPD-01")["status"] == "fail"
    upd2 = next(c for c in _item(items, "UPD-02")["checks"] if c["check"] == "trail.updates_documented")
    assert upd2["status"] == "fail" and "phone-101" in upd2["findings"][0]


def test_plain_text_credentials_are_named_never_shown(policy, tmp_path):
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "site.yml").write_text(yaml.safe_dump(
        {"ansible_password": "{{ vault_pw }}", "aiphone_site_name": "lab"}))
    (tmp_path / "group_vars" / "all" / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n3132\n")
    (tmp_path / "group_vars" / "phones.yml").write_text(f"vault_phone_admin_password: {CANARY}\n"
                                                        "snmp:\n  community: !vault |\n"
                                                        "    $ANSIBLE_VAULT;1.1;AES256\n    3132\n")
    outcome = CHECKS["inventory.credentials_vaulted"](_ctx(policy, inventory_dir=str(tmp_path)))
    assert outcome.status == "fail" and outcome.findings == ["group_vars/phones.yml: vault_phone_admin_password"]
    assert CANARY not in json.dumps(outcome.__dict__)


def test_report_files_history_and_nautobot_shape(policy, tmp_path):
    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    site_reports = tmp_path / "reports" / "lab"
    for run, percent in (("20261101T000000Z", 40.0), ("20261115T000000Z", 55.5)):
        (site_reports / run).mkdir(parents=True)
        (site_reports / run / "compliance.json").write_text(json.dumps(
            {"generated_at": f"{run[:4]}-{run[4:6]}-{run[6:8]}T00:00:00Z", "score": {"percent": percent}}))
    inventory = {"collected_at": "2026-11-27T20:00:00Z", "summary": {"outdated": 1},
                 "devices": [{"name": "sw-<b>evil</b>", "platform": "cisco_ios", "model": "C9300-24P",
                              "status": "outdated", "version": "17.9.4", "baseline_version": "17.9.5",
                              "detail": f"login {CANARY} ok", "first_seen": None, "changed_by": None,
                              "serial": None, "kernel": None},
                             {"name": "phone-103", "platform": "cisco_mpp", "model": "CP-8841-3PCC",
                              "status": "unreachable", "version": None, "baseline_version": None, "detail": "timeout",
                              "first_seen": None, "changed_by": None, "serial": None, "kernel": None}]}
    audit_trail.append(str(tmp_path / "audit"), {"kind": "change"})
    ctx = _ctx(policy, inventory=inventory, trail_report=audit_trail.verify(str(tmp_path / "audit")))
    report = rp.build_report(checklist, ctx, [], "20261127T200000Z", str(site_reports))
    assert [h["percent"] for h in report["history"]] == [40.0, 55.5]
    assert report["items"][0]["status"] == "fail"                     # failing items first
    dlm = report["nautobot_dlm"]["device_software_validation_results"]
    assert dlm[0] == {"device": "sw-<b>evil</b>", "device_type": "C9300-24P", "platform": "cisco_ios",
                      "software": {"platform": "cisco_ios", "version": "17.9.4"}, "is_validated": False,
                      "last_run": "2026-11-27T20:00:00Z", "run_type": "full-report-run",
                      "valid_software": [{"platform": "cisco_ios", "version": "17.9.5"}]}
    assert dlm[1]["is_validated"] is None and dlm[1]["software"] is None

    files = rp.write_report_files(str(site_reports / "20261127T200000Z"), report, inventory, [CANARY])
    html = Path(files["report.html"]).read_text()
    assert "sw-&lt;b&gt;evil&lt;/b&gt;" in html and "<b>evil</b>" not in html
    assert '<tr class="outdated">' in html and "<polyline" in html and html.count("<circle") == 3
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert f'<span id="automated-total">{report["score"]["automated"]["total"]}</span>' in html
    assert html.count('<tr id="awaited-') == len(report["evidence_awaited"]) == report["score"]["evidence"]["awaiting"]
    for path in files.values():
        assert CANARY not in Path(path).read_text()


def test_enterprise_ssids_are_wpa3_and_transition_stays_a_named_exception(policy):
    enterprise = copy.deepcopy(policy.raw)
    enterprise["wireless"]["radius_servers"] = [{"host": "10.10.10.7", "secret_var": "vault_radius_secret"}]
    enterprise["wireless"]["ssids"][0] = {"name": "Clinic-Staff", "zone": "data", "security": "wpa3-enterprise"}
    outcome = CHECKS["policy.wifi_wpa3"](_ctx(unchecked_site_policy(enterprise)))
    assert outcome.status == "pass" and outcome.detail == "3 SSID(s) on WPA3, 1 conscious exception(s)"
    assert [finding.split(":")[0] for finding in outcome.findings] == ["Clinic-Voice"]


def test_phones_hardened_check():
    """phones.hardened (PRI-06): pass / fail / no evidence from the drivers' read-back (issue #13)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import (
        FAIL,
        NO_EVIDENCE,
        PASS,
        Context,
        phones_hardened,
    )
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver

    site = Site("t", "UTC")
    policy = SitePolicy(site, (), (), (), (Device("p1", "poly", "VVX450", "voice"),
                                           Device("p2", "yealink", "T54W", "voice")))
    good = {name: {"platform": platform, "settings": dict(get_driver(platform).hardening), "not_covered": ["x"]}
            for name, platform in (("p1", "poly"), ("p2", "yealink"))}

    def run(evidence):
        return phones_hardened(Context(policy, {}, [], None, {"phones": evidence}))

    assert run(good).status == PASS and any("check by hand" in f for f in run(good).findings)
    weak = {**good, "p1": {**good["p1"], "settings": {**good["p1"]["settings"], "sec.srtp.require": "0"}}}
    result = run(weak)
    assert result.status == FAIL and any("p1: sec.srtp.require: 0, want 1" in f for f in result.findings)
    assert run({"p1": good["p1"]}).status == NO_EVIDENCE
    assert phones_hardened(Context(SitePolicy(site, (), (), (), ()), {}, [], None, {})).status == PASS



def test_summary_lines_print_both_numbers_and_are_never_empty(policy, tmp_path, capsys):
    from scripts import compliance_summary

    checklist = cl.load_checklist(CHECKLIST, policy, set(CHECKS))
    good = {"hosts": {"pbx-01": GOOD_HOST, "ai-gw-01": GOOD_HOST}}
    report = rp.build_report(checklist, _ctx(policy, good), [_attest("access_review", dt.date(2026, 10, 1))],
                             "20261127T200000Z", str(tmp_path))
    lines = compliance_summary.summary_lines(report)
    automated = report["score"]["automated"]
    assert lines[0].startswith(f"compliance: automated checks {automated['passed']}/28 passing")
    assert lines[-1].startswith("evidence awaited: 14 of 15 attestation(s) missing or expired (by: admin ")
    assert any(line.startswith("  UPD-01 no_evidence: ") for line in lines)      # no inventory in this context
    assert compliance_summary.main([str(tmp_path / "missing.json")]) == 1
    assert capsys.readouterr().out.startswith("compliance: no readable report at ")


def test_log_forwarding_needs_lines_that_really_arrived_when_the_siem_was_read(policy):
    hosts = {"pbx-01": GOOD_HOST, "ai-gw-01": GOOD_HOST}
    arrived = {"receiver": "siem-lab", "counts": {"pbx-01": "412 /var/log/remote/pbx-01.log",
                                                  "ai-gw-01": "97 /var/log/remote/ai-gw-01.log"},
               "marker_rc": {"pbx-01": 0, "ai-gw-01": 0}}
    outcome = CHECKS["hosts.log_forwarding"](_ctx(policy, {"hosts": hosts, "siem": arrived}))
    assert outcome.status == "pass"
    assert outcome.detail.endswith("pbx-01 412 lines received, ai-gw-01 97 lines received")
    lost = dict(arrived, counts={"pbx-01": "412 /var/log/remote/pbx-01.log", "ai-gw-01": ""},
                marker_rc={"pbx-01": 0, "ai-gw-01": 2})
    outcome = CHECKS["hosts.log_forwarding"](_ctx(policy, {"hosts": hosts, "siem": lost}))
    assert outcome.status == "fail"
    assert outcome.findings == ["ai-gw-01: forwarding is configured, but this run's marker line did not reach the "
                                "SIEM (siem-lab; 0 line(s) received from this host)"]
    unchecked = CHECKS["hosts.log_forwarding"](_ctx(policy, {"hosts": hosts}))
    assert unchecked.status == "pass" and "delivery not checked" in unchecked.detail
