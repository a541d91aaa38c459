# -*- coding: utf-8 -*-
"""IOS / IOS-XE interface names: every naming a Catalyst prints or accepts, classified, or refused.

Full type names and the abbreviations `show` output uses (Cisco "Interface and Hardware Components Configuration
Guide", interface naming; vendor-facts.md): FastEthernet/Fa, GigabitEthernet/Gi, TwoGigabitEthernet/Tw,
FiveGigabitEthernet/Fi, TenGigabitEthernet/Te, TwentyFiveGigE/Twe, FortyGigabitEthernet/Fo, HundredGigE/Hu,
AppGigabitEthernet/Ap, Port-channel/Po; a number of one part (FastEthernet0, the 2960 management port), two parts
(slot/port: FastEthernet0/1 on a 2960, GigabitEthernet0/1 on a 3750 uplink) or three parts (switch/module/port:
GigabitEthernet1/0/1 on a 3850/9300). IOS accepts any unambiguous prefix of a type name (`gig1/0/1`); so does
`canonical()`. A name that is none of these is refused with InvalidValue: a port that cannot be classified is
never silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue

PHYSICAL_TYPES = {
    "FastEthernet": "Fa", "GigabitEthernet": "Gi", "TwoGigabitEthernet": "Tw", "FiveGigabitEthernet": "Fi",
    "TenGigabitEthernet": "Te", "TwentyFiveGigE": "Twe", "FortyGigabitEthernet": "Fo", "HundredGigE": "Hu",
    "AppGigabitEthernet": "Ap",
}
# Interfaces that are not switch ports: never parked, never "a port the policy may name".
LOGICAL_TYPES = {
    "Port-channel": "Po", "Vlan": "Vl", "Loopback": "Lo", "Tunnel": "Tu", "Null": "Nu", "BDI": "BD",
    "Virtual-Template": "Vt", "Dialer": "Di", "NVI": "NV",
}
ALL_TYPES = {**PHYSICAL_TYPES, **LOGICAL_TYPES}
NAME_RE = re.compile(r"^([A-Za-z][A-Za-z-]*?)\s?(\d+(?:/\d+){0,2})(\.\d+)?$")
EXAMPLES = "GigabitEthernet1/0/1, Gi1/0/1, FastEthernet0/1, Te1/1/1, Twe1/0/1, Po1"


@dataclass(frozen=True)
class Interface:
    name: str          # canonical full name: GigabitEthernet1/0/1
    type: str          # GigabitEthernet
    number: str        # 1/0/1
    physical: bool     # a switch port (not Vlan / Port-channel / Loopback ...)

    @property
    def parts(self) -> int:
        return self.number.count("/") + 1


def _type_of(text: str) -> str | None:
    for full, short in sorted(ALL_TYPES.items(), key=lambda item: -len(item[1])):
        if text.lower() in (full.lower(), short.lower()):
            return full
    matches = [full for full in ALL_TYPES if full.lower().startswith(text.lower())]
    return matches[0] if len(matches) == 1 else None


def parse_interface(text: str, where: str = "interface") -> Interface:
    """The interface `text` names (full or abbreviated); InvalidValue naming `where` when it names none."""
    match = NAME_RE.match(text.strip())
    kind = _type_of(match.group(1)) if match else None
    if kind is None:
        raise InvalidValue(f"{where}: {text!r} is not an IOS interface name this toolkit knows (e.g. {EXAMPLES}); "
                           "refusing rather than skipping it")
    number = match.group(2) + (match.group(3) or "")
    return Interface(f"{kind}{number}", kind, number, kind in PHYSICAL_TYPES and not match.group(3))


def canonical(text: str, where: str = "interface") -> str:
    """`Gi1/0/1` -> `GigabitEthernet1/0/1` (how the running config spells it)."""
    return parse_interface(text, where).name


def short_name(name: str) -> str:
    """`GigabitEthernet1/0/1` -> `Gi1/0/1`."""
    interface = parse_interface(name)
    return ALL_TYPES[interface.type] + interface.number
