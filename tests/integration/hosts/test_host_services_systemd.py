"""host_services against real systemd (252, the lab's Debian 12 image, PID 1 in a podman container): units written
here are enabled, started, disabled and stopped with one module call; the second call changes nothing; check mode
plans exactly and touches nothing; a unit file edited on disk makes the call reload systemd first; a unit whose start
condition is not met is reported, one that is not installed fails the run by name."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from lab import linux_hosts

REPO = Path(__file__).resolve().parents[3]
IMAGE = "localhost/debian-bookworm-ansible:latest"
pytestmark = pytest.mark.timeout(600)

ONESHOT = """[Unit]
Description=host_services test unit
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
"""
NOT_IN_A_CONTAINER = ONESHOT.replace("[Service]", "ConditionVirtualization=!container\n[Service]")


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return linux_hosts._podman(*args, check=check)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is not built (make setup builds it)")
    name = f"aiphone-svc-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--systemd=always", IMAGE)
    try:
        linux_hosts.wait_for_boot(name)
        for unit, text in (("hs-one.service", ONESHOT), ("hs-two.service", ONESHOT),
                           ("hs-vm-only.service", NOT_IN_A_CONTAINER)):
            linux_hosts._podman("exec", "-i", name, "sh", "-c", f"cat > /etc/systemd/system/{unit}", stdin=text)
        podman("exec", name, "systemctl", "daemon-reload")
        work = tmp_path_factory.mktemp("host_services")
        (work / "inventory.json").write_text(json.dumps({"all": {"hosts": {"target": {
            "ansible_connection": "containers.podman.podman", "ansible_host": name,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}))
        yield name, work
    finally:
        podman("rm", "-f", "-t", "2", name, check=False)


def call(host, units: list[dict], check: bool = False, **options) -> dict:
    _name, work = host
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
               PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}")
    args = json.dumps({"units": units, **options})
    done = subprocess.run(["ansible", "target", "-i", str(work / "inventory.json"), "-m",
                           "aiphone.hardening.host_services", "-a", args, "--diff", *(["--check"] if check else [])],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    try:
        # profile_tasks (a callback ansible.cfg enables) prints around the json callback's document
        document, _end = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("\n{\n") + 1:])
        return document["plays"][0]["tasks"][0]["hosts"]["target"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no JSON result from ansible (rc {done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")


def state(host, unit: str) -> tuple[str, str]:
    name, _work = host
    enabled = podman("exec", name, "systemctl", "is-enabled", unit, check=False).stdout.strip()
    active = podman("exec", name, "systemctl", "is-active", unit, check=False).stdout.strip()
    return enabled, active


UNITS = [{"name": "hs-one.service", "enabled": True, "state": "started"},
         {"name": "hs-two", "enabled": True},                       # no suffix: .service, as systemctl reads it
         {"name": "apt-daily.timer", "enabled": False, "state": "stopped"}]


def test_check_mode_plans_and_changes_nothing_then_one_call_converges_and_a_second_changes_nothing(host):
    before = {unit: state(host, unit) for unit in ("hs-one.service", "hs-two.service", "apt-daily.timer")}
    assert before["hs-one.service"] == ("disabled", "inactive") and before["apt-daily.timer"] == ("enabled", "active")
    planned = call(host, UNITS, check=True)
    assert planned["changed"] and planned["changed_units"] == ["hs-one.service", "hs-two", "apt-daily.timer"]
    assert [u["actions"] for u in planned["units"]] == [["enable", "start"], ["enable"], ["disable", "stop"]]
    assert "hs-one.service: disabled, inactive" in planned["diff"]["before"]
    assert "hs-one.service: enabled, active" in planned["diff"]["after"]
    assert {unit: state(host, unit) for unit in before} == before           # nothing touched

    done = call(host, UNITS)
    assert done["changed"] and done["changed_units"] == planned["changed_units"]
    assert state(host, "hs-one.service") == ("enabled", "active")
    assert state(host, "hs-two.service") == ("enabled", "inactive")       # enabled only: not started
    assert state(host, "apt-daily.timer") == ("disabled", "inactive")
    assert done["units"][0]["after"] == {"enabled": "enabled", "active": "active"}

    again = call(host, UNITS)
    assert not again["changed"] and again["changed_units"] == [] and not again["daemon_reloaded"]
    assert "diff" not in again or not again["diff"].get("before")


def test_a_unit_file_changed_on_disk_is_reloaded_before_it_is_read(host):
    name, _work = host
    podman("exec", name, "sh", "-c", "sed -i 's/^Description=.*/Description=edited/' "
                                     "/etc/systemd/system/hs-one.service")
    assert podman("exec", name, "systemctl", "show", "-p", "NeedDaemonReload", "hs-one.service").stdout.strip() \
        == "NeedDaemonReload=yes"
    planned = call(host, UNITS[:1], check=True)
    assert planned["daemon_reloaded"] and not planned["changed"]
    assert podman("exec", name, "systemctl", "show", "-p", "NeedDaemonReload", "hs-one.service").stdout.strip() \
        == "NeedDaemonReload=yes"                                          # check mode did not reload
    done = call(host, UNITS[:1])
    assert done["daemon_reloaded"] and not done["changed"]
    assert podman("exec", name, "systemctl", "show", "-p", "Description", "hs-one.service").stdout.strip() \
        == "Description=edited"


def test_a_start_whose_condition_is_not_met_is_reported(host):
    done = call(host, [{"name": "hs-vm-only.service", "enabled": True, "state": "started"}])
    assert done["changed"] and done["inactive_after_start"] == ["hs-vm-only.service"]
    assert "hs-vm-only.service was started but is inactive" in json.dumps(done.get("warnings", []))
    assert state(host, "hs-vm-only.service") == ("enabled", "inactive")


def test_a_unit_that_is_not_installed_fails_the_run_naming_it_and_is_planned_in_check_mode(host):
    units = [{"name": "hs-one.service", "enabled": True, "state": "started"},
             {"name": "aiphone-not-there.timer", "enabled": True, "state": "started"}]
    planned = call(host, units, check=True)
    assert not planned.get("failed") and planned["changed_units"] == ["aiphone-not-there.timer"]
    assert "aiphone-not-there.timer is not installed yet" in json.dumps(planned.get("warnings", []))
    failed = call(host, units)
    assert failed["failed"] and "aiphone-not-there.timer is not installed on this host" in failed["msg"]
    # nothing to disable where there is no unit
    assert not call(host, [{"name": "aiphone-not-there.timer", "enabled": False, "state": "stopped"}])["changed"]
