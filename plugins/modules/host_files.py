#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Many configuration files, directories and file modes of one host in one module call (cheap no-op runs)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_files
short_description: Put a set of files, directories, settings lines and file modes in place in one call
description:
  - One module call checks and, where they differ, fixes every entry of O(files) - a task that used to loop over
    C(ansible.builtin.copy), C(template), C(file) or C(lineinfile) costs one round trip instead of two per item.
    A no-op run reads each file once and writes nothing.
  - "O(files[].state=file): the file has exactly O(files[].content) (render templates on the controller with
    C(lookup('ansible.builtin.template', ...))). A new content is written to a temporary file beside the target,
    checked with O(files[].validate), given its owner, group and mode and only then renamed over the target
    (atomic: the target never exists half-written nor with a wider mode)."
  - "O(files[].state=lines): settings lines in an existing file, each like C(ansible.builtin.lineinfile) with
    C(regexp) and C(line): the last line matching O(files[].lines[].regexp) is replaced, or the line is appended
    when none matches. The whole new file is validated before it replaces the old one."
  - "O(files[].state=ini): C(option = value) settings in the sections of an INI file, each as
    C(community.general.ini_file) with its defaults writes it (exclusive; a commented-out option line is taken over;
    the line goes after the section's last setting; a missing section is appended) - the same bytes as one
    C(ini_file) run per setting, but in one validated, atomic write: a run stopped half-way never leaves a file
    whose settings refer to a section not written yet."
  - "O(files[].state=directory): the directory exists (created with the given mode) with its owner, group and mode.
    O(files[].state=attributes): owner, group and mode of a file or directory that must already exist
    (O(files[].missing=skip) passes over a missing one). O(files[].state=absent): a file or symbolic link at the
    path is removed (directories are refused)."
  - A run killed between writing a temporary and renaming it leaves C(.<name>.host_files-XXXXXXXX) beside the
    target (root-only, as the target's mode). The next call on that file removes such leftovers older than two
    minutes, with a warning (not a change).
  - Entries are handled in order; the first failure stops the call and names the path, and the files before it
    keep their new state (each one is whole - old or new, never between).
  - Supports check mode (an accurate plan, nothing written) and C(--diff) (per file; O(files[].diff=false) for files
    holding secrets).
options:
  files:
    description: The entries, handled in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      state:
        description: What the path must be.
        type: str
        choices: [file, lines, ini, directory, attributes, absent]
        default: file
      content: {description: "Whole content (O(files[].state=file)).", type: str}
      lines:
        description: "Settings lines (O(files[].state=lines)), each C({regexp: ..., line: ...})."
        type: list
        elements: dict
      settings:
        description: "INI settings (O(files[].state=ini)), each C({section: ..., option: ..., value: ...})."
        type: list
        elements: dict
      owner: {description: Owning user (unchanged when omitted for C(lines), C(ini) and C(attributes))., type: str}
      group: {description: Owning group (unchanged when omitted for C(lines), C(ini) and C(attributes))., type: str}
      mode: {description: "Octal mode string such as C('0640') (required for C(file) and C(directory)).", type: str}
      validate:
        description: Command run on the new content before it replaces the file; C(%s) is the temporary file.
        type: str
      backup: {description: Keep a time-stamped copy of a file before its content changes., type: bool, default: false}
      create: {description: "For C(lines) and C(ini): create a missing file (empty before the lines).", type: bool,
               default: false}
      missing:
        description: "For C(attributes), C(lines) and C(ini): C(fail) or C(skip) when the path does not exist
          (C(lines) and C(ini) with O(files[].create=true) create it instead)."
        type: str
        choices: [fail, skip]
        default: fail
      diff: {description: Show the content in C(--diff) (false for secrets)., type: bool, default: true}
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: Legal notice before and after login
  aiphone.hardening.host_files:
    files:
      - {path: /etc/issue, content: "{{ banner }}", owner: root, group: root, mode: "0644"}
      - {path: /etc/issue.net, content: "{{ banner }}", owner: root, group: root, mode: "0644"}

- name: Defaults of shadow's tools, one call for every key
  aiphone.hardening.host_files:
    files:
      - path: /etc/login.defs
        state: lines
        lines: "{{ logindefs | dict2items | map('aiphone.hardening.keyword_line') | list }}"

- name: A sudoers fragment, checked by visudo before it is in place
  aiphone.hardening.host_files:
    files:
      - path: /etc/sudoers.d/50-roles
        content: "{{ lookup('ansible.builtin.template', 'sudoers.j2') }}"
        mode: "0440"
        validate: visudo -cf %s
"""

RETURN = r"""
leftovers_removed:
  description: Temporaries (C(.<name>.host_files-XXXXXXXX)) of this call's files that an interrupted run left beside
    them, older than two minutes, removed (a warning names each; check mode only warns).
  returned: always
  type: list
  elements: str
changed_paths:
  description: Paths this call changed (or, in check mode, would change), in the order handled.
  returned: always
  type: list
  elements: str
  sample: [/etc/issue]
files:
  description: Per entry, what was (or would be) done.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/issue, changed: true, content: true, attributes: false, created: false, backup: null}]
"""

import os
import re
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
# A new content goes to `.<name>.host_files-XXXXXXXX` beside its target (tempfile.mkstemp's random part); a run
# killed between that write and the rename leaves one behind. The next call on that file removes such leftovers
# once they are older than any write still in progress could be.
TEMP_TAG = ".host_files-"
LEFTOVER_AGE = 120.0


class EntryError(Exception):
    """One entry could not be put in place; the message names its path."""


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def apply_lines(text: str, lines: list[dict]) -> str:
    """lineinfile(regexp, line) for each entry in turn: the last matching line replaced, else the line appended."""
    rows = text.splitlines()
    for entry in lines:          # regexps and lines checked by check_entry()
        pattern, line = re.compile(entry["regexp"]), entry["line"]
        matches = [index for index, row in enumerate(rows) if pattern.search(row)]
        if matches:
            rows[matches[-1]] = line
        elif line not in rows:
            rows.append(line)
    return "\n".join(rows) + ("\n" if rows else "")


def leftovers(path: str, now: float, min_age: float = LEFTOVER_AGE) -> list[str]:
    """Temporaries of `path` left by a killed run: ours by name, regular files of this user, older than min_age."""
    directory, name = os.path.split(path)
    pattern = re.compile(re.escape(f".{name}{TEMP_TAG}") + r"[A-Za-z0-9_]{8}\Z")
    found = []
    try:
        candidates = [entry for entry in os.scandir(directory) if pattern.match(entry.name)]
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in candidates:
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and now - info.st_mtime > min_age:
            found.append(entry.path)
    return sorted(found)


def _ini_option(option: str, line: str):
    """community.general.ini_file's match_opt: an option line, active or commented out (`#opt = v`, `;opt`)."""
    return re.match(r"( |\t)*([#;]?)( |\t)*(" + re.escape(option) + r")( |\t)*(=|$)( |\t)*(.*)", line)


INI_CONTENT_LINE = re.compile(r"^[ \t]*([#;].*)?$")   # blank or comment: ini_file inserts after the last other line


def apply_ini(text: str, settings: list[dict]) -> str:
    """`option = value` in `[section]` for each setting in turn, the way community.general.ini_file does it with
    its defaults (state=present, exclusive, a commented-out option is taken over, ` = ` between): an option line of
    the section gets the value and further ones go; without one the line goes after the section's last
    non-comment line; a missing section is appended with the option. Same bytes as that module's runs, one by one."""
    lines = text.splitlines(keepends=True) or ["\n"]
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for setting in settings:
        section, option, value = setting["section"], setting["option"], str(setting["value"])
        assignment = f"{option} = {value}\n"
        framed = ["[ad01e11446efb704fcdbdb21f2c43757423d91c5]", *lines, "["]   # ini_file's sentinels
        header = re.compile(r"^\[\s*" + re.escape(section.strip()) + r"\s*]")
        within, start, end = False, 0, 0
        for index, line in enumerate(framed):
            if within and line.startswith("["):
                end = index
                break
            if header.match(line):
                within, start = True, index
        body, done, pending = framed[start:end], [False] * (end - start), [value]
        for index, line in enumerate(body):          # a line with this very value first
            match = _ini_option(option, line)
            if match and pending and match.group(8) in pending:
                body[index], done[index] = assignment, True
                pending.remove(match.group(8))
        for index, line in enumerate(body):          # then the first other line of the option
            if pending and not done[index] and _ini_option(option, line):
                body[index], done[index] = assignment, True
                pending.pop(0)
        for index in range(len(body) - 1, 0, -1):    # and no other line of it stays
            if not done[index] and _ini_option(option, body[index]):
                del body[index], done[index]
        if pending:
            for index in range(len(body), 0, -1):
                if not INI_CONTENT_LINE.match(body[index - 1]):
                    body.insert(index, assignment)
                    break
        lines = (framed[:start] + body + framed[end:])[1:-1]
        if not within:
            lines += [f"[{section}]\n", assignment]
    return "".join(lines)


def _ini_word(word, name: bool) -> bool:
    if not isinstance(word, (str, int)) or isinstance(word, bool) or re.search(r"[\x00-\x1f\x7f]", str(word)):
        return False
    return not name or (bool(str(word).strip()) and not re.search(r"[\[\]=#;]", str(word)))


def check_entry(entry: dict) -> None:
    path = entry["path"]
    if not os.path.isabs(path) or any(ord(ch) < 32 for ch in path) or "/../" in f"{path}/":
        raise EntryError(f"path {path!r} must be absolute, without '..' and free of control characters")
    state = entry["state"]
    if entry.get("mode") is not None and not MODE_RE.match(str(entry["mode"])):
        raise EntryError(f"{path}: mode {entry['mode']!r} is not an octal mode like '0640'")
    if state in ("file", "directory") and entry.get("mode") is None:
        raise EntryError(f"{path}: state={state} needs a mode")
    if state == "file" and entry.get("content") is None:
        raise EntryError(f"{path}: state=file needs a content")
    if state == "ini" and not entry.get("settings"):
        raise EntryError(f"{path}: state=ini needs at least one setting")
    for number, setting in enumerate(entry.get("settings") or []):
        if not isinstance(setting, dict) or not all(_ini_word(setting.get(key), key != "value")
                                                    for key in ("section", "option", "value")):
            raise EntryError(f"{path}: settings[{number}] needs a section, an option and a value, each on one line "
                             "(section and option names without brackets or '=')")
    if state == "lines" and not entry.get("lines"):
        raise EntryError(f"{path}: state=lines needs at least one line")
    for number, line in enumerate(entry.get("lines") or []):
        try:
            re.compile(line["regexp"])
        except (KeyError, TypeError, re.error) as err:
            raise EntryError(f"{path}: lines[{number}] needs a valid regexp ({err})") from err
        if not isinstance(line.get("line"), str) or "\n" in line["line"]:
            raise EntryError(f"{path}: lines[{number}] needs a single line of text")


class HostFiles:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.diffs: list[dict] = []
        self.removed: list[str] = []

    def file_args(self, entry: dict, path: str) -> dict:
        return {"path": path, "owner": entry.get("owner"), "group": entry.get("group"), "mode": entry.get("mode"),
                "secontext": [None, None, None, None], "attributes": None}

    def attributes(self, entry: dict, path: str) -> bool:
        diff = {"before": {}, "after": {}}
        changed = self.module.set_fs_attributes_if_different(self.file_args(entry, path), False, diff=diff)
        if changed and diff["before"]:
            self.diffs.append({"before_header": path, "after_header": path, **diff})
        return changed

    def validate(self, entry: dict, temporary: str) -> None:
        command = entry.get("validate")
        if not command:
            return
        if "%s" not in command:
            raise EntryError(f"{entry['path']}: validate must contain %s (the file to check): {command!r}")
        rc, out, err = self.module.run_command(command % temporary)
        if rc != 0:
            raise EntryError(f"{entry['path']}: the new content failed validation ({command}, rc={rc}); the file "
                             f"is unchanged: {(err or out).strip()[-2000:]}")

    def write(self, entry: dict, new: bytes, existed: bool) -> str | None:
        """The new content in a checked temporary beside the target, then renamed over it. Returns the backup path."""
        path = entry["path"]
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise EntryError(f"{path}: its directory {directory} does not exist")
        backup = self.module.backup_local(path) if entry["backup"] and existed else None
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}{TEMP_TAG}")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(new)
                out.flush()
                os.fsync(out.fileno())
            self.validate(entry, temporary)
            args = self.file_args(entry, temporary)
            if existed:   # a lines entry without owner/mode keeps the file's own
                current = os.stat(path)
                args["mode"] = args["mode"] or oct(stat.S_IMODE(current.st_mode))
                if args["owner"] is None:
                    os.chown(temporary, current.st_uid, -1)
                if args["group"] is None:
                    os.chown(temporary, -1, current.st_gid)
            elif args["mode"] is None:
                args["mode"] = "0644"
            self.module.set_fs_attributes_if_different(args, False)
            if self.module.selinux_enabled():
                self.module.set_context_if_different(temporary, self.module.selinux_default_context(path), False)
            os.replace(temporary, path)   # same directory: atomic, and the mode is already the final one
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
        return backup

    def remove_leftovers(self, path: str) -> None:
        """A killed run's temporaries of this file (root-only copies of its content) go; housekeeping, not a change
        of the host: a warning names them, and check mode only names them."""
        for leftover in leftovers(path, time.time()):
            if self.module.check_mode:
                self.module.warn(f"{leftover}: a temporary of {path} left by an interrupted run (a real run "
                                 "removes it)")
                continue
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                continue
            self.removed.append(leftover)
            self.module.warn(f"{leftover}: removed a temporary of {path} left by an interrupted run")

    def content(self, entry: dict) -> dict:
        path = entry["path"]
        if os.path.isdir(path) and not os.path.islink(path):
            raise EntryError(f"{path}: is a directory, a file was expected")
        old = read_bytes(path)
        self.remove_leftovers(path)
        if entry["state"] == "file":
            new = entry["content"].encode()
        else:
            if old is None and entry["missing"] == "skip" and not entry["create"]:
                return {"path": path, "created": False, "content": False, "attributes": False, "backup": None,
                        "skipped": "missing"}
            if old is None and not entry["create"]:
                raise EntryError(f"{path}: does not exist (state={entry['state']} edits an existing file; create=true "
                                 "makes it)")
            edit = (lambda text: apply_ini(text, entry["settings"])) if entry["state"] == "ini" else \
                (lambda text: apply_lines(text, entry["lines"]))
            text = (old or b"").decode("utf-8", errors="surrogateescape")
            text = text[1:] if entry["state"] == "ini" and text.startswith("\ufeff") else text   # ini_file: utf-8-sig
            new = edit(text).encode("utf-8", errors="surrogateescape")
        result = {"path": path, "created": old is None, "content": old != new, "attributes": False, "backup": None}
        if result["content"]:
            if entry["diff"]:
                self.diffs.append({"before_header": path, "after_header": path,
                                   "before": (old or b"").decode("utf-8", errors="replace"),
                                   "after": new.decode("utf-8", errors="replace")})
            else:
                self.diffs.append({"prepared": f"{path}: content changed (not shown: diff=false)"})
            if not self.module.check_mode:
                result["backup"] = self.write(entry, new, old is not None)
        elif old is not None:
            result["attributes"] = self.attributes(entry, path)
        return result

    def directory(self, entry: dict) -> dict:
        path = entry["path"]
        result = {"path": path, "created": False, "content": False, "attributes": False, "backup": None}
        if os.path.lexists(path) and not os.path.isdir(path):
            raise EntryError(f"{path}: exists and is not a directory")
        if os.path.islink(path):
            raise EntryError(f"{path}: is a symbolic link, a directory was expected")
        if not os.path.isdir(path):
            result["created"] = True
            self.diffs.append({"before_header": path, "after_header": path, "before": {"state": "absent"},
                               "after": {"state": "directory", "mode": entry["mode"]}})
            if self.module.check_mode:
                return result
            if not os.path.isdir(os.path.dirname(path)):
                raise EntryError(f"{path}: its parent directory does not exist")
            os.mkdir(path, 0o700)   # private until owner and mode are set just below
        result["attributes"] = self.attributes(entry, path)
        return result

    def existing(self, entry: dict) -> dict:
        path = entry["path"]
        result = {"path": path, "created": False, "content": False, "attributes": False, "backup": None}
        if not os.path.exists(path):
            if entry["missing"] == "skip":
                result["skipped"] = "missing"
                return result
            raise EntryError(f"{path}: does not exist (state=attributes changes an existing path; missing=skip)")
        result["attributes"] = self.attributes(entry, path)
        return result

    def absent(self, entry: dict) -> dict:
        path = entry["path"]
        result = {"path": path, "created": False, "content": os.path.lexists(path), "attributes": False,
                  "backup": None}
        if os.path.isdir(path) and not os.path.islink(path):
            raise EntryError(f"{path}: is a directory (host_files removes files and links only)")
        if result["content"]:
            self.diffs.append({"before_header": path, "after_header": path, "before": {"state": "present"},
                               "after": {"state": "absent"}})
            if not self.module.check_mode:
                os.unlink(path)
        return result

    def run(self, entry: dict) -> dict:
        check_entry(entry)
        handler = {"file": self.content, "lines": self.content, "ini": self.content, "directory": self.directory,
                   "attributes": self.existing, "absent": self.absent}[entry["state"]]
        try:
            result = handler(entry)
        except (OSError, ValueError, KeyError) as err:   # unknown owner/group, permissions, disk full ...
            raise EntryError(f"{entry['path']}: {err}") from err
        result["changed"] = bool(result["created"] or result["content"] or result["attributes"])
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(files=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", default="file",
                       choices=["file", "lines", "ini", "directory", "attributes", "absent"]),
            content=dict(type="str"),
            lines=dict(type="list", elements="dict"),
            settings=dict(type="list", elements="dict"),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="str"),
            validate=dict(type="str"),
            backup=dict(type="bool", default=False),
            create=dict(type="bool", default=False),
            missing=dict(type="str", default="fail", choices=["fail", "skip"]),
            diff=dict(type="bool", default=True),
        ))),
        supports_check_mode=True,
    )
    worker = HostFiles(module)
    results: list[dict] = []
    for entry in module.params["files"]:
        try:
            results.append(worker.run(entry))
        except EntryError as err:
            module.fail_json(msg=str(err), files=results, leftovers_removed=worker.removed,
                             changed_paths=[r["path"] for r in results if r["changed"]],
                             changed=any(r["changed"] for r in results))
    changed_paths = [r["path"] for r in results if r["changed"]]
    outcome = {"changed": bool(changed_paths), "changed_paths": changed_paths, "files": results,
               "leftovers_removed": worker.removed}
    if module._diff:   # as ansible.builtin.copy: a diff only when one is asked for (--diff, diff: true)
        outcome["diff"] = worker.diffs
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
