"""The lab process: every simulated device of a topology on one asyncio event loop, plus the control socket.

Control protocol (``<run_dir>/control.sock``, one JSON object per line each way)::

    {"op": "status"}                                          -> {"ok": true, "result": {device: status, ...}}
    {"op": "inventory"}                                       -> {"ok": true, "result": {device: host vars, ...}}
    {"op": "set_fault", "device": "sw-core-01", "fault": "slow_responses", "params": {"delay": 3}}
    {"op": "clear_fault", "device": "sw-core-01", "fault": null}   (null clears every fault of the device)
    {"op": "snmp_users", "device": "sw-core-01"}               -> {user: {group, auth, priv, engine_id, *_key}}
    {"op": "ai_agent", "mode": "naive"}                        -> {url, mode, requests} (mode optional)
    {"op": "stop"}
Errors answer ``{"ok": false, "error": "<what to change>"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from lab.device import Credentials, LabError, SimDevice, load_platforms
from lab.links import LinkModel
from lab.topology import LOOPBACK, Topology

log = logging.getLogger(__name__)

CONTROL_SOCKET = "control.sock"
START_CONCURRENCY = 50


class LabServer:
    def __init__(self, run_dir: Path, topology: Topology, credentials: Credentials,
                 faults: dict[str, dict[str, dict]] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.topology = topology
        self.credentials = credentials
        self.initial_faults = faults or {}
        self.devices: dict[str, SimDevice] = {}
        self.skipped: dict[str, str] = {}
        self.provisioning: Any = None
        self.ai_agent: Any = None
        self._control: asyncio.AbstractServer | None = None
        self._links: asyncio.Task | None = None
        self._stopped = asyncio.Event()

    # -- life cycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        platforms = load_platforms()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        options = await self._start_provisioning()
        images_dir = self.run_dir / "images"
        images_dir.mkdir(exist_ok=True)
        for spec in self.topology.devices:
            cls = platforms.get(spec.platform)
            if cls is None:
                self.skipped[spec.name] = f"no simulator for platform {spec.platform} yet"
                log.warning("%s: skipped, %s", spec.name, self.skipped[spec.name])
                continue
            self.devices[spec.name] = cls(spec.name, spec.model, spec.version, LOOPBACK, spec.port,
                                          self.run_dir / "devices" / spec.name, self.credentials,
                                          images_dir=str(images_dir), **options, **spec.options)
        gate = asyncio.Semaphore(START_CONCURRENCY)

        async def start_one(device: SimDevice) -> None:
            async with gate:
                await device.start()

        await asyncio.gather(*(start_one(device) for device in self.devices.values()))
        for name, faults in self.initial_faults.items():
            for fault, params in faults.items():
                self.device(name).set_fault(fault, **(params or {}))
        self.write_known_hosts()
        self._links = asyncio.get_running_loop().create_task(LinkModel(self.topology.policy, self.devices).watch())
        self._start_ai_agent()
        await self._start_control()
        log.info("lab up: %d devices (%d skipped)", len(self.devices), len(self.skipped))

    async def _start_provisioning(self) -> dict[str, Any]:
        try:
            from lab.provisioning import ProvisioningServer
        except ModuleNotFoundError:
            return {}
        self.provisioning = ProvisioningServer(self.run_dir / "provisioning", LOOPBACK, 0)
        await self.provisioning.start()
        return {"provisioning_url": self.provisioning.url}

    def _start_ai_agent(self) -> None:
        if self.topology.ai_agent_port is None:
            return
        from lab.ai_agent import AgentServer
        from lab.topology import lab_ai_agent_token

        policy = self.topology.policy
        self.ai_agent = AgentServer(policy["ai_agent"], lab_ai_agent_token(policy), self.topology.ai_agent_port)
        self.ai_agent.start()

    async def stop(self) -> None:
        if self.ai_agent is not None:
            self.ai_agent.stop()
            self.ai_agent = None
        if self._links is not None:
            self._links.cancel()
            await asyncio.gather(self._links, return_exceptions=True)
            self._links = None
        if self._control is not None:
            self._control.close()
            self._control = None
        await asyncio.gather(*(device.stop() for device in self.devices.values()), return_exceptions=True)
        if self.provisioning is not None:
            await self.provisioning.stop()
        (self.run_dir / CONTROL_SOCKET).unlink(missing_ok=True)

    async def serve_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopped.set)
        await self._stopped.wait()
        await self.stop()

    def write_known_hosts(self) -> None:
        """``run/known_hosts`` with the key every SSH device presents, so clients can check host keys."""
        lines = []
        for device in self.devices.values():
            public = getattr(device, "public_host_key", None)
            if public is not None:
                lines.append(f"[{device.host}]:{device.port} {public()}")
        (self.run_dir / "known_hosts").write_text("\n".join(lines) + ("\n" if lines else ""))

    # -- control ----------------------------------------------------------------------------------------------
    def site_vars(self) -> dict[str, Any]:
        """Site-wide inventory variables of this lab: where phones fetch firmware and config from."""
        if self.provisioning is None:
            return {}
        return {"aiphone_provisioning_url": self.provisioning.url,
                "aiphone_provisioning_dir": str(self.run_dir / "provisioning")}

    def device(self, name: str) -> SimDevice:
        if name not in self.devices:
            hint = f" ({self.skipped[name]})" if name in self.skipped else ""
            raise LabError(f"no lab device named {name!r}{hint}; devices: {', '.join(sorted(self.devices))}")
        return self.devices[name]

    async def _start_control(self) -> None:
        path = self.run_dir / CONTROL_SOCKET
        if len(str(path).encode()) > 100:  # the kernel limit of a unix socket path is 108 bytes
            raise LabError(f"the run directory path is too long for the lab's control socket ({path}); "
                           "use a shorter --run-dir")
        path.unlink(missing_ok=True)
        self._control = await asyncio.start_unix_server(self._client, path=str(path))
        os.chmod(path, 0o600)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                request = json.loads(line)
                answer = self.handle(request)
                if answer["ok"] and request.get("op") in ("set_fault", "clear_fault"):
                    device = self.devices[request["device"]]
                    await device.settled()        # a restart the change set off is over before the answer
                    answer["result"] = device.status()
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def handle(self, request: dict) -> dict:
        try:
            return {"ok": True, "result": self._dispatch(request)}
        except (LabError, KeyError, TypeError) as error:
            return {"ok": False, "error": str(error)}

    def _dispatch(self, request: dict) -> Any:
        op = request.get("op")
        if op == "status":
            return {name: device.status() for name, device in self.devices.items()}
        if op == "inventory":
            return {name: device.inventory_vars() for name, device in self.devices.items()}
        if op == "site":
            return self.site_vars()
        if op == "set_fault":
            self.device(request["device"]).set_fault(request["fault"], **(request.get("params") or {}))
            return self.device(request["device"]).status()
        if op == "clear_fault":
            self.device(request["device"]).clear_fault(request.get("fault"))
            return self.device(request["device"]).status()
        if op == "snmp_users":  # what a switch stores per SNMPv3 user (localized keys, never passphrases)
            running = getattr(self.device(request["device"]), "running", None)
            table = getattr(getattr(running, "snmp_users", None), "table", None)
            if table is None:
                raise LabError(f"{request['device']} keeps no SNMPv3 users")
            return table
        if op == "ai_agent":   # the AI agent test target: its URL, mode and request count; switch the mode
            if self.ai_agent is None:
                raise LabError("this lab serves no AI agent (the site policy has no ai_agent: section)")
            if request.get("mode") is not None:
                try:
                    self.ai_agent.agent.set_mode(request["mode"])
                except ValueError as error:
                    raise LabError(str(error)) from error
            return self.ai_agent.status()
        if op == "stop":
            asyncio.get_running_loop().call_later(0.1, self._stopped.set)
            return "stopping"
        raise LabError(f"unknown control operation {op!r}; use status, inventory, site, set_fault, clear_fault, "
                       "snmp_users, ai_agent, stop")
