# -*- coding: utf-8 -*-
import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines, check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchFacts,
    SwitchOptions,
    render_switch,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import unchecked_site_policy

HOSTILE = [
    "staff\nend", "staff\r\nno aaa new-model", "x\nexit\nusername evil privilege 15 secret 0 x", "end", "exit",
    "guest!comment", "a | include secret", "a;reboot", "`reboot`", "it's", 'say "hi"', "a" * 300, "tab\there",
    "bell\x07", "^C", "$(id)", "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_refused(value):
    with pytest.raises(InvalidValue):
        check_value(value, "text", "banner")


@pytest.mark.parametrize("value", HOSTILE + ["a" * 33])
def test_hostile_names_refused(value):
    with pytest.raises(InvalidValue):
        check_value(value, "name", "zones[].name")


@pytest.mark.parametrize("value,kind", [("Clinic-Staff", "ssid"), ("mgmt", "name"), ("GigabitEthernet1/0/24",
                                        "interface"), ("Authorized access only. Activity is logged.", "text")])
def test_ordinary_values_pass(value, kind):
    assert check_value(value, kind, "field") == value


def test_error_names_the_field_and_the_problem():
    with pytest.raises(InvalidValue, match=r"network.banner: contains newline"):
        check_value("ok\nend", "text", "network.banner")


def test_psk_rules():
    assert check_value("correct horse"[:0] + "Sup3r-Secret-Wifi", "psk", "psk")
    for bad in ("short", "has space inside", "x" * 64, "semi;colon1"):
        with pytest.raises(InvalidValue):
            check_value(bad, "psk", "psk")


def test_last_line_of_defence():
    with pytest.raises(InvalidValue):
        check_lines(["interface Gi1/0/1", " description x\nend"])
    with pytest.raises(InvalidValue):
        check_lines(["end"])


@pytest.mark.parametrize("path,value", [
    (("network", "banner"), "Authorized\nend\nusername x privilege 15 secret 0 y"),
    (("zones", 0, "name"), "mgmt\nexit"),
    (("devices", 6, "name"), "phone|101"),
])
def test_renderer_refuses_hostile_policy_values(policy_data, path, value):
    target = policy_data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidValue):
        render_switch(unchecked_site_policy(policy_data), "sw-access-01", SwitchFacts(), SwitchOptions())
