"""The fast policy load used by the audit modules: same data, same line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import load_policy_fast, site_name
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, load_site_policy

LAB_POLICY = Path(__file__).resolve().parents[3] / "inventories" / "lab" / "site_policy.yml"


def test_fast_load_returns_what_the_full_load_returns():
    assert load_policy_fast(str(LAB_POLICY)) == load_site_policy(str(LAB_POLICY))
    assert site_name(str(LAB_POLICY.parent)) == "lab"


def test_a_refused_policy_still_names_the_line(tmp_path):
    bad = tmp_path / "site_policy.yml"
    bad.write_text(LAB_POLICY.read_text().replace("vlan: 20,", "vlan: 5000,", 1))
    with pytest.raises(PolicyError) as caught:
        load_policy_fast(str(bad))
    assert any(issue.line and "zones" in issue.path for issue in caught.value.errors)
