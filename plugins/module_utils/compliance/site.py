"""Where a site's files live (policy, attestations), and a fast validated policy load for big sites."""

from __future__ import annotations

import hashlib
import os

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    SitePolicy,
    load_site_policy,
    site_policy_from_data,
    unchecked_site_policy,
)

POLICY_FILE = "site_policy.yml"
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml: ~10x faster on a 1,000-device policy


def load_policy_fast(path: str, validated_sha256: str | None = None) -> SitePolicy:
    """The validated policy (see read_policy)."""
    return read_policy(path, validated_sha256)[0]


def read_policy(path: str, validated_sha256: str | None = None) -> tuple[SitePolicy, str]:
    """(the policy, the SHA-256 of the bytes it was built from). Read with libyaml and validated without the line
    index; only when the policy is refused is it read again by `load_site_policy`, whose errors name the line of
    every problem.

    One validation per run: `validated_sha256` is the digest the site_policy module returned when it validated
    the file earlier in this run (playbooks/validate.yml). When the bytes read now hash to it they are the bytes
    validated then, and the model is built without running the schema and semantic checks a second time; any
    other content (the file changed in between, no digest given) is validated here.
    """
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        digest = hashlib.sha256(content).hexdigest()
        data = yaml.load(content, Loader=FAST_LOADER)  # noqa: S506 - a SafeLoader
        if validated_sha256 and digest == validated_sha256.strip().lower():
            return unchecked_site_policy(data), digest
        return site_policy_from_data(data, path), digest
    except (OSError, yaml.YAMLError, PolicyError):
        policy = load_site_policy(path)   # raises PolicyError with file, line, key path and value
        return policy, _sha256_of(path)


def _sha256_of(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def load_policy(inventory_dir: str) -> SitePolicy:
    return load_policy_fast(os.path.join(inventory_dir, POLICY_FILE))


def site_name(inventory_dir: str) -> str:
    """`site.name` of the policy when there is one, else the inventory directory's name."""
    if os.path.exists(os.path.join(inventory_dir, POLICY_FILE)):
        return load_policy(inventory_dir).site.name
    return os.path.basename(os.path.normpath(inventory_dir))
