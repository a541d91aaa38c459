"""Callback plugin: every change the toolkit makes goes to the site's tamper-evident audit trail."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_trail
type: notification
short_description: Record every changed task in the site's hash-chained audit trail
description:
  - For every task result with C(changed=true) (and every failed task that reports a change), appends one
    C(change) record to C(<audit_dir>/<site>/trail.jsonl) - device, task, module, role, what changed, a diff
    summary (in C(--diff) mode), operator, UTC time, playbook, play and git revision of the toolkit - through
    the locked, fsync'd, hash-chained writer of C(aiphone.hardening) (P(aiphone.hardening.audit_verify#module)
    checks it).
  - Results of C(no_log) tasks are recorded as hidden (task, device, time) with no values and no diff. Values of
    secret-looking host variables (passwords, keys, PSKs, TOTP secrets, C(vault_*)) and secrets in configuration
    syntax are masked in every record.
  - Check-mode results are not changes and are not recorded.
  - A run that changed something ends with a C(run_summary) record. If the trail cannot be written the run goes on
    and a warning names the reason (recording must never lock the operator out of a fix).
requirements:
  - enable in ansible.cfg C(callbacks_enabled = aiphone.hardening.audit_trail)
options:
  audit_dir:
    description:
      - Root directory of the audit trails. The host variable C(aiphone_audit_dir) wins over this option.
      - Default C(audit) next to the C(ansible.cfg) in use (the repository root), else in the working directory.
    type: path
    env:
      - name: AIPHONE_AUDIT_DIR
    ini:
      - section: aiphone_audit_trail
        key: audit_dir
  site:
    description:
      - Site name when hosts set neither C(aiphone_site_name) nor C(aiphone_site); default the name of the host's
        inventory directory
        (C(inventories/lab) -> C(lab)).
    type: str
    env:
      - name: AIPHONE_SITE
    ini:
      - section: aiphone_audit_trail
        key: site
  diff_preview_lines:
    description: How many (redacted) lines of each unified diff the record keeps.
    type: int
    default: 40
    ini:
      - section: aiphone_audit_trail
        key: diff_preview_lines
"""

import difflib
import getpass
import os
import subprocess
import uuid

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

TOOLKIT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
RESULT_SUMMARY_KEYS = ("dest", "path", "name", "state", "src", "msg", "cmd", "backup_file", "commands", "updates",
                       "changed_paths")
NO_LOG_NOTE = "hidden: the task is no_log"


def operator_name() -> str:
    return os.environ.get("AIPHONE_OPERATOR") or os.environ.get("SUDO_USER") or getpass.getuser()


def toolkit_revision(root: str = TOOLKIT_ROOT) -> dict:
    """Git revision of the toolkit (and whether the working tree differs from it)."""
    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    try:
        return {"revision": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}


def diff_summary(diff, preview_lines: int) -> list[dict]:
    """Per file: headers, lines added/removed and the first lines of the unified diff."""
    entries = diff if isinstance(diff, list) else [diff]
    summary = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if "prepared" in entry:
            lines = str(entry["prepared"]).splitlines()
        else:
            before, after = _as_lines(entry.get("before")), _as_lines(entry.get("after"))
            lines = list(difflib.unified_diff(before, after, str(entry.get("before_header", "before")),
                                              str(entry.get("after_header", "after")), lineterm=""))
        added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
        removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
        summary.append({"before_header": entry.get("before_header"), "after_header": entry.get("after_header"),
                        "added": added, "removed": removed, "preview": "\n".join(lines[:preview_lines]),
                        "truncated": len(lines) > preview_lines})
    return summary


def _as_lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
    return str(value).splitlines()


def secret_values_of(host_vars: dict) -> set[str]:
    """Values of secret-named variables (vault_*, *_password, *_psk …) to mask wherever they appear."""
    secrets = set()
    for key, value in host_vars.items():
        if not (audit_trail.is_secret_key(key) or str(key).startswith("vault_")) or _is_flag(value):
            continue
        for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]:
            try:
                text = str(item)
            except Exception:  # an undecryptable vault value cannot leak either  # noqa: S112
                continue
            if "{{" not in text:
                secrets.add(text)
    return secrets


def _is_flag(value) -> bool:
    return value is None or isinstance(value, (bool, int, float))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "aiphone.hardening.audit_trail"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_id = str(uuid.uuid4())
        self.operator = operator_name()
        self.git = None
        self.playbook = None
        self.play = None
        self.host_context: dict[str, tuple[str, set[str]]] = {}   # host -> (site dir, secret values)
        self.changes_per_site: dict[str, int] = {}

    # ---------------------------------------------------------------------------------------- play context
    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.relpath(getattr(playbook, "_file_name", "") or "?")
        self.git = toolkit_revision()

    def v2_playbook_on_play_start(self, play):
        self.play = play

    def _context(self, host) -> tuple[str, set[str]]:
        name = host.get_name()
        if name not in self.host_context:
            host_vars = self._host_vars(host)
            site = str(self._resolved(host_vars, "aiphone_site_name") or self._resolved(host_vars, "aiphone_site")
                       or self.get_option("site")
                       or os.path.basename(str(host_vars.get("inventory_dir") or "default").rstrip("/")))
            audit_dir = str(self._resolved(host_vars, "aiphone_audit_dir") or self.get_option("audit_dir") or
                            os.path.join(os.path.dirname(C.CONFIG_FILE) if C.CONFIG_FILE else os.getcwd(), "audit"))
            self.host_context[name] = (audit_trail.site_dir(audit_dir, site), secret_values_of(host_vars))
        return self.host_context[name]

    def _resolved(self, host_vars: dict, name: str):
        """A host variable, templated (e.g. `aiphone_audit_dir: "{{ inventory_dir }}/../../audit"`)."""
        value = host_vars.get(name)
        if isinstance(value, str) and "{{" in value and self.play is not None:
            value = Templar(loader=self.play._loader, variables=host_vars).template(value)
        return value

    def _host_vars(self, host) -> dict:
        try:
            return self.play.get_variable_manager().get_vars(play=self.play, host=host, include_hostvars=False)
        except Exception:  # no play context (ad-hoc): inventory vars still name site and secrets
            return dict(host.get_vars())

    # ---------------------------------------------------------------------------------------- results
    def v2_runner_on_ok(self, result):
        if not result.result.get("results"):   # loops are recorded item by item
            self._record(result, "changed")

    def v2_runner_item_on_ok(self, result):
        self._record(result, "changed")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not result.result.get("results"):
            self._record(result, "failed")

    def v2_runner_item_on_failed(self, result):
        self._record(result, "failed")

    def _record(self, result, status: str) -> None:
        data = result.result
        if not data.get("changed") or result.task.check_mode is True:   # check mode plans, it changes nothing
            return
        try:
            site_directory, secrets = self._context(result.host)
            audit_trail.append(site_directory, self._change_record(result, status), secret_values=secrets)
            self.changes_per_site[site_directory] = self.changes_per_site.get(site_directory, 0) + 1
        except Exception as exc:  # the run must go on; the operator must see it
            self._display.warning(f"aiphone audit trail: could not record {result.task.get_name()!r} on "
                                  f"{result.host.get_name()}: {exc}")

    def _change_record(self, result, status: str) -> dict:
        task, data = result.task, result.result
        hidden = bool(task.no_log) or bool(data.get("_ansible_no_log")) or "censored" in data
        record = {
            "kind": "change",
            "status": status,
            "device": result.host.get_name(),
            "task": task.get_name(),
            "action": task.resolved_action or task.action,
            "role": task._role.get_name() if task._role else None,
            "tags": sorted(task.tags or []),
            "operator": self.operator,
            "playbook": self.playbook,
            "play": self.play.get_name() if self.play else None,
            "git": self.git,
            "run_id": self.run_id,
            "no_log": hidden,
        }
        if hidden:
            record["what"] = NO_LOG_NOTE
            return record
        if data.get("_ansible_item_label") is not None:
            record["item"] = data["_ansible_item_label"]
        record["what"] = {k: data[k] for k in RESULT_SUMMARY_KEYS if k in data}
        record["diff"] = diff_summary(data["diff"], self.get_option("diff_preview_lines")) if data.get("diff") \
            else None
        return record

    def v2_playbook_on_stats(self, stats):
        for site_directory, count in self.changes_per_site.items():
            try:
                audit_trail.append(site_directory, {
                    "kind": "run_summary", "run_id": self.run_id, "playbook": self.playbook,
                    "operator": self.operator, "git": self.git, "changes_recorded": count,
                    "hosts": {h: stats.summarize(h) for h in sorted(stats.processed)
                              if self.host_context.get(h, ("",))[0] == site_directory},
                })
            except Exception as exc:
                self._display.warning(f"aiphone audit trail: could not write the run summary: {exc}")
