# -*- coding: utf-8 -*-
"""Incident source blocks on the switches' zone ACLs (pure functions; issue 8, "block a source").

A block is one entry `<seq> deny ip <source> any log` with a sequence number in the RESERVED range 1-9 of a zone's
inbound ACL. The toolkit numbers every policy entry from 10 in steps of 10 (iosconfig._diff_ordered), so 1-9 sit
before every permit, and IOS-XE prints the numbers in the running configuration, which makes the blocks readable back
from the device itself - no state kept elsewhere:

- `network.yml` converges the policy entries and KEEPS the reserved entries (an open incident is never lifted
  silently; only `incident_block_source.yml -e incident_state=absent` removes it, audited);
- the policy verifier ignores them when it evaluates the policy, and reports each one as an incident deviation.

IOS extended ACL sequence numbers and `no <seq>` inside the ACL mode [V] (Cisco IOS "IP Access List Entry Sequence
Numbering"); numbers in `show running-config` of named ACLs on IOS-XE 16+ [I] (observed in public configs).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import (
    ANY,
    Ace,
    canonical_ace,
    parse_ace,
    zone_acl_name,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

INCIDENT_SEQUENCES = range(1, 10)
NUMBERED = re.compile(r"^(\d+)\s+(.*)$")
EDIT = re.compile(r"^(no )?(\d+)(?: (.+))?$")       # `<seq> <entry>` / `no <seq>` inside the ACL mode


class BlockError(ValueError):
    """A block that cannot be applied safely; the message names what to change."""


def sequence_of(line: str) -> int | None:
    match = NUMBERED.match(line.strip())
    return int(match.group(1)) if match else None


def is_incident_entry(line: str) -> bool:
    return sequence_of(line) in INCIDENT_SEQUENCES


def is_incident_edit(command: str) -> bool:
    match = EDIT.match(command.strip())
    return bool(match) and int(match.group(2)) in INCIDENT_SEQUENCES and bool(match.group(1)) != bool(match.group(3))


def edit_in_effect(command: str, current: list[str]) -> bool:
    """Read-back of one numbered edit: `no <seq>` is gone, `<seq> <entry>` is there with that entry."""
    negate, seq, text = EDIT.match(command.strip()).groups()
    held = [line for line in current if sequence_of(line) == int(seq)]
    if negate:
        return not held
    return len(held) == 1 and canonical_ace(NUMBERED.match(held[0].strip()).group(2)) == canonical_ace(text)


def policy_entries(lines: list[str]) -> list[str]:
    """The entries of an ACL that are not incident blocks."""
    return [line for line in lines if not is_incident_entry(line)]


def incident_lines(lines: list[str]) -> list[str]:
    """The incident blocks of an ACL as the device prints them (`<seq> deny ip ...`)."""
    return [line.strip() for line in lines if is_incident_entry(line)]


def incident_entries(lines: list[str] | None) -> dict[int, Ace | str]:
    """Reserved-range entries of an ACL: sequence -> entry (its text when it is not one we can parse)."""
    entries: dict[int, Ace | str] = {}
    for line in lines or []:
        if is_incident_entry(line):
            seq, text = NUMBERED.match(line.strip()).groups()
            try:
                entries[int(seq)] = parse_ace(text)
            except ValueError:
                entries[int(seq)] = text
    return entries


def block_ace(source: ipaddress.IPv4Network) -> Ace:
    return Ace("deny", "ip", source, ANY, log=True)


def parse_sources(sources: list[str], policy: SitePolicy, controller_address: str = "") -> tuple[list, list[str]]:
    """(IPv4 networks to block, IPv6 sources skipped) - refusing what would cut the management path."""
    if not sources:
        raise BlockError("no sources given")
    mgmt = [zone.network for zone in policy.zones_with_purpose("mgmt")]
    controller = ipaddress.ip_address(controller_address) if controller_address else None
    networks, skipped = [], []
    for value in sources:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise BlockError(f"source {value!r} is not an IP address or network") from None
        if network.version == 6:
            skipped.append(str(network))     # IPv4 ACLs; the host firewalls block IPv6 sources
            continue
        if controller is not None and controller in network:
            raise BlockError(f"source {network} contains this controller ({controller}): it would lock us out")
        clash = [str(m) for m in mgmt if m.overlaps(network)]
        if clash:
            raise BlockError(f"source {network} overlaps the management zone {', '.join(clash)}: the switches "
                             "are managed from there; isolate that device at its port instead")
        networks.append(network)
    return list(dict.fromkeys(networks)), skipped


def switch_zone_acls(policy: SitePolicy, running) -> list[str]:
    """Names of the policy's zone ACLs this switch holds (`ACL-<ZONE>-IN`, or `ACL-<ZONE>-IN-B` after a hitless
    replacement, see iosconfig.place_acl)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import alternate_name
    bases = [zone_acl_name(zone) for zone in policy.zone_names()]
    names = [name for base in bases for name in (base, alternate_name(base))]
    return [name for name in names if f"ip access-list extended {name}" in running.sections]


def block_commands(acl: str, current: list[str], sources: list, present: bool) -> list[str]:
    """Commands adding (present) or removing (absent) the blocks of `sources` in ACL `acl`; [] when in place."""
    existing = incident_entries(current)
    edits: list[str] = []
    for source in sources:
        entry = block_ace(source)
        held = [seq for seq, ace in existing.items() if ace == entry]
        if present and not held:
            free = [seq for seq in INCIDENT_SEQUENCES if seq not in existing]
            if not free:
                raise BlockError(f"{acl} already holds {len(INCIDENT_SEQUENCES)} incident blocks (sequences "
                                 f"{INCIDENT_SEQUENCES.start}-{INCIDENT_SEQUENCES.stop - 1}): block a network "
                                 "covering several sources, or release some first")
            existing[free[0]] = entry
            edits.append(f" {free[0]} {entry.cli()}")
        elif not present:
            edits += [f" no {seq}" for seq in held]
    return [f"ip access-list extended {acl}", *edits] if edits else []


def deviations(policy: SitePolicy, switch: str, running) -> list[dict]:
    """Every incident block on this switch, as the verifier reports it (an open incident, not a violation)."""
    found = []
    for acl in switch_zone_acls(policy, running):
        for seq, ace in incident_entries(running.sections[f"ip access-list extended {acl}"]).items():
            text = ace if isinstance(ace, str) else ace.cli()
            found.append({"kind": "incident_block", "switch": switch, "acl": acl, "sequence": seq, "entry": text,
                          "source": "" if isinstance(ace, str) else str(ace.src)})
    return found
