# -*- coding: utf-8 -*-
"""Policy verifier: do the ACLs and VLAN assignments READ BACK from the switches enforce the site policy?

For every zone SVI, the applied inbound ACL is evaluated with first-match semantics (as the switch applies it)
for every destination (each other zone and the internet) and every protocol/port, and compared with the policy's
zone x service matrix. Reported: every flow allowed but not in the policy, every policy flow blocked, zones whose
SVI filters nothing, and switch ports whose VLANs differ from the policy. The audit reuses `verify_site`.

Model (documented limits): a "new flow" is a packet from a client's ephemeral source port (EPHEMERAL_PORT) without
ACK, so `established` entries and return-traffic entries keyed on a server's source port never count as opening a
flow. An entry that covers only part of a zone's subnet counts as allowing the flow (partially) when it permits,
and never as blocking it when it denies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import (
    ANY,
    PORT_MAX,
    RFC1918,
    Ace,
    parse_ace,
    zone_networks,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import policy_entries
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    intended_ports,
    port_lines,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import RunningConfig
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

EPHEMERAL_PORT = 50000
PORTED = ("tcp", "udp")
PROTOCOLS = ("tcp", "udp", "icmp", "other")
Intervals = list[tuple[int, int]]
INTERNET = "internet"


@dataclass(frozen=True)
class Violation:
    kind: str          # allowed_not_in_policy | blocked_in_policy | no_acl | acl_unreadable | vlan_mismatch
    switch: str
    src: str = ""
    dst: str = ""
    protocol: str = ""
    ports: str = ""
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# -- interval arithmetic on port ranges ---------------------------------------------------------------------------
def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return _merge(out)


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    out = a
    for lo2, hi2 in b:
        nxt = []
        for lo1, hi1 in out:
            if hi2 < lo1 or lo2 > hi1:
                nxt.append((lo1, hi1))
                continue
            if lo1 < lo2:
                nxt.append((lo1, lo2 - 1))
            if hi2 < hi1:
                nxt.append((hi2 + 1, hi1))
        out = nxt
    return _merge(out)


def _merge(intervals: Intervals) -> Intervals:
    merged: Intervals = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def format_ports(protocol: str, intervals: Intervals) -> str:
    if protocol not in PORTED:
        return ""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in intervals)


# -- first-match evaluation -----------------------------------------------------------------------------------------
def _full(protocol: str) -> Intervals:
    return [(0, PORT_MAX)] if protocol in PORTED else [(0, 0)]


def _relation(ace_net: ipaddress.IPv4Network, target) -> str:
    """'full' when the entry covers the whole target, 'partial' when it overlaps, 'none' otherwise."""
    if target == INTERNET:
        if ace_net == ANY:
            return "full"
        return "none" if any(ace_net.subnet_of(private) for private in RFC1918) else "partial"
    if target.subnet_of(ace_net):
        return "full"
    return "partial" if ace_net.overlaps(target) else "none"


def _protocols(ace: Ace) -> tuple[str, ...]:
    if ace.protocol == "ip":
        return PROTOCOLS
    return (ace.protocol,) if ace.protocol in PROTOCOLS[:3] else ("other",)


def allowed_new_flows(aces: list[Ace], src: ipaddress.IPv4Network, dst) -> dict[str, Intervals]:
    """Protocol -> destination port intervals that `aces` (first match, implicit deny) let `src` open to `dst`."""
    undecided = {p: _full(p) for p in PROTOCOLS}
    allowed: dict[str, Intervals] = {p: [] for p in PROTOCOLS}
    for ace in aces:
        if ace.established:
            continue
        if ace.src_ports is not None and not any(lo <= EPHEMERAL_PORT <= hi for lo, hi in ace.src_ports):
            continue
        src_rel, dst_rel = _relation(ace.src, src), _relation(ace.dst, dst)
        if "none" in (src_rel, dst_rel):
            continue
        decides = src_rel == dst_rel == "full"
        for protocol in _protocols(ace):
            ports = list(ace.dst_ports) if ace.dst_ports and protocol in PORTED else _full(protocol)
            hit = _intersect(undecided[protocol], ports)
            if ace.action == "permit":
                allowed[protocol] = _merge(allowed[protocol] + hit)
            if decides:
                undecided[protocol] = _subtract(undecided[protocol], hit)
    return allowed


def expected_flows(policy: SitePolicy) -> dict[tuple[str, str], dict[str, Intervals]]:
    """(src zone, dst zone | internet) -> protocol -> port intervals the policy allows."""
    expected: dict[tuple[str, str], dict[str, Intervals]] = {}
    for flow in policy.expanded_flows():
        per_protocol = expected.setdefault((flow.src, flow.dst), {p: [] for p in PROTOCOLS})
        protocol = flow.protocol if flow.protocol in PROTOCOLS else "other"
        ports = [(flow.port_lo, flow.port_hi)] if flow.port_lo is not None else _full(protocol)
        per_protocol[protocol] = _merge(per_protocol[protocol] + ports)
    return expected


# -- reading the device's state --------------------------------------------------------------------------------------
def applied_acl(running: RunningConfig, vlan: int) -> str | None:
    for line in running.sections.get(f"interface Vlan{vlan}", []):
        words = line.split()
        if words[:2] == ["ip", "access-group"] and words[-1] == "in":
            return words[2]
    return None


def read_acl(running: RunningConfig, name: str) -> list[Ace] | None:
    for kind in ("extended", "standard"):
        lines = running.sections.get(f"ip access-list {kind} {name}")
        if lines is not None:
            # incident blocks (reserved sequences) are an open incident, reported by incident_block.deviations
            return [parse_ace(line) for line in policy_entries(lines) if not line.startswith("remark")]
    return None


def verify_acls(policy: SitePolicy, switch: str, running: RunningConfig) -> list[Violation]:
    zones = policy.zone_names()
    nets = zone_networks(policy)
    expected = expected_flows(policy)
    violations: list[Violation] = []
    for spec in policy.zones:
        zone = spec.name
        if f"interface Vlan{spec.vlan}" not in running.sections:
            continue  # this switch does not route the zone
        name = applied_acl(running, spec.vlan)
        if name is None:
            violations.append(Violation("no_acl", switch, zone, detail=f"Vlan{spec.vlan} has no inbound ACL"))
            continue
        try:
            aces = read_acl(running, name)
        except ValueError as exc:
            violations.append(Violation("acl_unreadable", switch, zone, detail=str(exc)))
            continue
        if aces is None:
            detail = f"Vlan{spec.vlan} applies {name}, which does not exist (IOS then permits all)"
            violations.append(Violation("no_acl", switch, zone, detail=detail))
            continue
        for dst in [z for z in zones if z != zone] + [INTERNET]:
            allowed = allowed_new_flows(aces, nets[zone], nets.get(dst, INTERNET))
            wanted = expected.get((zone, dst), {p: [] for p in PROTOCOLS})
            violations += _compare(switch, zone, dst, allowed, wanted, name)
    return violations


def _compare(switch, src, dst, allowed, wanted, acl) -> list[Violation]:
    out = []
    for protocol in PROTOCOLS:
        extra = _subtract(allowed[protocol], wanted[protocol])
        missing = _subtract(wanted[protocol], allowed[protocol])
        if extra:
            out.append(Violation("allowed_not_in_policy", switch, src, dst, protocol,
                                 format_ports(protocol, extra), f"permitted by {acl}"))
        if missing:
            out.append(Violation("blocked_in_policy", switch, src, dst, protocol,
                                 format_ports(protocol, missing), f"not permitted by {acl}"))
    return out


def verify_ports(policy: SitePolicy, switch: str, running: RunningConfig) -> list[Violation]:
    """Every port the policy names carries exactly its intended mode and VLANs."""
    checked = ("switchport mode", "switchport access vlan", "switchport voice vlan",
               "switchport trunk allowed vlan", "switchport trunk native vlan")
    out = []
    for port, (description, intent) in intended_ports(policy, switch).items():
        wanted = {line for line in port_lines(description, intent) if line.startswith(checked)}
        actual = {line for line in running.sections.get(f"interface {port}", []) if line.startswith(checked)}
        if wanted != actual:
            out.append(Violation("vlan_mismatch", switch, detail=(
                f"{port}: expected {sorted(wanted)}, found {sorted(actual)}")))
    return out


def verify_switch(policy: SitePolicy, switch: str, running: RunningConfig) -> list[Violation]:
    """The ACLs of the zones this switch routes and the VLANs of the ports the policy names on it."""
    return verify_acls(policy, switch, running) + verify_ports(policy, switch, running)


def verify_site(policy: SitePolicy, running_configs: dict[str, RunningConfig]) -> list[Violation]:
    """All violations over the switches read back (switch name -> parsed running config)."""
    violations: list[Violation] = []
    routed = set()
    for switch, running in running_configs.items():
        violations += verify_switch(policy, switch, running)
        routed |= {zone.name for zone in policy.zones if f"interface Vlan{zone.vlan}" in running.sections}
    for zone in policy.zones:
        if zone.name not in routed:
            violations.append(Violation("no_acl", "", zone.name,
                                        detail="no switch read back has an SVI for this zone: its traffic is "
                                               "not filtered by any switch ACL"))
    return violations
