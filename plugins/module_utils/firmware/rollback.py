"""Roll a device back to its previous firmware - through the same rollout and upgrade procedure as any upgrade.

"Previous" comes from the audit trail: the newest successful upgrade of the device (a `firmware_attempt` record with
result `upgraded` that was not itself a rollback) names the version it came from. The build of that version (image
file + sha256) is, in this order: an entry of the operator's catalog (`builds`, shaped like a firmware baseline), or
the checksum an earlier upgrade TO that version recorded, matched against the files of the firmware store. The
procedure then does what the vendor way is (docs/firmware.md): a switch finds the image still on flash (the transfer
is skipped when the checksum matches), verifies it and boots it (`boot system` + reload, or `install`); a phone is
pointed at the previous build on the provisioning server. Maintenance windows and force + reason apply unchanged.

A device that already runs its previous version is `compliant` (a second rollback changes nothing); the rollback's
own record carries `rollback: true`, so it is never taken for the upgrade to undo.
"""

from __future__ import annotations

import os

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target, file_sha256
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import RECORD_KIND
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import DeviceSpec, Rollout

UPGRADED = "upgraded"


def last_upgrade(records: list[dict], device: str) -> dict | None:
    """The newest successful upgrade of ``device`` that was not a rollback."""
    upgrades = [r for r in records if r.get("kind") == RECORD_KIND and r.get("device") == device
                and r.get("result") == UPGRADED and not r.get("rollback")]
    return upgrades[-1] if upgrades else None


def store_file_with(firmware_dir: str, sha256: str) -> str | None:
    """Name of the firmware store file whose sha256 is ``sha256``."""
    if not firmware_dir or not os.path.isdir(firmware_dir):
        return None
    for name in sorted(os.listdir(firmware_dir)):
        path = os.path.join(firmware_dir, name)
        if os.path.isfile(path) and file_sha256(path) == sha256.lower():
            return name
    return None


def previous_build(device: DeviceSpec, records: list[dict], builds: list[dict], firmware_dir: str) -> Target | str:
    """The Target of the firmware ``device`` ran before its last upgrade, or why it cannot be rolled back."""
    upgrade = last_upgrade(records, device.name)
    if upgrade is None:
        return f"no upgrade of {device.name} in the audit trail: nothing to roll back to"
    version = str(upgrade.get("from_version") or "")
    if not version:
        return f"the last upgrade of {device.name} did not record the version it came from"
    for build in builds:
        if (build.get("platform"), build.get("model"), str(build.get("version"))) == (
                device.platform, device.model, version):
            try:
                return Target.from_baseline(build, firmware_dir)
            except InvalidValue as exc:
                return f"rollback build of {device.name}: {exc}"
    earlier = [r for r in records if r.get("kind") == RECORD_KIND and r.get("platform") == device.platform
               and r.get("model") == device.model and str(r.get("to_version")) == version
               and r.get("result") == UPGRADED and r.get("checksum")]
    image = store_file_with(firmware_dir, earlier[-1]["checksum"]) if earlier else None
    if image is None:
        return (f"{device.name} ran {version} before its last upgrade, but that build is unknown here: list it in "
                "the rollback builds (platform, model, version, image, sha256) and put the image in the firmware "
                "store")
    return Target.from_baseline({"platform": device.platform, "model": device.model, "version": version,
                                 "image": image, "sha256": earlier[-1]["checksum"]}, firmware_dir)


class RollbackRollout(Rollout):
    """A rollout whose target for each device is its previous build (see the module docstring)."""

    def __init__(self, *args, records: list[dict], builds: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.records = records
        self.builds = builds

    def target_for(self, device: DeviceSpec) -> Target | str:
        return previous_build(device, self.records, self.builds, self.firmware_dir)
