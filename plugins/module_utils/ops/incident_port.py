# -*- coding: utf-8 -*-
"""Isolating a device at its switch port (pure functions over the site policy and the parsed running config).

Two ways, both undone from the site policy rather than from memory, so an undo a week later still restores
exactly what the policy says the port should be:
- `shutdown`: the port goes down (undo: `no shutdown`);
- `quarantine`: the port becomes an access port of the quarantine VLAN, voice VLAN removed, so the device stays
  powered (PoE) and reachable for forensics from the quarantine network only (undo: the policy's port lines).
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import intended_ports, port_lines
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import RunningConfig, normalize
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, UnknownName


class PortIsolationError(ValueError):
    """The request cannot be honoured safely; the message names what to change."""


def locate(policy: SitePolicy, target: str) -> tuple[str, str]:
    """(switch, interface) the policy device `target` is plugged into."""
    try:
        link = policy.device(target).switch_port
    except UnknownName:
        raise PortIsolationError(f"{target!r} is not in the site policy's devices list") from None
    if not link:
        raise PortIsolationError(f"{target} has no switch_port in the site policy; give switch and interface instead")
    return link.switch, check_value(link.interface, "interface", f"devices[{target}].switch_port")


def port_role(policy: SitePolicy, switch: str, interface: str) -> tuple[str, dict] | None:
    """(description, intent) of the port in the policy, or None for a port the policy does not name."""
    return intended_ports(policy, switch).get(interface)


def wanted_lines(policy: SitePolicy, switch: str, interface: str, method: str, isolated: bool,
                 quarantine_vlan: int | None) -> list[str]:
    """Interface child lines that express the requested state."""
    if method == "shutdown":
        return ["shutdown"] if isolated else ["no shutdown"]
    role = port_role(policy, switch, interface)
    if role is None:
        raise PortIsolationError(f"{switch} {interface}: quarantine needs a port the site policy names (its undo "
                                 "restores the policy's port); use method shutdown for this port")
    description, intent = role
    if intent["mode"] != "access":
        raise PortIsolationError(f"{switch} {interface} is a trunk ({description}); quarantine is for access "
                                 "ports, use method shutdown")
    if not isolated:
        return port_lines(description, intent) + ["no shutdown"]
    if not quarantine_vlan:
        raise PortIsolationError("quarantine needs quarantine_vlan (or network.blackhole_vlan in the site policy)")
    return ["switchport mode access", f"switchport access vlan {int(quarantine_vlan)}", "no switchport voice vlan"]


def missing(wanted: list[str], running: RunningConfig, interface: str) -> list[str]:
    """The lines of `wanted` not yet in effect on the interface (commands to send, parent first), or []."""
    current = [normalize(line) for line in running.children(f"interface {interface}") or []]
    needed = []
    for line in wanted:
        if line.startswith("no "):
            # negate the line as configured (`no switchport voice vlan 20`): the exact form every IOS accepts
            needed += [f"no {c}" for c in current if c == line[3:] or c.startswith(line[3:] + " ")]
        elif normalize(line) not in current:
            needed.append(line)
    return [f"interface {interface}", *(f" {line}" for line in needed)] if needed else []

