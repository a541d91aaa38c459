# -*- coding: utf-8 -*-
"""Options naming the site policy and the device in it (argument spec: module_args.POLICY_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  policy_file: {description: Path of the site policy (site_policy.yml)., type: path, required: true}
  device: {description: Name of the device in the policy's C(devices) list., type: str, required: true}
"""
