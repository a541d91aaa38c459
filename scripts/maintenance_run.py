"""Run a site's maintenance playbook for one maintenance window: what the systemd timers and cron lines start.

    python -m scripts.maintenance_run --site lab --window sunday-night --policy inventories/lab/site_policy.yml \\
        --inventory inventories/lab --playbook playbooks/firmware.yml --report-dir reports/schedule/lab \\
        --lock-file /run/lock/aiphone-maint-lab.lock [--audit-dir audit] [--vault-password-file F] [--once-per-window]

1. The window must be open now, as maintenance_window computes it (a blackout date, or a catch-up run after the
   window closed, is skipped and reported).
2. The site's lock is taken with flock(2), non-blocking: while another run of the site holds it (also a person
   running ``flock /run/lock/aiphone-maint-<site>.lock ansible-playbook …``), this run is skipped and reported.
3. The playbook runs; its output goes to stdout (the journal under systemd, syslog under cron) and to a log file.
4. A JSON run report (window, times, exit code, PLAY RECAP per host) is written next to the log, and the run is
   chained into the site's audit trail.

``--once-per-window`` (cron): a window opening already run (its report exists) is not run again, and a window that
is not open is left without a report (cron asks every few minutes).
Exit status: the playbook's, 0 for a skipped run, 2 for a bad argument or policy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import Occurrence, WindowError
from ansible_collections.aiphone.hardening.plugins.module_utils.schedule import ScheduleError, check_name, site_schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy

RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                      r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)")
EXIT_BAD_INPUT = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maintenance_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--window", required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--playbook", required=True)
    parser.add_argument("--report-dir", required=True)
    parser.add_argument("--lock-file", required=True)
    parser.add_argument("--audit-dir", default="")
    parser.add_argument("--vault-password-file", default="")
    parser.add_argument("--extra-var", action="append", default=[], help="key=value passed with -e (repeatable)")
    parser.add_argument("--once-per-window", action="store_true", help="cron mode: one run per window opening")
    parser.add_argument("--ansible-playbook", default=str(Path(sys.executable).parent / "ansible-playbook"))
    parser.add_argument("--now", help="ISO 8601 time with offset instead of the clock (tests)")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"aiphone-maint: {message}", flush=True)


def open_occurrence(args: argparse.Namespace, now: dt.datetime) -> tuple[Occurrence | None, str]:
    """The opening of --window that contains now, or None and why not."""
    schedule = site_schedule(load_site_policy(args.policy).raw)
    if args.window not in {window.name for window in schedule.windows}:
        return None, f"window {args.window} is no longer in {args.policy} (re-run playbooks/schedule.yml)"
    current = schedule.current(now)
    if current is not None and current.name == args.window:
        return current, ""
    upcoming = schedule.next_window(now)
    hint = f"next window: {upcoming.describe()}" if upcoming else "no window within a year"
    return None, f"window {args.window} is not open now (blackout date or a late start); {hint}"


def report_stem(report_dir: Path, occurrence: Occurrence) -> Path:
    return report_dir / f"{occurrence.local_start.strftime('%Y%m%dT%H%M%z')}-{occurrence.name}"


def write_report(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    audit_trail.write_atomic(str(path), (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())


def playbook_command(args: argparse.Namespace, occurrence: Occurrence) -> list[str]:
    command = [args.ansible_playbook, "-i", args.inventory, args.playbook,
               "-e", f"aiphone_scheduled_window={occurrence.name}"]
    if args.vault_password_file:
        command += ["--vault-password-file", args.vault_password_file]
    for extra in args.extra_var:
        command += ["-e", extra]
    return command


def run_playbook(command: list[str], log_path: Path) -> tuple[int, dict[str, dict]]:
    """Run, copying every output line to stdout and the log; return the exit code and the PLAY RECAP."""
    recap: dict[str, dict] = {}
    with log_path.open("w", encoding="utf-8") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            if match := RECAP_RE.match(line):
                keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
                recap[match.group(1)] = dict(zip(keys, map(int, match.groups()[1:]), strict=True))
        sys.stdout.flush()
    return process.returncode, recap


def record(args: argparse.Namespace, report: dict) -> None:
    if args.audit_dir:
        audit_trail.append(audit_trail.site_dir(args.audit_dir, args.site),
                           {"kind": "scheduled_run", "site": args.site,
                            **{k: report[k] for k in ("window", "status", "started", "finished", "exit_code",
                                                      "playbook", "report", "reason") if k in report}})


def skipped(args: argparse.Namespace, now: dt.datetime, reason: str, stem: Path | None) -> int:
    say(f"site {args.site}: skipped: {reason}")
    report = {"site": args.site, "window": args.window, "status": "skipped", "reason": reason,
              "started": now.isoformat(), "playbook": args.playbook}
    if stem is None:
        stem = Path(args.report_dir) / f"{now.strftime('%Y%m%dT%H%M%S%z')}-{args.window}-skipped"
    report["report"] = f"{stem}.json"
    write_report(Path(report["report"]), report)
    record(args, report)
    return 0


def run(args: argparse.Namespace) -> int:
    check_name("site", args.site)
    check_name("window", args.window)
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.UTC)
    occurrence, reason = open_occurrence(args, now)
    if occurrence is None:
        if args.once_per_window:
            return 0
        return skipped(args, now, reason, None)
    stem = report_stem(Path(args.report_dir), occurrence)
    Path(args.lock_file).parent.mkdir(parents=True, exist_ok=True)
    with open(args.lock_file, "a", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if args.once_per_window:
                return 0
            return skipped(args, now, f"another run of site {args.site} holds {args.lock_file}",
                           stem.with_name(stem.name + f"-locked-{os.getpid()}"))
        if args.once_per_window and Path(f"{stem}.json").exists():
            return 0
        return run_locked(args, occurrence, stem)


def run_locked(args: argparse.Namespace, occurrence: Occurrence, stem: Path) -> int:
    command = playbook_command(args, occurrence)
    started = dt.datetime.now(dt.UTC)
    report = {"site": args.site, "window": occurrence.name, "occurrence": occurrence.as_dict(),
              "status": "running", "started": started.isoformat(), "playbook": args.playbook,
              "inventory": args.inventory, "command": command, "log": f"{stem}.log", "report": f"{stem}.json",
              "pid": os.getpid()}
    write_report(Path(f"{stem}.json"), report)
    say(f"site {args.site}: window {occurrence.describe()} open, running {args.playbook}")
    exit_code, recap = run_playbook(command, Path(f"{stem}.log"))
    finished = dt.datetime.now(dt.UTC)
    report.update(status="ok" if exit_code == 0 else "failed", exit_code=exit_code, recap=recap,
                  finished=finished.isoformat(), duration_seconds=round((finished - started).total_seconds(), 1))
    write_report(Path(f"{stem}.json"), report)
    record(args, report)
    say(f"site {args.site}: {report['status']} (exit {exit_code}) in {report['duration_seconds']} s; "
        f"report {stem}.json")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except PolicyError as error:
        say(f"site {args.site}: the site policy is refused, nothing run:\n{error}")
    except (WindowError, ScheduleError, ValueError) as error:
        say(f"site {args.site}: {error}; nothing run")
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
