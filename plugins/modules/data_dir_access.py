#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Owner, mode and POSIX ACLs (access + default) of a whole set of data directories in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: data_dir_access
short_description: Put a set of data directories under exact owner, mode and POSIX ACLs (access and default)
description:
  - Creates each directory if missing, sets owner and group, and replaces its ACL with exactly the listed entries,
    both as access ACL and as default ACL (so new files inherit them). Entries not listed are removed.
  - One call handles the whole set (cheap no-op runs); the ACL is compared entry by entry, the mask included.
  - Uses C(getfacl)/C(setfacl) from the acl package for the directories themselves.
  - With O(directories[].existing), the files and sub-directories already inside are aligned too (a default ACL only
    reaches files created after it) - sub-directories get the directory's access and default ACL, regular files its
    named entries without execute and no wider group/other permissions than the directory; symbolic links and special
    files are never followed nor changed. The walk reads and writes ACLs through file descriptors opened without
    following links, one system call per file (no process per file).
options:
  directories:
    description: The directories to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      owner: {description: Owning user., type: str, default: root}
      group: {description: Owning group., type: str, default: root}
      mode: {description: "Base permissions as octal string (owner/group/other), special bits allowed, e.g. '2750'.",
             type: str, default: '0750'}
      acl:
        description: "Named entries, each C({kind: group|user, name: ..., perms: r-x})."
        type: list
        elements: dict
        default: []
      default_acl: {description: Also set the same entries as default ACL., type: bool, default: true}
      existing:
        description:
          - Also align the ACLs of the files and sub-directories already inside (never following links).
          - Directories listed in O(directories) themselves are skipped (they keep their own table).
        type: bool
        default: true
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: Recordings readable by supervisors and compliance only
  aiphone.hardening.data_dir_access:
    directories:
      - path: /srv/aiphone/recordings
        owner: root
        group: root
        mode: "2750"
        acl:
          - {kind: group, name: aiphone-supervisors, perms: r-x}
          - {kind: group, name: aiphone-compliance, perms: r-x}
"""

RETURN = r"""
directories:
  description: Per directory, whether it changed and the ACL before and after (getfacl text).
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/aiphone/recordings, changed: true, created: false, before: "user::rwx", after: "user::rwx",
            existing_checked: 1200, existing_changed: 3, existing_changed_paths: [/srv/aiphone/recordings/a.wav],
            existing_skipped: 1}]
"""

import grp
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import posix_acl

PERMS_RE = re.compile(r"^[r-][w-][x-]$")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
BITS = "rwx"


def perms_from_octal(digit: int) -> str:
    return "".join(letter if digit & (4 >> pos) else "-" for pos, letter in enumerate(BITS))


def union(perms_list) -> str:
    return "".join("rwx"[pos] if any(p[pos] != "-" for p in perms_list) else "-" for pos in range(3))


def desired_acl(spec: dict) -> list[str]:
    """Canonical getfacl-style lines (access entries, then default entries) for one directory spec."""
    mode = int(spec["mode"], 8)
    base_group = perms_from_octal((mode >> 3) & 7)
    named = [f"{e['kind']}:{e['name']}:{e['perms']}" for e in spec["acl"]]
    access = [f"user::{perms_from_octal((mode >> 6) & 7)}"]
    access += sorted(line for line in named if line.startswith("user:"))
    access.append(f"group::{base_group}")
    access += sorted(line for line in named if line.startswith("group:"))
    if named:
        access.append(f"mask::{union([base_group] + [e['perms'] for e in spec['acl']])}")
    access.append(f"other::{perms_from_octal(mode & 7)}")
    if not spec["default_acl"]:
        return access
    return access + [f"default:{line}" for line in access]


def current_acl(module: AnsibleModule, path: str) -> list[str]:
    rc, out, err = module.run_command(["getfacl", "--omit-header", "--absolute-names", "--", path])
    if rc != 0:
        module.fail_json(msg=f"getfacl {path} failed: {err.strip()}")
    lines = []
    for line in out.splitlines():
        line = line.split("#", 1)[0].strip()   # drop '#effective:' comments
        if line:
            lines.append(line)
    return lines


def ordered(lines: list[str]) -> list[str]:
    """getfacl lists entries in a fixed order; sort named entries the way desired_acl() does for comparison."""
    return sorted(lines)


def validate(module: AnsibleModule, spec: dict) -> None:
    path = spec["path"]
    if not os.path.isabs(path) or any(ord(ch) < 32 for ch in path):
        module.fail_json(msg=f"directory path {path!r} must be absolute and free of control characters")
    if not re.fullmatch(r"0?[0-7]{3,4}", spec["mode"]):
        module.fail_json(msg=f"{path}: mode {spec['mode']!r} is not an octal mode like '0750' or '2750'")
    for entry in spec["acl"]:
        if entry.get("kind") not in ("user", "group"):
            module.fail_json(msg=f"{path}: ACL entry {entry!r}: kind must be user or group")
        if not NAME_RE.match(str(entry.get("name", ""))):
            module.fail_json(msg=f"{path}: ACL entry {entry!r}: name is not a valid user/group name")
        if not PERMS_RE.match(str(entry.get("perms", ""))):
            module.fail_json(msg=f"{path}: ACL entry {entry!r}: perms must look like 'r-x'")
        lookup = pwd.getpwnam if entry["kind"] == "user" else grp.getgrnam
        try:
            lookup(entry["name"])
        except KeyError:
            if not module.check_mode:   # in check mode an earlier task may only have planned to create it
                module.fail_json(msg=f"{path}: ACL names {entry['kind']} {entry['name']!r}, which does not exist here")
            module.warn(f"{path}: {entry['kind']} {entry['name']!r} does not exist yet (check mode)")


def owner_ids(module: AnsibleModule, spec: dict) -> tuple[int, int]:
    """uid/gid of the wanted owner; (-1, -1) in check mode when they do not exist yet (plan only)."""
    try:
        return pwd.getpwnam(spec["owner"]).pw_uid, grp.getgrnam(spec["group"]).gr_gid
    except KeyError:
        if module.check_mode:
            return -1, -1
        module.fail_json(msg=f"{spec['path']}: owner {spec['owner']!r} or group {spec['group']!r} does not exist")
        raise


def apply_one(module: AnsibleModule, spec: dict) -> dict:
    path = spec["path"]
    result = {"path": path, "changed": False, "created": False}
    want = desired_acl(spec)
    special = int(spec["mode"], 8) & 0o7000
    uid, gid = owner_ids(module, spec)
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        module.fail_json(msg=f"{path} exists but is not a plain directory (symlink or file): refusing to manage it")
    if not os.path.exists(path):
        result.update(changed=True, created=True, before="", after="\n".join(want))
        if not module.check_mode:
            os.makedirs(path, mode=0o700)
        else:
            return result
    if module.check_mode and uid == -1:
        result.update(changed=True, before="(owner or group not created yet)", after="\n".join(want))
        return result
    have = current_acl(module, path)
    status = os.lstat(path)
    owner_ok = (status.st_uid, status.st_gid) == (uid, gid)
    special_ok = status.st_mode & 0o7000 == special
    if ordered(have) == ordered(want) and owner_ok and special_ok:
        return result
    result.update(changed=True, before=result.get("before", "\n".join(have)), after="\n".join(want))
    if module.check_mode:
        return result
    if not owner_ok:
        os.chown(path, uid, gid, follow_symlinks=False)
    rc, _out, err = module.run_command(["setfacl", "--set-file=-", "--", path], data="\n".join(want) + "\n")
    if rc != 0:
        module.fail_json(msg=f"setfacl on {path} failed: {err.strip()}", directories=[result])
    if not special_ok:
        os.chmod(path, (os.lstat(path).st_mode & 0o777) | special)
    return result


def wanted_entries(spec: dict) -> tuple[list, list]:
    """The directory's access and default ACL as kernel entries (names resolved to ids)."""
    mode = int(spec["mode"], 8)
    named = []
    for entry in spec["acl"]:
        tag, ident = ((posix_acl.USER, pwd.getpwnam(entry["name"]).pw_uid) if entry["kind"] == "user"
                      else (posix_acl.GROUP, grp.getgrnam(entry["name"]).gr_gid))
        perm = sum(bit for letter, bit in zip(entry["perms"], (4, 2, 1), strict=True) if letter != "-")
        named.append((tag, perm, ident))
    access = posix_acl.build((mode >> 6) & 7, (mode >> 3) & 7, mode & 7, named)
    return access, access if spec["default_acl"] else []


SAMPLE = 20


def align_existing(module: AnsibleModule, spec: dict, result: dict, managed: frozenset[str]) -> None:
    """Files and sub-directories already inside the directory get its access (see DOCUMENTATION)."""
    if not spec["existing"] or not os.path.isdir(spec["path"]):
        return
    try:
        access, default = wanted_entries(spec)
    except KeyError:   # check mode: the groups are only planned
        module.warn(f"{spec['path']}: existing files not checked: a user or group of its ACL does not exist yet")
        return
    try:
        report = posix_acl.align_tree(spec["path"], access, default, dry_run=module.check_mode, exclude=managed)
    except OSError as error:
        module.fail_json(msg=f"{spec['path']}: aligning the ACLs of the files inside failed: {error}",
                         directories=[result])
    result.update(existing_checked=report.checked, existing_changed=len(report.changed),
                  existing_changed_paths=report.changed[:SAMPLE], existing_skipped=len(report.skipped))
    if report.changed:
        result["changed"] = True
        result.setdefault("before", "")
        result.setdefault("after", "")
        more = f" (first {SAMPLE})" if len(report.changed) > SAMPLE else ""
        result["after"] += (f"\n# {len(report.changed)} existing file(s)/directories given the directory's access"
                            f"{more}:\n" + "\n".join(report.changed[:SAMPLE]))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directories": {
                "type": "list", "elements": "dict", "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "str", "default": "0750"},
                    "acl": {"type": "list", "elements": "dict", "default": []},
                    "default_acl": {"type": "bool", "default": True},
                    "existing": {"type": "bool", "default": True},
                },
            },
        },
        supports_check_mode=True,
    )
    for tool in ("getfacl", "setfacl"):
        if not module.get_bin_path(tool):
            module.fail_json(msg=f"{tool} not found: install the 'acl' package first")
    specs = module.params["directories"]
    for spec in specs:          # validate everything before touching anything: nothing half-applied
        validate(module, spec)
        owner_ids(module, spec)
    managed = frozenset(os.path.normpath(spec["path"]) for spec in specs)   # nested ones keep their own table
    results = []
    for spec in specs:
        result = apply_one(module, spec)
        align_existing(module, spec, result, managed)
        results.append(result)
    changed = [r for r in results if r["changed"]]
    diff = [{"before_header": r["path"], "after_header": r["path"],
             "before": r["before"] + "\n", "after": r["after"] + "\n"} for r in changed]
    module.exit_json(changed=bool(changed), directories=results, diff=diff)


if __name__ == "__main__":
    main()
