"""execution-environment.yml: `ansible-builder create` produces a build context with this collection, the pinned
runtime Python subset of requirements.txt, bindep.txt, on the lab's local base image, with no Galaxy step (the
collections come out of the pinned `ansible` wheel); introspection of the built collection asks for the runtime
subset only (never the development pins). The image build (minutes) is `make ee`, which also runs the audit in
it (tests/integration/ee); this is the cheap check `make test` keeps."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ansible_builder")

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def pins(path: Path) -> dict[str, str]:
    return pin_lines(path.read_text().splitlines())


def pin_lines(lines: list[str]) -> dict[str, str]:
    """{normalised project name: pinned version} (PEP 503 names: PyYAML == pyyaml, ntc_templates == ntc-templates)."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHONPATH"))}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The collection built as `make build` does, beside a copy of the EE definition and its files."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "bindep.txt", "meta/ee-requirements.txt", "scripts/ee/ee-apt"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, work / name)
    (work / ".cache" / "ee" / "context-files" / "wheels").mkdir(parents=True)   # scripts/ee/build.sh fills them
    done = run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                str(work / ".cache" / "dist"), str(ROOT)], cwd=work)
    assert done.returncode == 0, done.stderr
    return work


def test_definition_is_version_3_with_the_runtime_subset_of_requirements_txt():
    assert EE["version"] == 3
    runtime = pins(ROOT / EE["dependencies"]["python"])
    locked = pins(ROOT / "requirements.txt")
    assert {"netmiko", "paramiko", "jsonschema", "cryptography"} <= set(runtime)
    assert {name: locked.get(name) for name in runtime} == runtime          # same versions as the tested venv
    assert not {"molecule", "ansible-lint", "ruff", "pytest", "ansible"} & set(runtime)
    assert EE["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={locked['ansible-core']}"


def test_ansible_builder_create_makes_a_context_with_the_collection(built):
    done = run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "ctx"], cwd=built)
    assert done.returncode == 0, done.stdout + done.stderr
    context = built / "ctx"
    containerfile = (context / "Containerfile").read_text()
    (tarball,) = (context / "_build" / "local-collections").glob("aiphone-hardening-*.tar.gz")
    assert "/tmp/local-collections/aiphone-hardening-*.tar.gz" in containerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in containerfile
    assert 'ARG EE_BASE_IMAGE="localhost/debian-bookworm-ansible:latest"' in containerfile   # no registry
    assert 'ARG PKGMGR="/usr/local/bin/ee-apt"' in containerfile and "PIP_NO_INDEX=1" in containerfile
    assert "ansible-galaxy collection install -r" not in containerfile and "galaxy" not in EE["dependencies"]
    assert pins(context / "_build" / "requirements.txt") == pins(ROOT / "meta" / "ee-requirements.txt")
    assert (context / "_build" / "bindep.txt").read_text() == (ROOT / "bindep.txt").read_text()
    assert tarball.stat().st_size > 0


def test_the_apt_wrapper_speaks_what_ansible_builder_sends():
    """ansible-builder's scripts call `$PKGMGR install -y <options> pkgs` and `$PKGMGR clean all` (dnf's syntax)."""
    text = (ROOT / "scripts" / "ee" / "ee-apt").read_text()
    assert "apt-get install -y -q --no-install-recommends $packages" in text and "apt-get clean" in text
    done = subprocess.run(["sh", str(ROOT / "scripts" / "ee" / "ee-apt"), "remove", "x"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 2 and "unsupported command" in done.stderr
    done = subprocess.run(["sh", str(ROOT / "scripts" / "ee" / "ee-apt"), "install", "-y", "--nodocs"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0                 # options only: nothing to install, apt-get not even called


def test_introspection_of_the_collection_asks_only_for_the_runtime_subset(built, tmp_path):
    (tarball,) = (built / ".cache" / "dist").glob("*.tar.gz")
    target = tmp_path / "collections"
    done = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(target),
                str(tarball)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    introspect = run([str(BIN / "ansible-builder"), "introspect", str(target)], cwd=tmp_path)
    assert introspect.returncode == 0, introspect.stderr
    found = yaml.safe_load(introspect.stdout.split("\n", 1)[1])
    wanted = pins(ROOT / "meta" / "ee-requirements.txt")
    wanted.pop("pyyaml")                        # ansible-builder drops it: ansible-core already brings it
    assert pin_lines(found["python"]) == wanted
    assert any(line.startswith("openssh-clients") for line in found["system"])
    assert not any("molecule" in line or "ansible-lint" in line for line in found["python"])
