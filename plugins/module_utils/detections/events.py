"""Log lines as the hosts write them -> one flat event per row, the shape the compiled SQLite queries read.

Sources (each parser is a pure function of the text):
  journal   `journalctl -o json` lines (fields SYSLOG_IDENTIFIER, MESSAGE, _HOSTNAME, __REALTIME_TIMESTAMP)
  syslog    rsyslog's RSYSLOG_FileFormat lines ("2026-12-03T02:00:01.123456+00:00 host ident[pid]: message"), what the
            lab SIEM and a Kamailio edge logging to syslog write
  auditd    /var/log/audit/audit.log: the records of one event (same msg=audit(TIME:SERIAL)) are merged into one row:
            SYSCALL fields, the enriched names auditd appends after a 0x1d separator (log_format = ENRICHED, Debian's
            default: SYSCALL=openat AUID="agent"), and the first PATH item's name

Every event gets `timestamp` (ISO 8601, UTC: what the correlation queries window on) and `date_hour` / `date_wday`:
the event's own time in the site's time zone (Splunk's date_hour / date_wday fields carry the same meaning), so an
off-hours rule judges the time the host recorded, never the clock of the machine that evaluates it.

Field extractions on the message text (`src_ip`, `target_user`) are defined once here (EXTRACTIONS) and rendered into
the Splunk app's props.conf too (plugins/module_utils/detections/compile.py), so both backends see the same fields.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable
from zoneinfo import ZoneInfo

__all__ = [
    "COLUMNS",
    "EXTRACTIONS",
    "EventParseError",
    "load_sqlite",
    "parse_audit_log",
    "parse_journal_json",
    "parse_syslog",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# field -> regular expressions tried in order on the message (named group = field). Python syntax; compile.py turns
# (?P<name>...) into PCRE's (?<name>...) for Splunk.
EXTRACTIONS: dict[str, tuple[str, ...]] = {
    "src_ip": (
        r" from (?P<src_ip>[0-9A-Fa-f.:]+) port \d+",           # sshd: Failed/Accepted ... from ADDR port N
        # Kamailio xlog lines: (IP:$si:$sp), the last one - the From URI ($fu) before it is the sender's text
        r"\(IP:(?P<src_ip>[0-9A-Fa-f.:]+?):\d+\)(?!.*\(IP:)",
        r" ban=(?:pike|auth) src=(?P<src_ip>[0-9A-Fa-f.:]+)",     # the voice edge's ban ALERT lines (voice_edge)
    ),
    "target_user": (
        r"^(?:Accepted|Failed) \S+ for (?:invalid user )?(?P<target_user>\S+) from ",
        r"^Invalid user (?P<target_user>\S*) from ",
    ),
}

# Columns every event table has (a query naming a field no event carried must still run: NULL, no match).
COLUMNS = ("timestamp", "source", "host", "date_hour", "date_wday", "SYSLOG_IDENTIFIER", "MESSAGE", "_HOSTNAME",
           "src_ip", "target_user", "type", "key", "audit_serial", "syscall", "syscall_name", "success", "auid",
           "auid_name", "uid", "uid_name", "exe", "comm", "name")

_SYSLOG_LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s+(?P<host>\S+)\s+"
                          r"(?P<ident>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:\s?(?P<message>.*)$")
_AUDIT_HEADER = re.compile(r"^type=(?P<type>\S+) msg=audit\((?P<epoch>\d+\.\d+):(?P<serial>\d+)\):\s?(?P<body>.*)$")
_AUDIT_FIELD = re.compile(r'(?P<key>[A-Za-z0-9_-]+)=(?P<value>"[^"]*"|\'[^\']*\'|\S+)')
# Enriched (translated) names auditd appends: kept apart from the raw numbers (SQLite column names ignore case)
_ENRICHED = {"SYSCALL": "syscall_name", "AUID": "auid_name", "UID": "uid_name"}
_COMPILED = {field: tuple(re.compile(p) for p in patterns) for field, patterns in EXTRACTIONS.items()}


class EventParseError(ValueError):
    """A log line could not be read; the message names the source and the line number."""


def _time_fields(when: dt.datetime, tz: ZoneInfo) -> dict[str, str]:
    local = when.astimezone(tz)
    return {"timestamp": when.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "date_hour": str(local.hour), "date_wday": WEEKDAYS[local.weekday()]}


def _extract(message: str) -> dict[str, str]:
    found = {}
    for field, patterns in _COMPILED.items():
        for pattern in patterns:
            match = pattern.search(message)
            if match:
                found[field] = match.group(field)
                break
    return found


def _message_event(source: str, when: dt.datetime, host: str, ident: str, message: str, tz: ZoneInfo) -> dict:
    event = {"source": source, "host": host, "_HOSTNAME": host, "SYSLOG_IDENTIFIER": ident, "MESSAGE": message}
    event.update(_time_fields(when, tz))
    event.update(_extract(message))
    return event


def parse_journal_json(text: str, tz: ZoneInfo) -> list[dict]:
    """`journalctl -o json` output -> events (source "journal")."""
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            when = dt.datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, dt.UTC)
        except (ValueError, KeyError, TypeError) as exc:
            raise EventParseError(f"journal line {number}: not a journalctl -o json entry ({exc})") from exc
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):  # journald exports non-UTF-8 messages as byte arrays
            message = bytes(message).decode("utf-8", "replace")
        events.append(_message_event("journal", when, entry.get("_HOSTNAME", ""),
                                     entry.get("SYSLOG_IDENTIFIER", ""), message, tz))
    return events


def parse_syslog(text: str, tz: ZoneInfo) -> list[dict]:
    """RSYSLOG_FileFormat lines -> events (source "journal": the same fields journald would have given)."""
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _SYSLOG_LINE.match(line)
        if not match:
            raise EventParseError(f"syslog line {number}: not in RSYSLOG_FileFormat: {line[:80]!r}")
        when = dt.datetime.fromisoformat(match["ts"].replace("Z", "+00:00"))
        events.append(_message_event("journal", when, match["host"], match["ident"], match["message"], tz))
    return events


def _audit_fields(body: str) -> dict[str, str]:
    raw, _, enriched = body.partition("\x1d")
    fields = {m["key"]: m["value"].strip("\"'") for m in _AUDIT_FIELD.finditer(raw)}
    for m in _AUDIT_FIELD.finditer(enriched):
        fields[_ENRICHED.get(m["key"], m["key"].lower() + "_name")] = m["value"].strip("\"'")
    return fields


def parse_audit_log(text: str, tz: ZoneInfo, host: str = "", users: dict[str, str] | None = None) -> list[dict]:
    """audit.log -> one event per audit serial (source "auditd"), in the order the events were written.

    `users` (uid -> name, the passwd of the host the events happened on) replaces the names auditd wrote when the
    writer is not that host: the log of a container's events is written by the machine's auditd, which translates
    ids with the machine's passwd ("unknown(1001)", or another account that has the same uid there).
    """
    merged: dict[tuple[str, str], dict] = {}
    # split on newlines only: str.splitlines() would also split at the 0x1d before the enriched fields
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        node = ""
        if line.startswith("node="):
            node, _, line = line.partition(" ")
            node = node.removeprefix("node=")
        match = _AUDIT_HEADER.match(line)
        if not match:
            raise EventParseError(f"audit.log line {number}: not an audit record: {line[:80]!r}")
        fields = _audit_fields(match["body"])
        event = merged.setdefault((match["epoch"], match["serial"]), {
            "source": "auditd", "host": node or host, "audit_serial": match["serial"],
            **_time_fields(dt.datetime.fromtimestamp(float(match["epoch"]), dt.UTC), tz)})
        record_type = match["type"]
        if record_type == "SYSCALL" or "type" not in event:
            event["type"] = record_type
        if record_type == "PATH":
            if "name" not in event and fields.get("nametype") in ("NORMAL", "CREATE", None):
                event["name"] = fields.get("name", "")
            continue
        for key, value in fields.items():
            event.setdefault(key, value)
    if users:
        for event in merged.values():
            for number, name in (("auid", "auid_name"), ("uid", "uid_name")):
                if event.get(number) in users:
                    event[name] = users[event[number]]
    return list(merged.values())


def _regexp(pattern: str, value) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def load_sqlite(events: Iterable[dict], connection: sqlite3.Connection | None = None) -> sqlite3.Connection:
    """A table `logs` (the sqlite backend's default) holding the events; REGEXP is registered for |re rules."""
    events = list(events)
    db = connection or sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, _regexp, deterministic=True)
    columns = list(COLUMNS)
    seen = {c.lower() for c in columns}
    for event in events:
        for key in event:
            if key.lower() not in seen:
                seen.add(key.lower())
                columns.append(key)
    quoted = ", ".join('"' + c.replace('"', '""') + '" TEXT COLLATE NOCASE' for c in columns)
    db.execute(f"CREATE TABLE logs ({quoted})")
    placeholders = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO logs VALUES ({placeholders})",  # noqa: S608 - only "?" placeholders
                   [tuple(event.get(c) for c in columns) for event in events])
    return db
