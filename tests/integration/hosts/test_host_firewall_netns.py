"""The host ruleset under real traffic in network namespaces: IPv6, the SIP flood limit and drop logging.

The container tests (test_host_firewall_traffic.py) prove the zone x service matrix over IPv4. Here the rendered
ruleset is loaded with real nftables into a namespace `fw` (a PBX in the `ai` zone), a namespace `peer` holds one
source address per zone (IPv4 and IPv6, on one link), and a small TCP server in `fw` answers on every port the
policy mentions. What is proved by connections (tests/integration/traffic.py: a drop is silence from an address that
answered ARP/NDP), counters and the kernel log, not by reading the ruleset text:
- IPv6 follows the same zone rules as IPv4 once `zone_ipv6` maps the zones to prefixes, and without that mapping
  IPv6 is dropped (never left open);
- new SIP-TLS connections above the rate are dropped per source address, another source is unaffected;
- dropped packets are logged with our prefix.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from traffic import run_probe, verdicts

from ansible_collections.aiphone.hardening.plugins.module_utils.nftables_render import render_host_ruleset
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO_ROOT = Path(__file__).resolve().parents[3]
POLICY = load_site_policy(REPO_ROOT / "inventories" / "lab" / "site_policy.yml")
HOST_V4, HOST_V6 = "10.10.50.10", "fd00:50::10"
SOURCES_V4 = {"mgmt": "10.10.10.50", "voice": "10.10.20.50", "data": "10.10.30.50", "guest": "10.10.40.50"}
SOURCES_V6 = {"mgmt": "fd00:10::50", "voice": "fd00:20::50", "data": "fd00:30::50", "guest": "fd00:40::50"}
ZONE_IPV6 = {"mgmt": ["fd00:10::/64"], "voice": ["fd00:20::/64"], "data": ["fd00:30::/64"],
             "guest": ["fd00:40::/64"], "ai": ["fd00:50::/64"]}
PORTS = (22, 443, 5061)
SIP_TLS = 5061

SERVER = textwrap.dedent("""
    import selectors, socket, sys
    selector = selectors.DefaultSelector()
    for port in map(int, sys.argv[1:]):
        server = socket.socket(socket.AF_INET6)
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("::", port)); server.listen(512); server.setblocking(False)
        selector.register(server, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            connection, _ = key.fileobj.accept(); connection.close()
""")

def _run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=120, **kwargs)


def _in(namespace: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return _run("ip", "netns", "exec", namespace, *args, **kwargs)


class Link:
    """Two namespaces on one veth link; the firewall side runs the server and the ruleset under test."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.fw, self.peer = f"aiph-fw-{tag}", f"aiph-peer-{tag}"
        self.server: subprocess.Popen | None = None

    def __enter__(self) -> Link:
        for namespace in (self.fw, self.peer):
            _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", "veth-fw", "netns", self.fw, "type", "veth", "peer", "name", "veth-peer",
             "netns", self.peer)
        self._address(self.fw, "veth-fw", [HOST_V4], [HOST_V6])
        self._address(self.peer, "veth-peer", SOURCES_V4.values(), SOURCES_V6.values())
        self.server = subprocess.Popen(["ip", "netns", "exec", self.fw, sys.executable, "-c", SERVER,
                                        *map(str, PORTS)], stdout=subprocess.PIPE, text=True)
        assert self.server.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc) -> None:
        if self.server:
            self.server.kill()
            self.server.wait()
        for namespace in (self.fw, self.peer):
            _run("ip", "netns", "delete", namespace, check=False)

    @staticmethod
    def _address(namespace: str, device: str, v4, v6) -> None:
        _in(namespace, "ip", "link", "set", "lo", "up")
        _in(namespace, "ip", "link", "set", device, "up")
        for address in v4:
            _in(namespace, "ip", "address", "add", f"{address}/16", "dev", device)
        for address in v6:
            _in(namespace, "ip", "address", "add", f"{address}/16", "dev", device, "nodad")

    def load(self, ruleset: str) -> None:
        _in(self.fw, "nft", "-f", "-", input=ruleset)

    def probe(self, attempts: list[tuple[str, str, int]], timeout: float = 1.0) -> list[str]:
        """Verdicts (open / dropped / refused / broken: ...) of TCP connects (source, target, port), in order."""
        targets = [f"{target} tcp/{port} from {source}" for source, target, port in attempts]
        return verdicts(run_probe(["ip", "netns", "exec", self.peer], targets, timeout=timeout,
                                  python=sys.executable, workers=1))

    def counter(self, comment: str) -> int:
        """Packets counted by the rules (IPv4 and IPv6) carrying this comment."""
        listing = json.loads(_in(self.fw, "nft", "-j", "list", "table", "inet", "aiphone_host").stdout)
        rules = [item["rule"] for item in listing["nftables"] if item.get("rule", {}).get("comment") == comment]
        assert rules, f"no rule with comment {comment!r}"
        return sum(expr["counter"]["packets"] for rule in rules for expr in rule["expr"] if "counter" in expr)


def _expected(zone: str, port: int) -> str:
    allowed = {("mgmt", 22), ("mgmt", 443), ("voice", SIP_TLS), ("data", 443)}
    return "open" if (zone, port) in allowed else "dropped"


@pytest.fixture(scope="module")
def link():
    if _run("ip", "netns", "list", check=False).returncode != 0:
        pytest.fail("network namespaces are not available on this machine (ip netns list failed)")
    with Link() as pair:
        yield pair


def test_ipv6_follows_the_zone_rules_of_ipv4(link):
    link.load(render_host_ruleset(POLICY, "ai", zone_ipv6=ZONE_IPV6))
    attempts = [(SOURCES_V6[zone], HOST_V6, port) for zone in SOURCES_V6 for port in PORTS]
    attempts += [(SOURCES_V4[zone], HOST_V4, port) for zone in SOURCES_V4 for port in PORTS]
    expected = [_expected(zone, port) for zone in SOURCES_V6 for port in PORTS] * 2
    assert link.probe(attempts) == expected


def test_ipv6_is_dropped_when_no_zone_has_an_ipv6_prefix(link):
    link.load(render_host_ruleset(POLICY, "ai"))
    attempts = [(SOURCES_V6[zone], HOST_V6, port) for zone in SOURCES_V6 for port in PORTS]
    assert set(link.probe(attempts)) == {"dropped"}
    # negative control: the same IPv4 probes still pass where the policy allows them
    assert link.probe([(SOURCES_V4["mgmt"], HOST_V4, 22), (SOURCES_V6["mgmt"], HOST_V6, 22)]) == ["open", "dropped"]


def test_new_sip_connections_above_the_rate_are_dropped_per_source(link):
    link.load(render_host_ruleset(POLICY, "ai", zone_ipv6=ZONE_IPV6, sip_rate_per_second=1, sip_burst=5))
    flood = link.probe([(SOURCES_V4["voice"], HOST_V4, SIP_TLS)] * 30, timeout=0.2)
    assert flood[:5] == ["open"] * 5
    assert flood.count("dropped") >= 10
    assert link.counter("SIP flood") >= 10
    # another voice source (IPv6 here) is not limited by the first one's flood
    assert link.probe([(SOURCES_V6["voice"], HOST_V6, SIP_TLS)] * 3) == ["open"] * 3


def test_dropped_packets_are_logged_with_our_prefix(link):
    knob = Path("/proc/sys/net/netfilter/nf_log_all_netns")
    if not knob.exists():
        _run("modprobe", "nf_log_syslog", check=False)
    before = knob.read_text().strip() if knob.exists() else None
    if before is None:
        pytest.skip("the kernel has no nf_log_all_netns: logging from a network namespace cannot be observed here")
    link.load(render_host_ruleset(POLICY, "ai", zone_ipv6=ZONE_IPV6))
    knob.write_text("1")
    try:
        marker = SOURCES_V4["guest"]
        assert link.probe([(marker, HOST_V4, 22)], timeout=0.3) == ["dropped"]
        kernel_log = _run("dmesg").stdout
    finally:
        knob.write_text(before)
    logged = [line for line in kernel_log.splitlines() if "[aiphone-drop input]" in line and f"SRC={marker}" in line]
    assert logged, "the dropped SSH attempt from the guest zone was not logged"
    assert "DPT=22" in logged[-1]
