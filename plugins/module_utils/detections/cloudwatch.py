"""The same Sigma rules as Amazon CloudWatch metric filters and alarms (issue 16), for sites whose hosts ship their
logs with the CloudWatch agent (roles/audit_logging `audit_logging_cloudwatch_enabled`: /var/log/auth.log,
/var/log/syslog ... as plain syslog lines in one log group).

What CloudWatch can express, and so what is rendered (AWS, "Filter pattern syntax for metric filters, subscription
filters, filter log events, and Live Tail", unstructured log events):
- a filter pattern over unstructured lines is a set of terms that must all appear (`"Failed password for" "sshd["`),
  a quoted term matched as written (filter patterns are case-sensitive), `-"term"` excludes; so each conjunction of a
  rule's condition (its disjunctive normal form) becomes one metric filter, and all filters of a rule feed one metric
  (`aiphone/detections`, value 1 per matching line, default 0);
- an alarm on that metric's Sum over a period (10, 30 or a multiple of 60 seconds): the rule's correlation window and
  threshold (`gte`), or >= 1 in five minutes for an event rule.
What cannot be expressed, and is listed in `not_rendered` with the reason instead of being approximated:
- auditd rules: an audit event is several lines (SYSCALL, PATH, PROCTITLE ...) joined by their serial; a metric filter
  sees one line at a time;
- conditions on the event's hour or weekday (off-hours rules): a filter pattern cannot read the time of a line;
- regular expressions and numeric comparisons of Sigma, and values holding a double quote.
Correlations grouped by a field (per source address, per person) count across the whole log group in CloudWatch: the
alarm fires on the site-wide total. The per-source alert stays the SIEM's (Splunk/SQLite compilations); the rendered
definition says so in its description.

Field -> term, on a syslog line `TIMESTAMP HOST IDENT[PID]: MESSAGE` (rsyslog's traditional file format, the files
the CloudWatch agent collects): SyslogIdentifier X -> `"X["`; Message starting with V -> `": V"`; Message
containing V -> `"V"` (a lower-case V from its second letter: terms are case-sensitive, Sigma is not); Host H ->
`" H "`; SourceIp in a CIDR -> the network's prefixes as `"from P."` terms (sshd's `... from ADDR port N`), IPv4 only.
"""

from __future__ import annotations

import ipaddress
import itertools

__all__ = ["NAMESPACE", "CloudWatchRenderError", "render_cloudwatch"]

NAMESPACE = "aiphone/detections"
EVENT_PERIOD = 300
LEVEL_ALARM = {"informational": False, "low": False, "medium": True, "high": True, "critical": True}
_MAX_FILTERS = 60   # CloudWatch allows 100 metric filters per log group: keep room for the site's own
_MAX_RULE_FILTERS = 32


class CloudWatchRenderError(ValueError):
    """This rule has no faithful CloudWatch metric filter; the message says why."""


# ---------------------------------------------------------------------------------------------------- terms
def _plain(value) -> tuple[str, str]:
    """A SigmaString -> (kind, text): kind is exact, startswith, endswith or contains (wildcards only at the ends)."""
    from sigma.types import SigmaString, SpecialChars

    if not isinstance(value, SigmaString):
        raise CloudWatchRenderError(f"value {value!r} is not a plain string (regex, number or CIDR)")
    parts = list(value.s)
    lead = bool(parts) and parts[0] == SpecialChars.WILDCARD_MULTI
    trail = len(parts) > 1 and parts[-1] == SpecialChars.WILDCARD_MULTI
    core = parts[int(lead):len(parts) - int(trail)]
    if any(not isinstance(p, str) for p in core):
        raise CloudWatchRenderError(f"value {value} has a wildcard inside it")
    text = "".join(core)
    if '"' in text or "\\" in text or not text.strip():
        raise CloudWatchRenderError(f"value {text!r} cannot be a quoted CloudWatch term")
    kind = {(False, False): "exact", (False, True): "startswith", (True, False): "endswith",
            (True, True): "contains"}[(lead, trail)]
    return kind, text


def _field_terms(cond) -> list[str]:
    """One field = value comparison -> the terms that are all present when it holds (an OR of such lists for CIDR)."""
    from sigma.types import SigmaCIDRExpression

    field = cond.field
    if field in ("EventHour", "EventWeekday"):
        raise CloudWatchRenderError(f"{field}: a filter pattern cannot read the time of a line")
    if field == "SourceIp" and isinstance(cond.value, SigmaCIDRExpression):
        network = ipaddress.ip_network(str(cond.value.network))
        if network.version != 4:
            raise CloudWatchRenderError(f"network {network}: only IPv4 prefixes are rendered")
        aligned = -(-network.prefixlen // 8) * 8   # a /12 is the sixteen /16s in it
        if aligned - network.prefixlen > 4:
            raise CloudWatchRenderError(f"network {network} would need {2 ** (aligned - network.prefixlen)} terms")
        subnets = network.subnets(new_prefix=aligned) if aligned != network.prefixlen else [network]
        terms = []
        for subnet in subnets:
            prefix = ".".join(str(subnet.network_address).split(".")[:aligned // 8])
            terms.append(f"from {prefix}.")
        return terms
    kind, text = _plain(cond.value)
    if field == "SyslogIdentifier" and kind == "exact":
        return [f"{text}["]
    if field == "Message":
        if kind in ("startswith", "exact"):
            return [f": {text}"]
        # Sigma matches without case, a filter term with it: a lower-case phrase is matched from its second letter,
        # so "Ignore previous instructions" and "ignore previous instructions" both count (all capitals does not)
        return [text[1:]] if len(text) > 4 and text[0].isalpha() and text == text.lower() else [text]
    if field == "Host" and kind == "exact":
        return [f" {text} "]
    raise CloudWatchRenderError(f"field {field} ({kind} match) has no term on a syslog line")


def _dnf(node, negated: bool = False) -> list[list[tuple[bool, str]]]:
    """Condition tree -> OR of ANDs of (excluded, term)."""
    from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR

    if isinstance(node, ConditionNOT):
        return _dnf(node.args[0], not negated)
    if isinstance(node, (ConditionAND, ConditionOR)):
        conjunctive = isinstance(node, ConditionAND) != negated   # De Morgan under a NOT
        parts = [_dnf(arg, negated) for arg in node.args]
        if conjunctive:
            return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
        return list(itertools.chain.from_iterable(parts))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        terms = _field_terms(node)
        if not negated:
            return [[(False, term)] for term in terms]   # any of the terms (CIDR prefixes): one conjunction each
        return [[(True, term) for term in terms]]       # none of them
    raise CloudWatchRenderError(f"condition {type(node).__name__} has no CloudWatch form")


def _pattern(conjunction: list[tuple[bool, str]]) -> str:
    if not any(not excluded for excluded, _ in conjunction):
        raise CloudWatchRenderError("a filter needs at least one term that must be present")
    ordered = [t for t in conjunction if not t[0]] + [t for t in conjunction if t[0]]
    return " ".join(("-" if excluded else "") + f'"{term}"' for excluded, term in ordered)


# ---------------------------------------------------------------------------------------------------- rules
def _placeholder_pipeline(values):
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import ValueListPlaceholderTransformation

    return ProcessingPipeline(name="aiphone cloudwatch (placeholders)", priority=20, vars=values.placeholders(),
                              items=[ProcessingItem(identifier="aiphone_placeholders",
                                                    transformation=ValueListPlaceholderTransformation(None))])


def _patterns(rule, pipeline) -> list[str]:
    if rule.logsource.service == "auditd":
        raise CloudWatchRenderError("an auditd event spans several lines joined by their serial; a metric filter "
                                    "sees one line")
    pipeline.apply(rule)
    conjunctions = _dnf(rule.detection.parsed_condition[0].parsed)
    patterns = sorted({_pattern(c) for c in conjunctions})
    if len(patterns) > _MAX_RULE_FILTERS:
        raise CloudWatchRenderError(f"{len(patterns)} filters would be needed")
    return patterns


def _period(seconds: int) -> int:
    if seconds in (10, 30) or seconds % 60 == 0:
        return seconds
    return max(60, (seconds + 59) // 60 * 60)


def render_cloudwatch(collection, values) -> dict:
    """{"namespace", "metric_filters": [{"rule", "args"}], "alarms": [{"rule", "severity", "notify", "args"}],
    "not_rendered": [{"rule", "reason"}]}: `args` are arguments of amazon.aws.cloudwatchlogs_log_group_metric_filter
    and amazon.aws.cloudwatch_metric_alarm, without the site's log group, region and alarm actions (the audit_logging
    role adds them; `notify` says whether the alarm gets the site's alarm actions: medium and above)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.detections.compile import _is_correlation, alerts

    pipeline = _placeholder_pipeline(values)
    by_name = {rule.name: rule for rule in collection.rules}
    patterns: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for rule in collection.rules:
        if _is_correlation(rule):
            continue
        try:
            patterns[rule.name] = _patterns(rule, pipeline)
        except CloudWatchRenderError as exc:
            problems[rule.name] = str(exc)

    filters, alarms, not_rendered = [], [], []
    for rule in alerts(collection):
        level = rule.level.name.lower() if rule.level else "medium"
        if _is_correlation(rule):
            base = [by_name[ref.rule.name if hasattr(ref, "rule") else str(ref)] for ref in rule.rules]
            missing = [b.name for b in base if b.name not in patterns]
            if rule.type.name.lower() != "event_count" or missing:
                reason = (f"base rule {missing[0]}: {problems.get(missing[0])}" if missing
                          else f"correlation type {rule.type.name.lower()}")
                not_rendered.append({"rule": rule.name, "reason": reason})
                continue
            sources = base
            threshold = float(rule.condition.count) if hasattr(rule.condition, "count") else None
            op = rule.condition.op.name.lower() if hasattr(rule.condition, "op") else "gte"
            if threshold is None or op not in ("gte", "gt"):
                not_rendered.append({"rule": rule.name, "reason": f"correlation condition {op}"})
                continue
            comparison = "GreaterThanOrEqualToThreshold" if op == "gte" else "GreaterThanThreshold"
            period = _period(rule.timespan.seconds)
            grouped = list(rule.group_by or [])
        else:
            if rule.name not in patterns:
                not_rendered.append({"rule": rule.name, "reason": problems[rule.name]})
                continue
            sources, threshold, comparison, period, grouped = [rule], 1.0, "GreaterThanOrEqualToThreshold", \
                EVENT_PERIOD, []
        metric = f"aiphone_{rule.name}"
        for source in sources:
            for index, pattern in enumerate(patterns[source.name]):
                filters.append({"rule": rule.name, "args": {
                    "filter_name": f"aiphone-{rule.name}-{source.name}-{index}", "filter_pattern": pattern,
                    "metric_transformation": {"metric_name": metric, "metric_namespace": NAMESPACE,
                                              "metric_value": "1", "default_value": 0.0}}})
        description = f"{rule.title} ({', '.join(rule.custom_attributes.get('checklist', []))}; Sigma {rule.id})"
        if grouped:
            description += f"; counted across the log group, not per {', '.join(grouped)}"
        alarms.append({"rule": rule.name, "severity": level, "notify": LEVEL_ALARM.get(level, True), "args": {
            "name": f"aiphone-{rule.name}", "description": description[:1024], "metric_name": metric,
            "namespace": NAMESPACE, "statistic": "Sum", "comparison": comparison, "threshold": threshold,
            "period": period, "evaluation_periods": 1, "treat_missing_data": "notBreaching", "unit": "Count"}})
    if len(filters) > _MAX_FILTERS:
        raise CloudWatchRenderError(f"{len(filters)} metric filters exceed the {_MAX_FILTERS} this toolkit may use "
                                    "in one log group")
    return {"namespace": NAMESPACE, "metric_filters": filters, "alarms": alarms,
            "not_rendered": sorted(not_rendered, key=lambda n: n["rule"])}
