#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Rotate the SNMPv3 keys of a switch's policy users; verify, save, write the vault, audit (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: snmp_key_rotate
short_description: Rotate the SNMPv3 auth/priv keys of the site policy's users on a Cisco IOS-XE switch
description:
  - Generates new keys (Python C(secrets); letters and digits, O(length) characters) for every user of the policy's
    C(network.snmp), and re-creates each user (C(snmp-server user <name> <group> v3 auth sha <key> priv aes ...))
    over a session opened with the device's current login.
  - The users must already be on the switch with the policy's group and protocols (converge with
    C(playbooks/network.yml) first); otherwise nothing is changed and the task fails.
  - IOS cannot show SNMPv3 keys back, so the new keys are proved by C(show snmp user) showing every user with its
    group and protocols again; an NMS poll with the new keys is the final proof (returned in RV(notes)). When the
    read-back or the save fails, the old keys (from O(current_keys)) are sent again; the switch keeps them, the vault
    is not touched, and the task fails naming the device.
  - On success the running configuration is saved and the new values are written into O(vault_file)
    (ansible-vault encrypted; the variables the policy names), prepared before the device is touched and renamed
    into place after.
  - The rotation (device, users, outcome; never a value) is appended to the site's audit trail.
  - Check mode logs in, checks the users and that the vault file decrypts, and changes nothing. A real run always
    reports C(changed).
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.credential_vault
  - aiphone.hardening.check_mode_no_diff
  - aiphone.hardening.device_connection
  - aiphone.hardening.site_policy_device
options:
  current_keys:
    description: Vault variable name -> CURRENT value for every C(auth_key_var) / C(priv_key_var) of the policy.
    type: dict
    required: true
  length: {description: Length of a generated key (at least 16)., type: int, default: 24}
"""

EXAMPLES = r"""
- name: Rotate the SNMPv3 keys of the switch
  aiphone.hardening.snmp_key_rotate:
    policy_file: "{{ aiphone_site_policy_file }}"
    device: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    current_keys:
      vault_snmp_nms_auth_key: "{{ vault_snmp_nms_auth_key }}"
      vault_snmp_nms_priv_key: "{{ vault_snmp_nms_priv_key }}"
    vault_file: "{{ inventory_dir }}/host_vars/{{ inventory_hostname }}/vault.yml"
    vault_password_file: "{{ aiphone_vault_password_file }}"
    audit_dir: "{{ aiphone_audit_dir }}"
    site: "{{ aiphone_site_name }}"
"""

RETURN = r"""
users:
  description: Names of the SNMPv3 users re-keyed.
  returned: success
  type: list
  elements: str
vault_file:
  description: The vault file that now holds the new keys.
  returned: success
  type: str
notes:
  description: Things a human should look at.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError, InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    CONNECTION_ARGS,
    POLICY_ARGS,
    ROTATION_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    load_policy,
    make_driver,
    policy_device,
    require_ssh_libs,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import key_vars, snmp_users
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import plan_snmp_keys, rotate_snmp_keys
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.secrets_gen import generate_password
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PendingVaultUpdate,
    VaultFileError,
    read_vault_vars,
)

CREDENTIAL = "snmpv3 user keys"


def audit(params: dict, users: list[str], outcome: str, secrets: list[str], **fields) -> None:
    record = {"kind": "credential_rotation", "device": params["device"], "credential_type": CREDENTIAL,
              "snmp_users": users, "outcome": outcome, "vault_file": params["vault_file"],
              "vault_variables": sorted(params["current_keys"]), **fields}
    audit_trail.append(audit_trail.site_dir(params["audit_dir"], params["site"]), record, secret_values=secrets)


def run(module: AnsibleModule) -> dict:
    p = module.params
    policy = load_policy(module)
    entry = policy_device(module, policy)
    result: dict = {"changed": False, "notes": []}
    def make(password):      # always the current login
        return make_driver(module, entry.platform, ("snmp", "login_secret"))
    try:
        if not key_vars(policy):
            raise ValueError("the site policy has no network.snmp users to rotate")
        new_keys = {var: generate_password(p["length"]) for var in key_vars(policy)}
        current, new = snmp_users(policy, p["current_keys"]), snmp_users(policy, new_keys)
        if module.check_mode:
            read_vault_vars(p["vault_file"], p["vault_password_file"])
            plan_snmp_keys(make, current)
            result.update(changed=True, users=[user.name for user in new], vault_file=p["vault_file"])
            return result
        update = PendingVaultUpdate(p["vault_file"], p["vault_password_file"], new_keys)
        update.prepare()
    except (InvalidValue, ValueError, VaultFileError) as exc:
        module.fail_json(msg=f"refused before changing {p['device']}: {exc}", **result)
    except DriverError as exc:
        module.fail_json(msg=f"not rotated, {p['device']} keeps its old SNMPv3 keys: {exc}",
                         error=type(exc).__name__, **result)
    names = [user.name for user in new]
    secrets = list(new_keys.values()) + list(p["current_keys"].values())
    try:
        rotated = rotate_snmp_keys(make, current, new)
    except DriverError as exc:
        update.abort()
        audit(p, names, "failed_kept_old", secrets, error=type(exc).__name__, message=str(exc))
        module.fail_json(msg=f"not rotated, {p['device']} keeps its old SNMPv3 keys: {exc}",
                         error=type(exc).__name__, **result)
    try:
        update.commit()
    except VaultFileError as exc:
        audit(p, names, "rotated_vault_not_written", secrets)
        module.fail_json(msg=str(exc), changed=True)
    try:
        audit(p, names, "rotated", secrets)
    except audit_trail.AuditTrailError as exc:
        rotated.notes.append(f"the rotation could not be recorded in the audit trail: {exc}")
    result.update(changed=True, users=names, vault_file=p["vault_file"], notes=rotated.notes)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **ROTATION_ARGS,
            **POLICY_ARGS, **CONNECTION_ARGS,
            current_keys=dict(type="dict", required=True, no_log=True),
            length=dict(type="int", default=24, no_log=False),
        ),
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
