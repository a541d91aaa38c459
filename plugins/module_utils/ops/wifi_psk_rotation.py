# -*- coding: utf-8 -*-
"""The wifi_psk_rotate module's run: validate, plan on every device, rotate device after device (ops.wifi_rotation),
then settle the vault and the audit trail.

    module.exit_json(**rotate_wifi_psks(module))

Each device is planned and checked by its own driver (capability "wireless": `wireless_plan`, and
`key_change_problems` for what a read-back plan cannot see, e.g. a key the controller stores encrypted).
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError, InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    enforce_window,
    load_policy,
    write_backup,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import ssid_intents
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PendingVaultUpdate,
    VaultFileError,
    read_vault_vars,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.wifi_rotation import (
    ROTATED,
    SPLIT,
    PskRotation,
    new_passphrases,
    rotate_site_psks,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, Ssid

SPLIT_SUFFIX = "_split_new"


class WirelessSite:
    """The policy, the devices and their drivers for one rotation run."""

    def __init__(self, params: dict, policy: SitePolicy):
        self.params = params
        self.policy = policy
        self.devices = {device["name"]: device for device in params["devices"]}
        unknown = [name for name in self.devices if not policy.has_device(name)]
        if unknown:
            raise InvalidValue(f"not in the site policy's devices list: {', '.join(unknown)}")
        self.drivers = {name: driver_for(policy.device(name).platform, "config", "wireless") for name in self.devices}

    def driver(self, name: str):
        device = self.devices[name]
        return self.drivers[name](
            host=device["host"], port=device["port"], username=device["username"], password=device["password"],
            timeout=self.params["timeout"], known_hosts_file=self.params["known_hosts_file"], name=name,
            enable_secret=device.get("enable_secret"))

    def plan(self, name: str, intents, config_text: str, rotate_keys: bool = True) -> list[str]:
        return self.drivers[name].wireless_plan(intents, config_text, enable_radios=False, rotate_keys=rotate_keys,
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
        return (self.plan(name, intents, after, rotate_keys=False)
                + self.drivers[name].key_change_problems(before, after, profiles))


def rotated_ssids(policy: SitePolicy, wanted: list[str] | None) -> list[Ssid]:
    personal = [s for s in policy.wireless.ssids if s.psk_var]
    if wanted is None:
        return personal
    unknown = sorted(set(wanted) - {s.name for s in personal})
    if unknown:
        raise InvalidValue(f"ssids: not personal SSIDs of the policy: {', '.join(unknown)}")
    return [s for s in personal if s.name in wanted]


def audit(params: dict, ssids: list[Ssid], outcome: PskRotation, secrets: list[str]) -> None:
    records = [{"kind": "credential_rotation", "credential": "wifi psk", "ssid": ssid.name,
                "device": ",".join(device["name"] for device in params["devices"]),
                "outcome": outcome.outcome, "rotated": outcome.rotated, "reverted": outcome.reverted,
                "failed": outcome.failed, "split": outcome.split, "vault_file": params["vault_file"],
                "vault_variable": ssid.psk_var} for ssid in ssids]
    audit_trail.append_many(audit_trail.site_dir(params["audit_dir"], params["site"]), records,
                            secret_values=secrets)


def settle_vault(params: dict, outcome: PskRotation, update: PendingVaultUpdate, new_values: dict) -> bool:
    """The vault after the devices: rotated -> the prepared update goes in; split -> the vault keeps the old values
    and the new ones are kept beside them (`<psk_var>_split_new`) so that they are not lost; otherwise the update
    is dropped. True when the vault file was written. VaultFileError from the vault goes on."""
    if outcome.outcome == ROTATED:
        update.commit()
        return True
    update.abort()
    if outcome.outcome != SPLIT:
        return False
    keep = PendingVaultUpdate(params["vault_file"], params["vault_password_file"],
                              {var + SPLIT_SUFFIX: value for var, value in new_values.items()})
    keep.prepare()
    keep.commit()
    return True


def rotate_wifi_psks(module) -> dict:
    """The whole task: fails the module (fail_json, secrets masked) or returns its result."""
    p = module.params
    policy = load_policy(module)
    result: dict = {"changed": False, "ssids": [], "findings": []}
    secrets: list[str] = [str(v) for v in p["secrets"].values() if v] + [d["password"] for d in p["devices"]]

    def mask(text: str) -> str:
        for value in sorted(secrets, key=len, reverse=True):
            text = text.replace(value, "********")
        return text

    try:
        site = WirelessSite(p, policy)
    except (InvalidValue, ValueError) as exc:
        module.fail_json(msg=str(exc))
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
        if settle_vault(p, outcome, update, new_values):
            result["vault_file"] = p["vault_file"]
        if outcome.outcome == SPLIT:
            result["findings"] = [f"SSID {s.name} is split: {', '.join(outcome.split)} use the new passphrase "
                                  f"(vault variable {s.psk_var}{SPLIT_SUFFIX}), the other devices the old one"
                                  for s in ssids]
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
