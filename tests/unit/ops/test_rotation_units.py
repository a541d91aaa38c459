# -*- coding: utf-8 -*-
"""Offline parts of credential rotation: generated values, the secret line, the vault file round trip."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import ios_secret_line, user_privilege
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.secrets_gen import generate_password
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import (
    PendingVaultUpdate,
    VaultFileError,
    read_vault_vars,
)

REPO = Path(__file__).resolve().parents[3]
LAB_VAULT_PASSWORD = REPO / "inventories/lab/vault-password.txt"


def test_generated_passwords_are_long_mixed_unique_and_guard_safe():
    values = {generate_password() for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert len(value) == 24 and set(value) <= set(string.ascii_letters + string.digits)
        assert any(c.isdigit() for c in value) and any(c.islower() for c in value) and any(c.isupper() for c in value)
        assert check_value(value, "psk", "generated") == value


def test_short_generated_passwords_are_refused():
    with pytest.raises(ValueError, match="at least 16"):
        generate_password(12)


RUNNING = """hostname sw
username ops secret 9 $9$x$y
username admin privilege 15 secret 9 $9$abc$def
"""


@pytest.mark.parametrize(("user", "expected"), [("admin", "15"), ("ops", ""), ("nobody", None)])
def test_user_privilege_is_read_from_the_running_config(user, expected):
    assert user_privilege(RUNNING, user) == expected


def test_secret_line_keeps_the_privilege_and_asks_for_scrypt():
    assert ios_secret_line("admin", "15", "Abcdefgh12345678") == \
        "username admin privilege 15 algorithm-type scrypt secret Abcdefgh12345678"


@pytest.mark.parametrize("hostile", ["abc\nend", "pass word1", "abcdefgh;reload", "abcdefgh|x", "short"])
def test_hostile_or_weak_secrets_are_refused_without_echo(hostile):
    with pytest.raises(InvalidValue) as info:
        ios_secret_line("admin", "15", hostile)
    assert hostile not in str(info.value)


def encrypt_existing(path: Path, text: str) -> None:
    PendingVaultUpdate(str(path), str(LAB_VAULT_PASSWORD), {}).prepare()   # creates an empty encrypted file
    os.replace(f"{path}.pending", path)
    update = PendingVaultUpdate(str(path), str(LAB_VAULT_PASSWORD), {"kept": text})
    update.prepare()
    update.commit()


def test_vault_update_is_prepared_encrypted_and_committed_keeping_other_variables(tmp_path):
    vault = tmp_path / "host_vars" / "sw" / "vault.yml"
    encrypt_existing(vault, "other value")
    update = PendingVaultUpdate(str(vault), str(LAB_VAULT_PASSWORD), {"ansible_password": "NewSecret123456789"})
    update.prepare()
    pending = Path(f"{vault}.pending")
    assert pending.read_bytes().startswith(b"$ANSIBLE_VAULT;") and b"NewSecret" not in pending.read_bytes()
    assert oct(pending.stat().st_mode & 0o777) == "0o600"
    assert read_vault_vars(str(vault), str(LAB_VAULT_PASSWORD)) == {"kept": "other value"}   # not yet in place
    update.commit()
    assert read_vault_vars(str(vault), str(LAB_VAULT_PASSWORD)) == {
        "kept": "other value", "ansible_password": "NewSecret123456789"}
    assert not pending.exists()


def test_aborted_update_leaves_the_vault_as_it_was(tmp_path):
    vault = tmp_path / "vault.yml"
    encrypt_existing(vault, "old")
    before = vault.read_bytes()
    update = PendingVaultUpdate(str(vault), str(LAB_VAULT_PASSWORD), {"kept": "new"})
    update.prepare()
    update.abort()
    assert vault.read_bytes() == before and not Path(f"{vault}.pending").exists()


def test_plaintext_vars_file_and_wrong_password_are_refused(tmp_path):
    plain = tmp_path / "vault.yml"
    plain.write_text("ansible_password: oops\n")
    with pytest.raises(VaultFileError, match="not ansible-vault encrypted"):
        read_vault_vars(str(plain), str(LAB_VAULT_PASSWORD))
    vault = tmp_path / "enc.yml"
    encrypt_existing(vault, "x")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not-the-password\n")
    with pytest.raises(VaultFileError, match="decrypt failed"):
        read_vault_vars(str(vault), str(wrong))
