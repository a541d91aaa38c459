"""The IOS exec CLI of the lab switch without a network: command matching, abbreviations, pipes, modes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lab.device import Credentials
from lab.ios.cli import IOSCli
from lab.ios.switch import IOSSwitch

CREDS = Credentials("admin", "AdminPass1", "EnablePass1")


class ScriptedTerminal:
    """Stands in for the SSH terminal: lines to read, everything written collected."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self.output = ""
        self.length, self.width = 0, 80

    def write(self, text: str) -> None:
        self.output += text

    async def readline(self, echo: bool = True) -> str:
        return self.lines.pop(0)

    async def read_key(self) -> str:
        return self.lines.pop(0)[:1] or "\n"

    async def page(self, text: str) -> None:
        self.write(text)


@pytest.fixture
def switch(tmp_path: Path) -> IOSSwitch:
    device = IOSSwitch("sw-unit", "C9300-24P", "17.6.4", "127.0.0.1", 0, tmp_path, CREDS, image_size=4096)
    device._first_boot()
    device.running = device.load_startup()
    return device


def run(switch: IOSSwitch, *lines: str, user: str = "admin") -> str:
    """Type ``lines`` at the switch's prompt (as if on a vty) and return everything it printed."""
    term = ScriptedTerminal([])
    cli = IOSCli(switch, term, user)

    async def drive() -> None:
        for line in lines:
            await cli.execute(line)

    asyncio.run(drive())
    return term.output


def test_abbreviations_resolve_like_ios(switch):
    assert "Cisco IOS XE Software, Version 17.06.04" in run(switch, "sh ver")
    assert "hostname sw-unit" in run(switch, "sh run")
    assert "% Ambiguous command:  \"sh v\"" in run(switch, "sh v")
    assert "% Incomplete command." in run(switch, "show")


def test_marker_points_at_the_unknown_word(switch):
    output = run(switch, "show version detailed-nonsense")
    caret = output.splitlines()[0]
    assert caret.index("^") == len("sw-unit#show version ")


def test_pipes_filter_output(switch):
    assert run(switch, "show running-config | include ^hostname").strip() == "hostname sw-unit"
    section = run(switch, "show running-config | section line vty")
    assert section.startswith("line vty 0 4") and "transport input ssh telnet" in section
    assert "Number of lines which match regexp = 1" in run(switch, "show running-config | count ^hostname")


def test_configuration_mode_and_do(switch):
    output = run(switch, "configure terminal", "hostname sw-renamed", "do show running-config | include ^host",
                 "end")
    assert "hostname sw-renamed" in output
    assert switch.running.hostname == "sw-renamed" and switch.state["modified"] is True


def test_privilege_1_users_cannot_run_privileged_commands(switch):
    run(switch, "configure terminal", "username viewer privilege 1 secret ViewerPass1", "end")
    assert switch.check_password("viewer", "ViewerPass1") and not switch.check_password("viewer", "nope")
    output = run(switch, "show running-config", user="viewer")
    assert "% Invalid input detected" in output and "hostname" not in output
    assert "Cisco IOS XE Software" in run(switch, "show version", user="viewer")


def test_vty_rules_can_lock_the_controller_out(switch):
    assert switch.vty_refusal() is None
    run(switch, "configure terminal", "ip access-list standard VTY", "permit 192.0.2.0 0.0.0.255", "line vty 0 4",
        "access-class VTY in", "end")
    assert "denies 10.10.10.100" in switch.vty_refusal()
    run(switch, "configure terminal", "ip access-list standard VTY", "permit 10.10.10.0 0.0.0.255", "end")
    assert switch.vty_refusal() is None
    run(switch, "configure terminal", "line vty 0 15", "transport input telnet", "end")
    assert "does not allow ssh" in switch.vty_refusal()
