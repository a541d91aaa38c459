"""Action plugin of aiphone.hardening.site_lock: one changing run per site at a time, for the whole playbook.

Runs in an Ansible worker (a child of ansible-playbook): it takes the site's flock - waiting up to `wait` seconds,
then failing with the holder named - and hands it to a holder process that keeps it until ansible-playbook ends
(see plugins/module_utils/site_lock.py). It also clears what killed runs of this toolkit left in the controller's
Ansible temporary directories (module payloads holding device credentials) and keeps those directories 0700.
"""

from __future__ import annotations

import os

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import shell_loader
from ansible.utils.display import Display

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail, site_lock
from ansible_collections.aiphone.hardening.plugins.module_utils.controller_tmp import clean_controller_tmp

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset({"audit_dir", "site", "wait"})

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        try:
            directory = audit_trail.site_dir(str(args.get("audit_dir") or "audit"), str(args.get("site") or "site"))
            wait = float(args.get("wait", site_lock.DEFAULT_WAIT_SECONDS))
        except (ValueError, TypeError, audit_trail.AuditTrailError) as exc:
            return {**result, "failed": True, "msg": f"site_lock: {exc}"}
        controller = os.getppid()             # ansible-playbook: the worker running this task is its child
        lock = site_lock.SiteLock(directory)
        waited = 0.0
        if not lock.held_by(controller):
            holder = site_lock.holder_info(site_lock.command_of(controller), site_lock.new_run_id(), controller)
            try:
                waited = lock.acquire(holder, wait=wait, on_wait=lambda other: display.display(
                    f"site lock: {site_lock.describe(other)} holds {lock.path}; waiting up to {wait:g} s",
                    color="yellow"))
            except site_lock.SiteLocked as exc:
                return {**result, "failed": True, "msg": str(exc), "holder": exc.holder}
            except OSError as exc:
                return {**result, "failed": True, "msg": f"cannot take the site lock {lock.path}: {exc}"}
            lock.hold_until_exit(controller)
        holder = site_lock.read_holder(lock.path)
        cleaned = [] if self._task.check_mode else [
            path for root in sorted(controller_tmp_roots()) for path in clean_controller_tmp(root)]
        return {**result, "changed": False, "lock": lock.path, "holder": holder, "waited_seconds": round(waited, 1),
                "run_id": holder.get("run_id"), "removed_stale_tmp": cleaned,
                "ansible_facts": {"aiphone_run_id": holder.get("run_id")}}


def controller_tmp_roots() -> set[str]:
    """The controller's Ansible temporary directories: local_tmp, and remote_tmp as modules of local-connection
    hosts (localhost: firmware_rollout, credential_rotate ...) use it on the controller."""
    shell = shell_loader.get("sh")
    shell.set_options()
    return {os.path.expanduser(os.path.dirname(C.DEFAULT_LOCAL_TMP)),
            os.path.expanduser(str(shell.get_option("remote_tmp")))}
