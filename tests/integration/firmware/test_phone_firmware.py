"""Phone firmware end to end against the lab phones (real HTTP, real SIP NOTIFY, real provisioning server):
every vendor upgraded, idempotent, and each fault ending with the phone on a known-good image."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from firmware_lab import PHONES, window_schedule

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.procedure import Gate

pytestmark = pytest.mark.timeout(120)
VENDORS = list(PHONES)


def by_name(summary):
    return {d["device"]: d for d in summary["devices"]}


def old(platform):
    return PHONES[platform][2]


def new(platform):
    return PHONES[platform][3]


@pytest.mark.parametrize("platform", VENDORS)
def test_upgrade_then_second_run_is_compliant(phone_lab, platform):
    phone_lab.add(platform, "p1")
    records = []
    summary = phone_lab.rollout(records=records).run()
    result = by_name(summary)["p1"]
    assert result["result"] == proc.UPGRADED, result
    assert (result["before"], result["after"]) == (old(platform), new(platform))
    assert phone_lab.version("p1") == new(platform)
    assert records and records[-1]["result"] == proc.UPGRADED and records[-1]["checksum"]
    again = phone_lab.rollout().run()
    assert by_name(again)["p1"]["result"] == proc.COMPLIANT and again["changed"] is False


def test_mixed_site_canary_then_parallel_batch(phone_lab):
    for platform in VENDORS:
        for index in range(3):
            phone_lab.add(platform, f"{platform}-{index}")
    summary = phone_lab.rollout(canary="1", batch_size="100%").run()
    assert sorted(summary["batches"][0]) == ["cisco_mpp-0", "poly-0", "yealink-0"]
    assert len(summary["batches"]) == 2 and len(summary["batches"][1]) == 6
    assert summary["counts"] == {proc.UPGRADED: 9}


def test_check_mode_plans_without_touching(phone_lab):
    phone_lab.add("poly", "p1")
    phone_lab.add("yealink", "p2", version=new("yealink"))
    summary = phone_lab.rollout(check_mode=True).run()
    assert by_name(summary)["p1"]["result"] == proc.PLANNED
    assert by_name(summary)["p2"]["result"] == proc.COMPLIANT
    assert summary["fits_window"] is True and summary["estimated_seconds"] > 0
    assert phone_lab.version("p1") == old("poly")
    assert not (phone_lab.prov.root / PHONES["poly"][4]).exists()


def test_busy_phone_is_retried_later_in_the_window_not_forced(phone_lab):
    phone_lab.add("poly", "p1")
    phone_lab.set_fault("p1", "busy_in_call")
    threading.Timer(1.5, phone_lab.clear_fault, ("p1", "busy_in_call")).start()   # the call ends
    summary = phone_lab.rollout(busy_retry_seconds=1.0).run()
    result = by_name(summary)["p1"]
    assert result["result"] == proc.UPGRADED and result["attempts"] >= 2
    log = "\n".join(phone_lab.bg.call(lambda: list(phone_lab.phones["p1"].log)))
    assert "postponing" not in log      # never asked to reboot while in the call


def test_poly_4001_device_busy_is_retried(phone_lab):
    phone_lab.add("poly", "p1")
    phone_lab.set_fault("p1", "poly_4001")
    threading.Timer(1.0, phone_lab.clear_fault, ("p1", "poly_4001")).start()
    summary = phone_lab.rollout(busy_retry_seconds=1.0).run()
    assert by_name(summary)["p1"]["result"] == proc.UPGRADED


@pytest.mark.parametrize("platform", VENDORS)
def test_http_5xx_fails_cleanly_on_the_old_image(phone_lab, platform):
    phone_lab.add(platform, "p1")
    phone_lab.set_fault("p1", "http_5xx", status=503)
    summary = phone_lab.rollout().run()
    result = by_name(summary)["p1"]
    assert result["result"] == proc.FAILED and "503" in result["reason"]
    phone_lab.clear_fault("p1")
    assert phone_lab.version("p1") == old(platform)


@pytest.mark.parametrize("platform", VENDORS)
def test_auth_failure_is_reported_and_nothing_changes(phone_lab, platform):
    phone_lab.add(platform, "p1")
    phone_lab.set_fault("p1", "auth_failure")
    result = by_name(phone_lab.rollout().run())["p1"]
    assert result["result"] == proc.FAILED and "credentials refused" in result["reason"]
    assert phone_lab.version("p1") == old(platform)


@pytest.mark.parametrize("platform", VENDORS)
def test_phone_that_boots_its_old_image_is_failed_and_unpointed(phone_lab, platform):
    phone_lab.add(platform, "p1")
    phone_lab.set_fault("p1", "boots_old_version")
    records = []
    result = by_name(phone_lab.rollout(records=records).run())["p1"]
    assert result["result"] == proc.FAILED and result["recovered"] is True
    assert "kept its previous image" in result["reason"] and result["after"] == old(platform)
    assert records[-1]["result"] == proc.FAILED
    # known-good and stable: after the fault is gone, a re-provision does not pull the image behind our back
    phone_lab.clear_fault("p1")
    assert phone_lab.version("p1") == old(platform)
    mac_files = [p.name for p in phone_lab.prov.root.glob("*.cfg") if p.name not in ("000000000000.cfg",)]
    for name in mac_files:
        assert PHONES[platform][4] not in (phone_lab.prov.root / name).read_text()


@pytest.mark.parametrize("platform", VENDORS)
def test_phone_that_never_comes_back_is_failed_and_recovered_by_a_power_cycle(phone_lab, platform):
    phone_lab.add(platform, "p1")
    phone_lab.set_fault("p1", "no_return_after_reload")
    result = by_name(phone_lab.rollout().run())["p1"]
    assert result["result"] == proc.FAILED and result["recovered"] is False
    assert "hands-on" in result["reason"]
    phone_lab.clear_fault("p1")                              # someone power-cycles it
    assert phone_lab.wait_reachable("p1")
    assert phone_lab.version("p1") == old(platform)          # the image never got installed: known-good


def test_checksum_mismatch_on_the_provisioning_server_stops_before_any_reboot(phone_lab):
    phone_lab.add("yealink", "p1")
    image = PHONES["yealink"][4]
    good = (phone_lab.firmware_dir / image).read_bytes()
    (phone_lab.firmware_dir / image).write_bytes(good[:-1] + bytes([good[-1] ^ 1]))   # damaged local copy
    result = by_name(phone_lab.rollout().run())["p1"]
    assert result["result"] == proc.FAILED and "sha256" in result["reason"]
    assert "activate" not in result["steps"] and not (phone_lab.prov.root / image).exists()
    assert phone_lab.version("p1") == old("yealink")


def test_window_closing_mid_rollout_leaves_later_phones_alone(phone_lab):
    for index in range(3):
        phone_lab.add("cisco_mpp", f"m{index}", reboot_seconds=1.0)
    # reboot timeout 3 x 1 s; the window closes 4 s from now: the canary fits, the next batch does not
    gate = Gate(window_schedule(closes_in=dt.timedelta(seconds=4)))
    started = time.monotonic()
    summary = phone_lab.rollout(gate=gate, batch_size="1").run()
    results = [by_name(summary)[f"m{i}"]["result"] for i in range(3)]
    assert results[0] == proc.UPGRADED
    assert proc.DEFERRED in results[1:] and "window" in summary["stopped_reason"]
    assert time.monotonic() - started < 30
    assert [phone_lab.version(f"m{i}") for i in range(3)].count(new("cisco_mpp")) == 1
