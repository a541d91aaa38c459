#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_policy
short_description: Validate a site policy and return it
description:
  - Reads the site policy file of a site (zones, services, flows, devices, firmware baselines, maintenance windows,
    retention, people), checks it against the versioned JSON Schema and the semantic rules, and returns it.
  - Every problem is reported in one run, each naming the file, the key path and the offending value.
  - Read-only; run it on the controller before any play touches a device.
version_added: 0.1.0
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
options:
  path:
    description: Path of the site policy file, usually C({{ inventory_dir }}/site_policy.yml).
    type: path
    required: true
requirements: [jsonschema, PyYAML]
"""

EXAMPLES = r"""
- name: Validate the site policy before anything is touched
  aiphone.hardening.site_policy:
    path: "{{ aiphone_site_policy_file }}"
  register: aiphone_policy
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
policy:
  description: The validated policy, as written in the file.
  returned: success
  type: dict
sha256:
  description:
    - SHA-256 of the file's bytes as validated. Modules of the same run that read the policy again take it
      (C(policy_sha256) of M(aiphone.hardening.version_inventory)) and skip a second validation when the file
      still hashes to it.
  returned: success
  type: str
summary:
  description: One line describing what the policy covers.
  returned: success
  type: str
  sample: "site lab: 5 zones, 12 flows, 9 devices, 5 firmware baselines, 2 maintenance windows, 5 people"
errors:
  description: "Every problem found, as C(file:line: key.path = value: message) strings."
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import read_policy
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, summarize
except ImportError as exc:  # jsonschema / PyYAML missing on the controller
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None


def main():
    module = AnsibleModule(argument_spec={"path": {"type": "path", "required": True}}, supports_check_mode=True)
    if IMPORT_ERROR:
        module.fail_json(msg=f"the site policy module needs jsonschema and PyYAML on the controller: {IMPORT_ERROR}")
    try:
        # libyaml + validation; a refused policy is read again with the line index, so every error names its line
        policy, digest = read_policy(module.params["path"])
    except PolicyError as error:
        module.fail_json(msg=str(error), errors=[str(issue) for issue in error.errors])
    module.exit_json(changed=False, policy=policy.raw, sha256=digest, summary=summarize(policy))   # JSON


if __name__ == "__main__":
    main()
