#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Rotate the site's Wi-Fi passphrases on every AP / WLC, then write them into the vault (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: wifi_psk_rotate
short_description: Rotate the WPA3 passphrases of a site's SSIDs on every access point and controller
description:
  - Generates a new passphrase (Python C(secrets); letters and digits, O(length) characters, valid for WPA3-SAE and
    the WPA2 side of a transition SSID, safe in every CLI) for each personal SSID of the site policy
    (C(psk_var)), or for the SSIDs named in O(ssids).
  - First opens a session to EVERY device and plans the change (a device that cannot be reached or planned stops
    the run before anything is changed). Then pushes the new passphrases device after device, each with the
    usual backup, push, read-back and restore-on-failure of M(aiphone.hardening.wireless_config); the C9800 read
    back must show a different stored (encrypted) key for every rotated WLAN, the OpenWrt read back must show the
    new C(key), and C(wifi reload) must pass (hostapd checks the configuration).
  - The first device that fails stops the run; the devices already changed are put back on the OLD passphrases,
    the vault keeps the old values, and the task fails (C(failed_kept_old)). If a device cannot be put back, the
    SSIDs are split (C(failed_split), a finding); the vault keeps the old values in C(psk_var), the new ones go
    to C(<psk_var>_split_new) so that they are not lost, and the task fails naming the devices.
  - When every device took them, the new values are written into O(vault_file) (prepared encrypted before any
    device is touched, renamed into place after) and one C(credential_rotation) record per SSID goes to the
    site's audit trail (never a value).
  - Outside the maintenance windows the run is refused unless O(force=true) with O(force_reason); every Wi-Fi
    client has to re-join with the new passphrase.
  - Check mode connects to every device, plans, checks the vault decrypts, and changes nothing.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.maintenance_force
  - aiphone.hardening.audit_site
options:
  policy_file: {description: The site policy., type: path, required: true}
  devices:
    description: The APs / WLCs serving the site's SSIDs, in the order they are changed (each in the policy).
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: Name of the device in the policy's C(devices) list., type: str, required: true}
      host: {description: Address of the device., type: str, required: true}
      port: {description: SSH port., type: int}
      username: {description: SSH user., type: str, required: true}
      password: {description: SSH password., type: str, required: true}
      enable_secret: {description: Enable secret (C9800)., type: str}
  known_hosts_file:
    description: The site's known_hosts (unknown host keys are refused).
    type: path
    required: true
  timeout: {description: SSH timeout in seconds., type: int, default: 30}
  secrets:
    description: Vault variable name -> CURRENT value, for every C(psk_var) / C(secret_var) the policy names.
    type: dict
    required: true
  ssids: {description: Rotate only these SSIDs (default every personal SSID)., type: list, elements: str}
  length: {description: Length of the new passphrases (16..63)., type: int, default: 24}
  vault_file:
    description: Encrypted vars file holding the C(psk_var) variables (the site's group vault).
    type: path
    required: true
  vault_password_file: {description: Vault password file (or script) of O(vault_file)., type: path, required: true}
  backup_dir:
    description: Directory for the pre-change configuration backups (mode 0600).
    type: path
    required: true
  c9800_policy_tag: {description: See M(aiphone.hardening.wireless_config)., type: str, default: default-policy-tag}
"""

EXAMPLES = r"""
- name: Rotate the Wi-Fi passphrases
  aiphone.hardening.wifi_psk_rotate:
    policy_file: "{{ aiphone_site_policy_file }}"
    devices: "{{ rotate_wifi_devices }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    secrets: "{{ rotate_wifi_secrets }}"
    vault_file: "{{ inventory_dir }}/group_vars/all/vault.yml"
    vault_password_file: "{{ aiphone_vault_password_file }}"
    backup_dir: "{{ aiphone_backup_dir }}"
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site_name }}"
  no_log: true
"""

RETURN = r"""
outcome:
  description: C(rotated), C(failed_kept_old) (every device on the old passphrases) or C(failed_split).
  returned: when devices were changed
  type: str
ssids: {description: The SSIDs rotated (or attempted)., returned: always, type: list, elements: str}
rotated:
  description: Devices holding the new passphrases.
  returned: when devices were changed
  type: list
  elements: str
refused: {description: Device -> why it refused the new passphrases (secrets masked)., returned: on failure, type: dict}
reverted: {description: Devices put back on the old passphrases., returned: on failure, type: list, elements: str}
split: {description: Devices left on the NEW passphrases (could not be put back)., returned: on failure, type: dict}
findings:
  description: A split SSID (for the audit); in check mode, a maintenance-window refusal a real run would meet.
  returned: always
  type: list
  elements: str
forced: {description: The maintenance-window refusal overridden and the reason., returned: when forced, type: dict}
vault_file: {description: The vault file written., returned: when written, type: str}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    AUDIT_ARGS,
    DEVICE_LOGIN_ARGS,
    FORCE_ARGS,
    FORCE_REQUIRED_IF,
    POLICY_FILE_ARGS,
    SESSION_ARGS,
    VAULT_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import require_ssh_libs
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import C9800_DEFAULT_POLICY_TAG
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.wifi_psk_rotation import rotate_wifi_psks


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **POLICY_FILE_ARGS,
            devices=dict(type="list", elements="dict", required=True,
                         options=dict(name=dict(type="str", required=True), **DEVICE_LOGIN_ARGS)),
            **SESSION_ARGS,
            secrets=dict(type="dict", required=True, no_log=True),
            ssids=dict(type="list", elements="str"),
            length=dict(type="int", default=24, no_log=False),
            **VAULT_ARGS,
            backup_dir=dict(type="path", required=True),
            c9800_policy_tag=dict(type="str", default=C9800_DEFAULT_POLICY_TAG),
            **FORCE_ARGS, **AUDIT_ARGS,
        ),
        required_if=FORCE_REQUIRED_IF,
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**rotate_wifi_psks(module))


if __name__ == "__main__":
    main()
