#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Converge a switch to the site policy: VLANs, ports, zone ACLs, management plane (issue 5)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: switch_config
short_description: Converge a Cisco IOS / IOS-XE switch to the site policy (VLANs, ports, ACLs, management plane)
description:
  - Reads the running configuration, renders the intended state from the site policy, and sends only the
    difference. Check mode sends nothing and returns the exact lines that would be sent; C(--diff) shows the
    affected sections before and after.
  - Before a change, the running configuration is saved to a timestamped file under O(backup_dir) and to the
    device's flash. After the push the configuration is read back and every intended line verified; on any
    failure the flash backup is restored with C(configure replace) and the task fails with a report.
  - The running configuration is saved to startup only when something changed.
  - Every user value that ends up in a CLI line (names, descriptions, banner) is validated against injection
    before any connection is made.
  - Changes are refused outside the site's maintenance windows unless O(force=true) with a O(force_reason).
  - Runs on the controller (a local connection); the device connection comes from the options below.
  - O(state=rendered) and O(state=parsed) connect to nothing, as the cisco.ios resource modules - the policy's
    lines for the switch (from a factory-empty switch, or the lines a given O(running_config) still needs), or a
    running configuration as structured facts. SNMPv3 users are not rendered (IOS keeps them out of the
    running configuration).
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.site_policy_device
  - aiphone.hardening.offline_states
  - aiphone.hardening.device_connection
  - aiphone.hardening.maintenance_force
  - aiphone.hardening.config_change_records
options:
  backup_dir:
    description: Directory for the timestamped pre-change backups (required with O(state=merged)).
    type: path
  management_sources:
    description:
      - Networks allowed to SSH to the switch besides the policy's mgmt zone (e.g. the MSP's jump host).
      - The task fails rather than apply a VTY ACL that would lock out the controller running it.
    type: list
    elements: str
    default: []
  controller_address:
    description:
      - The address the switch sees this controller as (behind NAT or a jump host); default is the local address
        of the SSH session. The VTY ACL must permit it, or the task fails before changing anything.
    type: str
  protected_interfaces:
    description: Ports never touched (an uplink not declared in the policy, a port under someone else's care).
    type: list
    elements: str
    default: []
  prune_vlans:
    description: Remove VLANs not in the policy; default is the policy's C(network.prune_vlans).
    type: bool
  layer3:
    description: Render zone SVIs with their inbound ACLs; default is true for switches without an C(uplink).
    type: bool
  areas:
    description: Parts of the configuration to manage (one task per area gives one tag per area).
    type: list
    elements: str
    choices: [management, vlans, ports, acls]
    default: [management, vlans, ports, acls]
  exec_timeout: {description: VTY/console idle timeout as C(<minutes> <seconds>)., type: str, default: "10 0"}
  snmp_keys:
    description:
      - Vault variable name -> value for every C(auth_key_var) / C(priv_key_var) of the policy's C(network.snmp)
        users (management area). Values are never returned; commands and diffs show them masked.
      - IOS cannot show an SNMPv3 key back, so an existing user with the right group and protocols (read with
        C(show snmp user)) keeps its keys unless O(rotate_snmp_keys=true).
    type: dict
    default: {}
  rotate_snmp_keys:
    description: Re-send every SNMPv3 user with the keys of O(snmp_keys) (credential rotation).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Converge the switch to the site policy
  aiphone.hardening.switch_config:
    policy_file: "{{ aiphone_policy_file }}"
    device: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    backup_dir: "{{ aiphone_backup_dir }}"
    management_sources: [192.0.2.0/28]

- name: The lines the policy gives the core switch, for review in a pull request (no device contacted)
  aiphone.hardening.switch_config:
    policy_file: inventories/lab/site_policy.yml
    device: sw-core-01
    state: rendered
  register: core_lines          # core_lines.rendered

- name: A saved running configuration as structured facts (no device contacted)
  aiphone.hardening.switch_config:
    policy_file: inventories/lab/site_policy.yml
    device: sw-core-01
    state: parsed
    running_config: "{{ lookup('ansible.builtin.file', 'backups/sw-core-01.cfg') }}"
  register: core_facts          # core_facts.parsed.vlans, .interfaces, .svis, .acls
"""

RETURN = r"""
rendered:
  description: The configuration lines of the switch from the policy (secrets masked).
  returned: when state is rendered
  type: list
  elements: str
  sample: ["vlan 10", " name mgmt", "interface Vlan10", " description zone mgmt", " ip access-group ACL-MGMT-IN in"]
parsed:
  description:
    - The running configuration as facts - C(vlans) (vlan_id, name), C(interfaces) (name, description, mode,
      access_vlan, voice_vlan, native_vlan, allowed_vlans, shutdown, management), C(svis) (vlan, address,
      acl_in), C(acls) (name -> type, entries), C(vty_lines), C(trunk_ports), C(ip_routing),
      C(snmp_communities) (a count), C(acl_references).
  returned: when state is parsed
  type: dict
commands:
  description: The configuration lines sent (check mode - the lines that would be sent).
  returned: when state is merged
  type: list
  elements: str
sections:
  description: Parents of the sections that differ from the policy.
  returned: when state is merged
  type: list
  elements: str
backup_file:
  description: Local path of the pre-change backup.
  returned: when changed and not in check mode
  type: str
device_backup:
  description: Backup on the device's flash used by configure replace.
  returned: when changed and not in check mode
  type: str
findings:
  description: Things left alone on purpose that a human should look at (e.g. undeclared trunk ports).
  returned: when state is merged or rendered
  type: list
  elements: str
snmp_users:
  description: SNMPv3 users as C(show snmp user) reports them after the task (no keys).
  returned: when the policy has network.snmp and the management area is managed
  type: list
  elements: dict
device_backup_problem:
  description: Why no backup could be written to (and proved on) the device's flash; the change then went on with
    the controller-side backup only, and a failure names that file as the one to restore.
  returned: when the flash backup failed
  type: str
rolled_back:
  description: True when a failed push was undone with configure replace.
  returned: on failure after a push started
  type: bool
problems:
  description: Every line the device refused or the read-back did not show (the message lists the first ten).
  returned: on failure of a change
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    CHANGE_RECORD_ARGS,
    FORCE_ARGS,
    FORCE_REQUIRED_IF,
    OFFLINE_CONNECTION_ARGS,
    OFFLINE_REQUIRED_IF,
    POLICY_ARGS,
    STATE_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import AREAS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import require_ssh_libs
from ansible_collections.aiphone.hardening.plugins.module_utils.network.switch_task import run, run_offline


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **POLICY_ARGS, **OFFLINE_CONNECTION_ARGS, **STATE_ARGS,
            backup_dir=dict(type="path"),
            management_sources=dict(type="list", elements="str", default=[]),
            controller_address=dict(type="str"),
            protected_interfaces=dict(type="list", elements="str", default=[]),
            prune_vlans=dict(type="bool"),
            layer3=dict(type="bool"),
            exec_timeout=dict(type="str", default="10 0"),
            areas=dict(type="list", elements="str", choices=list(AREAS), default=list(AREAS)),
            snmp_keys=dict(type="dict", default={}, no_log=True),
            rotate_snmp_keys=dict(type="bool", default=False),
            **FORCE_ARGS, **CHANGE_RECORD_ARGS,
        ),
        required_if=FORCE_REQUIRED_IF + OFFLINE_REQUIRED_IF,
        supports_check_mode=True,
    )
    if module.params["state"] != "merged":
        module.exit_json(**run_offline(module))
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
