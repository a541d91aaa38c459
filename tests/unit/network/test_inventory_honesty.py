# -*- coding: utf-8 -*-
"""Inventory honesty and fleet isolation (issue 12): facts come from the device or are reported missing; output
that does not parse is `unparsed`, not `unreachable`; one bad device fails its own entry, in one line."""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import UnexpectedOutput
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.baseline import (
    assess,
    missing_facts,
    model_key,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.build import build_inventory
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.collector import Target, collect

POLICY = {"site": {"name": "lab"}, "devices": [{"name": n, "platform": "fake", "model": "C9300-24P"}
                                               for n in ("good", "nomodel", "garbled", "slow", "broken")],
          "firmware_baselines": [{"platform": "fake", "model": "C9300-24P", "version": "17.9.5"}]}
NETMIKO_TEXT = ("Pattern not detected: 'wlc\\-01\\#' in output.\n\nThings you might try to fix this:\n"
                "1. Explicitly set your pattern using the expect_string argument.\n2. Increase the read_timeout.\n")


class ReadTimeout(Exception):
    """Stands for netmiko.exceptions.ReadTimeout escaping a driver (not a DriverError)."""


class FakeDriver:
    def __init__(self, name, **kwargs):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get_facts(self):
        if self.name == "garbled":
            raise UnexpectedOutput("garbled: `show version` did not parse with ntc-templates; it begins: "
                                   "'Huawei Versatile Routing Platform Software | VRP (R) software'")
        if self.name == "slow":
            raise ReadTimeout(NETMIKO_TEXT)
        if self.name == "broken":
            raise KeyError("hardware")
        if self.name == "nomodel":
            return {"os_version": "", "serial": "FOC1"}
        return {"model": "C9300-24P", "serial": "FOC2", "os_version": "17.9.5"}


def inventory(tmp_path):
    targets = [Target(name=d["name"], platform="fake", host="192.0.2.1") for d in POLICY["devices"]]
    return build_inventory(POLICY, targets, [], str(tmp_path),
                           collector=lambda t, max_workers: collect(t, max_workers, driver_for=lambda p: FakeDriver),
                           update_state=False)[0]


def test_one_bad_device_fails_only_its_own_entry_named_and_in_one_line(tmp_path):
    by_name = {entry["name"]: entry for entry in inventory(tmp_path)["devices"]}
    assert by_name["good"]["status"] == "compliant" and by_name["good"]["missing"] == []
    assert by_name["slow"]["status"] == "unreachable" and by_name["slow"]["error_type"] == "ReadTimeout"
    assert by_name["slow"]["detail"] == "Pattern not detected: 'wlc\\-01\\#' in output."
    assert by_name["broken"]["status"] == "unreachable" and by_name["broken"]["error_type"] == "KeyError"


def test_unparsable_output_is_unparsed_with_its_first_lines(tmp_path):
    garbled = {entry["name"]: entry for entry in inventory(tmp_path)["devices"]}["garbled"]
    assert garbled["status"] == "unparsed" and "Huawei Versatile Routing Platform" in garbled["detail"]


def test_model_is_never_copied_from_the_policy(tmp_path):
    entry = {entry["name"]: entry for entry in inventory(tmp_path)["devices"]}["nomodel"]
    assert entry["model"] is None and entry["status"] == "unknown_model"
    assert "did not report its model (the site policy lists 'C9300-24P'; not assumed)" in entry["detail"]
    assert entry["missing"] == ["the device did not report its model",
                                "the device did not report its software version"]


def test_an_empty_version_is_a_finding():
    assert missing_facts({"model": "C9300-24P", "serial": "X", "os_version": "  "}) == [
        "the device did not report its software version"]
    result = assess("sw", "fake", "C9300-24P", {"model": "C9300-24P", "os_version": ""}, None,
                    {("fake", model_key("C9300-24P")): {"version": "17.9.5"}})
    assert result["status"] == "unknown_model" and result["detail"] == "the device did not report a version"
