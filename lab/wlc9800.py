"""Cisco Catalyst 9800 wireless LAN controller (IOS-XE): the lab switch's CLI and firmware handling, plus WLANs.

Modelled (vendor-facts): ``wlan <profile> <id> <ssid>`` -> ``(config-wlan)#``, ``security wpa wpa1|wpa2|wpa3``,
``security wpa akm dot1x|psk|sae|owe``, ``security wpa akm sae pwe h2e|hnp|both-h2e-hnp``,
``security wpa psk set-key ascii 0 <key>``, ``security pmf mandatory|optional``, ``shutdown`` and their ``no``
forms (``sae pwe`` only from IOS-XE 17.7.1 on, vendor-facts.md "Corrections": an older release answers it as an
unknown command); ``show wlan summary``, ``show wlan id N``, ``show wlan name P``. A new WLAN starts as the
controller creates it: WPA2 + 802.1X, shut down. Defaults are not shown in the running config, changes from them are
(``no security wpa akm dot1x``) [I]. ``no shutdown`` refuses a WLAN whose security cannot work (WPA3 without SAE /
802.1X / OWE, SAE without PMF, PSK or SAE without a key); the exact controller wording is not public: the lab's
messages say [lab]. A security line that changes an enabled WLAN is refused with ``% WLAN needs to be disabled
before performing this operation.`` [I: operators' notes on the 9800 / EWC]; repeating a line it has is accepted.
Guest client isolation is the WLAN's peer-to-peer blocking (``peer-blocking drop |
forward-upstream``, off by default: Cisco 9800 configuration guide, "Peer-to-Peer Client Support").

WPA3-Enterprise [I: Cisco 9800 configuration guide / WPA3 deployment guide examples]: ``security wpa akm
dot1x-sha256``, ``security dot1x authentication-list <list>``; ``radius server <name>`` -> ``address ipv4 <ip>
[auth-port n] [acct-port n]`` (shown with both ports), ``key [0|7] <secret>`` (shown type 7); ``aaa group server
radius <name>`` -> ``server name <name>``; ``aaa authentication dot1x <list> group <group>``.

SSID -> VLAN (the 9800 profile-and-tag model, Cisco 9800 configuration guide "Policy Profiles" / "Policy Tags" [V],
output layouts of the show commands [I]): ``wireless profile policy <name>`` -> ``(config-wireless-policy)#`` with
``vlan <id|name>``, ``description``, ``shutdown`` (a new policy profile starts shut down); ``wireless tag policy
<name>`` -> ``(config-policy-tag)#`` with ``wlan <wlan-profile> policy <policy-profile>`` (one policy per WLAN
profile; setting it again replaces it) and ``description``. APs without a tag of their own use
``default-policy-tag``, which the factory configuration holds (empty). ``show wireless profile policy detailed
<name>``, ``show wireless tag policy detailed <name>``, ``show wireless tag policy summary``. The lab does not check
that a tag names existing profiles (a saved config replays the tag before the WLANs it maps).
"""

from __future__ import annotations

import re
from typing import ClassVar

from lab.device import register_platform
from lab.ios import grammar
from lab.ios.cli import COMMANDS, Command, IOSCli
from lab.ios.config import INVALID, ConfigError, ConfigSession, Node
from lab.ios.grammar import Rule as R
from lab.ios.secrets import type7
from lab.ios.switch import IOSSwitch

WLAN_HEADER = re.compile(r"wlan (\S+) (\d{1,4}) (\S+)")
H2E_SINCE = (17, 7, 1)


def _encrypt_key(line: str) -> str:
    """The controller shows keys encrypted (type 8) [I]; the lab stores them reversibly obfuscated."""
    match = re.fullmatch(r"security wpa psk set-key (ascii|hex) 0 (\S+)", line)
    return f"security wpa psk set-key {match.group(1)} 8 {type7(match.group(2))}" if match else line


WLAN_RULES = [
    R("security wpa wpa1", keep_no=True),
    R("security wpa wpa2", keep_no=True),
    R("security wpa wpa3", keep_no=True),
    R("security wpa akm dot1x", keep_no=True),
    R("security wpa akm psk", keep_no=True),
    R("security wpa akm sae", keep_no=True),
    R("security wpa akm owe", keep_no=True),
    R("security wpa akm dot1x-sha256", keep_no=True),
    R("security wpa akm sae pwe", r"h2e|hnp|both-h2e-hnp"),
    R("security wpa akm ft (?:psk|sae|dot1x)", keep_no=True),
    R("security wpa psk set-key (?:ascii|hex)", r"[08] \S+", normalize=_encrypt_key),
    R("security pmf", r"mandatory|optional"),
    R("security pmf association-comeback", r"\d+"),
    R("security pmf saquery-retry-time", r"\d+"),
    R("security ft", keep_no=True),
    R("security dot1x authentication-list", grammar.WORD),
    R("broadcast-ssid", keep_no=True),
    R("radio policy dot11", r"24ghz|5ghz|6ghz"),
    R("description", r".+"),
    R("peer-blocking", r"drop|forward-upstream"),
    R("shutdown", keep_no=True),  # enabled WLANs show `no shutdown`
]
POLICY_PROFILE_RULES = [
    R("description", r".+"),
    R("vlan", grammar.VLAN_ID + "|" + grammar.WORD),
    R("central switching", keep_no=True),
    R("shutdown", keep_no=True),  # enabled policy profiles show `no shutdown`
]
def _radius_address(line: str) -> str:
    """IOS shows the default ports it filled in [I]."""
    match = re.fullmatch(rf"address ipv4 ({grammar.IPV4})(?: auth-port (\d+))?(?: acct-port (\d+))?", line)
    return f"address ipv4 {match.group(1)} auth-port {match.group(2) or 1812} acct-port {match.group(3) or 1813}" \
        if match else line


def _radius_key(line: str) -> str:
    """The shared secret is shown encrypted (type 7, as with service password-encryption) [I]."""
    match = re.fullmatch(r"key (?:0 )?(\S+)", line)
    return f"key 7 {type7(match.group(1))}" if match else line


RADIUS_SERVER_RULES = [
    R("address ipv4", rf"{grammar.IPV4}(?: auth-port \d{{1,5}})?(?: acct-port \d{{1,5}})?", normalize=_radius_address),
    R("key", r"(?:[07] )?\S+", normalize=_radius_key),
    R("timeout", r"\d+"),
    R("retransmit", r"\d+"),
]
RADIUS_GROUP_RULES = [R(rf"server name {grammar.WORD}", key_format=lambda m: m.group(0))]
POLICY_TAG_RULES = [
    R("description", r".+"),
    R(rf"wlan {grammar.WORD}", rf"policy {grammar.WORD}"),
]
RULES = {**grammar.RULES,
         "config": [R(r"wlan \S+ \d{1,4} \S+", section="wlan"),
                    R(rf"wireless profile policy {grammar.WORD}", section="wireless_policy"),
                    R(rf"wireless tag policy {grammar.WORD}", section="policy_tag"),
                    R(rf"radius server {grammar.WORD}", section="radius_server"),
                    R(rf"aaa group server radius {grammar.WORD}", section="radius_group"),
                    R(rf"aaa authentication dot1x (?:default|{grammar.WORD})", rf"group {grammar.WORD}(?: local)?"),
                    *grammar.RULES["config"]],
         "wlan": WLAN_RULES, "wireless_policy": POLICY_PROFILE_RULES, "policy_tag": POLICY_TAG_RULES,
         "radius_server": RADIUS_SERVER_RULES, "radius_group": RADIUS_GROUP_RULES}
DEFAULT_POLICY_TAG = "default-policy-tag"
DEFAULT_ON = {"security wpa wpa2", "security wpa akm dot1x", "broadcast-ssid"}
grammar.PROMPTS.setdefault("wlan", "config-wlan")
grammar.ORDERS.setdefault("wlan", ["description", "radio", "broadcast-ssid", "peer-blocking", "security",
                                   "shutdown"])
grammar.PROMPTS.setdefault("wireless_policy", "config-wireless-policy")
grammar.PROMPTS.setdefault("policy_tag", "config-policy-tag")
grammar.PROMPTS.setdefault("radius_server", "config-radius-server")
grammar.PROMPTS.setdefault("radius_group", "config-sg-radius")
grammar.ORDERS.setdefault("wireless_policy", ["description", "central", "vlan", "shutdown"])
grammar.ORDERS.setdefault("policy_tag", ["description", "wlan"])


def wlan_settings(children: dict[str, Node]) -> dict[str, object]:
    """Effective settings of one WLAN: its lines over the controller defaults."""
    def on(key: str) -> bool:
        node = children.get(key)
        if node is None:
            return key in DEFAULT_ON
        return not node.line.startswith("no ")

    pmf = children.get("security pmf")
    return {
        "wpa1": on("security wpa wpa1"), "wpa2": on("security wpa wpa2"), "wpa3": on("security wpa wpa3"),
        "akm": [akm for akm in ("dot1x", "dot1x-sha256", "psk", "sae", "owe") if on(f"security wpa akm {akm}")],
        "pmf": pmf.line.split()[-1] if pmf else "disabled",
        "key": any(key.startswith("security wpa psk set-key") for key in children),
        "auth_list": children["security dot1x authentication-list"].line.split()[-1]
        if "security dot1x authentication-list" in children else "",
        "enabled": not on("shutdown"),
    }


def security_problem(settings: dict) -> str | None:
    """Why a WLAN cannot be enabled with these settings, or None."""
    akm = settings["akm"]
    if not akm:
        return "no AKM is enabled"
    if settings["wpa3"] and not {"sae", "dot1x", "dot1x-sha256", "owe"} & set(akm):
        return "WPA3 needs AKM SAE, 802.1X or OWE"
    if "sae" in akm and settings["pmf"] == "disabled":
        return "AKM SAE needs PMF (security pmf mandatory or optional)"
    if "sae" in akm and not settings["wpa3"]:
        return "AKM SAE needs security wpa wpa3"
    if {"psk", "sae"} & set(akm) and not settings["key"]:
        return "PSK/SAE needs a key (security wpa psk set-key ascii 0 <key>)"
    if "psk" in akm and not (settings["wpa2"] or settings["wpa1"]):
        return "AKM PSK needs security wpa wpa2"
    return None


@register_platform
class CatalystWLC(IOSSwitch):
    """Catalyst 9800 WLC (netmiko ``cisco_ios``; Ansible ``cisco.ios`` for the generic parts)."""

    platform = "cisco_wlc9800"
    model_family = "C9800_IOSXE-K9"
    software_name = "C9800 Software"
    flash_name = "bootflash"
    config_rules = RULES

    def physical_interfaces(self) -> list[str]:
        return ["GigabitEthernet0"] + [f"TenGigabitEthernet0/0/{n}" for n in range(4)]

    def validate_config_line(self, mode: str, section: dict, text: str) -> None:
        if mode == "config" and text.startswith("wlan "):
            match = WLAN_HEADER.fullmatch(text)
            if not match or not 1 <= int(match.group(2)) <= 4096 or len(match.group(3)) > 32:
                raise ConfigError(INVALID, len("wlan "))
            for key in section:
                other = WLAN_HEADER.fullmatch(key)
                if other and other.group(2) == match.group(2) and other.group(1) != match.group(1):
                    raise ConfigError(f"% WLAN id {match.group(2)} is already used by {other.group(1)} [lab]")
            if text not in section:  # a new WLAN is created shut down
                section[text] = Node(text, {"shutdown": Node("shutdown")})
            return
        if mode == "config" and text.startswith("wireless profile policy ") and text not in section:
            section[text] = Node(text, {"shutdown": Node("shutdown")})  # a new policy profile starts disabled
            return
        if mode != "wlan":
            return
        if re.match(r"(?:no )?security wpa akm sae pwe\b", text) and \
                tuple(int(n) for n in re.findall(r"\d+", self.version)[:3]) < H2E_SINCE:
            raise ConfigError(INVALID, text.index("pwe"))
        enabled = section.get("shutdown") is not None and section["shutdown"].line == "no shutdown"
        if enabled and text.startswith(("security ", "no security ")) \
                and text not in {node.line for node in section.values()}:
            raise ConfigError("% WLAN needs to be disabled before performing this operation.")
        key_line = re.fullmatch(r"(?:no )?security wpa psk set-key (?:ascii|hex) ([08]) (\S+)", text)
        if key_line and key_line.group(1) == "0" and not 8 <= len(key_line.group(2)) <= 63:
            raise ConfigError("% PSK length must be between 8 and 63 characters [lab]")
        if text == "no shutdown":
            problem = security_problem(wlan_settings({k: v for k, v in section.items() if k != "shutdown"}))
            if problem:
                raise ConfigError(f"% WLAN cannot be enabled: {problem} [lab]")

    def wlans(self) -> list[tuple[int, str, str, dict]]:
        """(id, profile, ssid, settings) of every WLAN, by id."""
        found = []
        for key, node in self.running.nodes.items():
            match = WLAN_HEADER.fullmatch(key)
            if match and node.children is not None:
                found.append((int(match.group(2)), match.group(1), match.group(3), wlan_settings(node.children)))
        return sorted(found)

    def policy_profiles(self) -> dict[str, dict[str, str]]:
        """{policy profile: {"vlan": ..., "enabled": ..., "description": ...}}."""
        found = {}
        for key, node in self.running.sections("wireless profile policy").items():
            children = {k: child.line for k, child in (node.children or {}).items()}
            found[key.split()[3]] = {
                "vlan": children.get("vlan", "vlan 1").split(" ", 1)[1],
                "enabled": children.get("shutdown", "no shutdown") == "no shutdown",
                "description": children.get("description", "description ").split(" ", 1)[1]}
        return found

    def policy_tags(self) -> dict[str, list[tuple[str, str]]]:
        """{policy tag: [(WLAN profile, policy profile), ...]}."""
        return {key.split()[3]: [(line.split()[1], line.split()[3]) for k, child in (node.children or {}).items()
                                 if k.startswith("wlan ") for line in [child.line]]
                for key, node in self.running.sections("wireless tag policy").items()}

    def policy_tag_descriptions(self) -> dict[str, str]:
        """{policy tag: its description ("" when it has none)}."""
        found = {}
        for key, node in self.running.sections("wireless tag policy").items():
            line = (node.children or {}).get("description")
            found[key.split()[3]] = line.line.split(" ", 1)[1] if line is not None else ""
        return found

    def factory_config(self, image: str):
        config = super().factory_config(image)
        config.nodes.pop("snmp-server community public", None)
        session = ConfigSession(config)
        session.apply(f"wireless tag policy {DEFAULT_POLICY_TAG}")
        session.apply("description default policy-tag")   # as a 9800 lists it (tests/conformance/cisco_wlc9800/)
        return config


def _security_text(settings: dict) -> str:
    parts = []
    names = {"dot1x": "802.1x", "dot1x-sha256": "802.1x-SHA256"}
    for version, ciphers in (("wpa2", ("psk", "dot1x")), ("wpa3", ("sae", "dot1x", "dot1x-sha256", "owe"))):
        if settings[version]:
            parts += [f"[{version.upper()}][{names.get(akm, akm.upper())}][AES]"
                      for akm in settings["akm"] if akm in ciphers]
    return ",".join(parts) or "[open]"


class WLCCli(IOSCli):
    commands: ClassVar[list[Command]] = [*COMMANDS]


def _wlc_command(words: str, takes_args: bool = False):
    def register(handler):
        WLCCli.commands.append(Command(tuple(words.split()), handler, 15, takes_args))
        return handler
    return register


@_wlc_command("show wlan summary")
async def _show_wlan_summary(cli: IOSCli, args: list[str]) -> str:
    wlans = cli.device.wlans()  # type: ignore[attr-defined]
    out = [f"\nNumber of WLANs: {len(wlans)}\n",
           f"{'ID':<4} {'Profile Name':<32} {'SSID':<32} {'Status':<6} Security", "-" * 178]   # as a 9800 (corpus)
    for wlan_id, profile, ssid, settings in wlans:
        status = "UP" if settings["enabled"] else "DOWN"
        out.append(f"{wlan_id:<4} {profile:<32} {ssid:<32} {status:<6} {_security_text(settings)}")
    return "\n".join(out) + "\n\n"


def _wlan_detail(wlan_id: int, profile: str, ssid: str, settings: dict) -> str:
    """A subset of the 9800's lines, with its labels, indentation and order (`show wlan all` replies in
    tests/conformance/cisco_wlc9800/); the lines the lab does not model are left out."""
    def flag(value: bool) -> str:
        return "Enabled" if value else "Disabled"

    pmf = {"mandatory": "Required", "optional": "Optional", "disabled": "Disabled"}[settings["pmf"]]
    akm = settings["akm"]
    return f"""WLAN Profile Name     : {profile}
================================================
Identifier                                     : {wlan_id}
Description                                    :
Network Name (SSID)                            : {ssid}
Status                                         : {flag(settings["enabled"])}
Broadcast SSID                                 : Enabled
802.1x authentication list name                : {settings["auth_list"] or "Disabled"}
Security
    802.11 Authentication                      : Open System
    Wi-Fi Protected Access (WPA/WPA2/WPA3)     : {flag(settings["wpa1"] or settings["wpa2"] or settings["wpa3"])}
        WPA (SSN IE)                           : {flag(settings["wpa1"])}
        WPA2 (RSN IE)                          : {flag(settings["wpa2"])}
        WPA3 (WPA3 IE)                         : {flag(settings["wpa3"])}
        Auth Key Management
            802.1x                             : {flag("dot1x" in akm)}
            PSK                                : {flag("psk" in akm)}
            Dot1x-SHA256                       : {flag("dot1x-sha256" in akm)}
            SAE                                : {flag("sae" in akm)}
            OWE                                : {flag("owe" in akm)}
    PMF Support                                : {pmf}
"""


@_wlc_command("show wlan id", takes_args=True)
async def _show_wlan_id(cli: IOSCli, args: list[str]) -> str:
    if len(args) != 1 or not args[0].isdigit():
        return " " * (len(cli.prompt()) + len("show wlan id ")) + "^\n" + INVALID + "\n\n"
    for entry in cli.device.wlans():  # type: ignore[attr-defined]
        if entry[0] == int(args[0]):
            return _wlan_detail(*entry)
    return f"WLAN id {args[0]} does not exist [lab]\n"


@_wlc_command("show wlan name", takes_args=True)
async def _show_wlan_name(cli: IOSCli, args: list[str]) -> str:
    for entry in cli.device.wlans():  # type: ignore[attr-defined]
        if args and entry[1] == args[0]:
            return _wlan_detail(*entry)
    return f"WLAN profile {' '.join(args)} does not exist [lab]\n"


@_wlc_command("show wireless profile policy detailed", takes_args=True)
async def _show_policy_profile(cli: IOSCli, args: list[str]) -> str:
    profile = cli.device.policy_profiles().get(args[0] if len(args) == 1 else "")  # type: ignore[attr-defined]
    if profile is None:
        return f"Policy Profile {' '.join(args)} does not exist [lab]\n"
    return (f"\nPolicy Profile Name                 : {args[0]}\n"
            f"Description                         : {profile['description']}\n"
            f"Status                              : {'ENABLED' if profile['enabled'] else 'DISABLED'}\n"
            f"VLAN                                : {profile['vlan']}\n")


@_wlc_command("show wireless tag policy summary")
async def _show_policy_tags(cli: IOSCli, args: list[str]) -> str:
    # layout of a 9800's reply (ntc-templates fixture, tests/conformance/cisco_wlc9800/): name and description
    descriptions = cli.device.policy_tag_descriptions()  # type: ignore[attr-defined]
    rows = [f"{name:<33} {descriptions[name]}".rstrip() for name in sorted(descriptions)]
    return "\n".join([f"\nNumber of Policy Tags: {len(descriptions)}\n", f"{'Policy Tag Name':<33} Description",
                      "-" * 72, *rows]) + "\n\n"


@_wlc_command("show wireless tag policy detailed", takes_args=True)
async def _show_policy_tag(cli: IOSCli, args: list[str]) -> str:
    maps = cli.device.policy_tags().get(args[0] if len(args) == 1 else "")  # type: ignore[attr-defined]
    if maps is None:
        return f"Policy Tag {' '.join(args)} does not exist [lab]\n"
    rows = [f"{wlan:<33} {policy}" for wlan, policy in maps]
    return "\n".join([f"\nPolicy Tag Name : {args[0]}", "Description     : ", "",
                      f"Number of WLAN-POLICY maps: {len(maps)}", f"{'WLAN Profile Name':<33} Policy Name",
                      "-" * 72, *rows]) + "\n\n"


CatalystWLC.cli_class = WLCCli
