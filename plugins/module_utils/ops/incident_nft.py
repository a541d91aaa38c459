# -*- coding: utf-8 -*-
"""Incident rules of a Linux host as one nftables table of their own (pure functions, tested offline).

`inet aiphone_incident` sits beside the site firewall (host_firewall's table) at a higher priority (-10): its
drops are final whatever the site table accepts, and removing it (`state: absent`) gives the site firewall back
untouched. It holds two independent things, kept in a small JSON state file on the host:

- blocked sources (addresses / networks, in and out, forwarded too);
- isolation: everything dropped except loopback, established flows and the management path (management sources
  to the management ports), so the operator keeps the SSH session that will undo it.
"""

from __future__ import annotations

import ipaddress

TABLE = "aiphone_incident"
PRIORITY = -10


class IncidentRuleError(ValueError):
    """The request would be unsafe or is malformed; the message says which value."""


def networks(values, field: str) -> list[str]:
    """Normalised CIDR strings (a bare address becomes /32 or /128); anything else is refused by name."""
    result = []
    for value in values or []:
        try:
            result.append(str(ipaddress.ip_network(str(value).strip(), strict=False)))
        except ValueError:
            raise IncidentRuleError(f"{field}: {value!r} is not an IP address or network") from None
    return sorted(set(result), key=lambda n: (ipaddress.ip_network(n).version, ipaddress.ip_network(n)))


def ports(values, field: str) -> list[int]:
    result = sorted({int(v) for v in values or []})
    if any(not 0 < p < 65536 for p in result):
        raise IncidentRuleError(f"{field}: ports are 1-65535")
    return result


def _overlaps(a: str, b: str) -> bool:
    net_a, net_b = ipaddress.ip_network(a), ipaddress.ip_network(b)
    return net_a.version == net_b.version and net_a.overlaps(net_b)


def lockout_problems(state: dict, controller: str | None) -> list[str]:
    """Why applying `state` could cut the operator off (empty list when it cannot)."""
    problems = []
    management = state.get("management_sources", [])
    for blocked in state.get("blocked", []):
        clash = [m for m in management if _overlaps(blocked, m)]
        if clash:
            problems.append(f"blocking {blocked} would also block the management path {', '.join(clash)}")
    if state.get("isolated"):
        if not management or not state.get("management_ports"):
            problems.append("isolation needs management_sources and management_ports (the path kept open)")
        elif controller and not any(ipaddress.ip_address(controller) in ipaddress.ip_network(m) for m in management
                                    if ipaddress.ip_network(m).version == ipaddress.ip_address(controller).version):
            problems.append(f"this controller ({controller}) is outside management_sources {management}: "
                            "isolating would cut the session that has to undo it")
    if controller and any(ipaddress.ip_address(controller) in ipaddress.ip_network(b)
                          for b in state.get("blocked", [])
                          if ipaddress.ip_network(b).version == ipaddress.ip_address(controller).version):
        problems.append(f"this controller ({controller}) is inside a blocked network")
    return problems


def is_active(state: dict) -> bool:
    return bool(state.get("isolated") or state.get("blocked"))


def _set(name: str, family: str, members: list[str]) -> list[str]:
    elements = [f"    elements = {{ {', '.join(members)} }}"] if members else []
    return [f"  set {name} {{", f"    type {family}_addr", "    flags interval", *elements, "  }"]


def render(state: dict) -> str:
    """The nft script that (re)creates the incident table for `state` atomically (one `nft -f` transaction)."""
    v4 = [n for n in state.get("blocked", []) if ipaddress.ip_network(n).version == 4]
    v6 = [n for n in state.get("blocked", []) if ipaddress.ip_network(n).version == 6]
    mgmt4 = [n for n in state.get("management_sources", []) if ipaddress.ip_network(n).version == 4]
    mgmt6 = [n for n in state.get("management_sources", []) if ipaddress.ip_network(n).version == 6]
    mgmt_ports = ", ".join(str(p) for p in state.get("management_ports", []))
    lines = [f"table inet {TABLE} {{}}", f"delete table inet {TABLE}", f"table inet {TABLE} {{",
             *_set("blocked_v4", "ipv4", v4), *_set("blocked_v6", "ipv6", v6),
             *_set("mgmt_v4", "ipv4", mgmt4), *_set("mgmt_v6", "ipv6", mgmt6)]
    for hook, direction in (("input", "saddr"), ("forward", "saddr"), ("output", "daddr")):
        lines += [f"  chain {hook} {{", f"    type filter hook {hook} priority {PRIORITY}; policy accept;",
                  f"    ip {direction} @blocked_v4 counter drop", f"    ip6 {direction} @blocked_v6 counter drop"]
        if hook == "forward":
            lines += ["    ip daddr @blocked_v4 counter drop", "    ip6 daddr @blocked_v6 counter drop"]
        if state.get("isolated"):
            lines += isolation_rules(hook, mgmt_ports)
        lines.append("  }")
    return "\n".join(lines + ["}", ""])


def isolation_rules(hook: str, mgmt_ports: str) -> list[str]:
    if hook == "forward":
        return ["    counter drop comment \"aiphone incident: isolated\""]
    interface = "iif" if hook == "input" else "oif"
    rules = [f"    {interface} \"lo\" accept", "    ct state established,related accept"]
    if hook == "input":
        rules += [f"    ip saddr @mgmt_v4 tcp dport {{ {mgmt_ports} }} accept",
                  f"    ip6 saddr @mgmt_v6 tcp dport {{ {mgmt_ports} }} accept"]
    return rules + ["    counter drop comment \"aiphone incident: isolated\""]
