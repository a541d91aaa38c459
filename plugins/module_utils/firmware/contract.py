"""The steps every firmware-capable driver implements, in the order the upgrade procedure calls them.

A platform driver (switch or phone) mixes this in next to `drivers.base.FirmwareDriver`; the procedure and the
rollout scheduler only ever talk to this contract, so a new platform is one driver file.

    before = drv.get_firmware()               # {"version": "17.6.4", "image": "...", "model": "C9300-24P"}
    drv.precheck(target)                      # non-disruptive: space, config saved + backed up
    drv.stage(target)                         # non-disruptive: image transferred/staged and checksum verified
    drv.is_busy()                             # True: a phone in a call (retried later, never forced)
    drv.resume_evidence(target)               # what a later run's post-check needs (JSON, no secret)
    drv.activate(target)                      # DISRUPTIVE: boot into the target (reload / reboot / upgrade URL)
    drv.wait_until_back(timeout)              # reconnect; DeviceUnreachable after `timeout` seconds
    drv.postcheck(target, before)             # the target version runs, state as before; VerificationFailed
    drv.recover(target, before)               # after a failed activate: back on a bootable known-good image
    drv.restore_evidence(evidence)            # a later run, after an interruption: before postcheck / recover
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
import threading
from dataclasses import dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    ChecksumMismatch,
    InvalidValue,
    TransferFailed,
)

REBOOT_TIMEOUT_FACTOR = 3.0      # worst case we wait for a device to come back, in multiples of its reboot time
# Allowlists for what a baseline puts into device commands and provisioning files (no path, no metacharacter).
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Target:
    """The approved build for one platform + model (a firmware_baselines entry) and where its file is."""

    platform: str
    model: str
    version: str
    image: str               # file name as the vendor ships it
    sha256: str
    path: str = ""           # local copy of the image (the controller's firmware store)

    @classmethod
    def from_baseline(cls, baseline: dict, firmware_dir: str = "") -> Target:
        """Validated: these values end up in device commands and provisioning files (treated as hostile)."""
        where = f"firmware baseline {baseline.get('platform')} {baseline.get('model')}"
        for key, pattern in (("image", FILE_NAME), ("version", VERSION), ("sha256", SHA256)):
            if not pattern.fullmatch(str(baseline.get(key, ""))):
                raise InvalidValue(f"{where}: {key} {baseline.get(key)!r} is not allowed "
                                   f"(expected {pattern.pattern})")
        return cls(platform=baseline["platform"], model=baseline["model"], version=str(baseline["version"]),
                   image=baseline["image"], sha256=str(baseline["sha256"]).lower(),
                   path=os.path.join(firmware_dir, baseline["image"]) if firmware_dir else "")

    @property
    def size(self) -> int:
        return os.path.getsize(self.path)


_DIGESTS: dict[tuple, str] = {}
_DIGESTS_LOCK = threading.Lock()


def file_sha256(path: str) -> str:
    """sha256 of a file, computed once per (path, size, mtime) in this process: 200 phones share one image."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    with _DIGESTS_LOCK:
        if key not in _DIGESTS:
            _DIGESTS[key] = _hash_file(path)
        return _DIGESTS[key]


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_local_image(target: Target, device: str | None = None) -> str:
    """The controller's copy of the image must exist and match the baseline's sha256 before anything is staged."""
    if not target.path or not os.path.isfile(target.path):
        raise TransferFailed(f"firmware image {target.path or target.image!r} is not in the firmware store "
                             "(firmware_dir)", device)
    actual = file_sha256(target.path)
    if actual != target.sha256:
        raise ChecksumMismatch(f"{target.path} has sha256 {actual}, the baseline says {target.sha256}: refusing "
                               "to install it", device)
    return actual


class UpgradeSteps(abc.ABC):
    """Mixin: the firmware steps of one platform (see the module docstring for the call order)."""

    reboot_seconds: int = 600
    reboot_timeout_factor: float = REBOOT_TIMEOUT_FACTOR

    @property
    def reboot_timeout(self) -> float:
        """How long to wait for the device to answer again after activate (inventory may override)."""
        options = getattr(self, "options", {}) or {}
        if options.get("reboot_timeout"):
            return float(options["reboot_timeout"])
        return float(options.get("reboot_seconds") or self.reboot_seconds) * self.reboot_timeout_factor

    @abc.abstractmethod
    def get_firmware(self) -> dict:
        """{"version", "image", "model"} running now."""

    @abc.abstractmethod
    def precheck(self, target: Target) -> dict:
        """Non-disruptive checks before anything changes; returns what was found (free space, backup path …)."""

    @abc.abstractmethod
    def stage(self, target: Target) -> dict:
        """Put the image where the device takes it from and verify its checksum (non-disruptive, idempotent)."""

    def is_busy(self) -> bool:
        """True when a disruptive step must wait (a phone in a call). Switches are never busy."""
        return False

    def resume_evidence(self, target: Target) -> dict:
        """JSON-ready facts (no secret) a later run needs to post-check or recover this device should the run be
        killed after activate; stored in the `started` record. Default: nothing beyond the firmware read."""
        return {"image": target.image}

    def restore_evidence(self, evidence: dict) -> None:
        """Take back what resume_evidence() saved (a new session after an interruption)."""
        self.resumed_evidence = dict(evidence)

    @abc.abstractmethod
    def activate(self, target: Target) -> None:
        """Disruptive: make the device boot the target build. Returns once the reboot is under way."""

    @abc.abstractmethod
    def wait_until_back(self, timeout: float) -> None:
        """Block until the device answers again (reconnecting); raise DeviceUnreachable after ``timeout``."""

    @abc.abstractmethod
    def postcheck(self, target: Target, before: dict) -> dict:
        """Verify the device runs ``target`` and is otherwise as before; raise VerificationFailed."""

    @abc.abstractmethod
    def recover(self, target: Target, before: dict) -> dict:
        """After a failure past activate: leave the device on a bootable known-good image and config."""
