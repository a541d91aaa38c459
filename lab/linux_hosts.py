"""The lab's Linux hosts (PBX / AI voice gateway): podman containers with systemd as PID 1, reached over real SSH.

`start(run_dir, hosts)` creates (or reuses) one container per host on a podman network of its own, authorises a
key pair generated in the run directory for the automation account (passwordless sudo), records each host's SSH host
key in a known_hosts file (read out of band with `podman exec`, so Ansible keeps strict host key checking), and
returns the inventory variables of each host. `stop(run_dir)` removes the containers and the network again.

Addressing: rootful podman routes its bridge networks on the host, so the controller reaches each container at its
own address on the lab network (port 22, as on a real site) - no port publishing, and every host keeps its own IP,
which the host firewall rules need (a published 127.0.0.1 port would make every connection come from the gateway).

Several labs may run at once (tests, demo, CI): containers (``aiphone-lab-<run id>-<host>``) and the network
(``aiphone-lab-<run id>``, subnet from podman's pool) are named after a hash of the run directory, so one run never
reuses or removes another's.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = "localhost/debian-bookworm-ansible:latest"
PREFIX = "aiphone-lab-"
AUTOMATION_ACCOUNT = "aiphone-automation"
STATE_DIR = "linux_hosts"
BOOT_TIMEOUT = 60.0
# FUSE for the data_encryption role's gocryptfs volumes (PRI-03): the device and the mount privilege a FUSE mount
# needs inside a container (checked here: without them `mount -t fuse...` fails with EPERM). Lab-only privilege.
FUSE_ARGS = ("--device", "/dev/fuse", "--cap-add", "SYS_ADMIN") if os.path.exists("/dev/fuse") else ()

__all__ = ["HostSpec", "LabHostError", "start", "status", "stop"]


class LabHostError(RuntimeError):
    """A lab Linux host could not be started or reached; the message says which and why."""


@dataclass(frozen=True)
class HostSpec:
    name: str
    image: str = DEFAULT_IMAGE


@dataclass
class RunningHost:
    name: str
    container: str
    address: str
    network: str = ""


def _run_id(run_path: Path) -> str:
    return hashlib.sha256(str(run_path).encode()).hexdigest()[:8]


# -------------------------------------------------------------------------------------------------------------------
# podman
# -------------------------------------------------------------------------------------------------------------------
def _podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / "lab" / "containers" / "containers.conf"))
    return env


def _podman(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=_podman_env(),
                            check=False)
    if check and result.returncode != 0:
        raise LabHostError(f"podman {' '.join(args[:3])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _ensure_image(image: str) -> None:
    if _podman("image", "exists", image, check=False).returncode == 0:
        return
    release = image.removeprefix("localhost/debian-").split("-")[0]
    build = subprocess.run(["bash", str(REPO_ROOT / "lab/containers/build-base-image.sh"), release],
                           env=_podman_env(), check=False)
    if build.returncode != 0:
        raise LabHostError(f"image {image} is missing and could not be built (lab/containers/build-base-image.sh)")


def _ensure_network(network: str, run_path: Path) -> None:
    # podman picks the subnet from its pool (10.89.x.0/24), away from the lab policy's zone subnets
    if _podman("network", "exists", network, check=False).returncode != 0:
        _podman("network", "create", "--label", f"aiphone.lab.run_dir={run_path}", network)


def _container_state(container: str) -> str | None:
    result = _podman("container", "inspect", "--format", "{{.State.Status}}", container, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _container_address(container: str, network: str) -> str:
    fmt = '{{(index .NetworkSettings.Networks "' + network + '").IPAddress}}'
    address = _podman("container", "inspect", "--format", fmt, container).stdout.strip()
    ipaddress.IPv4Address(address)  # raises on an unexpected answer
    return address


def _run_container(spec: HostSpec, container: str, network: str, run_dir: Path) -> None:
    state = _container_state(container)
    if state == "running":
        return
    if state is not None:
        _podman("rm", "-f", container)
    _podman("run", "-d", "--name", container, "--hostname", spec.name, "--network", network,
            "--systemd=always", "--cap-add", "NET_ADMIN", *FUSE_ARGS, "--label", f"aiphone.lab.run_dir={run_dir}",
            spec.image)


# -------------------------------------------------------------------------------------------------------------------
# SSH: key pair, automation account, host keys
# -------------------------------------------------------------------------------------------------------------------
def _ensure_key_pair(state_dir: Path) -> tuple[Path, str]:
    private = state_dir / "id_ed25519"
    public = state_dir / "id_ed25519.pub"
    if not private.exists():
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
        descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        openssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        public.write_text(openssh.decode() + f" {AUTOMATION_ACCOUNT}@aiphone-lab\n")
    return private, public.read_text().strip()


# Runs inside the container as root; idempotent. The sudoers fragment is checked with visudo before it is installed.
_PROVISION_SCRIPT = r"""
set -eu
user="$1"; key="$2"
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
printf '%s\n' "$key" > "$home/.ssh/authorized_keys"
chown "$user:$user" "$home/.ssh/authorized_keys"; chmod 0600 "$home/.ssh/authorized_keys"
printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$user" > /etc/sudoers.d/.aiphone-automation.new
chmod 0440 /etc/sudoers.d/.aiphone-automation.new
visudo -cqf /etc/sudoers.d/.aiphone-automation.new
mv /etc/sudoers.d/.aiphone-automation.new /etc/sudoers.d/aiphone-automation
"""


def _provision_account(container: str, public_key: str) -> None:
    _podman("exec", "-i", container, "bash", "-s", "--", AUTOMATION_ACCOUNT, public_key, stdin=_PROVISION_SCRIPT)


def wait_for_boot(container: str, timeout: float = BOOT_TIMEOUT) -> str:
    """Wait until systemd in `container` has finished booting ("running", or "degraded" when a unit the container
    cannot run failed); return that state. Work started earlier races the boot: systemd-tmpfiles-setup empties /tmp
    (Debian's tmp.conf, `D /tmp`) under a running `apt-get update`, whose gpgv then fails with "Unknown error
    executing apt-key"."""
    deadline = time.monotonic() + timeout
    state = "no answer yet"
    while time.monotonic() < deadline:
        state = _podman("exec", container, "systemctl", "is-system-running", check=False).stdout.strip() or state
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise LabHostError(f"{container}: systemd did not finish booting within {timeout:.0f} s (last state: {state})")


def _wait_for_ssh(container: str, address: str) -> str:
    """Wait until sshd answers on the container's address; return its ed25519 host key line."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        host_key = _podman("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub", check=False)
        if host_key.returncode == 0:
            try:
                with socket.create_connection((address, 22), timeout=2) as sock:
                    if sock.recv(64).startswith(b"SSH-2.0-"):
                        return host_key.stdout.split()[0] + " " + host_key.stdout.split()[1]
            except OSError as exc:
                last_error = str(exc)
        time.sleep(0.5)
    raise LabHostError(f"{container}: sshd did not answer on {address}:22 within {BOOT_TIMEOUT:.0f} s ({last_error})")


# -------------------------------------------------------------------------------------------------------------------
# Public API
# -------------------------------------------------------------------------------------------------------------------
def _specs(hosts) -> list[HostSpec]:
    specs = []
    for host in hosts:
        spec = HostSpec(host) if isinstance(host, str) else HostSpec(**host)
        if not spec.name.replace("-", "").isalnum() or not spec.name[0].isalpha():
            raise LabHostError(f"lab host name {spec.name!r}: use letters, digits and '-', starting with a letter")
        specs.append(spec)
    return specs


def _inventory_vars(host: RunningHost, key_file: Path, known_hosts: Path) -> dict:
    return {
        "ansible_host": host.address,
        "ansible_port": 22,
        "ansible_user": AUTOMATION_ACCOUNT,
        "ansible_ssh_private_key_file": str(key_file),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts} -o IdentitiesOnly=yes",
        "ansible_become": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_timeout": 30,  # the lab shares two cores with the test suites: allow for a slow banner exchange
        "aiphone_lab_container": host.container,
    }


def start(run_dir: str | os.PathLike, hosts) -> dict[str, dict]:
    """Start (or reuse) the lab Linux hosts; return {host name: inventory variables}.

    `hosts` is a list of names (``["pbx-01", "ai-gw-01"]``) or of dicts ``{"name": ..., "image": ...}``.
    Example of one returned entry::

        {"ansible_host": "10.89.1.2", "ansible_port": 22, "ansible_user": "aiphone-automation",
         "ansible_ssh_private_key_file": "<run_dir>/linux_hosts/id_ed25519",
         "ansible_ssh_common_args": "-o UserKnownHostsFile=<run_dir>/linux_hosts/known_hosts -o IdentitiesOnly=yes",
         "ansible_become": True, "ansible_python_interpreter": "/usr/bin/python3",
         "aiphone_lab_container": "aiphone-lab-<run id>-pbx-01"}
    """
    run_path = Path(run_dir).resolve()
    state_dir = run_path / STATE_DIR
    state_dir.mkdir(parents=True, exist_ok=True)
    specs = _specs(hosts)
    key_file, public_key = _ensure_key_pair(state_dir)
    for image in {spec.image for spec in specs}:
        _ensure_image(image)
    network = PREFIX + _run_id(run_path)
    _ensure_network(network, run_path)
    running = []
    for spec in specs:
        container = f"{network}-{spec.name}"
        _run_container(spec, container, network, run_path)
        running.append(RunningHost(spec.name, container, _container_address(container, network), network))
    _save_state(state_dir, running)  # saved early so that stop() cleans up even if a host fails below
    known_hosts = state_dir / "known_hosts"
    lines = []
    for host in running:
        _provision_account(host.container, public_key)
        lines.append(f"{host.address} {_wait_for_ssh(host.container, host.address)}")
    known_hosts.write_text("\n".join(lines) + "\n")
    return {host.name: _inventory_vars(host, key_file, known_hosts) for host in running}


def stop(run_dir: str | os.PathLike) -> list[str]:
    """Remove the lab Linux hosts started for `run_dir` and their network."""
    run_path = Path(run_dir).resolve()
    state_dir = run_path / STATE_DIR
    containers = {host.container for host in _load_state(state_dir)}
    labelled = _podman("ps", "-a", "--filter", f"label=aiphone.lab.run_dir={run_path}", "--format", "{{.Names}}",
                       check=False)
    containers.update(name for name in labelled.stdout.split() if name)
    for container in sorted(containers):
        _podman("rm", "-f", "-t", "3", container, check=False)
    # -f also detaches what a test connected to it (and removes nothing of another run: the name is this run's)
    _podman("network", "rm", "-f", PREFIX + _run_id(run_path), check=False)
    if state_dir.exists():
        shutil.rmtree(state_dir)
    return sorted(containers)


def status(run_dir: str | os.PathLike) -> dict[str, str]:
    """{host name: container state} of the hosts started for `run_dir`."""
    return {host.name: _container_state(host.container) or "absent"
            for host in _load_state(Path(run_dir).resolve() / STATE_DIR)}


def _save_state(state_dir: Path, hosts: list[RunningHost]) -> None:
    (state_dir / "state.json").write_text(json.dumps([asdict(host) for host in hosts], indent=2))


def _load_state(state_dir: Path) -> list[RunningHost]:
    try:
        return [RunningHost(**entry) for entry in json.loads((state_dir / "state.json").read_text())]
    except FileNotFoundError:
        return []


if __name__ == "__main__":  # manual use: python -m lab.linux_hosts up|down RUN_DIR [host ...]
    import sys

    action, directory, *names = sys.argv[1:] or ["", ""]
    if action == "up":
        print(json.dumps(start(directory, names or ["pbx-01", "ai-gw-01"]), indent=2))
    elif action == "down":
        print("removed:", ", ".join(stop(directory)) or "nothing")
    else:
        sys.exit("usage: python -m lab.linux_hosts up|down RUN_DIR [host ...]")
