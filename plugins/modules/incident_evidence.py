#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Package the evidence of an incident (audit trail slice, configs, versions, logs) into one archive (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_evidence
short_description: Build an incident evidence bundle (audit trail slice + collected files) with checksums
description:
  - Writes C(<output_dir>/<site>-evidence-<since>-<until>.tar.gz) holding C(audit/trail-slice.jsonl) (the records of
    the site's audit trail between O(start) and O(end)), C(audit/trail-verify.json) (the hash-chain check of the
    whole trail), every file under O(collected) (configs, version reports, host logs gathered by the playbook),
    C(manifest.json) and C(SHA256SUMS); the archive's own digest goes to C(<archive>.sha256).
  - Runs on the controller. An existing bundle for the same range is never overwritten (changed=false).
    Check mode writes nothing.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
options:
  audit_dir: {description: Root directory of the audit trails., type: path, required: true}
  site: {description: Site name., type: str, required: true}
  start: {description: Start of the range (ISO 8601 with timezone)., type: str, required: true}
  end: {description: End of the range (ISO 8601 with timezone)., type: str, required: true}
  collected: {description: Files or directories to include as they are., type: list, elements: path, default: []}
  output_dir: {description: Where the bundle is written (owner-only)., type: path, required: true}
"""

EXAMPLES = r"""
- name: Bundle the evidence of last night
  aiphone.hardening.incident_evidence:
    audit_dir: audit
    site: clinic
    start: "2026-11-27T00:00:00Z"
    end: "2026-11-27T06:00:00Z"
    collected: [backups, /tmp/evidence/hosts]
    output_dir: evidence
"""

RETURN = r"""
archive: {description: Path of the bundle., returned: always, type: str}
sha256: {description: Digest of the bundle., returned: when written, type: str}
records: {description: Audit records in the range., returned: when written, type: int}
files: {description: Collected files in the bundle., returned: when written, type: int}
trail_ok: {description: Whether the site's audit trail chain verified intact., returned: when written, type: bool}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.evidence import build_bundle, parse_time


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            audit_dir=dict(type="path", required=True),
            site=dict(type="str", required=True),
            start=dict(type="str", required=True),
            end=dict(type="str", required=True),
            collected=dict(type="list", elements="path", default=[]),
            output_dir=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        since, until = parse_time(p["start"], "start"), parse_time(p["end"], "end")
        site_directory = audit_trail.site_dir(p["audit_dir"], p["site"])
    except (ValueError, audit_trail.AuditTrailError) as exc:
        module.fail_json(msg=str(exc))
    if until <= since:
        module.fail_json(msg="end must be after start")
    missing = [path for path in p["collected"] if not os.path.exists(path)]
    if missing:
        module.fail_json(msg=f"collected paths do not exist: {', '.join(missing)}")
    name = f"{p['site']}-evidence-{since:%Y%m%dT%H%M%SZ}-{until:%Y%m%dT%H%M%SZ}.tar.gz"
    archive = os.path.join(p["output_dir"], name)
    if os.path.exists(archive) or module.check_mode:
        module.exit_json(changed=not os.path.exists(archive), archive=archive)
    module.exit_json(changed=True, **build_bundle(archive, site_directory, since, until, p["collected"]))


if __name__ == "__main__":
    main()
