"""PRI-03, MIN-01 and MIN-02 as automated checks fed by data_at_rest_facts and card_scan evidence."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as cl
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import report as rp
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def verdict(name, status="pass", method="gocryptfs", detail=None):
    return {"name": name, "path": f"/srv/aiphone/{name}", "status": status, "method": method,
            "cipher": "AES-256-GCM" if status == "pass" else None,
            "detail": detail or f"/srv/aiphone/{name}: {status}"}


AT_REST = [verdict(c) for c in ("recordings", "transcripts", "metadata", "payment")]
CLEAN_SCAN = {"totals": {"files": 12, "files_skipped_unchanged": 0, "bytes_scanned": 40960, "cards": 0, "ssns": 0,
                         "cards_with_expiry": 0, "cards_with_cvv": 0},
              "complete": True, "files_with_findings": [], "missing": [], "errors": []}


def planted(cards=1, ssns=0):
    scan = copy.deepcopy(CLEAN_SCAN)
    scan["totals"].update(cards=cards, ssns=ssns)
    scan["files_with_findings"] = [{"path": "/srv/aiphone/transcripts/call-7.txt", "cards": cards, "ssns": ssns,
                                    "findings": [{"kind": "card", "offset": 212, "length": 19}]}]
    return scan


@pytest.fixture(scope="module")
def policy():
    return load_site_policy(str(REPO / "inventories" / "lab" / "site_policy.yml"))


def items_for(policy, hosts: dict) -> dict:
    checklist = cl.load_checklist(str(REPO / "checklist" / "checklist.yml"), policy, set(CHECKS))
    ctx = Context(policy=policy, inventory={}, trail_records=[], trail_report=None, evidence={"hosts": hosts},
                  now=NOW)
    return {i["id"]: i for i in rp.evaluate(checklist, ctx, [])}


def both(**evidence):
    return {"pbx-01": dict({"data_at_rest": AT_REST, "card_scan": CLEAN_SCAN}, **evidence),
            "ai-gw-01": {"data_at_rest": AT_REST, "card_scan": CLEAN_SCAN}}


def test_items_are_automated_and_pass_on_good_evidence(policy):
    items = items_for(policy, both())
    for item_id in ("PRI-03", "MIN-01", "MIN-02"):
        assert items[item_id]["kind"] == "automated" and items[item_id]["status"] == "pass", items[item_id]
    assert items["MIN-02"]["attestation"]["type"] == "data_minimisation_review"   # awaited beside the check
    assert "4 data directories encrypted (gocryptfs AES-256-GCM)" in str(items["PRI-03"]["checks"])


def test_a_planted_card_number_fails_min_01_and_min_02(policy):
    items = items_for(policy, both(card_scan=planted()))
    for item_id in ("MIN-01", "MIN-02"):
        assert items[item_id]["status"] == "fail"
        findings = [f for c in items[item_id]["checks"] for f in c["findings"]]
        assert any("pbx-01: /srv/aiphone/transcripts/call-7.txt: 1 card number(s)" in f for f in findings)
    assert items["PRI-03"]["status"] == "pass"


def test_an_ssn_fails_min_02_only(policy):
    items = items_for(policy, both(card_scan=planted(cards=0, ssns=2)))
    assert items["MIN-01"]["status"] == "pass" and items["MIN-02"]["status"] == "fail"


def test_plain_storage_fails_pri_03_naming_directory_and_mount(policy):
    plain = verdict("transcripts", "fail", "none", "/srv/aiphone/transcripts is stored in plain text: mount / "
                                                   "(overlay on overlay) is neither LUKS, fscrypt nor gocryptfs")
    items = items_for(policy, both(data_at_rest=[*AT_REST[:1], plain, *AT_REST[2:]]))
    item = items["PRI-03"]
    assert item["status"] == "fail"
    assert any("pbx-01: /srv/aiphone/transcripts is stored in plain text: mount /" in f
               for c in item["checks"] for f in c["findings"])


@pytest.mark.parametrize("evidence, item_id", [
    ({"data_at_rest": [dict(v, status="missing") for v in AT_REST]}, "PRI-03"),       # nothing looked at
    ({"data_at_rest": [verdict("recordings", "unknown", "gocryptfs")]}, "PRI-03"),     # cipher unreadable
    ({"card_scan": dict(CLEAN_SCAN, complete=False)}, "MIN-01"),                       # stopped by its budget
    ({"card_scan": dict(CLEAN_SCAN, errors=["/srv/aiphone/metadata/x: cannot open"])}, "MIN-02"),
    ({"card_scan": dict(CLEAN_SCAN, totals=dict(CLEAN_SCAN["totals"], files=0),
                        missing=["/srv/aiphone/transcripts"])}, "MIN-01"),
])
def test_what_was_not_looked_at_is_never_a_pass(policy, evidence, item_id):
    assert items_for(policy, both(**evidence))[item_id]["status"] == "no_evidence"


def test_a_host_not_read_is_no_evidence(policy):
    items = items_for(policy, {"pbx-01": {"data_at_rest": AT_REST, "card_scan": CLEAN_SCAN}})
    assert items["PRI-03"]["status"] == items["MIN-01"]["status"] == "no_evidence"
    assert "ai-gw-01: not read in this run" in str(items["MIN-01"]["checks"])
