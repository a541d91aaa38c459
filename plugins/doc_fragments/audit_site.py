# -*- coding: utf-8 -*-
"""Options naming a site's audit trail (argument spec: module_args.AUDIT_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  audit_dir: {description: Root directory of the audit trails., type: path, default: audit}
  site: {description: Site name (the directory under O(audit_dir))., type: str, required: true}
"""
