"""Client of a running lab's control socket (``<run_dir>/control.sock``), used by the CLI and the test fixtures.

    lab = LabControl("run")
    lab.set_fault("sw-core-01", "slow_responses", delay=3)
    lab.clear_fault("sw-core-01")
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from lab.device import LabError
from lab.server import CONTROL_SOCKET


class LabControl:
    def __init__(self, run_dir: str | Path, timeout: float = 30.0) -> None:
        self.path = Path(run_dir) / CONTROL_SOCKET
        self.timeout = timeout

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request; return its result or raise LabError with the lab's explanation."""
        if not self.path.exists():
            raise LabError(f"no lab is running for {self.path.parent} (no {CONTROL_SOCKET}); start it: "
                           f"python -m lab up --run-dir {self.path.parent}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
            except (ConnectionRefusedError, FileNotFoundError) as error:
                raise LabError(f"the lab of {self.path.parent} does not answer ({error}); is it running?") from error
            sock.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        answer = json.loads(reply or b'{"ok": false, "error": "the lab closed the control connection"}')
        if not answer["ok"]:
            raise LabError(answer["error"])
        return answer["result"]

    def running(self) -> bool:
        try:
            self.request("status")
        except LabError:
            return False
        return True

    def status(self) -> dict[str, dict]:
        return self.request("status")

    def inventory(self) -> dict[str, dict]:
        return self.request("inventory")

    def site(self) -> dict[str, Any]:
        return self.request("site")

    def set_fault(self, device: str, fault: str, **params: Any) -> dict:
        return self.request("set_fault", device=device, fault=fault, params=params)

    def clear_fault(self, device: str, fault: str | None = None) -> dict:
        return self.request("clear_fault", device=device, fault=fault)

    def snmp_users(self, device: str) -> dict[str, dict]:
        """The SNMPv3 users a lab switch stores: group, protocols, engine ID and RFC 3414 localized keys."""
        return self.request("snmp_users", device=device)

    def ai_agent(self, mode: str | None = None) -> dict[str, Any]:
        """The lab AI agent's URL, mode and request count; `mode` ("naive" / "guarded") switches it."""
        return self.request("ai_agent", mode=mode)

    def stop(self) -> None:
        self.request("stop")
