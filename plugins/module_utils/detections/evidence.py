"""Judge one host's deployed detection manifest (/etc/aiphone/detections.json, written by the audit_logging role and
read back by playbooks/audit.yml) for a checklist item: LOG-02 (alerts on failed logins, off-hours access, large
downloads, permission changes, abnormal call volume) and CRD-02 (credential use alerted).

Pure functions of the manifest and a date: the alerts tagged with the item must be deployed, and the replay test that
last passed (tests/integration/detections, its record deployed with the rules) must be of the same compiled rules,
complete (every live alert fired by its attack, no false positive on the normal day) and recent.
"""

from __future__ import annotations

import datetime as dt

MAX_TEST_AGE_DAYS = 180   # as the alerting_configured attestation it replaces


def alerts_for(manifest: dict, item: str) -> list[dict]:
    return [alert for alert in manifest.get("alerts") or [] if item in alert.get("checklist", [])]


def problem(manifest: dict | None, item: str, now: dt.datetime) -> str | None:
    """Why this host's deployed alerts for `item` are not proven, or None."""
    if not manifest:
        return ("no detection rules deployed (/etc/aiphone/detections.json missing): run playbooks/hosts.yml "
                "(audit_logging) with siem: in the site policy")
    alerts = alerts_for(manifest, item)
    if not alerts:
        return f"the deployed detection rules have no alert for {item}"
    test = manifest.get("last_test")
    if not test:
        return "the deployed rules have no record of a passing replay test (tests/integration/detections)"
    if test.get("compiled_sha256") != manifest.get("compiled_sha256"):
        return "the last replay test was of other rules than the deployed ones (compiled digest differs)"
    if not test.get("complete") or test.get("normal_day_false_positives") != 0:
        return (f"the last replay test ({test.get('tested_at')}) did not pass: every alert must fire on its attack "
                f"and the normal day must fire none (false positives: {test.get('normal_day_false_positives')})")
    try:
        tested = dt.datetime.fromisoformat(str(test.get("tested_at")))
    except ValueError:
        return f"the replay test record has no readable date ({test.get('tested_at')!r})"
    if tested.tzinfo is None:
        tested = tested.replace(tzinfo=dt.UTC)
    if now - tested > dt.timedelta(days=MAX_TEST_AGE_DAYS):
        return f"the last replay test passed on {tested.date()}, more than {MAX_TEST_AGE_DAYS} days ago"
    untested = [a["name"] for a in alerts
                if a["name"] not in (test.get("alerts") or {}) and a["name"] not in (test.get("not_replayed") or {})]
    if untested:
        return f"alert(s) no attack fired in the last replay test: {', '.join(untested)}"
    return None


def listing(manifest: dict, item: str) -> list[str]:
    """One line per alert of `item`: its rule, the attack that fired it and the date of that test."""
    test = manifest.get("last_test") or {}
    date = str(test.get("tested_at", "?"))[:10]
    lines = []
    for alert in alerts_for(manifest, item):
        name = alert["name"]
        if name in (test.get("alerts") or {}):
            how = f"fired by {test['alerts'][name]['attack']}; last test {date}"
        else:
            how = f"not in this replay: {(test.get('not_replayed') or {}).get(name, 'no test')}"
        lines.append(f"{name} ({alert.get('title')}, {alert.get('level')}): {how}")
    lines.append(f"normal day ({test.get('normal_day', 'not run')}): "
                 f"{test.get('normal_day_false_positives', '?')} false positive(s)")
    return lines
