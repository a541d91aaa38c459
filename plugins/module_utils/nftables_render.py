# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site policy -> nftables ruleset of one Linux host (PBX / AI voice gateway). Pure functions, no I/O.

`inbound_rules(policy, zone)` says which zones may reach which service on a host of `zone`, read from the same
expanded flows as the switch ACLs (`SitePolicy.flows_between`, one `any` expansion, one port parser);
`render_host_ruleset(policy, zone, ...)` turns that into an `nft -f` file with one `inet` table of our own:

- input and forward: policy drop; loopback, established/related accepted; ct state invalid dropped;
- ICMP / ICMPv6 essentials: errors and packet-too-big from anywhere, neighbour discovery only with hop limit 255
  (RFC 4861: a router on the path could not have sent it), echo requests from the management zones, rate-limited;
- SSH only from the management zones (purpose `mgmt`) and the explicitly kept addresses (the controller) - whatever
  the flows say; every other service only from the zones the policy's flows allow towards the host's zone;
- new SIP connections rate-limited per source address; dropped packets logged, rate-limited.

IPv6: zones are IPv4 subnets in the policy; `zone_ipv6` maps a zone to its IPv6 prefixes so that the same rules hold
for IPv6. Without it, IPv6 from the zones is dropped (ICMPv6 essentials aside) - it is never left open.

The table is replaced atomically (`table` + `delete table` + definition in one transaction), and other tables
(fail2ban, container engines) are left alone; their accept verdicts cannot undo a drop of ours.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, UnknownName, Zone

__all__ = ["InboundRule", "RenderError", "host_zone", "inbound_rules", "plan_host_firewall", "render_host_ruleset"]

SSH_SERVICE = "ssh"
MGMT_PURPOSE = "mgmt"
DEFAULT_TABLE = "aiphone_host"
DEFAULT_RATE_LIMITED = ("sip", "sip-tls")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

ICMP_ERRORS_V4 = ("destination-unreachable", "time-exceeded", "parameter-problem")
ICMP_ERRORS_V6 = ("destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem")
NEIGHBOUR_DISCOVERY = ("nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert")


class RenderError(ValueError):
    """The policy or the options cannot be turned into a safe ruleset; the message says what to fix."""


@dataclass(frozen=True)
class InboundRule:
    """Sources of one zone may open `protocol` ports `port_lo`..`port_hi` of the host (`service` of the policy)."""

    zone: str
    service: str
    protocol: str
    port_lo: int
    port_hi: int
    sources_v4: tuple[str, ...]
    sources_v6: tuple[str, ...] = field(default=())

    @property
    def ports(self) -> str:
        return str(self.port_lo) if self.port_lo == self.port_hi else f"{self.port_lo}-{self.port_hi}"


# --------------------------------------------------------------------------------------------------------------------
# What is allowed: the policy's expanded flows (`SitePolicy.flows_between`), the ones the switch ACLs compile from
# --------------------------------------------------------------------------------------------------------------------
def host_zone(policy: SitePolicy, hostname: str) -> str:
    """The zone of the Linux host `hostname` as the policy's `devices` list gives it."""
    try:
        device = policy.device(hostname)
    except UnknownName:
        raise RenderError(f"host {hostname!r} is not among the policy's devices: add it (platform: linux, zone: ...) "
                          "or set host_firewall_zone") from None
    if device.platform != "linux":
        raise RenderError(f"device {hostname!r} has platform {device.platform!r}, not linux")
    return device.zone


def _zone(policy: SitePolicy, name: str) -> Zone:
    try:
        return policy.zone(name)
    except UnknownName as exc:
        raise RenderError(str(exc)) from None


def _mgmt_zones(policy: SitePolicy) -> list[str]:
    names = [zone.name for zone in policy.zones_with_purpose(MGMT_PURPOSE)]
    if not names:
        raise RenderError("the policy has no zone with purpose mgmt: SSH would be reachable from nowhere")
    return names


def _ipv6_prefixes(zone_ipv6: dict | None, zone: str) -> tuple[str, ...]:
    prefixes = []
    for prefix in (zone_ipv6 or {}).get(zone, []):
        try:
            prefixes.append(str(ipaddress.IPv6Network(prefix, strict=True)))
        except ValueError as exc:
            raise RenderError(f"IPv6 prefix {prefix!r} of zone {zone!r}: {exc}") from None
    return tuple(prefixes)


def _ssh_ranges(policy: SitePolicy) -> list[tuple[str, int, int]]:
    """The TCP/UDP port ranges of the policy's ssh service ([] without one)."""
    services = policy.services()
    if SSH_SERVICE not in services:
        return []
    return [r for r in services[SSH_SERVICE].port_ranges() if r[0] in ("tcp", "udp")]


def _inbound(policy: SitePolicy, zone: str) -> list[tuple[str, str, str, int, int]]:
    """(source zone, service, protocol, low, high) a host of `zone` accepts, before any option.

    SSH only from the mgmt zones, whatever the flows say; every other service as the expanded flows towards `zone`
    say (`any` expanded once, in `SitePolicy.expanded_flows`). ICMP services are left to the ICMP essentials."""
    opened = [(src, SSH_SERVICE, *bounds) for src in _mgmt_zones(policy) for bounds in _ssh_ranges(policy)]
    opened += [(flow.src, flow.service, flow.protocol, flow.port_lo, flow.port_hi)
               for flow in policy.flows_between(None, zone)
               if flow.service != SSH_SERVICE and flow.protocol in ("tcp", "udp")]
    return opened


def inbound_rules(policy: SitePolicy, zone: str, *, services: list[str] | None = None,
                  zone_ipv6: dict | None = None) -> list[InboundRule]:
    """Every (source zone, service, port range) a host of `zone` accepts; SSH only from the mgmt zones.

    `services` limits the result to the services this host runs (None: every service the flows allow).
    """
    _zone(policy, zone)
    rules, seen = [], set()
    for src, service, protocol, low, high in _inbound(policy, zone):
        _checked_name(src, "zone name")
        _checked_name(service, "service name")
        if services is not None and service not in services and service != SSH_SERVICE:
            continue
        key = (src, service, protocol, low, high)
        if key in seen:
            continue
        seen.add(key)
        source_v4 = str(ipaddress.IPv4Network(_zone(policy, src).subnet, strict=True))
        rules.append(InboundRule(src, service, protocol, low, high, (source_v4,), _ipv6_prefixes(zone_ipv6, src)))
    return rules


# --------------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------------
def _set(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _checked_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise RenderError(f"{what} {value!r}: must be a lower-case identifier ([a-z][a-z0-9_-]*, at most 32)")
    return value


def _split_addresses(addresses) -> tuple[list[str], list[str]]:
    v4, v6 = [], []
    for address in addresses:
        try:
            network = ipaddress.ip_network(str(address), strict=False)
        except ValueError:
            raise RenderError(f"kept source {address!r} is not an IP address or network") from None
        (v4 if network.version == 4 else v6).append(str(network))
    return v4, v6


def _address_rules(sources_v4, sources_v6, match: str, comment: str) -> list[str]:
    lines = []
    if sources_v4:
        lines.append(f'ip saddr {_set(sources_v4)} {match} comment "{comment}"')
    if sources_v6:
        lines.append(f'ip6 saddr {_set(sources_v6)} {match} comment "{comment}"')
    return lines


def _port_match(protocol: str, low: int, high: int) -> str:
    return f"{protocol} dport {low if low == high else f'{low}-{high}'}"


def _icmp_lines(mgmt_v4: list[str], mgmt_v6: list[str], echo_rate: str) -> list[str]:
    lines = [
        f"icmp type {_set(ICMP_ERRORS_V4)} accept",
        f"icmpv6 type {_set(ICMP_ERRORS_V6)} accept",
        f"icmpv6 type {_set(NEIGHBOUR_DISCOVERY)} ip6 hoplimit 255 accept"
        ' comment "neighbour discovery (IPv6 needs it)"',
        'icmpv6 type mld-listener-query ip6 saddr fe80::/10 accept',
    ]
    lines += _address_rules(mgmt_v4, [], f"icmp type echo-request limit rate {echo_rate} accept", "ping from mgmt")
    lines += _address_rules([], mgmt_v6, f"icmpv6 type echo-request limit rate {echo_rate} accept", "ping from mgmt")
    return lines


def _rate_limit_lines(rules: list[InboundRule], rate_limited: tuple[str, ...], rate: int, burst: int) -> list[str]:
    ports = sorted({(rule.protocol, rule.port_lo, rule.port_hi) for rule in rules if rule.service in rate_limited})
    lines = []
    for protocol, low, high in ports:
        match = _port_match(protocol, low, high)
        limit = f"limit rate over {rate}/second burst {burst} packets"
        lines.append(f'{match} ct state new add @sip_flood_v4 {{ ip saddr {limit} }} counter drop comment "SIP flood"')
        lines.append(f'{match} ct state new add @sip_flood_v6 {{ ip6 saddr {limit} }} counter drop comment "SIP flood"')
    return lines


def _service_lines(rules: list[InboundRule]) -> list[str]:
    lines = []
    for rule in rules:
        comment = f"{rule.service} from {rule.zone}"
        lines += _address_rules(rule.sources_v4, rule.sources_v6,
                                f"{_port_match(rule.protocol, rule.port_lo, rule.port_hi)} accept", comment)
    return lines


def _kept_lines(policy: SitePolicy, keep_v4: list[str], keep_v6: list[str]) -> list[str]:
    ports = _ssh_ranges(policy) if SSH_SERVICE in policy.services() else [("tcp", 22, 22)]
    lines = []
    for protocol, low, high in ports:
        lines += _address_rules(keep_v4, keep_v6, f"{_port_match(protocol, low, high)} accept",
                                "kept: controller / operator SSH")
    return lines


def _chain(name: str, hook: str, body: list[str]) -> list[str]:
    header = [f"chain {name} {{", f"\ttype filter hook {hook} priority filter; policy drop;"]
    return header + [f"\t{line}" for line in body] + ["}"]


def render_host_ruleset(policy: SitePolicy, zone: str, *, keep_sources=(), services: list[str] | None = None,
                        zone_ipv6: dict | None = None, rate_limited_services=DEFAULT_RATE_LIMITED,
                        sip_rate_per_second: int = 20, sip_burst: int = 40, log_rate_per_minute: int = 10,
                        echo_rate_per_second: int = 5, table: str = DEFAULT_TABLE, log_drops: bool = True) -> str:
    """The `nft -f` file of a host in `zone`; raises RenderError on anything unsafe or unknown."""
    _checked_name(table, "table name")
    for number, what in ((sip_rate_per_second, "SIP rate"), (sip_burst, "SIP burst"),
                         (log_rate_per_minute, "log rate"), (echo_rate_per_second, "echo rate")):
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 100000:
            raise RenderError(f"{what} {number!r}: must be a whole number from 1 to 100000")
    for service in list(services or []) + list(rate_limited_services):
        _checked_name(service, "service name")
    rules = inbound_rules(policy, zone, services=services, zone_ipv6=zone_ipv6)
    keep_v4, keep_v6 = _split_addresses(keep_sources)
    mgmt = _mgmt_zones(policy)
    mgmt_v4 = [str(_zone(policy, name).network) for name in mgmt] + keep_v4
    mgmt_v6 = [prefix for name in mgmt for prefix in _ipv6_prefixes(zone_ipv6, name)] + keep_v6
    def log(chain_name: str) -> list[str]:
        if not log_drops:
            return []
        return [f"limit rate {log_rate_per_minute}/minute burst {2 * log_rate_per_minute} packets "
                f'log prefix "[aiphone-drop {chain_name}] " level info']

    input_body = [
        'iif "lo" accept',
        "ct state invalid counter drop",
        "ct state established,related accept",
        *_icmp_lines(mgmt_v4, mgmt_v6, f"{echo_rate_per_second}/second"),
        *_kept_lines(policy, keep_v4, keep_v6),
        *_rate_limit_lines(rules, tuple(rate_limited_services), sip_rate_per_second, sip_burst),
        *_service_lines(rules),
        *log("input"),
        "counter",
    ]
    forward_body = ["ct state invalid drop", *log("forward"), "counter"]
    dynamic_set = "\ttype {kind}; size 65535; flags dynamic; timeout 1m;"
    sets = []
    for name, kind in (("sip_flood_v4", "ipv4_addr"), ("sip_flood_v6", "ipv6_addr")):
        sets += [f"set {name} {{", dynamic_set.format(kind=kind), "}"]
    body = sets + _chain("input", "input", input_body) + _chain("forward", "forward", forward_body)
    site = _checked_name(policy.site.name, "site name")
    header = [
        "#!/usr/sbin/nft -f",
        f"# Managed by aiphone.hardening (role host_firewall) from the site policy of {site}, zone {zone}.",
        "# Do not edit: changes are overwritten on the next run. Other tables are left alone.",
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    return "\n".join(header + [f"\t{line}" for line in body] + ["}", ""])


# --------------------------------------------------------------------------------------------------------------------
# Plan for the role: the ruleset plus what it means for the connection in use
# --------------------------------------------------------------------------------------------------------------------
def _in_mgmt(policy: SitePolicy, address: str, zone_ipv6: dict | None) -> bool:
    ip = ipaddress.ip_address(address)
    for name in _mgmt_zones(policy):
        networks = [_zone(policy, name).subnet, *_ipv6_prefixes(zone_ipv6, name)]
        if any(ip in ipaddress.ip_network(network) for network in networks):
            return True
    return False


def plan_host_firewall(policy: SitePolicy, zone: str, *, controller: str | None = None, keep_controller: bool = True,
                       extra_ssh_sources=(), **options) -> dict:
    """Ruleset and summary for one host; the controller keeps SSH when it is outside the mgmt zones (if allowed).

    Returns ``{"ruleset": str, "zone": "ai", "inbound": [{"zone", "service", "protocol", "ports"}, ...],
    "controller": "192.0.2.7" | None, "controller_in_mgmt": bool, "controller_kept": bool, "lockout": bool}``;
    `lockout` is true when the ruleset would cut the controller's SSH connection (the caller must refuse).
    """
    controller_in_mgmt, keep = False, list(extra_ssh_sources)
    if controller:
        try:
            controller_in_mgmt = _in_mgmt(policy, controller, options.get("zone_ipv6"))
        except ValueError:
            raise RenderError(f"controller address {controller!r} is not an IP address") from None
        if not controller_in_mgmt and keep_controller:
            keep.append(controller)
    ruleset = render_host_ruleset(policy, zone, keep_sources=keep, **options)
    rules = inbound_rules(policy, zone, services=options.get("services"), zone_ipv6=options.get("zone_ipv6"))
    return {
        "ruleset": ruleset,
        "zone": zone,
        "inbound": [{"zone": r.zone, "service": r.service, "protocol": r.protocol, "ports": r.ports} for r in rules],
        "controller": controller or None,
        "controller_in_mgmt": controller_in_mgmt,
        "controller_kept": bool(controller) and not controller_in_mgmt and keep_controller,
        "lockout": bool(controller) and not controller_in_mgmt and not keep_controller,
    }
