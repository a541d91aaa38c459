"""Dry run of the maintenance schedule: the next N runs of every window of one or more sites; touches nothing.

    python -m scripts.schedule_preview inventories/lab [inventories/other ...] [-n 10] [--now 2027-03-27T12:00+00:00]
    ... --calendar     # also print the OnCalendar= lines the timers get (compare: systemd-analyze calendar ...)

Times come from maintenance_window (DST-correct, blackout dates skipped), the same code the runs are gated by.
Exit status 0, 1 when a policy is refused, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import WindowError
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy
from scripts.validate_policy import policy_path


def describe_site(policy: dict, now: dt.datetime, count: int, calendar: bool) -> list[str]:
    site_schedule = schedule.site_schedule(policy)
    lines = [f"site {policy['site']['name']} ({site_schedule.timezone}):"]
    runs = schedule.next_runs(policy, now, count)
    for window in site_schedule.windows:
        lines.append(f"  window {window.name}")
        if calendar:
            lines.append(f"    OnCalendar={schedule.on_calendar(window, site_schedule.timezone)}")
            lines += [f"    OnCalendar={start:%Y-%m-%d %H:%M:%S} {site_schedule.timezone}   (spring-forward night)"
                      for start in schedule.gap_starts(site_schedule, window, now.year, schedule.GAP_HORIZON_YEARS)]
        for run in runs[window.name]:
            start = dt.datetime.fromisoformat(run["start"])
            lines.append(f"    {start:%a %Y-%m-%d %H:%M %z}  for {run['duration_seconds'] // 60} min"
                         f"  (UTC {start.astimezone(dt.UTC):%Y-%m-%d %H:%M})")
    if not site_schedule.windows:
        lines.append("  no maintenance window: nothing would be scheduled")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="+", help="site inventory directories or site policy files")
    parser.add_argument("-n", "--count", type=int, default=5, help="runs per window (default 5)")
    parser.add_argument("--now", help="ISO 8601 time with offset to start from (default: the clock)")
    parser.add_argument("--calendar", action="store_true", help="print the timers' OnCalendar= lines too")
    args = parser.parse_args(argv)
    try:
        now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.UTC)
    except ValueError:
        parser.error(f"--now {args.now!r} is not an ISO 8601 time such as 2027-03-27T12:00+00:00")
    if now.tzinfo is None or args.count < 1:
        parser.error("--now needs a UTC offset and -n must be at least 1")
    status = 0
    for site in args.sites:
        try:
            print("\n".join(describe_site(load_site_policy(policy_path(site)).raw, now, args.count, args.calendar)))
        except (PolicyError, WindowError) as error:
            print(f"{site}: refused:\n{error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
