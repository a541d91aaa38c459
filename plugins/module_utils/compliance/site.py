"""Where a site's files live: policy, attestations, audit trail, reports."""

from __future__ import annotations

import os

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

POLICY_FILE = "site_policy.yml"
ATTESTATIONS_FILE = "attestations.yml"


def load_policy(inventory_dir: str) -> dict:
    """The site's validated policy (raises site_policy.PolicyError naming every problem)."""
    return load_site_policy(os.path.join(inventory_dir, POLICY_FILE))


def site_name(inventory_dir: str) -> str:
    """`site.name` of the policy when there is one, else the inventory directory's name."""
    if os.path.exists(os.path.join(inventory_dir, POLICY_FILE)):
        return load_policy(inventory_dir)["site"]["name"]
    return os.path.basename(os.path.normpath(inventory_dir))
