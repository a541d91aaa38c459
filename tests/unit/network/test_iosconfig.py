# -*- coding: utf-8 -*-
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    RunningConfig,
    Section,
    commands_of,
    diff_config,
    diff_section,
    parse_running_config,
    render_sections,
    unified_diff,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import unchecked_site_policy

LAB_OPTIONS = SwitchOptions(management_sources=["127.0.0.0/8"])


def converge(policy, running_text, switch="sw-core-01"):
    """Apply the rendered diff the way IOS would, by re-rendering the intended config (pure simulation)."""
    running = parse_running_config(running_text)
    intent = render_switch(policy, switch, switch_facts(running), LAB_OPTIONS)
    return running, intent, diff_config(intent.sections, intent.banners, running)


def test_parse_recorded_running_config(factory_running):
    running = parse_running_config(factory_running)
    assert running.sections["interface GigabitEthernet1/0/1"] == ["switchport access vlan 77", "switchport mode access"]
    assert running.sections["line vty 0 4"] == ["login", "transport input ssh telnet"]
    assert running.banners["login"] == "Old banner line one\nline two"
    assert "snmp-server community public RO" in running.global_lines
    assert running.sections["ip access-list extended ACL-VOICE-IN"] == ["10 permit ip any any"]
    assert running.sections["interface GigabitEthernet1/0/2"] == []
    assert "vrf definition Mgmt-vrf" in running.sections


def test_facts_from_running_config(factory_running):
    facts = switch_facts(parse_running_config(factory_running))
    assert facts.interfaces == [f"GigabitEthernet1/0/{n}" for n in range(1, 25)]   # Gi0/0 (mgmt) is not a port
    assert facts.trunk_ports == ["GigabitEthernet1/0/4"]
    assert facts.vty_lines == ["line vty 0 4", "line vty 5 15"]
    assert facts.vlans == [10, 77]


def test_diff_from_factory_config(policy_data, factory_running):
    policy_data["devices"] = [d for d in policy_data["devices"] if d["name"] in ("sw-core-01", "pbx-01", "ai-gw-01")]
    _, intent, changes = converge(unchecked_site_policy(policy_data), factory_running)
    commands = commands_of(changes)
    text = "\n".join(commands)
    assert "no ip http server" in commands and "no ip http secure-server" in commands
    assert "no snmp-server community public RO" in commands and "no logging host 192.0.2.99" in commands
    assert "interface GigabitEthernet1/0/1" in commands and " switchport access vlan 50" in commands
    assert " switchport voice vlan 20" not in text.split("interface GigabitEthernet1/0/1")[1].split("interface")[0]
    # Gi1/0/3 is unused: parked, stale voice VLAN removed, described, shut
    gi3 = text.split("interface GigabitEthernet1/0/3\n")[1].split("\ninterface")[0]
    assert " no switchport voice vlan 20" in gi3 and " shutdown" in gi3 and " switchport access vlan 999" in gi3
    # Gi1/0/4 is an undeclared trunk: left alone and reported
    assert "interface GigabitEthernet1/0/4" not in commands
    assert any("GigabitEthernet1/0/4" in finding for finding in intent.findings)
    # VLAN 77 is not pruned unless asked
    assert "no vlan 77" not in commands
    # the permissive ACL is replaced hitlessly: built whole under its alternate name, the SVI re-pointed, then removed
    acl = commands.index("ip access-list extended ACL-VOICE-IN-B")
    assert commands[acl + 1].startswith(" 10 permit tcp 10.10.20.0 0.0.0.255 10.10.50.0 0.0.0.255 eq 5061")
    assert acl < commands.index(" ip access-group ACL-VOICE-IN-B in") < \
        commands.index("no ip access-list extended ACL-VOICE-IN")
    for vty in ("line vty 0 4", "line vty 5 15"):
        assert vty in commands
    assert " transport input ssh" in commands and " access-class ACL-VTY-MGMT in" in commands
    assert "banner login ^CAuthorized access only. Activity is logged.^C" in commands
    # ACLs are created before the SVI that applies them, VLANs before the ports that use them
    assert commands.index("ip access-list extended ACL-AI-IN") < commands.index("interface Vlan50")
    assert commands.index("vlan 50") < commands.index("interface GigabitEthernet1/0/1")


def test_second_run_sends_nothing(policy, factory_running):
    running, _, changes = converge(policy, factory_running)
    applied = simulate_apply(running, changes)
    _, _, again = converge(policy, applied)
    assert commands_of(again) == []


def simulate_apply(running: RunningConfig, changes) -> str:
    """Render what the device would show after the changes (children merged by key), as show running-config."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import line_key
    sections = {k: list(v) for k, v in running.sections.items()}
    global_lines = list(running.global_lines)
    banners = dict(running.banners)
    for change in changes:
        if change.parent and change.parent.startswith("banner "):
            banners[change.parent.split()[1]] = change.after[0]
        elif change.parent is None:
            global_lines = [line for line in global_lines if line not in change.before] + change.after
        elif not change.after:
            sections.pop(change.parent, None)
        else:
            sections[change.parent] = change.after
    del line_key
    text = list(global_lines)
    for parent, children in sections.items():
        text += [parent] + [f" {c}" for c in children] + ["!"]
    for kind, body in banners.items():
        text += [f"banner {kind} ^C", *body.splitlines(), "^C"]
    return "\n".join(text) + "\nend\n"


def test_prune_removes_unknown_vlans(policy, factory_running):
    running = parse_running_config(factory_running)
    intent = render_switch(policy, "sw-core-01", switch_facts(running),
                           SwitchOptions(management_sources=["127.0.0.0/8"], prune_vlans=True))
    assert "no vlan 77" in commands_of(diff_config(intent.sections, intent.banners, running))


def test_keyed_line_overwrites_instead_of_no():
    running = parse_running_config("interface Gi1/0/1\n switchport access vlan 20\n switchport mode access\n")
    section = Section("interface Gi1/0/1", ["switchport mode access", "switchport access vlan 30"],
                      owned=("switchport access vlan", "switchport mode"))
    change = diff_section(section, running)
    assert change.commands == ["interface Gi1/0/1", " switchport access vlan 30"]


def test_defaults_not_printed_by_ios_are_satisfied():
    running = parse_running_config("line vty 0 4\n transport input ssh\n")
    section = Section("line vty 0 4", ["exec-timeout 10 0", "transport input ssh"], owned=("exec-timeout",))
    assert diff_section(section, running) is None
    running = parse_running_config("line vty 0 4\n exec-timeout 60 0\n transport input ssh\n")
    assert diff_section(section, running).commands == ["line vty 0 4", " exec-timeout 10 0"]


def test_trunk_vlan_lists_compare_as_sets():
    running = parse_running_config("interface Gi1/0/9\n switchport trunk allowed vlan 10,20-22,30\n")
    section = Section("interface Gi1/0/9", ["switchport trunk allowed vlan 10,20,21,22,30"])
    assert diff_section(section, running) is None


def test_acl_with_port_names_and_sequence_numbers_is_equal():
    running = parse_running_config("ip access-list extended A\n 10 permit udp any any eq domain\n"
                                   " 20 deny   ip any any log\n")
    section = Section("ip access-list extended A", ["permit udp any any eq 53", "deny ip any any log"], ordered=True)
    assert diff_section(section, running) is None


def test_verify_applied_finds_silently_ignored_lines():
    commands = ["interface Gi1/0/1", " switchport access vlan 30", " no shutdown", "no ip http server",
                "ip access-list extended A", " 10 permit tcp any any eq 22", " 20 deny ip any any log"]
    good = parse_running_config("no ip http server\ninterface Gi1/0/1\n switchport access vlan 30\n"
                                "ip access-list extended A\n 10 permit tcp any any eq 22\n 20 deny ip any any log\n")
    assert verify_applied(commands, good) == []
    bad = parse_running_config("ip http server\ninterface Gi1/0/1\n switchport access vlan 20\n shutdown\n"
                               "ip access-list extended A\n 10 permit tcp any any eq 22\n")
    assert verify_applied(commands, bad) == [" switchport access vlan 30", " no shutdown", "no ip http server",
                                             "ip access-list extended A"]


def test_diff_output_shows_affected_sections_only(policy, factory_running):
    _, _, changes = converge(policy, factory_running)
    before, after = unified_diff(changes)
    assert "interface GigabitEthernet1/0/1\n switchport access vlan 77" in before
    assert "stopbits" not in before   # console section only shows when it changes; it does (exec-timeout)? no
    assert "switchport access vlan 50" in after


def test_rendered_text_round_trips(policy):
    intent = render_switch(policy, "sw-access-01", switch_facts(RunningConfig()), LAB_OPTIONS)
    text = "\n".join(render_sections(intent.sections, intent.banners))
    running = parse_running_config(text)
    assert commands_of(diff_config(intent.sections, intent.banners, running)) == []
