"""In-process rollouts against lab devices (no Ansible): a forced upgrade of a phone that stays in a call ends
`skipped_busy` after a bounded number of retries, recorded, and the phone does not take the image later by itself;
a switch that never came back from its reload (recovery impossible) is post-checked by the next run once it has
been power-cycled, instead of being taken for compliant."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from firmware_lab import PHONES, SWITCH_NEW, window_schedule

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.procedure import Gate
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import record_from_result
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import Rollout

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("platform", list(PHONES))
def test_forced_upgrade_of_a_phone_in_a_call_ends_skipped_busy(phone_lab, platform):
    phone_lab.add(platform, "p1")
    phone_lab.set_fault("p1", "busy_in_call")
    closed = window_schedule(opened_ago=dt.timedelta(hours=6), closes_in=dt.timedelta(hours=-3))
    records = []
    started = time.monotonic()
    summary = phone_lab.rollout(gate=Gate(closed, force=True, force_reason="CHG-7 test"), records=records,
                                busy_retry_seconds=0.3, busy_retry_max=2).run()
    result = summary["devices"][0]
    assert result["result"] == proc.SKIPPED_BUSY and result["reason"].startswith("skipped: busy"), result
    assert time.monotonic() - started < 60 and summary["not_attempted"] == ["p1"]
    assert records[-1]["result"] == proc.SKIPPED_BUSY
    phone_lab.clear_fault("p1", "busy_in_call")          # the call ends
    time.sleep(2)
    # Poly was never asked (its busy check comes before the reboot request); a Yealink / MPP that postponed a
    # requested reboot may install the image it fetched after the call: the attempt stayed open, and the next
    # run post-checks it and records it, so no version changes without a record.
    took_it_by_itself = phone_lab.version("p1") != PHONES[platform][2]
    assert not (platform == "poly" and took_it_by_itself)
    history = [record_from_result(r, "pytest") for r in records]
    base = phone_lab.rollout(busy_retry_seconds=0.3, busy_retry_max=2)
    summary = Rollout(base.devices, base.policy, Gate(closed, force=True, force_reason="CHG-7 test"), base.options,
                      base.driver_factory, firmware_dir=base.firmware_dir, record=records.append,
                      history=history).run()
    if took_it_by_itself:
        [reconciled] = summary["reconciled"]
        assert reconciled["reason"] == proc.COMPLETED_AFTER_INTERRUPTION and summary["devices"][0]["result"] == \
            proc.COMPLIANT
    else:
        assert summary["reconciled"] == [] and summary["devices"][0]["result"] == proc.UPGRADED
    assert phone_lab.version("p1") == PHONES[platform][3]

def test_switch_that_never_came_back_is_post_checked_after_its_power_cycle(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "no_return_after_reload")
    records = []
    first = switch_lab.rollout(records=records).run()["devices"][0]
    assert first["result"] == proc.FAILED and first["recovered"] is False
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].clear_fault, "no_return_after_reload")
    assert switch_lab.wait_for(lambda: switch_lab.presented_key("sw1") is not None)
    base = switch_lab.rollout()
    history = [record_from_result(r, "pytest") for r in records]      # as the module reads them from the trail
    again = Rollout(base.devices, base.policy, Gate(window_schedule()), base.options, base.driver_factory,
                    firmware_dir=base.firmware_dir, record=records.append, history=history).run()
    [reconciled] = again["reconciled"]
    assert reconciled["result"] == proc.UPGRADED and reconciled["reason"] == proc.COMPLETED_AFTER_INTERRUPTION
    assert reconciled["attempt_id"] == first["attempt_id"] and "postcheck" in reconciled["steps"]
    assert again["devices"][0]["result"] == proc.COMPLIANT and switch_lab.state("sw1")["version"] == SWITCH_NEW
    assert records[-1]["reason"] == proc.COMPLETED_AFTER_INTERRUPTION
