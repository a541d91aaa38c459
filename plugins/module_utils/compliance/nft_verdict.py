"""The effective verdict of a host's nftables input path, evaluated from `nft -j list ruleset`.

nftables runs every base chain registered at the input hook, lowest priority first. In each chain the rules are
tried in order; `accept` ends that chain only (the packet goes on to the next base chain), `drop` / `reject` end the
packet everywhere; a chain that runs out of rules applies its policy. A packet is delivered only when every base
chain accepts it (nft(8) "VERDICT STATEMENT", wiki.nftables.org "Configuring chains": "an accept verdict ... the
packet will still be evaluated by the other base chains"; "drop ... is final").

`openings(ruleset, policy, zone)` sends probe packets through that path - one new connection from each zone of the
policy (and from outside every zone) to every port the policy names, every port the ruleset names and a canary port
nobody names - and returns each probe accepted that the policy does not allow: the (source zone, protocol/port)
that is open. Expressions this evaluator does not know make it conservative: an unknown match is taken to match an
`accept` rule and not to match a `drop` rule, and the finding says so.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.nftables_render import inbound_rules
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

__all__ = ["NftJsonError", "Opening", "Probe", "describe", "input_base_chains", "openings", "verdict"]

IPV4_FAMILIES = ("ip", "inet")
IPV6_FAMILIES = ("ip6", "inet")
OUTSIDE = "outside every zone"
OUTSIDE_V4 = ipaddress.ip_address("203.0.113.10")     # RFC 5737 TEST-NET-3: in no site's zone
OUTSIDE_V6 = ipaddress.ip_address("2001:db8::10")     # RFC 3849 documentation prefix
MAX_JUMP_DEPTH = 16
ACCEPT, DROP, END = "accept", "drop", "end"


class NftJsonError(ValueError):
    """The ruleset is not the JSON `nft -j list ruleset` prints; the message says what was unexpected."""


@dataclass(frozen=True)
class Probe:
    """A new connection from `saddr` (in `zone`) to `protocol`/`dport` of the host, arriving on a non-loopback link."""

    zone: str
    saddr: ipaddress.IPv4Address | ipaddress.IPv6Address
    protocol: str
    dport: int

    @property
    def family(self) -> str:
        return "ip6" if self.saddr.version == 6 else "ip"


@dataclass
class Opening:
    """A probe the input path accepts although the policy does not allow it."""

    zone: str
    protocol: str
    port: int
    source: str
    accepted_by: list[str]
    uncertain: list[str] = field(default_factory=list)
    canary: bool = False

    @property
    def port_label(self) -> str:
        return f"{self.protocol}/{self.port}" + (" (a port no rule names: not default-deny)" if self.canary else "")


def describe(found: list[Opening]) -> list[str]:
    """One line per source zone: 'from zone guest (10.10.40.1): tcp/443, tcp/8080 open, which the policy does not
    allow (tcp/443 accepted by ...; tcp/8080 accepted by ...)' - ports accepted the same way are named together."""
    zones: dict[str, list[Opening]] = {}
    for opening in found:
        zones.setdefault(opening.zone, []).append(opening)
    lines = []
    for zone, group in zones.items():
        paths: dict[tuple[str, ...], list[str]] = {}
        for opening in group:
            paths.setdefault(tuple(opening.accepted_by), []).append(f"{opening.protocol}/{opening.port}")
        how = "; ".join(f"{', '.join(ports) if len(paths) > 1 else 'accepted'}"
                        f"{' accepted' if len(paths) > 1 else ''} by {' then '.join(path)}"
                        for path, ports in paths.items())
        line = (f"from zone {zone} ({group[0].source}): {', '.join(o.port_label for o in group)} open, which the "
                f"policy does not allow ({how})")
        uncertain = sorted({u for o in group for u in o.uncertain})
        if uncertain:
            line += f" - assumed, the audit cannot evaluate: {'; '.join(uncertain)}"
        lines.append(line)
    return lines


# ------------------------------------------------------------------------------------------------ parsing
@dataclass
class Ruleset:
    chains: dict[tuple[str, str, str], dict]
    rules: dict[tuple[str, str, str], list[dict]]
    sets: dict[tuple[str, str, str], dict]


def parse(data) -> Ruleset:
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        raise NftJsonError("not the output of `nft -j list ruleset`: no top-level 'nftables' list")
    chains, rules, sets = {}, {}, {}
    for entry in data["nftables"]:
        if not isinstance(entry, dict):
            raise NftJsonError(f"unexpected entry {entry!r}")
        for kind, body in entry.items():
            if kind in ("chain", "rule", "set", "map") and not isinstance(body, dict):
                raise NftJsonError(f"{kind} entry is not an object: {body!r}")
            if kind == "chain":
                chains[_key(body, "name")] = body
            elif kind == "rule":
                rules.setdefault(_key(body, "chain"), []).append(body)
            elif kind in ("set", "map"):
                sets[_key(body, "name")] = body
    return Ruleset(chains, rules, sets)


def _key(body: dict, name_field: str) -> tuple[str, str, str]:
    try:
        return (str(body["family"]), str(body["table"]), str(body[name_field]))
    except KeyError as exc:
        raise NftJsonError(f"entry without {exc.args[0]!r}: {body!r}") from None


def input_base_chains(ruleset: Ruleset, families=IPV4_FAMILIES) -> list[tuple[str, str, str]]:
    """Base chains at the input hook of `families`, in the order nftables runs them (priority, lowest first)."""
    found = []
    for key, chain in ruleset.chains.items():
        if chain.get("hook") == "input" and key[0] in families:
            found.append((_priority(chain), key))
    return [key for _prio, key in sorted(found)]


def _priority(chain: dict) -> int:
    prio = chain.get("prio", 0)
    if isinstance(prio, int):
        return prio
    named = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
    if isinstance(prio, str) and prio in named:
        return named[prio]
    raise NftJsonError(f"chain {chain.get('name')!r}: unexpected priority {prio!r}")


# ------------------------------------------------------------------------------------------------ evaluation
class _Unknown(Exception):
    """An expression this evaluator does not model."""


@dataclass
class _Walk:
    ruleset: Ruleset
    probe: Probe
    uncertain: list[str] = field(default_factory=list)
    accepted_by: list[str] = field(default_factory=list)


def verdict(ruleset: Ruleset, probe: Probe) -> _Walk:
    """Walk the probe through every input base chain; `walk.accepted_by` is non-empty when it is delivered."""
    families = IPV6_FAMILIES if probe.saddr.version == 6 else IPV4_FAMILIES
    walk = _Walk(ruleset, probe)
    base = input_base_chains(ruleset, families)
    for key in base:
        result, where = _run_chain(walk, key, 0)
        if result == END:
            policy = ruleset.chains[key].get("policy", "accept")
            result, where = (DROP if policy == "drop" else ACCEPT), f"{_name(key)} policy {policy}"
        if result == DROP:
            walk.accepted_by = []
            return walk
        walk.accepted_by.append(where)
    if not base:
        walk.accepted_by.append("no base chain at the input hook (nothing filters)")
    return walk


def _name(key: tuple[str, str, str]) -> str:
    return f"{key[0]} {key[1]} {key[2]}"


def _rule_label(key, rule: dict) -> str:
    label = f"{_name(key)} rule {rule.get('handle', '?')}"
    return label + (f" ({rule['comment']})" if rule.get("comment") else "")


def _run_chain(walk: _Walk, key, depth: int) -> tuple[str, str]:
    if depth > MAX_JUMP_DEPTH:
        raise NftJsonError(f"jumps nested deeper than {MAX_JUMP_DEPTH} at {_name(key)}")
    for rule in walk.ruleset.rules.get(key, []):
        result = _run_rule(walk, key, rule, depth)
        if result is not None:
            return result
    return END, _name(key)


def _run_rule(walk: _Walk, key, rule: dict, depth: int) -> tuple[str, str] | None:
    """A verdict that ends the chain, or None to go on with the next rule."""
    label = _rule_label(key, rule)
    unknown: list[str] = []
    for stmt in rule.get("expr", []) or []:
        if not isinstance(stmt, dict) or len(stmt) != 1:
            raise NftJsonError(f"{label}: unexpected statement {stmt!r}")
        (kind, body), = stmt.items()
        if kind in ("accept", "drop", "reject", "jump", "goto", "return", "continue", "vmap", "queue"):
            verdict_kind, target = _verdict_of(walk, kind, body, label, unknown)
            if verdict_kind is None:
                return None
            return _apply(walk, key, verdict_kind, target, label, unknown, depth)
        try:
            if not _statement_passes(walk, kind, body, key):
                return None
        except _Unknown as exc:
            unknown.append(f"{label}: {exc}")
    return None   # no verdict in the rule: the packet goes on


def _verdict_of(walk: _Walk, kind: str, body, label: str, unknown: list[str]):
    if kind != "vmap":
        return kind, (body or {}).get("target") if isinstance(body, dict) else None
    try:
        value = _value(walk, body["key"])
        for element in _elements(body["data"], walk):
            if isinstance(element, list) and len(element) == 2 and _member(value, element[0], walk):
                (inner, inner_body), = element[1].items()
                return inner, (inner_body or {}).get("target") if isinstance(inner_body, dict) else None
    except (_Unknown, KeyError, AttributeError, ValueError) as exc:
        unknown.append(f"{label}: verdict map ({exc})")
        return "accept", None        # conservative: the map may accept
    return None, None


def _apply(walk: _Walk, key, kind: str, target, label: str, unknown: list[str], depth: int):
    # Conservative on what the evaluator cannot read: an accept is assumed to match, a drop is assumed not to.
    if kind in ("drop", "reject"):
        if unknown:
            walk.uncertain += unknown
            return None
        return DROP, label
    if kind in ("accept", "queue"):
        walk.uncertain += unknown
        if kind == "queue":
            walk.uncertain.append(f"{label}: queued to user space")
        return ACCEPT, label
    if kind in ("return",):
        return END, label
    if kind == "continue":
        return None
    if kind in ("jump", "goto"):
        walk.uncertain += unknown
        target_key = (key[0], key[1], str(target))
        if target_key not in walk.ruleset.chains:
            raise NftJsonError(f"{label}: {kind} to unknown chain {target!r}")
        result, where = _run_chain(walk, target_key, depth + 1)
        if result in (ACCEPT, DROP):
            return result, where
        return (END, where) if kind == "goto" else None
    raise NftJsonError(f"{label}: unexpected verdict {kind!r}")


def _statement_passes(walk: _Walk, kind: str, body, key) -> bool:
    if kind == "match":
        return _match(walk, body)
    if kind in ("counter", "log", "comment", "mangle", "notrack", "meta", "ct", "xt_comment", "quota"):
        if kind == "quota" and isinstance(body, dict) and body.get("inv"):
            raise _Unknown("quota over")
        return True                      # no effect on the verdict of a first packet
    if kind == "limit":
        return not (isinstance(body, dict) and body.get("inv"))   # `limit rate over` is false for one packet
    if kind in ("set", "meter"):
        inner = (body or {}).get("stmt", []) if isinstance(body, dict) else []
        return all(not (isinstance(s, dict) and "limit" in s and (s["limit"] or {}).get("inv")) for s in inner)
    raise _Unknown(f"statement {kind!r}")


def _match(walk: _Walk, body: dict) -> bool:
    try:
        op, left, right = body.get("op", "=="), body["left"], body["right"]
    except (KeyError, AttributeError):
        raise NftJsonError(f"match without left/right: {body!r}") from None
    value = _value(walk, left)
    if value is _ABSENT:
        return op == "!="     # `tcp dport != 22` on a UDP packet: the implicit `meta l4proto tcp` fails too
        # (nft adds the protocol dependency to the rule; an absent header never matches)
    if op in ("==", "in"):
        return _member(value, right, walk)
    if op == "!=":
        return not _member(value, right, walk)
    if op in ("<", ">", "<=", ">=") and isinstance(value, int) and isinstance(right, int):
        return {"<": value < right, ">": value > right, "<=": value <= right, ">=": value >= right}[op]
    raise _Unknown(f"operator {op!r}")


_ABSENT = object()


def _value(walk: _Walk, expr):
    probe = walk.probe
    if not isinstance(expr, dict) or len(expr) != 1:
        raise _Unknown(f"expression {expr!r}")
    (kind, body), = expr.items()
    if kind == "payload" and isinstance(body, dict):
        protocol, fld = body.get("protocol"), body.get("field")
        if protocol in ("tcp", "udp", "th"):
            if protocol != "th" and protocol != probe.protocol:
                return _ABSENT
            if fld == "dport":
                return probe.dport
            if fld == "sport":
                return 40000     # an ephemeral source port
            raise _Unknown(f"{protocol} {fld}")
        if protocol in ("ip", "ip6"):
            if protocol != probe.family:
                return _ABSENT
            if fld == "saddr":
                return probe.saddr
            if fld in ("protocol", "nexthdr"):
                return probe.protocol
            raise _Unknown(f"{protocol} {fld}")
        if protocol in ("icmp", "icmpv6", "sctp", "dccp", "esp", "ah", "udplite", "igmp"):
            return _ABSENT
        raise _Unknown(f"payload {protocol} {fld}")
    if kind == "meta" and isinstance(body, dict):
        meta = body.get("key")
        if meta in ("iifname", "iif"):
            return "eth0"
        if meta == "l4proto":
            return probe.protocol
        if meta == "nfproto":
            return "ipv6" if probe.family == "ip6" else "ipv4"
        if meta == "protocol":
            return probe.family
        if meta == "pkttype":
            return "host"
        raise _Unknown(f"meta {meta}")
    if kind == "ct" and isinstance(body, dict):
        if body.get("key") == "state":
            return "new"
        if body.get("key") == "status":
            return ""
        raise _Unknown(f"ct {body.get('key')}")
    raise _Unknown(f"{kind} expression")


def _member(value, right, walk: _Walk) -> bool:
    if isinstance(right, str) and right.startswith("@"):
        return any(_member(value, element, walk) for element in _named_set(walk, right[1:]))
    if isinstance(right, dict) and "set" in right:
        return any(_member(value, element, walk) for element in _elements(right, walk))
    if isinstance(right, list):              # also flags: `ct state established,related` is ["established", ...]
        return any(_member(value, element, walk) for element in right)
    if isinstance(right, dict) and "elem" in right:
        return _member(value, right["elem"].get("val"), walk)
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        return _compare(value, low) >= 0 and _compare(value, high) <= 0
    if isinstance(right, dict) and "prefix" in right:
        if not isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return False
        network = ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}", strict=False)
        return value in network
    if isinstance(right, (int, str)):
        return _compare(value, right) == 0
    raise _Unknown(f"right-hand side {right!r}")


def _compare(value, other) -> int:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        try:
            other = ipaddress.ip_address(other)
        except ValueError:
            return 1
        if other.version != value.version:
            return 1
        return (value > other) - (value < other)
    if isinstance(value, int) and isinstance(other, int):
        return (value > other) - (value < other)
    if isinstance(value, int) and isinstance(other, str):
        return 1       # a service name nft could not map: no match
    return 0 if value == other else 1


def _elements(right, walk: _Walk) -> list:
    items = right.get("set") if isinstance(right, dict) else right
    return items if isinstance(items, list) else [items]


def _named_set(walk: _Walk, name: str) -> list:
    probe_families = IPV6_FAMILIES if walk.probe.saddr.version == 6 else IPV4_FAMILIES
    for (family, _table, set_name), body in walk.ruleset.sets.items():
        if set_name == name and family in probe_families:
            return list(body.get("elem", []) or [])
    raise _Unknown(f"set @{name} not in the listing")


# ------------------------------------------------------------------------------------------------ probes
def _policy_ports(policy: SitePolicy) -> set[tuple[str, int]]:
    """Both ends of every port range of the policy's TCP / UDP services."""
    ports = set()
    for service in policy.services().values():
        if service.protocol not in ("tcp", "udp"):
            continue
        for low, high in service.ports:
            ports |= {(service.protocol, low), (service.protocol, high)}
    return ports


def _ruleset_literals(ruleset: Ruleset) -> tuple[set[int], set]:
    """Every port number and every address the rules (and named sets) compare with."""
    ports, addresses = set(), set()

    def visit(node, port_context=False):
        if isinstance(node, dict):
            if "match" in node and isinstance(node["match"], dict):
                left = node["match"].get("left", {})
                field_name = (left.get("payload") or {}).get("field") if isinstance(left, dict) else None
                visit(node["match"].get("right"), field_name in ("dport", "sport"))
                return
            if "prefix" in node and isinstance(node["prefix"], dict):
                visit(node["prefix"].get("addr"))
            for value in node.values():
                visit(value, port_context)
        elif isinstance(node, list):
            for value in node:
                visit(value, port_context)
        elif isinstance(node, int) and not isinstance(node, bool) and port_context and 0 < node < 65536:
            ports.add(node)
        elif isinstance(node, str):
            with contextlib.suppress(ValueError):
                addresses.add(ipaddress.ip_address(node))

    for rules in ruleset.rules.values():
        visit([r.get("expr", []) for r in rules])
    for body in ruleset.sets.values():
        visit(body.get("elem", []))
    return ports, addresses


def probes(ruleset: Ruleset, policy: SitePolicy) -> tuple[list[Probe], int]:
    """The probe packets, and the canary port (named by no rule and no service) among them."""
    ports, addresses = _ruleset_literals(ruleset)
    targets = _policy_ports(policy) | {(proto, port) for port in ports for proto in ("tcp", "udp")}
    used = {port for _proto, port in targets}
    canary = next(port for port in (9, 7, 13, 37, 65001) if port not in used)
    targets |= {("tcp", canary), ("udp", canary)}
    sources: list[tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address]] = []
    for zone in policy.zones:
        network = ipaddress.ip_network(zone.subnet, strict=False)
        inside = {network.network_address + 1, network.broadcast_address - 1} if network.num_addresses > 2 \
            else {network.network_address}
        inside |= {address for address in addresses if address.version == 4 and address in network
                   and address not in (network.network_address, network.broadcast_address)}
        sources += [(zone.name, address) for address in sorted(inside)]
    sources += [(OUTSIDE, OUTSIDE_V4), (OUTSIDE, OUTSIDE_V6)]
    return [Probe(zone, address, proto, port) for zone, address in sources for proto, port in sorted(targets)], canary


def _allowed(policy: SitePolicy, zone: str) -> list[tuple[str, str, int, int]]:
    return [(rule.zone, rule.protocol, rule.port_lo, rule.port_hi) for rule in inbound_rules(policy, zone)]


def openings(data, policy: SitePolicy, zone: str) -> list[Opening]:
    """Every (source zone, protocol/port) the input path of a host in `zone` accepts and the policy does not allow.

    One Opening per (zone, protocol, port): the first source address that got through is named."""
    ruleset = parse(data)
    allowed = _allowed(policy, zone)
    found: dict[tuple[str, str, int], Opening] = {}
    probe_list, canary = probes(ruleset, policy)
    for probe in probe_list:
        if any(z == probe.zone and proto == probe.protocol and lo <= probe.dport <= hi for z, proto, lo, hi in allowed):
            continue
        if (probe.zone, probe.protocol, probe.dport) in found:
            continue
        walk = verdict(ruleset, probe)
        if walk.accepted_by:
            found[(probe.zone, probe.protocol, probe.dport)] = Opening(
                probe.zone, probe.protocol, probe.dport, str(probe.saddr), walk.accepted_by, walk.uncertain,
                canary=probe.dport == canary)
    return list(found.values())
