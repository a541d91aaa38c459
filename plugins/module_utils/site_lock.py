"""One changing run per site at a time: an exclusive ``flock`` on ``<audit_dir>/<site>/site.lock``.

The lock is taken by the controller process (``ansible-playbook`` itself, through the callback plugin
``aiphone.hardening.site_lock``) and held until that process ends - normally, on an error or killed with
SIGKILL: the kernel drops an ``flock`` with the last descriptor of the open file, so a dead run never leaves a
stale lock behind. The lock file holds who holds it (user, host, pid, playbook, since, run id) as one JSON line,
rewritten by each new holder; a run that finds the site locked names that holder.

    lock = SiteLock("audit/lab")
    lock.acquire(holder_info("playbooks/firmware.yml", run_id), wait=300)   # SiteLocked after 300 s
    ...                                   # the whole playbook
    lock.release()                        # or let the process end

Read-only runs (audits, reports, validation) do not take it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import getpass
import json
import os
import socket
import time
import uuid

LOCK_FILE = "site.lock"
DEFAULT_WAIT_SECONDS = 300.0
POLL_SECONDS = 0.2


class SiteLocked(Exception):
    """Another run holds the site's lock for longer than this run may wait; the message names the holder."""

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


def new_run_id() -> str:
    """A run id that sorts by time and is unique per run: ``20261203T081800Z-1a2b3c4d``."""
    return f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def holder_info(playbook: str, run_id: str) -> dict:
    return {"user": os.environ.get("AIPHONE_OPERATOR") or getpass.getuser(), "host": socket.gethostname(),
            "pid": os.getpid(), "playbook": playbook, "run_id": run_id,
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def describe(holder: dict) -> str:
    if not holder:
        return "an unknown run (the lock file names no holder)"
    return (f"{holder.get('user', '?')}@{holder.get('host', '?')} pid {holder.get('pid', '?')} running "
            f"{holder.get('playbook', '?')} (run {holder.get('run_id', '?')}) since {holder.get('since', '?')}")


def read_holder(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


class SiteLock:
    """The lock of one site directory (``<audit_dir>/<site>``), held by this process once acquired."""

    def __init__(self, site_directory: str):
        self.site_directory = site_directory
        self.path = os.path.join(site_directory, LOCK_FILE)
        self.fd = -1
        self.holder: dict = {}

    @property
    def held(self) -> bool:
        return self.fd >= 0

    def acquire(self, holder: dict, wait: float = DEFAULT_WAIT_SECONDS, on_wait=None) -> float:
        """Take the lock, waiting at most ``wait`` seconds; returns the seconds waited. Raises SiteLocked
        naming the holder. ``on_wait(holder)`` is called once when the lock is found taken."""
        os.makedirs(self.site_directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                other = read_holder(self.path)
                waited = time.monotonic() - started
                if waited >= wait:
                    os.close(fd)
                    raise SiteLocked(
                        f"site {os.path.basename(self.site_directory)} is locked by {describe(other)}; waited "
                        f"{waited:.0f} s (aiphone_site_lock_wait={wait:g}). Let that run finish, or, if it is "
                        f"hung, stop it (kill {other.get('pid', '<pid>')} on {other.get('host', 'its host')}): "
                        "the lock is released when its process ends.", other) from None
                if not told and on_wait is not None:
                    on_wait(other)
                    told = True
                time.sleep(POLL_SECONDS)
        data = (json.dumps(holder, sort_keys=True) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        self.fd, self.holder = fd, holder
        return time.monotonic() - started

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)      # nobody holds it now
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = -1


# -- shared between the callback (controller process) and the action plugin (a forked worker) -------------------
# The callback fills this in ansible-playbook's own process when the `site_lock` task starts, before Ansible forks
# the worker that runs the task (Ansible's workers are forked: WorkerProcess uses the 'fork' context), so the action
# plugin reads the outcome here: {site directory: {"held": bool, "holder": {...}, "error": str, "waited": float}}.
CONTROLLER_STATE: dict[str, dict] = {}
