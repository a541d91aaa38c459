# -*- coding: utf-8 -*-
"""Rotate the Wi-Fi passphrases of a site without leaving an SSID split between an old and a new PSK.

Every AP / WLC of the site serves every SSID of the policy, so a PSK is only "rotated" once every device took it.
The devices are changed one after the other, each through its driver's own backup / push / read-back / restore
cycle; the first device that fails stops the run (it restored itself), and the devices already changed are put
back on the OLD passphrase. Only when that put-back fails too is the SSID split (some devices on the new, some on
the old passphrase) - reported as such, never hidden. The vault gets the new value only when every device took it.

    outcome = rotate_site_psks(devices, apply, old_secrets, new_secrets)
    # apply(device, secrets) pushes the secrets and verifies them by read-back; raises DriverError on failure
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DriverError
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.secrets_gen import generate_password

ROTATED = "rotated"
KEPT_OLD = "failed_kept_old"
SPLIT = "failed_split"


@dataclass
class PskRotation:
    """What happened to a site's passphrases; `split` names the devices left on the NEW passphrase."""

    outcome: str
    rotated: list[str] = field(default_factory=list)     # devices that hold the new passphrase at the end
    failed: dict[str, str] = field(default_factory=dict)  # device -> why it refused the new passphrase
    reverted: list[str] = field(default_factory=list)    # devices put back on the old passphrase
    not_attempted: list[str] = field(default_factory=list)
    split: dict[str, str] = field(default_factory=dict)   # device -> why it could not be put back

    def summary(self) -> str:
        if self.outcome == ROTATED:
            return f"rotated on {', '.join(self.rotated)}"
        text = "; ".join(f"{name}: {why}" for name, why in self.failed.items())
        if self.outcome == KEPT_OLD:
            return f"not rotated, every device keeps the old passphrase ({text})"
        return (f"SPLIT: {', '.join(self.split)} kept the NEW passphrase (could not be put back: "
                f"{'; '.join(self.split.values())}) while the others use the old one ({text})")


def new_passphrases(psk_vars: Sequence[str], length: int) -> dict[str, str]:
    """A fresh passphrase per vault variable: letters and digits (valid for WPA2-PSK and SAE: 8-63 printable
    ASCII, and safe in every CLI without quoting), `length` >= 16 characters."""
    if not 16 <= length <= 63:
        raise ValueError(f"a Wi-Fi passphrase length must be 16..63, not {length}")
    values = {var: generate_password(length) for var in psk_vars}
    for var, value in values.items():
        check_value(value, "psk", f"new passphrase for {var}")
    return values


def rotate_site_psks(devices: Sequence[str], apply: Callable[[str, dict], None], old_secrets: dict,
                     new_secrets: dict) -> PskRotation:
    """Push `new_secrets` to every device in order; on the first failure put the changed devices back."""
    result = PskRotation(ROTATED)
    for position, device in enumerate(devices):
        try:
            apply(device, new_secrets)
        except DriverError as failure:
            result.failed[device] = str(failure)
            result.not_attempted = list(devices[position + 1:])
            break
        result.rotated.append(device)
    if not result.failed:
        return result
    for device in list(result.rotated):
        try:
            apply(device, old_secrets)
        except DriverError as failure:
            result.split[device] = str(failure)
            continue
        result.rotated.remove(device)
        result.reverted.append(device)
    result.outcome = SPLIT if result.split else KEPT_OLD
    return result
