# -*- coding: utf-8 -*-
"""A rotation killed between the device change and the vault commit leaves `<vault>.pending`: the next run finds
which value the device takes, settles vault and device on it and records what happened (real vault files)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import AuthenticationFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.credential_rotation import reconcile_pending
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import LOGIN_SECRET, RotationUncertain
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PendingVaultUpdate,
    read_vault_vars,
)

REPO = Path(__file__).resolve().parents[3]
VAULT_PASSWORD = str(REPO / "inventories/lab/vault-password.txt")
OLD, NEW = "Old-Secret-0123456789ab", "New-Secret-0123456789ab"


class Device:
    def __init__(self, secret):
        self.secret, self.saves = secret, 0

    def make(self, password):
        @contextlib.contextmanager
        def session():
            if (password or OLD) != self.secret:
                raise AuthenticationFailed("refused", "sw1")
            yield self
        return session()

    def get_facts(self):
        return {}

    def save(self):
        self.saves += 1


@pytest.fixture()
def params(tmp_path):
    vault = tmp_path / "host_vars" / "sw1" / "vault.yml"
    update = PendingVaultUpdate(str(vault), VAULT_PASSWORD, {"ansible_password": NEW})
    update.prepare()                    # what the killed run had written before touching the device
    return {"device": "sw1", "platform": "cisco_ios", "username": "admin", "password": OLD,
            "vault_file": str(vault), "vault_variable": "ansible_password", "vault_password_file": VAULT_PASSWORD,
            "audit_dir": str(tmp_path / "audit"), "site": "lab"}


def outcomes(params):
    site = audit_trail.site_dir(params["audit_dir"], "lab")
    return [r["outcome"] for r in audit_trail.read_records(site, kind="credential_rotation")]


def test_device_took_the_new_value_vault_follows_and_it_is_saved(params):
    device = Device(NEW)                # killed after the change, maybe before `write memory`
    result = reconcile_pending(params, LOGIN_SECRET, device.make)
    assert result["reconciled"] == "completed_after_interruption" and device.saves == 1
    assert read_vault_vars(params["vault_file"], VAULT_PASSWORD)["ansible_password"] == NEW
    assert not Path(params["vault_file"] + ".pending").exists()
    assert outcomes(params) == ["completed_after_interruption"]
    trail = Path(audit_trail.trail_path(audit_trail.site_dir(params["audit_dir"], "lab"))).read_text()
    assert NEW not in trail and OLD not in trail


def test_device_kept_the_old_value_pending_dropped_rotation_goes_on(params):
    device = Device(OLD)                # killed before the change
    assert reconcile_pending(params, LOGIN_SECRET, device.make) is None and device.saves == 0
    assert not Path(params["vault_file"] + ".pending").exists() and not Path(params["vault_file"]).exists()
    assert outcomes(params) == ["interrupted_kept_old"]


def test_neither_value_logs_in_pending_kept(params):
    with pytest.raises(RotationUncertain):
        reconcile_pending(params, LOGIN_SECRET, Device("something else").make)
    assert Path(params["vault_file"] + ".pending").exists()


def test_nothing_pending_nothing_done(params):
    Path(params["vault_file"] + ".pending").unlink()
    assert reconcile_pending(params, LOGIN_SECRET, Device(OLD).make) is None and outcomes(params) == []
