"""Host firewalls and switch ACLs allow exactly the same (source zone, destination zone, service) set.

Both sides are read from the renderers' real output, not from the shared flow expansion (or the test could not
fail): the switch side from the IOS config `render_switch` writes for the policy's L3 switch (each zone SVI's
inbound ACL, parsed back and evaluated first-match by the verifier's `allowed_new_flows`); the host side from the
`nft -f` file `render_host_ruleset` writes for a host of each zone (its `ip saddr <zone subnet> <proto> dport <ports>
accept` rules). Zone pairs are those of two different zones: traffic inside a zone's VLAN never crosses its SVI,
so no switch ACL sees it. Port-based (TCP / UDP) services are compared port by port and as services; ICMP is the hosts'
fixed essentials (echo from mgmt only), and SSH is accepted by a host only from the mgmt zones whatever the flows
say (tests/unit/hosts/test_nftables_render.py) - every policy here grants it exactly that way, so it is compared too.
"""

from __future__ import annotations

import copy
import ipaddress
import random
import re
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchFacts,
    SwitchOptions,
    render_switch,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    parse_running_config,
    render_sections,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import (
    allowed_new_flows,
    applied_acl,
    read_acl,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.nftables_render import render_host_ruleset
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    SitePolicy,
    load_site_policy,
    site_policy_from_data,
)

REPO = Path(__file__).resolve().parents[3]
SHIPPED = {site: REPO / "inventories" / site / "site_policy.yml" for site in ("lab", "example_site")}
PORTED = ("tcp", "udp")
HOST_RULE = re.compile(r'^ip saddr (\S+) (tcp|udp) dport (\d+)(?:-(\d+))? accept comment "[^"]*"$')
Allowed = dict[tuple[str, str, str], list[tuple[int, int]]]   # (src zone, dst zone, protocol) -> port intervals


def _merged(intervals) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for low, high in sorted(intervals):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def switch_allows(policy: SitePolicy) -> Allowed:
    """From the rendered IOS config of the L3 switch: what each zone's SVI ACL lets it open towards every zone."""
    switch = policy.network.l3_switch
    intent = render_switch(policy, switch, SwitchFacts(), SwitchOptions(areas=("acls",)))
    running = parse_running_config("\n".join(render_sections(intent.sections, intent.banners)))
    allowed: Allowed = {}
    for src in policy.zones:
        acl = applied_acl(running, src.vlan)
        assert acl, f"{switch}: no inbound ACL on Vlan{src.vlan}"
        aces = read_acl(running, acl)
        for dst in (zone for zone in policy.zones if zone is not src):
            for protocol, intervals in allowed_new_flows(aces, src.network, dst.network).items():
                if protocol in PORTED and intervals:
                    allowed[(src.name, dst.name, protocol)] = _merged(intervals)
    return allowed


def host_allows(policy: SitePolicy) -> Allowed:
    """From the rendered nftables file of a host in each zone: which zone subnet may open which port."""
    by_subnet = {zone.subnet: zone.name for zone in policy.zones}
    found: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for dst in policy.zones:
        ruleset = render_host_ruleset(policy, dst.name)
        for line in (raw.strip() for raw in ruleset.splitlines()):
            match = HOST_RULE.match(line)
            if not match:
                continue
            source, protocol, low, high = match.groups()
            assert source in by_subnet, f"host rule from {source}, which is no zone subnet: {line}"
            if by_subnet[source] == dst.name:
                continue   # from the host's own zone: switched in the VLAN, never routed through an ACL
            found.setdefault((by_subnet[source], dst.name, protocol), []).append((int(low), int(high or low)))
    return {key: _merged(intervals) for key, intervals in found.items()}


def services_allowed(policy: SitePolicy, allowed: Allowed) -> set[tuple[str, str, str]]:
    """(src, dst, service) for every TCP/UDP service whose every port range the side allows."""
    def covered(key, low, high):
        return any(lo <= low and high <= hi for lo, hi in allowed.get(key, []))
    return {(src.name, dst.name, service.name)
            for src in policy.zones for dst in policy.zones for service in policy.services().values()
            if src is not dst and service.protocol in PORTED
            and all(covered((src.name, dst.name, service.protocol), low, high) for low, high in service.ports)}


def generated_policy(seed: int) -> SitePolicy:
    """The lab policy with two more zones, services with port ranges and lists, and random flows (`any` among them)."""
    data = copy.deepcopy(load_site_policy(SHIPPED["lab"]).raw)
    data["zones"] += [
        {"name": "servers", "vlan": 60, "subnet": "10.10.60.0/24", "gateway": "10.10.60.1", "purpose": "servers"},
        {"name": "lab2", "vlan": 70, "subnet": "10.10.70.0/25", "gateway": "10.10.70.1", "purpose": "data"},
    ]
    data["services"] |= {
        "media": {"protocol": "udp", "ports": ["16384-32767", 5004]},
        "admin-ui": {"protocol": "tcp", "ports": [8443, "9000-9010"]},
        "ldap": {"protocol": "tcp", "ports": [389, 636]},
        "ping": {"protocol": "icmp"},
    }
    rng = random.Random(seed)
    zones = [zone["name"] for zone in data["zones"]]
    services = sorted(name for name in data["services"] if name != "ssh")
    flows = {(f["from"], f["to"], f["service"]) for f in data["flows"]}
    while len(flows) < len(data["flows"]) + 14:
        src = rng.choice(zones)
        dst = rng.choice([z for z in zones if z != src] + ["any", "any", "internet"])
        flows.add((src, dst, rng.choice(services)))
    data["flows"] = [{"from": src, "to": dst, "service": service} for src, dst, service in sorted(flows)]
    return site_policy_from_data(data, f"<generated policy, seed {seed}>")


POLICIES = [pytest.param(lambda path=path: load_site_policy(path), id=site) for site, path in SHIPPED.items()]
POLICIES += [pytest.param(lambda seed=seed: generated_policy(seed), id=f"generated-{seed}") for seed in range(4)]


@pytest.mark.parametrize("make_policy", POLICIES)
def test_host_firewalls_and_switch_acls_allow_the_same_zone_service_set(make_policy):
    policy = make_policy()
    on_switch, on_hosts = switch_allows(policy), host_allows(policy)
    assert on_switch, "the switch ACLs allow nothing: this test would prove nothing"
    assert on_hosts == on_switch   # port by port, for every (source zone, destination zone, protocol)
    services = services_allowed(policy, on_switch)
    assert services == services_allowed(policy, on_hosts)
    # the services found are exactly what the policy's flows grant between zones (read from the file's flows here)
    granted = set()
    for rule in policy.flows:
        targets = [z for z in policy.zone_names() if z != rule.src] if rule.dst == "any" else [rule.dst]
        if policy.service(rule.service).protocol in PORTED and rule.dst != "internet":
            granted |= {(rule.src, target, rule.service) for target in targets if target != rule.src}
    assert granted <= services


def test_the_comparison_sees_a_flow_one_side_lacks():
    """The agreement above is not vacuous: a flow rendered on one side only is found."""
    policy = generated_policy(0)
    data = copy.deepcopy(policy.raw)
    data["services"]["backup"] = {"protocol": "tcp", "ports": ["7770-7779"]}
    data["flows"].append({"from": "guest", "to": "servers", "service": "backup"})
    wider = site_policy_from_data(data)
    assert ("guest", "servers", "backup") in services_allowed(wider, host_allows(wider))
    assert ("guest", "servers", "backup") not in services_allowed(wider, switch_allows(policy))
    assert host_allows(wider) != switch_allows(policy)


def test_generated_policies_use_any_and_port_ranges():
    policy = generated_policy(1)
    assert any(rule.dst == "any" for rule in policy.flows)
    assert any(low != high for service in policy.services().values() for low, high in service.ports)
    assert all(ipaddress.IPv4Network(zone.subnet) for zone in policy.zones)
