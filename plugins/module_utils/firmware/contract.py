"""What every firmware step works on: the approved build (`Target`) and the controller's checked copy of its image.

The steps themselves are the firmware contract, `drivers.base.FirmwareDriver` (one contract for switches and phones).
"""

from __future__ import annotations

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
