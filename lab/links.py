"""Links: a lab device plugged into a simulated switch port is reachable only while that port carries it.

The site policy says where each device is plugged in (``devices[].switch_port``, ``uplink``). A device is LINKED
when the port is not ``shutdown``, the port puts it in its zone (an access port whose explicit ``switchport access
vlan`` / ``switchport voice vlan`` include the device's zone VLAN; a trunk, or a port the site has not configured
yet, is taken as carrying it), and the switch it hangs off is linked itself (so shutting an uplink cuts everything
behind it). A device that is not linked stops accepting connections - as if unplugged: clients get "connection
refused" - and comes back when the port carries it again (``no shutdown``, the policy's VLANs).

Not modelled: a reloading switch does not take its ports' devices down; the Linux hosts are podman containers,
outside this model.

The model is evaluated from the switches' running configurations every ``LINK_POLL_SECONDS`` on the lab's event
loop, so every way a port changes (a config line, ``configure replace``, a reload into another startup config) counts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lab.device import SimDevice

log = logging.getLogger(__name__)
LINK_POLL_SECONDS = 0.5   # bench/links_bench.py: ~20 ms per evaluation at 1,000 devices


@dataclass(frozen=True)
class Attachment:
    switch: str
    interface: str
    zone_vlan: int | None


def attachments(policy: dict) -> dict[str, Attachment]:
    """Device -> the switch port it is plugged into (policy ``switch_port``, or ``uplink`` for a switch)."""
    zone_vlans = {zone["name"]: zone.get("vlan") for zone in policy.get("zones", [])}
    found = {}
    for device in policy.get("devices", []):
        link = device.get("switch_port") or device.get("uplink")
        if link:
            vlan = zone_vlans.get(device.get("zone")) if device.get("switch_port") else None   # uplinks: trunks
            found[device["name"]] = Attachment(link["switch"], link["interface"], vlan)
    return found


def port_carries(port: dict[str, str], zone_vlan: int | None) -> bool:
    """Does a switch port (``RunningConfig.interface()``: {child key: value}) carry a device of ``zone_vlan``?"""
    if "shutdown" in port:
        return False
    if zone_vlan is None or port.get("switchport mode") == "trunk":
        return True
    vlans = {int(port[key]) for key in ("switchport access vlan", "switchport voice vlan")
             if port.get(key, "").isdigit()}
    return not vlans or zone_vlan in vlans


class LinkModel:
    """Which devices the switch ports currently carry; cuts and restores the others."""

    def __init__(self, policy: dict, devices: dict[str, SimDevice]) -> None:
        self.devices = devices
        self.attached = {name: spec for name, spec in attachments(policy).items() if name in devices}

    def linked(self, name: str, known: dict[str, bool] | None = None) -> bool:
        """Is ``name`` carried by its port and every port above it? ``known``: answers of this evaluation."""
        known = {} if known is None else known
        if name not in known:
            known[name] = True                    # a loop in the uplinks must not recurse forever
            spec = self.attached.get(name)
            running = getattr(self.devices.get(spec.switch), "running", None) if spec else None
            if running is not None:
                known[name] = port_carries(running.interface(spec.interface), spec.zone_vlan) and self.linked(
                    spec.switch, known)
        return known[name]

    async def apply(self) -> None:
        known: dict[str, bool] = {}
        for name in self.attached:
            device = self.devices[name]
            wanted = self.linked(name, known)
            if wanted != device.link_up:
                log.info("%s: link %s", name, "up" if wanted else "down")
                await device.set_link(wanted)

    async def watch(self) -> None:
        while True:
            try:
                await self.apply()
            except Exception:       # one bad evaluation must not stop the model for the rest of the run
                log.exception("link model")
            await asyncio.sleep(LINK_POLL_SECONDS)
