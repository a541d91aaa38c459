# -*- coding: utf-8 -*-
"""Attributes of the modules that plan exactly in check mode and return no diff."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""
