"""Staged rollout of firmware over many devices: canary per model, then batches, stop on a failure threshold.

    survey (read every device's firmware, in parallel, non-disruptive)
      -> plan (canary batch: N or P% of each model's outdated devices; then batches of `batch_size`)
      -> stage the canary batch's images (transfer + verify, non-disruptive)
      -> run batch by batch; within a batch devices upgrade in parallel (phones reboot together); while batch k
         reboots, batch k+1's images are transferred and verified (pipelined staging: the transfers of a site on
         a slow link overlap the reboots instead of all coming first)
      -> a batch whose failure rate passes `max_fail_percentage` stops the rollout (the canary batch stops it at
         the first failure); a device whose step would not fit in the window is not started, and no later batch is
      -> phones busy in a call are retried every `busy_retry_seconds`, at most `busy_retry_max` times and never past
         the window's end (forced runs too); then `skipped_busy`, recorded, not rebooted
      -> summary: every device with before/after, result, duration, batch; `not_attempted` lists the others.

Interrupted runs: before activate each device gets a `started` record (procedure.py); a device whose newest attempt
has no end record (``history``: the site's firmware_attempt records) is reconciled in the survey, before it is
judged: post-checks against the saved evidence, then `completed after interruption` or `failed` + recovery.

Check mode = survey + plan + estimate: which devices would change, in which batch, estimated duration, whether it
fits the window. Why a scheduler inside one module instead of Ansible's `serial`/`max_fail_percentage`: canaries per
model, parallel reboots of hundreds of phones without a forked module process per phone, and "retry a busy phone
later in the window" all need one view of the whole rollout (see docs/firmware.md).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.policy import baseline_for
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import unfinished_attempts
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import format_duration


@dataclass(frozen=True)
class DeviceSpec:
    """One device to consider: its policy identity and how to reach it (driver constructor keyword arguments)."""

    name: str
    platform: str
    model: str
    connection: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class RolloutOptions:
    canary: str = "1"                 # per model: a count ("2") or a percentage ("10%") of its outdated devices
    batch_size: str = "25%"           # a count or a percentage of all outdated devices
    max_fail_percentage: float = 0.0  # a batch with a higher failure rate stops the rollout
    parallel: int = 64                # devices upgraded at once within a batch
    busy_retry_seconds: float = 60.0
    busy_retry_max: int = 10          # retries of a busy phone, forced or not
    prestage: bool = True             # transfer + verify each batch's images ahead of it (while the one before
                                      # reboots); False: each device transfers inside its own batch
    check_mode: bool = False


def parse_share(value: str | int, total: int, what: str) -> int:
    """'3' -> 3, '10%' -> ceil(10% of total), at least 1 (when total > 0)."""
    text = str(value).strip()
    try:
        count = math.ceil(total * float(text[:-1]) / 100) if text.endswith("%") else int(text)
    except ValueError:
        raise ValueError(f"{what} {value!r} must be a count like 5 or a percentage like 10%") from None
    if count < 0 or (text.endswith("%") and not 0 < float(text[:-1]) <= 100):
        raise ValueError(f"{what} {value!r} must be a positive count or a percentage in (0, 100]")
    return min(max(count, 1), total) if total else 0


@dataclass
class Plan:
    batches: list[list[DeviceSpec]]
    results: dict[str, proc.DeviceResult]      # every device, in input order
    targets: dict[str, Target]
    reboot_seconds: dict[str, float]

    def estimated_seconds(self) -> float:
        """Sequential batches, each as long as its slowest device's reboot."""
        return sum(max(self.reboot_seconds[d.name] for d in batch) for batch in self.batches)


class Rollout:
    """Runs one staged rollout; ``driver_factory(spec)`` returns an unopened driver (a context manager)."""

    def __init__(self, devices: list[DeviceSpec], policy: dict, gate: proc.Gate, options: RolloutOptions,
                 driver_factory: Callable[[DeviceSpec], object], firmware_dir: str = "",
                 record: Callable[[dict], None] | None = None, history: list[dict] | None = None):
        self.devices = devices
        self.policy = policy
        self.gate = gate
        self.options = options
        self.driver_factory = driver_factory
        self.firmware_dir = firmware_dir
        self._record = record
        self._record_lock = threading.Lock()
        self._staged: set[str] = set()
        self.unfinished = unfinished_attempts(history or [])
        self.reconciled: list[dict] = []
        self.stopped_reason = ""
        # seconds per stage: the survey; per batch, its staging (overlapping the previous batch's reboots), the
        # time the batch waited for that staging, the batch itself; the busy retries; per step, over the devices
        self.timings: dict = {"survey_seconds": 0.0, "staging_seconds": [], "staging_wait_seconds": [],
                              "batch_seconds": [], "busy_retry_seconds": 0.0, "steps": {}}
        self.progress: Callable[[str], None] | None = None     # told after every batch (see _report_progress)

    # -- survey + plan ---------------------------------------------------------------------------------------
    def plan(self) -> Plan:
        results = {d.name: proc.DeviceResult(d.name, d.platform, d.model) for d in self.devices}
        targets: dict[str, Target] = {}
        for device in self.devices:
            target = self.target_for(device)
            if isinstance(target, str):
                results[device.name].result, results[device.name].reason = proc.NO_BASELINE, target
            else:
                targets[device.name] = target
        surveyed = [d for d in self.devices if d.name in targets]
        self._parallel(self._survey, surveyed, results, targets)
        outdated = [d for d in surveyed if results[d.name].result in (proc.PLANNED, proc.STAGED)]
        reboot = {d.name: float(self.driver_factory(d).reboot_timeout) for d in outdated}
        return Plan(self._batches(outdated), results, targets, reboot)

    def target_for(self, device: DeviceSpec) -> Target | str:
        """The build this rollout brings ``device`` to: its model's baseline, or why there is none."""
        baseline = baseline_for(self.policy, device.platform, device.model)
        if baseline is None:
            return f"no firmware baseline for {device.platform} {device.model} in the policy"
        return Target.from_baseline(baseline, self.firmware_dir)

    def _survey(self, device: DeviceSpec, results, targets) -> None:
        """Read the running firmware (the procedure in check mode): compliant, planned or failed; an attempt an
        interrupted run left open is reconciled first (outside check mode)."""
        result = results[device.name]
        started = self.unfinished.get(device.name)
        try:
            with self.driver_factory(device) as driver:
                if started and not self.options.check_mode:
                    self._reconcile(driver, device, started)
                proc.upgrade_device(driver, targets[device.name], self.gate, result, check_mode=True)
                if started and self.options.check_mode:
                    result.reason += (f"; attempt {started.get('attempt_id')} of run {started.get('run_id')} was "
                                      "interrupted: a real run post-checks it first")
        except Exception as exc:
            result.result, result.reason = proc.FAILED, f"connect: {exc}"
            result.recovered = True
        result.start, result.duration_seconds = "", 0.0

    def _stage(self, device: DeviceSpec, results, targets) -> None:
        """Transfer + verify ``device``'s image ahead of its batch (non-disruptive: allowed at any time; minutes per
        switch image on real gear). A device that fails to stage is reported failed, recorded and left out of its
        batch; one that turns out compliant meanwhile is left alone."""
        result = results[device.name]
        try:
            with self.driver_factory(device) as driver:
                proc.upgrade_device(driver, targets[device.name], self.gate, result, stage_only=True)
        except Exception as exc:
            result.result, result.reason = proc.FAILED, f"connect: {exc}"
            result.recovered = True
        if result.result == proc.STAGED:
            self._staged.add(device.name)
        elif result.steps:                      # a staging attempt that failed
            self.record(result)
        self._time_steps(result)
        result.start, result.duration_seconds = "", 0.0

    def _stage_batch(self, batch: list[DeviceSpec], plan: Plan) -> float:
        started = time.monotonic()
        self._parallel(self._stage, batch, plan.results, plan.targets)
        return round(time.monotonic() - started, 2)

    def _time_steps(self, result: proc.DeviceResult) -> None:
        with self._record_lock:
            for step, seconds in result.step_seconds.items():
                self.timings["steps"].setdefault(step, []).append(seconds)
        result.step_seconds = {}

    def _reconcile(self, driver, device: DeviceSpec, started: dict) -> None:
        """Post-check (or recover) the attempt an interrupted run left on ``device``, and record the outcome."""
        outcome = proc.DeviceResult(device.name, device.platform, device.model)
        evidence = started.get("evidence") or {}
        target = Target.from_baseline({"platform": device.platform, "model": device.model,
                                       "version": started.get("to_version"), "sha256": started.get("checksum"),
                                       "image": evidence.get("image") or "unknown"}, self.firmware_dir)
        proc.reconcile_device(driver, target, started, outcome)
        outcome.forced = bool(started.get("forced"))
        self.reconciled.append(outcome.as_dict())
        self.record(outcome)

    def intent(self, result: proc.DeviceResult, evidence: dict) -> None:
        """The durable `started` record before activate (the trail fsyncs it); raising stops the attempt."""
        result.attempt_id = uuid.uuid4().hex
        if self._record is None:
            return
        with self._record_lock:
            self._record({**result.as_dict(), "result": proc.STARTED, "reason": "activating", "end": "",
                          "evidence": evidence})

    def _batches(self, outdated: list[DeviceSpec]) -> list[list[DeviceSpec]]:
        by_model: dict[tuple[str, str], list[DeviceSpec]] = {}
        for device in outdated:
            by_model.setdefault((device.platform, device.model), []).append(device)
        canary = [d for group in by_model.values()
                  for d in group[:parse_share(self.options.canary, len(group), "canary")]]
        rest = [d for d in outdated if d not in canary]
        size = parse_share(self.options.batch_size, len(rest), "batch_size")
        return [batch for batch in [canary, *(rest[i:i + size] for i in range(0, len(rest), size or 1))] if batch]

    # -- run --------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        plan = self.plan()
        self.timings["survey_seconds"] = round(time.monotonic() - started, 2)
        for number, batch in enumerate(plan.batches):
            for device in batch:
                plan.results[device.name].batch = number
        if not self.options.check_mode:
            self._run_batches(plan)
        return self.summary(plan, time.monotonic() - started)

    def _run_batches(self, plan: Plan) -> None:
        """Batch by batch; with ``prestage`` the canary batch is staged first and batch k+1 is staged in the
        background while batch k runs (a stopped rollout stages nothing more)."""
        busy: list[DeviceSpec] = []
        batches = plan.batches
        with ThreadPoolExecutor(max_workers=1) as stager:
            staging = stager.submit(self._stage_batch, batches[0], plan) if batches and self.options.prestage else None
            for number, batch in enumerate(batches):
                if self.stopped_reason:
                    if staging is not None:         # a transfer in flight is finished, never cut
                        self.timings["staging_seconds"].append(staging.result())
                        staging = None
                    self._mark_not_started(plan, batch)
                    continue
                if staging is not None:
                    waited = time.monotonic()
                    self.timings["staging_seconds"].append(staging.result())
                    self.timings["staging_wait_seconds"].append(round(time.monotonic() - waited, 2))
                    ready = [d for d in batch if d.name in self._staged]
                    upcoming = batches[number + 1] if number + 1 < len(batches) else None
                    staging = stager.submit(self._stage_batch, upcoming, plan) if upcoming else None
                else:
                    ready = [d for d in batch if plan.results[d.name].result in (proc.PLANNED, proc.STAGED)]
                batch_started = time.monotonic()
                self._parallel(self._upgrade, ready, plan.results, plan.targets)
                self.timings["batch_seconds"].append(round(time.monotonic() - batch_started, 2))
                busy += [d for d in ready if plan.results[d.name].result == proc.BUSY]
                self._judge_batch(number, [plan.results[d.name] for d in ready])
                self._report_progress(plan, number)
        retries_started = time.monotonic()
        self._retry_busy(plan, busy)
        self.timings["busy_retry_seconds"] = round(time.monotonic() - retries_started, 2)

    def _report_progress(self, plan: Plan, number: int) -> None:
        """'batch k of n (canary): done d, failed f, remaining r; about s s left' - the estimate is the mean batch
        duration so far times the batches left."""
        if self.progress is None:
            return
        in_batches = [plan.results[d.name] for batch in plan.batches for d in batch]
        done = sum(1 for r in in_batches if r.result in (proc.UPGRADED, proc.COMPLIANT))
        failed = sum(1 for r in in_batches if r.result == proc.FAILED)
        left = len(plan.batches) - number - 1
        mean = sum(self.timings["batch_seconds"]) / max(1, len(self.timings["batch_seconds"]))
        self.progress(f"batch {number + 1} of {len(plan.batches)}{' (canary)' if number == 0 else ''}: "
                      f"done {done}, failed {failed}, remaining {len(in_batches) - done - failed}; "
                      f"about {round(mean * left)} s left" + (f"; STOPPED: {self.stopped_reason}"
                                                              if self.stopped_reason else ""))

    def _judge_batch(self, number: int, outcomes: list[proc.DeviceResult]) -> None:
        if any(r.result == proc.DEFERRED for r in outcomes):
            self.stopped_reason = f"batch {number}: the maintenance window closes before the next step would finish"
            return
        attempted = [r for r in outcomes if r.result in (proc.UPGRADED, proc.FAILED)]
        failed = [r for r in attempted if r.result == proc.FAILED]
        if not failed:
            return
        rate = 100.0 * len(failed) / len(attempted)
        limit = 0.0 if number == 0 else self.options.max_fail_percentage
        if rate > limit:
            which = "canary batch" if number == 0 else f"batch {number}"
            self.stopped_reason = (f"{which}: {len(failed)} of {len(attempted)} failed ({rate:.0f}% > {limit:g}%): "
                                   f"{', '.join(r.device for r in failed)}")

    def _retry_busy(self, plan: Plan, busy: list[DeviceSpec]) -> None:
        """Retry phones in a call, bounded by ``busy_retry_max`` and by the window's end - also when forced (a
        forced run outside any window is bounded by the count). What is still busy ends ``skipped_busy``."""
        retries = 0
        while busy and not self.stopped_reason:
            step = max(plan.reboot_seconds[d.name] for d in busy)
            closing = self.gate.refusal(step + self.options.busy_retry_seconds) is not None and (
                not self.gate.force or self.gate.schedule.current(self.gate.clock()) is not None)
            why = ("the window could no longer fit its reboot" if closing else
                   f"{retries} retries (busy_retry_max)" if retries >= self.options.busy_retry_max else "")
            if why:
                for device in busy:
                    result = plan.results[device.name]
                    result.result = proc.SKIPPED_BUSY
                    result.reason = f"skipped: busy - still in a call after {result.attempts} attempt(s), {why}"
                    self.record(result)
                return
            time.sleep(self.options.busy_retry_seconds)
            retries += 1
            self._parallel(self._upgrade, busy, plan.results, plan.targets)
            busy = [d for d in busy if plan.results[d.name].result == proc.BUSY]

    def _mark_not_started(self, plan: Plan, batch: list[DeviceSpec]) -> None:
        for device in batch:
            plan.results[device.name].result = proc.NOT_STARTED
            plan.results[device.name].reason = f"rollout stopped: {self.stopped_reason}"

    def _upgrade(self, device: DeviceSpec, results, targets) -> None:
        result = results[device.name]
        result.steps = []
        try:
            with self.driver_factory(device) as driver:
                proc.upgrade_device(driver, targets[device.name], self.gate, result,
                                    staged=device.name in self._staged, intent=self.intent)
        except Exception as exc:
            result.result, result.reason = proc.FAILED, f"connect: {exc}"
            result.recovered = result.recovered if "activate" in result.steps else True
        self.record(result)
        self._time_steps(result)

    def record(self, result: proc.DeviceResult) -> None:
        """One audit record per attempt (anything past the survey, including a refused login)."""
        if self._record is None or not (result.steps or result.result == proc.FAILED):
            return
        with self._record_lock:      # the trail's fcntl lock does not separate threads of one process
            self._record(result.as_dict())     # a snapshot: a busy device's result changes on retry

    def _parallel(self, function, devices: list[DeviceSpec], *args) -> None:
        if not devices:
            return
        with ThreadPoolExecutor(max_workers=max(1, min(self.options.parallel, len(devices)))) as pool:
            for future in [pool.submit(function, device, *args) for device in devices]:
                future.result()

    # -- report -----------------------------------------------------------------------------------------------
    def summary(self, plan: Plan, elapsed: float) -> dict:
        now = self.gate.clock()
        estimated = plan.estimated_seconds()
        current = self.gate.schedule.current(now)
        upcoming = self.gate.schedule.next_window(now)
        room = current.remaining(now) if current else (upcoming.end - upcoming.start if upcoming else dt.timedelta(0))
        counts: dict[str, int] = {}
        for result in plan.results.values():
            counts[result.result] = counts.get(result.result, 0) + 1
        return {
            "devices": [r.as_dict() for r in plan.results.values()],
            "batches": [[d.name for d in batch] for batch in plan.batches],
            "counts": counts,
            "estimated_seconds": round(estimated, 1),
            "fits_window": estimated <= room.total_seconds() or self.gate.force,
            "window": (f"inside {current.name}, {format_duration(current.remaining(now))} left" if current
                       else f"outside; next: {upcoming.describe()}" if upcoming else "no window scheduled"),
            "elapsed_seconds": round(elapsed, 2),
            "timings": {**self.timings, "steps": step_summary(self.timings["steps"])},
            "stopped": bool(self.stopped_reason),
            "stopped_reason": self.stopped_reason,
            "changed": any(r.changed for r in plan.results.values()) or any(r["changed"] for r in self.reconciled),
            "devices_failed": any(r.result == proc.FAILED for r in plan.results.values()),
            "not_attempted": [r.device for r in plan.results.values() if r.result in NOT_ATTEMPTED],
            "reconciled": self.reconciled,
        }


def step_summary(steps: dict[str, list[float]]) -> dict[str, dict]:
    """{step: {runs, median, max}} in seconds, in the order the procedure runs them (a device runs precheck in its
    staging and again in its batch)."""
    order = ["precheck", "stage", "intent", "activate", "wait", "postcheck"]
    summary = {}
    for step in sorted(steps, key=lambda name: (order.index(name) if name in order else len(order), name)):
        values = sorted(steps[step])
        summary[step] = {"runs": len(values), "median": round(values[len(values) // 2], 3),
                         "max": round(values[-1], 3)}
    return summary


NOT_ATTEMPTED = (proc.NOT_STARTED, proc.DEFERRED, proc.SKIPPED_BUSY, proc.BUSY)


def registry_factory(spec: DeviceSpec):
    """The production driver factory: the platform's registered firmware driver, built from the spec's connection
    (ValueError for a platform without the firmware capability)."""
    return driver_for(spec.platform, "firmware")(name=spec.name, model=spec.model, **spec.connection)
