# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validated site policy for roles and playbooks: the one way Jinja reads it (never raw YAML).

``site_policy_secret_vars``  policy file, kind -> the vault variable names the policy gives for its secrets
                             (`SitePolicy.secret_vars`: kind ``snmp``, ``wireless`` or none for both)

The file is read and validated by `site_policy.load_site_policy` (errors name the file, line, key and value) and
built once per file version on the controller.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    SitePolicy,
    load_site_policy,
)

_CACHE: dict[tuple[str, int, int], SitePolicy] = {}


def validated_policy(path) -> SitePolicy:
    """The model of the policy file at `path` (cached per path, size and modification time)."""
    if not isinstance(path, str) or not path:
        raise AnsibleFilterError(f"site policy: expected the path of the policy file, got {type(path).__name__}")
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise AnsibleFilterError(f"site policy {path}: cannot read it: {exc.strerror}") from None
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        try:
            _CACHE[key] = load_site_policy(path)
        except PolicyError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return _CACHE[key]


def site_policy_secret_vars(path, kind=None):
    try:
        return validated_policy(path).secret_vars(kind or None)
    except ValueError as exc:
        raise AnsibleFilterError(f"site_policy_secret_vars: {exc}") from None


class FilterModule:
    def filters(self):
        return {"site_policy_secret_vars": site_policy_secret_vars}
