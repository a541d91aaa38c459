# -*- coding: utf-8 -*-
"""What every network module shares: policy loading, the driver and its errors as Ansible failures, backups."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail, backup_vault
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError, InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import HAS_SSH_LIBS, SSH_IMPORT_ERROR
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    utc_now,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    Device,
    PolicyError,
    SitePolicy,
    UnknownName,
    load_site_policy,
)


def load_policy(module) -> SitePolicy:
    try:
        return load_site_policy(module.params["policy_file"])
    except PolicyError as exc:
        module.fail_json(msg=f"site policy is invalid: {exc}",
                         errors=[f"{e.path}: {e.message} (value {e.value!r})" for e in exc.errors])
    except OSError as exc:
        module.fail_json(msg=f"cannot read the site policy: {exc}")


def policy_device(module, policy: SitePolicy) -> Device:
    try:
        return policy.device(module.params["device"])
    except UnknownName as exc:
        module.fail_json(msg=str(exc))


def require_ssh_libs(module) -> None:
    """Fail with Ansible's install hint when netmiko / paramiko are missing on the controller."""
    if not HAS_SSH_LIBS:
        module.fail_json(msg=missing_required_lib("netmiko and paramiko"), exception=str(SSH_IMPORT_ERROR))


def driver_arguments(params: dict, password: str | None = None) -> dict:
    """The driver's constructor arguments from the module's connection options (another password if given)."""
    return dict(host=params["host"], port=params["port"], username=params["username"],
                password=params["password"] if password is None else password, timeout=params["timeout"],
                known_hosts_file=params["known_hosts_file"], name=params["device"],
                enable_secret=params.get("enable_secret"))


def provisioning_options(params: dict) -> dict:
    """Driver options of a phone reached through the site's provisioning server (module_args.PHONE_PROVISIONING_ARGS,
    plus `model` when the module has it); empty ones left out, so drivers without a provisioning path ignore them."""
    provisioning = params.get("provisioning") or {}
    options = {"provisioning_url": provisioning.get("url"), "provisioning_dir": provisioning.get("dir"),
               "provisioning_upload_url": provisioning.get("upload_url"),
               "provisioning_token": provisioning.get("token"), "sip_port": params.get("sip_port"),
               "sip_user": params.get("sip_user"), "model": params.get("model")}
    return {key: value for key, value in options.items() if value}


def make_driver(module, platform: str, needs: tuple[str, ...] = ("config",)):
    """The unopened driver of the module's device; its platform must have the capabilities `needs`
    (drivers.registry.CAPABILITIES), else the task fails naming the device and what is missing."""
    try:
        cls = driver_for(platform, *needs)
    except ValueError as exc:
        module.fail_json(msg=f"{module.params['device']}: {exc}")
    return cls(**driver_arguments(module.params))


@contextlib.contextmanager
def device_session(module, platform: str, result: dict | None = None, mask: Callable[[str], str] = str,
                   needs: tuple[str, ...] = ("config",)):
    """The open driver of the module's device; a driver failure ends the task with a clear message.

    The failure names the error class and the device; a value refused by the injection guard reads
    `refused: ...`. With `result` (what the task did so far) it is returned too, with `rolled_back` telling
    whether a failed change was undone. `mask` hides secrets in the message. `needs`: as make_driver.
    """
    driver = make_driver(module, platform, needs)
    try:
        with driver:
            yield driver
    except DriverError as exc:
        refused = "refused: " if isinstance(exc, InvalidValue) else ""
        extra = {} if result is None else dict(result, rolled_back=driver.rolled_back)
        if exc.problems:
            extra["problems"] = [mask(problem) for problem in exc.problems]
        module.fail_json(msg=refused + mask(str(exc)), error=type(exc).__name__, device=exc.device, **extra)


def write_backup(backup_dir: str, device: str, text: str, suffix: str = "cfg", vault=None) -> str:
    """A timestamped, owner-only copy of the device config before a change.

    With ``vault`` (backup_vault.BackupVault: the site's vault identity) the whole text, secrets included, is
    written ansible-vault encrypted (``<name>.cfg.vault``): a complete restore source, decrypted only for a restore
    (config_rollback ``controller_backup``). Without it the secrets are replaced by ******** (Wi-Fi keys, RADIUS and
    SNMP secrets, reversible type 7 values, password hashes: audit_trail's patterns): for reading and diffing,
    restores then run from the device's own flash backup (`configure replace`) or replay the vaulted values."""
    path = os.path.join(backup_dir, f"{device}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}.{suffix}")
    if vault is not None:
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
        return backup_vault.write_encrypted(path, text, vault)
    return audit_trail.write_redacted(path, text)


def module_backup_vault(module, site: str):
    """The site's vault identity for this module's backups (option backup_vault_password_file, else the
    controller's ANSIBLE_VAULT_IDENTITY_LIST / ANSIBLE_VAULT_PASSWORD_FILE), or None with a warning: the backup is
    then masked and not a complete restore source."""
    p = module.params
    try:
        vault = backup_vault.site_vault(site, p.get("backup_vault_password_file"), p.get("backup_vault_id"))
    except Exception as exc:    # ansible's AnsibleError and OSError: an unreadable / failing password file
        module.fail_json(msg=f"{p['device']}: the site's vault identity for the backup cannot be loaded: {exc}")
    if vault is None:
        module.warn(f"{p['device']}: no vault identity available to the controller (backup_vault_password_file, "
                    "ANSIBLE_VAULT_IDENTITY_LIST): the backup is written with its secrets masked and is not a "
                    "complete restore source")
    return vault


def window_refusal(policy: SitePolicy) -> str | None:
    """Why a change must not run now (outside every maintenance window), or None."""
    return MaintenanceSchedule.from_policy(policy.raw).refusal(utc_now())


def enforce_window(module, policy: SitePolicy, params: dict, result: dict, what: str) -> str | None:
    """Fail the module outside every maintenance window unless forced; a forced run records why in `result`.

    Returns the refusal (None inside a window) so a caller in check mode can report it instead.
    """
    refusal = window_refusal(policy)
    if refusal and not params["force"] and not module.check_mode:
        module.fail_json(msg=f"not {what}: {refusal} (force=true with force_reason overrides)", **result)
    if refusal and params["force"]:
        result["forced"] = {"reason": params["force_reason"], "refusal": refusal}
    return refusal
