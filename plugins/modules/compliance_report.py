#!/usr/bin/python
"""Ansible module: evaluate the security checklist for a site and write compliance.json + report.html."""

from __future__ import annotations

DOCUMENTATION = r"""
module: compliance_report
short_description: Evaluate the site against the security checklist and write the compliance report
description:
  - Evaluates every item of the checklist (C(checklist/checklist.yml) plus the site policy's C(checklist:)
    extensions) from automated checks - the site policy, this run's version inventory, the audit trail, the state
    read back from hosts and switches (I(evidence)), the inventory files - and from manual attestations in
    C(<inventory_dir>/attestations.yml), which expire.
  - Writes C(compliance.json) (with the Nautobot DLM software-validation mapping) and a self-contained
    C(report.html) into I(report_dir), next to the C(inventory.json) of the version inventory step, and chains a
    C(compliance_report) record (score, failing items, SHA-256 of compliance.json) into the audit trail.
  - Runs on the controller; reads no device. In check mode it evaluates and writes nothing. The report files and
    the trail record are the run's output, not a change of state, so C(changed) is always false.
version_added: 0.1.0
extends_documentation_fragment:
  - aiphone.hardening.audit_site
  - aiphone.hardening.check_mode_no_diff
options:
  policy: {description: Path of the site's C(site_policy.yml)., type: path, required: true}
  policy_sha256:
    description:
      - The C(sha256) M(aiphone.hardening.site_policy) returned when it validated I(policy) earlier in this run;
        when the file still hashes to it, it is not validated a second time.
    type: str
  inventory_dir:
    description: The site's inventory directory (attestations, credential scan).
    type: path
    required: true
  checklist: {description: Path of C(checklist/checklist.yml)., type: path, required: true}
  report_dir:
    description: This run's report directory, C(reports/<site>/<timestamp>); earlier runs are its siblings.
    type: path
    required: true
  evidence:
    description:
      - State read back in this run - C(hosts) (per Linux host - nft_ruleset, apt_config, retention_timer,
        tls_weak, sudo_members, accounts, ssh_mfa, log_forwarding) and C(switches) (per switch - the result of
        P(aiphone.hardening.network_policy_verify#module)).
    type: dict
    default: {}
  secrets: {description: Literal values to mask in every output., type: list, elements: str, default: [], no_log: true}
  record: {description: Chain a C(compliance_report) record into the audit trail., type: bool, default: true}
author: aiphone-hardening contributors
"""

EXAMPLES = r"""
- name: Compliance report
  aiphone.hardening.compliance_report:
    site: "{{ aiphone_site_name }}"
    policy: "{{ aiphone_site_policy_file }}"
    inventory_dir: "{{ inventory_dir }}"
    checklist: "{{ playbook_dir }}/../checklist/checklist.yml"
    audit_dir: "{{ aiphone_audit_dir }}"
    report_dir: "{{ aiphone_report_dir }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
score:
  description:
    - C(automated) - the items proven by automated checks (passed of total, percent); C(evidence) - the items proven
      by attestations (attested, awaiting); both apart, an awaited attestation never counts as failing. The top-level
      C(percent), C(passed), C(failed), C(no_evidence) repeat the automated counts.
  returned: always
  type: dict
  sample: {"automated": {"passed": 16, "failed": 1, "no_evidence": 0, "total": 17, "percent": 94.1},
           "evidence": {"attested": 2, "awaiting": 15, "total": 17}, "percent": 94.1, "passed": 16, "failed": 1,
           "no_evidence": 0, "not_applicable": 0, "waived": 0, "total": 34}
failing:
  description: Ids and titles of the automated items failing or not proven, failing first.
  returned: always
  type: list
  elements: str
evidence_awaited:
  description: Ids, titles and owner role of the items whose attestation is missing, expired or dated in the future.
  returned: always
  type: list
  elements: str
files:
  description: Files written.
  returned: always
  type: dict
"""

import datetime as dt
import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checklist import (
    ChecklistError,
    load_attestations,
    load_checklist,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.report import (
    build_report,
    write_report_files,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import load_policy_fast
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import AUDIT_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError


def read_inventory(report_dir: str) -> dict:
    try:
        with open(os.path.join(report_dir, "inventory.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def main():
    module = AnsibleModule(
        argument_spec={
            **AUDIT_ARGS,
            "policy": {"type": "path", "required": True},
            "policy_sha256": {"type": "str"},
            "inventory_dir": {"type": "path", "required": True},
            "checklist": {"type": "path", "required": True},
            "report_dir": {"type": "path", "required": True},
            "evidence": {"type": "dict", "default": {}},
            "secrets": {"type": "list", "elements": "str", "default": [], "no_log": True},
            "record": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        policy = load_policy_fast(p["policy"], p["policy_sha256"])
        checklist = load_checklist(p["checklist"], policy, set(CHECKS))
        attestations = load_attestations(p["inventory_dir"])
        site_directory = audit_trail.site_dir(p["audit_dir"], p["site"])
        ctx = Context(policy=policy, inventory=read_inventory(p["report_dir"]),
                      trail_records=audit_trail.read_records(site_directory),
                      trail_report=audit_trail.verify(site_directory), evidence=p["evidence"],
                      inventory_dir=p["inventory_dir"], now=dt.datetime.now(dt.UTC).replace(microsecond=0))
        report = build_report(checklist, ctx, attestations, os.path.basename(os.path.normpath(p["report_dir"])),
                              os.path.dirname(os.path.normpath(p["report_dir"])))
        failing = [f"{i['id']} {i['title']}" for i in report["items"] if i["status"] in ("fail", "no_evidence")]
        awaited = [f"{w['id']} {w['title']} (by {w['owner']})" for w in report["evidence_awaited"]]
        files = {}
        if not module.check_mode:
            files = write_report_files(p["report_dir"], report, ctx.inventory, p["secrets"])
            if p["record"]:
                with open(files["compliance.json"], "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                audit_trail.append(site_directory, {
                    "kind": "compliance_report", "run": report["run"], "score": report["score"],
                    "failing": [i["id"] for i in report["items"] if i["status"] == "fail"],
                    "no_evidence": [i["id"] for i in report["items"] if i["status"] == "no_evidence"],
                    "evidence_awaited": [w["id"] for w in report["evidence_awaited"]],
                    "compliance_sha256": digest}, secret_values=p["secrets"])
    except PolicyError as exc:
        module.fail_json(msg=f"the site policy is invalid: {exc}")
    except (ChecklistError, audit_trail.AuditTrailError, OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot build the compliance report: {exc}")
    module.exit_json(changed=False, score=report["score"], failing=failing, evidence_awaited=awaited, files=files)


if __name__ == "__main__":
    main()
