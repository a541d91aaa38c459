"""Maintenance schedule rendering: calendar specs, spring-forward lines, injection refusals, cron file (offline)."""

import datetime as dt

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import WindowError

POLICY = {
    "site": {"name": "lab", "timezone": "Europe/Berlin"},
    "maintenance": {
        "windows": [
            {"name": "sunday-night", "days": ["sun"], "start": "02:30", "duration": "3h"},
            {"name": "midweek", "days": ["wed", "mon"], "start": "01:00", "duration": "90m"},
            {"name": "nightly", "days": ["daily"], "start": "23:15", "duration": "30m"},
        ],
        "blackout_dates": ["2026-12-27"],
    },
}


def settings(**overrides):
    values = {"site": "lab", "project_dir": "/opt/aiphone", "python": "/opt/aiphone/.venv/bin/python",
              "inventory": "/opt/aiphone/inventories/lab", "playbook": "/opt/aiphone/playbooks/firmware.yml",
              "policy": "/opt/aiphone/inventories/lab/site_policy.yml", "report_dir": "/var/log/aiphone/lab",
              "audit_dir": "/opt/aiphone/audit"}
    return schedule.RunSettings(**{**values, **overrides})


def window(name):
    return next(w for w in schedule.site_schedule(POLICY).windows if w.name == name)


def test_calendar_specs_name_the_days_the_time_and_the_site_timezone():
    assert schedule.on_calendar(window("sunday-night"), "Europe/Berlin") == "Sun *-*-* 02:30:00 Europe/Berlin"
    assert schedule.on_calendar(window("midweek"), "Europe/Berlin") == "Mon,Wed *-*-* 01:00:00 Europe/Berlin"
    assert schedule.on_calendar(window("nightly"), "Europe/Berlin") == "*-*-* 23:15:00 Europe/Berlin"


def test_spring_forward_openings_get_dated_lines_and_nothing_else_does():
    sched = schedule.site_schedule(POLICY)
    starts = schedule.gap_starts(sched, window("sunday-night"), 2027, 2)
    assert [s.isoformat() for s in starts] == ["2027-03-28T03:30:00+02:00", "2028-03-26T03:30:00+02:00"]
    assert schedule.gap_starts(sched, window("midweek"), 2027, 5) == []
    timer = schedule.render_timer(settings(), sched, window("sunday-night"), 2027)
    assert "OnCalendar=2027-03-28 03:30:00 Europe/Berlin" in timer.splitlines()
    assert len([line for line in timer.splitlines() if line.startswith("OnCalendar=")]) == 1 + 5


def test_next_runs_skip_blackout_dates_and_follow_the_dst_shift():
    runs = schedule.next_runs(POLICY, dt.datetime(2026, 12, 20, 12, tzinfo=dt.UTC), 2)
    assert [r["start"] for r in runs["sunday-night"]] == ["2027-01-03T02:30:00+01:00", "2027-01-10T02:30:00+01:00"]
    spring = schedule.next_runs(POLICY, dt.datetime(2027, 3, 27, tzinfo=dt.UTC), 1)["sunday-night"][0]
    assert spring["start"] == "2027-03-28T03:30:00+02:00"
    assert spring["duration_seconds"] == 2 * 3600          # 02:30-05:30 on the wall clock, one hour is skipped
    assert set(schedule.next_runs(POLICY, dt.datetime(2027, 1, 1, tzinfo=dt.UTC), 3)) == {
        "sunday-night", "midweek", "nightly"}


def test_service_runs_the_locked_runner_with_absolute_paths_and_journal_logging():
    service = schedule.render_service(settings(), window("sunday-night"))
    lines = service.splitlines()
    assert lines[0].startswith(schedule.MANAGED_MARKER + ": site lab, window sunday-night.")
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    assert exec_start.split()[1:3] == ["-m", "scripts.maintenance_run"]
    assert "--lock-file /run/lock/aiphone-maint-lab.lock" in exec_start
    assert "--window sunday-night" in exec_start and "--once-per-window" not in exec_start
    assert {"Type=oneshot", "SyslogIdentifier=aiphone-maint-lab", "StandardOutput=journal",
            "WorkingDirectory=/opt/aiphone"} <= set(lines)


def test_cron_fallback_has_one_line_per_window_asking_the_runner_every_few_minutes():
    cron = schedule.cron_files(settings(), POLICY)
    (name, content), = cron.items()
    assert name == "aiphone-maint-lab" and "." not in name   # cron.d ignores names with dots
    jobs = [line for line in content.splitlines() if line.startswith("*/")]
    assert len(jobs) == 3
    assert all("--once-per-window" in job and "| logger -t aiphone-maint-lab" in job for job in jobs)
    assert all(job.split()[5] == "root" for job in jobs)


@pytest.mark.parametrize("field,value", [
    ("inventory", "/opt/inv; rm -rf /"), ("playbook", "/opt/p.yml\nExecStartPre=/bin/sh"),
    ("report_dir", "/var/log/a b"), ("python", "/opt/$(id)/python"), ("policy", "/opt/%n.yml"),
    ("vault_password_file", "/opt/`id`"), ("project_dir", "/opt/a|b"), ("audit_dir", "/opt/'x'"),
])
def test_hostile_paths_never_reach_a_unit_file(field, value):
    with pytest.raises(schedule.ScheduleError, match=field):
        settings(**{field: value})


@pytest.mark.parametrize("field,value", [("site", "Lab"), ("site", "lab\n[Service]"), ("run_user", "root;id"),
                                         ("extra_vars", ("a=b c",))])
def test_hostile_names_are_refused(field, value):
    with pytest.raises(schedule.ScheduleError):
        settings(**{field: value})


def test_a_window_name_that_cannot_name_a_unit_is_refused():
    with pytest.raises(schedule.ScheduleError, match="window"):
        schedule.unit_name("lab", "Sunday Night")


def test_marker_tells_which_site_a_file_belongs_to_even_with_prefix_sharing_names():
    lab = schedule.render_timer(settings(), schedule.site_schedule(POLICY), window("midweek"), 2027)
    lab2 = schedule.render_timer(settings(site="lab-2"), schedule.site_schedule(POLICY), window("midweek"), 2027)
    assert schedule.marker_site(lab) == "lab"
    assert schedule.marker_site(lab2) == "lab-2"
    assert schedule.marker_site("[Timer]\nOnCalendar=daily\n") is None


def test_a_policy_without_timezone_is_refused_with_the_reason():
    with pytest.raises(WindowError, match="timezone"):
        schedule.site_schedule({"site": {"name": "x"}, "maintenance": {"windows": []}})
