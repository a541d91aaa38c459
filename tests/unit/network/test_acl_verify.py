# -*- coding: utf-8 -*-
import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import (
    canonical_ace,
    compile_zone_acls,
    parse_ace,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    RunningConfig,
    parse_running_config,
    render_sections,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import (
    allowed_new_flows,
    verify_site,
)


@pytest.mark.parametrize("line,canonical", [
    ("10 permit tcp 10.0.0.0 0.0.0.255 any eq www", "permit tcp 10.0.0.0 0.0.0.255 any eq 80"),
    ("deny   udp any eq domain host 1.2.3.4 range 10 20 log", "deny udp any eq 53 host 1.2.3.4 range 10 20 log"),
    ("permit tcp any any neq 23", "permit tcp any any neq 23"),
    ("permit tcp any lt 1024 any gt 1023 established", "permit tcp any lt 1024 any gt 1023 established"),
    ("permit 17 any host 10.1.1.1 eq ntp", "permit udp any host 10.1.1.1 eq 123"),
])
def test_ace_round_trip(line, canonical):
    assert canonical_ace(line) == canonical
    assert parse_ace(canonical).cli() == canonical


def test_unsupported_ace_is_an_error():
    with pytest.raises(ValueError):
        parse_ace("permit tcp 10.0.0.0 0.255.0.255 any")   # non-contiguous wildcard


def test_every_zone_acl_ends_in_logged_default_deny(policy):
    for entries in compile_zone_acls(policy).values():
        assert entries[-1].cli() == "deny ip any any log"


def test_guest_reaches_only_the_internet(policy):
    guest = [e.cli() for e in compile_zone_acls(policy)["guest"]]
    first_internet = guest.index("permit tcp 10.10.40.0 0.0.0.255 any eq 443")
    assert guest[first_internet - 3:first_internet] == [
        "deny ip 10.10.40.0 0.0.0.255 10.0.0.0 0.255.255.255",
        "deny ip 10.10.40.0 0.0.0.255 172.16.0.0 0.15.255.255",
        "deny ip 10.10.40.0 0.0.0.255 192.168.0.0 0.0.255.255",
    ]


def test_voice_zone_only_what_the_policy_says(policy):
    voice = compile_zone_acls(policy)["voice"]
    new_flows = [e.cli() for e in voice if e.action == "permit" and not e.established and e.src_ports is None]
    assert new_flows == [
        "permit tcp 10.10.20.0 0.0.0.255 10.10.50.0 0.0.0.255 eq 5061",
        "permit udp 10.10.20.0 0.0.0.255 10.10.50.0 0.0.0.255 range 10000 20000",
        "permit tcp 10.10.20.0 0.0.0.255 10.10.10.0 0.0.0.255 eq 443",
        "permit udp 10.10.20.0 0.0.0.255 10.10.10.0 0.0.0.255 eq 53",
        "permit udp 10.10.20.0 0.0.0.255 10.10.10.0 0.0.0.255 eq 123",
    ]


def converged(policy) -> dict[str, RunningConfig]:
    configs = {}
    for switch in ("sw-core-01", "sw-access-01"):
        intent = render_switch(policy, switch, switch_facts(RunningConfig()),
                               SwitchOptions(management_sources=["127.0.0.0/8"]))
        configs[switch] = parse_running_config("\n".join(render_sections(intent.sections, intent.banners)))
    return configs


def test_converged_site_has_no_violation(policy):
    assert verify_site(policy, converged(policy)) == []


def insert_before_deny(running: RunningConfig, acl: str, line: str) -> None:
    entries = running.sections[f"ip access-list extended {acl}"]
    entries.insert(len(entries) - 1, line)


def test_stray_permit_is_found(policy):
    configs = converged(policy)
    insert_before_deny(configs["sw-core-01"], "ACL-GUEST-IN", "permit tcp any any eq 23")
    found = {(v.kind, v.src, v.dst, v.protocol, v.ports) for v in verify_site(policy, configs)}
    assert ("allowed_not_in_policy", "guest", "mgmt", "tcp", "23") not in found   # RFC1918 deny comes later...
    assert ("allowed_not_in_policy", "guest", "internet", "tcp", "23") in found


def test_stray_permit_before_rfc1918_denies_reaches_every_zone(policy):
    configs = converged(policy)
    configs["sw-core-01"].sections["ip access-list extended ACL-VOICE-IN"].insert(0, "permit ip any any")
    found = {(v.kind, v.src, v.dst, v.protocol) for v in verify_site(policy, configs)}
    for dst in ("mgmt", "data", "guest", "ai", "internet"):
        assert ("allowed_not_in_policy", "voice", dst, "tcp") in found
    assert ("allowed_not_in_policy", "voice", "data", "icmp") in found


def test_blocked_policy_flow_is_found(policy):
    configs = converged(policy)
    entries = configs["sw-core-01"].sections["ip access-list extended ACL-VOICE-IN"]
    entries.insert(0, "deny tcp 10.10.20.0 0.0.0.255 10.10.50.0 0.0.0.255 eq 5061")
    violations = verify_site(policy, configs)
    assert [(v.kind, v.src, v.dst, v.protocol, v.ports) for v in violations] == [
        ("blocked_in_policy", "voice", "ai", "tcp", "5061")]


def test_partial_host_permit_counts_as_allowed(policy):
    configs = converged(policy)
    insert_before_deny(configs["sw-core-01"], "ACL-DATA-IN", "permit tcp host 10.10.30.7 10.10.10.0 0.0.0.255 eq 22")
    kinds = {(v.kind, v.src, v.dst, v.ports) for v in verify_site(policy, configs)}
    assert ("allowed_not_in_policy", "data", "mgmt", "22") in kinds


def test_missing_acl_and_wrong_vlan(policy):
    configs = converged(policy)
    configs["sw-core-01"].sections["interface Vlan40"].remove("ip access-group ACL-GUEST-IN in")
    port = configs["sw-access-01"].sections["interface GigabitEthernet1/0/1"]
    port[port.index("switchport access vlan 30")] = "switchport access vlan 50"
    kinds = [(v.kind, v.switch) for v in verify_site(policy, configs)]
    assert ("no_acl", "sw-core-01") in kinds and ("vlan_mismatch", "sw-access-01") in kinds


def test_return_traffic_entries_do_not_open_new_flows(policy):
    import ipaddress
    voice = compile_zone_acls(policy)["voice"]
    allowed = allowed_new_flows(voice, ipaddress.IPv4Network("10.10.20.0/24"), ipaddress.IPv4Network("10.10.10.0/24"))
    assert allowed["tcp"] == [(443, 443)]      # not 22 (only `established` return traffic of mgmt's SSH)
