"""One lab for the whole detection replay session: a PBX host and a probe (lab/linux_hosts.py), people and call data
on the PBX as a site has them, the audit_logging role's audit rules on the PBX's files (kernel_audit.py). The tests
perform ordinary work and attacks on these hosts for real (SSH over the lab network, sudo, cp, chmod, setfacl,
usermod, the agent's transcript log), collect what was written (the PBX's journal, the audit.log of its events) and
run the compiled queries on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from lab import linux_hosts

from .kernel_audit import audited

REPO = Path(__file__).resolve().parents[3]
QUERIES_FILE = REPO / "detections" / "compiled" / "sqlite" / "queries.json"
# Where a passing replay records its date; the audit_logging role deploys it with the rules (LOG-02 / CRD-02 checks).
RECORD = REPO / ".cache" / "test-artifacts" / "detections-replay.json"
# A passing, complete replay is also kept beside the compiled rules it tested: it ships with them (a fresh clone's
# `make demo` deploys it), and tests/unit/detections checks it is of the rules as compiled now.
SHIPPED = REPO / "detections" / "replay-record.json"
# The SIP rules are replayed live against the voice edge, a lab of its own (Kamailio converged by voice_edge):
# tests/integration/voice/test_voice_edge.py::test_sip_attacks_fire_their_detection_rules. Not in this record.
NOT_REPLAYED = {
    "sip_registration_bruteforce": "replayed live against the voice edge in tests/integration/voice (six wrong "
                                   "SIP passwords from a second host); not part of this session's lab",
    "sip_flood_pike": "replayed live against the voice edge in tests/integration/voice (a call flood: 200 "
                      "INVITEs at once); not part of this session's lab",
}
PASSWORDS = {"agent": "Agent-Lab-Password-4", "sam": "Sam-Lab-Password-4"}
RECORDINGS = 60

# Runs as root on the PBX: the people (agent: call-centre agent; sam: an administrator with sudo; mallory, bob),
# the data directories of the audit_logging role with recordings in them, and the auditd package the role installs.
SETUP_PBX = r"""
set -eu
groupadd -f callcenter; groupadd -f supervisors
for user in agent sam mallory bob; do
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
done
usermod -aG callcenter agent
echo "agent:$1" | chpasswd; echo "sam:$2" | chpasswd
printf 'sam ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/lab-sam; chmod 0440 /etc/sudoers.d/lab-sam
for dir in recordings transcripts metadata payment; do
  install -d -m 0750 -o root -g callcenter "/srv/aiphone/$dir"
done
for i in $(seq 1 "$3"); do
  head -c 4096 /dev/urandom > "/srv/aiphone/recordings/call-$i.wav"
done
chgrp callcenter /srv/aiphone/recordings/*.wav; chmod 0640 /srv/aiphone/recordings/*.wav
install_auditd() { DEBIAN_FRONTEND=noninteractive apt-get install -yq --no-install-recommends auditd >/dev/null 2>&1; }
command -v auditctl >/dev/null || install_auditd || { apt-get update -q >/dev/null; install_auditd; }
command -v setfacl >/dev/null
"""


def podman(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / "lab" / "containers" / "containers.conf"))
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=env, check=False,
                            timeout=300)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args[:4])}: {result.stderr}"
    return result


@pytest.fixture(scope="session")
def replay_lab(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("detections-lab")
    try:
        hosts = linux_hosts.start(run_dir, ["pbx-01", "probe-01"])
        pbx = hosts["pbx-01"]["aiphone_lab_container"]
        podman("exec", "-i", pbx, "bash", "-s", "--", PASSWORDS["agent"], PASSWORDS["sam"], str(RECORDINGS),
               stdin=SETUP_PBX)
        pid = int(podman("container", "inspect", "--format", "{{.State.Pid}}", pbx).stdout.strip())
        passwd = podman("exec", pbx, "getent", "passwd").stdout.splitlines()
        users = {fields[2]: fields[0] for fields in (line.split(":") for line in passwd)}
        outside = outside_network(run_dir, pbx, hosts["probe-01"]["aiphone_lab_container"])
        with audited(pbx, pid, run_dir) as audit_log:
            yield {"pbx": pbx, "probe": hosts["probe-01"]["aiphone_lab_container"], "audit_log": audit_log,
                   "pbx_address": hosts["pbx-01"]["ansible_host"], "probe_address": hosts["probe-01"]["ansible_host"],
                   "pbx_outside_address": outside, "automation": hosts["pbx-01"], "users": users,
                   "run_dir": run_dir}
    finally:
        linux_hosts.stop(run_dir)
        podman("network", "rm", "-f", outside_name(run_dir), check=False)


def outside_name(run_dir: Path) -> str:
    return f"aiphone-lab-{hashlib.sha256(str(run_dir).encode()).hexdigest()[:8]}-outside"


def outside_network(run_dir: Path, pbx: str, probe: str) -> str:
    """A second network in 198.18.0.0/15 (RFC 2544 benchmarking: not a private range, so not a site network) joining
    the probe and the PBX: a login over it comes from an unfamiliar place. Returns the PBX's address on it."""
    name = outside_name(run_dir)
    subnet = f"198.18.{int(hashlib.sha256(name.encode()).hexdigest()[:2], 16)}.0/24"
    podman("network", "create", "--subnet", subnet, "--label", f"aiphone.lab.run_dir={run_dir}", name)
    for container in (pbx, probe):
        podman("network", "connect", name, container)
    fmt = '{{(index .NetworkSettings.Networks "' + name + '").IPAddress}}'
    return podman("container", "inspect", "--format", fmt, pbx).stdout.strip()


@pytest.fixture(scope="session")
def replay_record():
    """Filled by the replay tests as they pass; written to RECORD at the end of the session (`complete` only when
    every live alert fired and the normal day was judged)."""
    queries = QUERIES_FILE.read_text()
    record = {"compiled_sha256": hashlib.sha256(queries.encode()).hexdigest(), "alerts": {},
              "not_replayed": NOT_REPLAYED}
    yield record
    live = set(json.loads(queries)) - set(NOT_REPLAYED)
    record["complete"] = set(record["alerts"]) == live and record.get("normal_day_false_positives") == 0
    record["tested_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    if record["complete"]:
        SHIPPED.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
