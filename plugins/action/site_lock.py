"""Action plugin of aiphone.hardening.site_lock: reports the site lock the controller took for this run, and
clears what killed runs of this toolkit left in the controller's Ansible temporary directory.

The lock itself is taken by the callback plugin aiphone.hardening.site_lock inside ansible-playbook's own process
(a worker process ends with its task, and its lock with it): see plugins/module_utils/site_lock.py.
"""

from __future__ import annotations

import os

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import shell_loader

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail, site_lock
from ansible_collections.aiphone.hardening.plugins.module_utils.controller_tmp import clean_controller_tmp

NOT_ENABLED = ("the site lock needs the callback plugin aiphone.hardening.site_lock: add it to callbacks_enabled "
               "in ansible.cfg (the toolkit's ansible.cfg has it); without it two runs could change this site at "
               "once")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset({"audit_dir", "site", "wait"})

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        try:
            directory = audit_trail.site_dir(str(args.get("audit_dir") or "audit"), str(args.get("site") or "site"))
        except audit_trail.AuditTrailError as exc:
            return {**result, "failed": True, "msg": f"site_lock: {exc}"}
        state = site_lock.CONTROLLER_STATE.get(os.path.realpath(directory)) or site_lock.CONTROLLER_STATE.get("error")
        if state is None:
            return {**result, "failed": True, "msg": NOT_ENABLED}
        if not state.get("held"):
            return {**result, "failed": True, "msg": state.get("error"), "holder": state.get("holder") or {}}
        holder = state["holder"]
        cleaned = [] if self._task.check_mode else [
            path for root in sorted(controller_tmp_roots()) for path in clean_controller_tmp(root)]
        return {**result, "changed": False, "lock": os.path.join(directory, site_lock.LOCK_FILE), "holder": holder,
                "waited_seconds": state.get("waited", 0.0), "run_id": holder["run_id"],
                "removed_stale_tmp": cleaned, "ansible_facts": {"aiphone_run_id": holder["run_id"]}}


def controller_tmp_roots() -> set[str]:
    """The controller's Ansible temporary directories: local_tmp, and remote_tmp as modules of local-connection
    hosts (localhost: firmware_rollout, credential_rotate ...) use it on the controller."""
    shell = shell_loader.get("sh")
    shell.set_options()
    return {os.path.expanduser(os.path.dirname(C.DEFAULT_LOCAL_TMP)),
            os.path.expanduser(str(shell.get_option("remote_tmp")))}
