"""Output of IOS-XE show commands, in the formats real switches print and ntc-templates' cisco_ios templates parse.

Every function takes the switch and returns text; nothing here changes state.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import TYPE_CHECKING

from lab.ios.config import vlan_set

if TYPE_CHECKING:
    from lab.ios.switch import IOSSwitch

SHORT_NAMES = {"GigabitEthernet": "Gi", "TenGigabitEthernet": "Te", "FastEthernet": "Fa",
               "AppGigabitEthernet": "Ap", "Port-channel": "Po", "Vlan": "Vl", "Loopback": "Lo"}
RESERVED_VLANS = {1002: "fddi-default", 1003: "token-ring-default", 1004: "fddinet-default", 1005: "trnet-default"}


def short_name(interface: str) -> str:
    for long, short in SHORT_NAMES.items():
        if interface.startswith(long):
            return short + interface[len(long):]
    return interface


def version_tag(version: str) -> str:
    major, minor, *rest = version.split(".")
    return ".".join([major, minor.zfill(2), *(part.zfill(2) for part in rest)])


def uptime_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    units = [("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)]
    parts = []
    for name, size in units:
        count, minutes = divmod(minutes, size)
        if count or (name == "minute" and not parts):
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return ", ".join(parts)


def show_version(sw: IOSSwitch) -> str:
    state = sw.state
    tag = version_tag(sw.version)
    uptime = uptime_text(time.time() - state["booted_at"])
    image = "packages.conf" if state.get("boot_mode") == "INSTALL" else state["image"]
    ports = len([i for i in sw.interfaces_list if i.startswith("GigabitEthernet1/")])
    return f"""Cisco IOS XE Software, Version {tag}
Cisco IOS Software [Cupertino], {sw.software_name} ({sw.model_family}), Version {sw.version}, \
RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2024 by Cisco Systems, Inc.
Compiled Tue 16-Jan-24 10:00 by mcpre


Cisco IOS-XE software, Copyright (c) 2005-2024 by cisco Systems, Inc.
All rights reserved.  Certain components of Cisco IOS-XE software are
licensed under the GNU General Public License ("GPL") Version 2.0.

This is a simulated device of the aiphone-hardening lab.

ROM: IOS-XE ROMMON
BOOTLDR: System Bootstrap, Version 17.9.1r, RELEASE SOFTWARE (P)

{sw.running.hostname} uptime is {uptime}
Uptime for this control processor is {uptime}
System returned to ROM by {state.get("reload_reason", "Reload Command")}
System image file is "{sw.flash_name}:{image}"
Last reload reason: {state.get("reload_reason", "Reload Command")}



cisco {sw.model} (X86) processor with 1338934K/6147K bytes of memory.
Processor board ID {state["serial"]}
1 Virtual Ethernet interface
{ports} Gigabit Ethernet interfaces
2048K bytes of non-volatile configuration memory.
8388608K bytes of physical memory.
{sw.flash_capacity // 1024}K bytes of Flash at {sw.flash_name}:.

Base Ethernet MAC Address          : {state["mac"]}
Motherboard Assembly Number        : 73-18271-03
Motherboard Serial Number          : {state["serial"]}
Model Revision Number              : A0
Motherboard Revision Number        : A0
Model Number                       : {sw.model}
System Serial Number               : {state["serial"]}


Switch Ports Model              SW Version        SW Image              Mode
------ ----- -----              ----------        ----------            ----
*    1 {ports:<5} {sw.model:<18} {tag:<17} {sw.model_family:<21} {state.get("boot_mode", "BUNDLE")}


Configuration register is 0x102
"""


def show_inventory(sw: IOSSwitch) -> str:
    serial = sw.state["serial"]
    return (f'NAME: "c93xx Stack", DESCR: "c93xx Stack"\nPID: {sw.model:<18}, VID: V02  , SN: {serial}\n\n'
            f'NAME: "Switch 1", DESCR: "{sw.model}"\nPID: {sw.model:<18}, VID: V02  , SN: {serial}\n')


def _access_vlan(settings: dict[str, str]) -> int:
    return int(settings.get("switchport access vlan", "1"))


def _is_trunk(settings: dict[str, str]) -> bool:
    return settings.get("switchport mode") == "trunk"


def show_vlan_brief(sw: IOSSwitch) -> str:
    members: dict[int, list[str]] = {}
    for name in sw.interfaces_list:
        settings = sw.running.interface(name)
        if name == "GigabitEthernet0/0" or _is_trunk(settings):
            continue
        members.setdefault(_access_vlan(settings), []).append(short_name(name))
    out = ["", "VLAN Name                             Status    Ports",
           "---- -------------------------------- --------- -------------------------------"]
    vlans = {**sw.running.vlans(), **RESERVED_VLANS}
    for vlan in sorted(vlans):
        status = "act/unsup" if vlan in RESERVED_VLANS else "active"
        ports = members.get(vlan, [])
        rows = [", ".join(ports[i:i + 4]) for i in range(0, len(ports), 4)] or [""]
        out.append(f"{vlan:<4} {vlans[vlan][:32]:<32} {status:<9} {rows[0]}".rstrip())
        out.extend(f"{'':<48}{row}" for row in rows[1:])
    return "\n".join(out) + "\n"


def show_interfaces_status(sw: IOSSwitch, only: str | None = None) -> str:
    out = ["", "Port         Name               Status       Vlan       Duplex  Speed Type"]
    for name in [only] if only else sw.interfaces_list:
        settings = sw.running.interface(name)
        if "shutdown" in settings:
            status = "disabled"
        elif name in sw.connected_ports:
            status = "connected"
        else:
            status = "notconnect"
        vlan = "trunk" if _is_trunk(settings) else ("routed" if name == "GigabitEthernet0/0"
                                                     else str(_access_vlan(settings)))
        duplex, speed = ("a-full", "a-1000") if status == "connected" else ("auto", "auto")
        kind = "10/100/1000BaseTX" if name.startswith("GigabitEthernet1/0/") else "unknown"
        description = settings.get("description", "")[:18]
        out.append(f"{short_name(name):<12} {description:<18} {status:<12} {vlan:<10} {duplex:>6} {speed:>6} {kind}")
    return "\n".join(out) + "\n"


def show_interfaces_switchport(sw: IOSSwitch, only: str | None = None) -> str:
    vlans = sw.running.vlans()
    blocks = []
    for name in [only] if only else sw.interfaces_list:
        if name == "GigabitEthernet0/0":
            continue
        settings = sw.running.interface(name)
        trunk = _is_trunk(settings)
        mode = "trunk" if trunk else ("static access" if settings.get("switchport mode") == "access"
                                      else "dynamic auto")
        operational = "trunk" if trunk else ("static access" if mode == "static access" else "down")
        access = _access_vlan(settings)
        native = int(settings.get("switchport trunk native vlan", "1"))
        voice = settings.get("switchport voice vlan")
        voice_text = f"{voice} ({vlans.get(int(voice), 'Inactive')})" if voice and voice.isdigit() else (
            voice or "none")
        allowed = settings.get("switchport trunk allowed vlan", "ALL")
        blocks.append(f"""Name: {short_name(name)}
Switchport: Enabled
Administrative Mode: {mode}
Operational Mode: {operational}
Administrative Trunking Encapsulation: dot1q
Operational Trunking Encapsulation: {"dot1q" if trunk else "native"}
Negotiation of Trunking: {"Off" if "switchport nonegotiate" in settings or not trunk else "On"}
Access Mode VLAN: {access} ({vlans.get(access, "Inactive")})
Trunking Native Mode VLAN: {native} ({vlans.get(native, "Inactive")})
Administrative Native VLAN tagging: enabled
Voice VLAN: {voice_text}
Administrative private-vlan host-association: none
Administrative private-vlan mapping: none
Administrative private-vlan trunk native VLAN: none
Administrative private-vlan trunk Native VLAN tagging: enabled
Administrative private-vlan trunk encapsulation: dot1q
Administrative private-vlan trunk normal VLANs: none
Administrative private-vlan trunk associations: none
Administrative private-vlan trunk mappings: none
Operational private-vlan: none
Trunking VLANs Enabled: {allowed.upper() if allowed in ("ALL", "none") else allowed}
Pruning VLANs Enabled: 2-1001
Capture Mode Disabled
Capture VLANs Allowed: ALL

Protected: false
Unknown unicast blocked: disabled
Unknown multicast blocked: disabled
Appliance trust: none
""")
    return "\n".join(blocks)


def show_ip_access_lists(sw: IOSSwitch, name: str | None = None) -> str:
    out = []
    for key, node in sw.running.nodes.items():
        if not key.startswith("ip access-list ") or node.children is None:
            continue
        _, _, kind, acl = key.split(" ", 3)
        if name and acl != name:
            continue
        out.append(f"{kind.capitalize()} IP access list {acl}")
        for entry in node.children.values():
            sequence, text = entry.line.split(" ", 1)
            if kind == "standard":
                words = text.split()
                if len(words) >= 3 and words[1].count(".") == 3 and words[2].count(".") == 3:
                    text = f"{words[0]} {words[1]}, wildcard bits {words[2]}" + "".join(f" {w}" for w in words[3:])
                elif len(words) >= 3 and words[1] == "host":
                    text = " ".join([words[0], *words[2:]])
                elif words[:2] == ["deny", "any"]:
                    # IOS aligns `deny any` under `permit`: "20 deny   any log" (ntc-templates fixtures,
                    # tests/conformance/cisco_ios/show_ip_access-lists.txt)
                    text = "deny   " + " ".join(words[1:])
            out.append(f"    {sequence} {text}")
    return "\n".join(out) + ("\n" if out else "")


def _boot_variable(files: list[str]) -> str:
    return "BOOT variable = " + "".join(f"flash:{name};" for name in files) if files else (
        "BOOT variable does not exist")


def show_boot(sw: IOSSwitch) -> str:
    current = sw.state.get("boot_var") or []
    upcoming = [line.split()[-1].split(":", 1)[1].lstrip("/") for line in sw.running.lines_under("boot system")]
    return f"""---------------------------
Switch 1
---------------------------
Current Boot Variables:
{_boot_variable(current)}

Boot Variables on next reload:
{_boot_variable(upcoming)}
Manual Boot = no
Enable Break = no
Boot Mode = DEVICE
iPXE Timeout = 0
"""


def show_install_summary(sw: IOSSwitch) -> str:
    """[I] layout from published IOS-XE 17 outputs."""
    install = sw.state.get("install") or {}
    rows = []
    for role, state in (("committed", "C"), ("activated", "U")):
        image = install.get(role)
        identity = sw.image_identity(image) if image else None
        if identity and not (role == "activated" and image == install.get("committed")):
            rows.append(f"IMG   {state}    {version_tag(identity[2])}.0.0")
    if not rows:
        rows.append(f"IMG   C    {version_tag(sw.version)}.0.0")
    return ("[ Switch 1 ] Installed Package(s) Information:\n"
            "State (St): I - Inactive, U - Activated & Uncommitted,\n"
            "            C - Activated & Committed, D - Deactivated & Uncommitted\n"
            + "-" * 80 + "\nType  St   Filename/Version\n" + "-" * 80 + "\n" + "\n".join(rows) + "\n\n"
            + "-" * 80 + "\nAuto abort timer: inactive\n" + "-" * 80 + "\n")


def dir_flash(sw: IOSSwitch, name: str | None) -> str:
    files = sorted((entry for entry in os.scandir(sw.flash_dir) if entry.is_file()), key=lambda e: e.name)
    if name:
        files = [entry for entry in files if entry.name == name]
        if not files:
            return f"%Error opening {sw.flash_name}:/{name} (No such file or directory)\n"
    out = [f"Directory of {sw.flash_name}:/{name or ''}", ""]
    for entry in files:
        stat = entry.stat()
        when = time.gmtime(stat.st_mtime)      # the day is not zero-padded: "Mar 2 2015" (conformance corpus)
        stamp = f"{time.strftime('%b', when)} {when.tm_mday} {time.strftime('%Y %H:%M:%S', when)} +00:00"
        out.append(f"{stat.st_ino % 1000000:>8}  -rw-  {stat.st_size:>15}  {stamp}  {entry.name}")
    if not files:
        out.append("No files in directory")   # tests/conformance/cisco_ios/dir_bootflash_empty.txt
    out += ["", f"{sw.flash_capacity} bytes total ({sw.flash_free()} bytes free)"]
    return "\n".join(out) + "\n"


def verify_hash(sw: IOSSwitch, algorithm: str, name: str, expected: str | None) -> str:
    try:
        path = sw.flash_path(name)
    except ValueError:
        return f"%Error opening flash:{name} (No such file or directory)\n"
    name = path.name
    if not path.is_file():
        return f"%Error opening flash:/{name} (No such file or directory)\n"
    digest = hashlib.new(algorithm, path.read_bytes()).hexdigest()
    dots = "." * 40 + "Done!"
    if expected is None:
        return f"{dots}\nverify /{algorithm} (flash:{name}) = {digest}\n\n"
    if expected.lower() == digest:
        return f"{dots}\nVerified (flash:{name}) = {digest}\n\n"
    return (f"{dots}\n%Error verifying flash:{name}\nComputed signature = {digest}\n"
            f"Submitted signature = {expected}\n\n")


def show_logging(sw: IOSSwitch) -> str:
    header = ("Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns, xml disabled, filtering disabled)\n"
              "\n    Buffer logging:  level debugging, xml disabled, filtering disabled\n\n"
              "Log Buffer (4096 bytes):\n\n")
    return header + "\n".join(sw.log_buffer) + "\n"


def show_clock() -> str:
    return time.strftime("*%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime()) + "\n"


def show_ip_ssh(sw: IOSSwitch) -> str:
    version = sw.running.value("ip ssh version") or "1.99"
    version = "2.0" if version == "2" else version
    timeout = sw.running.value("ip ssh time-out") or "120"
    retries = sw.running.value("ip ssh authentication-retries") or "3"
    return (f"SSH Enabled - version {version}\nAuthentication methods:publickey,keyboard-interactive,password\n"
            f"Authentication timeout: {timeout} secs; Authentication retries: {retries}\n")


def trunk_vlans(settings: dict[str, str]) -> set[int]:
    allowed = settings.get("switchport trunk allowed vlan", "1-4094")
    return set() if allowed == "none" else vlan_set(allowed)
