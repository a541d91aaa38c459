"""LOG-02 and CRD-02 as automated checks: the alerts deployed where the SIEM is configured, their replay test of the
same rules passed recently, and the report's findings list each alert with the attack that fired it."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checks
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import site_policy_from_data

REPO = Path(__file__).resolve().parents[3]
COMPILED = REPO / "detections" / "compiled"
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
DIGEST = hashlib.sha256((COMPILED / "sqlite" / "queries.json").read_text().encode()).hexdigest()
ALERTS = json.loads((COMPILED / "alerts.json").read_text())
LIVE = [a["name"] for a in ALERTS if not a["name"].startswith("sip_")]
LAB_POLICY = yaml.safe_load((REPO / "inventories" / "lab" / "site_policy.yml").read_text())
POLICY = site_policy_from_data(LAB_POLICY)          # siem.lab.example:6514; Linux hosts pbx-01 and ai-gw-01
NO_SIEM = site_policy_from_data({key: value for key, value in LAB_POLICY.items() if key != "siem"})
RECORD = {"compiled_sha256": DIGEST, "complete": True, "tested_at": "2026-12-01T09:00:00+00:00",
          "normal_day": "ordinary work", "normal_day_false_positives": 0,
          "alerts": {name: {"attack": f"attack on {name}", "fired": True} for name in LIVE},
          "not_replayed": {"sip_flood_pike": "waits for issue 15", "sip_registration_bruteforce": "waits for issue 15"}}
MANIFEST = {"siem": "siem.lab.example:6514", "alerts": ALERTS, "compiled_sha256": DIGEST, "last_test": RECORD}


def context(manifests: dict, policy=POLICY) -> checks.Context:
    return checks.Context(policy=policy, inventory={}, trail_records=[], trail_report=None,
                          evidence={"hosts": {h: {"detections": m} for h, m in manifests.items()}}, now=NOW)


@pytest.mark.parametrize("check", [checks.alerts_deployed_tested, checks.credential_use_alerted])
def test_deployed_and_recently_tested_passes_and_lists_each_alert(check):
    outcome = check(context({"pbx-01": MANIFEST, "ai-gw-01": MANIFEST}))
    assert outcome.status == checks.PASS, outcome.findings
    item = "LOG-02" if check is checks.alerts_deployed_tested else "CRD-02"
    listed = [line.split(" ", 1)[0] for line in outcome.findings[:-1]]
    assert listed == [a["name"] for a in ALERTS if item in a["checklist"]]
    assert "ssh_failed_logins_repeated (Repeated failed SSH logins from one source, high): fired by attack on " \
           "ssh_failed_logins_repeated; last test 2026-12-01" in outcome.findings
    assert outcome.findings[-1] == "normal day (ordinary work): 0 false positive(s)"


def variant(manifest_changes: dict | None = None, **test_changes) -> dict:
    """MANIFEST with some of its keys, or of its last test record's keys, changed."""
    manifest = copy.deepcopy(MANIFEST)
    manifest.update(manifest_changes or {})
    if manifest["last_test"]:
        manifest["last_test"].update(test_changes)
    return manifest


@pytest.mark.parametrize(("manifest", "reason"), [
    ({}, "no detection rules deployed"),
    (variant({"last_test": None}), "no record of a passing replay test"),
    (variant({"compiled_sha256": "0" * 64}), "other rules than the deployed ones"),
    (variant(normal_day_false_positives=2), "normal day must fire none"),
    (variant(complete=False), "did not pass"),
    (variant(tested_at="2026-04-01T09:00:00+00:00"), "more than 180 days ago"),
    (variant(alerts={}), "no attack fired in the last replay test"),
])
def test_a_host_without_proof_fails_naming_why(manifest, reason):
    outcome = checks.alerts_deployed_tested(context({"pbx-01": MANIFEST, "ai-gw-01": manifest}))
    assert outcome.status == checks.FAIL
    assert any(f.startswith("ai-gw-01: ") and reason in f for f in outcome.findings), outcome.findings


def test_no_siem_fails_and_an_unread_host_is_no_evidence():
    assert checks.alerts_deployed_tested(context({"pbx-01": MANIFEST}, policy=NO_SIEM)).status == checks.FAIL
    unread = checks.Context(policy=POLICY, inventory={}, trail_records=[], trail_report=None,
                            evidence={"hosts": {"pbx-01": {"detections": MANIFEST}}}, now=NOW)
    assert checks.alerts_deployed_tested(unread).status == checks.NO_EVIDENCE
