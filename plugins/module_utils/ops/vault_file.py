# -*- coding: utf-8 -*-
"""Write new values into an ansible-vault encrypted YAML vars file, without ever printing them.

A rotation must not leave the device and the vault disagreeing. So the encrypted new file is prepared next to
the vault file BEFORE the device is touched (proving the vault password works and the directory is writable),
and only renamed over the vault file once the device accepted the new credential:

    update = PendingVaultUpdate(path, password_file, {"ansible_password": new})
    update.prepare()      # <path>.pending written (encrypted, mode 0600)
    ... change the device, verify the new credential ...
    update.commit()       # atomic rename over <path>   -- or update.abort() when the device kept the old one

A run killed between the device change and commit() leaves `<path>.pending`: it holds the new value, encrypted
with the same vault password (`ansible-vault view <path>.pending`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys

import yaml

PENDING_SUFFIX = ".pending"
VAULT_HEADER = b"$ANSIBLE_VAULT;"


class VaultFileError(Exception):
    """The vault file cannot be read or written; the message says what to fix (never holds a secret)."""


def vault_cli() -> str:
    """`ansible-vault` of this Python's ansible-core (modules cannot import the controller's vault code: AnsiballZ
    ships only module_utils), else the one on PATH. Secrets go through its stdin/stdout, never its arguments."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-vault")
    found = beside if os.access(beside, os.X_OK) else shutil.which("ansible-vault")
    if not found:
        raise VaultFileError("ansible-vault not found next to the Python running this module nor on PATH")
    return found


def _run_vault(args: list[str], password_file: str, data: bytes = b"") -> bytes:
    command = [vault_cli(), *args, "--vault-password-file", password_file]
    # Only the site's own vault password applies: identities from the environment (a lab's, a default file) would make
    # ansible-vault ask which one to encrypt with, or decrypt with the wrong one.
    env = {key: value for key, value in os.environ.items()
           if key not in ("ANSIBLE_VAULT_IDENTITY_LIST", "ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY")}
    result = subprocess.run(command, input=data, capture_output=True, timeout=120, check=False, env=env)
    if result.returncode != 0:
        # ansible-vault's errors name files and reasons, never plaintext
        raise VaultFileError(f"ansible-vault {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def read_vault_vars(path: str, password_file: str) -> dict:
    """Variables of an encrypted vars file ({} when it does not exist yet)."""
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as handle:
        if not handle.read(len(VAULT_HEADER)) == VAULT_HEADER:
            raise VaultFileError(f"{path} is not ansible-vault encrypted; refusing to add secrets to a plaintext "
                                 "file")
    loaded = yaml.safe_load(_run_vault(["decrypt", "--output", "-", path], password_file)) or {}
    if not isinstance(loaded, dict):
        raise VaultFileError(f"{path} does not hold a mapping of variables")
    return loaded


class PendingVaultUpdate:
    """New values for some variables of one vault file, prepared before and committed after the device change."""

    def __init__(self, path: str, password_file: str, updates: dict):
        self.path = path
        self.password_file = password_file
        self.updates = dict(updates)
        self.pending_path = path + PENDING_SUFFIX

    def prepare(self) -> None:
        current = read_vault_vars(self.path, self.password_file)
        text = yaml.safe_dump({**current, **self.updates}, default_flow_style=False, sort_keys=True)
        ciphertext = _run_vault(["encrypt", "--output", "-"], self.password_file, text.encode("utf-8"))
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        try:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(ciphertext)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise VaultFileError(f"cannot write {self.pending_path}: {exc}") from exc

    def commit(self) -> None:
        try:
            os.replace(self.pending_path, self.path)
        except OSError as exc:
            raise VaultFileError(f"the device has the NEW credential but {self.path} could not be replaced "
                                 f"({exc}); the new value is in {self.pending_path}: move it over by hand") from exc

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pending_path)
