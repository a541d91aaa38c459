#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rollback_timer
short_description: Arm or disarm a systemd timer that undoes a risky change unless the change is confirmed
description:
  - "Commit-confirmed for Linux hosts: before a change that could cut Ansible off (firewall ruleset, sshd
    configuration) arm a transient systemd timer that restores the previous files and reloads the service; after
    Ansible has reconnected through the new configuration, disarm it."
  - Uses C(systemd-run --on-active) so the rollback also fires when the connection is gone; the timer does not
    survive a reboot (the restored files do).
version_added: 0.1.0
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.check_mode_no_diff
options:
  name:
    description: Name of the transient unit (C(<name>.timer) and C(<name>.service)).
    type: str
    required: true
  state:
    description: C(armed) (re)starts the timer, C(disarmed) stops it.
    type: str
    choices: [armed, disarmed]
    default: armed
  seconds:
    description: Seconds until the rollback runs.
    type: int
    default: 120
  restore:
    description: Files copied back (C(src) to C(dest), mode and owner kept) before O(command) runs.
    type: list
    elements: dict
    default: []
    suboptions:
      src: {description: Backup file., type: path, required: true}
      dest: {description: File it restores., type: path, required: true}
  remove:
    description: Files deleted before O(command) runs (a file that did not exist before the change).
    type: list
    elements: path
    default: []
  command:
    description: Command (argument list, no shell) applying the restored state, e.g. C([nft, -f, /etc/nftables.conf]).
    type: list
    elements: str
    default: []
requirements: [systemd]
"""

EXAMPLES = r"""
- name: Arm the rollback of the firewall ruleset
  aiphone.hardening.rollback_timer:
    name: aiphone-nftables-rollback
    seconds: 120
    restore: [{src: "{{ written.backup_file }}", dest: /etc/nftables.conf}]
    command: [/usr/sbin/nft, -f, /etc/nftables.conf]

- name: Disarm it once Ansible reconnected
  aiphone.hardening.rollback_timer:
    name: aiphone-nftables-rollback
    state: disarmed
"""

RETURN = r"""
script:
  description: The shell script the timer runs (armed only).
  returned: state is armed
  type: str
  sample: "cp -p /etc/nftables.conf.1.2026-11-27@19:14:32~ /etc/nftables.conf && /usr/sbin/nft -f /etc/nftables.conf"
was_active:
  description: Whether a timer of that name was running before this task.
  returned: always
  type: bool
"""

import re
import shlex

from ansible.module_utils.basic import AnsibleModule

UNIT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


def rollback_script(restore: list[dict], remove: list[str], command: list[str]) -> str:
    steps = [f"cp -p {shlex.quote(item['src'])} {shlex.quote(item['dest'])}" for item in restore]
    steps += [f"rm -f {shlex.quote(path)}" for path in remove]
    if command:
        steps.append(shlex.join(command))
    return " && ".join(steps)


def timer_active(module: AnsibleModule, name: str) -> bool:
    rc, _out, _err = module.run_command(["systemctl", "is-active", "--quiet", f"{name}.timer"])
    return rc == 0


def stop(module: AnsibleModule, name: str) -> None:
    module.run_command(["systemctl", "stop", f"{name}.timer", f"{name}.service"])
    module.run_command(["systemctl", "reset-failed", f"{name}.timer", f"{name}.service"])


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["armed", "disarmed"], "default": "armed"},
            "seconds": {"type": "int", "default": 120},
            "restore": {"type": "list", "elements": "dict", "default": [],
                        "options": {"src": {"type": "path", "required": True},
                                    "dest": {"type": "path", "required": True}}},
            "remove": {"type": "list", "elements": "path", "default": []},
            "command": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    if not UNIT_NAME.fullmatch(name):
        module.fail_json(msg=f"unit name {name!r}: use lower-case letters, digits and '-', starting with a letter")
    was_active = timer_active(module, name)
    if params["state"] == "disarmed":
        if was_active and not module.check_mode:
            stop(module, name)
        module.exit_json(changed=was_active, was_active=was_active)

    if not 10 <= params["seconds"] <= 3600:
        module.fail_json(msg=f"seconds={params['seconds']}: a rollback fires between 10 s and one hour after arming")
    script = rollback_script(params["restore"], params["remove"], params["command"])
    if not script:
        module.fail_json(msg="nothing to roll back: give restore, remove or command")
    if not module.check_mode:
        stop(module, name)
        module.run_command(["systemd-run", "--quiet", "--collect", "--unit", name,
                            f"--on-active={params['seconds']}", "/bin/sh", "-c", script], check_rc=True)
    module.exit_json(changed=True, was_active=was_active, script=script)


if __name__ == "__main__":
    main()
