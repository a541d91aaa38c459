"""The execution environment runs the site audit (issue #23): `ansible-runner` inside the image `make ee` built,
against the session lab, as AWX runs a job (project mounted, inventory, vault id, artifacts out).

The image takes minutes to build and the audit in it minutes to run, so this module runs only when asked:
`make ee` (and `make bench`) build the image, then run it with AIPHONE_EE_REQUIRED=1 (a missing image is then a
failure). `make test` skips it, even where an image was built; its cheap check of the definition is
tests/unit/ops_schedule/test_execution_environment.py (`ansible-builder create`). The container joins the host's
network namespace to reach the lab on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
IMAGE = os.environ.get("AIPHONE_EE_IMAGE", "localhost/aiphone-hardening-ee:latest")
VAULT_PASSWORD_FILE = REPO / "inventories" / "lab" / "vault-password.txt"
pytestmark = pytest.mark.timeout(900)


def podman(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF",
                                                          str(REPO / "lab" / "containers" / "containers.conf")))
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False, env=env)


@pytest.fixture(scope="module")
def image() -> str:
    if not os.environ.get("AIPHONE_EE_REQUIRED"):
        pytest.skip("minutes: `make ee` / `make bench` run it (AIPHONE_EE_REQUIRED=1)")
    if podman("image", "exists", IMAGE).returncode != 0:
        pytest.fail(f"{IMAGE} is missing: `make ee` builds it")
    return IMAGE


def run_in_ee(image: str, lab, artifacts: Path, *playbook_args: str) -> subprocess.CompletedProcess:
    """`ansible-runner run` in a throw-away container: project read-only, the lab run directory at its own path
    (its inventory names absolute paths: known_hosts, firmware), artifacts and the audit trail written outside."""
    name = f"aiphone-ee-test-{uuid.uuid4().hex[:10]}"
    cmdline = " ".join([f"--vault-id lab@/runner/project/{VAULT_PASSWORD_FILE.relative_to(REPO)}",
                        "-e aiphone_audit_dir=/runner/artifacts/audit",
                        "-e aiphone_report_root=/runner/artifacts/reports", *playbook_args])
    # root in the container: the lab's run directory and the artifacts are the host root's (rootful podman); the
    # image's own user (1000) is what AWX uses with a volume it owns
    return podman("run", "--rm", "--name", name, "--network", "host", "--user", "0:0",
                  "-v", f"{REPO}:/runner/project:ro", "-v", f"{lab.run_dir}:{lab.run_dir}",
                  "-v", f"{artifacts}:/runner/artifacts",
                  "-e", "ANSIBLE_CONFIG=/runner/project/ansible.cfg", "-e", "ANSIBLE_LOCAL_TEMP=/tmp/ansible-local",
                  image, "ansible-runner", "run", "/runner", "-p", "playbooks/audit.yml",
                  "--inventory", str(lab.inventory_file), "--ident", "audit", "--cmdline", cmdline)


def test_audit_runs_in_the_execution_environment(image, lab, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    done = run_in_ee(image, lab, artifacts)
    runner = artifacts / "audit"
    assert (runner / "rc").exists(), f"ansible-runner left no rc:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert (runner / "rc").read_text().strip() == "0", (runner / "stdout").read_text()[-4000:]
    assert (runner / "status").read_text().strip() == "successful"
    stdout = (runner / "stdout").read_text()
    assert lab.credentials.password not in stdout                    # the vaulted login never printed
    [inventory_json] = list((artifacts / "reports").glob("*/*/inventory.json"))
    inventory = json.loads(inventory_json.read_text())
    read = {d["name"] for d in inventory["devices"] if d["status"] != "unreachable"}
    assert {"sw-core-01", "wlc-01", "phone-101", "phone-102", "phone-103"} <= read, inventory["summary"]
    [compliance] = list((artifacts / "reports").glob("*/*/compliance.json"))
    report = json.loads(compliance.read_text())
    assert report["items"] and report["score"]["automated"]["total"] > 0, "no checklist item evaluated"
    trail = next((artifacts / "audit").glob("*/trail.jsonl"))
    assert any(json.loads(line)["kind"] == "inventory_snapshot" for line in trail.read_text().splitlines())


def test_the_image_holds_the_pinned_collections_and_no_galaxy_was_needed(image):
    listing = podman("run", "--rm", "--network", "none", image, "ansible-galaxy", "collection", "list",
                     "--format", "json")
    assert listing.returncode == 0, listing.stderr
    found = {name: info["version"] for path in json.loads(listing.stdout).values() for name, info in path.items()}
    assert found.get("aiphone.hardening") and found.get("cisco.ios") and found.get("ansible.posix"), found
    versions = podman("run", "--rm", "--network", "none", image, "python3", "-c",
                      "import ansible, ansible_runner, netmiko; print(ansible.__version__)")
    assert versions.returncode == 0 and versions.stdout.strip() == "2.19.14", versions.stderr
