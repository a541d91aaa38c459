"""The upgrade procedure of ONE device, driver-agnostic (see drivers.base.FirmwareDriver for the steps).

gate on the baseline -> pre-checks -> stage + verify -> [window gate] -> [idle?] -> INTENT -> activate -> wait ->
post-checks; any failure after activate -> recover (previous image + config) and report the device failed with the
reason. Non-disruptive steps run at any time; the window gate stands only in front of activate.

INTENT: a `started` record (device, from, to, attempt and run id, what the post-checks need) is written to the
audit trail and fsynced before activate; when it cannot be written nothing disruptive happens. A run killed after
it leaves that record without an end: the next run calls `reconcile_device` first (post-checks against the saved
evidence -> `upgraded` "completed after interruption", or `failed` + recovery) and only then judges the device.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import FirmwareDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import DeviceBusy, DriverError
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    utc_now,
)

# Result values of one device.
COMPLIANT = "compliant"          # already on the baseline: nothing done
PLANNED = "planned"              # check mode: would be upgraded
UPGRADED = "upgraded"
STAGED = "staged"                # pre-staging pass done (intermediate: becomes another result in the batch)
FAILED = "failed"                # failed; `recovered` says whether it is back on a known-good image
BUSY = "busy"                    # a phone in a call: retried later in the window, never forced
DEFERRED = "deferred"            # the step would not finish before the window closes: not started
NOT_STARTED = "not_started"      # the rollout stopped before this device
NO_BASELINE = "no_baseline"      # the policy has no approved firmware for this platform + model
SKIPPED_BUSY = "skipped_busy"    # still in a call when the retries ran out (count or window end): not rebooted
STARTED = "started"              # the intent record written before activate (never a final result)
COMPLETED_AFTER_INTERRUPTION = "completed after interruption"


class WindowClosed(Exception):
    """A disruptive step may not start now; the message names the next window."""


@dataclass
class Gate:
    """Maintenance-window gate in front of every disruptive step."""

    schedule: MaintenanceSchedule
    force: bool = False
    force_reason: str = ""
    clock: Callable[[], dt.datetime] = utc_now

    def __post_init__(self):
        if self.force and not self.force_reason.strip():
            raise ValueError("force needs a force_reason (it is recorded in the audit trail)")

    def refusal(self, step_seconds: float) -> str | None:
        return self.schedule.refusal(self.clock(), step_seconds)

    def admit(self, step_seconds: float) -> bool:
        """True when admitted only because of force; raise WindowClosed when refused and not forced."""
        refusal = self.refusal(step_seconds)
        if refusal is None:
            return False
        if self.force:
            return True
        raise WindowClosed(refusal)


@dataclass
class DeviceResult:
    """One line of the closing summary (and the content of the device's audit record)."""

    device: str
    platform: str
    model: str
    before: str = ""
    after: str = ""
    target: str = ""
    checksum: str = ""
    result: str = PLANNED
    reason: str = ""
    batch: int = 0
    start: str = ""
    end: str = ""
    duration_seconds: float = 0.0
    attempts: int = 0
    forced: bool = False
    recovered: bool | None = None
    steps: list[str] = field(default_factory=list)
    attempt_id: str = ""
    step_seconds: dict[str, float] = field(default_factory=dict, repr=False)   # the rollout's stage timings

    @property
    def changed(self) -> bool:
        return self.result == UPGRADED or (self.result == FAILED and "activate" in self.steps)

    def as_dict(self) -> dict:
        record = asdict(self)
        del record["step_seconds"]
        return {**record, "changed": self.changed}


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def upgrade_device(driver: FirmwareDriver, target: Target, gate: Gate, result: DeviceResult,
                   check_mode: bool = False, stage_only: bool = False, staged: bool = False,
                   intent: Callable[[DeviceResult, dict], None] | None = None) -> DeviceResult:
    """Run the procedure on an OPEN driver; fill and return ``result``. Never raises.

    ``stage_only``: stop after the non-disruptive steps (the rollout pre-stages every device before the first
    batch); ``staged``: the image was staged and verified earlier in this run, skip the transfer.
    ``intent(result, evidence)``: writes the durable `started` record just before activate (raising stops the
    attempt before anything disruptive)."""
    started = time.monotonic()
    result.start = result.start or _now_iso()
    result.attempts += 0 if stage_only or check_mode else 1
    result.target, result.checksum = target.version, target.sha256
    before: dict = {}
    try:
        before = driver.get_firmware()
        result.before = result.before or str(before.get("version", ""))
        result.after = str(before.get("version", ""))
        if result.after == target.version:
            result.result, result.reason = COMPLIANT, "already runs the baseline"
            return result
        if check_mode:
            result.result, result.reason = PLANNED, f"would upgrade {result.after} -> {target.version}"
            return result
        _step(result, "precheck", driver.precheck, target)
        if not staged:
            _step(result, "stage", driver.stage, target)
        if stage_only:
            result.result, result.reason = STAGED, "image staged and verified"
            return result
        result.forced = gate.admit(driver.reboot_timeout) or result.forced
        if driver.is_busy():
            raise DeviceBusy("in a call: the reboot is postponed, retried later in the window", result.device)
        if intent is not None:
            _step(result, "intent", intent, result, {"before": before, **driver.resume_evidence(target)})
        _step(result, "activate", driver.activate, target)
        _step(result, "wait", driver.wait_until_back, driver.reboot_timeout)
        _step(result, "postcheck", driver.postcheck, target, before)
        result.after = target.version
        result.result, result.reason = UPGRADED, ""
    except WindowClosed as exc:
        result.result, result.reason = DEFERRED, str(exc)
    except DeviceBusy as exc:
        result.result, result.reason = BUSY, str(exc)
        if "activate" in result.steps:       # it postponed a reboot it was asked for: the request is withdrawn
            _withdraw(driver, target, before, result)   # (provisioning), the attempt stays open (records.py)
    except Exception as exc:
        detail = str(exc) if isinstance(exc, DriverError) else f"unexpected {type(exc).__name__}: {exc}"
        result.result, result.reason = FAILED, f"{result.steps[-1] if result.steps else 'read'}: {detail}"
        if "activate" in result.steps:
            _recover(driver, target, before, result)
        else:
            result.recovered = True    # nothing disruptive happened: the device never left its image
    finally:
        result.end = _now_iso()
        result.duration_seconds = round(result.duration_seconds + time.monotonic() - started, 3)
    return result


def _step(result: DeviceResult, name: str, function, *args):
    result.steps.append(name)
    started = time.monotonic()
    try:
        return function(*args)
    finally:
        result.step_seconds[name] = round(result.step_seconds.get(name, 0.0) + time.monotonic() - started, 3)


def _withdraw(driver: FirmwareDriver, target: Target, before: dict, result: DeviceResult) -> None:
    try:
        driver.recover(target, before)
        result.reason += ("; the upgrade request was withdrawn, but the phone may install an image it already "
                          "fetched when the call ends: the next run post-checks it")
    except Exception as exc:
        result.reason += (f"; withdrawing the upgrade request failed ({exc}): the phone may install the image "
                          "after the call; the next run post-checks it")


def _recover(driver: FirmwareDriver, target: Target, before: dict, result: DeviceResult) -> None:
    try:
        found = driver.recover(target, before)
        result.recovered = True
        result.after = str((found or {}).get("version", result.after))
        result.reason += f"; recovered on {result.after}"
    except Exception as exc:
        result.recovered = False
        result.reason += f"; RECOVERY FAILED ({exc}): the device needs hands-on attention"


def reconcile_device(driver: FirmwareDriver, target: Target, started: dict, result: DeviceResult) -> DeviceResult:
    """Finish an attempt a killed run left unfinished (its `started` record, see the module docstring): run the
    post-checks against the evidence saved before activate; the device passes -> UPGRADED "completed after
    interruption", else FAILED and recovered onto its previous image and configuration. Never raises."""
    evidence = started.get("evidence") or {}
    before = evidence.get("before") or {"version": started.get("from_version")}
    result.start, result.attempt_id = _now_iso(), str(started.get("attempt_id") or "")
    result.before, result.target, result.checksum = str(before.get("version", "")), target.version, target.sha256
    started_at = time.monotonic()
    try:
        _step(result, "reconcile", driver.restore_evidence, evidence)
        now = driver.get_firmware()
        result.after = str(now.get("version", ""))
        if result.after != target.version:
            raise DriverError(f"interrupted: the device runs {result.after or '?'}, not {target.version}")
        _step(result, "postcheck", driver.postcheck, target, before)
        result.result, result.reason = UPGRADED, COMPLETED_AFTER_INTERRUPTION
    except Exception as exc:
        detail = str(exc) if isinstance(exc, DriverError) else f"unexpected {type(exc).__name__}: {exc}"
        result.result, result.reason = FAILED, f"after interruption: {detail}"
        result.steps.append("activate")        # the interrupted run had activated: recovery is due
        _recover(driver, target, before, result)
    finally:
        result.end = _now_iso()
        result.duration_seconds = round(time.monotonic() - started_at, 3)
    return result
