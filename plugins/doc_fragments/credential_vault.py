# -*- coding: utf-8 -*-
"""Options of the rotation modules: where the new values are vaulted and the rotation recorded
(argument spec: module_args.ROTATION_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  vault_file:
    description:
      - Encrypted vars file receiving the new values, created when missing (per module, see its examples).
    type: path
    required: true
  vault_password_file: {description: Vault password file (or script) of O(vault_file)., type: path, required: true}
  audit_dir: {description: Root directory of the audit trails., type: path, required: true}
  site: {description: Site name (directory of its trail under O(audit_dir))., type: str, required: true}
"""
