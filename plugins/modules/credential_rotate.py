#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Rotate a switch / WLC local admin secret or a phone admin password; verify, write the vault, audit (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_rotate
short_description: Rotate the local admin secret of a switch or WLC, or the admin password of a VoIP phone
description:
  - Generates a strong secret (Python C(secrets); letters and digits, O(length) characters) unless O(new_password)
    is given, and changes C(username <user> … secret) on the device over the session opened with the CURRENT secret.
  - The new secret is proved by a second, new SSH login before anything is saved. If that login fails the
    pre-change configuration is restored with C(configure replace) from the flash backup; the device keeps its
    old secret, the vault is not touched, and the task fails naming the device.
  - On success the running configuration is saved, the old secret is checked to be refused, and the new value
    is written into O(vault_file) (ansible-vault encrypted, variable O(vault_variable)). The encrypted file is
    prepared before the device is touched and renamed into place after, so device and vault never disagree
    silently (see docs/credentials.md).
  - A C(<vault_file>.pending) left by an interrupted rotation is settled first - the device takes its value ->
    saved and written into the vault (C(completed_after_interruption), recorded; nothing else changes this run);
    the device takes the current value -> the pending file is removed (C(interrupted_kept_old), recorded) and the
    rotation runs; neither -> the task fails and the pending file is kept.
  - Phones (O(platform) C(poly), C(yealink), C(cisco_mpp)) have one admin password and no configuration replace.
    The change is asked for the vendor's way over a session opened with the CURRENT password - Poly REST
    C(config/set) of C(device.auth.localAdminPassword) (with C(device.set) and its C(.set) flag); Yealink
    C(static.security.user_password = <login>:<password>) in the phone's C(<MAC>.cfg) plus a SIP NOTIFY
    check-sync; Cisco MPP C(Admin_Passwd) in a one-shot profile plus C(/admin/resync) - and proved by a NEW
    authenticated API call (polled for up to O(settle_timeout) seconds - Yealink and MPP apply it after a
    provisioning fetch). Then the old password must be refused. The value is taken off the provisioning server
    again as soon as the phone answered. A phone that does not take it keeps its old password and vault entry.
  - The rotation (device, user, outcome; never the value) is appended to the site's audit trail.
  - Check mode logs in with the current secret, checks the user exists and the vault file can be decrypted,
    and changes nothing. A rotation is never a no-op, so a real run always reports C(changed).
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.credential_vault
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.device_connection
options:
  device:
    description: Inventory / site-policy name of the device (for messages and the audit trail).
    type: str
    required: true
  platform:
    description: Site-policy platform of the device.
    type: str
    choices: [cisco_ios, cisco_wlc9800, poly, yealink, cisco_mpp]
    required: true
  username:
    description: SSH user whose secret is rotated; for a phone its admin login (Poly's REST user is always C(Polycom)).
    type: str
    required: true
  password: {description: The CURRENT secret of O(username)., type: str, required: true}
  new_password:
    description: Use this value instead of a generated one (8-63 printable characters, no injection characters).
    type: str
  length: {description: Length of a generated secret (at least 16)., type: int, default: 24}
  vault_variable: {description: Variable of O(vault_file) set to the new secret., type: str, default: ansible_password}
  settle_timeout:
    description: Phones only - seconds to wait for the new password to log in (provisioning fetch included).
    type: int
    default: 120
  provisioning:
    description:
      - Phones only (Yealink, Cisco MPP) - the site's provisioning server, as for M(aiphone.hardening.firmware_rollout).
    type: dict
    suboptions:
      url: {description: Provisioning server URL as the phones see it., type: str}
      dir: {description: Directory of that server writable from the controller., type: path}
      upload_url: {description: Alternative to O(provisioning.dir) - HTTP PUT upload URL., type: str}
      token: {description: Bearer token of O(provisioning.upload_url)., type: str}
  sip_port: {description: Yealink only - the phone's SIP port for the check-sync NOTIFY (default 5060)., type: int}
  sip_user: {description: Yealink only - SIP user of the NOTIFY request URI (default the device name)., type: str}
"""

EXAMPLES = r"""
- name: Rotate a phone's admin password (Yealink, Cisco MPP need the provisioning server)
  aiphone.hardening.credential_rotate:
    device: "{{ inventory_hostname }}"
    platform: "{{ platform }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    provisioning: {url: "{{ aiphone_provisioning_url }}", dir: "{{ aiphone_provisioning_dir }}"}
    vault_file: "{{ inventory_dir }}/host_vars/{{ inventory_hostname }}/vault.yml"
    vault_password_file: "{{ aiphone_vault_password_file }}"
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site_name }}"

- name: Rotate the switch's local admin secret
  aiphone.hardening.credential_rotate:
    device: "{{ inventory_hostname }}"
    platform: "{{ platform }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    vault_file: "{{ inventory_dir }}/host_vars/{{ inventory_hostname }}/vault.yml"
    vault_password_file: "{{ aiphone_vault_password_file }}"
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site_name }}"
"""

RETURN = r"""
device_backup:
  description: Flash file holding the configuration from before the change (used to undo a failed rotation).
  returned: when the device was touched
  type: str
old_credential_refused:
  description: True when a login with the old secret was refused after the rotation.
  returned: success, not in check mode
  type: bool
vault_file:
  description: The vault file that now holds the new value.
  returned: success
  type: str
reconciled:
  description: C(completed_after_interruption) when this run finished a rotation an interrupted run had left.
  returned: when an interrupted rotation was completed
  type: str
notes:
  description: Things a human should look at.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    CONNECTION_ARGS,
    PHONE_PROVISIONING_ARGS,
    ROTATION_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import require_ssh_libs
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.credential_rotation import rotate_credential


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **ROTATION_ARGS,
            **CONNECTION_ARGS,
            device=dict(type="str", required=True),
            platform=dict(type="str", required=True,
                          choices=["cisco_ios", "cisco_wlc9800", "poly", "yealink", "cisco_mpp"]),
            new_password=dict(type="str", no_log=True),
            length=dict(type="int", default=24, no_log=False),
            vault_variable=dict(type="str", default="ansible_password", no_log=False),
            settle_timeout=dict(type="int", default=120),
            **PHONE_PROVISIONING_ARGS,
        ),
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**rotate_credential(module))


if __name__ == "__main__":
    main()
