#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Probe every listening TCP socket of the host for the TLS versions it accepts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_listener_audit
short_description: Find listening TLS services on the host and check they refuse TLS 1.0 and 1.1
description:
  - Lists listening TCP sockets from /proc/net/tcp and /proc/net/tcp6 (or takes the given ports), connects to each
    from the host itself and tries a handshake with each TLS version. A socket that completes no handshake at all is
    not a TLS service and is reported as such.
  - The probe sets its own protocol bounds and SECLEVEL 0, so the host's system-wide OpenSSL policy does not hide an
    old protocol the service would accept.
  - Read-only; never reports a change.
options:
  ports:
    description: Ports to probe on 127.0.0.1/::1 instead of every listening socket.
    type: list
    elements: int
  forbidden: {description: Versions that must be refused., type: list, elements: str, default: [TLSv1, TLSv1.1]}
  timeout: {description: Seconds per connection attempt., type: float, default: 2.0}
  fail_on_weak: {description: Fail when a service accepts a forbidden version., type: bool, default: false}
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: Listening TLS services refuse TLS 1.0/1.1
  aiphone.hardening.tls_listener_audit:
    fail_on_weak: true
"""

RETURN = r"""
listeners:
  description: One entry per probed socket.
  returned: always
  type: list
  elements: dict
  sample: [{address: 127.0.0.1, port: 5061, tls: true, accepted: [TLSv1.2, TLSv1.3], weak: []}]
weak:
  description: Listeners that accepted a forbidden version, as "address:port (versions)".
  returned: always
  type: list
  elements: str
"""

import contextlib
import socket
import ssl
import warnings

from ansible.module_utils.basic import AnsibleModule

VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
LISTEN = "0A"
# (table, family, address to probe a wildcard bind on, the wildcard address as /proc shows it)
PROC_TABLES = (("/proc/net/tcp", socket.AF_INET, "127.0.0.1", "0.0.0.0"),  # noqa: S104 (read, never bound)
               ("/proc/net/tcp6", socket.AF_INET6, "::1", "::"))


def decode_address(hex_addr: str, family: int) -> str:
    raw = bytes.fromhex(hex_addr)
    if family == socket.AF_INET:
        return socket.inet_ntop(family, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(family, words)


def listening_sockets() -> list[tuple[str, int]]:
    """(address to connect to, port) for every listening TCP socket; wildcard binds become loopback."""
    found = set()
    for path, family, loopback, wildcard in PROC_TABLES:
        try:
            with open(path, encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != LISTEN:
                continue
            hex_addr, hex_port = fields[1].split(":")
            address = decode_address(hex_addr, family)
            found.add((loopback if address == wildcard else address, int(hex_port, 16)))
    return sorted(found)


def handshake(address: str, port: int, version: ssl.TLSVersion, timeout: float) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # pinning old versions is the point of the probe
        context.minimum_version = version
        context.maximum_version = version
    with contextlib.suppress(ssl.SSLError):   # an OpenSSL without SECLEVEL keeps its default cipher list
        context.set_ciphers("ALL:@SECLEVEL=0")
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=None):
            return True
    except (OSError, ssl.SSLError):
        return False


def probe(address: str, port: int, forbidden: list[str], timeout: float) -> dict:
    accepted = [name for name, version in VERSIONS.items() if handshake(address, port, version, timeout)]
    return {"address": address, "port": port, "tls": bool(accepted), "accepted": accepted,
            "weak": [name for name in accepted if name in forbidden]}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ports": {"type": "list", "elements": "int"},
            "forbidden": {"type": "list", "elements": "str", "default": ["TLSv1", "TLSv1.1"]},
            "timeout": {"type": "float", "default": 2.0},
            "fail_on_weak": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    unknown = [name for name in params["forbidden"] if name not in VERSIONS]
    if unknown:
        module.fail_json(msg=f"forbidden: unknown TLS versions {unknown}; use {sorted(VERSIONS)}")
    targets = ([("127.0.0.1", port) for port in params["ports"]] if params["ports"] else listening_sockets())
    listeners = [probe(address, port, params["forbidden"], params["timeout"]) for address, port in targets]
    weak = [f"{item['address']}:{item['port']} ({', '.join(item['weak'])})" for item in listeners if item["weak"]]
    result = {"changed": False, "listeners": listeners, "weak": weak}
    for finding in weak:
        module.warn(f"TLS service {finding} accepts a protocol the policy forbids")
    if weak and params["fail_on_weak"]:
        module.fail_json(msg=f"TLS services accept forbidden protocol versions: {'; '.join(weak)}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
