"""First-seen dates of every version (and package version) a device ran, and who changed it when we did.

State file `<audit_dir>/<site>/versions-state.json` (written atomically, under a lock):

    {"devices": {"sw-core-01": {"os": {"version": "17.9.5", "first_seen": "2026-11-27T19:30:00Z",
                                       "changed_by": {"operator": "ita", "time": "…", "record_seq": 42,
                                                      "kind": "firmware_attempt", "from_version": "17.9.4"},
                                       "history": [{"version": "17.9.4", "first_seen": "…"}]},
                                "pkg:openssl": {…}}}}

The first-seen date stands in for the install date when the device cannot tell it. `changed_by` is filled when
the audit trail holds a successful change of ours to that version (a firmware attempt or a package update).
"""

from __future__ import annotations

import json
import os

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

STATE_FILE = "versions-state.json"
SUCCESS_RESULTS = frozenset({"success", "succeeded", "ok", "upgraded", "changed", "updated", "installed"})


def load_state(site_directory: str) -> dict:
    try:
        with open(os.path.join(site_directory, STATE_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {"devices": {}}


def save_state(site_directory: str, state: dict) -> None:
    os.makedirs(site_directory, mode=0o700, exist_ok=True)
    audit_trail.write_atomic(os.path.join(site_directory, STATE_FILE),
                             json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))


def our_changes(records: list[dict]) -> dict[tuple[str, str, str], dict]:
    """(device, item, version) -> who/when, from successful firmware attempts and package updates in the trail."""
    found = {}
    for record in records:
        if record.get("kind") == "firmware_attempt" and str(record.get("result", "")).lower() in SUCCESS_RESULTS:
            key = (record.get("device"), "os", str(record.get("to_version")))
        elif record.get("kind") == "package_update":
            entry = record.get("entry") or {}
            key = (entry.get("host") or entry.get("device"), f"pkg:{entry.get('package')}",
                   str(entry.get("to") or entry.get("to_version") or entry.get("version")))
        else:
            continue
        found[key] = {"operator": record.get("operator") or (record.get("entry") or {}).get("operator"),
                      "time": record.get("end") or record.get("time"), "record_seq": record.get("seq"),
                      "kind": record["kind"],
                      "from_version": record.get("from_version") or (record.get("entry") or {}).get("before")}
    return found


def observe(state: dict, device: str, item: str, version: str | None, now: str,
            changes: dict[tuple[str, str, str], dict]) -> tuple[dict, bool]:
    """Record that `device` runs `version` of `item` ("os" or "pkg:<name>"); returns (entry, state changed)."""
    items = state.setdefault("devices", {}).setdefault(device, {})
    current = items.get(item)
    if version is None or (current and current["version"] == version):
        return current or {}, False
    history = (current or {}).get("history", [])
    if current:
        history = history + [{"version": current["version"], "first_seen": current["first_seen"]}]
    items[item] = {"version": version, "first_seen": now, "changed_by": changes.get((device, item, version)),
                   "history": history}
    return items[item], True
