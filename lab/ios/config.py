"""The IOS-XE configuration as structured state: apply configuration-mode commands, render it as IOS prints it.

The configuration is a tree of :class:`Node` keyed by the words that identify each line (see ``grammar``), so
setting a line again replaces it, ``no`` forms remove it (or are remembered, as ``no service pad``), and
``show running-config`` renders what was configured. The same engine reads a saved configuration back (startup
config after a reload, ``configure replace``), so a configuration round-trips.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lab.ios import grammar
from lab.ios.secrets import type7, type9

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."

ACL_REFERENCE = re.compile(r"^(?:ip access-group|access-class) (\S+) (?:in|out)\b|^snmp-server group .* access (\S+)$")
INTERFACE_TYPES = ("GigabitEthernet", "TenGigabitEthernet", "FastEthernet", "AppGigabitEthernet", "Vlan",
                   "Loopback", "Port-channel")
CREATABLE_TYPES = ("Vlan", "Loopback", "Port-channel")
LINE_BLOCKS = {"con": [(0, 0)], "aux": [(0, 0)], "vty": [(0, 4), (5, 15)]}


@dataclass
class Node:
    line: str
    children: dict[str, Node] | None = None
    hidden: bool = False


@dataclass
class ConfigError(Exception):
    message: str
    column: int = 0  # where the ^ marker points in the command


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def vlan_set(text: str) -> set[int]:
    vlans: set[int] = set()
    for item in text.split(","):
        low, _, high = item.partition("-")
        vlans.update(range(int(low), int(high or low) + 1))
    return vlans


def vlan_text(vlans: set[int]) -> str:
    """IOS's compact VLAN list: 10,20,30-32."""
    items, ordered = [], sorted(vlans)
    start = prev = None
    for vlan in [*ordered, None]:
        if vlan is not None and prev is not None and vlan == prev + 1:
            prev = vlan
            continue
        if start is not None:
            items.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = vlan
    return ",".join(items)


class RunningConfig:
    """One device's configuration (running or startup)."""

    def __init__(self, interfaces: list[str], rules: dict | None = None,
                 validate: Callable[[str, dict[str, Node], str], None] | None = None) -> None:
        self.physical = list(interfaces)
        self.rules = rules or grammar.RULES
        self.validate = validate  # device-specific check of a line before it is applied (raises ConfigError)
        self.nodes: dict[str, Node] = {}
        self.snmp_users = None  # the device's SNMPv3 users table (lab.ios.snmp.SnmpUsers): outside the config
        for name in interfaces:
            self.nodes[f"interface {name}"] = Node(f"interface {name}", {})
        for kind, blocks in LINE_BLOCKS.items():
            for low, high in blocks:
                key = f"line {kind} {low}" + (f" {high}" if high != low else "")
                self.nodes[key] = Node(key, {})

    # -- queries used by show commands ------------------------------------------------------------------------
    def value(self, key: str, default: str | None = None) -> str | None:
        """The text after ``key`` on a top-level line (``value("hostname")``)."""
        node = self.nodes.get(key)
        if node is None or node.line.startswith("no "):
            return default
        return node.line[len(key):].strip()

    def has(self, key: str) -> bool:
        node = self.nodes.get(key)
        return node is not None and not node.line.startswith("no ")

    def sections(self, prefix: str) -> dict[str, Node]:
        return {key: node for key, node in self.nodes.items() if key.startswith(prefix + " ")
                and node.children is not None}

    def lines_under(self, prefix: str) -> list[str]:
        return [node.line for key, node in self.nodes.items() if key.startswith(prefix + " ")]

    @property
    def hostname(self) -> str:
        return self.value("hostname") or "Switch"

    def interface(self, name: str) -> dict[str, str]:
        """{child key: value} of one interface, e.g. {"switchport mode": "access", "shutdown": ""}."""
        node = self.nodes.get(f"interface {name}")
        if node is None or node.children is None:
            return {}
        return {key: child.line[len(key):].strip() for key, child in node.children.items()
                if not child.line.startswith("no ")}

    def interfaces(self) -> list[str]:
        names = [key.split(" ", 1)[1] for key in self.sections("interface")]
        return sorted(names, key=lambda n: (_type_rank(n), _natural(n)))

    def vlans(self) -> dict[int, str]:
        """{vlan id: name} of the configured VLANs (VLAN 1 always exists)."""
        vlans = {1: "default"}
        for key, node in self.sections("vlan").items():
            vlan = int(key.split()[1])
            name = node.children.get("name") if node.children else None
            vlans[vlan] = name.line.split(" ", 1)[1] if name else f"VLAN{vlan:04d}"
        return vlans

    def dangling_acl_references(self) -> list[str]:
        """Lines that reference an ACL which does not exist (IOS then filters nothing through them)."""
        defined = {key.split()[-1] for key in self.nodes if key.startswith("ip access-list ")}
        found = []
        for key, node in self.nodes.items():
            lines = [(key, node.line)] + [(f"{key} / {k}", child.line) for k, child in (node.children or {}).items()]
            for where, line in lines:
                match = ACL_REFERENCE.match(line)
                name = match and (match.group(1) or match.group(2))
                if name and name not in defined:
                    found.append(f"{where}: {line}")
        return found

    # -- rendering --------------------------------------------------------------------------------------------
    def render(self, version: str) -> str:
        """The configuration text as ``show running-config`` prints it, from ``version`` to ``end``."""
        major_minor = ".".join(version.split(".")[:2])
        out = ["!", f"version {major_minor}"]
        items = [(key, node) for key, node in self._ordered(self.nodes, "config") if not node.hidden]
        previous_bucket = None
        for index, (key, node) in enumerate(items):
            bucket = grammar.order_index("config", key)
            if previous_bucket is not None and bucket != previous_bucket and out[-1] != "!":
                out.append("!")
            is_boot = key.startswith("boot system")
            if is_boot and not items[index - 1][0].startswith("boot system"):
                out.append("boot-start-marker")
            out.extend(self._render_node(node, key, "config", 0))
            if is_boot and (index + 1 == len(items) or not items[index + 1][0].startswith("boot system")):
                out.append("boot-end-marker")
            if node.children is not None and out[-1] != "!":
                out.append("!")
            previous_bucket = bucket
        if out[-1] != "!":
            out.append("!")
        out.append("end")
        return "\n".join(out) + "\n"

    def _render_node(self, node: Node, key: str, mode: str, depth: int) -> list[str]:
        pad = " " * depth
        if key.startswith("banner "):
            return [pad + node.line]
        lines = [pad + node.line]
        if node.children:
            child_mode = _child_mode(mode, key, self.rules)
            for child_key, child in self._ordered(node.children, child_mode):
                if not child.hidden:
                    lines.extend(self._render_node(child, child_key, child_mode, depth + 1))
        return lines

    @staticmethod
    def _ordered(nodes: dict[str, Node], mode: str) -> list[tuple[str, Node]]:
        def sort_key(item: tuple[int, tuple[str, Node]]) -> tuple:
            index, (key, _) = item
            bucket = grammar.order_index(mode, key)
            if key.startswith("interface "):
                return (bucket, _type_rank(key[10:]), _natural(key), 0)
            if key.startswith("line "):
                return (bucket, ("con", "aux", "vty").index(key.split()[1]), _natural(key), 0)
            if key.startswith("vlan ") or mode.startswith("acl"):
                return (bucket, 0, _natural(key), 0)
            return (bucket, 0, [], index)
        return [item for _, item in sorted(enumerate(nodes.items()), key=sort_key)]


def _type_rank(name: str) -> int:
    for rank, kind in enumerate(INTERFACE_TYPES):
        if name.startswith(kind):
            return rank
    return len(INTERFACE_TYPES)


def _child_mode(mode: str, key: str, rules: dict | None = None) -> str:
    if key.startswith("interface "):
        return "interface"
    if key.startswith("vlan "):
        return "vlan"
    if key.startswith("line "):
        return "line"
    match = grammar.match_line(mode, key, rules)
    if key.startswith("wlan "):
        return "wlan"
    return match[0].section if match and match[0].section else mode


def normalize_credentials(line: str, encrypt: bool) -> str:
    """Store secrets as IOS does: plaintext `secret` -> type 9, `password` -> type 0 (type 7 if encrypting)."""
    secret = re.match(r"(.*?)(?:algorithm-type \S+ )?secret (?:0 )?(\S+)$", line)
    if secret and not re.search(r"secret [59] \S+$", line):
        return f"{secret.group(1)}secret 9 {type9(secret.group(2))}"
    password = re.match(r"(.*?)password (?:0 )?(\S+)$", line)
    if password and not re.search(r"password 7 \S+$", line):
        return f"{password.group(1)}password {'7 ' + type7(password.group(2)) if encrypt else '0 ' + password.group(2)}"
    return line


class ConfigSession:
    """A `configure terminal` session: applies one line at a time to ``config`` and tracks the mode."""

    def __init__(self, config: RunningConfig) -> None:
        self.config = config
        self.stack: list[tuple[str, list[dict[str, Node]]]] = []  # (mode, target child dicts)
        self.done = False
        self._banner: tuple[str, str, list[str]] | None = None  # (key, delimiter, lines so far)

    @property
    def mode(self) -> str:
        return self.stack[-1][0] if self.stack else "config"

    @property
    def prompt_mode(self) -> str:
        return grammar.PROMPTS[self.mode]

    @property
    def in_banner(self) -> bool:
        return self._banner is not None

    def apply(self, raw: str) -> str:
        """Apply one line; return what IOS prints (empty when accepted). Raises ConfigError when refused."""
        if self._banner is not None:
            return self._banner_line(raw)
        text = " ".join(raw.split())
        if not text or text.startswith("!"):
            return ""
        if text in ("end", "\x1a"):
            self.done = True
            return ""
        if text == "exit":
            if self.stack:
                self.stack.pop()
            else:
                self.done = True
            return ""
        if _has_hostile_characters(raw):
            raise ConfigError(INVALID, _hostile_column(raw))
        if self.stack:
            try:
                return self._apply_in(self.mode, self.stack[-1][1], text)
            except ConfigError as error:
                # IOS falls back to global configuration mode for a command the sub-mode does not know.
                saved = list(self.stack)
                try:
                    return self._apply_global(text)
                except ConfigError:
                    self.stack[:] = saved
                    raise error from None
        return self._apply_global(text)

    # -- global mode ------------------------------------------------------------------------------------------
    def _apply_global(self, text: str) -> str:
        negate = text.startswith("no ")
        body = text[3:] if negate else text
        word = body.split(" ", 1)[0]
        special = {"interface": self._interface, "vlan": self._vlan, "line": self._line, "banner": self._banner_cmd}
        if body.startswith("snmp-server user ") and self.config.snmp_users is not None:
            self.stack.clear()
            return self.config.snmp_users.configure(body, negate)
        if word in special:
            self.stack.clear()
            return special[word](body, negate)
        self.stack.clear()
        return self._apply_in("config", [self.config.nodes], text)

    def _interface(self, body: str, negate: bool) -> str:
        parts = body.split(" ", 1)
        if len(parts) < 2:
            raise ConfigError(INCOMPLETE)
        if parts[1].startswith("range "):
            names = self.expand_range(parts[1][6:])
            if negate:
                raise ConfigError(INVALID, len("no interface "))
            self.stack.append(("interface", [self.config.nodes[f"interface {n}"].children for n in names]))
            return ""
        name = self.resolve_interface(parts[1])
        key = f"interface {name}"
        if negate:
            if name in self.config.physical:
                raise ConfigError("% Physical interfaces cannot be deleted")
            self.config.nodes.pop(key, None)
            return ""
        node = self.config.nodes.setdefault(key, Node(key, {}))
        self.stack.append(("interface", [node.children]))
        return ""

    def resolve_interface(self, text: str, offset: int = len("interface ")) -> str:
        match = re.fullmatch(r"([A-Za-z-]+)\s*(\d+(?:/\d+)*)", text.strip())
        if not match:
            raise ConfigError(INVALID, offset)
        abbrev, number = match.group(1).lower(), match.group(2)
        kinds = [kind for kind in INTERFACE_TYPES if kind.lower().startswith(abbrev)]
        if len(abbrev) < 2 or not kinds:
            raise ConfigError(INVALID, offset)
        name = kinds[0] + number
        if name not in self.config.physical and not (kinds[0] in CREATABLE_TYPES
                                                     or f"interface {name}" in self.config.nodes):
            raise ConfigError(INVALID, offset + len(match.group(1)))
        if kinds[0] == "Vlan" and not 1 <= int(number) <= 4094:
            raise ConfigError(INVALID, offset + len(match.group(1)))
        return name

    def expand_range(self, text: str) -> list[str]:
        names: list[str] = []
        for item in text.split(","):
            match = re.fullmatch(r"\s*([A-Za-z-]+\s*(?:\d+/)*)(\d+)\s*(?:-\s*(\d+))?\s*", item)
            if not match:
                raise ConfigError(INVALID, len("interface range "))
            low, high = int(match.group(2)), int(match.group(3) or match.group(2))
            if high < low:
                raise ConfigError(INVALID, len("interface range "))
            for port in range(low, high + 1):
                name = self.resolve_interface(f"{match.group(1)}{port}", len("interface range "))
                if name not in self.config.physical:
                    raise ConfigError(INVALID, len("interface range "))
                names.append(name)
        return names

    def _vlan(self, body: str, negate: bool) -> str:
        parts = body.split(" ", 1)
        if len(parts) < 2:
            raise ConfigError(INCOMPLETE)
        if not re.fullmatch(grammar.VLAN_LIST, parts[1]):
            raise ConfigError(INVALID, len("vlan ") + (3 if negate else 0))
        vlans = sorted(vlan_set(parts[1]))
        if negate:
            for vlan in vlans:
                if vlan == 1:
                    raise ConfigError("%Default VLAN 1 may not be deleted.")
                self.config.nodes.pop(f"vlan {vlan}", None)
            return ""
        targets = [self.config.nodes.setdefault(f"vlan {v}", Node(f"vlan {v}", {})).children for v in vlans
                   if v != 1]
        self.stack.append(("vlan", targets))
        return ""

    def _line(self, body: str, negate: bool) -> str:
        match = re.fullmatch(r"line (con|console|aux|vty) (\d+)(?: (\d+))?", body)
        if not match or negate:
            raise ConfigError(INVALID, len("line "))
        kind = {"console": "con"}.get(match.group(1), match.group(1))
        low = int(match.group(2))
        high = int(match.group(3) or low)
        targets = []
        for block_low, block_high in LINE_BLOCKS[kind]:
            if block_low <= high and low <= block_high:
                key = f"line {kind} {block_low}" + (f" {block_high}" if block_high != block_low else "")
                targets.append(self.config.nodes[key].children)
        last = LINE_BLOCKS[kind][-1][1]
        if not targets or high < low or high > last:
            raise ConfigError(INVALID, len(body) - len(match.group(3) or match.group(2)))
        self.stack.append(("line", targets))
        return ""

    def _banner_cmd(self, body: str, negate: bool) -> str:
        match = re.fullmatch(r"banner (motd|login|exec)(?: (.*))?", body)
        if not match:
            raise ConfigError(INVALID, len("banner "))
        key = f"banner {match.group(1)}"
        if negate:
            self.config.nodes.pop(key, None)
            return ""
        rest = match.group(2)
        if not rest:
            raise ConfigError(INCOMPLETE)
        delimiter = "^C" if rest.startswith("^C") else rest[0]
        text = rest[len(delimiter):]
        if delimiter in text:
            self._store_banner(key, text[:text.index(delimiter)])
            return ""
        self._banner = (key, delimiter, [text + "\n"])  # the Enter that ended the line is part of the text
        return f"Enter TEXT message.  End with the character '{delimiter}'."

    def _banner_line(self, raw: str) -> str:
        key, delimiter, parts = self._banner  # type: ignore[misc]
        if delimiter not in raw:
            parts.append(raw + "\n")
            return ""
        self._banner = None
        self._store_banner(key, "".join(parts) + raw[:raw.index(delimiter)])
        return ""

    def _store_banner(self, key: str, text: str) -> None:
        if _has_hostile_characters(text.replace("\n", "")):
            raise ConfigError(INVALID, len(key) + 1)
        self.config.nodes[key] = Node(f"{key} ^C{text}^C")

    # -- generic rule-driven lines ----------------------------------------------------------------------------
    def _apply_in(self, mode: str, targets: list[dict[str, Node]], text: str) -> str:
        negate = text.startswith("no ")
        body = text[3:] if negate else text
        if mode in ("acl_ext", "acl_std"):
            return self._ace(targets[0], body, negate, standard=mode == "acl_std")
        if self.config.validate is not None:
            for target in targets:
                self.config.validate(mode, target, text)
        if mode == "interface" and body.startswith("switchport trunk allowed vlan ") and not negate:
            return self._allowed_vlans(targets, body)
        if negate:
            found = grammar.match_no(mode, body, self.config.rules)
            if found is None:
                raise ConfigError(*_refusal(mode, body, 3, self.config.rules))
            rule, key = found
            for target in targets:
                if rule is None:
                    for existing in [k for k in target if k == key or k.startswith(key + " ")]:
                        del target[existing]
                elif rule.keep_no:
                    target[key] = Node(f"no {key}")
                else:
                    target.pop(key, None)
            return ""
        found = grammar.match_line(mode, body, self.config.rules)
        if found is None:
            raise ConfigError(*_refusal(mode, body, 0, self.config.rules))
        rule, key = found
        line = rule.normalize(body) if rule.normalize else body
        if key.startswith(("username ", "enable ")) or (mode == "line" and key == "password"):
            line = normalize_credentials(line, self.config.has("service password-encryption"))
        for target in targets:
            if rule.section:
                node = target.setdefault(key, Node(line, {}))
                self.stack.append((rule.section, [node.children]))
            else:
                target[key] = Node(line, hidden=rule.hidden)
        return ""

    def _allowed_vlans(self, targets: list[dict[str, Node]], body: str) -> str:
        match = re.fullmatch(rf"switchport trunk allowed vlan (?:(add|remove|except) )?({grammar.VLAN_LIST}|all|none)",
                             body)
        if not match:
            raise ConfigError(INVALID, len("switchport trunk allowed vlan "))
        action, vlans = match.groups()
        key = "switchport trunk allowed vlan"
        for target in targets:
            current_node = target.get(key)
            current = vlan_set(current_node.line.split()[-1]) if current_node and current_node.line.split()[-1] \
                not in ("none", "all") else (set() if current_node else set(range(1, 4095)))
            if vlans in ("all", "none"):
                new = set(range(1, 4095)) if vlans == "all" else set()
            else:
                given = vlan_set(vlans)
                new = {"add": current | given, "remove": current - given,
                       "except": set(range(1, 4095)) - given}.get(action or "", given)
            if new == set(range(1, 4095)):
                target.pop(key, None)
            else:
                target[key] = Node(f"{key} {vlan_text(new) if new else 'none'}")
        return ""

    def _ace(self, entries: dict[str, Node], body: str, negate: bool, standard: bool) -> str:
        match = re.fullmatch(r"(?:(\d+) )?(.+)", body)
        assert match
        sequence, entry = match.group(1), match.group(2)
        if not re.fullmatch(r"\d+|(?:\d+ )?(?:permit|deny|remark)(?: .*)?", body):
            raise ConfigError(INVALID, 0)  # not an ACL entry: the caller tries global configuration mode
        if negate:
            if sequence and not entry:
                entries.pop(sequence, None)
            elif re.fullmatch(r"\d+", body):
                entries.pop(body, None)
            else:
                for key in [k for k, node in entries.items() if node.line.split(" ", 1)[1] == body]:
                    del entries[key]
            return ""
        if not entry.startswith("remark ") and not grammar.ace_is_valid(entry, standard):
            raise ConfigError(INVALID, _ace_error_column(entry) + (len(sequence) + 1 if sequence else 0))
        if sequence is None:
            sequence = str(max((int(k) for k in entries), default=0) + 10)
        entries[sequence] = Node(f"{sequence} {entry}")
        entries_sorted = dict(sorted(entries.items(), key=lambda kv: int(kv[0])))
        entries.clear()
        entries.update(entries_sorted)
        return ""


def _refusal(mode: str, body: str, offset: int, rules: dict) -> tuple[str, int]:
    """The error IOS prints for a line no rule accepts, with the column of its ^ marker."""
    words = body.split(" ")
    for count in range(len(words), 0, -1):
        prefix = " ".join(words[:count])
        for rule in rules.get(mode, []):
            key_re, _ = rule.compiled()
            literal = rule.literal_prefix()
            if key_re.fullmatch(prefix) or (literal and (literal + " ").startswith(prefix + " ")):
                if count == len(words):
                    return INCOMPLETE, 0
                return INVALID, offset + len(prefix) + 1
    return INVALID, offset


def _ace_error_column(entry: str) -> int:
    words = entry.split(" ")
    for count in range(len(words), 0, -1):
        if grammar.ace_is_valid(" ".join(words[:count]), standard=False):
            return len(" ".join(words[:count])) + 1
    return 0


_HOSTILE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _has_hostile_characters(text: str) -> bool:
    """Control characters never belong in a configuration line."""
    return bool(_HOSTILE.search(text))


def _hostile_column(text: str) -> int:
    match = _HOSTILE.search(text)
    return match.start() if match else 0


def parse_config(text: str, interfaces: list[str], rules: dict | None = None,
                 validate: Callable[[str, dict[str, Node], str], None] | None = None,
                 ) -> tuple[RunningConfig, list[str]]:
    """Read a saved configuration (startup-config, a backup on flash) into a fresh config; also return the lines
    refused, as ``configure replace`` reports them."""
    config = RunningConfig(interfaces, rules, validate)
    session = ConfigSession(config)
    refused = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not session.in_banner and (stripped.startswith(("Building configuration", "Current configuration",
                                                             "Using ", "version ", "boot-start-marker",
                                                             "boot-end-marker")) or stripped == "end"):
            continue
        if not session.in_banner and raw and not raw.startswith(" "):
            session.stack.clear()  # an unindented line is always global configuration
        elif not session.in_banner and raw.startswith(" "):
            depth = len(raw) - len(raw.lstrip(" "))
            del session.stack[depth:]
        try:
            session.apply(raw)
        except ConfigError:
            refused.append(stripped)
    return config, refused
