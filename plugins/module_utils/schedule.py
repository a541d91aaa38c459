"""Scheduled maintenance-window runs of a site: systemd timer/service units and a cron fallback, rendered from the
site policy. Pure functions, no I/O; the maintenance_schedule module writes what they return.

One timer per window of the site policy fires at the window's start, in the site's timezone
(``OnCalendar=Sun *-*-* 02:00:00 Europe/Berlin``, systemd >= 245). Its service runs ``scripts/maintenance_run.py``,
which takes the site's flock lock (two runs of a site never overlap), asks
:mod:`maintenance_window` whether the window is really open now (blackout dates, a late catch-up run), runs the
site's maintenance playbook and writes a run report. The cron fallback (no systemd) has no per-line timezone, so it
starts the same runner every few minutes with ``--once-per-window``: the runner itself decides, with the same
window arithmetic, whether the window is open and this opening has not been run yet.

Times are never computed here: next runs come from :class:`maintenance_window.MaintenanceSchedule`.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    DAY_NAMES,
    MaintenanceSchedule,
    Window,
)

UNIT_PREFIX = "aiphone-maint"
MANAGED_MARKER = "# Managed by aiphone.hardening maintenance_schedule"
CRON_INTERVAL_MINUTES = 5
# Dated OnCalendar= lines for spring-forward nights are written for this many calendar years.
GAP_HORIZON_YEARS = 5
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Paths and arguments end up in ExecStart= and crontab lines: no spaces, quotes, %, $, ;, |, ` or control chars.
_SAFE_ARG_RE = re.compile(r"^[A-Za-z0-9_./@+=:,-]+$")
_SYSTEMD_DAYS = {name: name.capitalize() for name in DAY_NAMES}
_RRULE_DAYS = {name: name[:2].upper() for name in DAY_NAMES}
RRULE_ANCHOR = dt.date(2024, 1, 1)          # a Monday


class ScheduleError(ValueError):
    """A value cannot go into a unit file or crontab; the message names it and says what is allowed."""


def check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ScheduleError(f"{kind} {value!r} cannot name a systemd unit: use lower-case letters, digits, '-' or '_' "
                            "(start with a letter, at most 32)")
    return value


def check_arg(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _SAFE_ARG_RE.match(value):
        raise ScheduleError(f"{kind} {value!r} cannot go into a unit file or crontab: only letters, digits and "
                            "_ . / @ + = : , - are allowed (no spaces, quotes, %, $, ;, |, backticks or newlines)")
    return value


# ------------------------------------------------------------------------------------------------ the policy side
def _with_daily_expanded(policy: dict) -> dict:
    """The schema allows ``days: [daily]``; maintenance_window wants day names, so spell daily out."""
    maintenance = dict(policy.get("maintenance") or {})
    maintenance["windows"] = [
        dict(entry, days=list(DAY_NAMES)) if "daily" in (entry.get("days") or []) else entry
        for entry in maintenance.get("windows") or []
    ]
    return dict(policy, maintenance=maintenance)


def site_schedule(policy: dict) -> MaintenanceSchedule:
    """The site's maintenance windows as maintenance_window computes them (the one DST-correct implementation)."""
    return MaintenanceSchedule.from_policy(_with_daily_expanded(policy))


def on_calendar(window: Window, timezone: str) -> str:
    """systemd calendar spec of a window's start: ``Mon,Wed *-*-* 01:00:00 Europe/Berlin``."""
    days = ",".join(_SYSTEMD_DAYS[DAY_NAMES[number]] for number in sorted(window.days))
    if len(window.days) == len(DAY_NAMES):
        days = ""
    spec = f"*-*-* {window.start.strftime('%H:%M')}:00 {timezone}"
    return f"{days} {spec}" if days else spec


def gap_starts(schedule: MaintenanceSchedule, window: Window, first_year: int, years: int) -> list[dt.datetime]:
    """Local starts of the window's openings that maintenance_window moved out of a spring-forward gap.

    systemd skips a calendar time that does not exist on the wall clock (``Sun 02:30 Europe/Berlin`` has no elapse
    on the last Sunday of March), while the policy semantics shift it forward (03:30 CEST). Each such opening
    gets its own dated ``OnCalendar=`` line, so the timer fires exactly when maintenance_window opens the window.
    """
    first, last = dt.date(first_year, 1, 1), dt.date(first_year + years - 1, 12, 31)
    return [occ.local_start for occ in schedule.occurrences(first, last)
            if occ.name == window.name and occ.local_start.time() != window.start]


def awx_rrule(window: Window, timezone: str, days: frozenset[int] | None = None) -> str:
    """AWX/AAP schedule rule (RFC 5545, what awx.awx.schedule takes) firing at the window's start every week
    (on ``days`` instead of the window's own days when given).

    DTSTART is a fixed Monday in the past so the rule text never changes between runs (idempotent in AWX); AWX
    computes the next run from now. [I] How AWX treats a start inside a spring-forward gap is not documented:
    the playbooks check the window themselves and refuse outside it.
    """
    byday = ",".join(_RRULE_DAYS[DAY_NAMES[number]] for number in sorted(days or window.days))
    return (f"DTSTART;TZID={timezone}:{RRULE_ANCHOR:%Y%m%d}T{window.start:%H%M}00 "
            f"RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY={byday}")


def awx_window_schedules(site_schedule: MaintenanceSchedule) -> list[dict]:
    """The AWX schedules of a site's windows: every opening runs exactly one job, so nothing overlaps.

    The first opening of the week of the first window runs the weekly hardening workflow (hardening, then
    firmware); every other opening runs the firmware job template alone.
    """
    schedules = []
    for position, window in enumerate(site_schedule.windows):
        days = sorted(window.days)
        if position == 0:
            schedules.append({"name": window.name, "kind": "hardening_weekly",
                              "label": f"window {window.name} hardening_weekly",
                              "rrule": awx_rrule(window, site_schedule.timezone, frozenset(days[:1]))})
            days = days[1:]
        if days:
            schedules.append({"name": window.name, "kind": "firmware", "label": f"window {window.name} firmware",
                              "rrule": awx_rrule(window, site_schedule.timezone, frozenset(days))})
    return schedules


def next_runs(policy: dict, now: dt.datetime, count: int) -> dict[str, list[dict]]:
    """{window name: its next ``count`` openings (local start/end, duration)} from ``now``; blackout days skipped."""
    schedule = site_schedule(policy)
    runs: dict[str, list[dict]] = {window.name: [] for window in schedule.windows}
    cursor = now
    while any(len(found) < count for found in runs.values()):
        upcoming = schedule.next_window(cursor)
        if upcoming is None:
            break
        if len(runs[upcoming.name]) < count:
            runs[upcoming.name].append(upcoming.as_dict())
        cursor = upcoming.start
    return runs


# ------------------------------------------------------------------------------------------------ rendering
@dataclass(frozen=True)
class RunSettings:
    """How the control node runs a site's maintenance playbook (everything ends up on a command line)."""

    site: str
    project_dir: str
    python: str
    inventory: str
    playbook: str
    policy: str
    report_dir: str
    lock_dir: str = "/run/lock"
    audit_dir: str = ""
    vault_password_file: str = ""
    run_user: str = "root"
    extra_vars: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_name("site name", self.site)
        check_name("run user", self.run_user)
        for kind in ("project_dir", "python", "inventory", "playbook", "policy", "report_dir", "lock_dir"):
            check_arg(kind, getattr(self, kind))
        for kind in ("audit_dir", "vault_password_file"):
            if getattr(self, kind):
                check_arg(kind, getattr(self, kind))
        for extra in self.extra_vars:
            check_arg("extra var", extra)

    @property
    def lock_file(self) -> str:
        return f"{self.lock_dir}/{UNIT_PREFIX}-{self.site}.lock"

    def runner_argv(self, window: str, once_per_window: bool = False) -> list[str]:
        argv = [self.python, "-m", "scripts.maintenance_run", "--site", self.site,
                "--window", check_name("window", window), "--policy", self.policy, "--inventory", self.inventory,
                "--playbook", self.playbook, "--report-dir", self.report_dir, "--lock-file", self.lock_file]
        if self.audit_dir:
            argv += ["--audit-dir", self.audit_dir]
        if self.vault_password_file:
            argv += ["--vault-password-file", self.vault_password_file]
        for extra in self.extra_vars:
            argv += ["--extra-var", extra]
        if once_per_window:
            argv.append("--once-per-window")
        return argv

    @property
    def environment(self) -> dict[str, str]:
        return {"ANSIBLE_CONFIG": f"{self.project_dir}/ansible.cfg",
                "PYTHONPATH": f"{self.project_dir}/collections:{self.project_dir}",
                "ANSIBLE_NOCOLOR": "1"}


def unit_name(site: str, window: str) -> str:
    return f"{UNIT_PREFIX}-{check_name('site name', site)}-{check_name('window', window)}"


def render_timer(settings: RunSettings, schedule: MaintenanceSchedule, window: Window, first_year: int) -> str:
    dated = [f"OnCalendar={start.strftime('%Y-%m-%d %H:%M:%S')} {schedule.timezone}"
             for start in gap_starts(schedule, window, first_year, GAP_HORIZON_YEARS)]
    return "\n".join([
        f"{MANAGED_MARKER}: site {settings.site}, window {window.name}. Edit the site policy, not this file.",
        "[Unit]",
        f"Description=aiphone-hardening maintenance window {window.name} of site {settings.site}",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar(window, schedule.timezone)}",
        *([f"# Spring-forward nights {first_year}-{first_year + GAP_HORIZON_YEARS - 1}: the start does not exist "
           "on the wall clock, the window opens later (re-run playbooks/schedule.yml before then)."] if dated else []),
        *dated,
        # A run missed while the control node was off starts at boot; the runner skips it if the window has closed.
        "Persistent=true",
        "AccuracySec=1min",
        f"Unit={unit_name(settings.site, window.name)}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])


def render_service(settings: RunSettings, window: Window) -> str:
    env_lines = [f"Environment={key}={value}" for key, value in settings.environment.items()]
    # systemd expands % specifiers in ExecStart=; check_arg keeps % out, so the words go in unquoted.
    exec_start = " ".join(settings.runner_argv(window.name))
    return "\n".join([
        f"{MANAGED_MARKER}: site {settings.site}, window {window.name}. Edit the site policy, not this file.",
        "[Unit]",
        f"Description=aiphone-hardening maintenance run of site {settings.site} (window {window.name})",
        f"Documentation=file://{settings.project_dir}/docs/operations.md",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        # oneshot: no start timeout by default; the playbook itself refuses steps that do not fit the window.
        "Type=oneshot",
        f"User={settings.run_user}",
        f"WorkingDirectory={settings.project_dir}",
        *env_lines,
        f"SyslogIdentifier={UNIT_PREFIX}-{settings.site}",
        "StandardOutput=journal",
        "StandardError=journal",
        f"ExecStart={exec_start}",
        "",
    ])


def render_cron(settings: RunSettings, windows: list[Window]) -> str:
    """/etc/cron.d file of a site: one line per window, the runner decides whether the window has just opened."""
    env = " ".join(f"{key}={value}" for key, value in settings.environment.items())
    lines = [f"{MANAGED_MARKER}: site {settings.site} (cron fallback: no systemd). Edit the site policy, "
             "not this file.", "SHELL=/bin/sh", ""]
    for window in windows:
        command = shlex.join(settings.runner_argv(window.name, once_per_window=True))
        lines.append(f"*/{CRON_INTERVAL_MINUTES} * * * * {settings.run_user} cd {settings.project_dir} && env {env} "
                     f"{command} 2>&1 | logger -t {UNIT_PREFIX}-{settings.site}")
    return "\n".join(lines) + "\n"


def systemd_files(settings: RunSettings, policy: dict, first_year: int) -> dict[str, str]:
    """{file name: content} of every timer and service of the site (DST-gap lines from ``first_year`` on)."""
    schedule = site_schedule(policy)
    files = {}
    for window in schedule.windows:
        name = unit_name(settings.site, window.name)
        files[f"{name}.timer"] = render_timer(settings, schedule, window, first_year)
        files[f"{name}.service"] = render_service(settings, window)
    return files


def cron_files(settings: RunSettings, policy: dict) -> dict[str, str]:
    windows = list(site_schedule(policy).windows)
    return {cron_file_name(settings.site): render_cron(settings, windows)} if windows else {}


def cron_file_name(site: str) -> str:
    # cron.d ignores file names with dots: letters, digits, '-' and '_' only
    return f"{UNIT_PREFIX}-{check_name('site name', site)}"


def marker_site(content: str) -> str | None:
    """The site a managed unit/cron file belongs to (None when the file is not ours)."""
    first_line = content.split("\n", 1)[0]
    match = re.match(re.escape(MANAGED_MARKER) + r": site ([a-z][a-z0-9_-]*)[,. ]", first_line)
    return match.group(1) if match else None
