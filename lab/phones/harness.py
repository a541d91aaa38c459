"""Run lab devices on an event loop in a background thread and drive them from blocking code (tests, scripts).

Clients then talk to the devices over real sockets from the calling thread, exactly as against the lab process,
while the test can still read a device's internal log or switch its faults.

    with PhoneRig(tmp_path) as rig:                   # a loop, a provisioning server, the phones added
        phone = rig.add(PolyPhone, "phone-101", "VVX450", "6.3.1.8427", Credentials("Polycom", password),
                        reboot_seconds=0.5, provisioning_url=rig.prov.url)
        status, body = http_call(phone.base_url() + "/api/v1/mgmt/device/info", "Polycom", password)
        assert wait_for(lambda: rig.bg.call(lambda: phone.version) == new)
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self

from lab.device import Credentials
from lab.provisioning import ProvisioningServer


class BackgroundLoop:
    """``with BackgroundLoop() as bg: bg.run(device.start())`` - stopped and joined on exit."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lab-loop", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.run(self._cancel_leftovers())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    @staticmethod
    async def _cancel_leftovers() -> None:
        """Cancel what is still running (e.g. a request handler sleeping in a slow-response fault)."""
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def run(self, coro, timeout: float = 60) -> Any:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, function: Callable, *args, **kwargs) -> Any:
        """Call a plain function on the loop thread (device state is only touched from there)."""
        result: Future = Future()

        def invoke() -> None:
            try:
                result.set_result(function(*args, **kwargs))
            except Exception as exc:
                result.set_exception(exc)

        self.loop.call_soon_threadsafe(invoke)
        return result.result(timeout=30)


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def http_call(url: str, user: str, password: str, method: str = "GET", body: bytes | None = None,
              headers: dict | None = None, timeout: float = 5, context=None) -> tuple[int, bytes]:
    """One HTTP request with Basic auth, as a phone's management client sends it: (status, body), error statuses
    included. Connection errors (a phone rebooting) are raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310 - lab URL
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_phone(bg: BackgroundLoop, cls: type, name: str, model: str, version: str, directory: Path,
                credentials: Credentials, **options) -> Any:
    """A lab phone of ``cls`` on 127.0.0.1 (a free port), its state in ``directory``, started on ``bg``."""
    phone = cls(name, model, version, "127.0.0.1", 0, directory, credentials, **options)
    bg.run(phone.start())
    return phone


class PhoneRig:
    """Its own BackgroundLoop, a ProvisioningServer in ``root/provisioning`` (``with_provisioning=False``: none) and
    the phones added; everything stopped on exit."""

    def __init__(self, root: Path, with_provisioning: bool = True) -> None:
        self.root = Path(root)
        self.bg = BackgroundLoop()
        self.prov = ProvisioningServer(self.root / "provisioning") if with_provisioning else None
        self.phones: list = []

    def __enter__(self) -> Self:
        self.bg.__enter__()
        if self.prov is not None:
            self.bg.run(self.prov.start())
        return self

    def add(self, cls: type, name: str, model: str, version: str, credentials: Credentials, **options) -> Any:
        phone = start_phone(self.bg, cls, name, model, version, self.root / name, credentials, **options)
        self.phones.append(phone)
        return phone

    def __exit__(self, *exc_info) -> None:
        try:
            for phone in self.phones:
                self.bg.run(phone.stop())
            if self.prov is not None:
                self.bg.run(self.prov.stop())
        finally:
            self.bg.__exit__(*exc_info)
