# -*- coding: utf-8 -*-
"""Roll a switch / WLC back to the configuration saved before the toolkit's last change.

Every change the drivers commit starts with `copy running-config <fs>aiphone-backup-<UTC timestamp>.cfg`; the newest
such file is the state before the last change. Rolling back is the driver's own `configure replace … force`,
followed by `write memory`. Rolling back changes nothing new on flash, so a second rollback restores the same file
and finds nothing to change.
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import BACKUP_NAME
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import VerificationFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config

__all__ = ["BACKUP_NAME", "restore_controller_backup", "roll_back"]


def chosen_backup(available: list[str], wanted: str | None) -> str:
    """`wanted` (as the user wrote it: with or without its filesystem) or the newest of `available`."""
    if not wanted:
        if not available:
            raise VerificationFailed("no aiphone-backup-*.cfg on the device: nothing to roll back to")
        return available[-1]
    if wanted in available or (":" not in wanted and any(name.endswith(f":{wanted}") for name in available)):
        return wanted
    raise VerificationFailed(f"{wanted} is not on the device")


def roll_back(driver, backup_file: str | None, check_mode: bool) -> dict:
    """Restore `backup_file` (default: the newest toolkit backup) with an open driver of capability device_backup."""
    try:
        backup = chosen_backup(driver.backups(), backup_file)
    except VerificationFailed as exc:
        raise VerificationFailed(f"{driver.name}: {exc}", device=driver.name) from None
    result = {"backup_file": backup, "changed": True}
    if check_mode:
        return result
    before = parse_running_config(driver.get_config())
    driver.restore(backup)
    after = parse_running_config(driver.get_config())
    result["changed"] = after != before
    if result["changed"]:
        driver.save()
    return result


def restore_controller_backup(driver, path: str, vault, check_mode: bool) -> dict:
    """Restore a controller-side backup written encrypted with the site's vault identity (backup_vault; a masked
    backup is refused: it is not a complete restore source). The text is decrypted in memory only; the driver
    pushes the difference back in its safe phases and reads the result back (restore_text), then saves."""
    from ansible_collections.aiphone.hardening.plugins.module_utils import backup_vault

    text = backup_vault.read_encrypted(path, vault)
    result = {"backup_file": path, "changed": True}
    before = parse_running_config(driver.get_config())
    if check_mode:
        result["changed"] = parse_running_config(text) != before
        return result
    driver.restore_text(text)
    result["changed"] = parse_running_config(driver.get_config()) != before
    if result["changed"]:
        driver.save()
    return result
