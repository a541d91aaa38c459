"""`playbooks/site.yml` validates the policy first: a refused policy stops the run before any device is contacted."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


class ConnectionCounter:
    """A TCP listener standing in for every device: it counts who knocks."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture()
def bad_site(tmp_path):
    counter = ConnectionCounter()
    site = tmp_path / "site"
    shutil.copytree(ROOT / "inventories" / "example_site", site)
    policy = site / "site_policy.yml"
    policy.write_text(policy.read_text().replace("vlan: 130", "vlan: 1").replace("sw-floor2-01, platform",
                                                                                  "sw-floor2-01;reload, platform"))
    # every device of the example points at the counter
    hosts = site / "hosts.yml"
    hosts.write_text("\n".join(
        line.split("ansible_host:")[0] + f"ansible_host: 127.0.0.1\n{line.split('ansible_host:')[0]}ansible_port: "
        f"{counter.port}" if "ansible_host:" in line else line for line in hosts.read_text().splitlines()))
    yield site, counter
    counter.close()


def test_refused_policy_stops_site_yml_before_any_device(bad_site, tmp_path):
    site, counter = bad_site
    password = tmp_path / "vault-pass"
    password.write_text("example-site-vault-password-replace-me\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ['PATH']}")
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(site), "--vault-password-file", str(password),
         str(ROOT / "playbooks" / "site.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "zones[2].vlan = 1" in output
    assert "devices[2].name = 'sw-floor2-01;reload'" in output
    recap = output.split("PLAY RECAP", 1)[1]
    assert "localhost" in recap
    assert "sw-core-01" not in recap and "pbx-01" not in recap, "a device was part of the run"
    assert counter.connections == 0
