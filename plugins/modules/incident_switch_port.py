#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Isolate a device at its switch port (shut it or move it to a quarantine VLAN), and undo it (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_switch_port
short_description: Isolate a device at its Cisco IOS-XE switch port, or undo the isolation
description:
  - Finds the port from the site policy (O(target)'s C(switch_port)) or takes O(interface); a switch that does not
    hold the port reports C(applies=false) and changes nothing, so the task can run on every switch of a site.
  - O(method=shutdown) shuts the port (O(state=absent) - C(no shutdown)). O(method=quarantine) makes it an access
    port of O(quarantine_vlan) (default the policy's C(network.blackhole_vlan)) without voice VLAN; undo restores the
    policy's lines for that port.
  - Uses the driver's change life cycle - flash backup, push, read-back verification, restore on failure, save.
  - Refuses an uplink (it would cut off everything behind it, maybe this controller) unless O(allow_uplink=true).
  - Incidents do not wait for maintenance windows; the playbooks record every use in the audit trail.
  - Idempotent; check mode returns the exact lines that would be sent.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.site_policy_device
  - aiphone.hardening.device_connection
options:
  device:
    description: Name of the switch this task connects to (its inventory / policy name).
    type: str
    required: true
  target: {description: Policy device to isolate (its C(switch_port) is used)., type: str}
  interface: {description: Port to isolate when the device is not in the policy (a rogue device)., type: str}
  method: {description: How to isolate., type: str, choices: [shutdown, quarantine], default: shutdown}
  state: {description: C(present) isolates, C(absent) undoes., type: str, choices: [present, absent], default: present}
  quarantine_vlan: {description: VLAN of O(method=quarantine) (default the policy's blackhole VLAN)., type: int}
  allow_uplink: {description: Allow isolating a port the policy names as an uplink., type: bool, default: false}
"""

EXAMPLES = r"""
- name: Shut the port of a compromised phone
  aiphone.hardening.incident_switch_port:
    policy_file: "{{ aiphone_site_policy_file }}"
    device: "{{ inventory_hostname }}"
    target: phone-101
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
"""

RETURN = r"""
applies:
  description: False when the port is not on this switch (nothing was done).
  returned: always
  type: bool
interface:
  description: The port acted on.
  returned: when applies
  type: str
commands:
  description: Lines sent (check mode - the lines that would be sent).
  returned: always
  type: list
  elements: str
device_backup:
  description: Flash backup taken before the change.
  returned: when changed and not in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import CONNECTION_ARGS, POLICY_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    load_policy,
    policy_device,
    require_ssh_libs,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.incident_port import (
    PortIsolationError,
    locate,
    missing,
    port_role,
    wanted_lines,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy


def resolve_port(module, policy: SitePolicy) -> tuple[str, str]:
    p = module.params
    if p["target"]:
        return locate(policy, p["target"])
    return p["device"], check_value(p["interface"], "interface", "interface")


def run(module: AnsibleModule) -> dict:
    p = module.params
    policy = load_policy(module)
    try:
        switch, interface = resolve_port(module, policy)
        if switch != p["device"]:
            return {"changed": False, "applies": False, "commands": []}
        role = port_role(policy, switch, interface)
        if role and role[0].startswith("uplink to") and not p["allow_uplink"]:
            raise PortIsolationError(f"{switch} {interface} is the uplink ({role[0]}): isolating it cuts off "
                                     "everything behind it; set allow_uplink=true if that is the intent")
        quarantine_vlan = p["quarantine_vlan"] or policy.network.blackhole_vlan
        wanted = wanted_lines(policy, switch, interface, p["method"], p["state"] == "present", quarantine_vlan)
    except (PortIsolationError, InvalidValue) as exc:
        module.fail_json(msg=f"refused before connecting: {exc}")
    result: dict = {"changed": False, "applies": True, "interface": interface, "commands": []}
    with device_session(module, policy_device(module, policy).platform, result) as driver:
        running = parse_running_config(driver.get_config())
        if f"interface {interface}" not in running.sections:
            module.fail_json(msg=f"{switch} has no interface {interface}", **result)
        commands = missing(wanted, running, interface)
        result.update(changed=bool(commands), commands=commands)
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
            target=dict(type="str"),
            interface=dict(type="str"),
            method=dict(type="str", choices=["shutdown", "quarantine"], default="shutdown"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            quarantine_vlan=dict(type="int"),
            allow_uplink=dict(type="bool", default=False),
        ),
        required_one_of=[("target", "interface")],
        mutually_exclusive=[("target", "interface")],
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
