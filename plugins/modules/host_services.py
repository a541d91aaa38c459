#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Enablement and running state of several systemd units in one module call (cheap no-op runs)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_services
short_description: Enable, disable, start or stop a set of systemd units in one call
description:
  - One C(systemctl show) reads every unit of O(units) at once (C(LoadState), C(UnitFileState), C(ActiveState),
    C(NeedDaemonReload)); only the units that differ are acted on, one C(systemctl) command each, so that an error
    names its unit. A no-op run is one module call and one C(systemctl) command, where a loop of
    C(ansible.builtin.systemd_service) costs a module call and two or three commands per unit.
  - The semantics are C(ansible.builtin.systemd_service)'s. O(units[].enabled=true) is met by the unit file states
    C(enabled), C(static), C(linked), C(linked-runtime), C(generated) and C(transient) (not C(enabled-runtime),
    C(indirect) or C(alias), which are enabled again, as that module does); O(units[].enabled=false) by any state
    but C(enabled), C(enabled-runtime), C(linked), C(linked-runtime) and C(alias). O(units[].state=started) is met by
    the active states C(active), C(activating) and C(reloading); O(units[].state=stopped) by any other but
    C(deactivating). Per unit, enablement is handled before the running state.
  - A unit whose file changed on disk since systemd read it (C(NeedDaemonReload=yes)), or O(daemon_reload=true),
    makes the call run C(systemctl daemon-reload) first and read the units again.
  - A unit that is not installed or masked needs no disabling or stopping (nothing is done). One that is not
    installed, is masked while it should be enabled or started, or failed to load, fails the call naming it. In
    check mode a unit that is not installed yet is planned (a task before this one installs it in a real run), with
    a warning.
  - After a start, a unit that is still not active (its C(Condition...=) not met, say C(ConditionVirtualization=
    !container)) is reported in C(inactive_after_start) with a warning; a C(systemctl) command that fails fails
    the call.
  - Supports check mode (an accurate plan) and C(--diff).
options:
  units:
    description: The units, handled in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unit name, such as C(rsyslog) or C(aiphone-retention.timer) (C(.service) when no suffix).
        type: str
        required: true
      enabled: {description: Started at boot (true) or not (false); unchanged when omitted., type: bool}
      state:
        description: Running (C(started)) or not (C(stopped)); unchanged when omitted.
        type: str
        choices: [started, stopped]
  daemon_reload:
    description: Run C(systemctl daemon-reload) before reading the units (also done when one needs it).
    type: bool
    default: false
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: Log forwarding and the audit daemon run, and start at boot
  aiphone.hardening.host_services:
    units:
      - {name: rsyslog, enabled: true, state: started}
      - {name: auditd, enabled: true}

- name: Our AIDE timer replaces the distribution's
  aiphone.hardening.host_services:
    units:
      - {name: aiphone-aide-check.timer, enabled: true, state: started}
      - {name: dailyaidecheck.timer, enabled: false, state: stopped}
"""

RETURN = r"""
changed_units:
  description: Units this call changed (in check mode, would change), in the order given.
  returned: always
  type: list
  elements: str
  sample: [rsyslog]
units:
  description: Per unit, its state before and after and the C(systemctl) actions run (or planned).
  returned: always
  type: list
  elements: dict
  sample: [{name: rsyslog, id: rsyslog.service, load_state: loaded, actions: [start],
            before: {enabled: enabled, active: inactive}, after: {enabled: enabled, active: active}}]
daemon_reloaded:
  description: Whether C(systemctl daemon-reload) ran (in check mode, would run).
  returned: always
  type: bool
inactive_after_start:
  description: Units started by this call that are not active afterwards (a start condition not met).
  returned: always
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

PROPERTIES = ("Id", "LoadState", "LoadError", "UnitFileState", "ActiveState", "NeedDaemonReload")
UNIT_RE = re.compile(r"^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]*\Z")
ENABLED_MET = {"enabled", "static", "linked", "linked-runtime", "generated", "transient"}
ENABLED_STATES = {"enabled", "enabled-runtime", "linked", "linked-runtime", "alias"}
RUNNING = {"active", "activating", "reloading"}


class UnitError(Exception):
    """A unit cannot be put in the asked state; the message names it."""


def parse_show(output: str, count: int) -> list[dict]:
    """The blocks of `systemctl show -p ... u1 u2 ...` (one per unit, in the order asked, blank-line separated)."""
    blocks, current = [], {}
    for line in output.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UnitError(f"unexpected line in the output of systemctl show: {line!r}")
        current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != count:
        raise UnitError(f"systemctl show answered {len(blocks)} block(s) for {count} unit(s): {output[-500:]!r}")
    for block in blocks:
        missing = [key for key in ("LoadState", "ActiveState") if key not in block]
        if missing:
            raise UnitError(f"systemctl show did not report {', '.join(missing)}: {block!r}")
    return blocks


def plan(unit: dict, status: dict, check_mode: bool) -> list[str]:
    """The systemctl actions that bring one unit to what is asked (raises UnitError when none can)."""
    name, load = unit["name"], status["LoadState"]
    wants_up = unit.get("enabled") is True or unit.get("state") == "started"
    if load == "not-found":
        if not wants_up:
            return []     # nothing to disable or stop
        if not check_mode:
            raise UnitError(f"unit {name} is not installed on this host (systemctl: "
                            f"{status.get('LoadError') or 'not-found'})")
        return [a for a, asked in (("enable", unit.get("enabled") is True),
                                   ("start", unit.get("state") == "started")) if asked]
    if load == "masked":
        if wants_up:
            raise UnitError(f"unit {name} is masked: unmask it (systemctl unmask {name}) before it can be enabled or "
                            "started")
        return []
    if load != "loaded":
        raise UnitError(f"unit {name} did not load ({load}): {status.get('LoadError') or 'no error reported'}")
    actions = []
    file_state, active = status.get("UnitFileState", ""), status["ActiveState"]
    if unit.get("enabled") is True and file_state not in ENABLED_MET:
        actions.append("enable")
    elif unit.get("enabled") is False and file_state in ENABLED_STATES:
        actions.append("disable")
    if unit.get("state") == "started" and active not in RUNNING:
        actions.append("start")
    elif unit.get("state") == "stopped" and (active in RUNNING or active == "deactivating"):
        actions.append("stop")
    return actions


def check_unit(unit: dict) -> None:
    name = unit["name"]
    if not UNIT_RE.match(name or ""):
        raise UnitError(f"unit name {name!r} is not a systemd unit name (letters, digits, ':_.\\@-', not starting "
                        "with '-')")
    if unit.get("enabled") is None and unit.get("state") is None:
        raise UnitError(f"unit {name}: give enabled, state or both")


class HostServices:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.systemctl = module.get_bin_path("systemctl", required=True)

    def run(self, *args: str) -> str:
        rc, out, err = self.module.run_command([self.systemctl, *args], environ_update={"LC_ALL": "C"})
        if rc != 0:
            raise UnitError(f"systemctl {' '.join(args)} failed (rc {rc}): {(err or out).strip()[-1000:]}")
        return out

    def show(self, names: list[str]) -> list[dict]:
        return parse_show(self.run("show", "--all", "--property=" + ",".join(PROPERTIES), "--", *names), len(names))


def summary(status: dict) -> dict:
    return {"enabled": status.get("UnitFileState") or status["LoadState"], "active": status["ActiveState"]}


def main() -> None:
    # zip() without strict=: a host may run Python 3.8; parse_show() checked that every unit has its block
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                enabled=dict(type="bool"),
                state=dict(type="str", choices=["started", "stopped"]),
            )),
            daemon_reload=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    units = module.params["units"]
    result = {"changed": False, "changed_units": [], "units": [], "daemon_reloaded": False,
              "inactive_after_start": []}
    try:
        for unit in units:
            check_unit(unit)
        worker = HostServices(module)
        names = [unit["name"] for unit in units]
        before = worker.show(names)
        if module.params["daemon_reload"] or any(s.get("NeedDaemonReload") == "yes" for s in before):
            result["daemon_reloaded"] = True
            if not module.check_mode:
                worker.run("daemon-reload")
                before = worker.show(names)
        plans = [plan(unit, status, module.check_mode) for unit, status in zip(units, before)]  # noqa: B905
        for unit, status, actions in zip(units, before, plans):  # noqa: B905
            if status["LoadState"] == "not-found" and actions:
                module.warn(f"unit {unit['name']} is not installed yet: planned as if a task before this one "
                            "installs it (check mode)")
            if not module.check_mode:
                for action in actions:
                    worker.run(action, "--", unit["name"])
        after = worker.show(names) if any(plans) and not module.check_mode else before
    except UnitError as err:
        module.fail_json(msg=str(err), **result)
    diff = {"before": "", "after": ""}
    for unit, old, new, actions in zip(units, before, after, plans):  # noqa: B905
        entry = {"name": unit["name"], "id": old.get("Id", unit["name"]), "load_state": old["LoadState"],
                 "actions": actions, "before": summary(old), "after": summary(new)}
        if actions:
            result["changed_units"].append(unit["name"])
            diff["before"] += f"{unit['name']}: {entry['before']['enabled']}, {entry['before']['active']}\n"
            wanted = {"enabled": "enabled" if unit.get("enabled") else "disabled" if unit.get("enabled") is False
                      else entry["before"]["enabled"],
                      "active": {"started": "active", "stopped": "inactive"}.get(unit.get("state") or "",
                                                                             entry["before"]["active"])}
            shown = wanted if module.check_mode else entry["after"]
            diff["after"] += f"{unit['name']}: {shown['enabled']}, {shown['active']}\n"
            if "start" in actions and not module.check_mode and new["ActiveState"] not in RUNNING:
                result["inactive_after_start"].append(unit["name"])
                module.warn(f"unit {unit['name']} was started but is {new['ActiveState']} (a start condition of "
                            "the unit is not met on this host?)")
        result["units"].append(entry)
    result["changed"] = bool(result["changed_units"])
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
