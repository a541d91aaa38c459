"""Read the facts of many devices in one invocation (a thread pool over the platform drivers), per-host results.

    results = collect([Target(name="sw-core-01", platform="cisco_ios", host="127.0.0.1", port=22001,
                              username="admin", password="…")], max_workers=64)
    results[0].facts["os_version"]   # "17.9.4", or results[0].error when the device could not be read

Drivers (`registry.get_driver(platform)`) are synchronous (netmiko, paramiko, HTTP), so the pool uses threads:
the time goes into waiting on the network, and each worker holds one session at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import exceptions as drv_exc
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import registry
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import short_error

DEFAULT_WORKERS = 64
# Failures that mean "we could not read the device" (reported as unreachable, or unparsed for UnexpectedOutput, with
# the named reason); any other exception of one device is caught too: it fails that device's entry, never the run.
READ_FAILURES = (drv_exc.DriverError, OSError, TimeoutError, EOFError)


@dataclass
class Target:
    """One device to read, with its connection (the password never appears in repr)."""

    name: str
    platform: str
    host: str
    port: int | None = None
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: int = 30
    known_hosts_file: str | None = None
    options: dict = field(default_factory=dict)


@dataclass
class HostResult:
    name: str
    platform: str
    facts: dict = field(default_factory=dict)
    error: str | None = None          # why the device could not be read
    error_type: str | None = None     # the driver exception's name (AuthenticationFailed, ConnectionFailed …)
    seconds: float = 0.0

    @property
    def reachable(self) -> bool:
        return self.error is None


def read_one(target: Target, driver_for: Callable[[str], type] = registry.get_driver) -> HostResult:
    """Open, read facts, close: never raises for a device-side failure (it becomes the result's error)."""
    started = time.monotonic()
    result = HostResult(target.name, target.platform)
    try:
        driver_cls = driver_for(target.platform)
        with driver_cls(host=target.host, port=target.port, username=target.username, password=target.password,
                        timeout=target.timeout, known_hosts_file=target.known_hosts_file, name=target.name,
                        **target.options) as device:
            result.facts = dict(device.get_facts())
    except ValueError as exc:           # no driver for this platform
        result.error, result.error_type = str(exc), "UnsupportedPlatform"
    except READ_FAILURES as exc:
        result.error, result.error_type = _describe(exc, target), type(exc).__name__
    except Exception as exc:  # a library error of one device fails that device's entry, named
        result.error, result.error_type = _describe(exc, target), type(exc).__name__
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _describe(exc: BaseException, target: Target) -> str:
    """One line naming the cause (netmiko's multi-line "Things you might try" advice cut)."""
    text = short_error(exc, limit=400)
    if target.password and target.password in text:   # a driver must not echo it; make sure anyway
        text = text.replace(target.password, "********")
    return text


def collect(targets: Iterable[Target], max_workers: int = DEFAULT_WORKERS,
            driver_for: Callable[[str], type] = registry.get_driver,
            on_result: Callable[[HostResult], None] | None = None) -> list[HostResult]:
    """Read every target concurrently; results come back in the order of `targets`.

    `on_result` is called as each host finishes (progress reporting); exceptions it raises propagate.
    """
    targets = list(targets)
    if not targets:
        return []
    results: dict[int, HostResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(targets))),
                            thread_name_prefix="inventory") as pool:
        futures = {pool.submit(read_one, target, driver_for): index for index, target in enumerate(targets)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result:
                on_result(results[futures[future]])
    return [results[index] for index in range(len(targets))]
