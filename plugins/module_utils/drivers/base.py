# -*- coding: utf-8 -*-
"""The one contract every platform driver implements (napalm-style).

A base class per device family (`ConfigDriver` for text-configured network devices, `FirmwareDriver` for
devices the toolkit upgrades) and one abstract class per capability beyond it (`SnmpUsers`, `DeviceBackup`,
`LocalLogin`, `AdminPassword`, `PhoneHardening`, `WirelessConfig`). Each platform lives in its own file and has one
row in `registry.py`: its class and the capabilities it declares. Modules never switch on the platform: they ask the
registry for the driver of a capability (`registry.driver_for(platform, "snmp")`); docs/architecture.md.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar, TypedDict

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    DriverError,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import (
    REBOOT_TIMEOUT_FACTOR,
    Target,
)


class DeviceFacts(TypedDict, total=False):
    """What every driver's `get_facts()` returns (keys absent when the device cannot tell)."""

    hostname: str
    vendor: str
    platform: str          # the site-policy platform value, e.g. "cisco_ios"
    model: str
    serial: str
    os_version: str        # software / firmware version as the vendor prints it
    image: str             # running image file, when the platform has one
    uptime_seconds: int
    last_reboot_reason: str
    mac_address: str


class ConnectionParams(TypedDict, total=False):
    host: str
    port: int
    username: str
    password: str
    timeout: int
    known_hosts_file: str  # SSH drivers: the site's known_hosts; unknown keys are refused, never added


class Driver(abc.ABC):
    """Session life cycle + facts, common to every device family.

    Example:
        with get_driver("cisco_ios")(host="127.0.0.1", port=22001, username="admin", password="…") as dev:
            dev.get_facts()  # -> {"hostname": "sw-core-01", "model": "C9300-24P", "os_version": "17.9.4", …}
    """

    platform: str = ""
    vendor: str = ""

    def __init__(self, host: str, port: int | None = None, username: str = "", password: str = "",
                 timeout: int = 30, known_hosts_file: str | None = None, name: str | None = None,
                 **options: Any):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.timeout = timeout
        self.known_hosts_file = known_hosts_file
        self.name = name or host
        self.options = options

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()

    @abc.abstractmethod
    def open(self) -> None:
        """Connect and authenticate; raise ConnectionFailed / AuthenticationFailed / HostKeyMismatch."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the session; never raises."""

    @abc.abstractmethod
    def get_facts(self) -> DeviceFacts:
        """Model, serial, version … as the device reports them."""


class ConfigDriver(Driver):
    """Devices configured by text (switches, WLCs, APs): the candidate life cycle modules use.

        driver.load_candidate(commands)     # the differences a planner computed from get_config() (pure, offline)
        driver.commit(verify=check)         # backup, apply, read back, check(running_text), save; or roll back
        driver.rollback()                   # restore what commit() backed up (after a failure commit() does it)

    There is no compare() / discard(): the diff a user reviews (--diff, check mode) is computed by the planners
    (`iosconfig.diff_config`, `wireless.*_plan`) from the running config read in the same session, so the
    driver would be a second diff that could disagree; and a candidate is never staged on the device before
    commit(), so dropping the driver object is the discard.
    """

    backup_file: str | None = None   # the on-device backup of the last commit() (e.g. flash:aiphone-backup-…cfg)
    rolled_back: bool = False        # a failed change was undone and the restore read back (modules report it)

    @abc.abstractmethod
    def get_config(self, source: str = "running") -> str:
        """The device's configuration text ("running" or "startup")."""

    @abc.abstractmethod
    def load_candidate(self, lines: list[str]) -> None:
        """Stage configuration lines in this object (validated against injection first; raise InvalidValue)."""

    @abc.abstractmethod
    def commit(self, verify: Callable[[str], list[str]] | None = None) -> None:
        """Back up, apply the staged lines, read back and check them; `verify(running_text) -> problems` adds the
        caller's check of the whole intent. Any failure: rolled back (`rolled_back`), raised as VerificationFailed /
        CommandRejected with every problem. Nothing staged: nothing done."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Restore the configuration saved before the last commit(); read back, VerificationFailed if it differs."""

    @abc.abstractmethod
    def controller_address(self) -> str | None:
        """The controller's address as the device sees this session (for lock-out guards); None if unknown."""

    @contextlib.contextmanager
    def restored_on_failure(self, by_hand: str = ""):
        """A change that, on any DriverError, is rolled back before the error goes on; a failed rollback is named.

        `by_hand` tells the operator what to restore when the rollback itself fails.
        """
        try:
            yield
        except DriverError as failure:
            try:
                self.rollback()
            except DriverError as restore_failure:
                raise VerificationFailed(f"{failure} -- AND THE ROLLBACK FAILED: {restore_failure}{by_hand}",
                                         device=self.name, problems=failure.problems) from failure
            raise


# -- capabilities: what a platform can do beyond its family (registry.CAPABILITIES names them) ----------------------
class SnmpUsers(abc.ABC):
    """Capability "snmp": the SNMPv3 users a device has (they are never in the running config)."""

    @abc.abstractmethod
    def get_snmp_users(self) -> list[dict]:
        """`show snmp user` as records: [{"user_name": "nms", "group_name": "AIPHONE-RO",
        "authentication_protocol": "SHA", "privacy_protocol": "AES128", …}]."""


class DeviceBackup(abc.ABC):
    """Capability "device_backup": backups of the running config kept ON the device, restorable from it."""

    @abc.abstractmethod
    def backup(self, running: str) -> str:
        """Back the running config (`running`, just read) up on the device; returns the backup's name, which
        rollback() restores."""

    @abc.abstractmethod
    def backups(self) -> list[str]:
        """The toolkit's backups on the device, oldest first (names as backup() returns them)."""

    @abc.abstractmethod
    def restore(self, name: str) -> None:
        """Make the running config the content of backup `name` (read back; VerificationFailed if it differs)."""

    @abc.abstractmethod
    def save(self) -> None:
        """Make the running config the startup config (`write memory`), confirmed by the device."""


class LocalLogin(DeviceBackup):
    """Capability "login_secret": a local user whose secret is changed by a config line and proved by a new login
    (ops.rotation). The steps are the ones commit() uses, without its read-back (a hashed secret cannot be read
    back): backup() first, push(), then rollback() or save()."""

    @abc.abstractmethod
    def push(self, lines: list[str]) -> None:
        """Apply lines to the running config, unchecked (the caller proves them); CommandRejected on refusal."""


class AdminPassword(abc.ABC):
    """Capability "admin_password": a phone's one admin password, changed the vendor's way (ops.credentials)."""

    @abc.abstractmethod
    def change_admin_password(self, new_password: str) -> None:
        """Ask the phone to take ``new_password`` (guarded already); it may apply it later (provisioning fetch)."""

    @abc.abstractmethod
    def clear_password_staging(self) -> list[str]:
        """Remove the new password from wherever it was staged (provisioning files); notes for the operator."""


class PhoneHardening(abc.ABC):
    """Capability "phone_hardening": documented provisioning parameters that put the phone on the checklist."""

    hardening: ClassVar[dict[str, str]] = {}       # {parameter: value}, docs/vendor-fidelity.md
    not_covered: ClassVar[tuple[str, ...]] = ()    # what the checklist asks that no public source documents

    @abc.abstractmethod
    def harden(self) -> dict:
        """Provision ``hardening`` and read it back: {"changed", "settings", "verified_by", "not_covered"}."""

    @abc.abstractmethod
    def hardening_read_back(self) -> dict[str, str]:
        """The hardening parameters as the phone holds them now (read-only evidence)."""


class WirelessConfig(abc.ABC):
    """Capability "wireless": this platform's planner of the policy's SSIDs, and its check of a key change."""

    @classmethod
    @abc.abstractmethod
    def wireless_plan(cls, intents: list, config_text: str, enable_radios: bool = True, rotate_keys: bool = False,
                      policy_tag: str = "default-policy-tag") -> tuple[list[str], list[str]]:
        """(commands, findings) that bring `config_text` to the SSID intents (pure; no device)."""

    @classmethod
    @abc.abstractmethod
    def key_change_problems(cls, before: str, after: str, profiles: list[str]) -> list[str]:
        """After a passphrase change: what the plan of `after` cannot see (a key stored encrypted must at least
        differ from the one in `before`); [] when the plan's read-back covers the keys."""


SHOWN_PROBLEMS = 10


def listed(problems: list[str], shown: int = SHOWN_PROBLEMS) -> str:
    """The first `shown` problems, then how many more (the caller returns the whole list beside the message)."""
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; and {more} more (all of them in `problems`)" if more > 0 else "")


def change_failure(device: str, cause: str, problems: list[str], rollback_error: str | None,
                   restore: str) -> str:
    """The operator's message of a failed change, in this order: device, the cause and what was refused or
    missing, whether the rollback worked and, when it did not, what to restore by hand and from where."""
    cause = cause.removeprefix(f"{device}: ")
    text = f"{device}: change failed: {cause}"
    if problems:
        text += f". Refused or missing ({len(problems)}): {listed(problems)}"
    if rollback_error is None:
        return text + ". ROLLED BACK: the running config is the pre-change one again (read back and compared)"
    return text + f". THE ROLLBACK FAILED: {rollback_error.removeprefix(f'{device}: ')}. RESTORE BY HAND: {restore}"


class FirmwareDriver(Driver):
    """Capability "firmware": devices whose firmware the toolkit upgrades (switches, phones). The upgrade procedure
    (firmware.procedure) and the rollout scheduler only ever talk to these steps, in this order:

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

    reboot_seconds: int = 600   # typical time from reload to answering again; drivers refine it per model
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
        """{"version": …, "image": …, "model": …} as running now."""

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
