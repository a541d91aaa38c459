# -*- coding: utf-8 -*-
"""Filters that turn site-policy values and host listings into what the host baseline roles need.

``duration_seconds``  '90d' -> 7776000 (the policy's own duration grammar, one parser for the whole project)
``maintenance_oncalendar``  policy maintenance windows -> systemd OnCalendar= expressions in the site timezone
``ip_networks``  addresses/subnets -> {"ipv4": [...], "ipv6": [...]} normalised, refusing anything else
``package_changes``  two `dpkg-query -W` listings -> [{package, before, after}] of what an upgrade changed
``sysctl_differences``  `sysctl -e KEY...` output + wanted values -> ['key (running X, wanted Y)', ...]
``packages_missing``  wanted package names + ansible_facts -> those not installed (all of them when unknown)
``setting_line``  {key, value} -> a host_files settings line {regexp: '^#?KEY\\s', line: 'KEY<separator>value'}
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import parse_duration

DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}


def duration_seconds(text):
    try:
        return int(parse_duration(str(text)).total_seconds())
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def maintenance_oncalendar(windows, timezone="UTC"):
    """[{days: [sun], start: '02:00', ...}] -> ['Sun *-*-* 02:00:00 Europe/Berlin', ...] (one per window)."""
    calendars = []
    for window in windows or []:
        try:
            days = ",".join(DAY_NAMES[str(day).lower()[:3]] for day in window["days"])
            hour, minute = (int(part) for part in str(window["start"]).split(":"))
        except (KeyError, ValueError, TypeError) as exc:
            raise AnsibleFilterError(f"maintenance window {window!r} needs days [mon..sun] and start HH:MM") from exc
        calendars.append(f"{days} *-*-* {hour:02d}:{minute:02d}:00 {timezone}")
    return calendars


def ip_networks(values):
    """Split addresses/subnets by family; anything that is not one (e.g. an injection attempt) is an error."""
    split = {"ipv4": [], "ipv6": []}
    for value in values or []:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError as exc:
            raise AnsibleFilterError(f"{value!r} is not an IP address or subnet") from exc
        family = split["ipv4" if network.version == 4 else "ipv6"]
        if str(network) not in family:
            family.append(str(network))
    return split


def _versions(listing):
    versions = {}
    for line in (listing or "").splitlines():
        name, _sep, version = line.partition("\t")
        if name and version:
            versions[name] = version
    return versions


def package_changes(before_listing, after_listing):
    """Packages whose version differs between two 'name<TAB>version' listings (None = not installed)."""
    before, after = _versions(before_listing), _versions(after_listing)
    return [{"package": name, "before": before.get(name), "after": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


def sysctl_differences(running_output, wanted):
    """Keys whose running value differs from the wanted one, as 'key (running X, wanted Y)'; absent keys say so.

    `running_output` is what `sysctl -e KEY...` prints ('key = value' per line; `-e` leaves unknown keys out).
    Values compare with runs of whitespace folded (sysctl prints ip_local_port_range with a tab).
    """
    if not isinstance(wanted, dict):
        raise AnsibleFilterError(f"sysctl_differences: wanted values must be a mapping, got {type(wanted).__name__}")
    running = {}
    for line in str(running_output or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        if not sep or not key.strip():
            raise AnsibleFilterError(f"sysctl_differences: unexpected sysctl output line {line!r}")
        running[key.strip()] = " ".join(value.split())
    differences = []
    for key in sorted(wanted):
        want = " ".join(str(wanted[key]).split())
        if key not in running:
            differences.append(f"{key} (not in the running kernel, wanted {want})")
        elif running[key] != want:
            differences.append(f"{key} (running {running[key]}, wanted {want})")
    return differences


def packages_missing(wanted, facts):
    """The wanted packages that ansible_facts['packages'] (package_facts, read once per play) does not list.

    Without package facts every wanted package is returned, so an install task guarded by this runs as before; with
    them, a run where everything is installed skips the package manager (its start-up costs a second per role).
    """
    names = [wanted] if isinstance(wanted, str) else list(wanted or [])
    installed = (facts or {}).get("packages") if isinstance(facts, dict) else None
    if not isinstance(installed, dict):
        return names
    return [name for name in names if str(name) not in installed]


def setting_line(item, separator=" "):
    """A `KEY value` settings line for aiphone.hardening.host_files (state=lines), as lineinfile would set it.

    The line replaces the last line that sets the key or is the key commented out (`#KEY ...`), else it is appended.
    Keys are plain words; values one line without control characters (they reach a host file).
    """
    if not isinstance(item, dict) or "key" not in item or "value" not in item:
        raise AnsibleFilterError(f"setting_line: expected a {{key, value}} item (dict2items), got {item!r}")
    key, value = str(item["key"]), str(item["value"])
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", key):
        raise AnsibleFilterError(f"setting_line: key {key!r} is not a plain word")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or any(ord(ch) < 32 and ch != "\t" for ch in separator):
        raise AnsibleFilterError(f"setting_line: the value of {key} holds a control character")
    return {"regexp": rf"^#?{re.escape(key)}\s", "line": f"{key}{separator}{value}"}


class FilterModule:
    def filters(self):
        return {"duration_seconds": duration_seconds, "maintenance_oncalendar": maintenance_oncalendar,
                "package_changes": package_changes, "ip_networks": ip_networks,
                "sysctl_differences": sysctl_differences, "setting_line": setting_line,
                "packages_missing": packages_missing}
