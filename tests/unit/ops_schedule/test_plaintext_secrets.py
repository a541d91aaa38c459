"""The plaintext-secret lint: planted secrets are caught (never printed), references and vault values pass."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import check_plaintext_secrets as lint

ROOT = Path(__file__).resolve().parents[3]
PLANTED = "Tr0ub4dor-planted-9f2c"


def findings(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return lint.check([tmp_path])


def test_shipped_inventories_are_clean_and_the_lab_vaults_are_encrypted():
    assert lint.check([ROOT / "inventories"]) == []
    for vault in (ROOT / "inventories").glob("*/group_vars/all/vault.yml"):
        assert vault.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")


@pytest.mark.parametrize("line", [
    f"ansible_password: {PLANTED}",
    f"snmp_auth_key: '{PLANTED}'",
    f"wifi_staff_psk: {PLANTED}",
    f"api_token: \"{PLANTED}\"",
    f"enable_secret: \"{{{{ vault_user }}}}{PLANTED}\"",      # a literal glued to a reference
    "switch_password: \"{{ plain_switch_password }}\"",        # not a vault_* variable: hides where it lives
    "phone_admin_pin_password: 123456",
    f"snmp_community: {PLANTED}",
    f"users:\n  - name: ops\n    password: {PLANTED}",
    f"ntp_keys_secret: [\"{{{{ vault_ntp }}}}\", {PLANTED}]",
])
def test_a_planted_secret_is_caught_with_file_line_and_key(tmp_path, line):
    found = findings(tmp_path, "group_vars/all/main.yml", f"---\nsite_name: x\n{line}\n")
    assert len(found) == 1
    assert found[0].path.name == "main.yml" and found[0].line >= 3
    assert PLANTED not in str(found[0])


@pytest.mark.parametrize("line", [
    "ansible_password: \"{{ vault_lab_password }}\"",
    "ansible_become_password: \"{{ vault_enable | default(omit) }}\"",
    "token: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031323334",
    "api_token: \"{{ lookup('community.hashi_vault.vault_kv2_get', 'aiphone/lab', engine_mount_point='kv')"
    ".secret.token }}\"",
    "ansible_ssh_private_key_file: ~/.ssh/automation",        # a path to a key, not a key
    "psk_var: vault_wifi_staff_psk",                           # names the variable
    "ssh_key_fingerprint: SHA256:abc",
    "enable_secret:",
    "use_password: false",
])
def test_references_vault_values_and_key_names_pass(tmp_path, line):
    assert findings(tmp_path, "host_vars/sw1.yml", f"---\n{line}\n") == []


def test_a_whole_vault_file_and_extensionless_vars_files_are_handled(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    (tmp_path / "group_vars" / "switches").write_text(f"ansible_password: {PLANTED}\n")
    (found,) = lint.check([tmp_path])
    assert found.path.name == "switches"


def test_ini_inventory_host_vars_are_checked(tmp_path):
    found = findings(tmp_path, "hosts", f"[switches]\nsw1 ansible_host=10.0.0.2 ansible_password={PLANTED}\n"
                                        "sw2 ansible_password=\"{{ vault_sw2 }}\"\n")
    assert [(f.line, f.key) for f in found] == [(2, "ansible_password")]


def test_a_broken_yaml_file_is_a_finding_not_a_pass(tmp_path):
    (found,) = findings(tmp_path, "group_vars/all.yml", "a: [unclosed\n")
    assert "not valid YAML" in str(found)


def test_command_line_fails_on_a_planted_secret_copy_of_the_lab_inventory(tmp_path):
    inventory = tmp_path / "lab"
    shutil.copytree(ROOT / "inventories" / "lab", inventory)
    env_cmd = [sys.executable, "-m", "scripts.check_plaintext_secrets", str(inventory)]
    clean = subprocess.run(env_cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    connection = inventory / "group_vars" / "devices.yml"
    connection.write_text(connection.read_text().replace('"{{ vault_lab_password }}"', PLANTED))
    dirty = subprocess.run(env_cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert dirty.returncode == 1
    assert "devices.yml:5: key 'ansible_password' has a plaintext value" in dirty.stdout
    assert PLANTED not in dirty.stdout + dirty.stderr
