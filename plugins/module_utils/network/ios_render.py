# -*- coding: utf-8 -*-
"""Site policy -> intended IOS / IOS-XE switch configuration (pure; no device access).

`render_switch(policy, switch, facts, options)` returns the intended sections; `iosconfig.diff_config` turns
them into the commands a device still needs. `facts` come from the device's parsed running config
(`switch_facts`), so the same policy renders correctly for a 24- or 48-port switch.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import (
    compile_zone_acls,
    management_acl,
    zone_acl_name,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_interfaces import (
    Interface,
    canonical,
    parse_interface,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    AclState,
    RunningConfig,
    Section,
    acl_state,
    place_acl,
    vlan_list,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import snmp_sections
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    RESERVED_VLANS,
    Device,
    SitePolicy,
    UnknownName,
    Zone,
)

WIRELESS_PLATFORMS = ("openwrt", "cisco_wlc9800")
# Ports of the uplink network module (Gi1/1/1, Te1/1/4 ...): without a declared local uplink port we cannot tell
# which one carries the site, so they are never parked unless the policy names them.
UPLINK_MODULE_PORT_RE = re.compile(r"^\S+\d+/1/\d+$")
# A port that reaches the switch itself (out-of-band management) is never parked: a VRF like Mgmt-vrf (Catalyst
# 9000 GigabitEthernet0/0) or a routed address on it.
MGMT_PORT_LINES = re.compile(r"^(?:vrf forwarding|ip vrf forwarding|ip address \d)|^no switchport$")
MGMT_ACL = "ACL-VTY-MGMT"
PORT_OWNED = ("description", "switchport mode", "switchport access vlan", "switchport voice vlan",
              "switchport trunk allowed vlan", "switchport trunk native vlan", "shutdown", "spanning-tree portfast")
UNUSED_DESCRIPTION = "UNUSED - parked by aiphone-hardening"
AREAS = ("management", "vlans", "ports", "acls")

# CIS Cisco IOS benchmark management-plane lines (vendor-facts.md); `login block-for` is [I].
MGMT_PLANE_LINES = [
    "service password-encryption",
    "service timestamps log datetime msec",
    "ip ssh version 2",
    "ip ssh time-out 60",
    "ip ssh authentication-retries 3",
    "login block-for 900 attempts 3 within 120",
    "logging trap informational",
    "spanning-tree portfast bpduguard default",
]
# Must never be on: plaintext web UI, PAD, and SCP (enabled only while the firmware role transfers an image).
MGMT_PLANE_ABSENT = ("ip http server", "ip http secure-server", "service pad", "ip scp server enable")
MGMT_PLANE_OWNED = ("logging host", "ntp server", "snmp-server community")


@dataclass
class SwitchFacts:
    """What the renderer needs to know about the device (from its running config)."""

    interfaces: list[str] = field(default_factory=list)       # physical ports, device order
    management_ports: list[str] = field(default_factory=list)  # out-of-band management ports (never parked)
    trunk_ports: list[str] = field(default_factory=list)       # ports in trunk mode now
    vlans: list[int] = field(default_factory=list)
    vty_lines: list[str] = field(default_factory=list)         # "line vty 0 4", "line vty 5 15"
    has_aux: bool = False
    snmp_communities: int = 0                                  # SNMP v1/v2c communities configured now
    acls: AclState = field(default_factory=AclState)          # ACLs and the names in use (hitless replacement)
    ip_routing_off: bool = False                               # `no ip routing` in the running config


@dataclass
class SwitchOptions:
    management_sources: list[str] = field(default_factory=list)   # operator networks allowed to SSH besides mgmt
    protected_interfaces: list[str] = field(default_factory=list)  # never touched (e.g. an undeclared uplink)
    prune_vlans: bool | None = None                                # None: the policy's network.prune_vlans
    layer3: bool | None = None                                     # None: a switch without `uplink` routes (SVIs)
    exec_timeout: str = "10 0"
    areas: tuple[str, ...] = AREAS                                 # which parts of the config to manage


@dataclass
class IntendedConfig:
    sections: list[Section]
    banners: dict[str, str]
    findings: list[str]


def switch_facts(running: RunningConfig) -> SwitchFacts:
    """What the renderer needs from a parsed running config; an interface of a kind it cannot classify is refused
    (InvalidValue), never skipped."""
    facts = SwitchFacts(snmp_communities=sum(line.startswith("snmp-server community ")
                                             for line in running.global_lines), acls=acl_state(running),
                        ip_routing_off="no ip routing" in running.global_lines)
    ports = []
    for parent, children in running.sections.items():
        if parent.startswith("interface "):
            port = parse_interface(parent.split(" ", 1)[1], f"running config `{parent}`")
            if port.physical:
                ports.append((port, children))
        elif re.fullmatch(r"vlan \d+", parent):
            facts.vlans.append(int(parent.split()[1]))
        elif parent.startswith("line vty "):
            facts.vty_lines.append(parent)
        elif parent == "line aux 0":
            facts.has_aux = True
    stacked = any(port.parts == 3 for port, _ in ports)
    for port, children in ports:
        if is_management_port(port, children, stacked):
            facts.management_ports.append(port.name)
            continue
        facts.interfaces.append(port.name)
        if "switchport mode trunk" in children:
            facts.trunk_ports.append(port.name)
    return facts


def is_management_port(port: Interface, children: list[str], stacked: bool) -> bool:
    """FastEthernet0 (2960 management), GigabitEthernet0/0 beside switch/module/port names (Catalyst 9000), or a
    port in a VRF / with an address."""
    return port.parts == 1 or (stacked and port.parts == 2 and port.number == "0/0") or \
        any(MGMT_PORT_LINES.match(line) for line in children)


def device(policy: SitePolicy, name: str) -> Device:
    """`policy.device(name)`, refused as InvalidValue (the renderers' error) when the policy has no such device."""
    try:
        return policy.device(name)
    except UnknownName as exc:
        raise InvalidValue(str(exc)) from None


def render_switch(policy: SitePolicy, switch: str, facts: SwitchFacts, options: SwitchOptions) -> IntendedConfig:
    """The whole intended configuration of `switch`; raises InvalidValue for any unsafe or inconsistent value."""
    me = device(policy, switch)
    l3_switch = policy.network.l3_switch
    routes = switch == l3_switch if l3_switch else me.uplink is None
    layer3 = options.layer3 if options.layer3 is not None else routes
    findings: list[str] = []
    unknown = set(options.areas) - set(AREAS)
    if unknown:
        raise InvalidValue(f"areas: unknown {sorted(unknown)}; use {', '.join(AREAS)}")
    sections: list[Section] = []
    # Global lines first: IOS falls back from a sub-mode to global config for them, but not every CLI does.
    if "management" in options.areas:
        sections += _management_plane_global(policy) + snmp_sections(policy, facts.acls)
        if facts.snmp_communities:
            findings.append(f"{switch}: {facts.snmp_communities} SNMP v1/v2c community string(s) removed "
                            "(cleartext, no per-user authentication; use SNMPv3 network.snmp)")
    if "vlans" in options.areas:
        sections += _vlans(policy, facts, options)
    if "ports" in options.areas:
        sections += _ports(policy, switch, facts, options, findings)
    if "acls" in options.areas and layer3:
        if switch == l3_switch and facts.ip_routing_off:
            # the zone gateways are this switch's SVIs: with `no ip routing` it would not route between zones
            sections.append(Section(None, ["ip routing"]))
            findings.append(f"{switch}: `no ip routing` in its running config: `ip routing` turned on (it is the "
                            "policy's network.l3_switch, the zones' gateway)")
        sections += _zone_acls_and_svis(policy, facts, gateways=switch == l3_switch)
    if "management" in options.areas:
        sections += _management_plane(policy, facts, options)
    else:
        return IntendedConfig(sections, {}, findings)
    banner = policy.network.banner
    banners = {"login": check_value(banner, "text", "network.banner")} if banner else {}
    return IntendedConfig(sections, banners, findings)


def _vlans(policy: SitePolicy, facts: SwitchFacts, options: SwitchOptions) -> list[Section]:
    network = policy.network
    wanted = {zone.vlan: check_value(zone.name, "name", "zones[].name") for zone in policy.zones}
    for vlan, name in ((network.native_vlan, "NATIVE-UNUSED"), (network.blackhole_vlan, "BLACKHOLE")):
        if vlan:
            wanted[vlan] = name
    sections = [Section(f"vlan {vlan}", [f"name {name}"], owned=("name",)) for vlan, name in sorted(wanted.items())]
    prune = options.prune_vlans if options.prune_vlans is not None else bool(network.prune_vlans)
    if prune:
        sections += [Section(f"vlan {vlan}", absent=True)
                     for vlan in facts.vlans if vlan not in wanted and vlan not in RESERVED_VLANS]
    return sections


def port_intent(policy: SitePolicy, attached: Device) -> dict:
    """Mode and VLANs of the switch port a policy device is plugged into (shared with the verifier)."""
    native = policy.network.native_vlan
    if attached.platform in WIRELESS_PLATFORMS:
        ssid_zones = {ssid.zone for ssid in policy.wireless.ssids}
        allowed = {policy.zone(z).vlan for z in ssid_zones | {attached.zone}}
        return {"mode": "trunk", "allowed": sorted(allowed), "native": native}
    if attached.data_zone:
        return {"mode": "access", "access": policy.zone(attached.data_zone).vlan,
                "voice": policy.zone(attached.zone).vlan}
    return {"mode": "access", "access": policy.zone(attached.zone).vlan}


def uplink_intent(policy: SitePolicy, downstream: str) -> dict:
    """Both ends of the link to the switch `downstream`: a trunk pruned to the VLANs used behind it."""
    return {"mode": "trunk", "allowed": sorted(vlans_behind(policy, downstream)),
            "native": policy.network.native_vlan}


def vlans_behind(policy: SitePolicy, switch: str, seen: frozenset = frozenset()) -> set[int]:
    """VLANs `switch` needs from its uplink: its own zone's, its ports' and those of switches chained below it."""
    vlans = {policy.zone(device(policy, switch).zone).vlan}
    for entry in policy.devices:
        if entry.switch_port and entry.switch_port.switch == switch:
            intent = port_intent(policy, entry)
            vlans |= set(intent.get("allowed", [])) | {intent.get("access"), intent.get("voice")} - {None}
        if entry.uplink and entry.uplink.switch == switch and entry.name not in seen | {switch}:
            vlans |= vlans_behind(policy, entry.name, seen | {switch})
    return vlans


def intended_ports(policy: SitePolicy, switch: str) -> dict[str, tuple[str, dict]]:
    """Interface -> (description, intent) for every port of `switch` the policy names."""
    ports: dict[str, tuple[str, dict]] = {}
    for entry in policy.devices:
        for key, link, intent in (("switch_port", entry.switch_port, None), ("uplink", entry.uplink, "uplink")):
            if link and link.switch == switch:
                where = f"devices[{entry.name}].{key}.interface"
                name = canonical(check_value(link.interface, "interface", where), where)
                what = uplink_intent(policy, entry.name) if intent else port_intent(policy, entry)
                label = f"uplink to {entry.name}" if intent else f"{entry.name} ({entry.zone})"
                ports[name] = (check_value(label, "text", f"devices[{entry.name}] description"), what)
        local = entry.uplink.local_interface if entry.uplink else None
        if entry.name == switch and local:   # this switch's own end of its uplink
            where = f"devices[{switch}].uplink.local_interface"
            name = canonical(check_value(local, "interface", where), where)
            label = check_value(f"uplink to {entry.uplink.switch}", "text", f"devices[{switch}] description")
            ports[name] = (label, uplink_intent(policy, switch))
    return ports


def port_lines(description: str, intent: dict) -> list[str]:
    lines = [f"description {description}", f"switchport mode {intent['mode']}"]
    if intent["mode"] == "trunk":
        if intent.get("native"):
            lines.append(f"switchport trunk native vlan {intent['native']}")
        return lines + [f"switchport trunk allowed vlan {vlan_list(intent['allowed'])}"]
    lines.append(f"switchport access vlan {intent['access']}")
    if intent.get("voice"):
        lines.append(f"switchport voice vlan {intent['voice']}")
    return lines + ["spanning-tree portfast"]


def _ports(policy: SitePolicy, switch: str, facts: SwitchFacts, options: SwitchOptions,
           findings: list[str]) -> list[Section]:
    named = intended_ports(policy, switch)
    protected = {canonical(check_value(p, "interface", "protected_interfaces"), "protected_interfaces")
                 for p in options.protected_interfaces}
    if facts.interfaces:
        unknown = sorted(set(named) - set(facts.interfaces))
        if unknown:
            raise InvalidValue(f"{switch}: the policy names ports the switch does not have: {', '.join(unknown)}")
    sections = []
    blackhole = policy.network.blackhole_vlan
    for port in facts.management_ports:
        if port in named:
            raise InvalidValue(f"{switch}: the policy puts a device on {port}, the switch's management port")
        findings.append(f"{switch} {port}: management port left untouched")
    for port in facts.interfaces:
        if port in named or port in protected:
            continue
        if port in facts.trunk_ports or UPLINK_MODULE_PORT_RE.match(port):
            # probably an uplink: parking it could cut the site off
            findings.append(f"{switch} {port}: trunk or uplink-module port not in the policy left untouched "
                            "(name it in the policy or in protected_interfaces)")
            continue
        lines = [f"description {UNUSED_DESCRIPTION}", "switchport mode access"]
        lines += [f"switchport access vlan {blackhole}"] if blackhole else []
        sections.append(Section(f"interface {port}", lines + ["shutdown"], owned=PORT_OWNED))
    # unused ports are parked (closing) before the ports the policy names are set (possibly opening)
    return sections + [Section(f"interface {port}", port_lines(description, intent), owned=PORT_OWNED)
                       for port, (description, intent) in named.items() if port not in protected]


def _zone_acls_and_svis(policy: SitePolicy, facts: SwitchFacts, gateways: bool) -> list[Section]:
    """Zone ACLs and SVIs; with `gateways` (this is the policy's l3_switch) each SVI carries its zone's gateway."""
    sections = []
    for name, entries in compile_zone_acls(policy).items():
        zone = policy.zone(name)
        acl = place_acl("extended", zone_acl_name(name), [e.cli() for e in entries], facts.acls)
        sections += acl.before
        sections.append(Section(svi_name(zone),
                                [f"description zone {name}", *(_gateway_lines(zone) if gateways else []),
                                 f"ip access-group {acl.name} in"],
                                owned=("description", "ip access-group", "ip address")))
        sections += acl.after
    return sections


def svi_name(zone: Zone) -> str:
    """The zone's SVI on a switch: `interface Vlan<zone.vlan>`."""
    return f"interface Vlan{zone.vlan}"


def _gateway_lines(zone: Zone) -> list[str]:
    """The zone's gateway as the SVI address; no ICMP redirects or proxy ARP from the router of the zones."""
    network = zone.network
    gateway = _ip(zone.gateway, f"zones[{zone.name}].gateway")
    if ipaddress.ip_address(gateway) not in network:
        raise InvalidValue(f"zones[{zone.name}].gateway: {gateway} is not inside {network}")
    return [f"ip address {gateway} {network.netmask}", "no ip redirects", "no ip proxy-arp"]


def _management_plane_global(policy: SitePolicy) -> list[Section]:
    network = policy.network
    lines = list(MGMT_PLANE_LINES)
    lines += [f"logging host {_ip(a, 'network.logging_hosts')}" for a in network.logging_hosts]
    lines += [f"ntp server {_ip(a, 'network.ntp_servers')}" for a in network.ntp_servers]
    return [Section(None, lines, owned=MGMT_PLANE_OWNED, absent_lines=MGMT_PLANE_ABSENT)]


def _management_plane(policy: SitePolicy, facts: SwitchFacts, options: SwitchOptions) -> list[Section]:
    acl = place_acl("extended", MGMT_ACL, [e.cli() for e in management_acl(policy, options.management_sources)],
                    facts.acls)
    sections = list(acl.before)
    timeout = check_value(options.exec_timeout, "text", "exec_timeout")
    if not re.fullmatch(r"\d{1,2} \d{1,2}", timeout):
        raise InvalidValue(f"exec_timeout: {timeout!r} must be '<minutes> <seconds>'")
    vty = [f"access-class {acl.name} in", f"exec-timeout {timeout}", "transport input ssh"]
    for parent in facts.vty_lines or ["line vty 0 15"]:
        sections.append(Section(parent, vty, owned=("access-class", "exec-timeout", "transport input")))
    sections.append(Section("line con 0", [f"exec-timeout {timeout}"], owned=("exec-timeout",)))
    if facts.has_aux:
        sections.append(Section("line aux 0", ["transport input none"], owned=("transport input",)))
    return sections + acl.after


def _ip(value: str, field_name: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidValue(f"{field_name}: {value!r} is not an IP address") from None
