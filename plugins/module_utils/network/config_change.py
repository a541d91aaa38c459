# -*- coding: utf-8 -*-
"""Configuration pushes in the audit trail: intent before, end after, reconciliation by the next run (issue #14).

Before a switch / WLC / AP push the module appends (and fsyncs: audit_trail.append) a `config_change` record with
`result: started`: device, run id, change id, a digest of the intended change (the masked command list), a digest
of the configuration it changes (masked, volatile lines dropped) and the backup it can roll back to. Never the
configuration text. After the push an end record with the same change id: `applied`, `rolled_back` or `failed`.

A run killed mid-push leaves `started` without an end (audit_trail.open_intents, the fold the firmware attempts
use). The next run against that device reads back what it holds and records `reconciled` (outcome
`matches_intent` / `matches_backup` / `neither`, with a summary of what still differs from the intent, masked)
before it plans anything; the compliance checks report the device as unreconciled until then.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

RECORD_KIND = "config_change"
STARTED, APPLIED, ROLLED_BACK, FAILED, RECONCILED = "started", "applied", "rolled_back", "failed", "reconciled"
MATCHES_INTENT, MATCHES_BACKUP, NEITHER = "matches_intent", "matches_backup", "neither"
SUMMARY_LINES = 10
# lines a device rewrites by itself (timestamps, sizes): not part of what a change did
VOLATILE_PREFIXES = ("!", "Building configuration", "Current configuration", "ntp clock-period")


def config_digest(text: str) -> str:
    """SHA-256 of a configuration with its secrets masked and its volatile lines dropped (comparable across reads;
    it says nothing about a secret)."""
    lines = [line.rstrip() for line in audit_trail.redact_text(text).splitlines()]
    kept = [line for line in lines if line.strip() and not line.lstrip().startswith(VOLATILE_PREFIXES)]
    return hashlib.sha256("\n".join(kept).encode("utf-8")).hexdigest()


def change_digest(masked_commands: list[str]) -> str:
    return hashlib.sha256("\n".join(masked_commands).encode("utf-8")).hexdigest()


def open_changes(records: list[dict]) -> dict[str, dict]:
    """device -> its `started` config_change record without an end record."""
    return audit_trail.open_intents(records, RECORD_KIND, "change_id", STARTED)


class ChangeLog:
    """The config_change records of one device; ``audit_dir`` None: not recorded (the caller warns)."""

    def __init__(self, audit_dir: str | None, site: str, device: str, run_id: str | None = None,
                 operator: str | None = None):
        self.site_dir = None if not audit_dir else audit_trail.site_dir(audit_dir, site)
        self.device = device
        self.run_id = run_id or os.environ.get("AIPHONE_RUN_ID") or None
        self.operator = operator or os.environ.get("AIPHONE_OPERATOR") or None
        self.change_id: str | None = None

    @property
    def enabled(self) -> bool:
        return self.site_dir is not None

    def _append(self, **fields) -> dict:
        record = {"kind": RECORD_KIND, "device": self.device, "run_id": self.run_id, **fields}
        if self.operator:
            record["operator"] = self.operator
        return audit_trail.append(self.site_dir, record)

    def unfinished(self) -> dict | None:
        """The device's started change a killed run left without an end, or None."""
        if not self.enabled:
            return None
        return open_changes(audit_trail.read_records(self.site_dir, kind=RECORD_KIND)).get(self.device)

    def reconcile(self, started: dict, running_text: str, remaining: Callable[[str], list[str]],
                  mask: Callable[[str], str] = str) -> dict:
        """Record what the device holds after an interrupted change: the running config against the intent
        (``remaining(text)``: the lines the intent still needs, [] = in place) and against the configuration the
        change started from (its digest). Returns the stored record."""
        missing = [mask(line) for line in remaining(running_text)]
        if config_digest(running_text) == started.get("before_digest"):
            outcome = MATCHES_BACKUP
        elif not missing:
            outcome = MATCHES_INTENT
        else:
            outcome = NEITHER
        summary = {"differs_from_intent": len(missing), "first_differences": missing[:SUMMARY_LINES],
                   "differs_from_backup": config_digest(running_text) != started.get("before_digest")}
        return self._append(result=RECONCILED, change_id=started["change_id"], outcome=outcome,
                            started_run_id=started.get("run_id"), running_digest=config_digest(running_text),
                            summary=summary, reason=(f"change {started['change_id']} of run {started.get('run_id')} "
                                                     "had no end record (interrupted); read back the device"))

    def start(self, masked_commands: list[str], running_text: str, backup_file: str | None,
              sections: list[str], **intent) -> dict:
        """The intent record, fsynced before the first line is sent (raising here stops the push); ``intent``:
        what the reconciliation needs to rebuild the intent (e.g. the switch areas), no secret."""
        self.change_id = uuid.uuid4().hex[:12]
        return self._append(result=STARTED, change_id=self.change_id, intended_digest=change_digest(masked_commands),
                            lines=len(masked_commands), sections=list(sections),
                            before_digest=config_digest(running_text), backup_file=backup_file, **intent)

    def end(self, result: str, reason: str = "", after_text: str | None = None, **extra) -> dict:
        fields = {"result": result, "change_id": self.change_id, "reason": reason, **extra}
        if after_text is not None:
            fields["after_digest"] = config_digest(after_text)
        return self._append(**fields)


def recorded_commit(log: ChangeLog, driver, commit: Callable[[], None], masked_commands: list[str],
                    running_text: str, backup_file: str | None, sections: list[str],
                    mask: Callable[[str], str] = str, **intent) -> None:
    """``commit()`` (the driver's push with read-back and rollback) between its intent and its end record. A
    failure is recorded (rolled_back when the driver undid it, else failed) and raised again."""
    if not log.enabled:
        commit()
        return
    log.start(masked_commands, running_text, backup_file, sections, **intent)
    try:
        commit()
    except Exception as exc:
        rolled_back = bool(getattr(driver, "rolled_back", False))
        log.end(ROLLED_BACK if rolled_back else FAILED, reason=mask(f"{type(exc).__name__}: {exc}")[:2000],
                device_backup=getattr(driver, "backup_file", None))
        raise
    log.end(APPLIED, device_backup=getattr(driver, "backup_file", None))
