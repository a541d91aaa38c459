"""One changing run per site at a time: an exclusive ``flock`` on ``<audit_dir>/<site>/site.lock``.

The lock belongs to the controller process (``ansible-playbook``) for the whole playbook. The task that takes it
(action ``aiphone.hardening.site_lock``) runs in a short-lived Ansible worker, so once it holds the lock it forks a
small holder process that keeps the lock's file descriptor and waits for the controller process to end -
normally, on an error or killed with SIGKILL - and for the workers and modules it had started (they run in
sessions of their own and may outlive it, still changing a device); the kernel drops an ``flock`` with the last
descriptor of its open file, so a dead run never leaves a stale lock behind. The lock file holds who holds it
(user, host, controller pid, playbook, since, run id) as one JSON line, rewritten by each new holder; a run that
finds the site locked names that holder. A second ``site_lock`` task of the same run (site.yml imports several
playbooks) finds the lock its own controller holds and goes on.

    lock = SiteLock("audit/lab")
    lock.acquire(holder_info("playbooks/firmware.yml", run_id), wait=300)   # SiteLocked after 300 s
    lock.hold_until_exit(controller_pid)    # the holder process keeps it until the controller ends

Read-only runs (audits, reports, validation) do not take it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import getpass
import json
import os
import select
import socket
import time
import uuid

LOCK_FILE = "site.lock"
DEFAULT_WAIT_SECONDS = 300.0
POLL_SECONDS = 0.2
# ansible-playbook options followed by a value (a .yml there is not a playbook)
VALUE_OPTIONS = frozenset({"-i", "--inventory", "--inventory-file", "-e", "--extra-vars", "-l", "--limit", "-t",
                           "--tags", "--skip-tags", "--vault-id", "--vault-password-file", "--vault-pass-file", "-M",
                           "--module-path", "--start-at-task", "-u", "--user", "--private-key", "--key-file"})


class SiteLocked(Exception):
    """Another run holds the site's lock for longer than this run may wait; the message names the holder."""

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


def new_run_id() -> str:
    """A run id that sorts by time and is unique per run: ``20261203T081800Z-1a2b3c4d``."""
    return f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def holder_info(playbook: str, run_id: str, pid: int | None = None) -> dict:
    return {"user": os.environ.get("AIPHONE_OPERATOR") or getpass.getuser(), "host": socket.gethostname(),
            "pid": pid or os.getpid(), "playbook": playbook, "run_id": run_id,
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def command_of(pid: int) -> str:
    """The playbook(s) a controller process runs, from its command line (``ansible-playbook ... x.yml``)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = [a.decode(errors="replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return "?"
    books = [a for before, a in zip(["", *args], args, strict=False)
             if a.endswith((".yml", ".yaml")) and not a.startswith("-") and before not in VALUE_OPTIONS]
    return " ".join(os.path.abspath(b) for b in books) or " ".join(args[:3]) or "?"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_for_exit(pid: int, watch_seconds: float = 1.0) -> None:
    """Return once process ``pid`` has ended (a zombie has ended) AND every process it had started (as last seen,
    every ``watch_seconds``) has ended too: Ansible's workers and their modules run in sessions of their own and
    outlive a killed ansible-playbook - the site stays locked while they may still change a device."""
    seen: set[int] = set()
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while _running(pid):
        seen = (seen | _descendants(pid)) - {os.getpid()}
        seen = {p for p in seen if _running(p)}
        if pidfd is not None:
            poller.poll(int(watch_seconds * 1000))
        else:
            time.sleep(watch_seconds)
    if pidfd is not None:
        os.close(pidfd)
    while any(_running(p) for p in seen):
        time.sleep(POLL_SECONDS)


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

    def held_by(self, controller_pid: int) -> bool:
        """True when the lock is taken and its holder record names ``controller_pid`` (this run, again)."""
        holder = read_holder(self.path)
        if holder.get("pid") != controller_pid or not _running(controller_pid):
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True                     # taken - and the record says by our controller
        finally:
            os.close(fd)                    # (had we got it, closing releases it again)
        return False

    def hold_until_exit(self, controller_pid: int) -> int:
        """Hand the lock to a holder process that keeps it until ``controller_pid`` ends; returns its pid."""
        child = os.fork()
        if child == 0:                          # the holder: only the lock's descriptor, no stdio of the run
            try:
                os.setsid()
                devnull = os.open(os.devnull, os.O_RDWR)
                for target in (0, 1, 2):
                    os.dup2(devnull, target)
                os.closerange(3, self.fd)
                os.closerange(self.fd + 1, max(self.fd + 2, os.sysconf("SC_OPEN_MAX")))
                wait_for_exit(controller_pid)
            finally:
                os._exit(0)
        os.close(self.fd)
        self.fd = -1
        return child

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)      # nobody holds it now
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = -1

