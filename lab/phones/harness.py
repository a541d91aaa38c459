"""Run lab devices on an event loop in a background thread and drive them from blocking code (tests, scripts).

Clients then talk to the devices over real sockets from the calling thread, exactly as against the lab process,
while the test can still read a device's internal log or switch its faults.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Self


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
