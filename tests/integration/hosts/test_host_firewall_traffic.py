"""The host firewall proved by traffic: one probe container per zone, on a podman network with the zone's subnet,
probes every service port of both hardened hosts (zone `ai`) with real TCP connects and UDP round trips.

The expected matrix below is written from the lab policy's flows by hand (not computed by the renderer under test).
A blocked probe counts only as a drop from a live address (tests/integration/traffic.py: silence, with the target's
ARP entry complete), never a name, route or local error. Controls: with the table removed every probe succeeds (so a
"blocked" result is the firewall, not a missing listener); removing one allow rule or adding one accept rule is seen
by the probes (the check can fail)."""

from __future__ import annotations

import os
import subprocess

import pytest
from traffic import by_target, run_probe

from .conftest import HOSTS, REPO_ROOT, HardenedHosts, podman

# the shared fixture converges two hosts twice: minutes on a busy machine (timeouts are not measurements)
pytestmark = pytest.mark.timeout(2400)

ZONES = {"mgmt": 10, "voice": 20, "data": 30, "guest": 40, "ai": 50}  # 10.231.<n>.0/24 in the test site
PROBES = [("tcp", 22), ("tcp", 443), ("tcp", 5061), ("tcp", 6514),
          ("udp", 53), ("udp", 67), ("udp", 123), ("udp", 9999), ("udp", 10000), ("udp", 15000), ("udp", 20000),
          ("udp", 20001)]
# flows to `ai` in inventories/lab/site_policy.yml: voice sip-tls + rtp, data https, mgmt ssh (+ https via `any`)
ALLOWED = {
    "mgmt": {("tcp", 22), ("tcp", 443)},
    "voice": {("tcp", 5061), ("udp", 10000), ("udp", 15000), ("udp", 20000)},
    "data": {("tcp", 443)},
    "guest": set(),
    "ai": set(),
}
IMAGE = "localhost/debian-bookworm-ansible:latest"
PREFIX = "aiphone-fwtest-"

# Started on each hardened host: accepts TCP connections and echoes UDP datagrams on every probed port but 22 (sshd).
LISTENER = r"""
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", port))
    while True:
        data, peer = s.recvfrom(512); s.sendto(data, peer)
for spec in sys.argv[1:]:
    proto, port = spec.split("/")
    threading.Thread(target=tcp if proto == "tcp" else udp, args=(int(port),), daemon=True).start()
threading.Event().wait()
"""

def target_address(zone: str, index: int) -> str:
    return f"10.231.{ZONES[zone]}.{10 + index}"


def probe_all(probes: dict[str, str]) -> dict[tuple[str, str, str, int], str]:
    """{(zone, host, proto, port): verdict} (open / dropped / refused / broken: ...) for every zone probe, host and
    probed port."""
    results = {}
    for zone, container in probes.items():
        targets = [f"{target_address(zone, i)} {proto}/{port}" for i in range(len(HOSTS)) for proto, port in PROBES]
        answer = by_target(run_probe(["podman", "exec", container], targets))
        for i, host in enumerate(sorted(HOSTS)):
            for proto, port in PROBES:
                results[(zone, host, proto, port)] = answer[f"{target_address(zone, i)} {proto}/{port}"]
    return results


def expected(host: str) -> dict[tuple[str, str, str, int], str]:
    """The policy's verdicts: open where a flow allows it, dropped (silence from a live host) everywhere else."""
    return {(zone, host, proto, port): "open" if (proto, port) in ALLOWED[zone] else "dropped"
            for zone in ZONES for proto, port in PROBES}


def mismatches(results, host: str) -> list[str]:
    return [f"{zone} -> {h} {proto}/{port}: {got}"
            for (zone, h, proto, port), want in expected(host).items()
            if (got := results[(zone, h, proto, port)]) != want]


def _podman_quiet(*args: str) -> None:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / "lab" / "containers" / "containers.conf"))
    subprocess.run(["podman", *args], capture_output=True, env=env, check=False)


@pytest.fixture(scope="module")
def zone_probes(hardened_hosts: HardenedHosts):
    probes = {}
    try:
        for zone, octet in ZONES.items():
            network = f"{PREFIX}{zone}"
            _podman_quiet("network", "rm", "-f", network)
            podman("network", "create", "--internal", "--subnet", f"10.231.{octet}.0/24", network)
            for index, host in enumerate(sorted(HOSTS)):
                podman("network", "connect", "--ip", target_address(zone, index), network,
                       hardened_hosts.container(host))
            probes[zone] = f"{PREFIX}probe-{zone}"
            _podman_quiet("rm", "-f", probes[zone])
            podman("run", "-d", "--name", probes[zone], "--network", network, "--ip", f"10.231.{octet}.200",
                   IMAGE, "sleep", "infinity")
        specs = [f"{proto}/{port}" for proto, port in PROBES if (proto, port) != ("tcp", 22)]
        for host in HOSTS:
            podman("exec", "-d", hardened_hosts.container(host), "python3", "-c", LISTENER, *specs)
        yield probes
    finally:
        for container in probes.values():
            _podman_quiet("rm", "-f", "-t", "0", container)
        for zone in ZONES:
            for host in HOSTS:
                _podman_quiet("network", "disconnect", f"{PREFIX}{zone}", hardened_hosts.container(host))
            _podman_quiet("network", "rm", "-f", f"{PREFIX}{zone}")


def nft(hosts: HardenedHosts, host: str, *args: str) -> str:
    return podman("exec", hosts.container(host), "nft", *args)


def reload_firewall(hosts: HardenedHosts, host: str) -> None:
    podman("exec", hosts.container(host), "systemctl", "reload", "nftables")


def rule_handle(hosts: HardenedHosts, host: str, comment: str) -> str:
    listing = nft(hosts, host, "-a", "list", "chain", "inet", "aiphone_host", "input")
    line = next(line for line in listing.splitlines() if f'comment "{comment}"' in line and "ip saddr" in line)
    return line.rsplit("# handle ", 1)[1].strip()


def test_zone_service_matrix_matches_the_policy(hardened_hosts, zone_probes):
    results = probe_all(zone_probes)
    for host in HOSTS:
        assert mismatches(results, host) == [], f"{host}: the firewall differs from the policy"


def test_every_port_answers_without_the_firewall(hardened_hosts, zone_probes):
    """Control: the blocked probes above are blocked by the ruleset, not by a missing listener or route."""
    host = "pbx-01"
    nft(hardened_hosts, host, "delete", "table", "inet", "aiphone_host")
    try:
        results = probe_all(zone_probes)
    finally:
        reload_firewall(hardened_hosts, host)
    unanswered = [(key, got) for key, got in results.items() if key[1] == host and got != "open"]
    assert unanswered == []


def test_removing_an_allow_rule_is_detected(hardened_hosts, zone_probes):
    host = "pbx-01"
    nft(hardened_hosts, host, "delete", "rule", "inet", "aiphone_host", "input", "handle",
        rule_handle(hardened_hosts, host, "sip-tls from voice"))
    try:
        assert mismatches(probe_all(zone_probes), host) == ["voice -> pbx-01 tcp/5061: dropped"]
    finally:
        reload_firewall(hardened_hosts, host)
    assert mismatches(probe_all(zone_probes), host) == []


def test_an_extra_accept_rule_is_detected(hardened_hosts, zone_probes):
    host = "ai-gw-01"
    nft(hardened_hosts, host, "insert", "rule", "inet", "aiphone_host", "input", "ip", "saddr", "10.231.40.0/24",
        "tcp", "dport", "443", "accept")
    try:
        assert mismatches(probe_all(zone_probes), host) == ["guest -> ai-gw-01 tcp/443: open"]
    finally:
        reload_firewall(hardened_hosts, host)


def test_ruleset_is_persisted_and_enabled_at_boot(hardened_hosts, zone_probes):
    for host in HOSTS:
        container = hardened_hosts.container(host)
        assert podman("exec", container, "systemctl", "is-enabled", "nftables").strip() == "enabled"
        assert "table inet aiphone_host" in podman("exec", container, "cat", "/etc/nftables.conf")
        podman("exec", container, "nft", "-c", "-f", "/etc/nftables.conf")
