#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Roll a switch / WLC back to the configuration from before the toolkit's last change (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: config_rollback
short_description: Restore a Cisco IOS-XE switch or C9800 WLC configuration backup with configure replace
description:
  - Restores O(backup_file), by default the newest C(aiphone-backup-<timestamp>.cfg) that the toolkit wrote to the
    device's flash before its last change, with C(configure replace <file> force), and saves it (C(write memory)).
  - C(changed) tells whether the running configuration differs afterwards; a second rollback to the same file
    changes nothing. Check mode names the backup that would be restored and changes nothing.
  - An incident action - it is not held back by maintenance windows; the playbook records it in the audit trail.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.device_connection
options:
  device: {description: Inventory / policy name of the device., type: str, required: true}
  platform: {description: Policy platform., type: str, choices: [cisco_ios, cisco_wlc9800], required: true}
  backup_file: {description: "Flash file to restore (e.g. flash:aiphone-backup-20261127T020000.cfg).", type: str}
"""

EXAMPLES = r"""
- name: Undo the last change of the switch
  aiphone.hardening.config_rollback:
    device: "{{ inventory_hostname }}"
    platform: "{{ platform }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
"""

RETURN = r"""
backup_file:
  description: The flash file restored (or that would be restored in check mode).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import CONNECTION_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    require_ssh_libs,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.config_rollback import BACKUP_NAME, roll_back


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **CONNECTION_ARGS,
            device=dict(type="str", required=True),
            platform=dict(type="str", choices=["cisco_ios", "cisco_wlc9800"], required=True),
            backup_file=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    backup = module.params["backup_file"]
    if backup and not BACKUP_NAME.fullmatch(backup.split(":", 1)[-1]):
        module.fail_json(msg="backup_file must name a toolkit backup like flash:aiphone-backup-20261127T020000.cfg")
    with device_session(module, module.params["platform"], needs=("device_backup",)) as driver:
        result = roll_back(driver, backup, module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
