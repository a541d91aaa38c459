"""The IOS-XE configuration commands the lab models, per configuration mode.

Each :class:`Rule` is one configuration line family. ``key`` matches the words that identify the line (setting it
again replaces it; ``no <key>`` removes it), ``value`` the rest. Anything that matches no rule is refused with
``% Invalid input detected at '^' marker.`` - the lab never accepts a command silently.
Where only third-party material backs a form, the rule says [I].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

VLAN_ID = r"(?:[1-9]\d{0,2}|[1-3]\d{3}|40[0-8]\d|409[0-4])"
VLAN_LIST = rf"{VLAN_ID}(?:-{VLAN_ID})?(?:,{VLAN_ID}(?:-{VLAN_ID})?)*"
IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
WORD = r"[A-Za-z0-9][A-Za-z0-9_.:@/+=-]*"  # names: no quotes, pipes, semicolons, bangs or control characters
LEVEL = (r"(?:[0-7]|emergencies|alerts|critical|errors|warnings|notifications|informational|debugging)")
PORT = r"(?:\d{1,5}|[a-z][a-z0-9-]*)"


@dataclass(frozen=True)
class Rule:
    key: str                       # regex of the identifying words
    value: str | None = None       # regex of the rest (None: the line has nothing after the key)
    section: str | None = None     # mode entered by this line
    keep_no: bool = False          # `no <key>` is remembered and shown ("no service pad")
    hidden: bool = False           # accepted and kept, but not shown by show running-config
    key_format: Callable[[re.Match], str] | None = None
    normalize: Callable[[str], str] | None = None
    _compiled: tuple = field(default=(), compare=False, repr=False)

    def compiled(self) -> tuple[re.Pattern, re.Pattern | None]:
        if not self._compiled:
            value = re.compile(self.value) if self.value is not None else None
            object.__setattr__(self, "_compiled", (re.compile(self.key + r"(?= |$)"), value))
        return self._compiled

    def literal_prefix(self) -> str:
        """The leading fixed words of the key, e.g. ``boot system`` (for ``no boot system``)."""
        match = re.match(r"[a-z0-9 -]*", self.key)
        words = match.group(0).split() if match else []
        if match and match.end() < len(self.key) and words:
            words = words[:-1] if not self.key[match.end() - 1].isspace() else words
        return " ".join(words)


def _parse_line(rules: list[Rule], text: str) -> tuple[Rule, str] | None:
    """(rule, key) of a full configuration line, or None when no rule accepts it."""
    for rule in rules:
        key_re, value_re = rule.compiled()
        match = key_re.match(text)
        if not match:
            continue
        rest = text[match.end():].strip()
        if (value_re is None and rest) or (value_re is not None and not value_re.fullmatch(rest)):
            continue
        key = rule.key_format(match) if rule.key_format else match.group(0)
        return rule, key
    return None


def match_line(mode: str, text: str, rules: dict[str, list[Rule]] | None = None) -> tuple[Rule, str] | None:
    return _parse_line((rules or RULES).get(mode, []), text)


def match_no(mode: str, text: str, rules: dict[str, list[Rule]] | None = None) -> tuple[Rule | None, str] | None:
    """What `no <text>` removes: (rule, key) of one line, or (None, prefix) to remove every line under a prefix."""
    mode_rules = (rules or RULES).get(mode, [])
    full = _parse_line(mode_rules, text)
    if full:
        return full
    # `no <key>` without its value: the most specific key wins ("no switchport voice vlan" is not "no switchport")
    keyed = [(match, rule) for rule in mode_rules if (match := rule.compiled()[0].match(text))]
    if keyed:
        match, rule = max(keyed, key=lambda pair: pair[0].end())
        return rule, rule.key_format(match) if rule.key_format else match.group(0)
    for rule in mode_rules:
        prefix = rule.literal_prefix()
        if prefix and (prefix == text or prefix.startswith(text + " ")):
            return None, text
    return None


R = Rule
_ALGO_LIST = r"[a-z0-9@.,+ -]+"
_ACE_ADDR = rf"(?:any|host {IPV4}|{IPV4} {IPV4}|object-group {WORD})"
_ACE_PORT = rf"(?: (?:eq|neq|lt|gt) {PORT}| range {PORT} {PORT})?"
ACE = (rf"(?:permit|deny) (?:ip|tcp|udp|icmp|esp|ahp|gre|ospf|\d{{1,3}}) {_ACE_ADDR}{_ACE_PORT} {_ACE_ADDR}{_ACE_PORT}"
       r"(?: established)?(?: echo| echo-reply| unreachable| time-exceeded)?(?: log| log-input)?")
STD_ACE = rf"(?:permit|deny) (?:any|host {IPV4}|{IPV4}(?: {IPV4})?)(?: log)?"

GLOBAL = [
    R("hostname", WORD),
    R(r"version \S+", None, hidden=True),
    R("boot-start-marker", None, hidden=True),
    R("boot-end-marker", None, hidden=True),
    R(r"boot system (?:flash|bootflash):\S+"),
    R("service pad", keep_no=True),
    R("service password-encryption", keep_no=True),
    R("service tcp-keepalives-in", keep_no=True),
    R("service tcp-keepalives-out", keep_no=True),
    R("service sequence-numbers", keep_no=True),
    R("service call-home", keep_no=True),
    R("service dhcp", keep_no=True),
    R("service config", keep_no=True),
    R(r"service timestamps (?:log|debug)",
      r"(?:datetime|uptime)(?: msec)?(?: localtime)?(?: show-timezone)?(?: year)?"),
    R("enable secret", r"(?:[059] )?\S+"),
    R("enable password", r"(?:[07] )?\S+"),
    R(r"username \S+", r"(?:privilege (?:1[0-5]|\d) )?(?:(?:algorithm-type (?:scrypt|sha256|md5) )?secret "
      r"(?:[059] )?\S+|password (?:[07] )?\S+)", key_format=lambda m: m.group(0)),
    R("aaa new-model", keep_no=True),
    R(r"aaa (?:authentication|authorization|accounting) (?:login|exec|enable|commands \d+|network|console) "
      rf"(?:default|{WORD})", r"(?:local|group \S+|none|enable|start-stop group \S+|if-authenticated| )+"),
    R("aaa session-id", r"common|unique"),
    R(r"clock timezone", rf"{WORD} -?\d+(?: \d+)?"),
    R("ip routing", keep_no=True),
    R("ip domain lookup", keep_no=True),
    R("ip domain name", WORD),
    R(r"ip name-server", rf"{IPV4}(?: {IPV4})*"),
    R("ip default-gateway", IPV4),
    R(rf"ip route {IPV4} {IPV4} (?:{IPV4}|\S+)", key_format=lambda m: m.group(0)),
    R("ip source-route", keep_no=True),
    R("ip bootp server", keep_no=True),
    R("ip finger", keep_no=True),
    R("ip http server", keep_no=True),
    R("ip http secure-server", keep_no=True),
    R("ip http authentication", r"local|aaa"),
    R("ip http access-class", rf"(?:ipv4 )?{WORD}"),
    R("ip scp server enable"),
    R("ip ssh version", "[12]"),
    R("ip ssh time-out", r"\d{1,3}"),
    R("ip ssh authentication-retries", r"[0-5]"),
    R("ip ssh source-interface", r"\S+"),
    R("ip ssh logging events"),
    R("ip ssh maxstartups", r"\d+"),
    R("ip ssh dh min size", r"\d+"),
    R(r"ip ssh server algorithm (?:mac|encryption|kex|hostkey|authentication|publickey)", _ALGO_LIST),
    R(r"ip dhcp snooping", None, keep_no=True),
    R(r"ip dhcp snooping vlan", VLAN_LIST),
    R(r"ip dhcp snooping information option", None, keep_no=True),
    R(r"ip arp inspection vlan", VLAN_LIST),
    R(r"login block-for", r"\d+ attempts \d+ within \d+"),
    R(r"login delay", r"\d+"),
    R(r"login on-(?:failure|success)", r"log(?: every \d+)?"),
    R(r"login quiet-mode access-class", WORD),
    R(r"vtp mode", r"transparent|off|server|client"),
    R(r"vtp domain", WORD),
    R(r"spanning-tree mode", r"pvst|rapid-pvst|mst"),
    R(r"spanning-tree extend system-id"),
    R(r"spanning-tree portfast (?:bpduguard|bpdufilter) default"),
    R(r"spanning-tree portfast default"),
    R(r"spanning-tree loopguard default"),
    R(rf"spanning-tree vlan {VLAN_LIST} priority", r"\d+", key_format=lambda m: m.group(0)),
    R(r"errdisable recovery cause \S+"),
    R(r"errdisable recovery interval", r"\d+"),
    R(r"cdp run", keep_no=True),
    R(r"lldp run", keep_no=True),
    R(r"logging on", keep_no=True),
    R(r"logging (?:trap|console|monitor)", LEVEL),
    R(r"logging buffered", rf"\d+(?: {LEVEL})?|{LEVEL}"),
    R(r"logging source-interface", r"\S+"),
    R(r"logging origin-id", r"hostname|ip|ipv6|string \S+"),
    R(r"logging facility", r"\S+"),
    R(rf"logging host {IPV4}", r"(?:transport (?:udp|tcp|tls)(?: port \d+)?(?: profile \S+)?)?"),
    R(r"snmp-server community \S+", rf"(?:view \S+ )?(?:RO|RW|ro|rw)(?: {WORD})?"),
    R(r"snmp-server group \S+ v(?:1|2c|3(?: (?:auth|noauth|priv))?)", r"(?:(?:read|write|notify) \S+ ?|"
      r"access (?:ipv6 )?\S+ ?)*"),
    # SNMPv3 users (`snmp-server user ...`) are not configuration lines on IOS: lab/ios/snmp.py keeps them.
    R(rf"snmp-server host {IPV4}", r"(?:informs )?(?:version (?:1|2c|3 (?:auth|noauth|priv)) )?\S+(?: \S+)*"),
    R(r"snmp-server enable traps(?: \S+)*", None),
    R(r"snmp-server (?:location|contact)", r".+"),
    R(r"snmp-server view \S+ \S+", r"included|excluded"),
    R(r"snmp-server ifindex persist"),
    R(r"ntp authenticate", None),
    R(r"ntp authentication-key \d+", r"(?:md5|sha1|sha256|hmac-sha1|hmac-sha2-256) \S+(?: \d+)?"),
    R(r"ntp trusted-key", r"\d+(?: - \d+)?", key_format=lambda m: m.group(0)),
    R(rf"ntp server (?:vrf \S+ )?{IPV4}", r"(?:key \d+ ?|prefer ?|source \S+ ?|version [1-4] ?)*"),
    R(r"ntp source", r"\S+"),
    R(r"ntp access-group (?:peer|serve|serve-only|query-only)", WORD),
    R(r"banner (?:motd|login|exec)", r"\^C[\s\S]*\^C"),
    R(r"archive", section="archive"),
    R(r"ip access-list extended " + WORD, section="acl_ext"),
    R(r"ip access-list standard " + WORD, section="acl_std"),
    R(r"crypto key generate rsa", r"(?:general-keys )?(?:modulus \d+)?", hidden=True),
]
INTERFACE = [
    R("description", r".+"),
    R("switchport", None, keep_no=True),
    R("switchport mode", r"access|trunk|dynamic (?:auto|desirable)"),
    R("switchport access vlan", VLAN_ID),
    R("switchport voice vlan", rf"{VLAN_ID}|dot1p|none|untagged"),
    R("switchport trunk native vlan", VLAN_ID),
    R("switchport trunk allowed vlan", rf"{VLAN_LIST}|all|none"),
    R("switchport nonegotiate"),
    R("switchport port-security"),
    R("switchport port-security maximum", r"\d+"),
    R("switchport port-security violation", r"protect|restrict|shutdown"),
    R(r"switchport port-security mac-address sticky"),
    R("ip address", rf"{IPV4} {IPV4}|dhcp"),
    R("ip redirects", keep_no=True),
    R("ip proxy-arp", keep_no=True),
    R(r"ip access-group \S+ (?:in|out)", None, key_format=lambda m: "ip access-group " + m.group(0).split()[-1]),
    R(r"ip dhcp snooping trust"),
    R(r"ip dhcp snooping limit rate", r"\d+"),
    R(r"ip arp inspection trust"),
    R(r"storm-control (?:broadcast|multicast|unicast) level", r"\d+(?:\.\d+)?(?: \d+(?:\.\d+)?)?"),
    R(r"storm-control action", r"shutdown|trap"),
    R(r"spanning-tree portfast", r"(?:trunk|disable|edge(?: trunk)?)?"),
    R(r"spanning-tree bpduguard", r"enable|disable"),
    R(r"spanning-tree bpdufilter", r"enable|disable"),
    R(r"spanning-tree guard", r"root|loop|none"),
    R("cdp enable", keep_no=True),
    R("lldp (?:transmit|receive)", keep_no=True),
    R(r"speed", r"10|100|1000|auto"),
    R(r"duplex", r"full|half|auto"),
    R("shutdown"),
]

VLAN = [R("name", WORD), R("shutdown")]

LINE = [
    R("transport input", r"ssh|telnet|none|all|telnet ssh|ssh telnet"),
    R("transport output", r"ssh|telnet|none|all|telnet ssh|ssh telnet"),
    R("transport preferred", r"ssh|telnet|none"),
    R(r"access-class", rf"{WORD} (?:in|out)(?: vrf-also)?",
      key_format=lambda m: "access-class"),
    R("exec-timeout", r"\d+(?: \d+)?", normalize=lambda line: line if len(line.split()) == 3 else line + " 0"),
    R("session-timeout", r"\d+"),
    R("login", r"(?:local|authentication \S+)?"),
    R("password", r"(?:[07] )?\S+"),
    R("privilege level", r"1[0-5]|\d"),
    R("logging synchronous"),
    R("stopbits", r"1|2"),
    R("no exec"),
    R("exec"),
    R("length", r"\d+"),
]

ARCHIVE = [
    R("log config", section="archive_log"),
    R("path", r"\S+"),
    R("maximum", r"\d+"),
    R("write-memory"),
    R("time-period", r"\d+"),
]
ARCHIVE_LOG = [R("logging enable"), R("logging size", r"\d+"), R("hidekeys"),
               R("notify syslog(?: contenttype plaintext)?")]

ACL_EXT = [R(r"(?:\d+ )?(?:permit|deny) .+"), R(r"(?:\d+ )?remark .+")]
ACL_STD = [R(r"(?:\d+ )?(?:permit|deny) .+"), R(r"(?:\d+ )?remark .+")]

RULES: dict[str, list[Rule]] = {
    "config": GLOBAL, "interface": INTERFACE, "vlan": VLAN, "line": LINE, "archive": ARCHIVE,
    "archive_log": ARCHIVE_LOG, "acl_ext": ACL_EXT, "acl_std": ACL_STD,
}

PROMPTS = {
    "config": "config", "interface": "config-if", "interface_range": "config-if-range", "vlan": "config-vlan",
    "line": "config-line", "archive": "config-archive", "archive_log": "config-archive-log-cfg",
    "acl_ext": "config-ext-nacl", "acl_std": "config-std-nacl",
}

# Order of lines in show running-config, by key prefix (first match wins; unknown lines keep insertion order).
GLOBAL_ORDER = [
    "version", "service", "no service", "hostname", "boot system", "logging buffered", "logging console",
    "enable", "aaa", "clock", "ip routing", "no ip routing", "ip domain", "no ip domain", "ip name-server",
    "ip dhcp", "no ip dhcp", "ip arp", "login", "vtp", "errdisable", "spanning-tree", "username", "archive",
    "vlan", "lldp", "cdp", "no cdp", "no lldp", "interface", "ip default-gateway", "ip route", "ip source-route",
    "no ip source-route", "ip bootp", "no ip bootp", "ip finger", "no ip finger", "ip http", "no ip http",
    "ip ssh", "ip scp", "ip access-list", "logging", "snmp-server", "banner", "line", "ntp",
]
INTERFACE_ORDER = [
    "description", "switchport access", "switchport trunk native", "switchport trunk allowed", "switchport mode",
    "switchport nonegotiate", "switchport voice", "switchport port-security", "switchport", "no switchport",
    "ip address", "no ip address", "ip access-group", "no ip redirects", "no ip proxy-arp",  # [I] order
    "ip dhcp", "ip arp", "speed", "duplex", "shutdown", "storm-control", "cdp", "no cdp", "lldp", "no lldp",
    "spanning-tree",
]
ORDERS = {"config": GLOBAL_ORDER, "interface": INTERFACE_ORDER}


def order_index(mode: str, key: str) -> int:
    for index, prefix in enumerate(ORDERS.get(mode, [])):
        if key == prefix or key.startswith(prefix + " "):
            return index
    return len(ORDERS.get(mode, []))


def ace_is_valid(text: str, standard: bool) -> bool:
    return re.fullmatch(STD_ACE if standard else ACE, text) is not None
