# -*- coding: utf-8 -*-
"""Issue 12 without a device: interface names, the safe order of a change, its inverse, the operator's message."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import change_failure, listed
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import _unexpected
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import short_error
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_interfaces import (
    canonical,
    parse_interface,
    short_name,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import switch_facts
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    Section,
    change_phases,
    config_differences,
    diff_section,
    parse_running_config,
    restore_commands,
)


@pytest.mark.parametrize("text,name,physical", [
    ("FastEthernet0", "FastEthernet0", True), ("Fa0/1", "FastEthernet0/1", True),
    ("GigabitEthernet0/1", "GigabitEthernet0/1", True), ("gi1/0/24", "GigabitEthernet1/0/24", True),
    ("Gig 1/0/2", "GigabitEthernet1/0/2", True), ("Te1/1/4", "TenGigabitEthernet1/1/4", True),
    ("Twe1/0/1", "TwentyFiveGigE1/0/1", True), ("Tw1/0/3", "TwoGigabitEthernet1/0/3", True),
    ("Fo1/1/1", "FortyGigabitEthernet1/1/1", True), ("Hu1/0/49", "HundredGigE1/0/49", True),
    ("Ap1/0/1", "AppGigabitEthernet1/0/1", True), ("Po1", "Port-channel1", False),
    ("Port-channel12", "Port-channel12", False), ("Vlan30", "Vlan30", False),
    ("Gi1/0/1.100", "GigabitEthernet1/0/1.100", False),
])
def test_every_ios_interface_naming(text, name, physical):
    interface = parse_interface(text)
    assert (interface.name, interface.physical) == (name, physical)
    assert canonical(short_name(name)) == name


@pytest.mark.parametrize("text", ["Eth1/1", "xe-0/0/1", "GigabitEthernet", "Gi1/0/1/2/3", "T1/0/1", "1/0/1"])
def test_a_name_that_cannot_be_classified_is_refused(text):
    with pytest.raises(InvalidValue, match=r"is not an IOS interface name .* refusing rather than skipping"):
        parse_interface(text, "devices[pbx-01].switch_port.interface")


def test_two_part_ports_of_a_2960_are_ports_and_its_management_port_is_not():
    running = parse_running_config("\n".join([
        "interface FastEthernet0", " ip address 192.0.2.10 255.255.255.0", "!",
        "interface FastEthernet0/1", " switchport mode access", "!", "interface FastEthernet0/2", "!",
        "interface GigabitEthernet0/1", " switchport mode trunk", "!", "interface Vlan1", " no ip address", "!",
        "interface Port-channel1", "!"]))
    facts = switch_facts(running)
    assert facts.interfaces == ["FastEthernet0/1", "FastEthernet0/2", "GigabitEthernet0/1"]
    assert facts.trunk_ports == ["GigabitEthernet0/1"] and facts.management_ports == ["FastEthernet0"]


def test_catalyst_9000_management_port_is_recognised():
    running = parse_running_config("interface GigabitEthernet0/0\n!\ninterface GigabitEthernet1/0/1\n!\n")
    facts = switch_facts(running)
    assert facts.management_ports == ["GigabitEthernet0/0"] and facts.interfaces == ["GigabitEthernet1/0/1"]


def test_an_unknown_interface_kind_in_the_running_config_is_refused():
    with pytest.raises(InvalidValue, match="running config `interface Serial0/0/0`"):
        switch_facts(parse_running_config("interface Serial0/0/0\n!\n"))


CHANGE = ["interface Vlan30", " description zone data", " ip address 10.10.30.1 255.255.255.0",
          " ip access-group ACL-DATA-IN-B in", "no ip access-list extended ACL-DATA-IN",
          "no ip access-list extended ACL-VOICE-IN-B", "ip access-list extended ACL-VOICE-IN-B", " 10 deny ip any any",
          "ip access-list extended ACL-DATA-IN-B", " 10 permit ip any any", "line vty 0 4",
          " access-class ACL-VTY-MGMT in"]


def test_acls_first_then_references_then_removal_of_unused_acls():
    assert change_phases(CHANGE) == [
        ("ACL definitions", ["no ip access-list extended ACL-VOICE-IN-B", "ip access-list extended ACL-VOICE-IN-B",
                             " 10 deny ip any any", "ip access-list extended ACL-DATA-IN-B", " 10 permit ip any any"]),
        ("changes", CHANGE[:4] + CHANGE[10:]),
        ("removal of unused ACLs", ["no ip access-list extended ACL-DATA-IN"])]


def test_within_a_section_closing_goes_before_opening():
    running = parse_running_config("interface GigabitEthernet1/0/5\n shutdown\n switchport access vlan 999\n!\n"
                                   "interface Vlan30\n!\n")
    port = diff_section(Section("interface GigabitEthernet1/0/5", ["switchport access vlan 30"],
                                owned=("shutdown", "switchport access vlan")), running)
    assert port.commands == ["interface GigabitEthernet1/0/5", " switchport access vlan 30", " no shutdown"]
    svi = diff_section(Section("interface Vlan30", ["ip address 10.10.30.1 255.255.255.0",
                                                    "ip access-group ACL-DATA-IN in"]), running)
    assert svi.commands[1] == " ip access-group ACL-DATA-IN in"
    park = diff_section(Section("interface GigabitEthernet1/0/6", ["switchport access vlan 999", "shutdown"]),
                        running)
    assert park.commands[1] == " shutdown"


BEFORE = """hostname sw
ip http server
interface Vlan30
 ip access-group ACL-DATA-IN in
 ip address 10.10.30.1 255.255.255.0
!
ip access-list extended ACL-DATA-IN
 10 permit ip any any
!
line vty 0 4
 transport input ssh telnet
!
"""
AFTER = """hostname sw
ip ssh version 2
interface Vlan30
 ip access-group ACL-DATA-IN-B in
 ip address 10.10.30.1 255.255.255.0
!
interface Vlan40
 ip access-group ACL-GUEST-IN in
!
ip access-list extended ACL-DATA-IN-B
 10 deny ip any any
!
ip access-list extended ACL-GUEST-IN
 10 deny ip any any
!
line vty 0 4
 transport input ssh
!
"""


def test_the_inverse_of_a_change_restores_it_in_safe_order():
    before, after = parse_running_config(BEFORE), parse_running_config(AFTER)
    commands = restore_commands(before, after)
    phases = dict(change_phases(commands))
    assert phases["ACL definitions"] == ["ip access-list extended ACL-DATA-IN", " 10 permit ip any any"]
    assert "no interface Vlan40" in phases["changes"] and " ip access-group ACL-DATA-IN in" in phases["changes"]
    assert " transport input ssh telnet" in phases["changes"]
    assert {"ip http server", "no ip ssh version 2"} <= set(phases["changes"])
    assert set(phases["removal of unused ACLs"]) == {"no ip access-list extended ACL-DATA-IN-B",
                                                     "no ip access-list extended ACL-GUEST-IN"}
    assert config_differences(before, after) and config_differences(before, before) == []


@pytest.mark.parametrize("line,answer,refused", [
    ("ip ssh version 2", "", ""),
    ("ip ssh version 2", "No such command", "No such command"),
    ("ip access-list extended X", "% Incomplete command.", "% Incomplete command."),
    ("vlan 10", "% Ambiguous command:  \"vlan 10\"", "% Ambiguous command:  \"vlan 10\""),
    ("logging host 10.0.0.1", "Error: logging host table full", "Error: logging host table full"),
    ("spanning-tree portfast",
     "%Warning: portfast should only be enabled on ports connected to a single\n host. Connecting hubs, "
     "concentrators, switches, bridges, etc... to this\n interface  when portfast is enabled, can cause temporary "
     "bridging loops.\n Use with CAUTION\n\n%Portfast has been configured on GigabitEthernet1/0/1 but will only\n "
     "have effect when the interface is in a non-trunking mode.", ""),
    ("spanning-tree portfast", "% Invalid input detected at '^' marker.", "% Invalid input detected at '^' marker."),
])
def test_a_line_is_accepted_only_with_nothing_but_the_prompt(line, answer, refused):
    assert _unexpected(line, answer) == refused


def test_message_order_and_and_n_more():
    problems = [f"line {n}" for n in range(13)]
    assert listed(problems).endswith("line 9; and 3 more (all of them in `problems`)")
    ok = change_failure("sw", "sw: the read-back does not show what was sent", problems, None, "x")
    assert ok.startswith("sw: change failed: the read-back") and ok.index("Refused or missing (13)") < \
        ok.index("ROLLED BACK")
    failed = change_failure("sw", "cut", ["a"], "sw: no backup", "use /backups/sw.cfg")
    assert failed.endswith("THE ROLLBACK FAILED: no backup. RESTORE BY HAND: use /backups/sw.cfg")


def test_netmikos_advice_is_cut_to_one_line():
    text = ("Pattern not detected: 'sw\\-core\\-01\\(config\\)\\#' in output.\n\nThings you might try to fix this:\n"
            "1. Explicitly set your pattern using the expect_string argument.\n2. Increase the read_timeout.")
    assert short_error(ValueError(text)) == "Pattern not detected: 'sw\\-core\\-01\\(config\\)\\#' in output."


def test_session_setup_errors_are_named_for_the_operator():
    """A slow box's prompt that never comes (netmiko ReadTimeout) and a refused `enable` are driver errors that
    name the device, its address and what to change - not a bare netmiko message."""
    from netmiko.exceptions import ReadTimeout

    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
        AuthenticationFailed,
        ConnectionFailed,
    )
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import _map_error

    slow = _map_error(ReadTimeout("Pattern not detected: 'sw\\-core\\-01\\#' in output."), "sw-core-01", "10.0.0.2",
                      None)
    assert isinstance(slow, ConnectionFailed) and slow.device == "sw-core-01"
    assert str(slow).startswith("sw-core-01 (10.0.0.2:22): logged in, but the device did not show its prompt")
    assert "larger `timeout`" in str(slow)
    enable = _map_error(ValueError("Failed to enter enable mode. Please ensure you pass the 'secret' argument"),
                        "sw-core-01", "10.0.0.2", 2222)
    assert isinstance(enable, AuthenticationFailed) and "(10.0.0.2:2222)" in str(enable)
    other = ValueError("something else")
    assert _map_error(other, "sw-core-01", "10.0.0.2", None) is other
