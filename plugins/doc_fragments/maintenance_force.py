# -*- coding: utf-8 -*-
"""Override of the maintenance windows (argument spec: module_args.FORCE_ARGS, FORCE_REQUIRED_IF)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  force:
    description: Allow the change outside the maintenance windows. Needs O(force_reason); recorded.
    type: bool
    default: false
  force_reason:
    description: Why the window is overridden (change ticket, incident); required with O(force).
    type: str
"""
