# -*- coding: utf-8 -*-
"""Options of the modules with the offline states rendered / parsed (argument spec: module_args.STATE_ARGS,
OFFLINE_CONNECTION_ARGS, OFFLINE_REQUIRED_IF). List it before aiphone.hardening.device_connection: its
C(required: false) on the connection options then holds."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state:
    description:
      - C(merged) reads the device and sends the difference to the site policy (the connection options and
        O(backup_dir) are then required).
      - C(rendered) turns the site policy into the configuration lines of the device with no connection (secrets
        masked), so a policy change can be reviewed in a pull request; with O(running_config), only the lines that
        configuration still needs.
      - C(parsed) turns O(running_config) into structured facts with no connection (keys and secrets left out).
    type: str
    choices: [merged, rendered, parsed]
    default: merged
  running_config:
    description:
      - The device's configuration as text (required with O(state=parsed); optional with O(state=rendered)).
    type: str
  host: {description: Address of the device's SSH server (required with O(state=merged))., type: str, required: false}
  username: {description: SSH user (required with O(state=merged))., type: str, required: false}
  password:
    description: SSH password, never logged (required with O(state=merged)).
    type: str
    required: false
  known_hosts_file:
    description: The site's known_hosts (required with O(state=merged)); unknown or changed host keys are refused.
    type: path
    required: false
"""
