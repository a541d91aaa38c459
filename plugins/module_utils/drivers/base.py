# -*- coding: utf-8 -*-
"""The one contract every platform driver implements (napalm-style).

One base class per device family; each platform lives in its own file and registers itself in
`registry.py`. Modules never switch on the platform: they ask the registry for a driver.
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, TypedDict

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    DriverError,
    VerificationFailed,
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
    """Devices configured by text (switches, WLCs, APs): the napalm candidate life cycle.

    load_candidate(lines) → compare() (a unified diff of running vs candidate) → commit() / discard();
    rollback() restores the backup taken by commit().
    """

    @abc.abstractmethod
    def get_config(self, source: str = "running") -> str:
        """The device's configuration text ("running" or "startup")."""

    @abc.abstractmethod
    def load_candidate(self, lines: list[str]) -> None:
        """Stage configuration lines (validated against injection first; raise InvalidValue)."""

    @abc.abstractmethod
    def compare(self) -> str:
        """Diff of what commit() would change; empty string when nothing would."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Back up, apply the staged lines, read back and verify (raise VerificationFailed), save."""

    @abc.abstractmethod
    def discard(self) -> None:
        """Drop the staged lines."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Restore the configuration saved before the last commit()."""

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
    """Devices whose firmware the toolkit upgrades (switches, phones)."""

    reboot_seconds: int = 600   # typical time from reload to answering again; drivers refine it per model

    @abc.abstractmethod
    def get_firmware(self) -> dict:
        """{"version": …, "image": …, "model": …} as running now."""
