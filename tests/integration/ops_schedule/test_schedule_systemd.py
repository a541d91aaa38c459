"""maintenance_schedule against a real systemd (PID 1 in a Debian 12 podman container): the timers are enabled and
started, systemd's next elapse is the window's next opening, a re-run changes nothing, a stopped timer is started
again, a window removed from the policy loses its running timer, state=absent leaves no timer behind."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
IMAGE = "localhost/debian-bookworm-ansible:latest"
POLICY = ROOT / "inventories" / "lab" / "site_policy.yml"
TIMERS = ["aiphone-maint-lab-sunday-night.timer", "aiphone-maint-lab-wednesday-night.timer"]
ENV = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", str(ROOT / "lab/containers/containers.conf")))


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=300, env=ENV)


@pytest.fixture(scope="module")
def container():
    if subprocess.run(["podman", "image", "exists", IMAGE], env=ENV, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is not built (make setup builds it)")
    name = f"aiphone-h8a-systemd-{os.getpid()}"
    podman("run", "-d", "--name", name, "--systemd=always", IMAGE, "/sbin/init")
    try:
        podman("exec", name, "systemctl", "is-system-running", "--wait", check=False)
        # the module reads the policy with PyYAML and jsonschema, as on a control node
        podman("exec", name, "sh", "-c", "apt-get -q update && DEBIAN_FRONTEND=noninteractive "
               "apt-get install -y -q python3-yaml python3-jsonschema")
        podman("exec", name, "mkdir", "-p", "/opt/aiphone/inv")
        podman("cp", str(POLICY), f"{name}:/opt/aiphone/inv/site_policy.yml")
        yield name
    finally:
        podman("rm", "-f", name, check=False)


def schedule_module(container: str, *args: str, check: bool = False) -> dict:
    env = dict(ENV, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PYTHONPATH=f"{ROOT}/collections:{ROOT}",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    command = [str(BIN / "ansible"), "all", "-i", f"{container},", "-c", "containers.podman.podman",
               "-e", "ansible_python_interpreter=/usr/bin/python3", "-m", "aiphone.hardening.maintenance_schedule",
               "-a", " ".join(["policy=/opt/aiphone/inv/site_policy.yml", "project_dir=/opt/aiphone",
                               "python=/usr/bin/python3", "inventory=/opt/aiphone/inv",
                               "report_dir=/var/log/aiphone", "backend=systemd", *args])]
    if check:
        command.append("--check")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, env=env)
    output, _ = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("{"):])
    return output["plays"][0]["tasks"][0]["hosts"][container]


def timer_state(container: str, timer: str) -> dict[str, str]:
    shown = podman("exec", container, "systemctl", "show", timer, "-p", "ActiveState", "-p", "UnitFileState",
                   "-p", "LoadState", "-p", "NextElapseUSecRealtime").stdout
    return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


def next_elapse(state: dict[str, str]) -> dt.datetime:
    stamp = re.sub(r"^\w{3} ", "", state["NextElapseUSecRealtime"]).replace(" UTC", "+00:00")
    return dt.datetime.fromisoformat(stamp)


def test_check_mode_plans_and_changes_nothing(container):
    planned = schedule_module(container, check=True)
    assert planned["changed"] and sorted(planned["started"]) == TIMERS
    assert podman("exec", container, "ls", "/etc/systemd/system").stdout.count("aiphone-maint") == 0


def test_timers_run_under_systemd_and_fire_at_the_next_window_opening(container):
    installed = schedule_module(container)
    assert installed["changed"] and sorted(installed["started"]) == TIMERS, installed
    expected = schedule.next_runs(load_site_policy(str(POLICY)).raw, dt.datetime.now(dt.UTC), 1)
    for timer in TIMERS:
        state = timer_state(container, timer)
        assert (state["ActiveState"], state["UnitFileState"]) == ("active", "enabled"), state
        window = timer.removeprefix("aiphone-maint-lab-").removesuffix(".timer")
        assert next_elapse(state) == dt.datetime.fromisoformat(expected[window][0]["start"])

    again = schedule_module(container)
    assert not again["changed"], again


def test_a_stopped_timer_is_started_again(container):
    podman("exec", container, "systemctl", "stop", TIMERS[1])
    repaired = schedule_module(container)
    assert repaired["changed"] and repaired["started"] == [TIMERS[1]] and repaired["written"] == []
    assert timer_state(container, TIMERS[1])["ActiveState"] == "active"


def test_a_removed_window_loses_its_running_timer_and_absent_removes_all(container, tmp_path):
    shrunk = tmp_path / "site_policy.yml"
    shrunk.write_text(re.sub(r"\n    - \{name: wednesday-night[^\n]*", "", POLICY.read_text()))
    podman("cp", str(shrunk), f"{container}:/opt/aiphone/inv/site_policy.yml")
    try:
        result = schedule_module(container)
        assert result["changed"] and sorted(result["removed"]) == [
            "aiphone-maint-lab-wednesday-night.service", "aiphone-maint-lab-wednesday-night.timer"]
        assert timer_state(container, TIMERS[1])["LoadState"] == "not-found"
        assert timer_state(container, TIMERS[1])["ActiveState"] == "inactive"
        assert timer_state(container, TIMERS[0])["ActiveState"] == "active"

        gone = schedule_module(container, "state=absent")
        assert gone["changed"] and gone["timers"] == []
        listed = podman("exec", container, "systemctl", "list-timers", "--all", "--no-legend", "aiphone-maint-*")
        assert listed.stdout.strip() == ""
        assert not schedule_module(container, "state=absent")["changed"]
    finally:
        podman("cp", str(POLICY), f"{container}:/opt/aiphone/inv/site_policy.yml")
