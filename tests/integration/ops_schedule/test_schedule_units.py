"""The generated timer/service units parse (`systemd-analyze verify`), and systemd's own calendar arithmetic
(`systemd-analyze calendar`) fires them exactly when maintenance_window opens the window — for windows in other
timezones, across spring-forward and fall-back nights, north and south of the equator."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
ELAPSE_RE = re.compile(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
WEEKS = 60          # more than a year: every DST change of the zones below, both ways

pytestmark = pytest.mark.skipif(not os.access(SYSTEMD_ANALYZE, os.X_OK), reason="systemd-analyze is not installed")


def policy(timezone: str, windows: list[dict]) -> dict:
    return {"site": {"name": "remote", "timezone": timezone}, "maintenance": {"windows": windows}}


ZONES = {
    # 02:30 does not exist on 2027-03-14 (spring forward); 01:30 happens twice on 2027-11-07 (fall back)
    "America/New_York": [{"name": "gap", "days": ["sun"], "start": "02:30", "duration": "2h"},
                         {"name": "fold", "days": ["sun", "sat"], "start": "01:30", "duration": "1h"}],
    # southern hemisphere: spring forward on the first Sunday of October, fall back in April
    "Australia/Sydney": [{"name": "gap", "days": ["sun"], "start": "02:15", "duration": "3h"},
                         {"name": "fold", "days": ["sun"], "start": "02:45", "duration": "1h"}],
    "Europe/Berlin": [{"name": "sunday-night", "days": ["sun"], "start": "02:00", "duration": "3h"},
                      {"name": "daily", "days": ["daily"], "start": "23:30", "duration": "1h"}],
}


def settings(tmp_path: Path) -> schedule.RunSettings:
    python = str(Path(sys.executable))
    return schedule.RunSettings(site="remote", project_dir=str(tmp_path), python=python,
                                inventory=str(tmp_path / "inv"), playbook=str(tmp_path / "site.yml"),
                                policy=str(tmp_path / "inv" / "site_policy.yml"), report_dir=str(tmp_path / "r"))


def write_units(tmp_path: Path, site_policy: dict, year: int) -> dict[str, Path]:
    paths = {}
    for name, content in schedule.systemd_files(settings(tmp_path), site_policy, year).items():
        paths[name] = tmp_path / name
        paths[name].write_text(content)
    return paths


def verify(*units: Path) -> subprocess.CompletedProcess:
    return subprocess.run([SYSTEMD_ANALYZE, "verify", *map(str, units)], capture_output=True, text=True,
                          check=False, timeout=60)


def systemd_elapses(timer: Path, base: dt.datetime, count: int) -> list[dt.datetime]:
    """The timer's next ``count`` elapses as systemd computes them (every OnCalendar= line, merged)."""
    specs = [line.split("=", 1)[1] for line in timer.read_text().splitlines() if line.startswith("OnCalendar=")]
    out = subprocess.run([SYSTEMD_ANALYZE, "calendar", f"--iterations={count}",
                          f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC", *specs],
                         capture_output=True, text=True, check=True, timeout=60, env=dict(os.environ, TZ="UTC"))
    found = sorted({dt.datetime.fromisoformat(m + "+00:00") for m in ELAPSE_RE.findall(out.stdout)})
    return found[:count]


@pytest.mark.parametrize("timezone", sorted(ZONES))
def test_units_parse_with_systemd_analyze_verify(tmp_path, timezone):
    units = write_units(tmp_path, policy(timezone, ZONES[timezone]), 2027)
    assert len(units) == 4
    result = verify(*units.values())
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr     # a bad OnCalendar= is only a warning: none allowed


def test_verify_catches_a_broken_calendar_spec_and_a_missing_program(tmp_path):
    units = write_units(tmp_path, policy("Europe/Berlin", ZONES["Europe/Berlin"]), 2027)
    timer = units["aiphone-maint-remote-sunday-night.timer"]
    timer.write_text(timer.read_text().replace("OnCalendar=Sun ", "OnCalendar=Sunnday "))
    assert "Failed to parse calendar specification" in verify(timer).stderr
    service = units["aiphone-maint-remote-daily.service"]
    service.write_text(service.read_text().replace(f"ExecStart={sys.executable}", "ExecStart=/nonexistent/py"))
    assert verify(service).returncode != 0


@pytest.mark.parametrize("timezone", sorted(ZONES))
def test_systemd_fires_exactly_when_maintenance_window_opens_the_window(tmp_path, timezone):
    site_policy = policy(timezone, ZONES[timezone])
    base = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
    units = write_units(tmp_path, site_policy, base.year)
    expected = schedule.next_runs(site_policy, base, WEEKS)
    for window_name, runs in expected.items():
        timer = units[f"{schedule.unit_name('remote', window_name)}.timer"]
        ours = [dt.datetime.fromisoformat(run["start"]).astimezone(dt.UTC) for run in runs]
        assert systemd_elapses(timer, base, len(ours)) == ours, window_name


def test_without_the_dated_lines_systemd_would_skip_the_spring_forward_night(tmp_path):
    """The negative control of the comparison above: the plain weekly spec misses 2027-03-14 in New York."""
    site_policy = policy("America/New_York", ZONES["America/New_York"][:1])
    units = write_units(tmp_path, site_policy, 2027)
    timer = units["aiphone-maint-remote-gap.timer"]
    weekly_only = [line for line in timer.read_text().splitlines() if not line.startswith("OnCalendar=2")]
    timer.write_text("\n".join(weekly_only) + "\n")
    base = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    ours = [dt.datetime.fromisoformat(r["start"]).astimezone(dt.UTC)
            for r in schedule.next_runs(site_policy, base, 4)["gap"]]
    assert dt.datetime(2027, 3, 14, 7, 30, tzinfo=dt.UTC) in ours           # 03:30 EDT, shifted out of the gap
    assert systemd_elapses(timer, base, 4) != ours
