"""The one place the firmware code reads a site policy (switches to the lead's validated loader when present)."""

from __future__ import annotations

try:
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
        load_site_policy,
    )
except ImportError:  # the validated loader has not landed yet: plain YAML
    load_site_policy = None


def load_policy(path: str) -> dict:
    if load_site_policy is not None:
        return load_site_policy(path)
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def baseline_for(policy: dict, platform: str, model: str) -> dict | None:
    """The approved firmware (version, image, sha256) for a platform + model, or None when the policy has none."""
    for baseline in policy.get("firmware_baselines") or []:
        if baseline.get("platform") == platform and baseline.get("model") == model:
            return baseline
    return None
