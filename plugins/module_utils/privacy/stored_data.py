# -*- coding: utf-8 -*-
"""Verdicts of the stored-data checks (PRI-03, MIN-01, MIN-02) from one host's evidence, as read by audit.yml.

evidence["hosts"][host]["data_at_rest"]  the verdicts of aiphone.hardening.data_at_rest_facts (one per data class)
evidence["hosts"][host]["card_scan"]     {totals, complete, files_with_findings, missing, errors} of
                                         aiphone.hardening.card_scan (read-only) over the stored text data

Each judge returns (status, detail, findings) with status "pass", "fail" or "no_evidence": nothing passes without
having been looked at (a host whose data directories are all missing, a scan stopped by its time budget or unable
to read a file, a cipher that could not be read, are "no_evidence").
"""

from __future__ import annotations

PASS, FAIL, NO_EVIDENCE = "pass", "fail", "no_evidence"


def judge_at_rest(verdicts: list[dict]) -> tuple[str, str, list[str]]:
    present = [v for v in verdicts if v.get("status") != "missing"]
    absent = [f"{v.get('path')}: not present on this host (nothing stored)" for v in verdicts
              if v.get("status") == "missing"]
    failing = [v.get("detail", "") for v in present if v.get("status") == "fail"]
    unknown = [v.get("detail", "") for v in present if v.get("status") not in ("pass", "fail")]
    if failing:
        return FAIL, f"{len(failing)} of {len(present)} data directories not encrypted with AES-256", \
            failing + unknown
    if unknown:
        return NO_EVIDENCE, f"encryption of {len(unknown)} data directories could not be verified", unknown
    if not present:
        return NO_EVIDENCE, "no data directory found (set aiphone_audit_data_root to where the data is)", absent
    methods = sorted({f"{v.get('method')} {v.get('cipher')}" for v in present})
    return PASS, f"{len(present)} data directories encrypted ({', '.join(methods)})", absent


def judge_card_scan(scan: dict, kinds: tuple[str, ...] = ("cards",)) -> tuple[str, str, list[str]]:
    """No full card number (kinds=("cards",): MIN-01) or no card number nor SSN (("cards", "ssns"): MIN-02)."""
    totals = scan.get("totals") or {}
    found = sum(int(totals.get(kind, 0)) for kind in kinds)
    names = {"cards": "card number(s)", "ssns": "SSN(s)"}
    files = [f"{f['path']}: " + ", ".join(f"{f.get(kind, 0)} {names[kind]}" for kind in kinds if f.get(kind))
             for f in scan.get("files_with_findings") or [] if any(f.get(kind) for kind in kinds)]
    problems = [f"not read: {e}" for e in scan.get("errors") or []]
    what = " and ".join(names[k].replace("(s)", "s") for k in kinds)
    if found:
        counts = ", ".join(f"{totals.get(kind, 0)} {names[kind]}" for kind in kinds if totals.get(kind))
        return FAIL, f"{counts} stored in {len(files)} file(s) (values not shown; mask them with " \
                     "aiphone.hardening.card_scan mask=true)", files + problems
    if problems or not scan.get("complete", False):
        return NO_EVIDENCE, "the scan did not read everything" + ("" if scan.get("complete", False) else
                                                                  " (stopped by its time budget)"), problems
    if not totals.get("files") and scan.get("missing") and not totals.get("files_skipped_unchanged"):
        return NO_EVIDENCE, f"no stored data found to scan ({', '.join(scan['missing'])} missing)", []
    return PASS, f"no {what} in {totals.get('files', 0)} file(s), {totals.get('bytes_scanned', 0)} bytes scanned", \
        [f"{m}: not present on this host" for m in scan.get("missing") or []]
