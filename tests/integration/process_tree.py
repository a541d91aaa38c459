"""SIGKILL a process and every descendant, as a power loss of the controller would end them.

Ansible's workers and the modules they start may run in their own sessions, so killing a process group is not
enough: the tree is walked through /proc (parent pids), every member stopped first (SIGSTOP: nobody forks or
exits and re-parents a child away while we look), then all are killed."""

from __future__ import annotations

import contextlib
import os
import signal
import time


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = children_of(), [], [pid]
    while todo:
        current = todo.pop()
        for child in tree.get(current, []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> list[int]:
    """Stop then SIGKILL ``pid`` and all its descendants; returns the pids killed."""
    stopped: list[int] = []
    for _ in range(5):                     # until a walk finds nobody new
        new = [p for p in [pid, *descendants(pid)] if p not in stopped]
        if not new:
            break
        for member in new:
            try:
                os.kill(member, signal.SIGSTOP)
                stopped.append(member)
            except ProcessLookupError:
                pass
    for member in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and _alive(p) for p in stopped):
        time.sleep(0.05)
    return stopped


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
