# -*- coding: utf-8 -*-
"""Options of every module that logs in to a network device over SSH (argument spec: module_args.CONNECTION_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host: {description: Address of the device's SSH server., type: str, required: true}
  port: {description: SSH port., type: int}
  username: {description: SSH user., type: str, required: true}
  password: {description: SSH password (never logged)., type: str, required: true}
  enable_secret: {description: Enable secret when the user lands in user EXEC mode (never logged)., type: str}
  known_hosts_file:
    description: The site's known_hosts; unknown or changed host keys are refused, never added.
    type: path
    required: true
  timeout: {description: Seconds to wait for the device., type: int, default: 30}
"""
