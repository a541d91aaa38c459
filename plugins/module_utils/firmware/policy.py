"""The one place the firmware code reads a site policy: validated by `site_policy.load_site_policy`.

The firmware rollout reads the firmware baselines and the maintenance windows as the policy writes them (records
and reports carry the baselines as they are; `MaintenanceSchedule.from_policy` parses the windows), so it takes
the validated mapping, `SitePolicy.raw`.
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy


def load_policy(path: str) -> dict:
    return load_site_policy(path).raw


def baseline_for(policy: dict, platform: str, model: str) -> dict | None:
    """The approved firmware (version, image, sha256) for a platform + model, or None when the policy has none."""
    for baseline in policy.get("firmware_baselines") or []:
        if baseline.get("platform") == platform and baseline.get("model") == model:
            return baseline
    return None
