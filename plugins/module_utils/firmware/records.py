"""Firmware attempt records: every attempt goes to the site's audit trail.

Uses the hash-chained trail (`audit_trail.append`) when it is installed; until then a JSON-lines file
`<audit_dir>/<site>/firmware-attempts.jsonl` with the same record shape, which the trail adopts.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os

try:
    from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
except ImportError:
    audit_trail = None

RECORD_KIND = "firmware_attempt"   # what the audit trail, inventory and compliance read
RECORD_FIELDS = ("device", "platform", "model", "from_version", "to_version", "checksum", "result", "reason",
                 "start", "end", "operator", "forced", "force_reason", "step", "recovered", "rollback",
                 "attempt_id", "run_id", "evidence")
STARTED = "started"      # the intent record, written and fsynced before activate


def default_operator() -> str:
    return os.environ.get("AIPHONE_OPERATOR") or getpass.getuser()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def attempt_record(**fields) -> dict:
    unknown = set(fields) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"unknown firmware record fields: {sorted(unknown)}")
    record = {"kind": RECORD_KIND, **{name: fields.get(name) for name in RECORD_FIELDS}}
    record["operator"] = record["operator"] or default_operator()
    return record


def append_record(audit_dir: str, site: str, record: dict) -> str:
    """Append one record to the site's trail; returns the file written."""
    site_dir = os.path.join(audit_dir, site)
    os.makedirs(site_dir, exist_ok=True)
    if audit_trail is not None and hasattr(audit_trail, "append"):
        audit_trail.append(site_dir, record)
        return site_dir
    path = os.path.join(site_dir, "firmware-attempts.jsonl")
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:   # one write per record; O_APPEND keeps lines whole
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def unfinished_attempts(records: list[dict]) -> dict[str, dict]:
    """device -> the `started` record of its newest attempt when that attempt has no end record, or an end that
    leaves it open (_leaves_open): the next run reconciles these before judging the device
    (procedure.reconcile_device)."""
    if audit_trail is None:     # the trail's module is always installed with this collection
        raise RuntimeError("audit_trail is not importable")
    return audit_trail.open_intents(records, RECORD_KIND, "attempt_id", STARTED, _leaves_open)


def _leaves_open(record: dict) -> bool:
    """An end record after which the device may still change by itself: recovery failed (hands-on, maybe
    power-cycled since), or a phone postponed the reboot it was asked for (it may install after the call)."""
    if record.get("result") == "failed" and record.get("recovered") is False:
        return True
    return record.get("result") in ("busy", "skipped_busy") and record.get("step") in ("activate", "wait")


def record_from_result(result: dict, operator: str | None, force_reason: str = "", rollback: bool = False,
                       run_id: str | None = None) -> dict:
    """One attempt of the rollout summary (procedure.DeviceResult.as_dict()) as an audit record; ``rollback``
    marks an attempt back to a device's previous firmware (firmware/rollback.py)."""
    steps = result.get("steps") or []
    return attempt_record(
        device=result["device"], platform=result["platform"], model=result["model"],
        from_version=result.get("before"), to_version=result.get("target"), checksum=result.get("checksum"),
        result=result["result"], reason=result.get("reason", ""), start=result.get("start"), end=result.get("end"),
        operator=operator, forced=bool(result.get("forced")),
        force_reason=force_reason if result.get("forced") else None, step=steps[-1] if steps else None,
        recovered=result.get("recovered"), rollback=rollback or None, attempt_id=result.get("attempt_id") or None,
        run_id=run_id, evidence=result.get("evidence"))
