"""playbooks/firmware.yml with the controller's whole process tree SIGKILLed at the three points of a switch upgrade
that test_interrupted_runs.py does not cover (issue #14, item 7): while the switch verifies the image, after the
boot variable was set and saved but before the reload, and during the post-checks after the reload.

Each point is held in the lab switch itself (the `verify` answer, the reload's [confirm], `show interfaces status`
on the new image), so the kill lands exactly there. After each: the trail verifies, the next run reconciles what the
killed run left (an unfinished `started` attempt is post-checked or recovered before the device is judged), the switch
ends on the baseline image with its configuration and a boot variable that names it, and no file the toolkit wrote
holds a device password.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from firmware_lab import SWITCH_NEW, switch_baseline
from process_tree import kill_tree
from test_interrupted_runs import finish, secret_hits, site, start, trail_records  # noqa: F401 - site: fixture

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from lab.ios import cli as ios_cli
from lab.ios import show as ios_show

pytestmark = pytest.mark.timeout(900)


class Hold:
    """One point of the lab switch where the next caller stops until released (or 30 s)."""

    def __init__(self) -> None:
        self.reached, self.release, self.used = threading.Event(), threading.Event(), False

    def stop_here(self) -> bool:
        if self.used:
            return False
        self.used = True
        self.reached.set()
        return True


def hold_verify(monkeypatch, hold: Hold) -> None:
    original = ios_show.verify_hash

    def held(sw, algorithm, name, expected):
        if hold.stop_here():
            hold.release.wait(30)       # the lab's loop is held: the controller sees no answer
        return original(sw, algorithm, name, expected)

    monkeypatch.setattr(ios_show, "verify_hash", held)


def hold_reload_confirm(monkeypatch, hold: Hold) -> None:
    original = ios_cli.IOSCli.confirm

    async def held(self, question):
        if question.startswith("Proceed with reload") and hold.stop_here():
            await asyncio.to_thread(hold.release.wait, 30)
        return await original(self, question)

    monkeypatch.setattr(ios_cli.IOSCli, "confirm", held)


def hold_postcheck(monkeypatch, hold: Hold) -> None:
    original = ios_show.show_interfaces_status

    def held(sw, *args):
        if sw.version == SWITCH_NEW and hold.stop_here():
            hold.release.wait(30)
        return original(sw, *args)

    monkeypatch.setattr(ios_show, "show_interfaces_status", held)


def config_body(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith(("boot system", "version ", "!", "Current configuration"))]


def boot_images(startup: str) -> list[str]:
    return [line.split(":", 1)[1].lstrip("/") for line in startup.splitlines() if line.startswith("boot system ")]


# kill point -> (how the lab holds there, the records the killed run leaves, the records after the next run)
POINTS = {
    "verify": (hold_verify, [], ["started", "upgraded"]),
    "boot_set_before_reload": (hold_reload_confirm, ["started"], ["started", "failed", "started", "upgraded"]),
    "postcheck": (hold_postcheck, ["started"], ["started", "upgraded"]),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_at_a_point_is_reconciled_by_the_next_run(point, site, switch_lab, monkeypatch):  # noqa: F811
    hold_at, left, after_next = POINTS[point]
    hold = Hold()
    hold_at(monkeypatch, hold)
    before = switch_lab.state("sw1")
    run = start(site, "killed")
    assert hold.reached.wait(180), (site / "killed.json").read_text()[-3000:]
    assert kill_tree(run.pid)
    finish(run, site, "killed")
    hold.release.set()
    assert [r["result"] for r in trail_records(site)] == left
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert switch_lab.wait_for(lambda: switch_lab.state("sw1")["reachable"], 30)
    if point == "boot_set_before_reload":       # what the kill leaves: the old image runs, the boot names the new
        held = switch_lab.state("sw1")
        assert held["version"] == before["version"] and boot_images(held["startup"])[0] == switch_baseline()["image"]

    again = finish(start(site, "again"), site, "again")
    assert again["rc"] == 0, again["text"][-3000:]
    records = trail_records(site)
    assert [r["result"] for r in records] == after_next, records
    if left:                                    # the interrupted attempt is closed by the next run, under its id
        assert records[1]["attempt_id"] == records[0]["attempt_id"] and records[1]["run_id"] != records[0]["run_id"]
        assert "interruption" in records[1]["reason"]
    final = switch_lab.state("sw1")
    assert final["version"] == SWITCH_NEW
    assert boot_images(final["startup"])[0] == switch_baseline()["image"]
    assert config_body(final["running"]) == config_body(before["running"])
    assert "ip scp server enable" not in final["running"] and "ip scp server enable" not in final["startup"]
    assert not list((site / "ansible-remote").glob("ansible-tmp-*"))
    assert audit_trail.verify(str(site / "audit" / "lab")).ok
    assert secret_hits(site) == []
