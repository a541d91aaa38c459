#!/usr/bin/python
"""Ansible module: verify the hash chain of a site's audit trail."""

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_verify
short_description: Verify a site's tamper-evident audit trail and name the first broken record
description:
  - Reads C(<audit_dir>/<site>/trail.jsonl) and checks every record - canonical form, its own SHA-256, the link to
    the previous record, the sequence number - and that the trail is not shorter than its head file remembers.
  - Read-only; runs on the controller (delegated to C(localhost)).
  - A torn last line (a run killed while writing) is a warning, not a failure; the next append moves it aside.
version_added: 0.1.0
extends_documentation_fragment:
  - aiphone.hardening.audit_site
  - aiphone.hardening.check_mode_no_diff
options:
  fail_on_broken:
    description: Fail the task when the chain is broken (otherwise report it in C(first_broken)).
    type: bool
    default: true
author: aiphone-hardening contributors
"""

EXAMPLES = r"""
- name: Verify the audit trail before an audit report
  aiphone.hardening.audit_verify:
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
intact:
  description: True when every record checks out.
  returned: always
  type: bool
records:
  description: Number of records that check out (all of them when intact).
  returned: always
  type: int
last_seq:
  description: Sequence number of the last good record.
  returned: always
  type: int
first_broken:
  description: The first record that fails, with the reason.
  returned: always
  type: dict
  sample: {"line": 17, "seq": 17, "reason": "content does not match its hash (the record was edited)"}
torn_tail:
  description: Where a torn last line starts, if any.
  returned: always
  type: dict
unreconciled:
  description:
    - Devices with a configuration change (C(config_change)) or a firmware attempt (C(firmware_attempt)) a killed
      run left without an end record; not clean until the next run against them reconciles it. Also in
      RV(warnings_found).
  returned: always
  type: list
  elements: dict
  sample: [{"device": "sw-core-01", "kind": "config_change", "id": "3f2a9c1d0e4b", "run_id": "20261203T020000Z-1a2b"}]
warnings_found:
  description: Non-fatal findings (torn line, missing trail, unreadable head file, unreconciled changes).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import records as firmware_records
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import AUDIT_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network import config_change


def unreconciled(records: list[dict]) -> list[dict]:
    """Interrupted work (an intent record without its end) per device: config changes and firmware attempts."""
    found = [{"device": device, "kind": config_change.RECORD_KIND, "id": r["change_id"], "run_id": r.get("run_id")}
             for device, r in sorted(config_change.open_changes(records).items())]
    attempts = firmware_records.unfinished_attempts(records)
    found += [{"device": device, "kind": firmware_records.RECORD_KIND, "id": r["attempt_id"],
               "run_id": r.get("run_id")} for device, r in sorted(attempts.items())]
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            **AUDIT_ARGS,
            "fail_on_broken": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        report = audit_trail.verify(audit_trail.site_dir(module.params["audit_dir"], module.params["site"]))
    except (OSError, audit_trail.AuditTrailError) as exc:
        module.fail_json(msg=f"cannot verify the audit trail: {exc}")
    site_dir = audit_trail.site_dir(module.params["audit_dir"], module.params["site"])
    open_work = unreconciled(audit_trail.read_records(site_dir))
    warnings = list(report.warnings) + [f"{w['device']}: {w['kind']} {w['id']} of run {w['run_id']} has no end record "
                                        "(interrupted): not clean until the next run reconciles it"
                                        for w in open_work]
    result = {"changed": False, "intact": report.ok, "records": report.records, "last_seq": report.last_seq,
              "first_broken": report.first_broken, "torn_tail": report.torn_tail, "unreconciled": open_work,
              "warnings_found": warnings,
              "msg": report.summary() + (f"; {len(open_work)} unreconciled change(s)" if open_work else "")}
    if not report.ok and module.params["fail_on_broken"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
