"""From a finding to the code and back (ansible-lockdown style): every `fix` of checklist/checklist.yml names
playbooks, roles and make targets that exist; a playbook it names applies the roles it names; and a role it names
for an automated item carries the item's id - a task named `<ID> | PATCH | ...` (or AUDIT) and the tag `<id>`
(lower case, `net_01`), so `--tags net_01` runs exactly the remediation of NET-01."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHECKLIST = yaml.safe_load((REPO / "checklist" / "checklist.yml").read_text())
ITEMS = [item for item in CHECKLIST["items"] if item.get("fix")]
PLAYBOOK = re.compile(r"\bplaybooks/([A-Za-z0-9_-]+\.yml)\b")
ROLE = re.compile(r"\b([a-z][a-z0-9_]*) role\b")
MAKE = re.compile(r"\bmake ([a-z][a-z0-9-]*)\b")
TASK_FILE_KEYS = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks", "import_tasks", "include_tasks")


def role_tasks(role: str, file: str = "main.yml", inherited: frozenset = frozenset()) -> list[tuple[str, frozenset]]:
    """(name, effective tags) of every task of a role, following imports/includes and blocks."""
    found: list[tuple[str, frozenset]] = []

    def walk(tasks, tags):
        for task in tasks or []:
            own = tags | frozenset(task.get("tags") or [])
            if "block" in task:
                walk(task["block"], own)
                walk(task.get("rescue"), own)
                walk(task.get("always"), own)
                continue
            found.append((task.get("name", ""), own))
            for key in TASK_FILE_KEYS:
                if key in task:
                    spec = task[key]
                    target = spec if isinstance(spec, str) else spec["file"]
                    if "{{" in target:
                        continue   # chosen at run time (incident_response's action): not a remediation path
                    applied = frozenset(((spec.get("apply") or {}).get("tags") or []) if isinstance(spec, dict) else [])
                    found.extend(role_tasks(role, target, own | applied))

    walk(yaml.safe_load((REPO / "roles" / role / "tasks" / file).read_text()), inherited)
    return found


def playbook_roles(name: str) -> set[str]:
    roles = set()
    for play in yaml.safe_load((REPO / "playbooks" / name).read_text()) or []:
        for entry in play.get("roles") or []:
            roles.add((entry["role"] if isinstance(entry, dict) else entry).split(".")[-1])
        for task in play.get("tasks") or []:
            for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                if key in task:
                    roles.add(task[key]["name"].split(".")[-1])
    return roles


def carries(role: str, ident: str) -> bool:
    tasks = role_tasks(role)
    return (any(name.startswith((f"{ident} | PATCH | ", f"{ident} | AUDIT | ")) for name, _ in tasks)
            and any(ident.lower().replace("-", "_") in tags for _, tags in tasks))


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item["id"])
def test_every_fix_names_what_exists_and_the_roles_carry_its_id(item):
    fix = item["fix"]
    playbooks, roles, targets = PLAYBOOK.findall(fix), ROLE.findall(fix), MAKE.findall(fix)
    for playbook in playbooks:
        assert (REPO / "playbooks" / playbook).is_file(), f"{item['id']}: playbooks/{playbook} does not exist"
    for role in roles:
        assert (REPO / "roles" / role / "tasks" / "main.yml").is_file(), f"{item['id']}: no role {role}"
    makefile = (REPO / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{item['id']}: no make target {target}"
    if fix.lower().startswith("run ") or " run playbooks/" in fix:
        assert playbooks or roles or targets, f"{item['id']}: the fix says run but names nothing to run"
    applied = set().union(*(playbook_roles(p) for p in playbooks)) if playbooks else set()
    if playbooks and roles:
        assert set(roles) <= applied, f"{item['id']}: {sorted(set(roles) - applied)} not applied by {playbooks}"
    if item.get("checks"):   # an automated item: its remediation is traceable by id
        for role in roles:
            assert carries(role, item["id"]), f"{item['id']}: role {role} has no task or tag {item['id']}"
        if playbooks and not roles:
            assert any(carries(role, item["id"]) for role in applied), \
                f"{item['id']}: no role of {playbooks} carries the id {item['id']}"


def test_mfa_is_fixed_by_the_mfa_role():
    (mfa,) = [item for item in ITEMS if item["id"] == "MFA-01"]
    assert ROLE.findall(mfa["fix"]) == ["mfa_totp"] and carries("mfa_totp", "MFA-01")
    assert not carries("os_baseline", "MFA-01")     # what the fix used to name: it does not remediate MFA-01


def test_the_traceability_check_can_fail():
    assert not carries("os_baseline", "NET-01") and carries("host_firewall", "NET-01")
    assert "switch_hardening" in playbook_roles("network.yml")


def test_remediation_task_names_follow_the_id_pattern():
    """A task name that starts with a checklist id is `<ID> | PATCH|AUDIT | ...` with a known id."""
    known = {item["id"] for item in CHECKLIST["items"]}
    pattern = re.compile(r"^([A-Z]{2,3}-\d{2}) \| ")
    for role in sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").is_file()):
        for name, tags in role_tasks(role):
            match = pattern.match(name)
            if match:
                assert match.group(1) in known, f"{role}: {name!r} names an unknown checklist id"
                assert re.match(r"^[A-Z]{2,3}-\d{2} \| (PATCH|AUDIT) \| \S", name), f"{role}: {name!r}"
                assert match.group(1).lower().replace("-", "_") in tags, f"{role}: {name!r} lacks its id tag"
