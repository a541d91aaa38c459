"""The traffic probe classifies real attempts on loopback, and the verdicts never take a non-firewall failure
(a name that does not resolve, silence from an address nobody proved alive) for a drop."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))
from traffic import mismatches, run_probe, traffic_probe, verdicts


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_open_and_refused_on_loopback(listener):
    closed = free_port()
    results = traffic_probe.probe_many([f"127.0.0.1 tcp/{listener}", f"127.0.0.1 tcp/{closed}"], timeout=2)
    assert [r["outcome"] for r in results] == ["open", "refused"]
    assert verdicts(results) == ["open", "refused"]


def test_udp_without_listener_is_refused_not_dropped():
    results = traffic_probe.probe_many([f"127.0.0.1 udp/{free_port()}"], timeout=1)
    assert results[0]["outcome"] == "refused"          # ICMP port unreachable on a connected UDP socket


def test_a_name_that_does_not_resolve_is_never_a_drop():
    results = traffic_probe.probe_many(["no-such-host.invalid tcp/22"], timeout=1)
    assert results[0]["outcome"] == "name-error"
    assert verdicts(results)[0].startswith("broken: name-error")
    assert mismatches(results, {"no-such-host.invalid tcp/22": "dropped"}) != []


def test_silence_counts_as_a_drop_only_from_a_live_address():
    silent = {"target": "192.0.2.7 tcp/22", "address": "192.0.2.7", "proto": "tcp", "port": 22,
              "outcome": "timeout", "detail": "no answer", "neighbour": "none"}
    assert verdicts([silent])[0].startswith("broken: silence from 192.0.2.7")
    assert verdicts([dict(silent, neighbour="complete")]) == ["dropped"]
    opened = dict(silent, target="192.0.2.7 tcp/443", port=443, outcome="open", detail="connected")
    assert verdicts([silent, opened]) == ["dropped", "open"]   # a positive control to the same address


def test_sources_and_order_are_kept(listener):
    results = traffic_probe.probe_many([f"127.0.0.1 tcp/{listener} from 127.0.0.2"] * 3, workers=1)
    assert [r["target"] for r in results] == [f"127.0.0.1 tcp/{listener} from 127.0.0.2"] * 3
    assert verdicts(results) == ["open"] * 3


def test_bad_target_is_refused():
    with pytest.raises(ValueError, match="expected"):
        traffic_probe.parse_target("127.0.0.1 sctp/22")


def test_the_same_file_runs_as_a_script(listener):
    assert verdicts(run_probe([], [f"127.0.0.1 tcp/{listener}"], python=sys.executable)) == ["open"]
