"""A scripted firmware driver for UNIT tests of the procedure and the scheduler (the lab tests use real drivers)."""

from __future__ import annotations

import datetime as dt
import threading

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import FirmwareDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    ConnectionFailed,
    DeviceUnreachable,
    TransferFailed,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import MaintenanceSchedule, Window


class FakeFleet:
    """Shared state of every fake device: versions, scripted faults, calls seen."""

    def __init__(self):
        self.versions: dict[str, str] = {}
        self.faults: dict[str, str] = {}          # device -> "stage" | "no_return" | "old_version" | "connect"
        self.busy_until_call: dict[str, int] = {}  # device -> number of is_busy() calls answering True
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.on_wait = None      # called with the device name while it "reboots" (wait_until_back)

    def log(self, device, step):
        with self.lock:
            self.calls.append((device, step))

    def steps_of(self, device):
        return [step for name, step in self.calls if name == device]


class FakeDriver(FirmwareDriver):
    """The firmware contract scripted by FakeFleet; the session is __enter__ (a "connect" fault refuses it)."""

    reboot_seconds = 2

    def __init__(self, fleet: FakeFleet, name: str, model: str = "M1", reboot_seconds: float = 2):
        self.fleet, self.name, self.model = fleet, name, model
        self.options = {"reboot_seconds": reboot_seconds}
        self.reboot_timeout_factor = 1.0

    def __enter__(self):
        if self.fleet.faults.get(self.name) == "connect":
            raise ConnectionFailed("refused", self.name)
        return self

    def __exit__(self, *exc):
        return False

    def open(self):
        self.__enter__()

    def close(self):
        pass

    def get_facts(self):
        return {"os_version": self.fleet.versions[self.name], "model": self.model}

    def get_firmware(self):
        return {"version": self.fleet.versions[self.name], "model": self.model}

    def precheck(self, target):
        self.fleet.log(self.name, "precheck")
        return {}

    def stage(self, target):
        self.fleet.log(self.name, "stage")
        if self.fleet.faults.get(self.name) == "stage":
            raise TransferFailed("cut mid-way", self.name)
        return {}

    def is_busy(self):
        left = self.fleet.busy_until_call.get(self.name, 0)
        if left:
            self.fleet.busy_until_call[self.name] = left - 1
        return bool(left)

    def activate(self, target):
        self.fleet.log(self.name, "activate")
        self.previous = self.fleet.versions[self.name]
        if self.fleet.faults.get(self.name) not in ("old_version", "no_return"):
            self.fleet.versions[self.name] = target.version

    def wait_until_back(self, timeout):
        self.fleet.log(self.name, "wait")
        if self.fleet.on_wait is not None:
            self.fleet.on_wait(self.name)
        if self.fleet.faults.get(self.name) == "library_error":
            raise RuntimeError("a library raised something nobody mapped")
        if self.fleet.faults.get(self.name) == "no_return":
            raise DeviceUnreachable(f"no answer within {timeout:.0f}s", self.name)

    def postcheck(self, target, before):
        self.fleet.log(self.name, "postcheck")
        if self.fleet.versions[self.name] != target.version:
            raise VerificationFailed(f"runs {self.fleet.versions[self.name]}, not {target.version}", self.name)
        return {}

    def recover(self, target, before):
        self.fleet.log(self.name, "recover")
        self.fleet.versions[self.name] = before["version"]
        return {"version": before["version"]}


def open_window_schedule(now: dt.datetime, before=dt.timedelta(hours=1), after=dt.timedelta(hours=2),
                         timezone="UTC") -> MaintenanceSchedule:
    """A schedule whose only window opened ``before`` ago and closes ``after`` from ``now`` (minute precision)."""
    start = (now - before).replace(second=0, microsecond=0)
    window = Window("test-window", frozenset({start.weekday()}), start.time().replace(tzinfo=None),
                    (now + after) - start)
    return MaintenanceSchedule(timezone, [window])
