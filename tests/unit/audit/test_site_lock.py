"""The site lock (module_utils/site_lock.py): exclusive across processes, the holder named, released by a kill;
the controller-tmp cleaner removes only stale payloads of this collection."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import site_lock
from ansible_collections.aiphone.hardening.plugins.module_utils.controller_tmp import clean_controller_tmp


def _hold(directory: str, ready, seconds: float) -> None:
    lock = site_lock.SiteLock(directory)
    lock.acquire(site_lock.holder_info("playbooks/firmware.yml", "run-A"), wait=0)
    ready.set()
    time.sleep(seconds)


@pytest.fixture()
def holder(tmp_path):
    ready = multiprocessing.Event()
    process = multiprocessing.get_context("fork").Process(target=_hold, args=(str(tmp_path / "lab"), ready, 30))
    process.start()
    assert ready.wait(10)
    yield process
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join()


def test_second_run_refused_naming_the_holder(tmp_path, holder):
    lock = site_lock.SiteLock(str(tmp_path / "lab"))
    with pytest.raises(site_lock.SiteLocked) as refused:
        lock.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=0.5)
    message = str(refused.value)
    assert f"pid {holder.pid}" in message and "playbooks/firmware.yml" in message and "run-A" in message
    assert refused.value.holder["run_id"] == "run-A" and not lock.held


def test_a_killed_holder_releases_the_lock(tmp_path, holder):
    seen = []
    lock = site_lock.SiteLock(str(tmp_path / "lab"))
    os.kill(holder.pid, signal.SIGKILL)
    waited = lock.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=10, on_wait=seen.append)
    assert lock.held and waited < 10
    assert site_lock.read_holder(lock.path)["run_id"] == "run-B"
    assert oct(os.stat(lock.path).st_mode & 0o777) == "0o600"
    lock.release()
    assert site_lock.read_holder(lock.path) == {}


def test_the_holder_process_keeps_the_lock_until_the_controller_ends(tmp_path):
    controller = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    controller.start()
    lock = site_lock.SiteLock(str(tmp_path / "lab"))
    lock.acquire(site_lock.holder_info("playbooks/firmware.yml", "run-A", controller.pid), wait=0)
    lock.hold_until_exit(controller.pid)
    assert not lock.held and lock.held_by(controller.pid)           # handed over: the same run finds it its own
    other = site_lock.SiteLock(str(tmp_path / "lab"))
    with pytest.raises(site_lock.SiteLocked):
        other.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=0.3)
    os.kill(controller.pid, signal.SIGKILL)                          # the controller dies (not reaped yet)
    assert other.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=10) < 10
    assert not other.held_by(controller.pid)
    controller.join()
    other.release()


def test_the_lock_outlives_a_killed_controller_while_its_worker_still_runs(tmp_path):
    """Killing only ansible-playbook leaves its worker (own session) running a module: the site stays locked."""
    marker = tmp_path / "worker.pid"
    code = ("import subprocess, sys, time; w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3)'],"
            f" start_new_session=True); open({str(marker)!r}, 'w').write(str(w.pid)); time.sleep(60)")
    controller = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        lock = site_lock.SiteLock(str(tmp_path / "lab"))
        lock.acquire(site_lock.holder_info("playbooks/firmware.yml", "run-A", controller.pid), wait=0)
        lock.hold_until_exit(controller.pid)
        time.sleep(1.5)                                  # the holder has seen the worker
        controller.kill()
        controller.wait()
        other = site_lock.SiteLock(str(tmp_path / "lab"))
        with pytest.raises(site_lock.SiteLocked):        # the worker still runs
            other.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=0.3)
        assert other.acquire(site_lock.holder_info("playbooks/network.yml", "run-B"), wait=10) < 10
        worker = int(marker.read_text())
        assert not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]
        other.release()
    finally:
        controller.kill()
        controller.wait()


def test_playbooks_are_read_from_the_controller_command_line(tmp_path):
    controller = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "-i", "inv.yml",
                                   "playbooks/firmware.yml", "-e", "x.yml"])
    try:
        deadline = time.monotonic() + 10
        while b"sleep" not in Path(f"/proc/{controller.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site_lock.command_of(controller.pid) == os.path.abspath("playbooks/firmware.yml")
    finally:
        controller.kill()
        controller.wait()


def test_free_lock_taken_at_once(tmp_path):
    lock = site_lock.SiteLock(str(tmp_path / "lab"))
    assert lock.acquire(site_lock.holder_info("p", "r"), wait=0) < 1
    lock.release()


def test_run_ids_are_unique():
    assert len({site_lock.new_run_id() for _ in range(100)}) == 100


def test_stale_payloads_of_ours_are_removed(tmp_path):
    dead = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    stale = tmp_path / f"ansible-tmp-1764750000.1-{dead.pid}-123"
    live = tmp_path / f"ansible-tmp-1764750000.1-{os.getpid()}-456"
    foreign = tmp_path / f"ansible-tmp-1764750000.1-{dead.pid}-789"
    for directory, module in ((stale, "firmware_rollout"), (live, "firmware_rollout"), (foreign, "ping")):
        directory.mkdir()
        (directory / f"AnsiballZ_{module}.py").write_text("password=canary")
    tmp_path.chmod(0o755)
    assert clean_controller_tmp(str(tmp_path)) == [str(stale)]
    assert not stale.exists() and live.exists() and foreign.exists()
    assert oct(tmp_path.stat().st_mode & 0o777) == "0o700"
