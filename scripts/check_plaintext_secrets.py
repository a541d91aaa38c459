"""Fail on a plaintext secret in the inventories: `python -m scripts.check_plaintext_secrets [PATH ...]`.

Every variable file under the given paths (default: inventories/) is read: YAML (`*.yml`, `*.yaml`, `*.json`, and
extension-less files in group_vars/ and host_vars/) and INI inventories (`hosts`, `*.ini`). A key that names a
secret (password, passwd, pass, secret, psk, key, token, community, credential …, the same words the audit trail
redacts; `*_file`, `*_path`, `*_var`, `*_id` … keys are names, not secrets) must have one of these values:

* an inline vault value (`!vault |` …) — or the whole file is an ansible-vault file (`$ANSIBLE_VAULT;…`);
* a reference to a vaulted variable, alone in the template: `"{{ vault_switch_admin_secret }}"` (filters allowed);
* a secret-store lookup: `"{{ lookup('community.hashi_vault.vault_kv2_get', …) }}"` (or `query`/`hashi_vault`);
* nothing (empty, null) or a boolean.

Anything else (a literal, a number, a reference to a non-vault variable, a literal mixed into a template) is a
finding: `file:line: key … has a plaintext value`. Values are never printed. Exit status 0 clean, 1 findings.
Vault *password* files (such as the LAB-ONLY inventories/lab/vault-password.txt) are not variable files and are
not read.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.audit_trail import is_secret_key

YAML_SUFFIXES = {".yml", ".yaml", ".json"}
VARS_DIRS = {"group_vars", "host_vars"}
VAULT_HEADER = "$ANSIBLE_VAULT;"
VAULT_TAG = "!vault"
_FILTERS = r"(?:\s*\|\s*[\w.]+(?:\([^{}]*\))?)*"
VAULT_REFERENCE = re.compile(r"^\{\{\s*vault_\w+(?:\[[^\]{}]+\]|\.\w+)*" + _FILTERS + r"\s*\}\}$")
VAULT_READ_LOOKUPS = "hashi_vault|vault_kv1_get|vault_kv2_get|vault_read"   # community.hashi_vault lookups
SECRET_STORE_LOOKUP = re.compile(
    r"^\{\{\s*(?:lookup|query|q)\(\s*['\"](?:community\.hashi_vault\.)?(?:" + VAULT_READ_LOOKUPS + r")['\"][^{}]*\)"
    r"(?:\.\w+|\[[^\]{}]+\])*" + _FILTERS + r"\s*\}\}$")
HARMLESS_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"}
FIX = ("put it in an ansible-vault file as vault_<name> and reference it (\"{{ vault_<name> }}\"), encrypt it "
       "inline (ansible-vault encrypt_string), or use a community.hashi_vault lookup")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    key: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: key {self.key!r} {self.why}; {FIX}"


def is_protected(text: str, tag: str) -> bool:
    """True when a scalar under a secret key holds no plaintext secret."""
    if tag == VAULT_TAG or tag in HARMLESS_TAGS:
        return True
    value = text.strip()
    return not value or bool(VAULT_REFERENCE.match(value) or SECRET_STORE_LOOKUP.match(value))


def why_plaintext(text: str) -> str:
    if "{{" in text:
        return "is a template that is not only a vault_* reference or a secret-store lookup"
    return "has a plaintext value"


def _scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item)


def _walk(path: Path, node: yaml.Node) -> Iterator[Finding]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if is_secret_key(name):
                for scalar in _scalars(value):
                    if not is_protected(scalar.value, scalar.tag):
                        yield Finding(path, scalar.start_mark.line + 1, name, why_plaintext(scalar.value))
            yield from _walk(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(path, item)


def check_yaml(path: Path, text: str) -> Iterator[Finding]:
    try:
        # compose, not load: nodes keep their tag (!vault) and line, and nothing is constructed
        for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
            if document is not None:
                yield from _walk(path, document)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        yield Finding(path, mark.line + 1 if mark else 1, "-", f"cannot be checked, the file is not valid YAML "
                      f"({getattr(error, 'problem', error)})")


def check_ini(path: Path, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError:
            words = stripped.split()
        for word in words:
            key, sep, value = word.partition("=")
            if sep and is_secret_key(key) and not is_protected(value, ""):
                yield Finding(path, number, key, why_plaintext(value))


def variable_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, 'yaml'|'ini') of every file Ansible would read variables from."""
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in candidates:
        if path.suffix in YAML_SUFFIXES or (not path.suffix and VARS_DIRS & set(path.parts)):
            yield path, "yaml"
        elif path.suffix == ".ini" or path.name == "hosts":
            yield path, "ini"


def check(paths: list[Path]) -> list[Finding]:
    findings = []
    for root in paths:
        for path, kind in variable_files(root):
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.lstrip().startswith(VAULT_HEADER):
                continue
            findings.extend(check_yaml(path, text) if kind == "yaml" else check_ini(path, text))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("inventories")],
                        help="inventory directories or files (default: inventories)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such path: {', '.join(missing)}")
    findings = check(args.paths)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} plaintext secret(s) in the inventories; nothing may be committed like this.",
              file=sys.stderr)
        return 1
    print(f"no plaintext secret in {', '.join(map(str, args.paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
