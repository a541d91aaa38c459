#!/usr/bin/python
"""Documentation of the aiphone.hardening.site_lock action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: site_lock
short_description: One changing run per site at a time (held by the controller for the whole playbook)
description:
  - The first task of every playbook that changes a site (C(playbooks/site_lock.yml), imported first). It takes
    an exclusive C(flock) on C(<audit_dir>/<site>/site.lock) for the controller process C(ansible-playbook) - a
    holder process keeps it until that process ends; the lock file records the holder (user, host, controller
    pid, playbook, since, run id). A second run waits up to I(wait) seconds, then fails naming the holder. A killed
    run releases the lock with its process.
  - Read-only playbooks (C(audit.yml), C(validate.yml), C(incident_report.yml)) do not take it.
  - Removes the controller's stale C(ansible-tmp-*) directories that hold payloads of this collection's modules
    (left by killed runs, they may hold device credentials) and keeps the Ansible temporary directory at 0700.
  - Sets the fact C(aiphone_run_id), unique per run, which reports and audit records carry.
  - The callback plugin C(aiphone.hardening.site_lock) (enabled in the toolkit's C(ansible.cfg)) lists hosts a
    stopped play never attempted.
version_added: "0.2.0"
author: aiphone-hardening contributors
options:
  audit_dir:
    description: Root of the sites' state (audit) directories.
    type: path
    required: true
  site:
    description: Site name (C(aiphone_site_name)).
    type: str
    required: true
  wait:
    description: Seconds to wait for another run of the same site before failing.
    type: float
    default: 300
notes:
  - Check mode takes the lock too (a plan must not be computed while another run changes the site).
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
"""

EXAMPLES = r"""
- name: Site lock | Take the site's lock (held until this run ends)
  aiphone.hardening.site_lock:
    audit_dir: "{{ aiphone_audit_dir | default(playbook_dir ~ '/../audit') }}"
    site: "{{ aiphone_site_name }}"
    wait: "{{ aiphone_site_lock_wait | default(300) }}"
  run_once: true
"""

RETURN = r"""
lock:
  description: The lock file.
  type: str
  returned: success
holder:
  description: Who holds the lock (this run on success, the other run on failure) - user, host, pid, playbook,
    run_id, since.
  type: dict
  returned: always
waited_seconds:
  description: How long this run waited for the lock.
  type: float
  returned: success
run_id:
  description: This run's id (also the fact C(aiphone_run_id)).
  type: str
  returned: success
removed_stale_tmp:
  description: Stale temporary directories of killed runs that were removed.
  type: list
  elements: str
  returned: success
"""
