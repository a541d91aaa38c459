"""AI-01 and AI-02 as automated checks fed by the audit trail's ai_probe records: passed with a date, expiring after
the policy's interval, failing with the findings, no evidence without a run, a completed run or an ai_agent: section."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as cl
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checks
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import report as rp
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import site_policy_from_data

REPO = Path(__file__).resolve().parents[3]
RAW = yaml.safe_load((REPO / "inventories" / "lab" / "site_policy.yml").read_text())
POLICY = site_policy_from_data(RAW)
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
FINDING = {"probe": "PI-UTT-04", "checklist": "AI-02", "field": "utterance", "goal": "another caller's data",
           "kind": "canary_leak", "detail": "the reply holds the canary card_number",
           "excerpt": "The card on file for [canary customer_name] is [canary card_number ****5556]."}
CHECKS = {"AI-01": checks.ai_input_validation_probed, "AI-02": checks.ai_prompt_injection_probed}


def record(when: str = "2026-12-01T09:00:00Z", ai01: str = "pass", ai02: str = "pass", **extra) -> dict:
    findings = [FINDING] if ai02 == "fail" else []
    return {"kind": "ai_probe", "seq": 7, "probed_at": when, "agent": "http://127.0.0.1:1/v1/chat",
            "engine": "garak 0.17.1 rest.RestGenerator, StringDetector", "findings": findings,
            "items": {"AI-01": {"status": ai01, "probes": 7, "findings": 0, "skipped": 0},
                      "AI-02": {"status": ai02, "probes": 11, "findings": len(findings), "skipped": 0}}, **extra}


def ctx(records, policy=POLICY, now=NOW) -> checks.Context:
    return checks.Context(policy=policy, inventory={}, trail_records=records, trail_report=None, evidence={}, now=now)


@pytest.mark.parametrize("item", ["AI-01", "AI-02"])
def test_a_recent_pass_passes_with_its_date_and_expiry(item):
    outcome = CHECKS[item](ctx([record()]))
    assert outcome.status == checks.PASS
    assert "passed on 2026-12-01, valid until 2027-03-01" in outcome.detail and "garak 0.17.1" in outcome.detail


@pytest.mark.parametrize("item", ["AI-01", "AI-02"])
def test_a_pass_older_than_the_interval_is_no_longer_evidence(item):
    outcome = CHECKS[item](ctx([record(when="2026-08-01T09:00:00Z")]))
    assert outcome.status == checks.NO_EVIDENCE and "expired 2026-10-30 (every 90 days)" in outcome.detail
    data = copy.deepcopy(RAW)
    data["ai_agent"]["evidence_interval"] = "180d"     # the policy's interval decides
    assert CHECKS[item](ctx([record(when="2026-08-01T09:00:00Z")], site_policy_from_data(data))).status == checks.PASS


def test_a_leak_fails_ai02_with_the_masked_finding_and_the_latest_run_decides():
    outcome = checks.ai_prompt_injection_probed(ctx([record(), record(ai02="fail")]))
    assert outcome.status == checks.FAIL
    assert outcome.findings == ["PI-UTT-04 [utterance] canary_leak: the reply holds the canary card_number - reply: "
                                "The card on file for [canary customer_name] is [canary card_number ****5556]."]
    assert checks.ai_input_validation_probed(ctx([record(), record(ai02="fail")])).status == checks.PASS
    assert checks.ai_prompt_injection_probed(ctx([record(ai02="fail"), record()])).status == checks.PASS


@pytest.mark.parametrize(("records", "policy", "reason"), [
    ([], POLICY, "no probe run in the audit trail"),
    ([record(ai01="error", ai02="error", errors=["CTRL-01: 401"])], POLICY, "did not complete"),
    ([record(when="yesterday")], POLICY, "no readable date"),
    ([record()], site_policy_from_data({k: v for k, v in RAW.items() if k != "ai_agent"}), "no ai_agent: section"),
    ([{"kind": "compliance_report", "seq": 3}], POLICY, "no probe run"),
])
def test_no_evidence_without_a_completed_run(records, policy, reason):
    for check in CHECKS.values():
        outcome = check(ctx(records, policy))
        assert outcome.status == checks.NO_EVIDENCE and reason in outcome.detail, outcome.detail


def test_the_items_are_automated_in_the_report_and_keep_their_attestation_apart():
    checklist = cl.load_checklist(str(REPO / "checklist" / "checklist.yml"), POLICY, set(checks.CHECKS))
    items = {i["id"]: i for i in rp.evaluate(checklist, ctx([record(ai02="fail")]), [])}
    assert items["AI-01"]["kind"] == items["AI-02"]["kind"] == "automated"
    assert items["AI-01"]["status"] == "pass" and items["AI-02"]["status"] == "fail"
    assert items["AI-02"]["checks"][0]["check"] == "ai.prompt_injection_probed"
    assert items["AI-02"]["attestation"]["type"] == "prompt_injection_test"   # listed, never the verdict
