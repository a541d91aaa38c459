"""Interrupted rollouts (offline, scripted driver): the intent record comes before activate and stops the attempt
when it cannot be written; the next run post-checks an unfinished attempt before judging the device; busy retries
end by count even when forced."""

import datetime as dt

from firmware_fakes import FakeDriver, FakeFleet, open_window_schedule
from test_rollout import POLICY, Clock, add, by_name, make_rollout

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import unfinished_attempts
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import Rollout, RolloutOptions


def started_record(device, attempt="a1", to="2.0", before="1.0"):
    return {"kind": "firmware_attempt", "device": device, "result": proc.STARTED, "attempt_id": attempt,
            "run_id": "run-1", "from_version": before, "to_version": to, "checksum": "a" * 64,
            "evidence": {"before": {"version": before}, "image": "m1-2.0.bin"}}


def rollout_with_history(fleet, devices, history, records):
    gate = proc.Gate(open_window_schedule(Clock()()), clock=Clock())
    return Rollout(devices, POLICY, gate, RolloutOptions(busy_retry_seconds=0.01),
                   lambda spec: FakeDriver(fleet, spec.name, spec.model), record=records.append, history=history)


def test_intent_is_recorded_before_activate_and_its_failure_stops_the_attempt():
    fleet = FakeFleet()
    devices = add(fleet, 1)
    order = []
    rollout = make_rollout(fleet, devices, records=[])
    rollout._record = lambda record: order.append((record["result"], list(fleet.steps_of("m1-000"))))
    rollout.run()
    assert order[0][0] == proc.STARTED and "activate" not in order[0][1] and order[-1][0] == proc.UPGRADED

    fleet = FakeFleet()
    devices = add(fleet, 1)
    rollout = make_rollout(fleet, devices, records=[])

    def refuse(record):
        if record["result"] == proc.STARTED:
            raise OSError("audit trail on a full disk")
    rollout._record = refuse
    result = by_name(rollout.run())["m1-000"]
    assert result["result"] == proc.FAILED and result["reason"].startswith("intent:")
    assert "activate" not in fleet.steps_of("m1-000") and fleet.versions["m1-000"] == "1.0"


def test_unfinished_attempts_are_found_and_closed_by_their_end_record():
    done = {**started_record("d2", "b"), "result": proc.UPGRADED}
    lost = {**started_record("d3", "c"), "result": proc.FAILED, "recovered": False}
    history = [started_record("d1"), started_record("d2", "b"), done, started_record("d3", "c"), lost]
    assert sorted(unfinished_attempts(history)) == ["d1", "d3"]     # d3: its recovery failed, still open


def test_interrupted_after_reload_is_post_checked_then_judged():
    fleet = FakeFleet()
    devices = add(fleet, 1, version="2.0")        # the reload went through before the kill
    records = []
    summary = rollout_with_history(fleet, devices, [started_record("m1-000")], records).run()
    assert [r["result"] for r in records] == [proc.UPGRADED]
    assert records[0]["reason"] == proc.COMPLETED_AFTER_INTERRUPTION and records[0]["attempt_id"] == "a1"
    assert "postcheck" in fleet.steps_of("m1-000") and by_name(summary)["m1-000"]["result"] == proc.COMPLIANT


def test_interrupted_before_the_new_image_ran_is_recovered_then_upgraded():
    fleet = FakeFleet()
    devices = add(fleet, 1, version="1.0")        # killed before the reload took effect
    records = []
    summary = rollout_with_history(fleet, devices, [started_record("m1-000")], records).run()
    first = records[0]
    assert first["result"] == proc.FAILED and first["attempt_id"] == "a1" and "after interruption" in first["reason"]
    assert first["recovered"] is True and fleet.steps_of("m1-000")[0] == "recover"
    assert by_name(summary)["m1-000"]["result"] == proc.UPGRADED and summary["reconciled"][0]["device"] == "m1-000"


def test_check_mode_names_the_unfinished_attempt_and_touches_nothing():
    fleet = FakeFleet()
    devices = add(fleet, 1)
    records = []
    rollout = rollout_with_history(fleet, devices, [started_record("m1-000")], records)
    rollout.options.check_mode = True
    result = by_name(rollout.run())["m1-000"]
    assert "was interrupted" in result["reason"] and records == [] and fleet.calls == []


def test_forced_busy_retries_end_by_count():
    fleet = FakeFleet()
    devices = add(fleet, 1)
    fleet.busy_until_call["m1-000"] = 10 ** 6
    clock = Clock()
    closed = open_window_schedule(clock() - dt.timedelta(hours=5))     # forced, outside any window
    records = []
    summary = make_rollout(fleet, devices, clock=clock, schedule=closed, force=True, records=records,
                           busy_retry_max=3).run()
    result = by_name(summary)["m1-000"]
    assert result["result"] == proc.SKIPPED_BUSY and result["attempts"] == 4 and "3 retries" in result["reason"]
    assert "activate" not in fleet.steps_of("m1-000") and records[-1]["result"] == proc.SKIPPED_BUSY
    assert summary["not_attempted"] == ["m1-000"]
