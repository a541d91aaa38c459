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
  controller_backup:
    description:
      - Instead of a flash file, a backup the toolkit wrote on the controller encrypted with the site's vault
        identity (C(backups/<site>/<device>-<time>.cfg.vault)); decrypted in memory only, the difference is pushed
        back in the driver's safe phases, read back and saved. A masked backup (C(.cfg)) is refused.
    type: path
  vault_password_file:
    description: Password file (or script) of the site's vault identity; default the controller's
      C(ANSIBLE_VAULT_IDENTITY_LIST) / C(ANSIBLE_VAULT_PASSWORD_FILE).
    type: path
  site: {description: Site name (picks the vault identity labelled so)., type: str, default: site}
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
  description: The flash file (or controller backup) restored, or that would be restored in check mode.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import backup_vault
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import CONNECTION_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    require_ssh_libs,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.config_rollback import (
    BACKUP_NAME,
    restore_controller_backup,
    roll_back,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **CONNECTION_ARGS,
            device=dict(type="str", required=True),
            platform=dict(type="str", choices=["cisco_ios", "cisco_wlc9800"], required=True),
            backup_file=dict(type="str"),
            controller_backup=dict(type="path"),
            vault_password_file=dict(type="path", no_log=False),
            site=dict(type="str", default="site"),
        ),
        mutually_exclusive=[("backup_file", "controller_backup")],
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    backup = module.params["backup_file"]
    if backup and not BACKUP_NAME.fullmatch(backup.split(":", 1)[-1]):
        module.fail_json(msg="backup_file must name a toolkit backup like flash:aiphone-backup-20261127T020000.cfg")
    controller_backup = module.params["controller_backup"]
    if controller_backup:
        if not controller_backup.endswith(backup_vault.VAULT_SUFFIX):
            module.fail_json(msg=f"{controller_backup}: not an encrypted backup (*.cfg.vault); a masked backup is "
                                 "not a complete restore source - restore a flash backup (backup_file) instead")
        try:
            vault = backup_vault.site_vault(module.params["site"], module.params["vault_password_file"])
        except Exception as exc:    # AnsibleError / OSError from the password file
            module.fail_json(msg=f"cannot load the site's vault identity: {exc}")
        if vault is None:
            module.fail_json(msg="no vault identity available to decrypt the backup (vault_password_file, "
                                 "ANSIBLE_VAULT_IDENTITY_LIST)")
    with device_session(module, module.params["platform"], needs=("device_backup",)) as driver:
        if controller_backup:
            try:
                result = restore_controller_backup(driver, controller_backup, vault, module.check_mode)
            except (OSError, ValueError) as exc:
                module.fail_json(msg=f"cannot read {controller_backup}: {exc}")
            except Exception as exc:    # ansible's AnsibleVaultError: wrong identity, damaged file
                module.fail_json(msg=f"cannot decrypt {controller_backup} with vault identity {vault.label}: "
                                     f"{type(exc).__name__}")
        else:
            result = roll_back(driver, backup, module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
