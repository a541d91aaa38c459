# -*- coding: utf-8 -*-
"""The site policy: one declarative file per site that every role compiles from.

`load_site_policy(path)` reads the YAML, checks it against the versioned JSON Schema, then runs the semantic checks a
schema cannot express (overlapping subnets, unknown zones in flows, windows that do not parse …). It collects every
problem before raising, and each problem names the file, the key path, the offending value and, where known, the line.

What it returns is a `SitePolicy`: frozen dataclasses (zones, services, flows, devices, network, wireless, people
...) with the look-ups every renderer and compliance check uses - `device(name)`, `zone(name)`, `services()`,
`flows_between(src, dst)` (on the one `any` expansion, `expanded_flows()`), `secret_vars(kind)`. docs/architecture.md
draws the model and follows one value from the file to a device line.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

try:
    import jsonschema
    import yaml
except ImportError as exc:  # pragma: no cover - reported by the module / CLI that imports us
    raise ImportError(f"the site policy needs PyYAML and jsonschema on the controller: {exc}") from exc

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy_schema import (
    AI_AGENT_PLACEHOLDERS,
    CLI_SAFE_DESCRIPTIONS,
    SCHEMA,
    SCHEMA_VERSION,
    SUPPORTED_PLATFORMS,
)

__all__ = [
    "RESERVED_VLANS",
    "SCHEMA_VERSION",
    "SUPPORTED_PLATFORMS",
    "AiAgent",
    "AiCanaries",
    "Device",
    "Flow",
    "FlowRule",
    "PolicyError",
    "PolicyIssue",
    "Service",
    "SitePolicy",
    "UnknownName",
    "Voice",
    "Zone",
    "expand_flows",
    "load_site_policy",
    "parse_duration",
    "parse_port_range",
    "service_port_ranges",
    "site_policy_from_data",
    "summarize",
    "unchecked_site_policy",
    "validate_site_policy",
]

DEFAULT_VLAN = 1
# The VLANs no zone, blackhole or native VLAN may use and no switch port is moved off: the default VLAN and the
# four VLANs Cisco reserves, 1002-1005 ("fddi-default" ...). The one place this set is written.
RESERVED_VLANS = frozenset({DEFAULT_VLAN, 1002, 1003, 1004, 1005})
CISCO_RESERVED_VLANS = RESERVED_VLANS - {DEFAULT_VLAN}  # VLAN 1 is refused by the schema (minimum 2) already
SWITCH_PLATFORMS = frozenset({"cisco_ios"})
FLOW_TARGETS = frozenset({"any", "internet"})


# --------------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyIssue:
    """One problem in a policy file: where it is, what was found, what is wrong."""

    file: str
    path: str
    value: Any
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = self.path or "(top level)"
        return f"{where}: {key} = {_show(self.value)}: {self.message}"


class PolicyError(Exception):
    """The policy is refused; `.errors` lists every problem found (not only the first)."""

    def __init__(self, errors: list[PolicyIssue]):
        self.errors = errors
        count = len(errors)
        lines = "\n".join(f"  - {err}" for err in errors)
        super().__init__(f"site policy refused: {count} problem{'s' if count != 1 else ''}\n{lines}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------------------------------------------
# Loading with line numbers
# --------------------------------------------------------------------------------------------------------------------
class _Missing:
    """Marks "this key path does not exist" (distinct from a YAML null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def _line_index(node: yaml.Node, path: tuple = (), index: dict | None = None) -> dict[tuple, int]:
    """Map every key path of a composed YAML tree to its 1-based line."""
    index = {} if index is None else index
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            _line_index(value_node, child, index)
            index[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _line_index(item, path + (position,), index)
    return index


# libyaml's loader is ~10x faster on a 1,000-device policy; both are safe loaders.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: str) -> tuple[Any, dict[tuple, int]]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError([PolicyIssue(path, "", MISSING, f"cannot read the policy file: {exc.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when available)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PolicyError([PolicyIssue(path, "", MISSING, f"not valid YAML: {exc}", line)]) from None
    return data, (_line_index(node) if node is not None else {})


def format_path(parts: Iterable) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --------------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------------
class _Collector:
    """Gathers issues for one file, attaching line numbers from the YAML index."""

    def __init__(self, file: str, lines: dict[tuple, int]):
        self.file = file
        self.lines = lines
        self.issues: list[PolicyIssue] = []

    def add(self, path: tuple, value: Any, message: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line:
                break
        self.issues.append(PolicyIssue(self.file, format_path(path), value, message, line))


def load_site_policy(path: str) -> SitePolicy:
    """Read and validate the site policy at `path` and build its model; raise PolicyError listing every problem."""
    data, lines = _read_yaml(str(path))
    return site_policy_from_data(data, str(path), lines)


def validate_site_policy(data: Any, file: str = "<policy>", lines: dict[tuple, int] | None = None) -> None:
    """Raise PolicyError with every schema and semantic problem of `data`."""
    report = _Collector(file, lines or {})
    if not isinstance(data, dict):
        report.add((), data, "the policy must be a mapping of keys (site, zones, services, flows, devices …)")
        raise PolicyError(report.issues)
    _check_schema(data, report)
    for check in SEMANTIC_CHECKS:
        check(data, report)
    if report.issues:
        report.issues.sort(key=lambda issue: (issue.line or 0, issue.path))
        raise PolicyError(report.issues)


def _check_schema(data: dict, report: _Collector) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for error in validator.iter_errors(data):
        for leaf in _leaf_errors(error):
            for path, value, message in _explain(leaf):
                report.add(path, value, message)


def _leaf_errors(error):
    """Descend into oneOf/anyOf so the message speaks of the concrete problem."""
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        yield from _leaf_errors(best) if best is not None else [error]
    else:
        yield error


VLAN_KEYS = frozenset({"vlan", "blackhole_vlan", "native_vlan"})


def _explain(error) -> list[tuple[tuple, Any, str]]:
    """Turn one jsonschema error into (key path, offending value, actionable message) triples."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [(path + (key,), MISSING, "is required here")
                for key in error.validator_value if key not in instance]
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        known = set(error.schema.get("properties", {}))
        return [(path + (key,), value, f"unknown key; allowed keys here: {allowed}")
                for key, value in error.instance.items() if key not in known]
    if error.validator == "pattern":
        return [(path, error.instance,
                 CLI_SAFE_DESCRIPTIONS.get(error.validator_value, f"must match {error.validator_value}"))]
    if error.validator in ("minimum", "maximum") and path and path[-1] in VLAN_KEYS:
        return [(path, error.instance, "VLAN ids run from 2 to 4094 (VLAN 1, the default VLAN, may not be used)")]
    if error.validator == "enum":
        return [(path, error.instance, f"must be one of: {', '.join(map(str, error.validator_value))}")]
    if error.validator == "const" and path and path[-1] == "schema_version":
        return [(path, error.instance, f"this toolkit reads schema_version {SCHEMA_VERSION}")]
    return [(path, error.instance if path else MISSING, error.message)]


def _items(data: dict, key: str) -> list[tuple[int, dict]]:
    """The well-formed entries of a list section (malformed ones were already reported by the schema)."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(pos, item) for pos, item in enumerate(value) if isinstance(item, dict)]


def _duplicates(entries: Iterable[tuple[tuple, Any]], what: str, report: _Collector) -> None:
    seen: dict[Any, tuple] = {}
    for path, key in entries:
        if key in seen:
            report.add(path, key, f"duplicate {what}: already used at {format_path(seen[key])}")
        else:
            seen[key] = path


def _check_site(data: dict, report: _Collector) -> None:
    site = data.get("site")
    if isinstance(site, dict) and isinstance(site.get("timezone"), str):
        _check_timezone(("site", "timezone"), site["timezone"], report)


def _check_timezone(path: tuple, name: str, report: _Collector) -> None:
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report.add(path, name, "unknown timezone: use an IANA name such as Europe/Berlin or America/Chicago")


def _zone_networks(data: dict) -> dict[str, ipaddress.IPv4Network]:
    networks = {}
    for _, zone in _items(data, "zones"):
        try:
            networks[zone["name"]] = ipaddress.IPv4Network(zone["subnet"], strict=True)
        except (KeyError, TypeError, ValueError):
            continue
    return networks


def _check_zones(data: dict, report: _Collector) -> None:
    zones = _items(data, "zones")
    _duplicates(((("zones", pos, "name"), z.get("name")) for pos, z in zones if "name" in z), "zone name", report)
    _duplicates(((("zones", pos, "vlan"), z.get("vlan")) for pos, z in zones if "vlan" in z), "VLAN id", report)
    networks: list[tuple[int, ipaddress.IPv4Network]] = []
    for pos, zone in zones:
        vlan = zone.get("vlan")
        if isinstance(vlan, int) and vlan in CISCO_RESERVED_VLANS:
            report.add(("zones", pos, "vlan"), vlan,
                       "VLANs 1002-1005 are reserved on Cisco switches and may not carry a zone")
        network = _check_subnet(pos, zone, report)
        if network is not None:
            networks.append((pos, network))
    for index, (pos, network) in enumerate(networks):
        for other_pos, other in networks[:index]:
            if network.overlaps(other):
                report.add(("zones", pos, "subnet"), str(network),
                           f"overlaps zones[{other_pos}].subnet {other} - every zone needs its own subnet")


def _check_subnet(pos: int, zone: dict, report: _Collector) -> ipaddress.IPv4Network | None:
    subnet = zone.get("subnet")
    if not isinstance(subnet, str):
        return None
    try:
        network = ipaddress.IPv4Network(subnet, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f" (did you mean {ipaddress.IPv4Network(subnet, strict=False)}?)"
        report.add(("zones", pos, "subnet"), subnet, f"not a valid IPv4 subnet: {exc}{hint}")
        return None
    if network.prefixlen > 30:
        report.add(("zones", pos, "subnet"), subnet, "too small for a zone: use a /30 or larger")
    gateway = zone.get("gateway")
    if isinstance(gateway, str):
        _check_host_address(("zones", pos, "gateway"), gateway, network, report)
    return network


def _check_host_address(path: tuple, value: str, network: ipaddress.IPv4Network, report: _Collector) -> None:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        report.add(path, value, "not a valid IPv4 address")
        return
    if address not in network:
        report.add(path, value, f"not inside the zone's subnet {network}")
    elif address in (network.network_address, network.broadcast_address):
        report.add(path, value, f"is the network or broadcast address of {network}, not a usable host address")


def _check_network(data: dict, report: _Collector) -> None:
    network = data.get("network")
    if not isinstance(network, dict):
        return
    zone_vlans = {z.get("vlan") for _, z in _items(data, "zones")}
    for key in ("blackhole_vlan", "native_vlan"):
        vlan = network.get(key)
        if not isinstance(vlan, int):
            continue
        if vlan in CISCO_RESERVED_VLANS:
            report.add(("network", key), vlan, "VLANs 1002-1005 are reserved on Cisco switches")
        elif vlan in zone_vlans:
            report.add(("network", key), vlan, "already carries a zone; it must be a VLAN no zone uses")
    if network.get("blackhole_vlan") is not None and network.get("blackhole_vlan") == network.get("native_vlan"):
        report.add(("network", "native_vlan"), network["native_vlan"], "must differ from network.blackhole_vlan")
    for key in ("ntp_servers", "dns_servers", "logging_hosts"):
        for pos, value in enumerate(network.get(key) or []):
            if isinstance(value, str):
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    report.add(("network", key, pos), value, "must be an IP address")


def _check_snmp(data: dict, report: _Collector) -> None:
    snmp = (data.get("network") or {}).get("snmp")
    if not isinstance(snmp, dict):
        return
    users = [(pos, u) for pos, u in enumerate(snmp.get("users") or []) if isinstance(u, dict)]
    _duplicates(((("network", "snmp", "users", pos, "name"), u.get("name")) for pos, u in users if "name" in u),
                "SNMP user", report)
    for pos, user in users:
        if user.get("auth_key_var") is not None and user.get("auth_key_var") == user.get("priv_key_var"):
            report.add(("network", "snmp", "users", pos, "priv_key_var"), user["priv_key_var"],
                       "must differ from auth_key_var: a separate privacy key")
    if not any(z.get("purpose") == "mgmt" for _, z in _items(data, "zones")):
        report.add(("network", "snmp"), snmp.get("group"), "SNMP is allowed only from the mgmt zone: add a zone "
                   "with purpose mgmt")


def _check_l3_switch(data: dict, report: _Collector) -> None:
    name = (data.get("network") or {}).get("l3_switch")
    if not isinstance(name, str):
        return
    devices = {d.get("name"): d for _, d in _items(data, "devices")}
    if name not in devices:
        report.add(("network", "l3_switch"), name, "not a device of this policy")
    elif devices[name].get("platform") not in SWITCH_PLATFORMS:
        report.add(("network", "l3_switch"), name, f"is a {devices[name].get('platform')}, not a switch")
    gateways = {z.get("gateway"): z.get("name") for _, z in _items(data, "zones")}
    for pos, device in _items(data, "devices"):
        if device.get("address") in gateways:
            report.add(("devices", pos, "address"), device["address"],
                       f"is the gateway of zone {gateways[device['address']]} (the SVI address on {name})")


def _port_range(value: Any) -> tuple[int, int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,5})-(\d{1,5})", value)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def _check_services(data: dict, report: _Collector) -> None:
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        for pos, port in enumerate(service.get("ports") or []):
            bounds = _port_range(port)
            if bounds is None:
                continue  # the schema reported the shape
            low, high = bounds
            path = ("services", name, "ports", pos)
            if not (1 <= low <= 65535 and 1 <= high <= 65535):
                report.add(path, port, "ports must be between 1 and 65535")
            elif low > high:
                report.add(path, port, f"range is reversed: write {high}-{low}")


def _check_flows(data: dict, report: _Collector) -> None:
    zones = {z.get("name") for _, z in _items(data, "zones")}
    services = set(data.get("services") or {}) if isinstance(data.get("services"), dict) else set()
    seen: dict[tuple, int] = {}
    for pos, flow in _items(data, "flows"):
        src, dst, service = flow.get("from"), flow.get("to"), flow.get("service")
        if isinstance(src, str) and src not in zones:
            report.add(("flows", pos, "from"), src, f"unknown zone; known zones: {', '.join(sorted(map(str, zones)))}")
        if isinstance(dst, str) and dst not in zones and dst not in FLOW_TARGETS:
            report.add(("flows", pos, "to"), dst,
                       f"unknown zone; use a zone ({', '.join(sorted(map(str, zones)))}), 'any' or 'internet'")
        if isinstance(service, str) and service not in services:
            report.add(("flows", pos, "service"), service,
                       f"unknown service; known services: {', '.join(sorted(services))}")
        key = (src, dst, service)
        if key in seen:
            report.add(("flows", pos), flow, f"the same flow is already listed as flows[{seen[key]}]")
        else:
            seen[key] = pos


def _check_devices(data: dict, report: _Collector) -> None:
    devices = _items(data, "devices")
    zones = {z.get("name") for _, z in _items(data, "zones")}
    networks = _zone_networks(data)
    _duplicates(((("devices", pos, "name"), d.get("name")) for pos, d in devices if "name" in d), "device name",
                report)
    switches = {d.get("name") for _, d in devices if d.get("platform") in SWITCH_PLATFORMS}
    ports_in_use: dict[tuple, tuple] = {}
    for pos, device in devices:
        for key in ("zone", "data_zone"):
            zone = device.get(key)
            if isinstance(zone, str) and zone not in zones:
                report.add(("devices", pos, key), zone, f"unknown zone; known zones: {', '.join(sorted(zones))}")
        address = device.get("address")
        if isinstance(address, str) and device.get("zone") in networks:
            _check_host_address(("devices", pos, "address"), address, networks[device["zone"]], report)
        for key in ("switch_port", "uplink"):
            port = device.get(key)
            if not isinstance(port, dict):
                continue
            switch = port.get("switch")
            if isinstance(switch, str) and switch not in switches:
                report.add(("devices", pos, key, "switch"), switch,
                           f"not a switch of this policy; switches: {', '.join(sorted(switches)) or 'none'}")
            where = (switch, port.get("interface"))
            if where in ports_in_use:
                report.add(("devices", pos, key, "interface"), port.get("interface"),
                           f"port already used by {format_path(ports_in_use[where])}")
            else:
                ports_in_use[where] = ("devices", pos)
    for pos, device in devices:  # an uplink's own port on this switch: after every device's port is known
        local = (device.get("uplink") or {}).get("local_interface") if isinstance(device.get("uplink"), dict) \
            else None
        if local is not None:
            where = (device.get("name"), local)
            if where in ports_in_use:
                report.add(("devices", pos, "uplink", "local_interface"), local,
                           f"port already used by {format_path(ports_in_use[where])}")
            ports_in_use[where] = ("devices", pos, "uplink")


def _check_firmware(data: dict, report: _Collector) -> None:
    baselines = _items(data, "firmware_baselines")
    _duplicates(((("firmware_baselines", pos), (b.get("platform"), b.get("model"))) for pos, b in baselines),
                "baseline for this platform and model", report)


DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str) -> datetime.timedelta:
    """'90d', '3h', '1h30m', '12w', '1y' -> timedelta; ValueError otherwise."""
    parts = re.findall(r"(\d+)([mhdwy])", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"cannot read duration {text!r}: write e.g. 90d, 12w, 3h or 1h30m")
    return datetime.timedelta(seconds=sum(int(n) * DURATION_UNITS[u] for n, u in parts))


def _check_maintenance(data: dict, report: _Collector) -> None:
    maintenance = data.get("maintenance")
    if not isinstance(maintenance, dict):
        return
    windows = [(pos, w) for pos, w in enumerate(maintenance.get("windows") or []) if isinstance(w, dict)]
    _duplicates(((("maintenance", "windows", pos, "name"), w.get("name")) for pos, w in windows if "name" in w),
                "window name", report)
    for pos, window in windows:
        path = ("maintenance", "windows", pos)
        if "daily" in (window.get("days") or []) and len(window["days"]) > 1:
            report.add(path + ("days",), window["days"], "'daily' stands alone: it already means every day")
        start = window.get("start")
        if isinstance(start, str):
            try:
                datetime.time.fromisoformat(start)
            except ValueError:
                report.add(path + ("start",), start, "not a time of day: write HH:MM, 24-hour clock")
        duration = window.get("duration")
        if isinstance(duration, str):
            try:
                length = parse_duration(duration)
            except ValueError as exc:
                report.add(path + ("duration",), duration, str(exc))
            else:
                if not datetime.timedelta(minutes=15) <= length <= datetime.timedelta(hours=24):
                    report.add(path + ("duration",), duration, "a window lasts from 15 minutes to 24 hours")
    for pos, day in enumerate(maintenance.get("blackout_dates") or []):
        if isinstance(day, str):
            try:
                datetime.date.fromisoformat(day)
            except ValueError:
                report.add(("maintenance", "blackout_dates", pos), day, "not a date: write YYYY-MM-DD")


def _check_retention(data: dict, report: _Collector) -> None:
    retention = data.get("retention")
    if not isinstance(retention, dict):
        return
    for data_class, value in retention.items():
        if isinstance(value, str):
            try:
                if parse_duration(value) < datetime.timedelta(days=1):
                    report.add(("retention", data_class), value, "retention is counted in days: at least 1d")
            except ValueError as exc:
                report.add(("retention", data_class), value, str(exc))


def _check_people(data: dict, report: _Collector) -> None:
    people = _items(data, "people")
    _duplicates(((("people", pos, "username"), p.get("username")) for pos, p in people if "username" in p),
                "username", report)
    automation = (data.get("automation") or {}).get("account") if isinstance(data.get("automation"), dict) else None
    for pos, person in people:
        if automation and person.get("username") == automation:
            report.add(("people", pos, "username"), automation,
                       "is the automation account; people and the automation account must be different accounts")


def _check_wireless(data: dict, report: _Collector) -> None:
    wireless = data.get("wireless")
    if not isinstance(wireless, dict):
        return
    zones = {z.get("name") for _, z in _items(data, "zones")}
    ssids = [(pos, s) for pos, s in enumerate(wireless.get("ssids") or []) if isinstance(s, dict)]
    _duplicates(((("wireless", "ssids", pos, "name"), s.get("name")) for pos, s in ssids if "name" in s), "SSID",
                report)
    for pos, ssid in ssids:
        path = ("wireless", "ssids", pos)
        if isinstance(ssid.get("zone"), str) and ssid["zone"] not in zones:
            report.add(path + ("zone",), ssid["zone"], f"unknown zone; known zones: {', '.join(sorted(zones))}")
        if isinstance(ssid.get("name"), str) and len(ssid["name"].encode()) > 32:
            report.add(path + ("name",), ssid["name"], "an SSID is at most 32 bytes")
        if ssid.get("security") == "wpa3-enterprise" and not wireless.get("radius_servers"):
            report.add(path + ("security",), "wpa3-enterprise", "needs wireless.radius_servers")
        if ssid.get("security") == "wpa3-personal" and not ssid.get("psk_var"):
            report.add(path, ssid.get("name"), "wpa3-personal needs psk_var: the vault variable holding the passphrase")
    _check_c9800_radius(data, wireless, ssids, report)


def _check_c9800_radius(data: dict, wireless: dict, ssids: list, report: _Collector) -> None:
    """A Catalyst 9800 takes its RADIUS server as `address ipv4 <address>`: a host name cannot be rendered."""
    enterprise = any(s.get("security") == "wpa3-enterprise" for _, s in ssids)
    wlc = any(d.get("platform") == "cisco_wlc9800" for _, d in _items(data, "devices"))
    servers = wireless.get("radius_servers") or []
    if not (enterprise and wlc and servers and isinstance(servers[0], dict)):
        return
    try:
        ipaddress.IPv4Address(str(servers[0].get("host")))
    except ValueError:
        report.add(("wireless", "radius_servers", 0, "host"), servers[0].get("host"),
                   "must be an IPv4 address: the site has a Catalyst 9800 WLC (radius server ... address ipv4)")


AI_AGENT_DEFAULT_INTERVAL = "90d"
PLACEHOLDER_RE = re.compile(r"\$([A-Z][A-Z_]*)")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _template_strings(value: Any, path: tuple) -> Iterable[tuple[tuple, Any]]:
    """Every leaf of a request template with its key path (keys included: a placeholder may not be a key)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), key
            yield from _template_strings(item, path + (key,))
    elif isinstance(value, list):
        for pos, item in enumerate(value):
            yield from _template_strings(item, path + (pos,))
    else:
        yield path, value


def _check_ai_agent(data: dict, report: _Collector) -> None:
    agent = data.get("ai_agent")
    if not isinstance(agent, dict):
        return
    template = agent.get("request_template")
    if isinstance(template, dict):
        found = set()
        for path, leaf in _template_strings(template, ("ai_agent", "request_template")):
            if leaf is not None and not isinstance(leaf, (str, int, float, bool)):
                report.add(path, leaf, "a request template holds JSON values only (text, numbers, true/false, "
                                       "null, lists, mappings)")
                continue
            if not isinstance(leaf, str):
                continue
            for name in PLACEHOLDER_RE.findall(leaf):
                if name == "KEY":
                    report.add(path, leaf, "the token never goes in the request body: name its header in "
                                           "ai_agent.auth (header, scheme)")
                elif name not in AI_AGENT_PLACEHOLDERS:
                    report.add(path, leaf, f"unknown placeholder ${name}; use "
                                           + ", ".join(f"${p}" for p in AI_AGENT_PLACEHOLDERS))
                else:
                    found.add(name)
        if "INPUT" not in found:
            report.add(("ai_agent", "request_template"), template,
                       "the template needs $INPUT where the caller's utterance goes")
    pattern = (agent.get("allow_lists") or {}).get("callback_number")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            report.add(("ai_agent", "allow_lists", "callback_number"), pattern,
                       f"not a regular expression ({exc}); e.g. ^[0-9()+ -]{{7,20}}$")
    canaries = agent.get("canaries") or {}
    card = canaries.get("card_number")
    if isinstance(card, str) and not 12 <= len(re.sub(r"[^0-9]", "", card)) <= 19:
        report.add(("ai_agent", "canaries", "card_number"), card, "a card number has 12 to 19 digits")
    values = [str(v).lower() for v in canaries.values() if isinstance(v, str)]
    if len(set(values)) != len(values):
        report.add(("ai_agent", "canaries"), canaries, "each canary must be a distinct value")
    interval = agent.get("evidence_interval")
    if isinstance(interval, str):
        try:
            if parse_duration(interval) < datetime.timedelta(days=1):
                report.add(("ai_agent", "evidence_interval"), interval, "counted in days: at least 1d")
        except ValueError as exc:
            report.add(("ai_agent", "evidence_interval"), interval, str(exc))
    url = agent.get("url")
    if isinstance(url, str) and url.startswith("http://") and isinstance(agent.get("auth"), dict):
        host = url[len("http://"):].split("/", 1)[0].rsplit(":", 1)[0]
        if host not in LOOPBACK_HOSTS:
            report.add(("ai_agent", "url"), url, "the agent's token would cross the network in clear text: use "
                                                 "https:// (plain http only to a loopback address)")
SIP_TLS_PORT = 5061


def _check_voice(data: dict, report: _Collector) -> None:
    """The voice edge: its host, its services (SIP over TLS on 5061, one RTP range), addresses, names."""
    voice = data.get("voice")
    if not isinstance(voice, dict):
        return
    devices = {d.get("name"): d for _, d in _items(data, "devices")}
    edge = voice.get("edge")
    if isinstance(edge, str):
        if edge not in devices:
            report.add(("voice", "edge"), edge, "not a device of this policy: name the linux host that runs the edge")
        elif devices[edge].get("platform") != "linux":
            report.add(("voice", "edge"), edge, f"is a {devices[edge].get('platform')}, the edge runs on a linux host")
    services = data.get("services") if isinstance(data.get("services"), dict) else {}
    _check_voice_service(voice, services, "signalling_service", "tcp", report)
    _check_voice_service(voice, services, "media_service", "udp", report)
    edge_zone = (devices.get(edge) or {}).get("zone") if isinstance(edge, str) else None
    signalling = voice.get("signalling_service")
    if edge_zone and isinstance(signalling, str) and signalling in services and not any(
            f.get("service") == signalling and f.get("to") in (edge_zone, "any") for _, f in _items(data, "flows")):
        report.add(("voice", "signalling_service"), signalling,
                   f"no flow allows it to the edge's zone {edge_zone}: add one (from the phones' zone) to flows")
    agent = voice.get("agent")
    if isinstance(agent, dict) and isinstance(agent.get("address"), str):
        _check_ipv4(("voice", "agent", "address"), agent["address"], report)
    trunks = [(pos, t) for pos, t in enumerate(voice.get("trunks") or []) if isinstance(t, dict)]
    _duplicates(((("voice", "trunks", pos, "name"), t.get("name")) for pos, t in trunks if "name" in t),
                "trunk name", report)
    for pos, trunk in trunks:
        if isinstance(trunk.get("address"), str):
            _check_ipv4(("voice", "trunks", pos, "address"), trunk["address"], report)
    users = [(pos, u) for pos, u in enumerate(voice.get("users") or []) if isinstance(u, dict)]
    _duplicates(((("voice", "users", pos, "username"), u.get("username")) for pos, u in users if "username" in u),
                "SIP user", report)
    extensions = set((agent or {}).get("extensions") or []) if isinstance(agent, dict) else set()
    for pos, user in users:
        if user.get("username") in extensions:
            report.add(("voice", "users", pos, "username"), user["username"],
                       "is also one of voice.agent.extensions: a user and the agent cannot share a number")


def _check_ipv4(path: tuple, value: str, report: _Collector) -> None:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        report.add(path, value, "must be an IPv4 address")
        return
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        report.add(path, value, "must be a unicast host address (not 0.0.0.0, loopback or multicast)")


def _check_voice_service(voice: dict, services: dict, key: str, protocol: str, report: _Collector) -> None:
    name = voice.get(key)
    if not isinstance(name, str):
        return
    service = services.get(name)
    if not isinstance(service, dict):
        report.add(("voice", key), name, f"unknown service; known services: {', '.join(sorted(services))}")
        return
    ports = [_port_range(port) for port in service.get("ports") or []]
    if service.get("protocol") != protocol:
        report.add(("voice", key), name, f"must be a {protocol} service (it is {service.get('protocol')})")
    elif key == "signalling_service" and ports != [(SIP_TLS_PORT, SIP_TLS_PORT)]:
        report.add(("voice", key), name, f"SIP is served only over TLS on port {SIP_TLS_PORT}: the service must "
                   f"have exactly that port (it has {service.get('ports')})")
    elif key == "media_service" and (len(ports) != 1 or ports[0] is None or ports[0][1] - ports[0][0] < 3):
        report.add(("voice", key), name, "rtpengine takes one UDP port range (low-high, at least 4 ports)")


SEMANTIC_CHECKS = (
    _check_site, _check_zones, _check_network, _check_snmp, _check_l3_switch, _check_services, _check_flows,
    _check_devices, _check_firmware, _check_maintenance, _check_retention, _check_people, _check_wireless,
    _check_ai_agent,
    _check_voice,
)


# --------------------------------------------------------------------------------------------------------------------
# The model: what every renderer and compliance check reads (built once, after validation)
# --------------------------------------------------------------------------------------------------------------------
PortBounds = tuple[int, int]


def parse_port_range(value: Any) -> PortBounds | None:
    """A service port as the policy writes it (443, "10000-20000") -> inclusive (low, high); None if malformed.

    The one port parser: validation, the switch ACLs and the host firewalls all read ports through it."""
    return _port_range(value)


@dataclass(frozen=True)
class Site:
    name: str
    timezone: str
    description: str | None = None
    regulated_data: tuple[str, ...] = ()


@dataclass(frozen=True)
class Zone:
    """A network zone: one VLAN, one IPv4 subnet, its gateway (the SVI address on the L3 switch)."""

    name: str
    vlan: int
    subnet: str
    gateway: str
    purpose: str
    description: str | None = None

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)


@dataclass(frozen=True)
class Service:
    """A named service: one protocol and its inclusive port ranges (none for ICMP)."""

    name: str
    protocol: str
    ports: tuple[PortBounds, ...] = ()

    def port_ranges(self) -> list[tuple[str, int | None, int | None]]:
        """[(protocol, low, high)]; [("icmp", None, None)] for ICMP."""
        if self.protocol == "icmp":
            return [(self.protocol, None, None)]
        return [(self.protocol, low, high) for low, high in self.ports]


@dataclass(frozen=True)
class FlowRule:
    """One flow as the policy lists it: `dst` is a zone, "any" (every other zone) or "internet"."""

    src: str
    dst: str
    service: str
    description: str | None = None


class Flow(NamedTuple):
    """One allowed flow, expanded: from zone `src` to zone `dst` (or "internet"), one protocol and port range."""

    src: str
    dst: str
    service: str
    protocol: str
    port_lo: int | None
    port_hi: int | None


@dataclass(frozen=True)
class PortRef:
    """A switch port: `switch_port` of a device, or `uplink` (with this switch's own port, `local_interface`)."""

    switch: str
    interface: str
    local_interface: str | None = None


@dataclass(frozen=True)
class Device:
    name: str
    platform: str
    model: str
    zone: str
    data_zone: str | None = None
    address: str | None = None
    switch_port: PortRef | None = None
    uplink: PortRef | None = None
    description: str | None = None


@dataclass(frozen=True)
class SnmpUser:
    name: str
    auth_key_var: str
    priv_key_var: str
    auth: str = "sha"
    priv: str = "aes-128"


@dataclass(frozen=True)
class Snmp:
    group: str
    users: tuple[SnmpUser, ...]


@dataclass(frozen=True)
class Network:
    blackhole_vlan: int | None = None
    native_vlan: int | None = None
    prune_vlans: bool | None = None
    ntp_servers: tuple[str, ...] = ()
    dns_servers: tuple[str, ...] = ()
    logging_hosts: tuple[str, ...] = ()
    banner: str | None = None
    domain_name: str | None = None
    snmp: Snmp | None = None
    l3_switch: str | None = None


@dataclass(frozen=True)
class Ssid:
    name: str
    zone: str
    security: str
    psk_var: str | None = None
    isolate: bool | None = None          # None: isolated when the zone's purpose is guest
    hidden: bool | None = None
    transition: bool | None = None
    transition_reason: str | None = None


@dataclass(frozen=True)
class RadiusServer:
    host: str
    secret_var: str
    port: int | None = None


@dataclass(frozen=True)
class Wireless:
    ssids: tuple[Ssid, ...] = ()
    radius_servers: tuple[RadiusServer, ...] = ()


@dataclass(frozen=True)
class Siem:
    host: str
    protocol: str
    port: int | None = None
    ca_file: str | None = None
    peer_name: str | None = None


@dataclass(frozen=True)
class Person:
    username: str
    roles: tuple[str, ...]
    full_name: str | None = None
    ssh_keys: tuple[str, ...] = ()
    mfa: bool | None = None          # None: the default (TOTP required)
    enabled: bool | None = None      # None: the default (enabled)


@dataclass(frozen=True)
class AiCanaries:
    """The values the site planted in its AI agent: any reply that contains one is a leak."""

    card_number: str
    customer_name: str
    system_prompt_phrase: str

    def items(self) -> tuple[tuple[str, str], ...]:
        return (("card_number", self.card_number), ("customer_name", self.customer_name),
                ("system_prompt_phrase", self.system_prompt_phrase))


@dataclass(frozen=True)
class AiAgent:
    """The site's AI agent as the probe reaches it (`ai_agent:`; docs/ai_agent.md).

    `request_template_json` is the request template as canonical JSON (the model stays hashable); `request_template`
    parses it. Placeholders: $INPUT (the utterance), $CALLER_NAME, $CALLBACK_NUMBER, $APPOINTMENT_TYPE,
    $APPOINTMENT_NOTES."""

    url: str
    request_template_json: str
    response_field: str
    canaries: AiCanaries
    callback_number_pattern: str
    appointment_types: tuple[str, ...]
    token_var: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    rate_limit_per_minute: int = 60
    timeout_seconds: int = 10
    safe_mode_on_leak: bool = False
    evidence_interval: str = "90d"

    @property
    def request_template(self) -> dict:
        return json.loads(self.request_template_json)

    def placeholders(self) -> frozenset[str]:
        """The placeholders the template uses (without the $)."""
        return frozenset(PLACEHOLDER_RE.findall(self.request_template_json))

    def evidence_interval_days(self) -> int:
        return parse_duration(self.evidence_interval).days


@dataclass(frozen=True)
class VoiceAgent:
    """The AI voice agent / PBX behind the edge: calls to `extensions` go to it (SIP over TLS on `port`)."""

    address: str
    extensions: tuple[str, ...]
    port: int = 5061


@dataclass(frozen=True)
class VoiceTrunk:
    """A SIP trunk peer: its address may send calls to the agent's extensions without digest authentication."""

    name: str
    address: str
    description: str | None = None


@dataclass(frozen=True)
class VoiceUser:
    """A SIP account (a phone) that may register; its password is the vault variable `password_var`."""

    username: str
    password_var: str


@dataclass(frozen=True)
class VoiceLimits:
    """Per-source limits: more than `pike_requests` requests in `pike_interval` s, or `auth_failures` wrong
    credentials, ban the source for `ban_seconds`."""

    pike_requests: int = 16
    pike_interval: int = 2
    auth_failures: int = 5
    ban_seconds: int = 300


@dataclass(frozen=True)
class VoiceCertificate:
    """The edge's TLS certificate: `self_signed` (made on the host) or `files` already on the host."""

    source: str = "self_signed"
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class Voice:
    """The voice edge (docs/voice.md): SIP over TLS only, SRTP only, floods and scanners stopped."""

    edge: str
    sip_domain: str
    signalling_service: str
    media_service: str
    agent: VoiceAgent
    trunks: tuple[VoiceTrunk, ...] = ()
    users: tuple[VoiceUser, ...] = ()
    limits: VoiceLimits = VoiceLimits()
    certificate: VoiceCertificate = VoiceCertificate()
    metrics_port: int = 9094


SECRET_KINDS = ("snmp", "wireless", "ai_agent", "voice")


@dataclass(frozen=True)
class SitePolicy:
    """The validated site policy, typed. Built by `load_site_policy` (or `site_policy_from_data`), never mutated.

    `raw` is the validated mapping itself, kept for the callers that need the original data: the `site_policy`
    module (it hands the policy to Ansible as JSON), the maintenance windows (`MaintenanceSchedule.from_policy`
    parses `maintenance`), the firmware baselines (records compared and reported as they are written) and the
    site's checklist extension. Everything else reads the typed fields and accessors.
    """

    site: Site
    zones: tuple[Zone, ...]
    service_definitions: tuple[Service, ...]
    flows: tuple[FlowRule, ...]
    devices: tuple[Device, ...]
    network: Network = Network()
    wireless: Wireless = Wireless()
    siem: Siem | None = None
    people: tuple[Person, ...] = ()
    automation_account: str | None = None
    retention: tuple[tuple[str, str], ...] = ()
    payment_card_storage: str | None = None
    ai_agent: AiAgent | None = None
    voice: Voice | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    # -- look-ups ----------------------------------------------------------------------------------------------
    def device(self, name: str) -> Device:
        """The device called `name`; KeyError (naming it) when the policy has no such device."""
        for device in self.devices:
            if device.name == name:
                return device
        raise UnknownName(f"device {name!r} is not in the site policy's devices list")

    def has_device(self, name: str) -> bool:
        return any(device.name == name for device in self.devices)

    def zone(self, name: str) -> Zone:
        for zone in self.zones:
            if zone.name == name:
                return zone
        raise UnknownName(f"zone {name!r} is not defined; zones: {', '.join(sorted(self.zone_names()))}")

    def zone_names(self) -> list[str]:
        return [zone.name for zone in self.zones]

    def zones_with_purpose(self, purpose: str) -> list[Zone]:
        return [zone for zone in self.zones if zone.purpose == purpose]

    def services(self) -> dict[str, Service]:
        """Service name -> definition, in policy order."""
        return {service.name: service for service in self.service_definitions}

    def service(self, name: str) -> Service:
        services = self.services()
        if name not in services:
            raise UnknownName(f"service {name!r} is not defined in the policy's services")
        return services[name]

    def devices_on(self, platforms: Iterable[str]) -> list[Device]:
        wanted = set(platforms)
        return [device for device in self.devices if device.platform in wanted]

    # -- flows -------------------------------------------------------------------------------------------------
    def expanded_flows(self) -> list[Flow]:
        """Every allowed flow, `any` expanded to each zone other than the source, one entry per port range.

        The one `any` expansion: the switch ACLs (`network.acl.compile_zone_acls`), the host firewalls
        (`nftables_render.inbound_rules`) and the verifier all read the flows through it."""
        flows: list[Flow] = []
        names = self.zone_names()
        services = self.services()
        for rule in self.flows:
            targets = [z for z in names if z != rule.src] if rule.dst == "any" else [rule.dst]
            for target in targets:
                for protocol, low, high in services[rule.service].port_ranges():
                    flows.append(Flow(rule.src, target, rule.service, protocol, low, high))
        return flows

    def flows_between(self, src: str | None, dst: str | None) -> list[Flow]:
        """The expanded flows from zone `src` to zone `dst` (None: any source / any destination)."""
        return [flow for flow in self.expanded_flows()
                if (src is None or flow.src == src) and (dst is None or flow.dst == dst)]

    # -- secrets -----------------------------------------------------------------------------------------------
    def secret_vars(self, kind: str | None = None) -> list[str]:
        """The vault variables the policy names for its secrets, in a stable order.

        `snmp`: each SNMP user's auth then priv key variable; `wireless`: the personal SSIDs' `psk_var`, then the
        RADIUS servers' `secret_var`; `ai_agent`: the AI agent's token variable; `voice`: the SIP users'
        `password_var`; None: all of them."""
        if kind is not None and kind not in SECRET_KINDS:
            raise ValueError(f"secret kind {kind!r}: use one of {', '.join(SECRET_KINDS)}")
        names: list[str] = []
        if kind in (None, "snmp") and self.network.snmp:
            names += [var for user in self.network.snmp.users for var in (user.auth_key_var, user.priv_key_var)]
        if kind in (None, "wireless"):
            names += [ssid.psk_var for ssid in self.wireless.ssids if ssid.psk_var]
            names += [server.secret_var for server in self.wireless.radius_servers]
        if kind in (None, "ai_agent") and self.ai_agent and self.ai_agent.token_var:
            names.append(self.ai_agent.token_var)
        if kind in (None, "voice") and self.voice:
            names += [user.password_var for user in self.voice.users]
        return names


class UnknownName(KeyError):
    """A look-up by name found nothing; the message names what was asked for and, where useful, what exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


def _tuple(values) -> tuple:
    return tuple(values or ())


def _port_ref(data: dict | None) -> PortRef | None:
    if not data:
        return None
    return PortRef(data["switch"], data["interface"], data.get("local_interface"))


def _network(data: dict) -> Network:
    snmp = data.get("snmp")
    return Network(
        blackhole_vlan=data.get("blackhole_vlan"), native_vlan=data.get("native_vlan"),
        prune_vlans=data.get("prune_vlans"), ntp_servers=_tuple(data.get("ntp_servers")),
        dns_servers=_tuple(data.get("dns_servers")), logging_hosts=_tuple(data.get("logging_hosts")),
        banner=data.get("banner"), domain_name=data.get("domain_name"), l3_switch=data.get("l3_switch"),
        snmp=Snmp(snmp["group"], tuple(SnmpUser(u["name"], u["auth_key_var"], u["priv_key_var"], u.get("auth", "sha"),
                                                u.get("priv", "aes-128")) for u in snmp["users"])) if snmp else None,
    )


def _wireless(data: dict) -> Wireless:
    return Wireless(
        ssids=tuple(Ssid(s["name"], s["zone"], s["security"], s.get("psk_var"), s.get("isolate"), s.get("hidden"),
                         s.get("transition"), s.get("transition_reason")) for s in data.get("ssids") or []),
        radius_servers=tuple(RadiusServer(r["host"], r["secret_var"], r.get("port"))
                             for r in data.get("radius_servers") or []),
    )


def _ai_agent(data: dict | None) -> AiAgent | None:
    if not data:
        return None
    auth, canaries, allow = data.get("auth") or {}, data["canaries"], data["allow_lists"]
    return AiAgent(
        url=data["url"], request_template_json=json.dumps(data["request_template"], sort_keys=True),
        response_field=data["response_field"],
        canaries=AiCanaries(str(canaries["card_number"]), canaries["customer_name"], canaries["system_prompt_phrase"]),
        callback_number_pattern=allow["callback_number"], appointment_types=tuple(allow["appointment_types"]),
        token_var=auth.get("token_var"), auth_header=auth.get("header", "Authorization"),
        auth_scheme=auth.get("scheme", "Bearer"), rate_limit_per_minute=data.get("rate_limit_per_minute", 60),
        timeout_seconds=data.get("timeout_seconds", 10), safe_mode_on_leak=bool(data.get("safe_mode_on_leak")),
        evidence_interval=data.get("evidence_interval", AI_AGENT_DEFAULT_INTERVAL),
    )


def _voice(data: dict | None) -> Voice | None:
    if not data:
        return None
    agent, limits, certificate = data["agent"], data.get("limits") or {}, data.get("certificate") or {}
    return Voice(
        edge=data["edge"], sip_domain=data["sip_domain"], signalling_service=data["signalling_service"],
        media_service=data["media_service"],
        agent=VoiceAgent(agent["address"], tuple(agent["extensions"]), agent.get("port", 5061)),
        trunks=tuple(VoiceTrunk(t["name"], t["address"], t.get("description")) for t in data.get("trunks") or []),
        users=tuple(VoiceUser(u["username"], u["password_var"]) for u in data.get("users") or []),
        limits=VoiceLimits(**{key: limits[key] for key in ("pike_requests", "pike_interval", "auth_failures",
                                                            "ban_seconds") if key in limits}),
        certificate=VoiceCertificate(certificate.get("source", "self_signed"), certificate.get("cert_file"),
                                     certificate.get("key_file")),
        metrics_port=data.get("metrics_port", 9094),
    )


def _service(name: str, data: dict) -> Service:
    ports = () if data["protocol"] == "icmp" else tuple(parse_port_range(port) for port in data["ports"])
    return Service(name, data["protocol"], ports)


def _site_policy(data: dict) -> SitePolicy:
    site = data["site"]
    siem = data.get("siem")
    return SitePolicy(
        site=Site(site["name"], site["timezone"], site.get("description"), _tuple(site.get("regulated_data"))),
        zones=tuple(Zone(z["name"], z["vlan"], z["subnet"], z["gateway"], z["purpose"], z.get("description"))
                    for z in data.get("zones") or []),
        service_definitions=tuple(_service(name, s) for name, s in (data.get("services") or {}).items()),
        flows=tuple(FlowRule(f["from"], f["to"], f["service"], f.get("description")) for f in data.get("flows") or []),
        devices=tuple(Device(d["name"], d["platform"], d["model"], d["zone"], d.get("data_zone"), d.get("address"),
                             _port_ref(d.get("switch_port")), _port_ref(d.get("uplink")), d.get("description"))
                      for d in data.get("devices") or []),
        network=_network(data.get("network") or {}),
        wireless=_wireless(data.get("wireless") or {}),
        siem=Siem(siem["host"], siem["protocol"], siem.get("port"), siem.get("ca_file"), siem.get("peer_name"))
        if siem else None,
        people=tuple(Person(p["username"], _tuple(p.get("roles")), p.get("full_name"), _tuple(p.get("ssh_keys")),
                            p.get("mfa"), p.get("enabled")) for p in data.get("people") or []),
        automation_account=(data.get("automation") or {}).get("account"),
        retention=tuple((data.get("retention") or {}).items()),
        payment_card_storage=data.get("payment_card_storage"),
        ai_agent=_ai_agent(data.get("ai_agent")),
        voice=_voice(data.get("voice")),
        raw=data,
    )


def site_policy_from_data(data: Any, file: str = "<policy>", lines: dict[tuple, int] | None = None) -> SitePolicy:
    """Validate `data` (an already parsed policy: a test's fixture, the `aiphone_site_policy` fact) and build the
    model; PolicyError lists every problem."""
    validate_site_policy(data, file, lines)
    return _site_policy(data)


def unchecked_site_policy(data: dict) -> SitePolicy:
    """The model of data that is NOT validated: only for tests of the renderers' own guards (the values a
    validated policy can never hold). Everything else goes through `load_site_policy` / `site_policy_from_data`."""
    return _site_policy(data)


def expand_flows(policy: SitePolicy) -> list[Flow]:
    """Every allowed flow with `any` expanded (see `SitePolicy.expanded_flows`)."""
    return policy.expanded_flows()


def service_port_ranges(policy: SitePolicy, name: str) -> list[tuple[str, int | None, int | None]]:
    """[(protocol, low, high)] of a service; (icmp, None, None) for ICMP."""
    return policy.service(name).port_ranges()


def summarize(policy: SitePolicy) -> str:
    """One line for humans: what the policy covers."""
    maintenance = policy.raw.get("maintenance") or {}
    counts = {
        "zones": len(policy.zones),
        "flows": len(policy.flows),
        "devices": len(policy.devices),
        "firmware baselines": len(policy.raw.get("firmware_baselines") or []),
        "maintenance windows": len(maintenance.get("windows") or []),
        "people": len(policy.people),
    }
    return f"site {policy.site.name}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
