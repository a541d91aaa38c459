# -*- coding: utf-8 -*-
"""What every network module shares: policy loading, the driver and its errors as Ansible failures, backups."""

from __future__ import annotations

import datetime as dt
import os

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    utc_now,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy


def load_policy(module) -> dict:
    try:
        return load_site_policy(module.params["policy_file"])
    except PolicyError as exc:
        module.fail_json(msg=f"site policy is invalid: {exc}",
                         errors=[f"{e.path}: {e.message} (value {e.value!r})" for e in exc.errors])
    except OSError as exc:
        module.fail_json(msg=f"cannot read the site policy: {exc}")


def policy_device(module, policy: dict) -> dict:
    for entry in policy.get("devices", []):
        if entry["name"] == module.params["device"]:
            return entry
    module.fail_json(msg=f"device {module.params['device']!r} is not in the site policy's devices list")


def make_driver(module, platform: str):
    try:
        cls = get_driver(platform)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    p = module.params
    return cls(host=p["host"], port=p["port"], username=p["username"], password=p["password"],
               timeout=p["timeout"], known_hosts_file=p["known_hosts_file"], name=p["device"],
               enable_secret=p.get("enable_secret"))


def fail_driver(module, exc: DriverError, **extra) -> None:
    module.fail_json(msg=str(exc), error=type(exc).__name__, device=exc.device, **extra)


def write_backup(backup_dir: str, device: str, text: str, suffix: str = "cfg") -> str:
    """A timestamped, owner-only copy of the device config before a change."""
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    path = os.path.join(backup_dir, f"{device}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}.{suffix}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def window_refusal(policy: dict) -> str | None:
    """Why a change must not run now (outside every maintenance window), or None."""
    return MaintenanceSchedule.from_policy(policy).refusal(utc_now())
