"""playbooks/schedule.yml (role maintenance_schedule) on localhost into temporary unit/cron directories: install,
idempotent re-run, check mode plans without writing, a window removed from the policy loses its timer, state=absent
removes the site's files, files that are not ours are never touched, a hostile value is refused before any write."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
LAB_UNITS = {f"aiphone-maint-lab-{w}.{kind}" for w in ("sunday-night", "wednesday-night") for kind in ("timer",
                                                                                                          "service")}


@pytest.fixture()
def site(tmp_path) -> Path:
    """A copy of the lab inventory whose policy the test may edit."""
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventories" / "lab", inventory)
    return inventory


def play(site: Path, tmp_path: Path, *extra: str, check: bool = False) -> dict:
    """Run the playbook; return the maintenance_schedule task result and the recap's changed count."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ['PATH']}",
               PYTHONPATH=f"{ROOT}/collections:{ROOT}", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_NOCOLOR="1")
    command = [str(BIN / "ansible-playbook"), "-i", str(site), str(ROOT / "playbooks" / "schedule.yml"),
               "--vault-password-file", str(site / "vault-password.txt"),
               "-e", f"maintenance_schedule_unit_dir={tmp_path / 'units'}",
               "-e", f"maintenance_schedule_cron_dir={tmp_path / 'cron'}",
               "-e", f"maintenance_schedule_report_dir={tmp_path / 'reports'}",
               "-e", "maintenance_schedule_manage_systemd=false", *extra]
    if check:
        command += ["--check", "--diff"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300)
    output, _ = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("{"):])   # profile_tasks may follow
    tasks = [task for play_ in output["plays"] for task in play_["tasks"]]
    result = next((t["hosts"]["localhost"] for t in tasks if t["task"]["name"].endswith("window timers")), {})
    return {"rc": done.returncode, "result": result, "changed": output["stats"]["localhost"]["changed"],
            "stderr": done.stderr}


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())} if directory.is_dir() else {}


def test_install_is_idempotent_and_check_mode_writes_nothing(site, tmp_path):
    planned = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd", check=True)
    assert planned["rc"] == 0, planned
    assert set(planned["result"]["written"]) == LAB_UNITS
    assert any("OnCalendar=Sun *-*-* 02:00:00 Europe/Berlin" in d["after"] for d in planned["result"]["diff"])
    assert files(tmp_path / "units") == {}

    first = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd")
    assert first["rc"] == 0 and first["changed"] == 1, first
    installed = files(tmp_path / "units")
    assert set(installed) == LAB_UNITS
    assert "OnCalendar=Wed *-*-* 01:00:00 Europe/Berlin" in installed["aiphone-maint-lab-wednesday-night.timer"]
    assert set(first["result"]["next_runs"]) == {"sunday-night", "wednesday-night"}

    again = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd")
    assert again["rc"] == 0 and again["changed"] == 0, again
    assert files(tmp_path / "units") == installed


def test_removing_a_window_removes_its_timer_and_absent_removes_only_our_files(site, tmp_path):
    assert play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd")["rc"] == 0
    foreign = {"aiphone-maint-lab-custom.timer": "[Timer]\nOnCalendar=daily\n",     # no marker: not ours
               "ssh.service": "[Service]\nExecStart=/usr/sbin/sshd -D\n"}
    for name, content in foreign.items():
        (tmp_path / "units" / name).write_text(content)

    policy_file = site / "site_policy.yml"
    policy = policy_file.read_text()
    policy_file.write_text(re.sub(r"\n    - \{name: wednesday-night[^\n]*", "", policy))
    shrunk = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd")
    assert shrunk["rc"] == 0 and shrunk["changed"] == 1, shrunk
    assert sorted(shrunk["result"]["removed"]) == ["aiphone-maint-lab-wednesday-night.service",
                                                   "aiphone-maint-lab-wednesday-night.timer"]
    assert set(files(tmp_path / "units")) == {"aiphone-maint-lab-sunday-night.service",
                                              "aiphone-maint-lab-sunday-night.timer", *foreign}

    absent = ("-e", "maintenance_schedule_backend=systemd", "-e", "maintenance_schedule_state=absent")
    gone = play(site, tmp_path, *absent)
    assert gone["rc"] == 0 and gone["changed"] == 1, gone
    assert files(tmp_path / "units") == foreign
    still = play(site, tmp_path, *absent)
    assert still["rc"] == 0 and still["changed"] == 0


def test_cron_fallback_install_and_removal(site, tmp_path):
    first = play(site, tmp_path, "-e", "maintenance_schedule_backend=cron")
    assert first["rc"] == 0 and first["changed"] == 1, first
    (cron_name, content), = files(tmp_path / "cron").items()
    assert cron_name == "aiphone-maint-lab"
    assert len([line for line in content.splitlines() if line.startswith("*/5 ")]) == 2
    assert play(site, tmp_path, "-e", "maintenance_schedule_backend=cron")["changed"] == 0
    gone = play(site, tmp_path, "-e", "maintenance_schedule_backend=cron", "-e", "maintenance_schedule_state=absent")
    assert gone["changed"] == 1 and files(tmp_path / "cron") == {}


def test_a_hostile_value_is_refused_and_nothing_is_written(site, tmp_path):
    hostile = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd",
                   "-e", yaml.safe_dump({"maintenance_schedule_extra_vars": ["x=1\nExecStartPre=/bin/sh -c id"]},
                                        default_flow_style=True).strip())
    assert hostile["rc"] != 0
    assert "cannot go into a unit file" in hostile["result"]["msg"]
    assert files(tmp_path / "units") == {}


def test_switching_backend_removes_the_other_backends_files(site, tmp_path):
    assert play(site, tmp_path, "-e", "maintenance_schedule_backend=cron")["changed"] == 1
    switched = play(site, tmp_path, "-e", "maintenance_schedule_backend=systemd")
    assert switched["rc"] == 0 and switched["changed"] == 1, switched
    assert switched["result"]["removed"] == [str(tmp_path / "cron" / "aiphone-maint-lab")]
    assert files(tmp_path / "cron") == {} and set(files(tmp_path / "units")) == LAB_UNITS
