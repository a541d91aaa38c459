# -*- coding: utf-8 -*-
"""IOS extended ACL entries as data: parse, render, compile from the site policy's flows.

The flows come from `SitePolicy.expanded_flows()`, the one `any` expansion and port parser; the hosts' nftables
rulesets (`nftables_render.inbound_rules`) read the same expansion, so a switch and a host never disagree about
what is allowed (tests/unit/policy/test_firewall_acl_agreement.py proves it on the renderers' output).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

ANY = ipaddress.IPv4Network("0.0.0.0/0")
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
PORT_MAX = 65535

# Keywords IOS prints instead of port numbers (Cisco IOS "Configuring IP Access Lists", port name tables).
PORT_NAMES = {
    "bgp": 179, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53, "echo": 7, "exec": 512,
    "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "hostname": 101, "ident": 113, "irc": 194,
    "klogin": 543, "kshell": 544, "login": 513, "lpd": 515, "nntp": 119, "pop2": 109, "pop3": 110, "smtp": 25,
    "sunrpc": 111, "tacacs": 49, "talk": 517, "telnet": 23, "time": 37, "uucp": 540, "whois": 43, "www": 80,
    "biff": 512, "bootpc": 68, "bootps": 67, "dnsix": 195, "isakmp": 500, "mobile-ip": 434, "nameserver": 42,
    "netbios-dgm": 138, "netbios-ns": 137, "netbios-ss": 139, "non500-isakmp": 4500, "ntp": 123, "rip": 520,
    "snmp": 161, "snmptrap": 162, "syslog": 514, "tftp": 69, "who": 513, "xdmcp": 177,
}
PROTOCOL_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp", "0": "ip"}
PortSet = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Ace:
    """One access-control entry. Ports are inclusive ranges; None = any port."""

    action: str
    protocol: str
    src: ipaddress.IPv4Network
    dst: ipaddress.IPv4Network
    src_ports: PortSet | None = None
    dst_ports: PortSet | None = None
    established: bool = False
    log: bool = False

    def cli(self) -> str:
        words = [self.action, self.protocol, _address(self.src), *_ports(self.src_ports),
                 _address(self.dst), *_ports(self.dst_ports)]
        if self.established:
            words.append("established")
        if self.log:
            words.append("log")
        return " ".join(words)


def _address(net: ipaddress.IPv4Network) -> str:
    if net == ANY:
        return "any"
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    return f"{net.network_address} {net.hostmask}"


def _ports(ports: PortSet | None) -> list[str]:
    if ports is None:
        return []
    if len(ports) == 2 and ports[0][0] == 0 and ports[1][1] == PORT_MAX and ports[1][0] == ports[0][1] + 2:
        return ["neq", str(ports[0][1] + 1)]
    (low, high), = ports
    if low == high:
        return ["eq", str(low)]
    if high == PORT_MAX:
        return ["gt", str(low - 1)]
    if low == 0:
        return ["lt", str(high + 1)]
    return ["range", str(low), str(high)]


def parse_ace(line: str) -> Ace:
    """Parse one IOS extended ACL entry (with or without its sequence number); ValueError if unsupported."""
    words = line.split()
    if words and words[0].isdigit():
        words = words[1:]
    if len(words) < 4 or words[0] not in ("permit", "deny"):
        raise ValueError(f"not an extended ACL entry: {line!r}")
    action, protocol = words[0], PROTOCOL_NUMBERS.get(words[1], words[1])
    rest = words[2:]
    src, rest = _take_address(rest, line)
    src_ports, rest = _take_ports(rest, line)
    dst, rest = _take_address(rest, line)
    dst_ports, rest = _take_ports(rest, line)
    flags = set(rest)
    unknown = flags - {"established", "log", "log-input"}
    if unknown:
        raise ValueError(f"unsupported ACL keywords {sorted(unknown)} in {line!r}")
    return Ace(action, protocol, src, dst, src_ports, dst_ports, "established" in flags,
               bool(flags & {"log", "log-input"}))


def _take_address(words: list[str], line: str) -> tuple[ipaddress.IPv4Network, list[str]]:
    if not words:
        raise ValueError(f"missing address in {line!r}")
    if words[0] == "any":
        return ANY, words[1:]
    if words[0] == "host":
        return ipaddress.IPv4Network(f"{words[1]}/32"), words[2:]
    try:
        return ipaddress.IPv4Network(f"{words[0]}/{words[1]}"), words[2:]   # ipaddress accepts host masks
    except (ValueError, IndexError):
        raise ValueError(f"unsupported address (non-contiguous wildcard?) in {line!r}") from None


def _port(word: str) -> int:
    return int(word) if word.isdigit() else PORT_NAMES[word]


def _take_ports(words: list[str], line: str) -> tuple[PortSet | None, list[str]]:
    if not words or words[0] not in ("eq", "range", "gt", "lt", "neq"):
        return None, words
    try:
        op = words[0]
        if op == "range":
            return ((_port(words[1]), _port(words[2])),), words[3:]
        value = _port(words[1])
    except (KeyError, IndexError):
        raise ValueError(f"unknown port in {line!r}") from None
    ranges = {"eq": ((value, value),), "gt": ((value + 1, PORT_MAX),), "lt": ((0, value - 1),),
              "neq": ((0, value - 1), (value + 1, PORT_MAX))}[op]
    return ranges, words[2:]


def canonical_ace(line: str) -> str:
    try:
        return parse_ace(line).cli()
    except ValueError:
        return " ".join(line.split())


# ----------------------------------------------------------------------------------------------------------------
# Compile the policy's flows into one inbound ACL per zone SVI
# ----------------------------------------------------------------------------------------------------------------
def zone_acl_name(zone: str) -> str:
    return f"ACL-{check_value(zone, 'name', 'zones[].name').upper()}-IN"


def zone_networks(policy: SitePolicy) -> dict[str, ipaddress.IPv4Network]:
    return {zone.name: zone.network for zone in policy.zones}


def compile_zone_acls(policy: SitePolicy) -> dict[str, list[Ace]]:
    """Zone name -> ordered entries of the ACL applied inbound on that zone's SVI.

    Order: permits for new flows from the zone; return traffic of flows into the zone (TCP `established`;
    UDP from the service port back to the client subnet, since Catalyst switch ACLs are stateless and reflexive
    ACLs are a router feature [I]); DHCP client broadcasts when a DHCP flow exists; RFC1918 denies before the
    internet permits (guest reaches only the internet); and an explicit, logged default deny.
    """
    nets = zone_networks(policy)
    flows = policy.expanded_flows()
    acls: dict[str, list[Ace]] = {}
    for zone, net in nets.items():
        entries: list[Ace] = []
        for flow in flows:
            if flow.src == zone and flow.dst != "internet":
                entries.append(_forward(flow, net, nets[flow.dst]))
        for flow in flows:
            if flow.dst == zone and flow.protocol in ("tcp", "udp"):
                entries.append(_return(flow, net, nets[flow.src]))
        for flow in flows:
            if flow.src == zone and flow.protocol == "udp" and _covers(flow, 67):
                entries.append(Ace("permit", "udp", ANY, ANY, ((68, 68),), ((67, 67),)))
        internet = [_forward(flow, net, ANY) for flow in flows if flow.src == zone and flow.dst == "internet"]
        if internet:
            entries += [Ace("deny", "ip", net, private) for private in RFC1918] + internet
        entries.append(Ace("deny", "ip", ANY, ANY, log=True))
        acls[zone] = _dedupe(entries)
    return acls


def _covers(flow, port: int) -> bool:
    return flow.port_lo is not None and flow.port_lo <= port <= flow.port_hi


def _port_set(flow) -> PortSet | None:
    return None if flow.port_lo is None else ((flow.port_lo, flow.port_hi),)


def _forward(flow, src: ipaddress.IPv4Network, dst: ipaddress.IPv4Network) -> Ace:
    return Ace("permit", flow.protocol, src, dst, dst_ports=_port_set(flow))


def _return(flow, server: ipaddress.IPv4Network, client: ipaddress.IPv4Network) -> Ace:
    return Ace("permit", flow.protocol, server, client, src_ports=_port_set(flow),
               established=flow.protocol == "tcp")


def _dedupe(entries: list[Ace]) -> list[Ace]:
    seen: set[Ace] = set()
    return [e for e in entries if not (e in seen or seen.add(e))]


def management_acl(policy: SitePolicy, extra_sources: list[str]) -> list[Ace]:
    """VTY access-class: SSH only from the mgmt zone(s) (+ explicitly given operator networks)."""
    sources = [zone.network for zone in policy.zones_with_purpose("mgmt")]
    for value in extra_sources:
        try:
            sources.append(ipaddress.IPv4Network(value, strict=False))
        except ValueError:
            raise ValueError(f"management_sources: {value!r} is not an IPv4 network") from None
    if not sources:
        raise ValueError("no zone has purpose 'mgmt' and no management_sources were given: SSH would be closed")
    entries = [Ace("permit", "tcp", net, ANY, dst_ports=((22, 22),)) for net in sources]
    return _dedupe(entries) + [Ace("deny", "ip", ANY, ANY, log=True)]
