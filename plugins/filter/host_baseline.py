# -*- coding: utf-8 -*-
"""Filters that turn site-policy values and host listings into what the host baseline roles need.

``duration_seconds``  '90d' -> 7776000 (the policy's own duration grammar, one parser for the whole project)
``maintenance_oncalendar``  policy maintenance windows -> systemd OnCalendar= expressions in the site timezone
``ip_networks``  addresses/subnets -> {"ipv4": [...], "ipv6": [...]} normalised, refusing anything else
``package_changes``  two `dpkg-query -W` listings -> [{package, before, after}] of what an upgrade changed
``sysctl_differences``  `sysctl -e KEY...` output + wanted values -> ['key (running X, wanted Y)', ...]
"""

from __future__ import annotations

import ipaddress

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


class FilterModule:
    def filters(self):
        return {"duration_seconds": duration_seconds, "maintenance_oncalendar": maintenance_oncalendar,
                "package_changes": package_changes, "ip_networks": ip_networks,
                "sysctl_differences": sysctl_differences}
