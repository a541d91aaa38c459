# -*- coding: utf-8 -*-
"""Roll a switch / WLC back to the configuration saved before the toolkit's last change.

Every change the drivers commit starts with `copy running-config <fs>aiphone-backup-<UTC timestamp>.cfg`; the newest
such file is the state before the last change. Rolling back is the driver's own `configure replace … force`,
followed by `write memory`. Rolling back changes nothing new on flash, so a second rollback restores the same file
and finds nothing to change.
"""

from __future__ import annotations

import re

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import VerificationFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config

BACKUP_NAME = re.compile(r"aiphone-backup-\d{8}T\d{6}\.cfg")


def latest_backup(dir_output: str, filesystem: str) -> str:
    names = sorted(set(BACKUP_NAME.findall(dir_output)))
    if not names:
        raise VerificationFailed(f"no aiphone-backup-*.cfg on {filesystem}: nothing to roll back to")
    return f"{filesystem}{names[-1]}"


def roll_back(driver, backup_file: str | None, check_mode: bool) -> dict:
    """Restore `backup_file` (default: the newest toolkit backup) on an open IOS-XE driver."""
    filesystem = driver.backup_filesystem
    available = driver._show(f"dir {filesystem}")
    backup = backup_file or latest_backup(available, filesystem)
    if backup.removeprefix(filesystem) not in available:
        raise VerificationFailed(f"{backup} is not on the device", device=driver.name)
    result = {"backup_file": backup, "changed": True}
    if check_mode:
        return result
    before = parse_running_config(driver.get_config())
    driver.backup_file, driver._before = backup, None   # the restored text is the file's; compared below
    driver.rollback()
    after = parse_running_config(driver.get_config())
    result["changed"] = after != before
    if result["changed"]:
        driver.save()
    return result
