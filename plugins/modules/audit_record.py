#!/usr/bin/python
"""Ansible module: append a record to a site's tamper-evident audit trail."""

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_record
short_description: Append one record to a site's hash-chained audit trail
description:
  - Appends a record (e.g. an inventory snapshot, an attestation, an override used at 2 a.m.) to
    C(<audit_dir>/<site>/trail.jsonl) with the locked, fsync'd, hash-chained writer. Secrets are masked first.
  - Can also adopt the lines other tools appended to a JSON-lines file of the site's audit directory
    (e.g. C(package-updates.jsonl), C(firmware-attempts.jsonl)) into the chain, once each.
  - Runs on the controller (delegated to C(localhost)). In check mode nothing is written and C(changed) tells
    whether something would be.
version_added: 0.1.0
extends_documentation_fragment:
  - aiphone.hardening.audit_site
  - aiphone.hardening.check_mode_no_diff
options:
  kind:
    description: Record kind (C(inventory_snapshot), C(attestation), C(override) ...). Required with I(data).
    type: str
  data:
    description: Fields of the record (C(seq), C(prev) and C(hash) are set by the trail).
    type: dict
  secrets:
    description: Literal values to mask wherever they appear in the record.
    type: list
    elements: str
    default: []
  adopt:
    description: JSON-lines files of the site's audit directory to adopt, each with the record kind to use.
    type: list
    elements: dict
    default: []
    suboptions:
      file:
        description: File name inside C(<audit_dir>/<site>/).
        type: str
        required: true
      kind:
        description: Record kind for its lines.
        type: str
        required: true
author: aiphone-hardening contributors
"""

EXAMPLES = r"""
- name: Adopt package updates and firmware attempts written by other tools
  aiphone.hardening.audit_record:
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site }}"
    adopt:
      - {file: package-updates.jsonl, kind: package_update}
  delegate_to: localhost
  run_once: true

- name: Record a forced change outside the maintenance window
  aiphone.hardening.audit_record:
    site: lab
    kind: override
    data: {reason: "CVE-2026-1234 hotfix", approved_by: sofia}
  delegate_to: localhost
"""

RETURN = r"""
records:
  description: The records appended (with seq, prev, hash), empty in check mode.
  returned: always
  type: list
  elements: dict
pending:
  description: How many records were (or, in check mode, would be) appended.
  returned: always
  type: int
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import AUDIT_ARGS


def pending_adoptions(site_directory: str, adopt: list[dict]) -> int:
    """Lines of the adopted files not yet in the trail (what check mode reports)."""
    seen = {(r.get("source", {}).get("file"), r.get("source", {}).get("line"))
            for r in audit_trail.iter_records(site_directory) if "source" in r}
    count = 0
    for entry in adopt:
        try:
            with open(os.path.join(site_directory, entry["file"]), "rb") as handle:
                count += sum(1 for n, raw in enumerate(handle, 1)
                             if raw.endswith(b"\n") and raw.strip() and (entry["file"], n) not in seen)
        except FileNotFoundError:
            continue
    return count


def main():
    module = AnsibleModule(
        argument_spec={
            **AUDIT_ARGS,
            "kind": {"type": "str"},
            "data": {"type": "dict"},
            "secrets": {"type": "list", "elements": "str", "default": [], "no_log": True},
            "adopt": {"type": "list", "elements": "dict", "default": [], "options": {
                "file": {"type": "str", "required": True},
                "kind": {"type": "str", "required": True},
            }},
        },
        required_together=[("kind", "data")],
        required_one_of=[("data", "adopt")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        site_directory = audit_trail.site_dir(params["audit_dir"], params["site"])
        for entry in params["adopt"]:
            if os.path.basename(entry["file"]) != entry["file"]:
                module.fail_json(msg=f"adopt.file {entry['file']!r} must be a file name inside {site_directory}")
        record = dict(params["data"] or {}, kind=params["kind"]) if params["data"] is not None else None
        pending = pending_adoptions(site_directory, params["adopt"]) + (1 if record else 0)
        if module.check_mode:
            module.exit_json(changed=pending > 0, pending=pending, records=[])
        written = []
        for entry in params["adopt"]:
            written += audit_trail.adopt_jsonl(site_directory, entry["file"], entry["kind"], params["secrets"])
        if record:
            written.append(audit_trail.append(site_directory, record, params["secrets"]))
    except (OSError, ValueError, audit_trail.AuditTrailError) as exc:
        module.fail_json(msg=f"cannot write the audit trail: {exc}")
    module.exit_json(changed=bool(written), pending=len(written),
                     records=json.loads(json.dumps(written)))


if __name__ == "__main__":
    main()
