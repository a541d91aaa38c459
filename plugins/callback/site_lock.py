"""Callback plugin: the controller process holds the site lock for the whole playbook, and the recap names every
host a play never reached."""

from __future__ import annotations

DOCUMENTATION = r"""
name: site_lock
type: aggregate
short_description: Hold the site's run lock for the whole playbook; list hosts a play never attempted
description:
  - When a task of P(aiphone.hardening.site_lock#module) starts, this plugin - running inside C(ansible-playbook)
    itself, not in a forked worker - takes an exclusive C(flock) on C(<audit_dir>/<site>/site.lock) and keeps it
    until the process ends (normally, on error, or killed - the kernel releases it). It waits up to the task's
    C(wait) seconds for another run to finish; the task then reports who holds the lock and fails.
  - At the end of the run, every host a play targeted but never ran a task on (a play stopped early, e.g. all
    hosts of a C(serial) batch failed) is listed as C(not attempted) with the play's name.
requirements:
  - enable in ansible.cfg C(callbacks_enabled = aiphone.hardening.site_lock)
"""

import os

from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail, site_lock

ACTIONS = ("aiphone.hardening.site_lock", "site_lock")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aiphone.hardening.site_lock"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_id = os.environ.get("AIPHONE_RUN_ID") or site_lock.new_run_id()
        os.environ["AIPHONE_RUN_ID"] = self.run_id      # modules started from this run see it
        self.playbook = "?"
        self.play = None
        self.locks: dict[str, site_lock.SiteLock] = {}
        self.targeted: dict[str, list[str]] = {}        # play name -> hosts it targets
        self.reached: set[tuple[str, str]] = set()      # (play name, host) that ran at least one task
        self.failing: set[str] = set()                    # plays where a host failed or was unreachable

    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.abspath(getattr(playbook, "_file_name", "") or "?")

    def v2_playbook_on_play_start(self, play):
        self.play = play
        try:
            inventory = play.get_variable_manager()._inventory
            self.targeted[play.get_name()] = [h.name for h in inventory.get_hosts(play.hosts)]
        except Exception:  # noqa: S110 - the recap of unattempted hosts is best effort; the lock is not
            pass

    def v2_playbook_on_task_start(self, task, is_conditional):
        if task.action not in ACTIONS and task.resolved_action not in ACTIONS:
            return
        args = self._args(task)
        try:
            directory = audit_trail.site_dir(str(args.get("audit_dir") or "audit"), str(args.get("site") or "site"))
            wait = float(args.get("wait", site_lock.DEFAULT_WAIT_SECONDS))
        except (ValueError, TypeError, audit_trail.AuditTrailError) as exc:
            site_lock.CONTROLLER_STATE["error"] = {"held": False, "error": f"site_lock: {exc}"}
            return
        key = os.path.realpath(directory)
        state = site_lock.CONTROLLER_STATE
        if key in self.locks:
            state[key] = {"held": True, "holder": self.locks[key].holder, "waited": 0.0}
            return
        lock = site_lock.SiteLock(directory)
        try:
            waited = lock.acquire(site_lock.holder_info(self.playbook, self.run_id), wait=wait,
                                  on_wait=lambda other: self._display.display(
                                      f"site lock: {site_lock.describe(other)} holds {lock.path}; waiting up to "
                                      f"{wait:g} s", color="yellow"))
        except site_lock.SiteLocked as exc:
            state[key] = {"held": False, "holder": exc.holder, "error": str(exc)}
            return
        except OSError as exc:
            state[key] = {"held": False, "holder": {}, "error": f"cannot take the site lock {lock.path}: {exc}"}
            return
        self.locks[key] = lock
        state[key] = {"held": True, "holder": lock.holder, "waited": round(waited, 1)}

    def _args(self, task) -> dict:
        """The task's arguments, templated with the variables of the play's first host."""
        try:
            manager = self.play.get_variable_manager()
            hosts = manager._inventory.get_hosts(self.play.hosts)
            variables = manager.get_vars(play=self.play, host=hosts[0] if hosts else None, task=task)
            return Templar(loader=self.play._loader, variables=variables).template(dict(task.args))
        except Exception as exc:
            return {"_error": str(exc)}

    # -- hosts never attempted ----------------------------------------------------------------------------------
    def _reached(self, result, *_args, **_kwargs):
        if self.play is not None:
            self.reached.add((self.play.get_name(), result.host.get_name()))

    def _failed(self, result, *_args, **kwargs):
        self._reached(result)
        if self.play is not None and not kwargs.get("ignore_errors"):
            self.failing.add(self.play.get_name())

    v2_runner_on_ok = v2_runner_on_skipped = _reached
    v2_runner_on_failed = v2_runner_on_unreachable = _failed

    def v2_playbook_on_stats(self, stats):
        for play, hosts in self.targeted.items():
            missing = [h for h in hosts if (play, h) not in self.reached]
            if missing and play in self.failing:
                self._display.warning(f"not attempted: {', '.join(missing)} - play {play!r} stopped before "
                                      "reaching them (see the failures above); run again for these hosts")
        for lock in self.locks.values():
            lock.release()
