"""scripts/maintenance_run.py, what each timer starts: a real ansible-playbook run inside a window (report, log,
PLAY RECAP, audit record), skipped outside a window / on a blackout date, skipped while another run holds the
site's flock lock (held by the real flock(1) command), once per window opening in cron mode."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
INSIDE = "2026-11-29T02:10:00+01:00"          # Sunday, the lab's sunday-night window (02:00-05:00 Berlin)
OUTSIDE = "2026-11-29T06:00:00+01:00"
BLACKOUT = "2026-12-27T02:10:00+01:00"        # a Sunday: the policy below blacks it out


@pytest.fixture()
def site(tmp_path) -> Path:
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventories" / "lab", inventory)
    policy = inventory / "site_policy.yml"
    policy.write_text(policy.read_text().replace('blackout_dates: ["2026-12-24"', 'blackout_dates: ["2026-12-27"'))
    return inventory


def runner(site: Path, tmp_path: Path, now: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PYTHONPATH=f"{ROOT}/collections:{ROOT}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    command = [sys.executable, "-m", "scripts.maintenance_run", "--site", "lab", "--window", "sunday-night",
               "--policy", str(site / "site_policy.yml"), "--inventory", str(site),
               "--playbook", str(ROOT / "playbooks" / "validate.yml"), "--report-dir", str(tmp_path / "reports"),
               "--lock-file", str(tmp_path / "lock" / "aiphone-maint-lab.lock"), "--audit-dir", str(tmp_path / "audit"),
               "--vault-password-file", str(site / "vault-password.txt"),
               "--ansible-playbook", str(BIN / "ansible-playbook"), "--now", now, *extra]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)


def reports(tmp_path: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "reports").glob("*.json"))]


def test_a_run_inside_the_window_runs_the_playbook_and_reports_it(site, tmp_path):
    done = runner(site, tmp_path, INSIDE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "window sunday-night (Sun 2026-11-29 02:00 CET" in done.stdout
    assert "PLAY RECAP" in done.stdout                       # the playbook's output reaches the journal
    (report,) = reports(tmp_path)
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["recap"]["localhost"]["failed"] == 0
    assert Path(report["log"]).read_text().count("TASK [Validate the site policy file]") == 1
    site_trail = audit_trail.site_dir(str(tmp_path / "audit"), "lab")
    assert audit_trail.verify(site_trail).ok
    (record,) = audit_trail.read_records(site_trail, kind="scheduled_run")
    assert record["window"] == "sunday-night" and record["status"] == "ok"


def test_outside_the_window_and_on_a_blackout_date_nothing_runs(site, tmp_path):
    for now, hint in ((OUTSIDE, "next window: wednesday-night (Wed 2026-12-02"),
                      (BLACKOUT, "next window: wednesday-night (Wed 2026-12-30")):
        done = runner(site, tmp_path, now)
        assert done.returncode == 0, done.stderr
        assert "skipped: window sunday-night is not open now" in done.stdout and hint in done.stdout
        assert "PLAY RECAP" not in done.stdout
    assert [r["status"] for r in reports(tmp_path)] == ["skipped", "skipped"]


def test_a_run_is_skipped_while_another_run_of_the_site_holds_the_lock(site, tmp_path):
    lock = tmp_path / "lock" / "aiphone-maint-lab.lock"
    lock.parent.mkdir()
    # flock(1) hands the locked descriptor to its child: the whole process group is stopped afterwards
    holder = subprocess.Popen(["/usr/bin/flock", str(lock), "sleep", "120"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        done = runner(site, tmp_path, INSIDE)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert done.returncode == 0, done.stderr
    assert f"skipped: another run of site lab holds {lock}" in done.stdout
    assert "PLAY RECAP" not in done.stdout
    assert [r["status"] for r in reports(tmp_path)] == ["skipped"]
    assert runner(site, tmp_path, INSIDE).returncode == 0          # the lock is free again: it runs
    assert sorted(r["status"] for r in reports(tmp_path)) == ["ok", "skipped"]


def test_cron_mode_runs_each_window_opening_once_and_is_silent_outside(site, tmp_path):
    assert runner(site, tmp_path, OUTSIDE, "--once-per-window").stdout == ""
    assert not (tmp_path / "reports").exists()
    first = runner(site, tmp_path, INSIDE, "--once-per-window")
    assert first.returncode == 0 and "PLAY RECAP" in first.stdout
    later = runner(site, tmp_path, "2026-11-29T02:40:00+01:00", "--once-per-window")
    assert later.returncode == 0 and later.stdout == ""
    assert [r["status"] for r in reports(tmp_path)] == ["ok"]


def test_a_window_no_longer_in_the_policy_is_reported_not_run(site, tmp_path):
    done = runner(site, tmp_path, INSIDE, "--window", "gone-window")
    assert done.returncode == 0
    assert "window gone-window is no longer in" in done.stdout
