# -*- coding: utf-8 -*-
"""IOS-style configuration as data: parse a running config into sections, diff intended sections against it.

The diff is the only thing ever sent to a device: a second run against a converged device yields no command.
Intended state is a list of `Section`s; each says which child lines it *owns*, so lines a human added under an owned
prefix are removed, while everything the toolkit does not manage is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BANNER_RE = re.compile(r"^banner (\S+) (\^C|.)(.*)$")
SEQ_RE = re.compile(r"^\d+\s+")
SECRET_LINE = re.compile(r"^(.*?\b(?:set-key ascii|secret|password|key)) 0 \S+$")


@dataclass
class Section:
    """Intended state of one configuration section.

    parent:  the mode line ("interface GigabitEthernet1/0/1", "vlan 10", "line vty 0 4"); None = global lines.
    lines:   child lines (or global lines) that must be present.
    owned:   prefixes of child lines this section owns: a running line under one of them that is not in `lines` is
             removed with `no <line>` (unless a new line with the same key overwrites it).
    absent_lines: lines that must not be present (sent as `no <line>` when they are).
    ordered: the children are an ordered list (ACL entries): any difference rewrites the section.
    absent:  the whole section must not exist (`no <parent>`).
    """

    parent: str | None
    lines: list[str] = field(default_factory=list)
    owned: tuple[str, ...] = ()
    absent_lines: tuple[str, ...] = ()
    ordered: bool = False
    absent: bool = False
    carry: list[str] = field(default_factory=list)   # ordered: numbered incident entries to carry into a new ACL


@dataclass
class RunningConfig:
    """A parsed running config: global lines, sections (parent -> child lines, in order) and banners."""

    global_lines: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    banners: dict[str, str] = field(default_factory=dict)

    def children(self, parent: str | None) -> list[str] | None:
        return self.global_lines if parent is None else self.sections.get(parent)

    def parents(self, prefix: str) -> list[str]:
        return [p for p in self.sections if p.startswith(prefix)]


# Lines IOS does not print because they are the default: satisfied when absent and no line with the same key is there.
IOS_DEFAULT_LINES = frozenset({
    "exec-timeout 10 0", "ip ssh authentication-retries 3", "logging trap informational",
})

TRUNK_VLANS_RE = re.compile(r"^(switchport trunk allowed vlan) ([0-9,-]+)$")
TRUNK_ADD_RE = re.compile(r"^switchport trunk allowed vlan add ([0-9,-]+)$")


def normalize(line: str) -> str:
    line = " ".join(line.split())
    trunk = TRUNK_VLANS_RE.match(line)
    if trunk:  # IOS compresses the list into ranges; compare lists, not spellings
        line = f"{trunk.group(1)} {vlan_list(expand_vlan_list(trunk.group(2)))}"
    return line


def expand_vlan_list(text: str) -> list[int]:
    vlans: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        vlans.update(range(int(low), int(high or low) + 1))
    return sorted(vlans)


def vlan_list(vlans) -> str:
    """IOS spelling of a VLAN list: sorted, consecutive runs of 3 or more as ranges (10,20,30-32)."""
    ordered, runs = sorted(set(vlans)), []
    for vlan in ordered:
        if runs and vlan == runs[-1][1] + 1:
            runs[-1][1] = vlan
        else:
            runs.append([vlan, vlan])
    parts = []
    for low, high in runs:
        parts += [f"{low}-{high}"] if high - low >= 2 else [str(v) for v in range(low, high + 1)]
    return ",".join(parts)


def satisfied(line: str, current: list[str]) -> bool:
    """Is intended `line` in effect given the `current` lines of its section?"""
    if line in current:
        return True
    return line in IOS_DEFAULT_LINES and not any(line_key(other) == line_key(line) for other in current)


def parse_running_config(text: str) -> RunningConfig:
    """Parse `show running-config` output (IOS / IOS-XE indentation rules)."""
    config = RunningConfig()
    lines = text.splitlines()
    current: list[str] | None = None
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip()
        index += 1
        if not raw.strip() or raw.startswith("!") or raw.startswith("Building configuration") \
                or raw.startswith("Current configuration") or raw.strip() == "end":
            if raw.startswith("!"):
                current = None
            continue
        banner = BANNER_RE.match(raw)
        if banner and not raw.startswith(" "):
            kind, delimiter, rest = banner.groups()
            index = _read_banner(config, kind, delimiter, rest, lines, index)
            current = None
            continue
        if raw.startswith(" "):
            if current is not None:
                _append_child(current, normalize(raw))
            continue
        line = normalize(raw)
        if _opens_section(line, lines, index):
            current = config.sections.setdefault(line, [])
        else:
            config.global_lines.append(line)
            current = None
    return config


def _append_child(children: list[str], line: str) -> None:
    """IOS wraps a long trunk VLAN list over `switchport trunk allowed vlan add <more>` lines (cisco.ios unit-test
    fixture ios_l2_interfaces.cfg, tests/conformance/cisco_ios/): they continue the list above them."""
    added = TRUNK_ADD_RE.match(line)
    previous = TRUNK_VLANS_RE.match(children[-1]) if children and added else None
    if previous:
        children[-1] = normalize(f"{previous.group(1)} {previous.group(2)},{added.group(1)}")
    else:
        children.append(line)


def _opens_section(line: str, lines: list[str], index: int) -> bool:
    following = lines[index] if index < len(lines) else ""
    return following.startswith(" ") or line.split()[0] in ("interface", "vlan", "line", "ip access-list") \
        or line.startswith("ip access-list ")


def _read_banner(config: RunningConfig, kind: str, delimiter: str, rest: str, lines: list[str], index: int) -> int:
    if delimiter in rest:
        config.banners[kind] = rest.split(delimiter, 1)[0].strip()
        return index
    body = [rest] if rest.strip() else []
    while index < len(lines):
        line = lines[index]
        index += 1
        if delimiter in line:
            before = line.split(delimiter, 1)[0]
            if before.strip():
                body.append(before)
            break
        body.append(line)
    config.banners[kind] = "\n".join(part.strip() for part in body).strip()
    return index


def canonical_children(lines: list[str]) -> list[str]:
    """ACL entries without sequence numbers, whitespace-normalised (IOS-XE prints `10 permit ...`)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import canonical_ace
    return [canonical_ace(SEQ_RE.sub("", normalize(line))) for line in lines if not line.startswith("remark")]


def line_key(line: str) -> str:
    """Lines with the same key overwrite each other on IOS (`switchport access vlan 30` replaces `... vlan 20`)."""
    for prefix in KEYED_PREFIXES:
        if line == prefix or line.startswith(prefix + " "):
            return prefix
    return line


KEYED_PREFIXES = (
    "switchport mode", "switchport access vlan", "switchport voice vlan", "switchport trunk allowed vlan",
    "switchport trunk native vlan", "description", "ip access-group", "exec-timeout", "transport input",
    "access-class", "name", "logging trap", "ip ssh time-out", "ip ssh authentication-retries", "ip ssh version",
    "login block-for", "ip address", "service timestamps log",
)


@dataclass
class SectionChange:
    parent: str | None
    commands: list[str]
    before: list[str]
    after: list[str]


def diff_section(section: Section, running: RunningConfig) -> SectionChange | None:
    """Commands that bring `running` to `section` (None when it already matches)."""
    current = running.children(section.parent)
    if section.absent:
        if current is None:
            return None
        return SectionChange(section.parent, [f"no {section.parent}"], current, [])
    if section.ordered:
        return _diff_ordered(section, current)
    current = current or []
    wanted = [normalize(line) for line in section.lines]
    missing = [line for line in wanted if not satisfied(line, current)]
    new_keys = {line_key(line) for line in missing}
    stale = [line for line in current
             if line not in wanted and any(_under(line, prefix) for prefix in section.owned)
             and line_key(line) not in new_keys]
    stale += [line for line in section.absent_lines if line in current and line not in stale]
    if not missing and not stale and (section.parent is None or section.parent in running.sections):
        return None
    commands = restrictive_first([f"no {line}" for line in stale] + missing)
    if section.parent is not None:
        commands = [section.parent] + [f" {command}" for command in commands]
    if section.parent is None:  # global lines: show only what changes, not the whole config
        return SectionChange(None, commands, stale + [line for line in current if line_key(line) in new_keys],
                             missing)
    after = [line for line in current if line not in stale and line_key(line) not in new_keys] + missing
    return SectionChange(section.parent, commands, list(current), after)


# Within a section, what closes goes before what opens, so that a change stopped half-way is never more open than
# both its start and its end: a port is shut before its VLAN changes, and opened (`no shutdown`) last; an SVI gets
# its inbound ACL before its address makes it route (the ACL itself exists by then: change_phases).
FIRST_LINES = ("shutdown", "ip access-group ", "access-class ")
LAST_LINES = ("no shutdown",)


def restrictive_first(commands: list[str]) -> list[str]:
    def rank(command: str) -> int:
        return 0 if command.startswith(FIRST_LINES) else 2 if command in LAST_LINES else 1
    return sorted(commands, key=rank)


def _under(line: str, prefix: str) -> bool:
    return line == prefix or line.startswith(prefix + " ")


def _diff_ordered(section: Section, current: list[str] | None) -> SectionChange | None:
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
        is_incident_entry,
        policy_entries,
    )
    wanted = canonical_children(section.lines)
    if current is not None and canonical_children(policy_entries(current)) == wanted:
        return None
    # open incident blocks (reserved sequences 1-9, see incident_block.py) survive the rewrite; a new ACL built
    # under the alternate name (place_acl) carries those of the ACL it replaces
    kept = [line for line in (section.carry if current is None else current) if is_incident_entry(line)]
    numbered = [f" {line}" for line in kept] + [f" {10 * (n + 1)} {line}" for n, line in enumerate(wanted)]
    # Rewriting the whole list keeps the order exact; an ACL in use is never rewritten in place (see place_acl).
    commands = ([f"no {section.parent}"] if current is not None else []) + [section.parent] + numbered
    return SectionChange(section.parent, commands, list(current or []), canonical_children(kept) + wanted)


# ----------------------------------------------------------------------------------------------------------------
# Hitless ACL replacement: a changed ACL is built complete under its alternate name (<NAME> <-> <NAME>-B), the
# interfaces / lines / SNMP group are re-pointed at it in the same config session, and only then is the old one
# removed. At no point does anything reference an ACL that does not exist (IOS would permit all through it), nor a
# half-written one. Sequence-number editing was not chosen: its intermediate states mix old and new entries.
# ----------------------------------------------------------------------------------------------------------------
ALTERNATE_SUFFIX = "-B"
ACL_REFERENCE = re.compile(r"^(?:ip access-group|access-class) (\S+) (?:in|out)\b|^snmp-server group .* access (\S+)$")


@dataclass
class AclState:
    """The device's ACLs (name -> canonical entries) and the names something references."""

    acls: dict[str, list[str]] = field(default_factory=dict)      # policy entries only
    incidents: dict[str, list[str]] = field(default_factory=dict)  # open incident blocks (numbered lines)
    referenced: set[str] = field(default_factory=set)


def acl_state(running: RunningConfig) -> AclState:
    state = AclState()
    for parent, children in running.sections.items():
        if parent.startswith("ip access-list "):
            from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
                incident_lines,
                policy_entries,
            )
            state.acls[parent.split()[-1]] = canonical_children(policy_entries(children))
            state.incidents[parent.split()[-1]] = incident_lines(children)
        for line in children:
            _note_reference(state, line)
    for line in running.global_lines:
        _note_reference(state, line)
    return state


def _note_reference(state: AclState, line: str) -> None:
    match = ACL_REFERENCE.match(line)
    if match:
        state.referenced.add(match.group(1) or match.group(2))


def alternate_name(name: str) -> str:
    return name[:-len(ALTERNATE_SUFFIX)] if name.endswith(ALTERNATE_SUFFIX) else name + ALTERNATE_SUFFIX


@dataclass
class AclPlacement:
    """Where an intended ACL goes: the name to reference, its section (before the references) and the removal of
    the other name (after them)."""

    name: str
    before: list[Section]
    after: list[Section]


def place_acl(kind: str, base: str, entries: list[str], state: AclState) -> AclPlacement:
    """Keep the ACL in use when it already holds `entries`, else build it under the name not in use."""
    names = (base, base + ALTERNATE_SUFFIX)
    existing = [name for name in names if name in state.acls]
    in_use = [name for name in existing if name in state.referenced] or existing
    current = in_use[0] if in_use else None
    if current is None:
        name = base
    elif state.acls[current] == canonical_children(entries):
        name = current
    else:
        name = alternate_name(current)
    carry = state.incidents.get(current, []) if current and name != current else []
    return AclPlacement(name, [Section(f"ip access-list {kind} {name}", entries, ordered=True, carry=carry)],
                        [Section(f"ip access-list {kind} {alternate_name(name)}", absent=True)])


def diff_banner(kind: str, text: str, running: RunningConfig) -> SectionChange | None:
    if running.banners.get(kind, "").strip() == text.strip():
        return None
    # `^C` is how IOS writes the banner delimiter in a config file; `^` is refused in the text by the guard.
    return SectionChange(f"banner {kind}", [f"banner {kind} ^C{text}^C"],
                         [running.banners[kind]] if kind in running.banners else [], [text])


def diff_config(sections: list[Section], banners: dict[str, str], running: RunningConfig) -> list[SectionChange]:
    changes = [diff_section(section, running) for section in sections]
    changes += [diff_banner(kind, text, running) for kind, text in banners.items()]
    return [change for change in changes if change]


def commands_of(changes: list[SectionChange]) -> list[str]:
    return [command for change in changes for command in change.commands]


def verify_applied(commands: list[str], running: RunningConfig) -> list[str]:
    """Read-back check: every sent command is in effect in `running`; returns the commands that are not.

    `commands` are IOS config text (children indented by one space). Never trust the absence of an error string:
    devices differ in how they refuse a command, so the only proof is the configuration read back.
    """
    problems: list[str] = []
    parent: str | None = None
    acl_entries: dict[str, list[str]] = {}
    for index, command in enumerate(commands):
        child = command.startswith(" ")
        opens = index + 1 < len(commands) and commands[index + 1].startswith(" ")
        line = normalize(command)
        if line.startswith(NOT_IN_RUNNING_CONFIG) or line.startswith(tuple(f"no {p}" for p in NOT_IN_RUNNING_CONFIG)):
            continue
        if not child:
            parent = None
        if line.startswith("banner "):
            kind, text = line.split(" ", 2)[1], line.split(" ", 2)[2].replace("^C", "")
            if running.banners.get(kind, "").strip() != text.strip():
                problems.append(command)
            continue
        if not child and not line.startswith("no ") and (opens or _is_parent(line)):
            parent = line
            if line.startswith("ip access-list"):
                acl_entries[line] = []
            continue
        if parent in acl_entries and child:
            acl_entries[parent].append(line)
            continue
        current = running.children(parent) or []
        if line.startswith("no "):
            target = line[3:]
            gone = target not in current and (parent is not None or target not in running.sections)
            if not gone and not (parent is None and _replaced_later(target, commands)):
                problems.append(command)
        elif SECRET_LINE.match(line):   # stored encrypted: its presence is all a read-back can prove
            if not any(other.startswith(SECRET_LINE.match(line).group(1)) for other in current):
                problems.append(SECRET_LINE.match(line).group(1) + " <secret>")
        elif not satisfied(line, current) and not _undone_later(line, commands[index + 1:]):
            problems.append(command)
    from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
        edit_in_effect,
        is_incident_edit,
    )
    for acl, entries in acl_entries.items():
        current = running.sections.get(acl, [])
        if entries and all(is_incident_edit(entry) for entry in entries):   # incident blocks: edits by number
            problems += [f"{acl}: {entry}" for entry in entries if not edit_in_effect(entry, current)]
        elif canonical_children(current) != canonical_children(entries):
            problems.append(acl)
    return problems


# IOS keeps SNMPv3 users outside the running config: the caller checks them with `show snmp user` (network/snmp.py).
NOT_IN_RUNNING_CONFIG = ("snmp-server user ",)


def _undone_later(line: str, following: list[str]) -> bool:
    """A child line negated further down in the same section (a WLAN shut while its security changes, then
    enabled again) is transient: the read-back is expected to show the later line instead."""
    for command in following:
        if not command.startswith(" "):
            return False
        if normalize(command) == f"no {line}":
            return True
    return False


def _is_parent(line: str) -> bool:
    return line.split()[0] in ("interface", "vlan", "line") or line.startswith("ip access-list ")


def _replaced_later(target: str, commands: list[str]) -> bool:
    """`no ip access-list extended X` followed by its re-creation: the section is expected to exist."""
    return any(normalize(command) == target for command in commands)


ACL_PHASE = "ACL definitions"
PHASES = (ACL_PHASE, "changes", "removal of unused ACLs")


def _blocks(commands: list[str]) -> list[list[str]]:
    """Top-level lines with their indented children."""
    blocks: list[list[str]] = []
    for command in commands:
        if command.startswith(" ") and blocks:
            blocks[-1].append(command)
        else:
            blocks.append([command])
    return blocks


def change_phases(commands: list[str]) -> list[tuple[str, list[str]]]:
    """The commands of a change in the order that keeps every intermediate state no more open than the start:
    (1) ACL definitions (an ACL rewritten in place is one not referenced, see place_acl), so that they exist
    before anything points at them; (2) everything else, in order (interfaces, lines, SNMP group re-pointed);
    (3) `no ip access-list` of ACLs nothing points at any more. Empty phases are left out."""
    blocks = _blocks(commands)
    created = {normalize(block[0]) for block in blocks if block[0].startswith("ip access-list ")}
    phases: dict[str, list[str]] = {name: [] for name in PHASES}
    for block in blocks:
        head = normalize(block[0])
        if head.startswith("ip access-list ") or (head.startswith("no ip access-list ") and head[3:] in created):
            phases[PHASES[0]] += block
        elif head.startswith("no ip access-list "):
            phases[PHASES[2]] += block
        else:
            phases[PHASES[1]] += block
    return [(name, lines) for name, lines in phases.items() if lines]


# Sections IOS creates on demand, and removes with `no <parent>` (physical ports and vty/con lines always exist).
REMOVABLE_SECTIONS = ("interface Vlan", "interface Loopback", "interface Port-channel", "interface Tunnel",
                      "ip access-list ", "vlan ")


def _negate(line: str) -> str:
    return line[3:] if line.startswith("no ") else f"no {line}"


def _restore_lines(wanted: list[str], current: list[str]) -> list[str]:
    """Commands that turn the lines `current` of one section into `wanted` (order is IOS's business)."""
    add = [line for line in wanted if line not in current]
    add_keys = {line_key(line) for line in add}
    stale = [line for line in current if line not in wanted and line_key(line) not in add_keys]
    return [_negate(line) for line in stale] + add


def restore_commands(before: RunningConfig, now: RunningConfig) -> list[str]:
    """The commands that bring `now` back to `before`, for a device without `configure replace` (or without a
    backup on flash): sent through `change_phases` they never leave a reference to a missing ACL either."""
    commands: list[str] = []
    for parent in now.sections:
        if parent not in before.sections and parent.startswith(REMOVABLE_SECTIONS):
            commands.append(f"no {parent}")
    for parent, lines in before.sections.items():
        current = now.sections.get(parent)
        if parent.startswith("ip access-list "):
            if current is None or canonical_children(current) != canonical_children(lines):
                commands += ([f"no {parent}"] if current is not None else []) + [parent] + [f" {x}" for x in lines]
            continue
        changes = _restore_lines(lines, current or [])
        if changes or current is None:
            commands += [parent] + [f" {change}" for change in changes]
    commands += _restore_lines(before.global_lines, now.global_lines)
    for kind in set(before.banners) | set(now.banners):
        if before.banners.get(kind, "").strip() != now.banners.get(kind, "").strip():
            commands.append(f"banner {kind} ^C{before.banners[kind]}^C" if kind in before.banners
                            else f"no banner {kind}")
    return commands


def _printed_default(line: str, *configs: list[str]) -> bool:
    """`no service password-encryption` on one side, neither form on the other: IOS prints some defaults as a
    `no` line once they have been set and unset, so the two configurations mean the same."""
    return line.startswith("no ") and not any(line[3:] in lines for lines in configs) and \
        sum(line in lines for lines in configs) == 1


def config_differences(expected: RunningConfig, actual: RunningConfig) -> list[str]:
    """Sections (and global lines) where two configurations differ; lines compared as sets except in ACLs."""
    def key(parent: str, lines: list[str] | None):
        if lines is None:
            return None
        return canonical_children(lines) if parent.startswith("ip access-list ") else set(lines)
    differ = [parent for parent in dict.fromkeys([*expected.sections, *actual.sections])
              if key(parent, expected.sections.get(parent)) != key(parent, actual.sections.get(parent))]
    differ += [f"{'missing' if line in expected.global_lines else 'extra'}: {line}"
               for line in set(expected.global_lines) ^ set(actual.global_lines)
               if not _printed_default(line, expected.global_lines, actual.global_lines)]
    differ += [f"banner {kind}" for kind in set(expected.banners) | set(actual.banners)
               if expected.banners.get(kind, "").strip() != actual.banners.get(kind, "").strip()]
    return differ


def render_sections(sections: list[Section], banners: dict[str, str]) -> list[str]:
    """The intended config as IOS text (for `state: rendered`-style output and tests)."""
    out: list[str] = []
    for section in sections:
        if section.absent:
            continue
        if section.parent is None:
            out += section.lines
        else:
            out += [section.parent] + [f" {line}" for line in section.lines]
    out += [f"banner {kind} ^C{text}^C" for kind, text in banners.items()]
    return out


def unified_diff(changes: list[SectionChange]) -> tuple[str, str]:
    """(before, after) text of the affected sections, for Ansible's --diff."""
    before, after = [], []
    for change in changes:
        header = [change.parent] if change.parent else []
        before += header + [f" {line}" if change.parent else line for line in change.before]
        after += header + [f" {line}" if change.parent else line for line in change.after]
    return "\n".join(before) + "\n", "\n".join(after) + "\n"
