#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Find card numbers and SSNs in stored data (transcripts, metadata); optionally mask them to the last four digits."""

from __future__ import annotations

DOCUMENTATION = r"""
module: card_scan
short_description: Find payment card numbers and US SSNs in stored data, optionally mask them in place
description:
  - Streams every regular file under O(paths) (never following symbolic links; binary files such as audio are
    skipped) and finds Luhn-valid 13-19 digit card numbers written plain, in groups (spaces, dashes) or as spoken
    digits the way a speech-to-text engine writes a caller reading one out (C(four one one one ...), C(oh), C(double
    four)), whether an expiry date or a CVV is written next to each, and US social security numbers.
    The rules and what is deliberately not counted (phone numbers, order and tracking numbers, IMEIs) are in
    C(plugins/module_utils/privacy/cardscan.py).
  - Reports counts and file/byte offset of each finding, never the digits (not even the last four).
  - Memory stays bounded whatever the file size (1 MiB chunks). With O(state_file), an interrupted or budgeted scan
    (O(max_bytes), O(max_seconds)) goes on where it stopped and unchanged files are not read again.
  - With O(mask), every finding is replaced by its masked form (C(XXXX XXXX XXXX 1111)); each file is rewritten
    atomically (temporary file in the same directory, fsync, rename; owner, mode and POSIX ACLs kept) and one audit
    record per changed file is appended to O(audit_log). Masking twice changes nothing. Hard-linked files and files
    written to during the rewrite are left alone and reported as errors.
  - Without O(mask) the module changes nothing but the state file. In check mode nothing is written at all and
    C(changed) says whether masking would change a file; with C(--diff) the diff lists the offsets to be masked.
options:
  paths:
    description: Directories (or files) to scan. A missing one is reported in RV(missing), not an error.
    type: list
    elements: path
    required: true
  state_file:
    description: JSON state to resume from and to skip unchanged files (mode 0600). No state when omitted.
    type: path
  mask:
    description: Mask every finding in place to the last four digits.
    type: bool
    default: false
  audit_log:
    description: JSON-lines file receiving one record per file masked (path, counts, offsets; never digits).
    type: path
    default: /var/log/aiphone/card-mask.jsonl
  max_bytes:
    description: Stop after reading this many bytes (resume with O(state_file)).
    type: int
  max_seconds:
    description: Stop after this many seconds (resume with O(state_file)).
    type: float
  exclude:
    description: Regular expressions on file names to skip.
    type: list
    elements: str
    default: []
  fail_on_findings:
    description: Fail when a card number or SSN is found (after masking, when O(mask) is set, nothing is left).
    type: bool
    default: false
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: MIN-01 | Look for card numbers in transcripts and metadata (read-only)
  aiphone.hardening.card_scan:
    paths: [/srv/aiphone/transcripts, /srv/aiphone/metadata]
  register: card_scan

- name: MIN-02 | Mask what was found, keeping the last four digits
  aiphone.hardening.card_scan:
    paths: [/srv/aiphone/transcripts, /srv/aiphone/metadata]
    mask: true
    state_file: /var/lib/aiphone/cardscan-state.json
"""

RETURN = r"""
totals:
  description: Files and bytes read, card numbers and SSNs found (cards with an expiry or CVV written next to them).
  returned: always
  type: dict
  sample: {files: 120, files_skipped_unchanged: 0, bytes_scanned: 5242880, cards: 1, ssns: 0, cards_with_expiry: 1,
           cards_with_cvv: 0}
files_with_findings:
  description: Each file holding a finding, with its first 100 findings (kind, offset, length, brand, flags).
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/aiphone/transcripts/call-1.txt, cards: 1, ssns: 0,
            findings: [{kind: card, offset: 212, length: 19, brand: visa, expiry_nearby: true, cvv_nearby: false}]}]
changed_files:
  description: Files masked (or that would be, in check mode), as the audit records written.
  returned: always
  type: list
  elements: dict
complete:
  description: False when the byte or time budget stopped the scan (the state file knows where to go on).
  returned: always
  type: bool
missing:
  description: Paths of O(paths) that do not exist.
  returned: always
  type: list
  elements: str
errors:
  description: Files that could not be read or masked, each naming the file and why.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import cardscan


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "state_file": {"type": "path"},
            "mask": {"type": "bool", "default": False},
            "audit_log": {"type": "path", "default": "/var/log/aiphone/card-mask.jsonl"},
            "max_bytes": {"type": "int"},
            "max_seconds": {"type": "float"},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "fail_on_findings": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    relative = [p for p in params["paths"] if not os.path.isabs(p)]
    if relative:
        module.fail_json(msg=f"card_scan: paths must be absolute: {', '.join(relative)}")
    missing = [p for p in params["paths"] if not os.path.exists(p)]
    roots = [p for p in params["paths"] if p not in missing]
    options = cardscan.Options(
        roots=roots, state_file=None if module.check_mode else params["state_file"], mask=params["mask"],
        dry_run=module.check_mode, audit_log=params["audit_log"] if params["mask"] else None,
        max_bytes=params["max_bytes"], max_seconds=params["max_seconds"], exclude=tuple(params["exclude"]))
    try:
        report = cardscan.run(options)
    except (cardscan.ScanError, OSError) as exc:
        module.fail_json(msg=f"card_scan: {exc}")
    would_mask = [{"path": f["path"], "cards": f["cards"], "ssns": f["ssns"],
                   "offsets": [x["offset"] for x in f["findings"]]} for f in report["files_with_findings"]] \
        if params["mask"] and module.check_mode else []
    changed_files = report["changed"] or would_mask
    result = {
        "changed": bool(changed_files), "totals": report["totals"], "complete": report["complete"],
        "files_with_findings": report["files_with_findings"], "changed_files": changed_files,
        "missing": missing, "errors": report["errors"], "skipped_binary": report["skipped_binary"],
    }
    if module._diff and changed_files:
        result["diff"] = [{"before_header": f["path"], "after_header": f"{f['path']} (masked)",
                           "before": "".join(f"offset {o}: full number\n" for o in f["offsets"]),
                           "after": "".join(f"offset {o}: last four digits only\n" for o in f["offsets"])}
                          for f in changed_files]
    if report["errors"]:
        module.fail_json(msg="card_scan: " + "; ".join(report["errors"]), **result)
    left = report["totals"]["cards"] + report["totals"]["ssns"]
    if params["fail_on_findings"] and left and not (params["mask"] and not module.check_mode):
        module.fail_json(msg=f"card_scan: {report['totals']['cards']} card number(s) and {report['totals']['ssns']} "
                             f"SSN(s) found in {len(report['files_with_findings'])} file(s)", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
