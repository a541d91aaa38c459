#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Check that a switch's ACLs and VLAN assignments, read back from the device, enforce the site policy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: network_policy_verify
short_description: Verify a switch's read-back ACLs and VLANs against the site policy's zone x service matrix
description:
  - Reads the running configuration and evaluates every zone SVI's inbound ACL with first-match semantics
    against the policy's flows, reporting every flow allowed but not in the policy and every policy flow
    blocked; also checks the mode and VLANs of every port the policy names on the switch.
  - Read-only; never changes the device (changed is always false). Check mode runs the same checks.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.site_policy_device
  - aiphone.hardening.device_connection
options:
  fail_on_violation: {description: Fail the task when a violation is found., type: bool, default: false}
"""

EXAMPLES = r"""
- name: Verify the switch enforces the policy
  aiphone.hardening.network_policy_verify:
    policy_file: "{{ aiphone_policy_file }}"
    device: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    fail_on_violation: true
"""

RETURN = r"""
violations:
  description: >-
    Each violation - kind (allowed_not_in_policy, blocked_in_policy, no_acl, acl_unreadable, vlan_mismatch),
    switch, src, dst, protocol, ports, detail.
  returned: always
  type: list
  elements: dict
violation_count: {description: Number of violations., returned: always, type: int}
incident_deviations:
  description: >-
    Open incident blocks on the switch's zone ACLs (C(deny ip <source> any log) at a reserved sequence 1-9, put there by
    playbooks/incident_block_source.yml) - kind C(incident_block), switch, acl, sequence, entry, source. They are
    expected while the incident is open, so they are reported here and never as violations.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import CONNECTION_ARGS, POLICY_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import deviations
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    load_policy,
    policy_device,
    require_ssh_libs,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import verify_switch


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(**POLICY_ARGS, **CONNECTION_ARGS, fail_on_violation=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    policy = load_policy(module)
    entry = policy_device(module, policy)
    with device_session(module, entry.platform) as driver:
        running = parse_running_config(driver.get_config())
    violations = [v.as_dict() for v in verify_switch(policy, module.params["device"], running)]
    result = dict(changed=False, violations=violations, violation_count=len(violations),
                  incident_deviations=deviations(policy, module.params["device"], running))
    if violations and module.params["fail_on_violation"]:
        module.fail_json(msg=f"{len(violations)} policy violation(s) on {module.params['device']}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
