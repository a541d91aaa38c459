# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the host_firewall role; the logic lives in module_utils/nftables_render.py (pure, unit-tested).

``host_firewall_zone``  policy, hostname -> the zone of that Linux host in the policy's devices
``host_firewall_plan``  policy, zone, controller=..., ... -> {ruleset, inbound, controller_kept, lockout, ...}
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.module_utils.nftables_render import (
    RenderError,
    host_zone,
    plan_host_firewall,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    SitePolicy,
    site_policy_from_data,
)


def _model(policy) -> SitePolicy:
    """The model of `aiphone_site_policy` (the mapping the site_policy module returned), validated again: a fact
    can be overridden with extra vars."""
    if isinstance(policy, SitePolicy):
        return policy
    try:
        return site_policy_from_data(policy, "aiphone_site_policy")
    except PolicyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _zone(policy, hostname):
    try:
        return host_zone(_model(policy), hostname)
    except RenderError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def _plan(policy, zone, **options):
    try:
        return plan_host_firewall(_model(policy), zone, **options)
    except RenderError as exc:
        raise AnsibleFilterError(f"host firewall: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"host_firewall_zone": _zone, "host_firewall_plan": _plan}
