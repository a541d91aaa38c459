#!/usr/bin/python
"""Ansible module: the maintenance windows of a site as AWX/AAP schedule rules and systemd calendar specs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: maintenance_rrule
short_description: Maintenance windows of a site policy as AWX/AAP schedule rules (read-only)
description:
  - Reads the maintenance windows of a site policy and returns, per window, the RFC 5545 rule that
    C(awx.awx.schedule) takes (C(DTSTART;TZID=<site timezone>:...) C(RRULE:FREQ=WEEKLY;BYDAY=...)), the systemd
    C(OnCalendar=) spec, the duration and the next openings (DST-correct, blackout dates skipped).
  - Touches nothing; used by C(playbooks/awx_configure.yml) to create one firmware schedule per window.
version_added: "0.1.0"
author: aiphone-hardening contributors
options:
  policy:
    description: Path of the site policy file.
    type: path
    required: true
  count:
    description: How many next openings to return per window.
    type: int
    default: 3
notes:
  - Check mode is supported (the module never changes anything).
"""

EXAMPLES = r"""
- name: Windows of the site as AWX schedule rules
  aiphone.hardening.maintenance_rrule:
    policy: "{{ aiphone_site_policy_file }}"
  register: windows

- name: One firmware schedule per window
  awx.awx.schedule:
    name: "firmware {{ item.name }}"
    unified_job_template: firmware
    rrule: "{{ item.rrule }}"
  loop: "{{ windows.awx_schedules | selectattr('kind', 'eq', 'firmware') }}"
"""

RETURN = r"""
awx_schedules:
  description:
    - The AWX schedules of the windows, one job per window opening so nothing overlaps. C(kind=hardening_weekly)
      is the first weekday of the first window (weekly hardening, then firmware); C(kind=firmware) every other.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "sunday-night", "kind": "hardening_weekly", "label": "window sunday-night hardening_weekly",
            "rrule": "DTSTART;TZID=Europe/Berlin:20240101T020000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU"}]
site:
  description: Site name.
  returned: always
  type: str
timezone:
  description: The site's timezone (the rules' TZID).
  returned: always
  type: str
windows:
  description: One entry per window.
  returned: always
  type: list
  elements: dict
  sample:
    - name: sunday-night
      rrule: "DTSTART;TZID=Europe/Berlin:20240101T020000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU"
      on_calendar: "Sun *-*-* 02:00:00 Europe/Berlin"
      duration_seconds: 10800
      next: [{start: "2026-11-29T02:00:00+01:00", end: "2026-11-29T05:00:00+01:00", duration_seconds: 10800}]
"""

import datetime as dt

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import WindowError
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy


def main():
    module = AnsibleModule(argument_spec={"policy": {"type": "path", "required": True},
                                          "count": {"type": "int", "default": 3}},
                           supports_check_mode=True)
    try:
        policy = load_site_policy(module.params["policy"]).raw   # the windows, parsed by maintenance_window
        site_schedule = schedule.site_schedule(policy)
        upcoming = schedule.next_runs(policy, dt.datetime.now(dt.UTC), module.params["count"])
    except PolicyError as error:
        module.fail_json(msg=f"the site policy is refused:\n{error}")
    except WindowError as error:
        module.fail_json(msg=str(error))
    windows = [{"name": window.name,
                "rrule": schedule.awx_rrule(window, site_schedule.timezone),
                "on_calendar": schedule.on_calendar(window, site_schedule.timezone),
                "duration_seconds": int(window.duration.total_seconds()),
                "next": upcoming[window.name]}
               for window in site_schedule.windows]
    module.exit_json(changed=False, site=policy["site"]["name"], timezone=site_schedule.timezone, windows=windows,
                     awx_schedules=schedule.awx_window_schedules(site_schedule))


if __name__ == "__main__":
    main()
