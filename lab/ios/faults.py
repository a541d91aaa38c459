"""Configuration-session faults of the lab switch: how older or not-quite-Cisco IOS-style CLIs misbehave.

Each one is seen on real boxes (the toolkit must survive them unattended):

- ``refuse_line``: not every CLI refuses with IOS's ``% Invalid input``. Cisco Small Business (SG300) and other
  IOS-like CLIs answer in their own words ("Unrecognized command", "Error: ..."); netmiko's ``error_pattern`` only
  catches what it is told to look for (netmiko issue #1004 shows an SG300 whose answers differ from IOS).
- ``drop_line``: a command the software parses but does not keep (a feature absent from this image or licence
  level, e.g. ``login block-for`` on LAN Lite images) comes back with nothing but the prompt; only a read-back shows
  it is missing (napalm issue #209: "Config not applied on Cisco IOS", no error at all).
- ``no_end``: CLIs where ``end`` does not leave configuration mode make netmiko raise
  ``ValueError: Failed to exit configuration mode`` (netmiko issues #2094, #762).
- ``write_answers_ok``: ``write memory`` confirms differently across images and IOS-like CLIs ("[OK]", "OK",
  "Copy succeeded" on the SG300 of netmiko issue #1004).
- ``copy_flash_error``: a copy to flash fails with ``Error opening ...`` (no ``%``) when the file system is busy or
  slow; it must not be taken for a backup.
- ``close_after_lines``: a vty session drops in the middle of a change (link flap, vty timeout, the change itself
  cutting the path); what was sent up to then stays in the running config.
- ``hold_line``: a CLI that stops answering in the middle of a change (its CPU busy, e.g. while it programs a long
  ACL into hardware) while the controller waits for the echo; the test instrument that puts a controller kill
  exactly there (tests/integration/network/test_interrupted_push_lab.py).
- ``no_configure_replace``: ``configure replace`` needs the archive feature; images without it (e.g. Catalyst 2960
  LAN Lite) answer ``% Invalid input`` (napalm-ios issue #10: config replace without archive support).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.ios.switch import IOSSwitch

DEFAULT_REFUSAL = "No such command"
COPY_FLASH_ERROR = "Error opening running-config (Timed out)"


def line_fault(device: IOSSwitch, line: str) -> str | None:
    """What the device answers instead of applying a configuration line (None: apply it normally)."""
    for fault, default in (("refuse_line", DEFAULT_REFUSAL), ("drop_line", "")):
        params = device.fault(fault)
        if params is not None and line and re.search(params.get("match", r"^ip access-list "), line):
            device.fault_log(f"{fault}: {line}")
            return params.get("answer", default) if fault == "refuse_line" else ""
    return None


def save_answer(device: IOSSwitch) -> str | None:
    params = device.fault("write_answers_ok")
    return None if params is None else params.get("answer", "OK") + "\n"


def close_now(device: IOSSwitch, lines_in_session: int) -> bool:
    """Fault close_after_lines: True once the session has received its k-th configuration line (then clears)."""
    params = device.fault("close_after_lines")
    if params is None or lines_in_session < int(params.get("lines", 1)):
        return False
    device.clear_fault("close_after_lines")
    return True


async def hold(device: IOSSwitch, line: str) -> None:
    """Fault hold_line: the first matching configuration line gets no answer for params['seconds'] (then clears);
    ``state['held']`` says which line and whether the hold is over."""
    params = device.fault("hold_line")
    if params is None or not line or not re.search(params.get("match", r"^ip access-list "), line):
        return
    device.clear_fault("hold_line")
    device.state["held"] = {"command": line, "since": time.time(), "released": False}
    device.save_state(device.state)
    device.fault_log(f"hold_line: {line}")
    await asyncio.sleep(float(params.get("seconds", 20)))
    device.state["held"] = dict(device.state["held"], released=True)
    device.save_state(device.state)
