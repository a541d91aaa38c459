#!/usr/bin/python
"""Ansible module: install (or remove) the timers that run a site's maintenance playbook in its windows."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: maintenance_schedule
short_description: Schedule a site's maintenance playbook at the start of each maintenance window (systemd or cron)
description:
  - Reads the maintenance windows of a site policy and writes, on the control node, one systemd timer + service per
    window (C(OnCalendar=) in the site's timezone, dated extra lines for spring-forward nights so the timer fires
    when the window really opens) or, without systemd, one C(/etc/cron.d) file for the site.
  - The service runs C(scripts/maintenance_run.py), which takes the site's flock lock (runs never overlap), checks
    the window is open (blackout dates), runs the playbook, logs to the journal and writes a run report.
  - Units of the site whose window left the policy are stopped, disabled and removed. I(state=absent) removes all of
    the site's units. Only files carrying the module's marker line are ever touched.
  - Returns the next runs of every window (the dry run of the schedule).
version_added: "0.1.0"
author: aiphone-hardening contributors
options:
  policy:
    description: Path of the site policy file.
    type: path
    required: true
  state:
    description: C(present) installs the site's schedule, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description: C(systemd), C(cron), or C(auto) (systemd when it runs as init, that is C(/run/systemd/system) exists).
    type: str
    choices: [auto, systemd, cron]
    default: auto
  unit_dir:
    description: Where the timer and service units go.
    type: path
    default: /etc/systemd/system
  cron_dir:
    description: Where the cron fallback file goes.
    type: path
    default: /etc/cron.d
  manage_systemd:
    description: Run C(systemctl) (daemon-reload, enable --now, disable --now). Off to only write files.
    type: bool
    default: true
  project_dir:
    description: The toolkit checkout the runs start in (absolute).
    type: path
    required: true
  python:
    description: Python interpreter of the toolkit's venv (absolute).
    type: path
    required: true
  inventory:
    description: Inventory of the site (absolute).
    type: path
    required: true
  playbook:
    description: Playbook run in each window (relative to I(project_dir) or absolute).
    type: str
    default: playbooks/firmware.yml
  report_dir:
    description: Where run reports and logs are written.
    type: path
    required: true
  lock_dir:
    description: Directory of the per-site flock lock file.
    type: path
    default: /run/lock
  audit_dir:
    description: Root of the audit trails (each run is recorded); empty for none.
    type: str
    default: ""
  vault_password_file:
    description: Vault password file the runs use (readable by I(run_user) only); empty for none.
    type: str
    default: ""
  run_user:
    description: Local user the runs execute as.
    type: str
    default: root
  extra_vars:
    description: C(key=value) strings passed to every run with C(-e).
    type: list
    elements: str
    default: []
  preview_count:
    description: How many next runs per window to return.
    type: int
    default: 5
  now:
    description: ISO 8601 time with offset for the preview and the spring-forward lines (tests); default the clock.
    type: str
notes:
  - Check mode reports exactly which files and timers would change, with a diff, and changes nothing.
  - Every value that reaches a unit file or crontab is checked; spaces, quotes, %, $, ;, |, backticks and control
    characters are refused.
"""

EXAMPLES = r"""
- name: Run the firmware playbook of the lab site in each maintenance window
  aiphone.hardening.maintenance_schedule:
    policy: "{{ inventory_dir }}/site_policy.yml"
    project_dir: /opt/aiphone-hardening
    python: /opt/aiphone-hardening/.venv/bin/python
    inventory: /opt/aiphone-hardening/inventories/lab
    report_dir: /var/log/aiphone/schedule/lab
    audit_dir: /opt/aiphone-hardening/audit

- name: Remove the site's schedule
  aiphone.hardening.maintenance_schedule:
    policy: "{{ inventory_dir }}/site_policy.yml"
    state: absent
    project_dir: /opt/aiphone-hardening
    python: /opt/aiphone-hardening/.venv/bin/python
    inventory: /opt/aiphone-hardening/inventories/lab
    report_dir: /var/log/aiphone/schedule/lab
"""

RETURN = r"""
backend:
  description: The scheduler used.
  returned: always
  type: str
  sample: systemd
written:
  description: Files created or updated.
  returned: always
  type: list
  elements: str
removed:
  description: Files removed (windows no longer in the policy, or state=absent).
  returned: always
  type: list
  elements: str
timers:
  description: The site's timer units after the run.
  returned: always
  type: list
  elements: str
next_runs:
  description: Per window, its next openings (local start, end, duration; blackout dates skipped).
  returned: when state=present
  type: dict
  sample: {"sunday-night": [{"start": "2027-03-28T03:00:00+02:00", "end": "2027-03-28T05:00:00+02:00"}]}
"""

import datetime as dt
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import WindowError
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy


def pick_backend(choice: str) -> str:
    if choice != "auto":
        return choice
    return "systemd" if os.path.isdir("/run/systemd/system") else "cron"


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def owned_files(directory: str, site: str) -> dict[str, str]:
    """{name: content} of the files in ``directory`` whose marker line names ``site``."""
    if not os.path.isdir(directory):
        return {}
    found = {}
    for name in sorted(os.listdir(directory)):
        if name.startswith(schedule.UNIT_PREFIX + "-") and os.path.isfile(os.path.join(directory, name)):
            content = read(os.path.join(directory, name)) or ""
            if schedule.marker_site(content) == site:
                found[name] = content
    return found


def desired_files(params: dict, policy: dict, site: str, backend: str, now: dt.datetime) -> dict[str, str]:
    if params["state"] == "absent":
        return {}
    project = params["project_dir"].rstrip("/")
    playbook = params["playbook"] if params["playbook"].startswith("/") else f"{project}/{params['playbook']}"
    settings = schedule.RunSettings(
        site=site, project_dir=project, python=params["python"], inventory=params["inventory"], playbook=playbook,
        policy=params["policy"], report_dir=params["report_dir"], lock_dir=params["lock_dir"],
        audit_dir=params["audit_dir"], vault_password_file=params["vault_password_file"],
        run_user=params["run_user"], extra_vars=tuple(params["extra_vars"]))
    if backend == "systemd":
        return schedule.systemd_files(settings, policy, now.year)
    return schedule.cron_files(settings, policy)


class Systemctl:
    """The few systemctl calls the module needs; every one fails the task with systemctl's own words."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.binary = module.get_bin_path("systemctl", required=True)

    def run(self, *args: str, check: bool = True) -> int:
        rc, out, err = self.module.run_command([self.binary, *args])
        if check and rc != 0:
            self.module.fail_json(msg=f"systemctl {' '.join(args)} failed: {(err or out).strip()}")
        return rc

    def is_on(self, timer: str) -> bool:
        return (self.run("is-enabled", "--quiet", timer, check=False) == 0
                and self.run("is-active", "--quiet", timer, check=False) == 0)


def apply(module: AnsibleModule, directory: str, current: dict, wanted: dict, systemctl: Systemctl | None) -> dict:
    """Make ``directory`` hold exactly ``wanted`` of the site's files; systemd told about it when managed."""
    stale = sorted(set(current) - set(wanted))
    changed_files = sorted(name for name, content in wanted.items() if current.get(name) != content)
    to_start = [timer for timer in sorted(wanted) if timer.endswith(".timer") and systemctl
                and (timer in changed_files or not systemctl.is_on(timer))]
    plan = {"written": changed_files, "removed": stale, "started": to_start}
    if module.check_mode:
        return plan
    for name in (n for n in stale if n.endswith(".timer")):
        if systemctl:
            systemctl.run("disable", "--now", name, check=False)
    for name in stale:
        os.unlink(os.path.join(directory, name))
    os.makedirs(directory, exist_ok=True)
    for name in changed_files:
        path = os.path.join(directory, name)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(wanted[name])
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    if systemctl and (stale or changed_files):
        systemctl.run("daemon-reload")
    for timer in to_start:
        systemctl.run("enable", timer)
        systemctl.run("restart", timer)     # a changed OnCalendar= is recomputed on restart
    return plan


def diff_of(directory: str, current: dict, wanted: dict, result: dict) -> list[dict]:
    return [{"before_header": os.path.join(directory, name), "after_header": os.path.join(directory, name),
             "before": current.get(name, ""), "after": wanted.get(name, "")}
            for name in result["written"] + result["removed"]]


def main():
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "backend": {"type": "str", "choices": ["auto", "systemd", "cron"], "default": "auto"},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
            "cron_dir": {"type": "path", "default": "/etc/cron.d"},
            "manage_systemd": {"type": "bool", "default": True},
            "project_dir": {"type": "path", "required": True},
            "python": {"type": "path", "required": True},
            "inventory": {"type": "path", "required": True},
            "playbook": {"type": "str", "default": "playbooks/firmware.yml"},
            "report_dir": {"type": "path", "required": True},
            "lock_dir": {"type": "path", "default": "/run/lock"},
            "audit_dir": {"type": "str", "default": ""},
            "vault_password_file": {"type": "str", "default": "", "no_log": False},  # a path, not a secret
            "run_user": {"type": "str", "default": "root"},
            "extra_vars": {"type": "list", "elements": "str", "default": []},
            "preview_count": {"type": "int", "default": 5},
            "now": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        now = dt.datetime.fromisoformat(params["now"]) if params["now"] else dt.datetime.now(dt.UTC)
        if now.tzinfo is None:
            module.fail_json(msg=f"now={params['now']!r} needs a UTC offset (e.g. 2027-03-27T12:00:00+00:00)")
        policy = load_site_policy(params["policy"]).raw   # the windows, parsed by maintenance_window
        site = policy["site"]["name"]
        backend = pick_backend(params["backend"])
        wanted = desired_files(params, policy, site, backend, now)
        preview = (schedule.next_runs(policy, now, params["preview_count"])
                   if params["state"] == "present" else {})
    except PolicyError as error:
        module.fail_json(msg=f"the site policy is refused, nothing scheduled:\n{error}")
    except (WindowError, schedule.ScheduleError) as error:
        module.fail_json(msg=f"nothing scheduled: {error}")
    if backend == "cron" and params["state"] == "present" and not any(
            module.get_bin_path(name) for name in ("cron", "crond", "busybox")):
        module.warn("no systemd and no cron daemon found on the control node: the schedule is written but nothing "
                    "will run it until cron is installed (apt-get install cron)")
    directory, other = ((params["unit_dir"], params["cron_dir"]) if backend == "systemd"
                        else (params["cron_dir"], params["unit_dir"]))
    current = owned_files(directory, site)
    systemctl = Systemctl(module) if backend == "systemd" and params["manage_systemd"] else None
    result = apply(module, directory, current, wanted, systemctl)
    # the site's files of the other backend go, or a switched site would run twice per window
    diff = diff_of(directory, current, wanted, result)
    leftover = owned_files(other, site)
    if leftover:
        other_systemctl = (Systemctl(module) if backend == "cron" and params["manage_systemd"]
                           and module.get_bin_path("systemctl") else None)
        cleared = apply(module, other, leftover, {}, other_systemctl)
        diff += diff_of(other, leftover, {}, cleared)
        result["removed"] += [os.path.join(other, name) for name in cleared["removed"]]
    changed = bool(result["written"] or result["removed"] or result["started"])
    module.exit_json(changed=changed, backend=backend, site=site, written=result["written"],
                     removed=result["removed"], started=result["started"], next_runs=preview,
                     timers=sorted(name for name in wanted if name.endswith(".timer")),
                     diff=diff)


if __name__ == "__main__":
    main()
