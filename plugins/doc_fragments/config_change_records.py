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
  backup_vault_password_file:
    description:
      - Password file (or script) of the site's vault identity; the pre-change backup under O(backup_dir) is then
        written whole, ansible-vault encrypted (C(<device>-<time>.cfg.vault)), a complete restore source for
        M(aiphone.hardening.config_rollback) O(aiphone.hardening.config_rollback#module:controller_backup).
      - Default the controller's C(ANSIBLE_VAULT_IDENTITY_LIST) (the entry labelled as the site, else the first) or
        C(ANSIBLE_VAULT_PASSWORD_FILE). With none, the backup is written with its secrets masked and a warning.
    type: path
  backup_vault_id:
    description: Vault identity label of the encrypted backups (default the site's name, or the identity's label).
    type: str
"""
