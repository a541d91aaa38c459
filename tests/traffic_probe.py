#!/usr/bin/env python3
"""One traffic probe for every firewall, ACL, isolation and VLAN test: it says *why* a connection did not get through.

A negative traffic check that only asks "did it connect?" passes when the name did not resolve, the route was
missing or the service was stopped. This probe classifies each attempt, so a test can require the failure it
expects (a drop times out; a reject answers with a TCP RST or an ICMP error) and see everything else as a failure:

    open         TCP handshake completed / UDP datagram echoed back
    timeout      nothing came back within the timeout (what a `drop` rule does)
    refused      TCP RST, or ICMP port unreachable for UDP (`reject`, or no listener)
    unreachable  ICMP host/network unreachable or administratively prohibited (`reject with icmp ...`)
    name-error   the name did not resolve (never a firewall verdict)
    error        any other local error (its errno name is in `detail`)

For a `timeout` the probe also reads the neighbour table for the target address: `complete` proves the address is
alive on the link (ARP/NDP answered), so the silence came from a packet filter, not from an absent host.

Standard library only, so the same file runs on the controller (imported), in a network namespace
(`ip netns exec NS python3 tests/traffic_probe.py ...`), in a container (`podman exec C python3 -c "$(cat ...)" ...`)
and from a molecule verify (`ansible.builtin.script`). Command line:

    traffic_probe.py [--timeout S] [--source ADDR] [--workers N] "ADDRESS PROTO/PORT[ from SOURCE]" ...
        -> a JSON list of results on stdout, in the order of the targets (--workers 1: one after the other)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import errno
import json
import socket
import subprocess

UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM}


def _classify(error: OSError) -> tuple[str, str]:
    if isinstance(error, socket.gaierror):
        return "name-error", str(error)
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timeout", "no answer"
    if isinstance(error, ConnectionRefusedError) or error.errno == errno.ECONNREFUSED:
        return "refused", "ECONNREFUSED"
    if error.errno in UNREACHABLE:
        return "unreachable", errno.errorcode.get(error.errno, str(error.errno))
    return "error", errno.errorcode.get(error.errno or 0, repr(error))


def neighbour_state(address: str) -> str:
    """`complete` when the address answered ARP/NDP on a directly connected link, else `incomplete` or `none`."""
    if ":" not in address:
        try:
            with open("/proc/net/arp", encoding="ascii") as table:
                for line in table.readlines()[1:]:
                    fields = line.split()
                    if fields and fields[0] == address:
                        return "complete" if int(fields[2], 16) & 0x2 else "incomplete"
        except OSError:
            pass
        return "none"
    try:
        shown = subprocess.run(["ip", "-6", "neigh", "show", address], capture_output=True, text=True, timeout=5,
                               check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "none"
    if not shown.strip():
        return "none"
    return "incomplete" if any(word in shown for word in ("INCOMPLETE", "FAILED")) else "complete"


def probe(address: str, proto: str, port: int, timeout: float = 2.0, source: str | None = None) -> dict:
    """One attempt: {"target", "address", "proto", "port", "outcome", "detail"[, "neighbour"]}."""
    result = {"target": f"{address} {proto}/{port}", "address": address, "proto": proto, "port": port}
    try:
        family, kind, _, _, sockaddr = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)[0]
        result["resolved"] = sockaddr[0]
        with socket.socket(family, kind) as sock:
            sock.settimeout(timeout)
            if source:
                sock.bind((source, 0))
            sock.connect(sockaddr)             # for UDP: a connected socket reports ICMP errors on recv
            if proto == "udp":
                sock.send(b"aiphone-probe")
                if sock.recv(512) != b"aiphone-probe":
                    raise OSError(errno.EPROTO, "unexpected reply")
        result.update(outcome="open", detail="connected" if proto == "tcp" else "echoed")
    except OSError as error:
        outcome, detail = _classify(error)
        result.update(outcome=outcome, detail=detail)
    if result["outcome"] == "timeout":
        result["neighbour"] = neighbour_state(result.get("resolved", address))
    return result


def parse_target(text: str) -> tuple[str, str, int, str | None]:
    """`ADDRESS PROTO/PORT` or `ADDRESS PROTO/PORT from SOURCE` -> (address, proto, port, source)."""
    words = text.split()
    if len(words) not in (2, 4) or (len(words) == 4 and words[2] != "from"):
        raise ValueError(f"{text!r}: expected 'ADDRESS PROTO/PORT' or 'ADDRESS PROTO/PORT from SOURCE'")
    proto, _, port = words[1].partition("/")
    if proto not in ("tcp", "udp") or not port.isdigit():
        raise ValueError(f"{text!r}: expected tcp/PORT or udp/PORT")
    return words[0].strip("[]"), proto, int(port), words[3] if len(words) == 4 else None


def probe_many(targets: list[str], timeout: float = 2.0, source: str | None = None, workers: int = 64) -> list[dict]:
    parsed = [parse_target(target) for target in targets]

    def one(target: tuple[str, str, int, str | None]) -> dict:
        result = probe(*target[:3], timeout=timeout, source=target[3] or source)
        if target[3]:
            result["target"] += f" from {target[3]}"
        return result

    if workers <= 1:
        return [one(target) for target in parsed]
    with concurrent.futures.ThreadPoolExecutor(max(1, min(workers, len(parsed) or 1))) as pool:
        return list(pool.map(one, parsed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--source", help="local address to send from")
    parser.add_argument("--workers", type=int, default=64, help="parallel attempts (1: in order, one at a time)")
    parser.add_argument("targets", nargs="+", metavar="'ADDRESS PROTO/PORT[ from SOURCE]'")
    args = parser.parse_args(argv)
    print(json.dumps(probe_many(args.targets, args.timeout, args.source, args.workers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
