"""Build a site's version inventory: read devices, add Linux host facts, compare with baselines, keep history.

    inventory = build_inventory(policy, targets, linux_hosts, site_directory)   # reads the devices
    write_inventory_files(report_dir, inventory)                                # inventory.json + inventory.csv
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory import baseline, state
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.collector import (
    DEFAULT_WORKERS,
    HostResult,
    Target,
    collect,
)

CSV_COLUMNS = ("name", "platform", "model", "serial", "hostname", "version", "baseline_version", "status", "detail",
               "image", "uptime_seconds", "last_reboot", "last_reboot_reason", "first_seen", "changed_by", "kernel",
               "os_release", "packages")
SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def linux_result(host: dict) -> HostResult:
    """A Linux host's facts (gathered by Ansible in playbooks/audit.yml) in the collector's result shape."""
    result = HostResult(host["name"], "linux", error=host.get("error"))
    if result.error is None:
        result.facts = {"hostname": host.get("hostname"), "model": host.get("model"),
                        "os_version": host.get("os_version"), "kernel": host.get("kernel"),
                        "os_release": host.get("os_release"), "serial": host.get("serial"),
                        "uptime_seconds": _int_or_none(host.get("uptime_seconds")),
                        "packages": package_versions(host.get("packages") or {})}
        result.facts = {k: v for k, v in result.facts.items() if v not in (None, "")}
    return result


def package_versions(packages: dict) -> dict[str, str]:
    """name -> version, from a plain mapping or from package_facts' {name: [{"version": ...}, ...]}."""
    return {name: value[0]["version"] if isinstance(value, list) and value else str(value)
            for name, value in packages.items() if value}


def _int_or_none(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def build_inventory(policy: dict, targets: list[Target], linux_hosts: list[dict], site_directory: str,
                    max_workers: int = DEFAULT_WORKERS, now: dt.datetime | None = None,
                    update_state: bool = True, collector=collect, whole_site: bool = True) -> tuple[dict, bool]:
    """(inventory, state changed). With `whole_site`, policy devices with no connection details are listed as
    unreachable; without it only the given devices are reported (an audit limited to one group)."""
    now = now or utc_now()
    results = collector(targets, max_workers=max_workers) + [linux_result(h) for h in linux_hosts]
    seen = {r.name for r in results}
    if whole_site:
        results += [HostResult(d["name"], d["platform"], error="not in the Ansible inventory: no connection details")
                    for d in policy.get("devices", []) if d["name"] not in seen]
    policy_devices = {d["name"]: d for d in policy.get("devices", [])}
    baselines = baseline.baselines_by_model(policy)
    versions = state.load_state(site_directory)
    ours = state.our_changes(audit_trail.read_records(site_directory))
    entries, changed = [], False
    for result in results:
        entry, entry_changed = _entry(result, policy_devices.get(result.name, {}), baselines, versions, ours, now)
        entries.append(entry)
        changed |= entry_changed
    if update_state and changed:
        state.save_state(site_directory, versions)
    summary = {status: sum(1 for e in entries if e["status"] == status) for status in baseline.STATUSES}
    return {"site": policy["site"]["name"], "collected_at": iso(now), "summary": summary,
            "devices": entries}, changed


def _entry(result: HostResult, policy_device: dict, baselines: dict, versions: dict, ours: dict,
           now: dt.datetime) -> tuple[dict, bool]:
    facts = result.facts
    assessment = baseline.assess(result.name, result.platform, policy_device.get("model"), facts, result.error,
                                 baselines, result.error_type)
    now_text = iso(now)
    os_seen, changed = state.observe(versions, result.name, "os", facts.get("os_version"), now_text, ours)
    packages = {}
    for package, version in sorted((facts.get("packages") or {}).items()):
        seen, pkg_changed = state.observe(versions, result.name, f"pkg:{package}", version, now_text, ours)
        packages[package] = {"version": version, "first_seen": seen.get("first_seen"),
                             "changed_by": seen.get("changed_by")}
        changed |= pkg_changed
    uptime = facts.get("uptime_seconds")
    entry = {
        "name": result.name, "platform": result.platform,
        "model": facts.get("model"),    # what the device says, never the policy's (missing says what it did not)
        "missing": baseline.missing_facts(facts) if result.error is None else [],
        "serial": facts.get("serial"), "hostname": facts.get("hostname"), "version": facts.get("os_version"),
        "image": facts.get("image"), "uptime_seconds": uptime,
        "last_reboot": iso(now - dt.timedelta(seconds=int(uptime))) if isinstance(uptime, int) else None,
        "last_reboot_reason": facts.get("last_reboot_reason"),
        "kernel": facts.get("kernel"), "os_release": facts.get("os_release"), "packages": packages,
        "first_seen": os_seen.get("first_seen"), "changed_by": os_seen.get("changed_by"),
        "previous_versions": [h["version"] for h in os_seen.get("history", [])],
        "error_type": result.error_type, "read_seconds": result.seconds,
        **assessment,
    }
    return entry, changed


def inventory_json(inventory: dict) -> bytes:
    """The inventory as JSON: sorted keys, one device per line (json's C encoder per entry: an indented dump of
    10,000 devices goes through the pure-Python encoder and costs seconds; one line per device still reads and
    diffs device by device)."""
    head = {key: value for key, value in inventory.items() if key != "devices"}
    devices = ",\n".join(json.dumps(entry, sort_keys=True) for entry in inventory.get("devices", []))
    text = json.dumps({**head, "devices": []}, sort_keys=True, separators=(", ", ": "))
    if devices:
        marker = '"devices": []'
        at = text.index(marker)
        text = f"{text[:at]}\"devices\": [\n{devices}\n]{text[at + len(marker):]}"
    return (text + "\n").encode("utf-8")


def inventory_csv(inventory: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for entry in inventory["devices"]:
        row = dict(entry)
        row["changed_by"] = _who(entry.get("changed_by"))
        row["packages"] = "; ".join(f"{name}={p['version']}" for name, p in sorted(entry["packages"].items()))
        writer.writerow({column: _cell(row.get(column)) for column in CSV_COLUMNS})
    return buffer.getvalue().encode("utf-8")


def _who(changed_by: dict | None) -> str:
    return f"{changed_by.get('operator')} at {changed_by.get('time')}" if changed_by else ""


def _cell(value) -> str:
    """Device-reported text is hostile: never let a spreadsheet evaluate it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(SPREADSHEET_FORMULA_START) else text


def write_inventory_files(report_dir: str, inventory: dict, json_bytes: bytes | None = None) -> dict[str, str]:
    """inventory.json (``json_bytes`` when the caller serialised it already) and inventory.csv."""
    os.makedirs(report_dir, exist_ok=True)
    paths = {"inventory.json": json_bytes if json_bytes is not None else inventory_json(inventory),
             "inventory.csv": inventory_csv(inventory)}
    for name, data in paths.items():
        audit_trail.write_atomic(os.path.join(report_dir, name), data)
    return {name: os.path.join(report_dir, name) for name in paths}


def snapshot_record(inventory: dict, json_bytes: bytes | None = None) -> dict:
    """The audit-trail record of one inventory run: counts, every device's version/status, the hash of
    inventory.json (``json_bytes``: the bytes written, when the caller has them; serialised here otherwise)."""
    data = json_bytes if json_bytes is not None else inventory_json(inventory)
    return {"kind": "inventory_snapshot", "collected_at": inventory["collected_at"], "summary": inventory["summary"],
            "inventory_sha256": hashlib.sha256(data).hexdigest(),
            "devices": [[e["name"], e["version"], e["status"]] for e in inventory["devices"]]}
