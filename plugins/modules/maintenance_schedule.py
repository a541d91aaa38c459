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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.schedule_install import install_schedule


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
    module.exit_json(**install_schedule(module))


if __name__ == "__main__":
    main()
