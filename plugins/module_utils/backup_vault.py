# -*- coding: utf-8 -*-
"""Configuration backups that hold secrets, encrypted with the site's vault identity (issue #14 bullet 4).

A backup with the device's secrets is the only complete restore source on the controller; it is written as an
ansible-vault file (``ansible.parsing.vault.VaultLib``, format 1.2 with the identity's label) and decrypted only in
memory for a restore (ops/config_rollback.restore_controller_backup). Without a vault identity the backup is
written with every secret masked, as before, and the caller warns that it is not a full restore source.

The identity: an explicit password file (a module's ``backup_vault_password_file``), else the controller's
``ANSIBLE_VAULT_IDENTITY_LIST`` (the entry labelled as the site, else the first), else
``ANSIBLE_VAULT_PASSWORD_FILE``. A password file may be a script, as for ansible-vault itself.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass

VAULT_SUFFIX = ".vault"
# ansible-vault's library runs in a child of this interpreter: a module's payload carries only part of the `ansible`
# package (module_utils), so the controller's ansible.parsing cannot be imported inside a module. Plaintext and
# ciphertext go through the child's stdin/stdout, never a file or its command line.
_VAULT_CHILD = r"""
import base64, json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, get_file_vault_secret
job = json.load(sys.stdin)
secret = get_file_vault_secret(filename=job["password_file"], vault_id=job["label"], loader=DataLoader())
secret.load()
lib = VaultLib([(job["label"], secret)])
data = base64.b64decode(job["data"])
out = lib.encrypt(data, secret, vault_id=job["label"]) if job["op"] == "encrypt" else lib.decrypt(data)
sys.stdout.write(base64.b64encode(out).decode())
"""


class VaultError(Exception):
    """ansible-vault could not encrypt / decrypt (wrong identity, damaged file, unreadable password file)."""


@dataclass(frozen=True)
class BackupVault:
    label: str
    password_file: str

    def _run(self, op: str, data: bytes) -> bytes:
        job = json.dumps({"op": op, "label": self.label, "password_file": self.password_file,
                          "data": base64.b64encode(data).decode()})
        child = subprocess.run([sys.executable, "-I", "-c", _VAULT_CHILD], input=job, capture_output=True,
                               text=True, timeout=120, check=False)
        if child.returncode != 0:
            last = (child.stderr.strip().splitlines() or ["no message"])[-1]
            raise VaultError(f"ansible-vault could not {op} with identity {self.label!r}: {last[:300]}")
        return base64.b64decode(child.stdout)

    def encrypt(self, text: str) -> bytes:
        return self._run("encrypt", text.encode("utf-8"))

    def decrypt(self, data: bytes) -> str:
        return self._run("decrypt", data).decode("utf-8")


def _identity_entries(environ) -> list[tuple[str, str]]:
    entries = []
    for item in (environ.get("ANSIBLE_VAULT_IDENTITY_LIST") or "").split(","):
        item = item.strip()
        if item:
            label, _, path = item.rpartition("@")
            entries.append((label or "default", path))
    if environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        entries.append(("default", environ["ANSIBLE_VAULT_PASSWORD_FILE"]))
    return entries


def site_vault(site: str, password_file: str | None = None, label: str | None = None,
               environ=None) -> BackupVault | None:
    """The site's vault identity available to this controller, or None (no identity configured)."""
    environ = os.environ if environ is None else environ
    if password_file:
        chosen = (label or site, password_file)
    else:
        entries = [(name, path) for name, path in _identity_entries(environ) if path and path != "prompt"]
        if not entries:
            return None
        chosen = next((e for e in entries if e[0] in (label, site)), entries[0])
    path = os.path.expanduser(chosen[1])
    if not os.path.isfile(path):
        raise VaultError(f"the vault password file of identity {chosen[0]!r} does not exist: {path}")
    return BackupVault(chosen[0], path)


def write_encrypted(path: str, text: str, vault: BackupVault) -> str:
    """``path`` + .vault, owner-only, created exclusively (a backup is never overwritten)."""
    path += VAULT_SUFFIX
    data = vault.encrypt(text)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_encrypted(path: str, vault: BackupVault) -> str:
    """The backup's text, decrypted in memory (for a restore only)."""
    if not path.endswith(VAULT_SUFFIX):
        raise ValueError(f"{path}: not an encrypted backup (*{VAULT_SUFFIX})")
    with open(path, "rb") as handle:
        return vault.decrypt(handle.read())
