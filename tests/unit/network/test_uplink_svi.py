# -*- coding: utf-8 -*-
"""Policy keys network.l3_switch (zone gateways as SVI addresses) and uplink.local_interface (pruned trunk)."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchFacts,
    SwitchOptions,
    intended_ports,
    render_switch,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import render_sections
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    unchecked_site_policy,
    validate_site_policy,
)

model = unchecked_site_policy   # the model of a policy mapping a test changed (not validated again)


def rendered(policy, switch, areas=("acls", "ports")) -> str:
    intent = render_switch(policy, switch, SwitchFacts(), SwitchOptions(areas=areas))
    return "\n".join(render_sections(intent.sections, intent.banners))


def test_l3_switch_svis_carry_the_zone_gateways(policy):
    core = rendered(policy, "sw-core-01", areas=("acls",))
    assert ("interface Vlan20\n description zone voice\n ip address 10.10.20.1 255.255.255.0\n no ip redirects\n"
            " no ip proxy-arp\n ip access-group ACL-VOICE-IN in") in core
    assert "interface Vlan" not in rendered(policy, "sw-access-01", areas=("acls",))


def test_without_l3_switch_svis_have_no_address(policy_data):
    del policy_data["network"]["l3_switch"]
    core = rendered(model(policy_data), "sw-core-01", areas=("acls",))
    assert "interface Vlan20\n description zone voice\n ip access-group ACL-VOICE-IN in" in core
    assert "ip address" not in core


def test_l3_switch_can_be_an_access_switch(policy_data):
    policy_data["network"]["l3_switch"] = "sw-access-01"
    assert "ip address 10.10.50.1 255.255.255.0" in rendered(model(policy_data), "sw-access-01", areas=("acls",))
    assert "interface Vlan" not in rendered(model(policy_data), "sw-core-01", areas=("acls",))


def test_both_ends_of_the_uplink_are_the_same_pruned_trunk(policy):
    far = intended_ports(policy, "sw-core-01")["GigabitEthernet1/0/24"]
    near = intended_ports(policy, "sw-access-01")["GigabitEthernet1/1/1"]
    assert far[0] == "uplink to sw-access-01" and near[0] == "uplink to sw-core-01"
    # behind sw-access-01: its mgmt VLAN, phones (data 30 + voice 20), the AP's SSID trunk (10,20,30,40); not ai 50
    assert far[1] == near[1] == {"mode": "trunk", "allowed": [10, 20, 30, 40], "native": 998}
    assert ("interface GigabitEthernet1/1/1\n description uplink to sw-core-01\n switchport mode trunk\n"
            " switchport trunk native vlan 998\n switchport trunk allowed vlan 10,20,30,40") in \
        rendered(policy, "sw-access-01")


def test_chained_switches_carry_the_vlans_below_them(policy_data):
    policy_data["devices"].append({"name": "sw-edge-01", "platform": "cisco_ios", "model": "C9200L-24P-4G",
                              "zone": "mgmt", "uplink": {"switch": "sw-access-01",
                                                         "interface": "GigabitEthernet1/0/10"}})
    policy_data["devices"].append({"name": "pbx-02", "platform": "linux", "model": "debian-12", "zone": "ai",
                              "switch_port": {"switch": "sw-edge-01", "interface": "GigabitEthernet1/0/1"}})
    policy = model(policy_data)
    assert intended_ports(policy, "sw-core-01")["GigabitEthernet1/0/24"][1]["allowed"] == [10, 20, 30, 40, 50]
    assert intended_ports(policy, "sw-access-01")["GigabitEthernet1/0/10"][1]["allowed"] == [10, 50]


def test_hostile_local_interface_is_refused(policy_data):
    policy_data["devices"][1]["uplink"]["local_interface"] = "Gi1/1/1\nno aaa new-model"
    with pytest.raises(InvalidValue):
        rendered(model(policy_data), "sw-access-01")


@pytest.mark.parametrize("change, message", [
    (lambda p: p["network"].update(l3_switch="ap-01"), "not a switch"),
    (lambda p: p["network"].update(l3_switch="sw-nowhere"), "not a device"),
    (lambda p: p["devices"][0].update(address="10.10.10.1"), "is the gateway of zone mgmt"),
    (lambda p: p["zones"][1].update(gateway="10.10.99.1"), "not inside the zone's subnet"),
    (lambda p: p["devices"][1]["uplink"].update(local_interface="GigabitEthernet1/0/20"), "port already used"),
    (lambda p: p["devices"][1]["uplink"].update(local_interface="Gi 1/1/1"), "interface name"),
])
def test_policy_validation(policy_data, change, message):
    change(policy_data)
    with pytest.raises(PolicyError) as error:
        validate_site_policy(policy_data)
    assert message in str(error.value)


def test_l3_switch_with_no_ip_routing_gets_ip_routing(policy):
    """A running config with `no ip routing` on the policy's l3_switch: the renderer turns routing on (issue #13)."""
    facts = SwitchFacts(ip_routing_off=True)
    intent = render_switch(policy, "sw-core-01", facts, SwitchOptions(areas=("acls",)))
    lines = render_sections(intent.sections, intent.banners)
    assert "ip routing" in lines and any("no ip routing" in f for f in intent.findings)
    # positive controls: routing already on, or not the l3_switch -> no line
    assert "ip routing" not in render_sections(render_switch(policy, "sw-core-01", SwitchFacts(),
                                                             SwitchOptions(areas=("acls",))).sections, {})
    assert "ip routing" not in render_sections(render_switch(policy, "sw-access-01", facts,
                                                             SwitchOptions(areas=("acls",))).sections, {})


def test_switch_facts_reads_no_ip_routing():
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import switch_facts
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import parse_running_config

    assert switch_facts(parse_running_config("!\nversion 17.9\nno ip routing\n!\nend\n")).ip_routing_off is True
    assert switch_facts(parse_running_config("!\nversion 17.9\nip routing\n!\nend\n")).ip_routing_off is False
