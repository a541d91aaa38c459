"""Verify the hash chain of a site's audit trail: `python -m scripts.audit_verify inventories/<site>`.

Exit status: 0 intact (warnings printed), 1 broken (the first broken record is named), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import site_name

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory", help="the site's inventory directory, e.g. inventories/lab")
    parser.add_argument("--audit-dir", default=os.environ.get("AIPHONE_AUDIT_DIR", os.path.join(REPO_ROOT, "audit")),
                        help="root of the audit trails (default: $AIPHONE_AUDIT_DIR or audit/ at the repo root)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.inventory):
        print(f"error: {args.inventory} is not an inventory directory (expected inventories/<site>)", file=sys.stderr)
        return 2
    try:
        report = audit_trail.verify(audit_trail.site_dir(args.audit_dir, site_name(args.inventory)))
    except audit_trail.AuditTrailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
