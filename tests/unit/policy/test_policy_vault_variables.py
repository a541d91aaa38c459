"""Every secret a site policy names by variable (Wi-Fi PSKs, SNMPv3 keys, RADIUS secrets, SIP passwords) is defined
in that site's vault: a converge or a rotation must not stop halfway on an undefined variable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO = Path(__file__).resolve().parents[3]
SITES = {"lab": REPO / "inventories/lab/vault-password.txt", "example_site": None}
EXAMPLE_PASSWORD = "example-site-vault-password-replace-me"   # documented in inventories/example_site/README.md


def named_variables(policy: dict) -> set[str]:
    wireless, network = policy.get("wireless", {}), policy.get("network", {})
    names = {ssid["psk_var"] for ssid in wireless.get("ssids", []) if "psk_var" in ssid}
    names |= {server["secret_var"] for server in wireless.get("radius_servers", []) if "secret_var" in server}
    for user in network.get("snmp", {}).get("users", []):
        names |= {user["auth_key_var"], user["priv_key_var"]}
    if (policy.get("ai_agent") or {}).get("auth"):   # the AI agent's token (playbooks/ai_probe.yml)
        names.add(policy["ai_agent"]["auth"]["token_var"])
    names |= {user["password_var"] for user in policy.get("voice", {}).get("users", [])}
    return names


def vault_variables(site: str, tmp_path: Path) -> set[str]:
    password_file = SITES[site]
    if password_file is None:
        password_file = tmp_path / "vault-pass"
        password_file.write_text(EXAMPLE_PASSWORD)
    defined: set[str] = set()
    for vault in sorted((REPO / "inventories" / site / "group_vars").rglob("*vault*.yml")):
        text = subprocess.run([str(REPO / ".venv/bin/ansible-vault"), "view", "--vault-password-file",
                               str(password_file), str(vault)], check=True, capture_output=True, text=True).stdout
        defined |= set(yaml.safe_load(text) or {})
    return defined


@pytest.mark.parametrize("site", sorted(SITES))
def test_policy_secrets_are_in_the_site_vault(site, tmp_path):
    model = load_site_policy(REPO / "inventories" / site / "site_policy.yml")
    wanted = named_variables(model.raw)   # read from the mapping here, independently of the model
    assert wanted, "the policy names no secret: this test would prove nothing"
    assert set(model.secret_vars()) == wanted
    assert set().union(*(model.secret_vars(kind) for kind in ("snmp", "wireless", "ai_agent", "voice"))) == wanted
    assert wanted - vault_variables(site, tmp_path) == set()
