# -*- coding: utf-8 -*-
"""Offline states of switch_config and wireless_config, as cisco.ios resource modules have them. Pure; no device.

- `rendered`: site policy -> the configuration lines the device should hold (from a bare device, or - given its
  running configuration - the lines it still needs), so a policy change can be reviewed in a pull request;
- `parsed`: a running configuration (text) -> structured facts, without a connection.

Secrets never appear: rendered lines show them as ******** (and need none to render: a missing vault value is
stood in for), parsed facts leave keys and secrets out.
"""

from __future__ import annotations

import dataclasses
import re

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchFacts,
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    commands_of,
    diff_config,
    expand_vlan_list,
    parse_running_config,
    render_sections,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    MASK,
    SECTION_PREFIX,
    findings,
    mask,
    parse_uci_show,
    radios,
    ssid_intents,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

OFFLINE_STATES = ("rendered", "parsed")
# Stands in for a vault value that rendered was not given: a valid WPA3 passphrase, masked in the output anyway.
SECRET_STAND_IN = "rendered-without-the-vault-value"  # noqa: S105 - a placeholder, not a secret
DEFAULT_OPENWRT_RADIOS = ("radio0", "radio1")


# -- switches --------------------------------------------------------------------------------------------------------
def switch_rendered(policy: SitePolicy, switch: str, options: SwitchOptions, running_config: str | None = None) -> dict:
    """{"rendered": lines, "findings": [...]} for `switch`; with `running_config`, only the lines it still needs.

    SNMPv3 users are not rendered: IOS keeps them (and their keys) out of the running configuration."""
    if running_config is None:
        intent = render_switch(policy, switch, SwitchFacts(), options)
        return {"rendered": render_sections(intent.sections, intent.banners), "findings": intent.findings}
    running = parse_running_config(running_config)
    intent = render_switch(policy, switch, switch_facts(running), options)
    return {"rendered": commands_of(diff_config(intent.sections, intent.banners, running)),
            "findings": intent.findings}


def _port_facts(name: str, children: list[str]) -> dict:
    facts: dict = {"name": name, "shutdown": "shutdown" in children}
    for line in children:
        words = line.split()
        if words[:1] == ["description"]:
            facts["description"] = line.split(" ", 1)[1]
        elif words[:2] == ["switchport", "mode"]:
            facts["mode"] = words[2]
        elif words[:3] == ["switchport", "access", "vlan"]:
            facts["access_vlan"] = int(words[3])
        elif words[:3] == ["switchport", "voice", "vlan"] and words[3].isdigit():
            facts["voice_vlan"] = int(words[3])
        elif words[:4] == ["switchport", "trunk", "native", "vlan"]:
            facts["native_vlan"] = int(words[4])
        elif words[:4] == ["switchport", "trunk", "allowed", "vlan"]:
            facts["allowed_vlans"] = expand_vlan_list(words[-1])
        elif words[:2] == ["ip", "address"] and len(words) >= 4:
            facts["address"] = f"{words[2]} {words[3]}"
        elif words[:2] == ["ip", "access-group"] and len(words) == 4:
            facts[f"acl_{words[3]}"] = words[2]
    return facts


def switch_parsed(running_config: str) -> dict:
    """Structured facts of an IOS / IOS-XE running configuration: VLANs, ports, SVIs, ACLs, management lines.

    Refuses (InvalidValue) an interface it cannot classify, as the converging run would."""
    running = parse_running_config(running_config)
    facts = switch_facts(running)
    vlans, ports, svis, acls = [], [], [], {}
    for parent, children in running.sections.items():
        words = parent.split()
        if re.fullmatch(r"vlan \d+", parent):
            name = next((line.split(" ", 1)[1] for line in children if line.startswith("name ")), None)
            vlans.append({"vlan_id": int(words[1]), "name": name})
        elif parent.startswith("interface Vlan"):
            svis.append({"vlan": int(parent[len("interface Vlan"):]), **_port_facts(parent.split(" ", 1)[1], children)})
        elif parent.startswith("interface ") and words[1] in facts.interfaces + facts.management_ports:
            ports.append({**_port_facts(words[1], children), "management": words[1] in facts.management_ports})
        elif words[:2] == ["ip", "access-list"] and len(words) == 4:
            acls[words[3]] = {"type": words[2], "entries": list(children)}
    return {
        "vlans": sorted(vlans, key=lambda vlan: vlan["vlan_id"]),
        "interfaces": ports,
        "svis": sorted(svis, key=lambda svi: svi["vlan"]),
        "acls": acls,
        "vty_lines": facts.vty_lines,
        "trunk_ports": facts.trunk_ports,
        "ip_routing": not facts.ip_routing_off,
        "snmp_communities": facts.snmp_communities,     # how many (v1/v2c); never their strings
        "acl_references": sorted(dataclasses.asdict(facts.acls)["referenced"]),
    }


# -- wireless --------------------------------------------------------------------------------------------------------
def _with_stand_ins(policy: SitePolicy, secrets: dict | None) -> dict:
    given = {name: value for name, value in (secrets or {}).items() if value not in (None, "")}
    return {**{name: SECRET_STAND_IN for name in policy.secret_vars("wireless")}, **given}


def bare_config(platform: str, radio_names=DEFAULT_OPENWRT_RADIOS) -> str:
    """The configuration text of a device holding none of our objects: an OpenWrt AP's radios (`uci show
    wireless`), an empty C9800 running configuration."""
    if platform == "openwrt":
        return "\n".join(f"wireless.{radio}=wifi-device" for radio in radio_names)
    return ""


def wireless_rendered(policy: SitePolicy, platform: str, secrets: dict | None = None,
                      running_config: str | None = None, radio_names=DEFAULT_OPENWRT_RADIOS,
                      policy_tag: str | None = None, enable_radios: bool = True) -> dict:
    """{"rendered": commands (secrets masked), "findings": [...]} of an AP / WLC of `platform`.

    Without `running_config`: the commands for a bare device (`bare_config`); with it, the commands that device
    still needs. The same planner as the converging run (the driver's `wireless_plan`), keys always sent."""
    intents = ssid_intents(policy, _with_stand_ins(policy, secrets))
    extra = {"policy_tag": policy_tag} if policy_tag else {}
    text = bare_config(platform, radio_names) if running_config is None else running_config
    commands, weak = driver_for(platform, "config", "wireless").wireless_plan(
        intents, text, enable_radios=enable_radios, rotate_keys=True, **extra)
    return {"rendered": [mask(command, intents).replace(SECRET_STAND_IN, MASK) for command in commands],
            "findings": findings(policy) + weak}


SECRET_UCI_OPTIONS = ("key", "auth_secret", "acct_secret", "sae_password", "password")
C9800_SECRET_LINE = re.compile(r"^(\s*(?:security wpa psk set-key|key|pac key|set-key)\b).*$")


def wireless_parsed(platform: str, running_config: str) -> dict:
    """Structured facts of an AP / WLC configuration (OpenWrt `uci show wireless`, C9800 running config); keys and
    secrets are left out."""
    if platform == "openwrt":
        sections = parse_uci_show(running_config)
        ifaces = []
        for name, options in sections.items():
            if options.get(".type") != "wifi-iface":
                continue
            shown = {key: value for key, value in options.items()
                     if key != ".type" and key not in SECRET_UCI_OPTIONS}
            ifaces.append({"section": name, "managed": name.startswith(SECTION_PREFIX), **shown})
        return {"radios": [{"name": radio, "disabled": sections[radio].get("disabled") == "1"}
                           for radio in radios(sections)], "ssids": ifaces}
    if platform == "cisco_wlc9800":
        running = parse_running_config(running_config)
        wlans, profiles, tags = [], {}, {}
        for parent, children in running.sections.items():
            words = parent.split()
            if words[0] == "wlan" and len(words) >= 3:
                wlans.append({"profile": words[1], "wlan_id": int(words[2]) if words[2].isdigit() else words[2],
                              "ssid": " ".join(words[3:]) or None, "shutdown": "shutdown" in children,
                              "security": [line for line in children
                                           if line.startswith("security ") and not C9800_SECRET_LINE.match(line)]})
            elif words[:3] == ["wireless", "profile", "policy"] and len(words) == 4:
                vlan = next((line.split()[1] for line in children if line.startswith("vlan ")), None)
                profiles[words[3]] = {"vlan": int(vlan) if vlan and vlan.isdigit() else vlan,
                                      "shutdown": "shutdown" in children}
            elif words[:3] == ["wireless", "tag", "policy"] and len(words) == 4:
                tags[words[3]] = {line.split()[1]: line.split()[3] for line in children
                                  if line.startswith("wlan ") and len(line.split()) == 4}
        return {"wlans": wlans, "policy_profiles": profiles, "policy_tags": tags}
    raise ValueError(f"platform {platform!r} is not a wireless platform (openwrt, cisco_wlc9800)")
