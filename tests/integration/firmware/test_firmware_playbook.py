"""playbooks/firmware.yml end to end (ansible-playbook -> role -> firmware_rollout -> drivers) against lab devices:
check mode is a plan that changes nothing, the run upgrades switch + phones and records them, the second run
changes nothing, and outside the window nothing is rebooted."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from firmware_lab import PASSWORD, PHONES, REST_USER, SWITCH_CREDENTIALS, SWITCH_NEW, switch_baseline

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[3]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def site_policy(path: Path, lab, window_open: bool) -> None:
    policy = yaml.safe_load((REPO / "inventories" / "lab" / "site_policy.yml").read_text())
    policy["firmware_baselines"] = [*lab.policy["firmware_baselines"], switch_baseline()]
    zone = ZoneInfo(policy["site"]["timezone"])
    start = (dt.datetime.now(zone) - dt.timedelta(hours=1 if window_open else 6)).replace(second=0, microsecond=0)
    policy["maintenance"] = {"windows": [{"name": "test-window", "days": [DAYS[start.weekday()]],
                                          "start": start.strftime("%H:%M"), "duration": "3h"}],
                             "blackout_dates": []}
    path.write_text(yaml.safe_dump(policy, sort_keys=False))


def inventory(path: Path, lab, switch_lab, policy: Path) -> None:
    phones = {}
    for name, phone in lab.phones.items():
        phones[name] = {"ansible_host": phone.host, "ansible_port": phone.port, "platform": phone.platform,
                        "model": phone.model, "ansible_user": REST_USER.get(phone.platform, "admin"),
                        "ansible_password": PASSWORD, "firmware_reboot_seconds": phone.reboot_seconds}
        if phone.platform == "yealink":
            phones[name]["sip_port"] = phone.sip_port
    switches = {name: {"ansible_host": sw.host, "ansible_port": sw.port, "platform": "cisco_ios", "model": sw.model,
                       "ansible_user": SWITCH_CREDENTIALS.username, "ansible_password": SWITCH_CREDENTIALS.password,
                       "ansible_become_password": SWITCH_CREDENTIALS.enable_secret,
                       "firmware_reboot_seconds": sw.reload_seconds + 1}
                for name, sw in switch_lab.switches.items()}
    local = {"ansible_connection": "ansible.builtin.local", "ansible_python_interpreter": sys.executable}
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"aiphone_site_policy_file": str(policy), "aiphone_site_name": "lab",
                 "aiphone_known_hosts_file": str(switch_lab.known_hosts), "firmware_dir": str(lab.firmware_dir),
                 "aiphone_provisioning_url": lab.prov.url, "aiphone_provisioning_dir": str(lab.prov.root),
                 "firmware_busy_retry_seconds": 1, "firmware_phone_canary": "1", "firmware_phone_batch_size": "50%"},
        "hosts": {"localhost": local},
        "children": {"switches": {"hosts": switches, "vars": local}, "phones": {"hosts": phones, "vars": local}},
    }}))


def playbook(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "AIPHONE_OPERATOR": "pytest-operator",
           "PYTHONPATH": f"{REPO / 'collections'}:{REPO}"}
    command = ["ansible-playbook", "-i", str(tmp / "inventory.yml"), str(REPO / "playbooks" / "firmware.yml")]
    extra = [f"aiphone_audit_dir={tmp / 'audit'}", f"aiphone_report_root={tmp / 'reports'}",
             f"aiphone_backup_dir={tmp / 'backups'}"]
    return subprocess.run([*command, *(arg for var in extra for arg in ("-e", var)), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=540, check=False)


def report_of(proc: subprocess.CompletedProcess) -> dict:
    """The json callback's document (other enabled callbacks may print lines around it)."""
    return json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{"):])[0]


def rollout_results(proc: subprocess.CompletedProcess) -> dict:
    report = report_of(proc)
    results = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            outcome = task["hosts"].get("localhost", {})
            if "Firmware | Roll out the baselines" in task["task"]["name"] and "devices" in outcome:
                results.update({d["device"]: d for d in outcome["devices"]})
    return results


def failures(proc: subprocess.CompletedProcess) -> str:
    report = report_of(proc)
    return json.dumps([(task["task"]["name"], outcome.get("msg"), outcome.get("devices"))
                       for play in report["plays"] for task in play["tasks"]
                       for outcome in task["hosts"].values() if outcome.get("failed")], indent=1)[-4000:]


def recap(proc: subprocess.CompletedProcess) -> dict:
    return report_of(proc)["stats"]["localhost"]


@pytest.fixture()
def site(tmp_path, phone_lab, switch_lab):
    switch_lab.add("sw1")
    for platform in PHONES:
        phone_lab.add(platform, f"{platform}-1")
    return tmp_path


def test_check_then_run_then_idempotent(site, phone_lab, switch_lab):
    site_policy(site / "site_policy.yml", phone_lab, window_open=True)
    inventory(site / "inventory.yml", phone_lab, switch_lab, site / "site_policy.yml")

    plan = playbook(site, "--check")
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-2000:]
    assert {r["result"] for r in rollout_results(plan).values()} == {"planned"}
    assert switch_lab.state("sw1")["version"] != SWITCH_NEW

    run = playbook(site)
    assert run.returncode == 0, failures(run)
    results = rollout_results(run)
    assert {name: r["result"] for name, r in results.items()} == dict.fromkeys(results, "upgraded")
    assert switch_lab.state("sw1")["version"] == SWITCH_NEW
    assert all(phone_lab.version(name) == PHONES[p.platform][3] for name, p in phone_lab.phones.items())
    trail = (site / "audit" / "lab" / "trail.jsonl").read_text()
    assert trail.count('"kind":"firmware_attempt"') == 8 and "pytest-operator" in trail   # started + end each
    assert trail.count('"result":"started"') == 4
    assert PASSWORD not in run.stdout and SWITCH_CREDENTIALS.password not in run.stdout
    assert list((site / "reports" / "lab").glob("firmware-phones-*.json"))

    again = playbook(site)
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.stdout[-3000:]
    assert {r["result"] for r in rollout_results(again).values()} == {"compliant"}


def test_outside_the_window_nothing_reboots(site, phone_lab, switch_lab):
    site_policy(site / "site_policy.yml", phone_lab, window_open=False)
    inventory(site / "inventory.yml", phone_lab, switch_lab, site / "site_policy.yml")
    run = playbook(site, "--tags", "firmware_phones")
    results = rollout_results(run)
    assert {r["result"] for r in results.values()} == {"deferred"}, results
    assert all("next window" in r["reason"] for r in results.values())
    assert all(phone_lab.version(name) == PHONES[p.platform][2] for name, p in phone_lab.phones.items())
