# -*- coding: utf-8 -*-
"""Site policy `wireless.ssids` -> WPA3 configuration for OpenWrt (UCI) and Cisco Catalyst 9800 (CLI). Pure.

One SSID per zone: WPA3-SAE (or WPA3-Enterprise with a RADIUS server), PMF required, SAE hash-to-element, guest
client isolation, mapped to the zone's network/VLAN. WPA2/WPA3 transition only for an SSID whose policy entry says
`transition: true`, and then it is returned as a finding. Secrets (PSKs, RADIUS secrets) never appear in returned
commands or diffs: they are masked by `mask()`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    RunningConfig,
    Section,
    SectionChange,
    commands_of,
    diff_config,
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

MASK = "********"
SECTION_PREFIX = "aiphone_"
UCI_LINE = re.compile(r"^wireless\.([A-Za-z0-9_@\[\]-]+)(?:\.([A-Za-z0-9_]+))?='?(.*?)'?$")


@dataclass(frozen=True)
class SsidIntent:
    name: str
    zone: str
    vlan: int
    enterprise: bool
    transition: bool
    isolate: bool
    hidden: bool
    secret: str            # PSK, or the RADIUS shared secret for enterprise
    radius: tuple[str, int] | None = None

    def __repr__(self) -> str:   # never print the secret
        return f"SsidIntent({self.name!r}, zone={self.zone!r}, vlan={self.vlan})"


def ssid_intents(policy: SitePolicy, secrets: dict[str, str]) -> list[SsidIntent]:
    """Validated intent of every SSID; `secrets` maps the policy's psk_var / secret_var names to their values."""
    wireless = policy.wireless
    radius = (wireless.radius_servers or (None,))[0]
    intents = []
    for pos, ssid in enumerate(wireless.ssids):
        where = f"wireless.ssids[{pos}]"
        name = check_value(ssid.name, "ssid", f"{where}.name")
        enterprise = ssid.security == "wpa3-enterprise"
        var = radius.secret_var if enterprise else ssid.psk_var
        if not var or var not in secrets or secrets[var] in (None, ""):
            raise InvalidValue(f"{where} ({name}): the vault variable {var!r} holding its secret is not set")
        secret = check_value(secrets[var], "psk", f"{where} secret ({var})")
        zone = policy.zone(ssid.zone)
        isolate = ssid.isolate if ssid.isolate is not None else zone.purpose == "guest"
        intents.append(SsidIntent(
            name=name, zone=check_value(ssid.zone, "name", f"{where}.zone"), vlan=zone.vlan,
            enterprise=enterprise, transition=bool(ssid.transition),
            isolate=bool(isolate), hidden=bool(ssid.hidden),
            secret=secret,
            radius=(check_value(radius.host, "name", "wireless.radius_servers[0].host"),
                    int(radius.port or 1812)) if enterprise else None))
    return intents


def findings(policy: SitePolicy) -> list[str]:
    """Conscious exceptions the audit must see (transition mode weakens WPA3: PMF optional, WPA2-PSK allowed)."""
    return [f"SSID {s.name}: WPA2/WPA3 transition mode (PMF optional) - {s.transition_reason or 'no reason'}"
            for s in policy.wireless.ssids if s.transition]


def mask(text: str, intents: list[SsidIntent]) -> str:
    for intent in intents:
        text = text.replace(intent.secret, MASK)
    return text


# -- OpenWrt UCI ----------------------------------------------------------------------------------------------------
def uci_section_name(intent: SsidIntent, radio: str) -> str:
    return f"{SECTION_PREFIX}{re.sub(r'[^A-Za-z0-9]', '_', intent.zone)}_{re.sub(r'[^A-Za-z0-9]', '_', radio)}"


def uci_options(intent: SsidIntent, radio: str) -> dict[str, str]:
    """wifi-iface options per OpenWrt's hostapd.sh: `sae` = WPA3-SAE with PMF 2, `sae-mixed` = transition."""
    options = {"device": radio, "mode": "ap", "ssid": intent.name, "network": intent.zone,
               "isolate": "1" if intent.isolate else "0", "hidden": "1" if intent.hidden else "0", "disabled": "0"}
    if intent.enterprise:   # `wpa3` = WPA-EAP-SHA256 with PMF 2; `wpa3-mixed` adds WPA-EAP with PMF 1
        host, port = intent.radius
        options |= {"encryption": "wpa3-mixed" if intent.transition else "wpa3",
                    "ieee80211w": "1" if intent.transition else "2", "auth_server": host, "auth_port": str(port),
                    "auth_secret": intent.secret}
    elif intent.transition:
        options |= {"encryption": "sae-mixed", "ieee80211w": "1", "sae_pwe": "2", "key": intent.secret}
    else:
        options |= {"encryption": "sae", "ieee80211w": "2", "sae_pwe": "2", "key": intent.secret}
    return options


OWNED_UCI_OPTIONS = ("encryption", "ieee80211w", "sae_pwe", "key", "auth_server", "auth_port", "auth_secret",
                     "isolate", "hidden", "ssid", "network", "mode", "device", "disabled")


def parse_uci_show(text: str) -> dict[str, dict[str, str]]:
    """`uci show wireless` -> {section: {".type": type, option: value}} (list values kept as their raw text)."""
    sections: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = UCI_LINE.match(line.strip())
        if not match:
            continue
        section, option, value = match.groups()
        value = value.replace("'\\''", "'")     # uci prints a ' inside a value as '\'' (cli.c uci_print_value)
        if option is None:
            sections.setdefault(section, {})[".type"] = value
        else:
            sections.setdefault(section, {})[option] = value
    return sections


def radios(current: dict[str, dict[str, str]]) -> list[str]:
    return [name for name, opts in current.items() if opts.get(".type") == "wifi-device"]


def uci_commands(intents: list[SsidIntent], current: dict[str, dict[str, str]]) -> list[str]:
    """uci commands turning `current` into the intent (one iface per SSID and radio); [] when it matches."""
    devices = radios(current)
    if not devices:
        raise InvalidValue("the access point reports no wifi-device (radio) in /etc/config/wireless")
    commands: list[str] = []
    wanted: set[str] = set()
    for intent in intents:
        for radio in devices:
            section = uci_section_name(intent, radio)
            wanted.add(section)
            have = current.get(section, {})
            if have.get(".type") != "wifi-iface":
                commands.append(f"uci set wireless.{section}=wifi-iface")
            options = uci_options(intent, radio)
            for option, value in options.items():
                if have.get(option) != value:
                    commands.append(f"uci set wireless.{section}.{option}={shlex.quote(value)}")
            for option in OWNED_UCI_OPTIONS:
                if option in have and option not in options:
                    commands.append(f"uci delete wireless.{section}.{option}")
    for section in current:
        if section.startswith(SECTION_PREFIX) and section not in wanted:
            commands.append(f"uci delete wireless.{section}")
    return commands


def weak_foreign_ifaces(current: dict[str, dict[str, str]]) -> list[str]:
    """wifi-ifaces the toolkit does not manage that are enabled without WPA3 (reported, not touched)."""
    out = []
    for name, opts in current.items():
        if opts.get(".type") != "wifi-iface" or name.startswith(SECTION_PREFIX) or opts.get("disabled") == "1":
            continue
        if opts.get("encryption", "none") not in ("sae", "wpa3", "wpa3-192"):
            out.append(f"wifi-iface {name} (SSID {opts.get('ssid', '?')}) is enabled with encryption "
                       f"{opts.get('encryption', 'none')!r}; not managed by the policy")
    return out


# -- Cisco Catalyst 9800 -------------------------------------------------------------------------------------------
# APs without a policy tag of their own use this tag (Cisco 9800 configuration model), so mapping the WLANs in it
# makes every such AP serve them; a site that tags its APs names its tag instead.
C9800_DEFAULT_POLICY_TAG = "default-policy-tag"


def c9800_wlan_profile(intent: SsidIntent) -> str:
    return check_value(intent.name, "name", f"SSID {intent.name} (C9800 profile names take no spaces)")


def c9800_policy_profile(intent: SsidIntent) -> str:
    """One policy profile per zone: it carries the zone's VLAN for every SSID of that zone."""
    return check_value(f"aiphone-{intent.zone}", "name", f"C9800 policy profile of zone {intent.zone}")


# SAE hash-to-element (`security wpa akm sae pwe h2e`) exists on the 9800 from IOS-XE 17.7.1 (vendor-facts.md
# "Corrections"); 17.7.1 is the first 17.7 release, so the running config's `version 17.7` is enough to tell.
H2E_SINCE = (17, 7)
RUNNING_VERSION = re.compile(r"^version (\d+)\.(\d+)", re.MULTILINE)


def c9800_version(config_text: str) -> tuple[int, int] | None:
    """(major, minor) of the IOS-XE release from the running config's `version` line; None when absent."""
    match = RUNNING_VERSION.search(config_text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def h2e_finding(version: tuple[int, int] | None) -> str:
    """"" when the controller takes `sae pwe h2e`, else why it was left out (a finding for the report)."""
    if version is not None and version >= H2E_SINCE:
        return ""
    running = f"IOS-XE {version[0]}.{version[1]}" if version else "an IOS-XE release it does not show"
    return (f"SAE hash-to-element (security wpa akm sae pwe h2e) left out: the controller runs {running}, the "
            f"command exists from 17.7.1 on; WPA3 clients use hunting-and-pecking until it is upgraded")


def c9800_wlan_sections(intents: list[SsidIntent], existing: dict[str, str], set_keys: bool,
                        h2e: bool = True) -> list[Section]:
    """`wlan <profile> <id> <ssid>` sections (vendor-facts C9800 lines). `existing` maps profile -> its
    `wlan ...` parent line, so the id of a WLAN already on the controller is kept. The PSK is sent only when
    the WLAN is new or `set_keys` (rotation): the controller shows it encrypted, so it cannot be compared."""
    used = {int(parent.split()[2]) for parent in existing.values()}
    free = (n for n in range(1, 4097) if n not in used)
    sections = []
    for intent in intents:
        profile = c9800_wlan_profile(intent)
        parent = existing.get(profile) or f"wlan {profile} {next(free)} {intent.name}"
        if intent.enterprise:
            lines = _c9800_enterprise_lines(intent)
        else:
            lines = _c9800_sae_lines(intent, send_key=profile not in existing or set_keys, h2e=h2e)
        if intent.isolate:   # client isolation on the 9800 = the WLAN's peer-to-peer blocking
            lines.append("peer-blocking drop")
        lines.append("no shutdown")
        # Lines of the other security type are owned so that switching an SSID between SAE and 802.1X removes them.
        other = ("security wpa akm sae", "security wpa psk") if intent.enterprise else \
            ("security wpa akm dot1x-sha256", "security dot1x")
        sections.append(Section(parent, lines, owned=("security pmf", "peer-blocking", *other)))
    return sections


def _c9800_sae_lines(intent: SsidIntent, send_key: bool, h2e: bool = True) -> list[str]:
    # WPA2 and 802.1X are on by default on a new WLAN: they are switched off explicitly, and the controller
    # shows those `no` lines. Key and PMF come before `no shutdown`: a WLAN is enabled only once consistent.
    lines = ["no security wpa akm dot1x"]
    if intent.transition:
        lines += ["security wpa wpa2", "security wpa akm psk"]
    else:
        lines += ["no security wpa wpa2", "no security wpa akm psk"]
    lines += ["security wpa wpa3", "security wpa akm sae", *(["security wpa akm sae pwe h2e"] if h2e else []),
              f"security pmf {'optional' if intent.transition else 'mandatory'}"]
    if send_key:
        lines.append(f"security wpa psk set-key ascii 0 {intent.secret}")
    return lines


def _c9800_enterprise_lines(intent: SsidIntent) -> list[str]:
    """WPA3-Enterprise: AKM 802.1X-SHA256, PMF required, 802.1X against the toolkit's AAA method list [I: Cisco
    WPA3 deployment guide examples]. Transition adds WPA2 with AKM 802.1X (SHA-1) and PMF optional."""
    lines = ["no security wpa akm psk"]
    if intent.transition:
        lines += ["security wpa wpa2", "security wpa akm dot1x"]
    else:
        lines += ["no security wpa wpa2", "no security wpa akm dot1x"]
    return lines + ["security wpa wpa3", "security wpa akm dot1x-sha256",
                    f"security pmf {'optional' if intent.transition else 'mandatory'}",
                    f"security dot1x authentication-list {C9800_DOT1X_LIST}"]


# The AAA objects the toolkit owns on a 9800 for WPA3-Enterprise (one RADIUS server: the policy's first).
C9800_RADIUS_SERVER = "aiphone-radius-1"
C9800_RADIUS_GROUP = "aiphone-radius"
C9800_DOT1X_LIST = "aiphone-dot1x"
RADIUS_ACCT_PORT = 1813


def c9800_aaa_sections(intents: list[SsidIntent], running_parents: list[str], set_keys: bool) -> list[Section]:
    """RADIUS server, server group and the dot1x method list the enterprise WLANs authenticate against; [] when
    no SSID is enterprise. The shared secret is sent when the server is new or `set_keys` (the controller shows
    it encrypted). `aaa new-model` is required for any AAA method list; logins keep using the local users, IOS's
    method when no `aaa authentication login` list is configured [I]."""
    enterprise = [intent for intent in intents if intent.enterprise]
    if not enterprise:
        return []
    host, port = enterprise[0].radius
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise InvalidValue(f"wireless.radius_servers[0].host: {host!r} must be an IPv4 address on the C9800 "
                           "(`address ipv4`)") from None
    server = f"radius server {C9800_RADIUS_SERVER}"
    lines = [f"address ipv4 {host} auth-port {port} acct-port {RADIUS_ACCT_PORT}"]
    if server not in running_parents or set_keys:
        lines.append(f"key 0 {enterprise[0].secret}")
    return [
        Section(None, ["aaa new-model"]),
        Section(server, lines, owned=("address",)),
        Section(f"aaa group server radius {C9800_RADIUS_GROUP}", [f"server name {C9800_RADIUS_SERVER}"],
                owned=("server name",)),
        Section(None, [f"aaa authentication dot1x {C9800_DOT1X_LIST} group {C9800_RADIUS_GROUP}"]),
    ]


def c9800_vlan_sections(intents: list[SsidIntent], policy_tag: str = C9800_DEFAULT_POLICY_TAG) -> list[Section]:
    """SSID -> VLAN on the 9800: a policy profile per zone (`vlan <id>`, enabled) and the policy tag mapping each
    WLAN profile to its zone's policy profile. Only our WLANs' mappings are owned in the tag; others stay."""
    tag = check_value(policy_tag, "name", "C9800 policy tag")
    profiles = {c9800_policy_profile(intent): intent.vlan for intent in intents}
    sections = [Section(f"wireless profile policy {name}", [f"vlan {vlan}", "no shutdown"], owned=("vlan",))
                for name, vlan in profiles.items()]
    mappings = {c9800_wlan_profile(intent): c9800_policy_profile(intent) for intent in intents}
    sections.append(Section(f"wireless tag policy {tag}",
                            [f"wlan {wlan} policy {policy}" for wlan, policy in mappings.items()],
                            owned=tuple(f"wlan {wlan}" for wlan in mappings)))
    return sections


# -- one device: its configuration text -> the commands that bring it to the intent ---------------------------------
# Which planner a platform uses is its driver's `wireless_plan` (drivers.registry, capability "wireless").
def openwrt_plan(intents: list[SsidIntent], config_text: str, enable_radios: bool) -> tuple[list[str], list[str]]:
    current = parse_uci_show(config_text)
    commands = uci_commands(intents, current)
    if enable_radios:
        commands += [f"uci set wireless.{radio}.disabled=0" for radio in radios(current)
                     if current[radio].get("disabled") != "0"]
    return commands, weak_foreign_ifaces(current)


def c9800_plan(intents: list[SsidIntent], config_text: str, rotate_keys: bool,
               policy_tag: str) -> tuple[list[str], list[str]]:
    running = parse_running_config(config_text)
    existing = {parent.split()[1]: parent for parent in running.sections if parent.startswith("wlan ")}
    no_h2e = h2e_finding(c9800_version(config_text)) if any(not i.enterprise for i in intents) else ""
    sections = (c9800_aaa_sections(intents, list(running.sections), set_keys=rotate_keys)
                + c9800_wlan_sections(intents, existing, set_keys=rotate_keys, h2e=not no_h2e)
                + c9800_vlan_sections(intents, policy_tag))
    changes = [shut_while_securing(change, running) for change in diff_config(sections, {}, running)]
    return commands_of(changes), [no_h2e] if no_h2e else []


# Lines that an enabled object may refuse to change: WLAN security ("% WLAN needs to be disabled before performing
# this operation." [I]) and a policy profile's VLAN (a policy profile may need `shutdown` before it is edited [I]).
SHUT_TO_CHANGE = {"wlan ": ("security ", "no security "), "wireless profile policy ": ("vlan ", "no vlan")}


def shut_while_securing(change: SectionChange, running: RunningConfig) -> SectionChange:
    """A change the controller takes only on a disabled WLAN / policy profile (``SHUT_TO_CHANGE``) is wrapped in
    `shutdown` ... `no shutdown` when the object is enabled now (its clients re-join)."""
    parent = change.parent or ""
    guarded = next((lines for prefix, lines in SHUT_TO_CHANGE.items() if parent.startswith(prefix)), None)
    if guarded is None or "no shutdown" not in (running.children(parent) or []):
        return change
    body = [command for command in change.commands[1:] if command.strip() != "no shutdown"]
    if not any(command.strip().startswith(guarded) for command in body):
        return change
    return SectionChange(change.parent, [change.parent, " shutdown", *body, " no shutdown"], change.before,
                         change.after)


C9800_KEY_LINE = re.compile(r"^ security wpa psk set-key (?:ascii|hex) \d (\S+)$")


def c9800_stored_keys(config_text: str) -> dict[str, str]:
    """{WLAN profile: the key as the controller stores it (encrypted)} from a running config."""
    keys, profile = {}, None
    for line in config_text.splitlines():
        if line.startswith("wlan "):
            profile = line.split()[1]
        elif not line.startswith(" "):
            profile = None
        elif profile and (match := C9800_KEY_LINE.match(line)):
            keys[profile] = match.group(1)
    return keys
