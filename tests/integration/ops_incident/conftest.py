# -*- coding: utf-8 -*-
"""A Linux host of its own for the incident tests: a systemd container of the lab's Debian 12 image on a podman
network created here (names prefixed aiphone-h8b-, so no other test run clashes), plus a second plain container used
as an outside traffic source. The host runs a stand-in AI voice service (`aiphone-voice-agent.service`, TCP 5061)
and sshd, so isolation, blocking and safe mode are all proved by real connections from outside."""

from __future__ import annotations

import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from traffic import run_probe, verdicts

from lab import linux_hosts

IMAGE = "localhost/debian-bookworm-ansible:latest"
REPO = Path(__file__).resolve().parents[3]
SERVICE_PORT = 5061
VOICE_UNIT = """[Unit]
Description=Stand-in AI voice agent (TCP 5061)
[Service]
ExecStart=/usr/bin/python3 -m http.server 5061
[Install]
WantedBy=multi-user.target
"""


def podman(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class IncidentHost:
    name: str
    address: str
    gateway: str
    source: str             # the second container (an outside client)
    source_address: str
    inventory_file: Path
    run_dir: Path

    def probe_from_source(self, port: int) -> str:
        """The verdict (open / dropped / refused / broken: ...) of a TCP connect from the outside container."""
        [verdict] = verdicts(run_probe(["podman", "exec", self.source], [f"{self.address} tcp/{port}"]))
        return verdict

    def exec(self, *command: str) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *command, check=False)


def _address(container: str, network: str) -> str:
    info = podman("inspect", container, "--format",
                  "{{ (index .NetworkSettings.Networks \"" + network + "\").IPAddress }}").stdout.strip()
    assert info, f"{container} has no address on {network}"
    return info


def _wait_for(host: IncidentHost, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.exec("systemctl", "is-active", "aiphone-voice-agent.service").stdout.strip() == "active" and \
                host.exec("systemctl", "is-active", "ssh.service").stdout.strip() == "active":
            return
        time.sleep(1)
    pytest.fail("the incident test host did not start its services")


@pytest.fixture(scope="module")
def incident_host(tmp_path_factory) -> IncidentHost:
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} not built (make setup builds the lab images)")
    tag = uuid.uuid4().hex[:6]
    network, name, source = f"aiphone-h8b-{tag}", f"aiphone-h8b-host-{tag}", f"aiphone-h8b-src-{tag}"
    run_dir = tmp_path_factory.mktemp("incident-host")
    podman("network", "create", network)
    try:
        podman("run", "-d", "--name", name, "--hostname", "ai-gw-test", "--network", network, "--cap-add",
               "NET_ADMIN", "--systemd", "always", IMAGE, "/sbin/init")
        podman("run", "-d", "--name", source, "--network", network, "--entrypoint", "sleep", IMAGE, "infinity")
        unit = run_dir / "aiphone-voice-agent.service"
        unit.write_text(VOICE_UNIT)
        linux_hosts.wait_for_boot(name)
        podman("cp", str(unit), f"{name}:/etc/systemd/system/aiphone-voice-agent.service")
        podman("exec", name, "systemctl", "enable", "--now", "aiphone-voice-agent.service")
        gateway = podman("network", "inspect", network, "--format",
                         "{{ (index .Subnets 0).Gateway }}").stdout.strip()
        inventory = run_dir / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {
            "vars": {"aiphone_site_name": "lab",
                     "aiphone_site_policy_file": str(REPO / "inventories/lab/site_policy.yml")},
            "children": {"linux_hosts": {"hosts": {name: {
                "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}}}},
        }}))
        host = IncidentHost(name, _address(name, network), gateway, source, _address(source, network), inventory,
                            run_dir)
        _wait_for(host)
        yield host
    finally:
        podman("rm", "-f", "-t", "0", name, source, check=False)
        podman("network", "rm", "-f", network, check=False)
