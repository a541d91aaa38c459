# -*- coding: utf-8 -*-
"""The maintenance_schedule module's run: the site's timers (systemd) or cron file, rendered by `schedule` from the
policy's maintenance windows, written so that the directory holds exactly them (the other backend's files of the
same site removed, or a switched site would run twice per window).

    module.exit_json(**install_schedule(module))
"""

from __future__ import annotations

import datetime as dt
import os

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

    def __init__(self, module):
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


def apply(module, directory: str, current: dict, wanted: dict, systemctl: Systemctl | None) -> dict:
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


def install_schedule(module) -> dict:
    """The whole task (check mode: the plan); fails the module naming the policy or systemctl problem."""
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
    return dict(changed=changed, backend=backend, site=site, written=result["written"],
                removed=result["removed"], started=result["started"], next_runs=preview,
                timers=sorted(name for name in wanted if name.endswith(".timer")), diff=diff)

