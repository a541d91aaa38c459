"""Fixtures every integration test uses to reach the simulated site (lab/).

- ``lab``: the committed lab site served by ``python -m lab up`` (the real CLI) in a temporary run directory, on
  free ports, without the podman Linux hosts, with 1-second reloads; stopped with ``python -m lab down``.
  Shared by the whole session: tests that change a device's state restore it or use ``fresh_lab``.
- ``fresh_lab``: a lab of its own for one test module (firmware and reload tests change versions and configs).
- ``lab_control``: :class:`lab.control.LabControl` of ``lab`` (``lab_control.set_fault(name, fault, **params)``);
  every fault a test switched on is cleared after it.
- ``Lab.netmiko(name)``: netmiko connection parameters with strict host key checking against the lab's
  known_hosts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab.control import LabControl
from lab.device import Credentials
from lab.topology import REPO_ROOT, lab_credentials

RELOAD_SECONDS = 1.0

# Longest files first. `scripts/test-suites.sh` runs the suite on pytest-xdist with `--dist loadfile
# --no-loadscope-reorder`: each file whole on one worker, files handed out in collection order. Left to itself xdist
# would order them by their number of tests, which puts the few-test, many-minute files (the whole-story demo, the
# kill tests) last and leaves one worker running them alone at the end. Measured seconds per file (relative: taken
# at load ~20, `scripts/integration_durations.py` on a `--durations=0` log); a file not listed counts as
# DEFAULT_FILE_SECONDS.
FILE_SECONDS = Path(__file__).with_name("file-seconds.json")
DEFAULT_FILE_SECONDS = 60.0


def pytest_collection_modifyitems(config, items):
    seconds = json.loads(FILE_SECONDS.read_text()) if FILE_SECONDS.is_file() else {}
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::", 1)[0], index)

    def weight(item):
        path = item.nodeid.split("::", 1)[0]
        return (-float(seconds.get(path, DEFAULT_FILE_SECONDS)), first_seen[path])

    items.sort(key=weight)   # stable: a file's tests keep their order and stay together


@dataclass
class Lab:
    run_dir: Path
    control: LabControl
    credentials: Credentials

    @property
    def inventory_file(self) -> Path:
        return self.run_dir / "inventory" / "hosts.yml"

    @property
    def known_hosts(self) -> Path:
        return self.run_dir / "known_hosts"

    def host_vars(self, name: str) -> dict:
        groups = yaml.safe_load(self.inventory_file.read_text())["all"]["children"]
        for group in groups.values():
            if name in group["hosts"]:
                return group["hosts"][name]
        raise KeyError(f"{name} is not in the lab inventory")

    def address(self, name: str) -> tuple[str, int]:
        host_vars = self.host_vars(name)
        return host_vars["ansible_host"], int(host_vars["ansible_port"])

    def netmiko(self, name: str, **overrides) -> dict:
        host, port = self.address(name)
        params = {
            "device_type": "cisco_ios", "host": host, "port": port, "username": self.credentials.username,
            "password": self.credentials.password, "secret": self.credentials.enable_secret,
            "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
            "alt_key_file": str(self.known_hosts), "use_keys": False, "allow_agent": False,
            "conn_timeout": 10, "fast_cli": False,
        }
        params.update(overrides)
        return params

    def reachable(self, name: str) -> bool:
        try:
            with socket.create_connection(self.address(name), timeout=1):
                return True
        except OSError:
            return False

    def boot_count(self, name: str) -> int:
        return int(self.control.status()[name].get("boot_count", 0))

    def wait_rebooted(self, name: str, boots_before: int, timeout: float = 30.0) -> None:
        """Wait until the device booted again since ``boots_before`` and answers SSH (does not depend on catching
        the short unreachable window of a 1-second lab reload)."""
        deadline = time.monotonic() + timeout
        while self.boot_count(name) <= boots_before:
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not reload within {timeout} s")
            time.sleep(0.1)
        self.wait_until(name, reachable=True, timeout=timeout)

    def wait_until(self, name: str, reachable: bool, timeout: float = 20.0) -> None:
        """Poll the device's port until it is (un)reachable; fail the test when it never gets there."""
        deadline = time.monotonic() + timeout
        while self.reachable(name) != reachable:
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not become {'reachable' if reachable else 'unreachable'} in {timeout} s")
            time.sleep(0.1)


def _lab_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'collections'}{os.pathsep}{REPO_ROOT}")
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def start_lab(run_dir: Path, *extra: str) -> Iterator[Lab]:
    result = _lab_cli("up", "--run-dir", str(run_dir), "--base-port", "0", "--no-linux",
                      "--reload-seconds", str(RELOAD_SECONDS), *extra)
    if result.returncode != 0:
        _lab_cli("down", "--run-dir", str(run_dir))
        pytest.fail(f"python -m lab up failed:\n{result.stdout}\n{result.stderr}")
    try:
        yield Lab(run_dir, LabControl(run_dir), lab_credentials())
    finally:
        _lab_cli("down", "--run-dir", str(run_dir))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory.mktemp("lab-run"))


@pytest.fixture(scope="module")
def fresh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory.mktemp("fresh-lab-run"))


@pytest.fixture
def lab_control(lab: Lab) -> Iterator[LabControl]:
    yield lab.control
    for name, state in lab.control.status().items():
        if state["faults"]:
            lab.control.clear_fault(name)
