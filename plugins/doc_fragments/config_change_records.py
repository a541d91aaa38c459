# -*- coding: utf-8 -*-
"""Intent and end records of a configuration push (argument spec: module_args.CHANGE_RECORD_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  audit_dir:
    description:
      - Root of the audit trails; the push is recorded in C(<audit_dir>/<site>/) as C(config_change) records
        (C(started), fsynced before the first line is sent, then C(applied), C(rolled_back) or C(failed)).
      - A change a killed run left without an end record is read back and recorded as C(reconciled)
        (C(matches_intent), C(matches_backup) or C(neither)) before anything else is planned.
      - Without it nothing is recorded (a warning says so).
    type: path
  run_id:
    description: The run's id in those records (the site lock's C(aiphone_run_id)); default C(AIPHONE_RUN_ID).
    type: str
"""
