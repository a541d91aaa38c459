"""Debris of killed runs in the controller's Ansible temporary directory.

Ansible copies each module as ``<tmp>/ansible-tmp-<time>-<pid>-<random>/AnsiballZ_<module>.py`` - arguments
included, so device passwords too - and deletes it when the module ends. A run killed with SIGKILL never deletes
it. This removes such directories when their worker process (the ``<pid>`` of the name) is gone and they hold a
payload of one of this collection's modules, and keeps the temporary directory itself at mode 0700.
"""

from __future__ import annotations

import os
import re
import shutil

MODULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules")
TMP_NAME = re.compile(r"ansible-tmp-[0-9.]+-(\d+)-\d+")


def our_modules() -> frozenset[str]:
    try:
        return frozenset(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name[0] != "_")
    except OSError:
        return frozenset()


def _alive(pid: int) -> bool:
    """Running (a zombie - killed, not yet reaped - is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _holds_ours(directory: str, modules: frozenset[str]) -> bool:
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(n.startswith("AnsiballZ_") and n[len("AnsiballZ_"):].removesuffix(".py") in modules for n in names)


def clean_controller_tmp(tmp_root: str) -> list[str]:
    """Remove stale payload directories of this collection under ``tmp_root``; returns what was removed."""
    tmp_root = os.path.expanduser(tmp_root)
    if not os.path.isdir(tmp_root):
        return []
    os.chmod(tmp_root, 0o700)
    modules, removed = our_modules(), []
    for name in sorted(os.listdir(tmp_root)):
        match = TMP_NAME.fullmatch(name)
        path = os.path.join(tmp_root, name)
        if match and not _alive(int(match.group(1))) and _holds_ours(path, modules):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
