"""Where a site's files live (policy, attestations), and a fast validated policy load for big sites."""

from __future__ import annotations

import os

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    SitePolicy,
    load_site_policy,
    site_policy_from_data,
)

POLICY_FILE = "site_policy.yml"
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml: ~10x faster on a 1,000-device policy


def load_policy_fast(path: str) -> SitePolicy:
    """The validated policy. Reads with libyaml and validates without the line index; only when the policy is
    refused is it read again by `load_site_policy`, whose errors name the line of every problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=FAST_LOADER)  # noqa: S506 - a SafeLoader
        return site_policy_from_data(data, path)
    except (OSError, yaml.YAMLError, PolicyError):
        return load_site_policy(path)   # raises PolicyError with file, line, key path and value


def load_policy(inventory_dir: str) -> SitePolicy:
    return load_policy_fast(os.path.join(inventory_dir, POLICY_FILE))


def site_name(inventory_dir: str) -> str:
    """`site.name` of the policy when there is one, else the inventory directory's name."""
    if os.path.exists(os.path.join(inventory_dir, POLICY_FILE)):
        return load_policy(inventory_dir).site.name
    return os.path.basename(os.path.normpath(inventory_dir))
