"""playbooks/firmware.yml interrupted and run twice at once, against a lab switch (real SSH/SCP, 1 s reload):

- two runs at once: the second waits for, or is refused by, the site lock with the holder named; reports of both
  runs are kept (one file per run id);
- the controller's whole process tree SIGKILLed during the image transfer and right after the reload: the trail
  verifies, the next run cleans up (transient `ip scp server enable`, the cut image, stale Ansible payloads) and
  reconciles the interrupted attempt before judging the device, which ends on the baseline image with its
  configuration; no file the toolkit wrote holds a device password.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import asyncssh
import pytest
from firmware_lab import SWITCH_CREDENTIALS, SWITCH_NEW, SWITCH_OLD, switch_baseline
from process_tree import kill_tree
from test_firmware_playbook import REPO, inventory, report_of, rollout_results, site_policy

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from lab.sshdevice import FlashSFTPServer

pytestmark = pytest.mark.timeout(600)
SECRETS = (SWITCH_CREDENTIALS.password, SWITCH_CREDENTIALS.enable_secret)


@pytest.fixture()
def site(tmp_path, phone_lab, switch_lab):
    switch_lab.add("sw1", reload_seconds=1.0)
    site_policy(tmp_path / "site_policy.yml", phone_lab, window_open=True)
    inventory(tmp_path / "inventory.yml", phone_lab, switch_lab, tmp_path / "site_policy.yml")
    for name in ("ansible-local", "ansible-remote"):
        (tmp_path / name).mkdir()
    return tmp_path


def start(site: Path, name: str, *args: str) -> subprocess.Popen:
    """firmware.yml (switches) in the background; its output in <site>/<name>.json."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "AIPHONE_OPERATOR": f"pytest-{name}", "PYTHONPATH": f"{REPO / 'collections'}:{REPO}",
           "ANSIBLE_LOCAL_TEMP": str(site / "ansible-local"), "ANSIBLE_REMOTE_TEMP": str(site / "ansible-remote")}
    env.pop("AIPHONE_RUN_ID", None)
    extra = [f"aiphone_audit_dir={site / 'audit'}", f"aiphone_report_root={site / 'reports'}",
             f"aiphone_backup_dir={site / 'backups'}"]
    command = ["ansible-playbook", "-i", str(site / "inventory.yml"), str(REPO / "playbooks" / "firmware.yml"),
               "--tags", "firmware_switches", *(a for var in extra for a in ("-e", var)), *args]
    out = open(site / f"{name}.json", "w", encoding="utf-8")   # noqa: SIM115 - closed by finish()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.out = out
    return process


def finish(process: subprocess.Popen, site: Path, name: str) -> dict:
    process.wait(timeout=400)
    process.out.close()
    text = (site / f"{name}.json").read_text()
    return {"rc": process.returncode, "text": text, "report": report_of(_Proc(text)) if "{" in text else {}}


class _Proc:
    def __init__(self, stdout):
        self.stdout = stdout


def wait_until(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def trail_records(site: Path) -> list[dict]:
    return audit_trail.read_records(str(site / "audit" / "lab"), kind="firmware_attempt")


WRITTEN_BY_THE_TOOLKIT = ("audit", "reports", "backups", "ansible-local", "ansible-remote")


def secret_hits(site: Path) -> list[str]:
    """Every file the toolkit (or Ansible for it) wrote for this site, grepped for the device secrets."""
    files = [p for top in WRITTEN_BY_THE_TOOLKIT for p in (site / top).rglob("*") if p.is_file()]
    assert any(p.parent.name == "lab" and p.name == "trail.jsonl" for p in files)     # the grep sees the trail
    return [f"{path}: {secret[:3]}..." for path in files for secret in SECRETS if secret.encode() in path.read_bytes()]


def test_two_runs_at_once_one_waits_one_is_refused_and_no_report_is_lost(site, switch_lab):
    first = start(site, "first")
    lock = site / "audit" / "lab" / "site.lock"
    wait_until(lambda: lock.exists() and lock.read_text().strip(), what="the first run's lock")
    holder = json.loads(lock.read_text())
    refused = finish(start(site, "refused", "-e", "aiphone_site_lock_wait=0"), site, "refused")
    waiting = start(site, "waiting", "-e", "aiphone_site_lock_wait=300")
    assert first.poll() is None, "the first run ended before the second asked: the test proves nothing"
    assert refused["rc"] != 0
    assert f"pid {holder['pid']}" in refused["text"] and "firmware.yml" in refused["text"]
    assert holder["user"] == "pytest-first" and "locked by pytest-first@" in refused["text"]
    first_run, second_run = finish(first, site, "first"), finish(waiting, site, "waiting")
    assert first_run["rc"] == 0 and second_run["rc"] == 0, second_run["text"][-3000:]
    assert "waiting up to 300 s" in second_run["text"]
    assert rollout_results(_Proc(first_run["text"]))["sw1"]["result"] == "upgraded"
    assert rollout_results(_Proc(second_run["text"]))["sw1"]["result"] == "compliant"
    attempts = [r["result"] for r in trail_records(site)]
    assert attempts == ["started", "upgraded"]                  # one transfer, one reload, no double upgrade
    reports = sorted((site / "reports" / "lab").glob("firmware-switches-*.json"))
    assert len(reports) == 2 and len({json.loads(p.read_text())["counts"].get("upgraded", 0) for p in reports}) == 2


def test_killed_during_transfer_then_cleaned_up_and_upgraded(site, switch_lab, monkeypatch):
    in_transfer, release = threading.Event(), threading.Event()
    original = FlashSFTPServer.write

    def held_write(self, file_obj, offset, data):          # the transfer stalls half-way through the image
        if offset + len(data) <= 4096:
            return original(self, file_obj, offset, data)
        original(self, file_obj, offset, data[:4096 - offset])
        in_transfer.set()
        release.wait(20)
        raise asyncssh.SFTPConnectionLost("the controller is gone")

    monkeypatch.setattr(FlashSFTPServer, "write", held_write)
    run = start(site, "killed")
    assert in_transfer.wait(120), (site / "killed.json").read_text()[-3000:]
    assert kill_tree(run.pid)                 # (the lab's loop is held: no state() call before release)
    finish(run, site, "killed")
    monkeypatch.setattr(FlashSFTPServer, "write", original)
    release.set()
    cut = switch_lab.switches["sw1"].flash_dir / switch_baseline()["image"]
    assert switch_lab.wait_for(cut.exists) and cut.stat().st_size < 8192          # a cut copy on flash
    assert "ip scp server enable" in switch_lab.state("sw1")["running"]          # the killed run's debris
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert trail_records(site) == []          # nothing disruptive was started
    stale = list((site / "ansible-remote").glob("ansible-tmp-*/AnsiballZ_firmware_rollout.py"))
    assert stale and SWITCH_CREDENTIALS.password.encode() in stale[0].read_bytes()   # what the kill leaves

    again = finish(start(site, "again"), site, "again")
    assert again["rc"] == 0, again["text"][-3000:]
    after = switch_lab.state("sw1")
    assert after["version"] == SWITCH_NEW
    assert "ip scp server enable" not in after["running"] and "ip scp server enable" not in after["startup"]
    backup = (site / "backups" / "lab" / "sw1-before-firmware.cfg").read_text()
    assert "ip scp server enable" not in backup
    assert [r["result"] for r in trail_records(site)] == ["started", "upgraded"]
    assert not list((site / "ansible-remote").glob("ansible-tmp-*"))
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert secret_hits(site) == []


def test_killed_right_after_the_reload_is_post_checked_by_the_next_run(site, switch_lab):
    run = start(site, "killed")
    wait_until(lambda: any(r["result"] == "started" for r in trail_records(site)), 120, "the started record")
    wait_until(lambda: not switch_lab.state("sw1")["reachable"], 30, "the reload")
    kill_tree(run.pid)
    finish(run, site, "killed")
    assert [r["result"] for r in trail_records(site)] == ["started"]
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert switch_lab.wait_for(lambda: switch_lab.state("sw1")["reachable"], 30)

    again = finish(start(site, "again"), site, "again")
    assert again["rc"] == 0, again["text"][-3000:]
    records = trail_records(site)
    assert [r["result"] for r in records] == ["started", "upgraded"]
    assert records[1]["reason"] == "completed after interruption"
    assert records[1]["attempt_id"] == records[0]["attempt_id"] and records[1]["run_id"] != records[0]["run_id"]
    assert rollout_results(_Proc(again["text"]))["sw1"]["result"] == "compliant"
    assert switch_lab.state("sw1")["version"] == SWITCH_NEW != SWITCH_OLD
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert secret_hits(site) == []
