"""Negative traffic checks that prove why a packet did not get through (tests/traffic_probe.py does the sending).

Every firewall / ACL / isolation test asks for one of three verdicts per attempt:
- ``open``: connected (TCP) or echoed (UDP);
- ``dropped``: silence — and only silence *from a live address*: the probe's neighbour table shows the address
  answered ARP/NDP, or another attempt to the same address in the same batch connected;
- ``refused``: a TCP RST / ICMP port unreachable (a reject rule or a service that is not listening).
Anything else (the name did not resolve, no route, ICMP host unreachable, a local error, or silence from an
address nobody proved alive) is never taken as a firewall verdict: it is reported as ``broken: ...`` so the
test fails with the reason, instead of passing because nothing could connect for any reason.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

PROBE_FILE = Path(__file__).resolve().parents[1] / "traffic_probe.py"
PROBE_SOURCE = PROBE_FILE.read_text(encoding="utf-8")
_spec = importlib.util.spec_from_file_location("traffic_probe", PROBE_FILE)
traffic_probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(traffic_probe)


def probe_here(targets: Iterable[str], timeout: float = 2.0) -> list[dict]:
    """Probe from the controller itself (this process)."""
    return traffic_probe.probe_many(list(targets), timeout)


def run_probe(prefix: Sequence[str], targets: Iterable[str], timeout: float = 2.0, python: str = "python3",
              workers: int = 64, source: str | None = None) -> list[dict]:
    """Run the probe through ``prefix`` (``["podman", "exec", C]``, ``["ip", "netns", "exec", NS]``, ``[]``)."""
    targets = list(targets)
    command = [*prefix, python, "-c", PROBE_SOURCE, "--timeout", str(timeout), "--workers", str(workers)]
    if source:
        command += ["--source", source]
    done = subprocess.run([*command, *targets], capture_output=True, text=True, check=False,
                          timeout=60 + timeout * max(1, len(targets) // max(1, workers) + 1))
    if done.returncode != 0:
        raise AssertionError(f"the traffic probe failed to run ({' '.join(prefix)}): {done.stderr.strip()[-2000:]}")
    results = json.loads(done.stdout)
    assert len(results) == len(targets), "the probe answered for fewer targets than asked"
    return results


def verdicts(results: Sequence[dict]) -> list[str]:
    """One verdict per result, in order: open / dropped / refused, or ``broken: <why>``."""
    proven_alive = {r["address"] for r in results if r["outcome"] == "open"}
    out = []
    for result in results:
        outcome = result["outcome"]
        if outcome in ("open", "refused"):
            out.append(outcome)
        elif outcome == "timeout":
            alive = result.get("neighbour") == "complete" or result["address"] in proven_alive
            out.append("dropped" if alive else
                       f"broken: silence from {result['address']}, which nothing proved alive "
                       f"(neighbour {result.get('neighbour')})")
        else:
            out.append(f"broken: {outcome} ({result.get('detail')})")
    return out


def by_target(results: Sequence[dict]) -> dict[str, str]:
    return {result["target"]: verdict for result, verdict in zip(results, verdicts(results), strict=True)}


def mismatches(results: Sequence[dict], expected: dict[str, str]) -> list[str]:
    """``["<target>: expected dropped, got open", ...]`` for every target whose verdict differs."""
    got = by_target(results)
    missing = [f"{target}: not probed" for target in expected if target not in got]
    return missing + [f"{target}: expected {want}, got {got[target]}"
                      for target, want in expected.items() if target in got and got[target] != want]
