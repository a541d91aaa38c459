"""The rollout tells its progress after every batch (issue 20): batch k of n, done / failed / remaining, time left."""

from __future__ import annotations

import re

import pytest
from firmware_fakes import FakeFleet
from test_rollout import add, make_rollout

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc


@pytest.fixture()
def fleet():
    return FakeFleet()


def test_progress_after_every_batch_counts_down_to_zero(fleet):
    devices = add(fleet, 10, "M1") + add(fleet, 4, "M2", version="4.0")
    lines = []
    rollout = make_rollout(fleet, devices, canary="1", batch_size="5")
    rollout.progress = lines.append
    summary = rollout.run()
    assert summary["counts"] == {proc.UPGRADED: 14}
    assert len(lines) == len(summary["batches"]) == 4
    assert lines[0].startswith("batch 1 of 4 (canary): done 2, failed 0, remaining 12; about ")
    assert lines[1].startswith("batch 2 of 4: done 7, failed 0, remaining 7; about ")
    assert re.fullmatch(r"batch 4 of 4: done 14, failed 0, remaining 0; about 0 s left", lines[-1])


def test_no_progress_callback_changes_nothing(fleet):
    summary = make_rollout(fleet, add(fleet, 3), canary="1", batch_size="1").run()
    assert summary["counts"] == {proc.UPGRADED: 3}
