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

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    DriverError,
    InvalidValue,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    AUDIT_ARGS,
    FORCE_ARGS,
    FORCE_REQUIRED_IF,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    enforce_window,
    load_policy,
    require_ssh_libs,
    write_backup,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    c9800_stored_keys,
    device_plan,
    ssid_intents,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PendingVaultUpdate,
    VaultFileError,
    read_vault_vars,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.wifi_rotation import (
    ROTATED,
    SPLIT,
    new_passphrases,
    rotate_site_psks,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, Ssid

SPLIT_SUFFIX = "_split_new"


class Site:
    """The policy, the devices and their drivers for one rotation run."""

    def __init__(self, module: AnsibleModule, policy: SitePolicy):
        self.module = module
        self.params = module.params
        self.policy = policy
        self.devices = {device["name"]: device for device in self.params["devices"]}
        unknown = [name for name in self.devices if not policy.has_device(name)]
        if unknown:
            module.fail_json(msg=f"not in the site policy's devices list: {', '.join(unknown)}")
        self.platforms = {name: policy.device(name).platform for name in self.devices}

    def driver(self, name: str):
        device = self.devices[name]
        return get_driver(self.platforms[name])(
            host=device["host"], port=device["port"], username=device["username"], password=device["password"],
            timeout=self.params["timeout"], known_hosts_file=self.params["known_hosts_file"], name=name,
            enable_secret=device.get("enable_secret"))

    def plan(self, name: str, intents, config_text: str) -> list[str]:
        return device_plan(self.platforms[name], intents, config_text, enable_radios=False, rotate_keys=True,
                           policy_tag=self.params["c9800_policy_tag"])[0]

    def preflight(self, intents) -> None:
        """Every device answers and can be planned, before any of them is changed."""
        for name in self.devices:
            with self.driver(name) as session:
                self.plan(name, intents, session.get_config())

    def apply(self, name: str, secrets: dict, profiles: list[str]) -> None:
        """Push `secrets` to one device; its driver restores the backup when the read-back disagrees."""
        intents = ssid_intents(self.policy, secrets)
        with self.driver(name) as session:
            before = session.get_config()
            write_backup(self.params["backup_dir"], name, before)
            session.load_candidate(self.plan(name, intents, before))
            session.commit(verify=lambda after: self.read_back_problems(name, intents, before, after, profiles))

    def read_back_problems(self, name: str, intents, before: str, after: str, profiles: list[str]) -> list[str]:
        problems = device_plan(self.platforms[name], intents, after, enable_radios=False,
                               policy_tag=self.params["c9800_policy_tag"])[0]
        if self.platforms[name] == "cisco_wlc9800":   # the key is stored encrypted: it must at least have changed
            old, new = c9800_stored_keys(before), c9800_stored_keys(after)
            problems += [f"WLAN {profile}: stored key unchanged" for profile in profiles
                         if new.get(profile) is None or new.get(profile) == old.get(profile)]
        return problems


def rotated_ssids(policy: SitePolicy, wanted: list[str] | None) -> list[Ssid]:
    personal = [s for s in policy.wireless.ssids if s.psk_var]
    if wanted is None:
        return personal
    unknown = sorted(set(wanted) - {s.name for s in personal})
    if unknown:
        raise InvalidValue(f"ssids: not personal SSIDs of the policy: {', '.join(unknown)}")
    return [s for s in personal if s.name in wanted]


def audit(params: dict, ssids: list[Ssid], outcome, secrets: list[str]) -> None:
    records = [{"kind": "credential_rotation", "credential": "wifi psk", "ssid": ssid.name,
                "device": ",".join(device["name"] for device in params["devices"]),
                "outcome": outcome.outcome, "rotated": outcome.rotated, "reverted": outcome.reverted,
                "failed": outcome.failed, "split": outcome.split, "vault_file": params["vault_file"],
                "vault_variable": ssid.psk_var} for ssid in ssids]
    audit_trail.append_many(audit_trail.site_dir(params["audit_dir"], params["site"]), records,
                            secret_values=secrets)


def run(module: AnsibleModule) -> dict:
    p = module.params
    policy = load_policy(module)
    site = Site(module, policy)
    result: dict = {"changed": False, "ssids": [], "findings": []}
    secrets: list[str] = [str(v) for v in p["secrets"].values() if v] + [d["password"] for d in p["devices"]]

    def mask(text: str) -> str:
        for value in sorted(secrets, key=len, reverse=True):
            text = text.replace(value, "********")
        return text

    try:
        ssids = rotated_ssids(policy, p["ssids"])
        result["ssids"] = [s.name for s in ssids]
        new_values = new_passphrases([s.psk_var for s in ssids], p["length"])
        secrets += list(new_values.values())
        new_secrets = {**p["secrets"], **new_values}
        new_intents = ssid_intents(policy, new_secrets)     # validates every value before any connection
        ssid_intents(policy, p["secrets"])
        check_value(p["c9800_policy_tag"], "name", "c9800_policy_tag")
        update = PendingVaultUpdate(p["vault_file"], p["vault_password_file"], new_values)
        if not ssids:
            return result
        refusal = enforce_window(module, policy, p, result, "rotating the Wi-Fi passphrases")
        if refusal and not p["force"]:   # check mode: the plan says what a real run would meet
            result["findings"].append(f"a real run now would be refused: {refusal}")
        site.preflight(new_intents)
        result["changed"] = True
        if module.check_mode:
            read_vault_vars(p["vault_file"], p["vault_password_file"])
            return result
        update.prepare()
    except (InvalidValue, ValueError, KeyError, VaultFileError) as exc:
        module.fail_json(msg=mask(f"refused before changing any device: {exc}"), **result)
    except DriverError as exc:
        module.fail_json(msg=mask(f"nothing changed, a device is not ready: {exc}"), error=type(exc).__name__,
                         device=exc.device, **result)

    profiles = [s.name for s in ssids]   # the C9800 WLAN profile is named after the SSID
    outcome = rotate_site_psks(list(site.devices), lambda name, values: site.apply(name, values, profiles),
                               p["secrets"], new_secrets)
    result.update(outcome=outcome.outcome, rotated=outcome.rotated, reverted=outcome.reverted,
                  refused={k: mask(v) for k, v in outcome.failed.items()},
                  split={k: mask(v) for k, v in outcome.split.items()}, not_attempted=outcome.not_attempted)
    try:
        if outcome.outcome == ROTATED:
            update.commit()
            result["vault_file"] = p["vault_file"]
        elif outcome.outcome == SPLIT:
            update.abort()
            keep = PendingVaultUpdate(p["vault_file"], p["vault_password_file"],
                                      {var + SPLIT_SUFFIX: value for var, value in new_values.items()})
            keep.prepare()
            keep.commit()
            result["vault_file"] = p["vault_file"]
            result["findings"] = [f"SSID {name} is split: {', '.join(outcome.split)} use the new passphrase (vault "
                                  f"variable {s.psk_var}{SPLIT_SUFFIX}), the other devices the old one"
                                  for s in ssids for name in [s.name]]
        else:
            update.abort()
    except VaultFileError as exc:
        outcome.failed["vault"] = str(exc)
        result["refused"]["vault"] = mask(str(exc))
    try:
        audit(p, ssids, outcome, secrets)
    except audit_trail.AuditTrailError as exc:
        result["findings"].append(f"the rotation could not be recorded in the audit trail: {exc}")
    if outcome.outcome != ROTATED or "vault" in outcome.failed:
        module.fail_json(msg=mask(outcome.summary()), **result)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            policy_file=dict(type="path", required=True),
            devices=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                host=dict(type="str", required=True),
                port=dict(type="int"),
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                enable_secret=dict(type="str", no_log=True),
            )),
            known_hosts_file=dict(type="path", required=True),
            timeout=dict(type="int", default=30),
            secrets=dict(type="dict", required=True, no_log=True),
            ssids=dict(type="list", elements="str"),
            length=dict(type="int", default=24, no_log=False),
            vault_file=dict(type="path", required=True),
            vault_password_file=dict(type="path", required=True, no_log=False),
            backup_dir=dict(type="path", required=True),
            c9800_policy_tag=dict(type="str", default="default-policy-tag"),
            **FORCE_ARGS, **AUDIT_ARGS,
        ),
        required_if=FORCE_REQUIRED_IF,
        supports_check_mode=True,
    )
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
