"""Procedure + staged-rollout scheduler with a scripted driver (offline): canaries, thresholds, busy retries,
window closing mid-rollout, recovery after a failed activate, check-mode plan, forced override."""

import datetime as dt
import time

import pytest
from firmware_fakes import FakeDriver, FakeFleet, open_window_schedule

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import (
    DeviceSpec,
    Rollout,
    RolloutOptions,
    parse_share,
)

POLICY = {"firmware_baselines": [
    {"platform": "fake", "model": "M1", "version": "2.0", "image": "m1-2.0.bin", "sha256": "a" * 64},
    {"platform": "fake", "model": "M2", "version": "5.0", "image": "m2-5.0.bin", "sha256": "b" * 64},
]}


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 11, 29, 2, 30, tzinfo=dt.UTC)

    def __call__(self):
        return self.now


@pytest.fixture()
def fleet():
    return FakeFleet()


def make_rollout(fleet, devices, clock=None, schedule=None, records=None, force=False, **options):
    clock = clock or Clock()
    gate = proc.Gate(schedule or open_window_schedule(clock()), force=force,
                     force_reason="CHG-1 test" if force else "", clock=clock)
    opts = RolloutOptions(**{"busy_retry_seconds": 0.01, **options})
    return Rollout(devices, POLICY, gate, opts, lambda spec: FakeDriver(fleet, spec.name, spec.model),
                   record=(records.append if records is not None else None))


def add(fleet, count, model="M1", version="1.0", prefix=None):
    devices = []
    for index in range(count):
        name = f"{prefix or model.lower()}-{index:03d}"
        fleet.versions[name] = version
        devices.append(DeviceSpec(name, "fake", model))
    return devices


def by_name(summary):
    return {d["device"]: d for d in summary["devices"]}


def test_compliant_devices_are_untouched_and_unchanged(fleet):
    devices = add(fleet, 3, version="2.0")
    records = []
    summary = make_rollout(fleet, devices, records=records).run()
    assert summary["changed"] is False and summary["batches"] == []
    assert {d["result"] for d in summary["devices"]} == {proc.COMPLIANT}
    assert fleet.calls == [] and records == []


def test_canary_per_model_then_batches_and_every_device_upgraded(fleet):
    devices = add(fleet, 10, "M1") + add(fleet, 4, "M2", version="4.0")
    records = []
    summary = make_rollout(fleet, devices, records=records, canary="1", batch_size="5").run()
    assert summary["batches"][0] == ["m1-000", "m2-000"]
    assert [len(b) for b in summary["batches"]] == [2, 5, 5, 2]
    assert summary["counts"] == {proc.UPGRADED: 14}
    assert fleet.versions["m2-003"] == "5.0" and fleet.versions["m1-009"] == "2.0"
    first = by_name(summary)["m1-001"]
    assert (first["before"], first["after"], first["batch"], first["changed"]) == ("1.0", "2.0", 1, True)
    ends = [r for r in records if r["result"] != proc.STARTED]
    assert len(ends) == 14 and all(r["result"] == proc.UPGRADED for r in ends)
    started = [r for r in records if r["result"] == proc.STARTED]       # the intent, before each activate
    assert sorted(r["attempt_id"] for r in started) == sorted(r["attempt_id"] for r in ends)
    assert all(records.index(s) < records.index(e) for s in started for e in ends
               if s["attempt_id"] == e["attempt_id"])


def test_percentage_canary_and_batch_sizes():
    assert parse_share("10%", 25, "canary") == 3
    assert parse_share("1%", 5, "canary") == 1
    assert parse_share("7", 3, "batch") == 3
    assert parse_share("25%", 0, "batch") == 0
    for bad in ("ten", "0%", "150%", "-2"):
        with pytest.raises(ValueError, match="must be"):
            parse_share(bad, 10, "batch_size")


def test_a_failed_canary_stops_the_rollout_before_any_other_device(fleet):
    devices = add(fleet, 6)
    fleet.faults["m1-000"] = "old_version"
    summary = make_rollout(fleet, devices, batch_size="2").run()
    results = by_name(summary)
    assert results["m1-000"]["result"] == proc.FAILED and results["m1-000"]["recovered"] is True
    assert "canary batch" in summary["stopped_reason"]
    assert all(results[f"m1-00{i}"]["result"] == proc.NOT_STARTED for i in range(1, 6))
    assert all("activate" not in fleet.steps_of(f"m1-00{i}") for i in range(1, 6))   # staged only


@pytest.mark.parametrize("failures, stops", [(1, False), (2, True)])
def test_batch_failure_threshold(fleet, failures, stops):
    devices = add(fleet, 11)                 # canary m1-000, then batches of 5
    for index in range(1, 1 + failures):
        fleet.faults[f"m1-{index:03d}"] = "no_return"
    summary = make_rollout(fleet, devices, batch_size="5", max_fail_percentage=25).run()
    assert summary["stopped"] is stops
    last_batch = {by_name(summary)[f"m1-{i:03d}"]["result"] for i in range(6, 11)}
    assert last_batch == ({proc.NOT_STARTED} if stops else {proc.UPGRADED})


def test_failure_after_activate_is_recovered_and_reported(fleet):
    devices = add(fleet, 1)
    fleet.faults["m1-000"] = "no_return"
    summary = make_rollout(fleet, devices).run()
    result = by_name(summary)["m1-000"]
    assert result["result"] == proc.FAILED and result["recovered"] is True
    assert result["reason"].startswith("wait:") and "recovered on 1.0" in result["reason"]
    assert fleet.steps_of("m1-000")[-1] == "recover" and fleet.versions["m1-000"] == "1.0"


def test_an_unexpected_library_error_fails_one_device_not_the_rollout(fleet):
    devices = add(fleet, 3)
    fleet.faults["m1-001"] = "library_error"
    summary = make_rollout(fleet, devices, batch_size="5", max_fail_percentage=50).run()
    result = by_name(summary)["m1-001"]
    assert result["result"] == proc.FAILED and "unexpected RuntimeError" in result["reason"]
    assert result["recovered"] is True and fleet.versions["m1-001"] == "1.0"
    assert by_name(summary)["m1-002"]["result"] == proc.UPGRADED


def test_failure_before_activate_changes_nothing(fleet):
    devices = add(fleet, 1)
    fleet.faults["m1-000"] = "stage"
    summary = make_rollout(fleet, devices).run()
    result = by_name(summary)["m1-000"]
    assert result["result"] == proc.FAILED and result["changed"] is False and result["recovered"] is True
    assert "activate" not in fleet.steps_of("m1-000")


def test_busy_device_is_retried_later_not_forced(fleet):
    devices = add(fleet, 3)
    fleet.busy_until_call["m1-001"] = 2          # busy in its batch and on the first retry
    records = []
    summary = make_rollout(fleet, devices, records=records, batch_size="5").run()
    result = by_name(summary)["m1-001"]
    assert result["result"] == proc.UPGRADED and result["attempts"] == 3
    assert fleet.steps_of("m1-001").count("activate") == 1
    assert [r["result"] for r in records if r["device"] == "m1-001"][:1] == [proc.BUSY]


def test_busy_device_left_alone_when_the_window_cannot_fit_its_reboot(fleet):
    devices = add(fleet, 2)
    fleet.busy_until_call["m1-001"] = 10 ** 6
    clock = Clock()
    schedule = open_window_schedule(clock(), after=dt.timedelta(seconds=10))
    summary = make_rollout(fleet, devices, clock=clock, schedule=schedule, busy_retry_seconds=30).run()
    result = by_name(summary)["m1-001"]
    assert result["result"] == proc.SKIPPED_BUSY and "window could no longer fit" in result["reason"]
    assert result["reason"].startswith("skipped: busy") and summary["not_attempted"] == ["m1-001"]
    assert "activate" not in fleet.steps_of("m1-001")


def test_window_closing_mid_rollout_stops_before_the_step_that_would_not_fit(fleet):
    devices = add(fleet, 6)
    clock = Clock()
    schedule = open_window_schedule(clock(), after=dt.timedelta(minutes=10))

    def advance(*_):
        clock.now += dt.timedelta(minutes=4)           # every batch eats 4 minutes of the window
    rollout = make_rollout(fleet, devices, clock=clock, schedule=schedule, batch_size="2", parallel=1)
    original = rollout._upgrade
    rollout._upgrade = lambda *args: (advance(), original(*args))
    summary = rollout.run()
    results = [by_name(summary)[f"m1-{i:03d}"]["result"] for i in range(6)]
    assert results[:2] == [proc.UPGRADED, proc.UPGRADED]
    assert proc.DEFERRED in results and results[-1] == proc.NOT_STARTED
    assert "window closes" in summary["stopped_reason"]
    deferred = [d for d in summary["devices"] if d["result"] == proc.DEFERRED]
    assert all("activate" not in fleet.steps_of(d["device"]) for d in deferred)
    assert all(fleet.versions[d["device"]] == "1.0" for d in deferred)


def test_outside_the_window_nothing_disruptive_starts_unless_forced(fleet):
    devices = add(fleet, 1)
    clock = Clock()
    closed = open_window_schedule(clock() - dt.timedelta(hours=5))     # closed 2 h ago
    summary = make_rollout(fleet, devices, clock=clock, schedule=closed).run()
    result = by_name(summary)["m1-000"]
    assert result["result"] == proc.DEFERRED and "next window" in result["reason"]
    assert "stage" in fleet.steps_of("m1-000")                        # non-disruptive steps did run
    assert "activate" not in fleet.steps_of("m1-000")
    records = []
    forced = make_rollout(fleet, devices, clock=clock, schedule=closed, force=True, records=records).run()
    assert by_name(forced)["m1-000"]["result"] == proc.UPGRADED and records[0]["forced"] is True


def test_each_batch_is_staged_while_the_batch_before_it_reboots(fleet):
    devices = add(fleet, 5)
    overlapped = []

    def reboot(name):       # the canary "reboots" until batch 1's transfers have started (or 5 s)
        if name == "m1-000":
            deadline = time.monotonic() + 5
            while ("m1-001", "stage") not in fleet.calls and time.monotonic() < deadline:
                time.sleep(0.01)
            overlapped.append(("m1-001", "stage") in fleet.calls)

    fleet.on_wait = reboot
    summary = make_rollout(fleet, devices, batch_size="2").run()
    assert summary["batches"] == [["m1-000"], ["m1-001", "m1-002"], ["m1-003", "m1-004"]]
    assert overlapped == [True]
    assert fleet.calls.index(("m1-000", "stage")) < fleet.calls.index(("m1-000", "activate"))
    for index in range(5):      # every image staged exactly once, before its own device is activated
        steps = fleet.steps_of(f"m1-{index:03d}")
        assert steps.count("stage") == 1 and steps.index("stage") < steps.index("activate")
    assert ("m1-003", "stage") not in fleet.calls[:fleet.calls.index(("m1-000", "wait"))]   # batch 2: after batch 0
    timings = summary["timings"]
    assert len(timings["staging_seconds"]) == len(timings["batch_seconds"]) == 3
    assert timings["steps"]["stage"]["runs"] == 5 and timings["steps"]["activate"]["runs"] == 5


def test_a_stopped_rollout_stages_nothing_more(fleet):
    devices = add(fleet, 6)
    fleet.faults["m1-000"] = "old_version"
    summary = make_rollout(fleet, devices, batch_size="2").run()
    assert summary["stopped"]
    staged = [name for name, step in fleet.calls if step == "stage"]
    assert sorted(staged) == ["m1-000", "m1-001", "m1-002"]     # the canary, and batch 1 (in flight meanwhile)
    assert {by_name(summary)[f"m1-00{i}"]["result"] for i in range(1, 6)} == {proc.NOT_STARTED}


def test_a_device_failing_to_stage_is_left_out_and_the_others_go_on(fleet):
    devices = add(fleet, 4)
    fleet.faults["m1-002"] = "stage"
    summary = make_rollout(fleet, devices, batch_size="2").run()
    assert by_name(summary)["m1-002"]["result"] == proc.FAILED and not summary["stopped"]
    assert "activate" not in fleet.steps_of("m1-002")
    assert [by_name(summary)[f"m1-{i:03d}"]["result"] for i in (0, 1, 3)] == [proc.UPGRADED] * 3


def test_check_mode_is_the_plan(fleet):
    devices = add(fleet, 8) + add(fleet, 2, version="2.0", prefix="ok")
    summary = make_rollout(fleet, devices, check_mode=True, batch_size="50%").run()
    assert fleet.calls == []
    assert summary["counts"] == {proc.PLANNED: 8, proc.COMPLIANT: 2}
    assert summary["batches"] == [["m1-000"], ["m1-001", "m1-002", "m1-003", "m1-004"],
                                  ["m1-005", "m1-006", "m1-007"]]
    assert summary["estimated_seconds"] == 3 * 2 and summary["fits_window"] is True


def test_unknown_model_and_unreachable_device_are_reported(fleet):
    devices = add(fleet, 1, "M9") + add(fleet, 1, prefix="gone")
    fleet.faults["gone-000"] = "connect"
    summary = make_rollout(fleet, devices).run()
    assert by_name(summary)["m9-000"]["result"] == proc.NO_BASELINE
    assert by_name(summary)["gone-000"]["result"] == proc.FAILED and summary["devices_failed"]


def test_force_needs_a_reason():
    with pytest.raises(ValueError, match="force_reason"):
        proc.Gate(open_window_schedule(Clock()()), force=True, force_reason=" ")
