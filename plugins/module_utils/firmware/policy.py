"""The one place the firmware code reads a site policy: the validated model of `site_policy.load_site_policy`."""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, load_site_policy


def load_policy(path: str) -> SitePolicy:
    return load_site_policy(path)


def baseline_for(policy: SitePolicy, platform: str, model: str) -> dict | None:
    """The approved firmware (version, image, sha256) for a platform + model, or None when the policy has none.

    The baselines are read as the policy writes them (`SitePolicy.raw`): records and reports carry them as is."""
    for baseline in policy.raw.get("firmware_baselines") or []:
        if baseline.get("platform") == platform and baseline.get("model") == model:
            return baseline
    return None
