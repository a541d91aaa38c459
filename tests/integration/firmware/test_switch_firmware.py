"""Switch firmware end to end against the IOS-XE simulator over real SSH/SCP (netmiko), host keys checked against
the site's known_hosts; every fault ends with the switch on a known-good image and its configuration."""

from __future__ import annotations

import re

import pytest
from firmware_lab import SWITCH_NEW, SWITCH_OLD, switch_baseline

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware import procedure as proc

pytestmark = pytest.mark.timeout(180)


def result_of(summary, name="sw1"):
    return {d["device"]: d for d in summary["devices"]}[name]


def config_lines(text):
    return [line for line in text.splitlines() if line.strip() and not line.startswith(("!", "Building",
                                                                                           "Current configuration"))]


def test_upgrade_bundle_mode_then_compliant(switch_lab):
    switch_lab.add("sw1")
    before = switch_lab.state("sw1")
    records = []
    result = result_of(switch_lab.rollout(records=records).run())
    assert result["result"] == proc.UPGRADED, result
    assert (result["before"], result["after"]) == (SWITCH_OLD, SWITCH_NEW)
    after = switch_lab.state("sw1")
    assert after["version"] == SWITCH_NEW and after["image"] == switch_baseline()["image"]
    boot = [line for line in after["startup"].splitlines() if line.startswith("boot system")]
    assert boot == [f"boot system flash:{switch_baseline()['image']}", f"boot system flash:{before['image']}"]
    assert "ip scp server enable" not in after["running"]                # only while transferring
    assert before["image"] in after["flash"]                             # the previous image kept as fallback
    assert records[-1]["result"] == proc.UPGRADED and records[-1]["steps"][-1] == "postcheck"
    again = switch_lab.rollout().run()
    assert result_of(again)["result"] == proc.COMPLIANT and again["changed"] is False


def test_check_mode_is_a_plan_only(switch_lab):
    switch_lab.add("sw1")
    summary = switch_lab.rollout(check_mode=True).run()
    assert result_of(summary)["result"] == proc.PLANNED
    assert switch_baseline()["image"] not in switch_lab.state("sw1")["flash"]


def test_transfer_dropped_midway(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "drop_mid_transfer",
                                after_bytes=4096)                  # the test image is 8 KiB
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and result["reason"].startswith("stage:")
    state = switch_lab.state("sw1")
    assert state["version"] == SWITCH_OLD and switch_baseline()["image"] not in state["flash"]


def test_corrupt_image_on_flash_is_caught_by_verify_and_removed(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "corrupt_image")
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and "activate" not in result["steps"]
    assert re.search(r"MD5|sha512|verify", result["reason"], re.IGNORECASE)
    state = switch_lab.state("sw1")
    assert state["version"] == SWITCH_OLD and switch_baseline()["image"] not in state["flash"]


def test_insufficient_flash(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "insufficient_flash", free_bytes=1024)
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and "bytes free" in result["reason"]
    assert result["steps"] == ["precheck"] and switch_lab.state("sw1")["version"] == SWITCH_OLD


def test_boots_old_version_is_failed_and_boot_config_restored(switch_lab):
    switch_lab.add("sw1")
    before = switch_lab.state("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "boots_old_version")
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and result["recovered"] is True
    assert result["reason"].startswith("postcheck:") and SWITCH_OLD in result["reason"]
    after = switch_lab.state("sw1")
    assert after["version"] == SWITCH_OLD
    assert config_lines(after["startup"]) == config_lines(before["startup"])     # boot lines included


def test_no_return_after_reload_is_reported_for_hands_on(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "no_return_after_reload")
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and result["recovered"] is False and "hands-on" in result["reason"]
    # someone power-cycles it: it boots the verified baseline image with its configuration
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].clear_fault, "no_return_after_reload")
    assert switch_lab.wait_for(lambda: switch_lab.presented_key("sw1") is not None)
    again = result_of(switch_lab.rollout().run())
    assert again["result"] == proc.COMPLIANT, again["reason"]


def test_auth_failure(switch_lab):
    switch_lab.add("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "auth_failure")
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and "authentication failed" in result["reason"]
    assert switch_lab.state("sw1")["version"] == SWITCH_OLD


def _change_host_key(switch_lab):
    recorded = switch_lab.presented_key("sw1")
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "host_key_change")
    assert switch_lab.wait_for(lambda: switch_lab.presented_key("sw1") not in (None, recorded))


def test_host_key_change_is_refused(switch_lab):
    switch_lab.add("sw1")
    _change_host_key(switch_lab)
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and result["steps"] == []
    assert switch_lab.state("sw1")["version"] == SWITCH_OLD


def test_host_key_change_is_reported_as_such(switch_lab):
    switch_lab.add("sw1")
    _change_host_key(switch_lab)
    result = result_of(switch_lab.rollout().run())
    assert "host key" in result["reason"].lower()


def _to_install_mode(switch_lab, name="sw1"):
    """Put a lab switch into IOS-XE install mode on its current image (what a site running packages.conf has)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import registry_factory

    driver = registry_factory(switch_lab.spec(name))
    driver.open()
    image = driver.get_firmware()["image"]
    driver._send_reloading(f"install add file flash:{image} activate commit prompt-level none")
    assert switch_lab.wait_for(lambda: switch_lab.presented_key(name) is not None, timeout=30)
    assert switch_lab.wait_for(lambda: switch_lab.state(name)["reachable"], timeout=30)
    driver.open()
    assert driver.get_firmware()["image"] == "packages.conf"
    driver.close()


def test_upgrade_in_install_mode_is_committed(switch_lab):
    switch_lab.add("sw1")
    _to_install_mode(switch_lab)
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.UPGRADED, result
    switch = switch_lab.switches["sw1"]
    install = switch_lab.phone_lab.bg.call(lambda: dict(switch.state["install"]))
    assert install["committed"] == switch_baseline()["image"] and switch_lab.state("sw1")["version"] == SWITCH_NEW


def test_install_mode_failure_rolls_back_to_committed(switch_lab):
    switch_lab.add("sw1")
    _to_install_mode(switch_lab)
    switch_lab.phone_lab.bg.call(switch_lab.switches["sw1"].set_fault, "boots_old_version")
    result = result_of(switch_lab.rollout().run())
    assert result["result"] == proc.FAILED and result["recovered"] is True, result
    assert switch_lab.state("sw1")["version"] == SWITCH_OLD
    switch = switch_lab.switches["sw1"]
    install = switch_lab.phone_lab.bg.call(lambda: dict(switch.state["install"]))
    assert install["committed"] != switch_baseline()["image"]
