#!/usr/bin/python
"""Ansible module: is now inside a maintenance window of the site, and does a disruptive step fit?"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: maintenance_window
short_description: Decide whether a disruptive step may run now, from the site's maintenance windows
description:
  - Reads the maintenance windows (days, start, duration, in the site's timezone, DST-correct) and blackout dates of
    a site policy and reports whether now is inside a window, how long remains and when the next window opens.
  - With I(require=true) the task fails outside a window, or when a step of I(step_seconds) would not finish before
    the window closes, with a message naming the next window.
  - I(force=true) overrides the refusal only together with I(force_reason); the override is recorded in the site's
    audit trail (operator, time, reason).
  - Touches no device. Runs on the controller.
version_added: "0.1.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.maintenance_force
options:
  policy:
    description: Path of the site policy file (C(inventories/<site>/site_policy.yml)).
    type: path
    required: true
  step_seconds:
    description: Estimated duration of the disruptive step (e.g. a device's reboot time); it must fit in the window.
    type: int
    default: 0
  require:
    description: Fail unless the step may start now (inside a window, fits before it closes, no blackout).
    type: bool
    default: false
  now:
    description:
      - ISO 8601 time with offset to evaluate instead of the current time (planning, tests).
    type: str
  audit_dir:
    description: Root of the audit trails (records go to C(<audit_dir>/<site>/)).
    type: path
    default: audit
  operator:
    description: Who runs the change (recorded with a forced override). Defaults to C($AIPHONE_OPERATOR) or the user.
    type: str
notes:
  - Check mode is supported and decides exactly as a normal run; a forced override is still recorded, because the
    refusal it overrides is real.
"""

EXAMPLES = r"""
- name: Refuse to reload switches outside the window
  aiphone.hardening.maintenance_window:
    policy: "{{ inventory_dir }}/site_policy.yml"
    step_seconds: 900
    require: true

- name: Emergency patch outside the window (recorded)
  aiphone.hardening.maintenance_window:
    policy: "{{ inventory_dir }}/site_policy.yml"
    require: true
    force: true
    force_reason: "CHG-1234 critical CVE in phone firmware"
"""

RETURN = r"""
inside:
  description: Whether now is inside a maintenance window.
  type: bool
  returned: always
remaining_seconds:
  description: Real seconds left in the current window (0 outside).
  type: int
  returned: always
step_fits:
  description: Whether a step of I(step_seconds) may start now.
  type: bool
  returned: always
allowed:
  description: Whether the step may run (fits, or forced with a reason).
  type: bool
  returned: always
forced:
  description: Whether the refusal was overridden by I(force).
  type: bool
  returned: always
current_window:
  description: The open window (name, start, end in the site's timezone, duration_seconds) or null.
  type: dict
  returned: always
next_window:
  description: The next window to open (same shape) or null.
  type: dict
  returned: always
message:
  description: Human-readable decision, naming the next window when refused.
  type: str
  returned: always
timezone:
  description: The site's timezone.
  type: str
  returned: always
"""

import datetime as dt

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.policy import (
    load_policy,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import (
    append_record,
    attempt_record,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    WindowError,
    utc_now,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import FORCE_ARGS, FORCE_REQUIRED_IF


def parse_now(text: str | None) -> dt.datetime:
    if not text:
        return utc_now()
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise WindowError(f"now={text!r} needs a UTC offset, e.g. 2026-11-29T02:30:00+01:00")
    return moment


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "path", "required": True},
            "step_seconds": {"type": "int", "default": 0},
            "require": {"type": "bool", "default": False},
            **FORCE_ARGS,
            "now": {"type": "str"},
            "audit_dir": {"type": "path", "default": "audit"},
            "operator": {"type": "str"},
        },
        required_if=FORCE_REQUIRED_IF,
        supports_check_mode=True,
    )
    params = module.params
    if params["force"] and not (params["force_reason"] or "").strip():
        module.fail_json(msg="force=true needs a non-empty force_reason (it is recorded in the audit trail)")
    try:
        policy = load_policy(params["policy"])
        schedule = MaintenanceSchedule.from_policy(policy)
        status = schedule.status(parse_now(params["now"]), params["step_seconds"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"maintenance windows of {params['policy']}: {exc}")

    forced = params["force"] and not status["step_fits"]
    status.update(changed=False, forced=forced, allowed=status["step_fits"] or forced)
    if forced:
        site = (policy.get("site") or {}).get("name", "site")
        record = attempt_record(step="window_override", result="forced", reason=status["message"],
                                start=status["now"], forced=True, force_reason=params["force_reason"],
                                operator=params["operator"])
        status["audit_record"] = append_record(params["audit_dir"], site, record)
        module.warn(f"maintenance window overridden: {status['message']} (reason: {params['force_reason']})")
    if params["require"] and not status["allowed"]:
        module.fail_json(msg=f"refused: {status['message']}. Run inside the window, or set force=true with "
                             f"force_reason to override (recorded).", **status)
    module.exit_json(**status)


if __name__ == "__main__":
    main()
