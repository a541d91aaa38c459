# -*- coding: utf-8 -*-
"""The evidence bundle of an incident: one tar.gz with the audit trail slice of a time range, its chain check,
the files collected (configs, versions, logs) and a SHA256SUMS file; the archive's own digest sits beside it.

Text files are added with their secrets masked (audit_trail.redact_text: keys, passwords, PSKs, private keys):
a bundle travels to insurers and forensics and must never carry a usable secret. Each file changed that way is
listed in manifest.json under `redacted` with the SHA-256 of its original bytes, so the evidence can still be
matched with the source it was taken from. The bundle is written owner-only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail


def parse_time(text: str, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not an ISO 8601 time (e.g. 2026-11-27T02:00:00Z)") from None
    if value.tzinfo is None:
        raise ValueError(f"{field}: {text!r} has no timezone; add Z or +HH:MM")
    return value.astimezone(dt.UTC)


def trail_slice(site_directory: str, since: dt.datetime, until: dt.datetime) -> list[dict]:
    """Records whose `time` falls in [since, until] (records without a time are left out)."""
    selected = []
    for record in audit_trail.iter_records(site_directory):
        try:
            when = parse_time(str(record.get("time", "")), "time")
        except ValueError:
            continue
        if since <= when <= until:
            selected.append(record)
    return selected


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _masked(data: bytes) -> bytes:
    """``data`` with its secrets masked (text files; binary files are kept as they are)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return audit_trail.redact_text(text).encode("utf-8")


def _files_under(root: str) -> list[tuple[str, str]]:
    """(path on disk, name in the bundle) of every regular file under `root` (a file is taken alone)."""
    base = os.path.basename(os.path.normpath(root))
    if os.path.isfile(root):
        return [(root, base)]
    found = []
    for directory, _dirs, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found.append((path, os.path.join(base, os.path.relpath(path, root))))
    return sorted(found, key=lambda item: item[1])


def build_bundle(archive: str, site_directory: str, since: dt.datetime, until: dt.datetime,
                 collected: list[str]) -> dict:
    """Write the bundle; returns {"archive", "sha256", "records", "files", "trail_ok"}."""
    records = trail_slice(site_directory, since, until)
    report = audit_trail.verify(site_directory)
    members: dict[str, bytes] = {
        "audit/trail-slice.jsonl": "".join(audit_trail.canonical_json(r) + "\n" for r in records).encode(),
        "audit/trail-verify.json": json.dumps(report.as_dict(), indent=1, sort_keys=True, default=str).encode(),
        "manifest.json": json.dumps({"since": since.isoformat(), "until": until.isoformat(),
                                     "created": audit_trail.utc_now(), "site_directory": site_directory,
                                     "collected": collected}, indent=1).encode(),
    }
    redacted: dict[str, str] = {}
    for root in collected:
        for path, name in _files_under(root):
            with open(path, "rb") as handle:
                original = handle.read()
            members[f"collected/{name}"] = masked = _masked(original)
            if masked != original:
                redacted[f"collected/{name}"] = _sha256(original)
    manifest = json.loads(members["manifest.json"])
    manifest["redacted"] = redacted
    members["manifest.json"] = json.dumps(manifest, indent=1).encode()
    members["SHA256SUMS"] = "".join(f"{_sha256(data)}  {name}\n" for name, data in sorted(members.items())).encode()
    os.makedirs(os.path.dirname(archive) or ".", mode=0o700, exist_ok=True)
    fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(dt.datetime.now(dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
    with open(archive, "rb") as handle:
        digest = _sha256(handle.read())
    with open(archive + ".sha256", "w", encoding="utf-8") as handle:
        handle.write(f"{digest}  {os.path.basename(archive)}\n")
    return {"archive": archive, "sha256": digest, "records": len(records), "files": len(members) - 4,
            "trail_ok": report.ok}
