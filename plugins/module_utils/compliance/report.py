"""Evaluate the checklist and write a run's reports under `reports/<site>/<timestamp>/`.

Two kinds of items, never mixed in one number:
  automated   proven by checks in this run: pass / fail / no_evidence (not proven). Only these can be "failing".
  attestation proven by a person's signed-off evidence in attestations.yml: attested / awaiting_evidence (missing,
              expired or dated in the future). Awaited evidence is a to-do for a named role, not a hole found.

compliance.json = {site, generated_at,
                   score: {automated: {passed, failed, no_evidence, total, percent},
                           evidence: {attested, awaiting, total},
                           percent, passed, failed, no_evidence,      # = automated (the chart and history use percent)
                           not_applicable, waived, total},            # total: every item of the checklist
                   items: [{id, area, title, kind, status, checks: [...], attestation, quick_fix, fix}],
                   evidence_awaited: [{id, title, type, what, owner, people, every_days, state, last, expired_on}],
                   history: [{run, generated_at, percent}], nautobot_dlm: {...}}
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as checklist_mod
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import (
    CHECKS,
    FAIL,
    NO_EVIDENCE,
    PASS,
    Context,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.report_html import render_html
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory import baseline
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

NOT_APPLICABLE, WAIVED = "not_applicable", "waived"
ATTESTED, AWAITING = "attested", "awaiting_evidence"
AUTOMATED, ATTESTATION = "automated", "attestation"
STATUS_ORDER = {FAIL: 0, NO_EVIDENCE: 1, AWAITING: 2, PASS: 3, ATTESTED: 4, WAIVED: 5, NOT_APPLICABLE: 6}
RUN_DIR_FORMAT = "%Y%m%dT%H%M%SZ"


def evaluate(checklist: dict, ctx: Context, attestations: list[dict]) -> list[dict]:
    """Every item with its status; items failing first, then without evidence, then passing."""
    results = []
    for item in checklist["items"]:
        results.append(_evaluate_item(item, checklist, ctx, attestations))
    return sorted(results, key=lambda r: (STATUS_ORDER[r["status"]], r["id"]))


def _evaluate_item(item: dict, checklist: dict, ctx: Context, attestations: list[dict]) -> dict:
    quick_fix = checklist["quick_fixes"].get(item.get("quick_fix")) if item.get("quick_fix") else None
    kind = AUTOMATED if item.get("checks") else ATTESTATION
    result = {"id": item["id"], "area": item["area"], "title": item["title"], "kind": kind, "checks": [],
              "attestation": None, "quick_fix": quick_fix, "fix": item.get("fix")}
    if item.get("applies_if") == "regulated_data" and not ctx.policy.site.regulated_data:
        return dict(result, status=NOT_APPLICABLE, detail="the site holds no regulated data")
    if item["id"] in checklist["waived"]:
        waiver = checklist["waived"][item["id"]]
        return dict(result, status=WAIVED, detail=f"waived: {waiver['reason']}"
                    + (f" (approved by {waiver['approved_by']})" if waiver.get("approved_by") else ""))
    statuses = []
    for name in item.get("checks", []):
        outcome = CHECKS[name](ctx)
        result["checks"].append({"check": name, "status": outcome.status, "detail": outcome.detail,
                                 "findings": outcome.findings})
        statuses.append(outcome.status)
    if item.get("attestation"):
        verdict, detail, attestation = checklist_mod.judge_attestation(
            item["attestation"], checklist["attestation_types"], attestations, ctx.now.date())
        result["attestation"] = {"type": item["attestation"], "status": ATTESTED if verdict == PASS else AWAITING,
                                 "detail": detail, **attestation}
    if kind == AUTOMATED:
        # an attestation beside the checks is listed with the evidence awaited; it never turns the checks' verdict
        status = FAIL if FAIL in statuses else NO_EVIDENCE if NO_EVIDENCE in statuses else PASS
    else:
        status = result["attestation"]["status"]
    return dict(result, status=status, detail=_item_detail(result))


def _item_detail(result: dict) -> str:
    parts = [c["detail"] for c in result["checks"] if c["status"] != PASS] or \
        [c["detail"] for c in result["checks"]]
    if result["attestation"]:
        parts.append(result["attestation"]["detail"])
    return "; ".join(parts)


def score(items: list[dict]) -> dict:
    """Automated checks (passed / total, percent) and evidence (attested / awaiting) counted apart."""
    counts = {status: sum(1 for i in items if i["status"] == status) for status in STATUS_ORDER}
    automated_total = counts[PASS] + counts[FAIL] + counts[NO_EVIDENCE]
    percent = round(100.0 * counts[PASS] / automated_total, 1) if automated_total else 100.0
    awaiting = sum(1 for i in items if i["attestation"] and i["attestation"]["status"] == AWAITING
                   and i["status"] not in (WAIVED, NOT_APPLICABLE))
    attested = sum(1 for i in items if i["attestation"] and i["attestation"]["status"] == ATTESTED
                   and i["status"] not in (WAIVED, NOT_APPLICABLE))
    return {"automated": {"passed": counts[PASS], "failed": counts[FAIL], "no_evidence": counts[NO_EVIDENCE],
                          "total": automated_total, "percent": percent},
            "evidence": {"attested": attested, "awaiting": awaiting, "total": attested + awaiting},
            "percent": percent, "passed": counts[PASS], "failed": counts[FAIL], "no_evidence": counts[NO_EVIDENCE],
            "not_applicable": counts[NOT_APPLICABLE], "waived": counts[WAIVED], "total": len(items)}


def evidence_awaited(items: list[dict], checklist: dict, policy: SitePolicy) -> list[dict]:
    """What a person still has to attest: what, by whom (the owner role and the policy's people in it), how often,
    and the last attestation with its expiry - for every applicable item whose attestation is missing or stale."""
    people = policy.people
    awaited = []
    for item in items:
        attestation = item.get("attestation")
        if not attestation or attestation["status"] != AWAITING or item["status"] in (WAIVED, NOT_APPLICABLE):
            continue
        kind = checklist["attestation_types"][attestation["type"]]
        owner = kind.get("owner", "compliance")
        last = {k: attestation[k] for k in ("who", "when", "evidence", "expires") if attestation.get(k)} or None
        awaited.append({
            "id": item["id"], "title": item["title"], "type": attestation["type"], "what": kind["what"],
            "owner": owner,
            "people": [p.full_name or p.username for p in people if owner in p.roles],
            "every_days": kind["max_age_days"], "state": attestation.get("state"), "last": last,
            "expired_on": attestation.get("expires") if attestation.get("state") == "expired" else None,
        })
    return awaited


def history(site_reports_dir: str, current_run: str) -> list[dict]:
    """Scores of earlier runs of the site (from their compliance.json), oldest first."""
    runs = []
    for path in sorted(glob.glob(os.path.join(site_reports_dir, "*", "compliance.json"))):
        run = os.path.basename(os.path.dirname(path))
        if run == current_run:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            runs.append({"run": run, "generated_at": data["generated_at"], "percent": data["score"]["percent"]})
        except (OSError, ValueError, KeyError):
            continue   # a damaged earlier report does not stop this one
    return runs


def nautobot_dlm(inventory: dict, policy: SitePolicy) -> dict:
    """The inventory in the shape of Nautobot Device Lifecycle Management's software validation (docs/audit.md).

    validated_software ~ ValidatedSoftwareLCM (software, device_types, start, end, preferred);
    device_software_validation_results ~ DeviceSoftwareValidationResult (device, software, is_validated,
    last_run, run_type, valid_software).
    """
    validated = [{"software": {"platform": b["platform"], "version": b["version"], "image": b.get("image")},
                  "device_types": [b["model"]], "start": None, "end": None, "preferred": True}
                 for b in policy.raw.get("firmware_baselines", [])]   # the baselines as the policy writes them
    results = []
    for device in inventory.get("devices", []):
        reachable = device["status"] != baseline.UNREACHABLE
        valid = [{"platform": device["platform"], "version": device["baseline_version"]}] \
            if device.get("baseline_version") else []
        results.append({
            "device": device["name"], "device_type": device.get("model"), "platform": device["platform"],
            "software": {"platform": device["platform"], "version": device["version"]}
            if reachable and device.get("version") else None,
            "is_validated": (device["status"] == baseline.COMPLIANT) if reachable else None,
            "last_run": inventory.get("collected_at"), "run_type": "full-report-run", "valid_software": valid,
        })
    return {"validated_software": validated, "device_software_validation_results": results}


def build_report(checklist: dict, ctx: Context, attestations: list[dict], run: str, site_reports_dir: str) -> dict:
    items = evaluate(checklist, ctx, attestations)
    return {"site": ctx.policy.site.name, "run": run,
            "generated_at": ctx.now.isoformat().replace("+00:00", "Z"), "score": score(items), "items": items,
            "evidence_awaited": evidence_awaited(items, checklist, ctx.policy),
            "history": history(site_reports_dir, run), "inventory_summary": ctx.inventory.get("summary", {}),
            "audit_trail": ctx.trail_report.as_dict() if ctx.trail_report else None,
            "nautobot_dlm": nautobot_dlm(ctx.inventory, ctx.policy)}


def write_report_files(report_dir: str, report: dict, inventory: dict, secrets: list[str]) -> dict[str, str]:
    """compliance.json and report.html (the inventory files are written by the inventory step)."""
    os.makedirs(report_dir, exist_ok=True)
    report = audit_trail.redact(report, secrets)
    files = {
        "compliance.json": (json.dumps(report, indent=1, sort_keys=True) + "\n").encode("utf-8"),
        "report.html": render_html(report, audit_trail.redact(inventory, secrets)).encode("utf-8"),
    }
    for name, data in files.items():
        audit_trail.write_atomic(os.path.join(report_dir, name), data)
    return {name: os.path.join(report_dir, name) for name in files}


def run_name(now: dt.datetime) -> str:
    return now.strftime(RUN_DIR_FORMAT)
