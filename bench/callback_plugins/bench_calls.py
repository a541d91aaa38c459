# -*- coding: utf-8 -*-
"""Bench-only callback: remote module calls a playbook run makes, per host and per role, written as JSON.

Enabled by bench/hosts_converge.py (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins, ANSIBLE_CALLBACKS_ENABLED
gets bench_calls, AIPHONE_BENCH_CALLS=<file>). A call is a task result that reached the host: skipped results,
controller-only actions (set_fact, assert, debug, meta, include_vars, fail, validate_argument_spec, site_lock) and
tasks delegated to localhost are not counted; a loop counts each item that ran.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_calls
type: aggregate
short_description: Count the module calls that reach each host (bench only)
description: "Writes {host: {calls, by_role: {role: calls}, by_action: {module: calls}}} to the file named by
  AIPHONE_BENCH_CALLS."
requirements: ["AIPHONE_BENCH_CALLS in the environment"]
"""

import collections
import json
import os

from ansible.plugins.callback import CallbackBase

# Actions that run on the controller only (validate_argument_spec: a role's meta/argument_specs.yml check;
# site_lock: the controller's site lock).
LOCAL_ACTIONS = {"set_fact", "assert", "debug", "meta", "include_vars", "fail", "include_tasks", "import_tasks",
                 "include_role", "add_host", "group_by", "set_stats", "validate_argument_spec", "site_lock"}


def _short(action: str) -> str:
    return action.rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_calls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.calls = collections.defaultdict(lambda: {"calls": 0, "by_role": collections.Counter(),
                                                       "by_action": collections.Counter()})

    def _count(self, result):
        task = result._task
        action = _short(task.action)
        if action in LOCAL_ACTIONS or (task.delegate_to or "") in ("localhost", "127.0.0.1"):
            return
        items = result._result.get("results")
        ran = sum(1 for item in items if not item.get("skipped")) if isinstance(items, list) else 1
        if not ran:
            return
        entry = self.calls[result._host.get_name()]
        role = task._role.get_name(include_role_fqcn=False) if task._role else "(play)"
        entry["calls"] += ran
        entry["by_role"][role] += ran
        entry["by_action"][action] += ran

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        target = os.environ.get("AIPHONE_BENCH_CALLS")
        if target:
            with open(target, "w", encoding="utf-8") as out:
                json.dump({host: {"calls": entry["calls"], "by_role": dict(entry["by_role"]),
                                  "by_action": dict(entry["by_action"].most_common())}
                           for host, entry in sorted(self.calls.items())}, out, indent=1)
