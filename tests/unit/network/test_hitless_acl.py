# -*- coding: utf-8 -*-
"""Hitless ACL replacement, pushed line by line into the lab IOS simulator (offline): after every single command
nothing references a missing ACL, and a changed ACL alternates between <NAME> and <NAME>-B."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from test_ios_exec_cli import CREDS, run

from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    AclState,
    commands_of,
    diff_config,
    parse_running_config,
    place_acl,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import unchecked_site_policy
from lab.ios.switch import IOSSwitch

AREAS = ("management", "acls")

model = unchecked_site_policy   # the model of a policy mapping a test changed (not validated again)


@pytest.fixture
def core(tmp_path) -> IOSSwitch:
    device = IOSSwitch("sw-core-01", "C9300-24P", "17.9.4", "127.0.0.1", 0, tmp_path, CREDS, image_size=4096)
    device._first_boot()
    device.running = device.load_startup()
    return device


def converge(policy, switch: IOSSwitch) -> list[str]:
    running = parse_running_config(run(switch, "show running-config"))
    intent = render_switch(policy, "sw-core-01", switch_facts(running), SwitchOptions(areas=AREAS))
    commands = commands_of(diff_config(intent.sections, intent.banners, running))
    run(switch, "configure terminal", *[c.strip() for c in commands], "end")
    return commands


def test_place_acl_keeps_alternates_and_cleans_up():
    entries = ["permit ip any any"]
    assert place_acl("extended", "A", entries, AclState()).name == "A"
    same = AclState(acls={"A": ["permit ip any any"]}, referenced={"A"})
    assert place_acl("extended", "A", entries, same).name == "A"
    changed = AclState(acls={"A": ["deny ip any any"]}, referenced={"A"})
    placement = place_acl("extended", "A", entries, changed)
    assert placement.name == "A-B" and placement.after[0].parent == "ip access-list extended A" \
        and placement.after[0].absent
    flipped = AclState(acls={"A-B": ["deny ip any any"], "A": ["stale"]}, referenced={"A-B"})
    assert place_acl("extended", "A", entries, flipped).name == "A"


def test_policy_changes_never_leave_a_reference_to_a_missing_acl(policy_data, core):
    assert converge(model(policy_data), core)
    assert core.state.get("dangling_acl_events") is None
    assert "ip access-group ACL-VOICE-IN in" in run(core, "show running-config interface Vlan20")
    assert converge(model(policy_data), core) == []                                   # idempotent
    policy_data["flows"].append({"from": "data", "to": "voice", "service": "sip-tls"})
    policy_data["flows"].append({"from": "mgmt", "to": "any", "service": "provisioning"})
    policy_data["zones"].append({"name": "ops", "vlan": 60, "subnet": "10.10.60.0/24", "gateway": "10.10.60.1",
                            "purpose": "mgmt"})                            # changes the VTY and SNMP ACLs too
    commands = converge(model(policy_data), core)
    for acl in ("extended ACL-DATA-IN", "extended ACL-VOICE-IN", "extended ACL-VTY-MGMT", "standard ACL-SNMP-MGMT"):
        assert f"ip access-list {acl}-B" in commands and f"no ip access-list {acl}" in commands
    assert core.state.get("dangling_acl_events") is None
    running = run(core, "show running-config")
    assert "ip access-group ACL-DATA-IN-B in" in running and "ip access-list extended ACL-DATA-IN\n" not in running
    assert "access-class ACL-VTY-MGMT-B in" in running and "access ACL-SNMP-MGMT-B" in running
    assert converge(model(policy_data), core) == []
    policy_data["flows"].append({"from": "data", "to": "voice", "service": "ntp"})
    commands = converge(model(policy_data), core)                       # and back: B -> A
    assert "ip access-list extended ACL-DATA-IN" in commands and "no ip access-list extended ACL-DATA-IN-B" in commands
    assert "ip access-group ACL-DATA-IN in" in run(core, "show running-config interface Vlan30")
    assert core.state.get("dangling_acl_events") is None


def test_the_probe_sees_an_in_place_rewrite(policy, core):
    """Negative control: the old whole-rewrite of a bound ACL leaves the SVI pointing at nothing for a moment."""
    converge(policy, core)
    run(core, "configure terminal", "no ip access-list extended ACL-DATA-IN", "ip access-list extended ACL-DATA-IN",
        "deny ip any any log", "end")
    [event, *_] = core.state["dangling_acl_events"]
    assert event["command"] == "no ip access-list extended ACL-DATA-IN"
    assert any("ip access-group ACL-DATA-IN in" in ref for ref in event["references"])


def test_an_open_incident_block_survives_a_hitless_replacement_and_stays_releasable(policy_data, core):
    import ipaddress

    from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
        block_commands,
        switch_zone_acls,
    )
    converge(model(policy_data), core)
    source = [ipaddress.ip_network("198.51.100.7/32")]
    running = parse_running_config(run(core, "show running-config"))
    block = block_commands("ACL-DATA-IN", running.sections["ip access-list extended ACL-DATA-IN"], source, True)
    run(core, "configure terminal", *[c.strip() for c in block], "end")
    policy_data["flows"].append({"from": "data", "to": "voice", "service": "sip-tls"})
    commands = converge(model(policy_data), core)                       # ACL-DATA-IN -> ACL-DATA-IN-B
    assert "ip access-list extended ACL-DATA-IN-B" in commands
    new_acl = run(core, "show running-config").split("ip access-list extended ACL-DATA-IN-B", 1)[1]
    assert new_acl.splitlines()[1].strip() == "1 deny ip host 198.51.100.7 any log"   # still first, before permits
    assert core.state.get("dangling_acl_events") is None
    assert converge(model(policy_data), core) == []                     # the kept block is not a difference
    running = parse_running_config(run(core, "show running-config"))
    assert "ACL-DATA-IN-B" in switch_zone_acls(model(policy_data), running)   # the release finds it under the new name
    release = block_commands("ACL-DATA-IN-B", running.sections["ip access-list extended ACL-DATA-IN-B"], source, False)
    assert release == ["ip access-list extended ACL-DATA-IN-B", " no 1"]
