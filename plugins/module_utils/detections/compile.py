"""Compile the Sigma rules of detections/sigma with pySigma: a Splunk app (savedsearches.conf alert stanzas with
schedule, threshold and throttling, plus the props.conf field extractions the rules rely on) and SQLite queries for
the replay tests. Runs on the controller only (pySigma is a controller requirement, never shipped to managed hosts).

Our field names. The rules speak one vocabulary (detections/README.md); the processing pipelines map it to what each
backend stores:
  rule field        SQLite (events.py)    Splunk
  SyslogIdentifier  SYSLOG_IDENTIFIER     process      (syslog sourcetype)
  Message           MESSAGE               message      (props.conf EXTRACT)
  SourceIp          src_ip                src_ip       (props.conf EXTRACT, from EXTRACTIONS)
  TargetUser        target_user           target_user  (props.conf EXTRACT)
  EventHour         date_hour             date_hour    (Splunk's own, from the event's timestamp)
  EventWeekday      date_wday             date_wday
  syscall_name      syscall_name          SYSCALL      (auditd ENRICHED names; linux_audit sourcetype, auto key=value)
  auid_name         auid_name             AUID
  type, key, auid, exe, comm, success     unchanged (auditd's own names)
Placeholders (%off_hours%, %off_days%, %automation_accounts%, %privileged_groups%) come from the audit_logging role's
alert thresholds and the site policy, so a site changing its business hours changes what the rules mean.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.aiphone.hardening.plugins.module_utils.detections.events import EXTRACTIONS, WEEKDAYS

__all__ = [
    "DetectionCompileError",
    "Values",
    "alerts",
    "compile_splunk_app",
    "compile_sqlite",
    "load_rules",
    "render_all",
    "values_from_thresholds",
]

JOURNAL_SERVICES = (("linux", "sshd"), ("linux", "auth"), ("kamailio", "kamailio"), ("aiphone", "transcript"))
SPLUNK_INDEX = "aiphone"
LEVEL_SEVERITY = {"informational": "1", "low": "2", "medium": "3", "high": "4", "critical": "5"}
DEFAULT_GROUPS = ("supervisors", "admins", "sudo", "wheel", "adm")


class DetectionCompileError(ValueError):
    """A rule or a value for its placeholders is unusable; the message names the rule file or value."""


@dataclass(frozen=True)
class Values:
    """What the rules' placeholders expand to."""
    off_hours: tuple[str, ...]
    off_days: tuple[str, ...]
    automation_accounts: tuple[str, ...] = ("aiphone-automation",)
    privileged_groups: tuple[str, ...] = DEFAULT_GROUPS
    timezone: str = "UTC"
    schedule_minutes: int = 5
    throttle: str = "1h"
    extra: dict = field(default_factory=dict)

    def placeholders(self) -> dict[str, list[str]]:
        # usermod quotes the group ("to group 'supervisors'"), gpasswd does not ("to group supervisors"): match both
        groups = [f" to group {g}" for g in self.privileged_groups] + \
                 [f" to group '{g}'" for g in self.privileged_groups]
        return {"off_hours": list(self.off_hours), "off_days": list(self.off_days),
                "automation_accounts": list(self.automation_accounts), "privileged_groups": groups}


_DAY = {d[:3]: d for d in WEEKDAYS}


def values_from_thresholds(thresholds: dict, **overrides) -> Values:
    """The audit_logging role's `off_hours_access` threshold ("07:00-19:00", [mon..fri]) -> placeholder values."""
    spec = thresholds.get("off_hours_access") or {}
    hours = str(spec.get("business_hours", "07:00-19:00"))
    match = re.fullmatch(r"(\d\d):00-(\d\d):00", hours)
    if not match or not 0 <= int(match[1]) < int(match[2]) <= 24:
        raise DetectionCompileError(f"off_hours_access.business_hours {hours!r}: use whole hours, e.g. 07:00-19:00")
    start, end = int(match[1]), int(match[2])
    days = [str(d).lower()[:3] for d in spec.get("business_days", ["mon", "tue", "wed", "thu", "fri"])]
    unknown = [d for d in days if d not in _DAY]
    if unknown:
        raise DetectionCompileError(f"off_hours_access.business_days: unknown day(s) {unknown}")
    return Values(off_hours=tuple(str(h) for h in range(24) if not start <= h < end),
                  off_days=tuple(_DAY[d] for d in _DAY if d not in days), **overrides)


# ---------------------------------------------------------------------------------------------------- rules
def load_rules(rules_dir: Path):
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    paths = sorted(Path(rules_dir).glob("*.yml"))
    if not paths:
        raise DetectionCompileError(f"{rules_dir}: no Sigma rule (*.yml)")
    try:
        collection = SigmaCollection.load_ruleset(paths, collect_errors=False)
        collection.resolve_rule_references()
    except SigmaError as exc:
        raise DetectionCompileError(f"{rules_dir}: {exc}") from exc
    for rule in collection.rules:
        if not rule.name or not rule.custom_attributes.get("checklist"):
            raise DetectionCompileError(f"{rules_dir}: rule {rule.title!r} needs a name and a checklist: [ids] field")
    return collection


def alerts(collection) -> list:
    """The rules that alert: correlations and standalone rules (base rules of a correlation only feed it)."""
    return [rule for rule in collection.rules if getattr(rule, "_output", True)]


# ---------------------------------------------------------------------------------------------------- pipelines
def _pipeline(values: Values, mapping: dict[str, str], source_condition, name: str):
    from sigma.processing.conditions import LogsourceCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import (
        AddConditionTransformation,
        FieldMappingTransformation,
        ValueListPlaceholderTransformation,
    )

    items = [ProcessingItem(identifier="aiphone_placeholders",
                            transformation=ValueListPlaceholderTransformation(None))]
    for product, service in JOURNAL_SERVICES:
        items.append(ProcessingItem(identifier=f"aiphone_source_{product}_{service}",
                                    transformation=AddConditionTransformation(source_condition("journal")),
                                    rule_conditions=[LogsourceCondition(product=product, service=service)]))
    items.append(ProcessingItem(identifier="aiphone_source_auditd",
                                transformation=AddConditionTransformation(source_condition("auditd")),
                                rule_conditions=[LogsourceCondition(product="linux", service="auditd")]))
    items.append(ProcessingItem(identifier="aiphone_fields", transformation=FieldMappingTransformation(mapping)))
    return ProcessingPipeline(name=name, priority=20, items=items, vars=values.placeholders())


SQLITE_FIELDS = {"SyslogIdentifier": "SYSLOG_IDENTIFIER", "Message": "MESSAGE", "Host": "_HOSTNAME",
                 "SourceIp": "src_ip", "TargetUser": "target_user", "EventHour": "date_hour",
                 "EventWeekday": "date_wday"}
SPLUNK_FIELDS = {"SyslogIdentifier": "process", "Message": "message", "Host": "host", "SourceIp": "src_ip",
                 "TargetUser": "target_user", "EventHour": "date_hour", "EventWeekday": "date_wday",
                 "syscall_name": "SYSCALL", "auid_name": "AUID", "uid_name": "UID"}
SPLUNK_SOURCETYPES = {"journal": "syslog", "auditd": "linux_audit"}


def sqlite_pipeline(values: Values):
    return _pipeline(values, SQLITE_FIELDS, lambda source: {"source": source}, "aiphone sqlite (events.py table)")


def splunk_pipeline(values: Values):
    return _pipeline(values, SPLUNK_FIELDS,
                     lambda source: {"index": SPLUNK_INDEX, "sourcetype": SPLUNK_SOURCETYPES[source]},
                     "aiphone splunk (index aiphone)")


# ---------------------------------------------------------------------------------------------------- backends
def compile_sqlite(collection, values: Values) -> dict[str, str]:
    """rule name -> one SQLite query over the `logs` table (events.load_sqlite) for every alerting rule."""
    from sigma.backends.sqlite import sqliteBackend

    backend = sqliteBackend(processing_pipeline=sqlite_pipeline(values))
    compiled = {}
    # event rules first: a correlation query is built from the converted state of the rules it references
    ordered = sorted(collection.rules, key=_is_correlation)
    for rule in ordered:
        queries = (backend.convert_correlation_rule(rule) if _is_correlation(rule) else backend.convert_rule(rule))
        if getattr(rule, "_output", True):
            if len(queries) != 1:
                raise DetectionCompileError(f"rule {rule.name}: expected one SQLite query, got {len(queries)}")
            compiled[rule.name] = queries[0]
    return {rule.name: compiled[rule.name] for rule in alerts(collection)}


def _is_correlation(rule) -> bool:
    from sigma.correlations import SigmaCorrelationRule
    return isinstance(rule, SigmaCorrelationRule)


def _throttle_fields(rule) -> str:
    if _is_correlation(rule):
        return ",".join(SPLUNK_FIELDS.get(f, f) for f in rule.group_by or [])
    return ""


def _window(rule, values: Values) -> str:
    if _is_correlation(rule):
        return f"-{rule.timespan.seconds}s"
    return f"-{values.schedule_minutes}m@m"


def splunk_settings(values: Values):
    """savedsearches.conf settings of one alert stanza: scheduled search, trigger on any result, throttled."""
    def settings(rule) -> dict[str, str]:
        result = {
            "enableSched": "1",
            "cron_schedule": f"*/{values.schedule_minutes} * * * *",
            "dispatch.earliest_time": _window(rule, values),
            "dispatch.latest_time": "now" if _is_correlation(rule) else "@m",
            "counttype": "number of events",
            "relation": "greater than",
            "quantity": "0",
            "alert.track": "1",
            "alert.severity": LEVEL_SEVERITY[rule.level.name.lower()] if rule.level else "3",
            "alert.suppress": "1",
            "alert.suppress.period": values.throttle,
            "alert_type": "number of events",
        }
        fields = _throttle_fields(rule)
        if fields:
            result["alert.suppress.fields"] = fields
        return result
    return settings


def _pcre(pattern: str) -> str:
    return pattern.replace("(?P<", "(?<")


def render_props(values: Values) -> str:
    """props.conf of the app: the message and the EXTRACTIONS fields, and the site's time zone for date_hour."""
    lines = ["# Generated by scripts/compile_detections.py from plugins/module_utils/detections - do not edit",
             "[syslog]", f"TZ = {values.timezone}",
             r"EXTRACT-aiphone_message = ^(?:\S+\s+){1,3}\S+\s+[^\s\[:]+(?:\[\d+\])?:\s(?<message>.*)$"]
    for field_name, patterns in EXTRACTIONS.items():
        for index, pattern in enumerate(patterns):
            lines.append(f"EXTRACT-aiphone_{field_name}_{index} = {_pcre(pattern)} in message")
    # auditd's ENRICHED format puts a 0x1d before the translated names (SYSCALL=, AUID=): made a space at index
    # time, so Splunk's automatic key=value extraction sees them as fields
    lines += ["", "[linux_audit]", f"TZ = {values.timezone}", r"SEDCMD-aiphone_enriched = s/\x1d/ /g", ""]
    return "\n".join(lines)


def compile_splunk_app(collection, values: Values) -> dict[str, str]:
    """file name (relative to the app directory) -> content: default/savedsearches.conf, default/props.conf."""
    from sigma.backends.splunk import SplunkBackend

    backend = SplunkBackend(processing_pipeline=splunk_pipeline(values), query_settings=splunk_settings(values),
                            output_settings={"dispatch.earliest_time": "-15m", "dispatch.latest_time": "now"})
    saved = backend.convert(collection, "savedsearches")
    header = "# Generated by scripts/compile_detections.py from detections/sigma - do not edit\n"
    return {"default/savedsearches.conf": header + saved.lstrip("\n") + "\n",
            "default/props.conf": render_props(values),
            "default/app.conf": ("# Generated by scripts/compile_detections.py - do not edit\n"
                                 "[launcher]\nversion = 1.0.0\ndescription = aiphone-hardening detections\n\n"
                                 "[ui]\nis_visible = false\nlabel = aiphone detections\n")}


def render_all(rules_dir: Path, values: Values) -> dict[str, str]:
    """Every compiled file, relative to detections/compiled: the Splunk app, the SQLite queries, the CloudWatch metric
    filters and alarms, and an index."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.detections.cloudwatch import render_cloudwatch

    # each backend gets its own copy of the rules: pySigma's processing changes the rules it converts
    files = {f"splunk/aiphone_detections/{name}": text
             for name, text in compile_splunk_app(load_rules(rules_dir), values).items()}
    collection = load_rules(rules_dir)
    sqlite = compile_sqlite(collection, values)
    files["sqlite/queries.json"] = json.dumps(sqlite, indent=2, sort_keys=True) + "\n"
    files["cloudwatch/definitions.json"] = json.dumps(render_cloudwatch(load_rules(rules_dir), values),
                                                      indent=2) + "\n"
    index = [{"name": rule.name, "title": rule.title, "id": str(rule.id),
              "level": rule.level.name.lower() if rule.level else None,
              "checklist": rule.custom_attributes.get("checklist", []),
              "tags": [str(tag) for tag in rule.tags],
              "kind": "correlation" if _is_correlation(rule) else "event"} for rule in alerts(collection)]
    files["alerts.json"] = json.dumps(sorted(index, key=lambda a: a["name"]), indent=2) + "\n"
    return files
