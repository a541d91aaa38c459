# -*- coding: utf-8 -*-
"""The credential_rotate module's run: settle an interrupted rotation, rotate through the device's credential kind
(ops.rotation.credential_of: a capability of its driver), then the vault, then the audit trail.

    module.exit_json(**rotate_credential(module))
"""

from __future__ import annotations

import os

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError, InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    driver_arguments,
    provisioning_options,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import (
    Credential,
    RotationUncertain,
    credential_of,
    login_works,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.secrets_gen import generate_password
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PENDING_SUFFIX,
    PendingVaultUpdate,
    VaultFileError,
    read_vault_vars,
)


def driver_factory(params: dict, cls: type):
    """`make(password)`: an unopened driver (None: the current password); phone options passed as given, drivers
    without a provisioning path ignore them."""
    options = provisioning_options(params)

    def make(password: str | None):
        return cls(**driver_arguments(params, password), **options)
    return make


def audit(params: dict, credential: Credential, outcome: str, secrets: list[str], **fields) -> None:
    record = {"kind": "credential_rotation", "device": params["device"], "credential_type": credential.name,
              "username": params["username"], "outcome": outcome, "vault_file": params["vault_file"],
              "vault_variable": params["vault_variable"], **fields}
    audit_trail.append(audit_trail.site_dir(params["audit_dir"], params["site"]), record, secret_values=secrets)


def reconcile_pending(p: dict, credential: Credential, make) -> dict | None:
    """A `<vault_file>.pending` left by an interrupted rotation: which value does the device take? The pending one
    -> (saved on IOS) the vault takes it too, recorded `completed_after_interruption`; the current one -> the
    pending file is dropped, recorded `interrupted_kept_old`, and the rotation goes on. Neither -> refused, the
    pending file kept. Returns the module result when the interrupted rotation was completed."""
    pending_path = p["vault_file"] + PENDING_SUFFIX
    if not os.path.exists(pending_path):
        return None
    value = read_vault_vars(pending_path, p["vault_password_file"]).get(p["vault_variable"])
    update = PendingVaultUpdate(p["vault_file"], p["vault_password_file"], {})
    secrets = [value, p["password"]]
    if value and login_works(make, value):
        credential.finish_interrupted(make, value)
        update.commit()
        audit(p, credential, "completed_after_interruption", secrets)
        return {"changed": True, "vault_file": p["vault_file"], "reconciled": "completed_after_interruption",
                "notes": [f"an interrupted rotation had left {pending_path}: the device takes that value, the "
                          "vault now holds it"]}
    if not login_works(make, None):
        raise RotationUncertain(f"{p['device']}: an interrupted rotation left {pending_path}, and neither its value "
                                "nor the current one logs in", device=p["device"])
    update.abort()
    audit(p, credential, "interrupted_kept_old", secrets)
    return None


def rotate_credential(module) -> dict:
    """The whole task: fails the module (fail_json) with the device named, or returns its result."""
    p = module.params
    try:
        cls, credential = credential_of(p["platform"])
    except ValueError as exc:
        module.fail_json(msg=f"refused before changing {p['device']}: {exc}")
    make = driver_factory(p, cls)
    result: dict = {"changed": False, "notes": []}
    try:
        if not module.check_mode:
            done = reconcile_pending(p, credential, make)
            if done is not None:
                return done
        new_secret = p["new_password"] or generate_password(p["length"])
        credential.check(p["username"], new_secret)
        if module.check_mode:
            read_vault_vars(p["vault_file"], p["vault_password_file"])
            credential.plan(make, p["username"])
            result.update(changed=True, vault_file=p["vault_file"])
            return result
        update = PendingVaultUpdate(p["vault_file"], p["vault_password_file"], {p["vault_variable"]: new_secret})
        update.prepare()
    except (InvalidValue, ValueError, VaultFileError) as exc:
        module.fail_json(msg=f"refused before changing {p['device']}: {exc}", **result)
    except DriverError as exc:
        module.fail_json(msg=f"not rotated, {p['device']} keeps its old secret: {exc}", error=type(exc).__name__,
                         **result)
    secrets = [new_secret, p["password"]]
    try:
        rotated = credential.rotate(make, p["username"], new_secret, p["settle_timeout"])
    except RotationUncertain as exc:      # the phone may hold the new value: keep it (encrypted) for the operator
        audit(p, credential, "uncertain_pending_kept", secrets, error=type(exc).__name__, message=str(exc))
        module.fail_json(msg=f"{exc}; the new value is kept encrypted in {p['vault_file']}.pending "
                             f"(ansible-vault view it and try both)", error=type(exc).__name__, **result)
    except DriverError as exc:
        update.abort()
        audit(p, credential, "failed_kept_old", secrets, error=type(exc).__name__, message=str(exc))
        module.fail_json(msg=f"not rotated, {p['device']} keeps its old secret: {exc}", error=type(exc).__name__,
                         **result)
    try:
        update.commit()
    except VaultFileError as exc:
        audit(p, credential, "rotated_vault_not_written", secrets, device_backup=rotated.device_backup)
        module.fail_json(msg=str(exc), device_backup=rotated.device_backup, changed=True)
    try:
        audit(p, credential, "rotated", secrets, device_backup=rotated.device_backup,
              old_credential_refused=rotated.old_credential_refused)
    except audit_trail.AuditTrailError as exc:   # rotated and vaulted: say so, do not hide the missing record
        rotated.notes.append(f"the rotation could not be recorded in the audit trail: {exc}")
    result.update(changed=True, device_backup=rotated.device_backup, vault_file=p["vault_file"],
                  old_credential_refused=rotated.old_credential_refused, notes=rotated.notes)
    return result
