"""The closing lines of `make demo` (and of any run): the two numbers of a compliance.json, never an empty line.

    python -m scripts.compliance_summary reports/<site>/<run>/compliance.json
    compliance: automated checks 17/17 passing (100.0%): 0 failing, 0 not proven
    evidence awaited: 17 of 17 attestation(s) missing or expired (by: admin 9, compliance 6, supervisor 2)
"""

from __future__ import annotations

import collections
import json
import sys


def summary_lines(report: dict) -> list[str]:
    automated, evidence = report["score"]["automated"], report["score"]["evidence"]
    lines = [f"compliance: automated checks {automated['passed']}/{automated['total']} passing "
             f"({automated['percent']}%): {automated['failed']} failing, {automated['no_evidence']} not proven"]
    for item in report["items"]:
        if item.get("kind") == "automated" and item["status"] in ("fail", "no_evidence"):
            lines.append(f"  {item['id']} {item['status']}: {item['detail']}")
    owners = collections.Counter(w["owner"] for w in report.get("evidence_awaited", []))
    by = ", ".join(f"{owner} {count}" for owner, count in sorted(owners.items()))
    lines.append(f"evidence awaited: {evidence['awaiting']} of {evidence['total']} attestation(s) missing or expired"
                 + (f" (by: {by})" if by else ""))
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m scripts.compliance_summary COMPLIANCE_JSON", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            lines = summary_lines(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"compliance: no readable report at {argv[0]} ({type(exc).__name__}: {exc}); see the audit log")
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
