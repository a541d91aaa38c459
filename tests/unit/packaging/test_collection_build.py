"""The repository builds as a collection, and the built artifact, installed elsewhere, exposes the same modules,
roles and playbooks by FQCN — without the checkout's ansible.cfg or collections symlink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("collection")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHONPATH"))}
    env["ANSIBLE_CONFIG"] = str(work / "none.cfg")  # no project config: prove the artifact stands alone
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    built = run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work), str(ROOT)],
                cwd=work, env=env)
    assert built.returncode == 0, built.stderr
    (artifact,) = work.glob("aiphone-hardening-*.tar.gz")
    target = work / "collections"
    done = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(target),
                str(artifact)], cwd=work, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    env["ANSIBLE_COLLECTIONS_PATH"] = str(target)
    return artifact, env


def test_artifact_carries_modules_roles_and_playbooks(installed):
    artifact, _ = installed
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["namespace"] == "aiphone"
    assert "plugins/modules/site_policy.py" in names
    assert "playbooks/validate.yml" in names
    assert not any(n.startswith((".venv/", "collections/", "run/", ".cache/")) for n in names)


def test_module_is_callable_by_fqcn_from_the_installed_artifact(installed, tmp_path):
    _, env = installed
    policy = ROOT / "inventories" / "example_site" / "site_policy.yml"
    result = run([str(BIN / "ansible"), "localhost", "-m", "aiphone.hardening.site_policy", "-a", f"path={policy}",
                  "-e", f"ansible_python_interpreter={sys.executable}"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "site example-clinic: 5 zones" in result.stdout


def test_installed_module_refuses_a_bad_policy(installed, tmp_path):
    _, env = installed
    bad = tmp_path / "site_policy.yml"
    bad.write_text((ROOT / "inventories" / "example_site" / "site_policy.yml").read_text()
                   .replace("vlan: 120", "vlan: 1003"))
    result = run([str(BIN / "ansible"), "localhost", "-m", "aiphone.hardening.site_policy", "-a", f"path={bad}",
                  "-e", f"ansible_python_interpreter={sys.executable}"], cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "zones[1].vlan = 1003" in result.stdout


def test_installed_playbook_runs_by_fqcn(installed, tmp_path):
    _, env = installed
    inventory = ROOT / "inventories" / "example_site"
    password = tmp_path / "vault-pass"
    password.write_text("example-site-vault-password-replace-me\n")
    env = dict(env, ANSIBLE_INVENTORY_IGNORE_REGEX=r"^site_policy\.ya?ml$")
    result = run([str(BIN / "ansible-playbook"), "aiphone.hardening.validate", "-i", str(inventory),
                  "--vault-password-file", str(password)], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "46 devices" in result.stdout
