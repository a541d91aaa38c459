#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Incident response: block source addresses on a switch's zone ACLs, or release them (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_switch_acl
short_description: Block (or release) source addresses at the top of a switch's zone ACLs
description:
  - Puts C(<seq> deny ip <source> any log) into every zone ACL of the site policy (C(ACL-<ZONE>-IN)) the switch
    holds, at a sequence number of the range 1-9 reserved for incidents, i.e. before every policy entry (the
    toolkit numbers those from 10). O(state=absent) removes exactly those entries (C(no <seq>)) and nothing else.
  - The change goes through the switch driver's life cycle - flash backup, push, read-back of every numbered
    entry, C(configure replace) on failure, C(write memory).
  - C(network.yml) keeps these entries when it converges the ACLs, and the policy verifier reports them as
    C(incident_deviations), not violations, so a block stays until it is released here (see
    docs/incident_response.md).
  - Refused before connecting - a source that is not an IP address/network, one containing the controller
    (O(controller_address)) or overlapping a management zone of the policy (no lock-out), more than 9 blocks
    in one ACL. IPv6 sources are skipped (IPv4 ACLs) and listed in RV(skipped_ipv6).
  - Idempotent - a source already blocked is not added twice; check mode returns the commands it would send.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.device_connection
  - aiphone.hardening.site_policy_device
options:
  sources:
    description: IPv4/IPv6 addresses or networks to block or release.
    type: list
    elements: str
    required: true
  state:
    description: C(present) blocks, C(absent) releases.
    type: str
    choices: [present, absent]
    default: present
  controller_address:
    description: This controller's address as the switches see it; a source containing it is refused.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Block a scanner at every zone ACL of the switch
  aiphone.hardening.incident_switch_acl:
    policy_file: "{{ aiphone_site_policy_file }}"
    device: "{{ inventory_hostname }}"
    sources: [203.0.113.7, 198.51.100.0/24]
    controller_address: "{{ aiphone_controller_address }}"
    host: "{{ ansible_host }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
"""

RETURN = r"""
applies:
  description: False when the switch holds none of the policy's zone ACLs (nothing to do there).
  returned: always
  type: bool
acls:
  description: The zone ACLs of this switch that were checked.
  returned: always
  type: list
  elements: str
commands:
  description: Lines sent (check mode - the lines that would be sent).
  returned: always
  type: list
  elements: str
skipped_ipv6:
  description: IPv6 sources, not applicable to IPv4 ACLs.
  returned: always
  type: list
  elements: str
device_backup:
  description: Flash backup taken before the change.
  returned: when changed and not in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import CONNECTION_ARGS, POLICY_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
    BlockError,
    block_commands,
    parse_sources,
    switch_zone_acls,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    load_policy,
    policy_device,
    require_ssh_libs,
)


def run(module: AnsibleModule) -> dict:
    p = module.params
    policy = load_policy(module)
    try:
        sources, skipped = parse_sources(p["sources"], policy, p["controller_address"])
    except BlockError as exc:
        module.fail_json(msg=f"refused before connecting: {exc}")
    result: dict = {"changed": False, "applies": False, "acls": [], "commands": [], "skipped_ipv6": skipped}
    with device_session(module, policy_device(module, policy).platform, result) as driver:
        running = parse_running_config(driver.get_config())
        acls = switch_zone_acls(policy, running)
        try:
            commands = [line for acl in acls for line in block_commands(
                acl, running.sections[f"ip access-list extended {acl}"], sources, p["state"] == "present")]
        except BlockError as exc:
            module.fail_json(msg=f"refused, nothing changed: {exc}", **result)
        result.update(applies=bool(acls), acls=acls, changed=bool(commands), commands=commands)
        if commands and not module.check_mode:
            driver.load_candidate(commands)
            try:
                driver.commit()
            finally:
                result["device_backup"] = driver.backup_file
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **POLICY_ARGS, **CONNECTION_ARGS,
            sources=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            controller_address=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
