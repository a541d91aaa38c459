"""Real auditd records for a lab container, whose own auditd cannot run (shared/lab-facts.md: the kernel audit
subsystem answers only the initial PID namespace).

The machine's kernel audits for every container on it, so the lab does what a site's host does, split in two:
  - the audit daemon is Debian's auditd (the package scripts/setup.sh installs), run on the machine in the
    foreground with its own configuration directory, writing `audit.log` into the test's run directory
    (log_format = ENRICHED, as on a Debian host);
  - the rules are the audit_logging role's own (roles/audit_logging/templates/audit.rules.j2, rendered with the
    role's defaults), loaded by the container's auditctl (the role installs the auditd package there) run inside the
    container's mount namespace (nsenter -m): watch paths resolve to the container's /srv/aiphone and /etc, so only
    that container's files are watched.
Kernel-wide settings of the rules file (-b, --backlog_wait_time, -f, -e) and the machine-wide syscall rules of keys
perm_mod and privileged are not loaded on this shared machine; the data-directory rules (aiphone_data,
aiphone_data_perm) and the identity/sudo/PAM/sshd watches are. On exit the rules are deleted by key, the daemon is
stopped and the kernel's audit switch is put back as it was.

Only one audit daemon can own the kernel audit at a time: a lock file serialises the test sessions of this machine.
Where the machine already runs its own auditd (a Debian control node with systemd starts the package's service), that
daemon is used as it is - never stopped or reconfigured - and the events are read from its log file
(/etc/audit/auditd.conf `log_file`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[3]
LOCK = Path("/run/lock/aiphone-lab-kernel-audit.lock")
SKIPPED_KEYS = ("perm_mod", "privileged")
GLOBAL_SETTINGS = ("-b ", "--backlog_wait_time", "-f ", "-e ", "-D")
AUDITD_CONF = """# aiphone lab: the machine's auditd for one test session (kernel_audit.py)
local_events = yes
write_logs = yes
log_file = {log_file}
log_group = root
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 20
max_log_file = 64
num_logs = 2
max_log_file_action = ROTATE
space_left = 10
space_left_action = IGNORE
admin_space_left = 5
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
name_format = NONE
plugin_dir = {plugin_dir}
end_of_event_timeout = 2
"""


class KernelAuditError(RuntimeError):
    """The machine's kernel audit could not be used for the lab; the message says why."""


def role_rules() -> list[str]:
    """The audit_logging role's audit.rules, rendered with its defaults, as single rule lines."""
    defaults = yaml.safe_load((REPO / "roles" / "audit_logging" / "defaults" / "main.yml").read_text())
    template = (REPO / "roles" / "audit_logging" / "templates" / "audit.rules.j2").read_text()
    variables = {k: v for k, v in defaults.items()
                 if k.startswith("audit_logging_") and k != "audit_logging_in_container"}
    # the default is an Ansible expression of the host's architecture: the lab's host is this machine
    variables["audit_logging_arches"] = ["b64", "b32"] if platform.machine() == "x86_64" else ["b64"]
    text = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined).from_string(template).render(  # noqa: S701 - not HTML
        ansible_managed="aiphone lab", **variables)
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith(GLOBAL_SETTINGS):
            continue
        if any(line.endswith(f"-k {key}") for key in SKIPPED_KEYS):
            continue
        rules.append(line)
    return rules


def _auditctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["auditctl", *args], capture_output=True, text=True, check=False, timeout=30)


def _status() -> dict[str, str]:
    result = _auditctl("-s")
    if result.returncode != 0:
        raise KernelAuditError(f"auditctl -s failed: {result.stderr.strip()}")
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


@contextlib.contextmanager
def audited(container: str, container_pid: int, run_dir: Path, wait: float = 600.0):
    """Audit `container` with the role's rules while the block runs; yields the audit.log path."""
    for tool in ("auditd", "auditctl", "nsenter"):
        if shutil.which(tool) is None:
            raise KernelAuditError(f"{tool} is missing (scripts/setup.sh installs auditd)")
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KernelAuditError(f"another test session holds {LOCK} for more than {wait:.0f} s") from None
                time.sleep(2)
        before = _status()
        daemon = None
        if before.get("pid", "0") != "0":
            log_file = _system_log_file()
        else:
            conf_dir = run_dir / "auditd"
            (conf_dir / "plugins.d").mkdir(parents=True, exist_ok=True)
            log_file = run_dir / "audit.log"
            conf = conf_dir / "auditd.conf"
            conf.write_text(AUDITD_CONF.format(log_file=log_file, plugin_dir=conf_dir / "plugins.d"))
            conf.chmod(0o640)
            daemon = subprocess.Popen(["auditd", "-n", "-c", str(conf_dir)], stdout=subprocess.DEVNULL,
                                      stderr=open(run_dir / "auditd.err", "w"), start_new_session=True)  # noqa: SIM115
        keys: set[str] = set()
        try:
            if daemon is not None:
                _wait_registered(daemon)
            for rule in role_rules():
                loaded = subprocess.run(["nsenter", "-t", str(container_pid), "-m", "--", "auditctl", *rule.split()],
                                        capture_output=True, text=True, check=False, timeout=30)
                if loaded.returncode != 0:
                    raise KernelAuditError(f"{container}: auditctl {rule}: {loaded.stderr.strip()}")
                keys.add(re.search(r"-k (\S+)$", rule)[1])
            yield log_file
            time.sleep(3)   # end_of_event_timeout + flush: the last events reach the log
        finally:
            for key in sorted(keys):
                _auditctl("-D", "-k", key)
            if daemon is not None:
                if daemon.poll() is None:
                    os.kill(daemon.pid, signal.SIGTERM)
                    daemon.wait(timeout=30)
                if before.get("enabled") == "0":
                    _auditctl("-e", "0")


def _system_log_file() -> Path:
    """The log file of the machine's own auditd (its auditd.conf, else Debian's default)."""
    conf = Path("/etc/audit/auditd.conf")
    text = conf.read_text() if conf.exists() else ""
    match = re.search(r"^\s*log_file\s*=\s*(\S+)", text, re.MULTILINE)
    path = Path(match[1] if match else "/var/log/audit/audit.log")
    if not os.access(path, os.R_OK):
        raise KernelAuditError(f"the machine's auditd writes {path}, which this test cannot read")
    return path


def _wait_registered(daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise KernelAuditError(f"auditd exited with {daemon.returncode} before registering")
        if _status().get("pid") == str(daemon.pid):
            return
        time.sleep(0.3)
    raise KernelAuditError("auditd did not register with the kernel within 30 s")
