"""Tamper-evident, append-only audit trail of one site: JSON lines chained by SHA-256.

Public API (used by the callback plugin, the audit modules, the firmware and package-update code):

    from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
    site_dir = audit_trail.site_dir("audit", "lab")                 # audit/lab
    audit_trail.append(site_dir, {"kind": "firmware", "device": "sw-core-01", ...})   # -> the stored record
    audit_trail.verify(site_dir)                                     # -> VerifyReport (ok, first_broken …)
    audit_trail.read_records(site_dir, kind="firmware")              # -> [record, …]

Each line is the canonical JSON (sorted keys, no spaces) of one record. `append` adds `seq` (1, 2, …), `time`
(UTC, unless given), `prev` (hash of the previous record, 64 zeros for the first) and `hash` (SHA-256 of the
canonical JSON of the record without `hash`). Editing, inserting, deleting or reordering any byte of a past
record breaks the chain and `verify` names the first broken record.

Durability: a record is one `write()` of one line on an O_APPEND descriptor followed by `fsync`, under an
exclusive `fcntl` lock on `trail.jsonl.lock`, so two runs never interleave. A run killed in the middle of a write
can leave at most a torn last line (no newline): `verify` reports it, and the next `append` moves its bytes
aside to `trail.jsonl.torn-<time>` and chains a `torn_record` record naming that file, its size and SHA-256 —
the torn bytes are never silently dropped. `trail.head` holds the seq/hash of the last record (written atomically)
so that a truncated tail is noticed too.

Secrets never enter the trail: every record passes through `redact()` (secret-looking keys, known secret values,
secrets inside configuration text such as `username x secret …` or `sae_password=…`).
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

TRAIL_FILE = "trail.jsonl"
HEAD_FILE = "trail.head"
LOCK_SUFFIX = ".lock"
GENESIS_HASH = "0" * 64
REDACTED = "********"
RESERVED_FIELDS = ("seq", "prev", "hash")
TAIL_READ_BYTES = 1 << 16


class AuditTrailError(Exception):
    """The trail cannot be written or read; the message says what to do."""


class AuditLockTimeout(AuditTrailError):
    """Another run holds the trail's lock for longer than the allowed wait."""


# --------------------------------------------------------------------------------------------------- redaction
# A key is secret when one of its words (split on _ - . and camelCase) is one of these.
SECRET_KEY_WORDS = frozenset({
    "password", "passwd", "pass", "passphrase", "pwd", "secret", "psk", "token", "totp", "otp", "key", "apikey",
    "credential", "credentials", "community", "private", "seed", "cookie", "authorization", "bearer",
})
# Key words that make an otherwise secret-looking key harmless (e.g. `ssh_key_fingerprint`, `key_id`, `psk_var`).
PUBLIC_KEY_WORDS = frozenset({"fingerprint", "id", "var", "name", "file", "path", "type", "length", "bits", "mgmt",
                              "checking", "exchange", "algorithm", "algorithms", "count", "age", "rotated"})
# Secrets inside configuration text and command lines (one regex per syntax we push to devices).
SECRET_TEXT_PATTERNS = tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in (
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?(-----END [A-Z ]*PRIVATE KEY-----)",
    # IOS: username x (privilege n) secret|password [type] VALUE ; enable secret [type] VALUE
    r"(\b(?:enable|username\s+\S+(?:\s+privilege\s+\d+)?)\s+(?:secret|password)\s+(?:\d+\s+)?)(\S+)",
    # IOS SNMPv3: auth sha VALUE priv aes 128 VALUE ; ntp authentication-key n md5 VALUE ; key-string VALUE
    r"(\bauth\s+(?:sha|md5)\S*\s+)(\S+)",
    r"(\bpriv\s+(?:aes|des|3des)(?:\s+\d+)?\s+)(\S+)",
    r"(\bauthentication-key\s+\d+\s+\S+\s+(?:\d+\s+)?)(\S+)",
    r"(\bkey-string\s+(?:\d+\s+)?)(\S+)",
    r"(\bsnmp-server\s+community\s+)(\S+)",
    # RADIUS / TACACS+ server blocks and one-liners: key [0|7] VALUE ; radius-server host x key VALUE
    r"(^\s*key\s+(?:[067]\s+)?)(\S+)",
    r"(\b(?:radius-server|tacacs-server)\s+.*?\bkey\s+(?:[067]\s+)?)(\S+)",
    # C9800: security wpa psk set-key ascii 0 VALUE
    r"(\bset-key\s+\S+\s+\d+\s+)(\S+)",
    # hostapd / wpa_supplicant: sae_password=VALUE, wpa_passphrase=VALUE, wpa_psk=VALUE, *secret=VALUE
    r"(\b(?:sae_password|wpa_passphrase|wpa_psk|[a-z_]*secret|[a-z_]*password)\s*=\s*)([^\s|]+)",
    # OpenWrt UCI: option key 'VALUE' / option password 'VALUE'
    r"(\boption\s+(?:key|password|auth_secret|acct_secret)\s+)('[^']*'|\"[^\"]*\"|\S+)",
    # URLs with credentials, Authorization headers
    r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s]+)(?=@)",
    r"(\bAuthorization:\s*(?:Basic|Bearer)\s+)(\S+)",
))
MIN_SECRET_VALUE_LEN = 4
# Every SECRET_TEXT_PATTERNS match contains one of these words: most strings are skipped with one search.
SECRET_TEXT_HINT = re.compile(r"secret|password|passphrase|psk|auth|priv|key|community|BEGIN|://", re.IGNORECASE)


def _key_words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_secret_key(key: Any) -> bool:
    """True when a mapping key names a secret (`ansible_password`, `vault_wifi_psk`, `totpSecret` …)."""
    if not isinstance(key, str):
        return False
    return _is_secret_key_text(key)


@functools.lru_cache(maxsize=4096)
def _is_secret_key_text(key: str) -> bool:
    """is_secret_key of a string, remembered: a redaction of 10,000 inventory entries asks about the same few dozen
    keys hundreds of thousands of times."""
    words = _key_words(key)
    if not words or words[-1] in PUBLIC_KEY_WORDS:
        return False
    return any(w in SECRET_KEY_WORDS for w in words)


def redact_text(text: str, secret_values: Iterable[str] = ()) -> str:
    """`text` with known secret values and secrets in configuration syntax replaced by ********."""
    return _mask_text(text, _prepare_secrets(secret_values))


def write_redacted(path: str, text: str, secret_values: Iterable[str] = ()) -> str:
    """Write ``text`` with every secret masked (redact_text) to an owner-only file at ``path`` (in a 0700
    directory): configuration backups and evidence the toolkit keeps on the controller never hold a secret."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(redact_text(text, secret_values))
    return path


def _prepare_secrets(secret_values: Iterable) -> tuple[str, ...]:
    """Distinct secrets worth masking, longest first (so a secret containing another is masked whole)."""
    distinct = {str(v) for v in secret_values if v and len(str(v)) >= MIN_SECRET_VALUE_LEN}
    return tuple(sorted(distinct, key=len, reverse=True))


def _mask_text(text: str, secrets: tuple[str, ...]) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    if SECRET_TEXT_HINT.search(text):
        for pattern in SECRET_TEXT_PATTERNS:
            text = pattern.sub(_mask_match, text)
    return text


def _mask_match(match: re.Match) -> str:
    if match.re.pattern.startswith("(-----BEGIN"):
        return f"{match.group(1)}{REDACTED}{match.group(2)}"
    return f"{match.group(1)}{REDACTED}"


def redact(value: Any, secret_values: Iterable[str] = ()) -> Any:
    """A JSON-ready deep copy of `value` with every secret replaced by ********.

    Mapping entries whose key names a secret lose their value (booleans and None are kept: they say whether a
    secret is set, not what it is); strings are scanned for `secret_values` and secrets in configuration syntax.
    """
    return _redact(value, _prepare_secrets(secret_values))


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {str(k): (REDACTED if is_secret_key(k) and not _is_flag(v) else _redact(v, secrets))
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact(v, secrets) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _mask_text(str(value), secrets)


def _is_flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


# ------------------------------------------------------------------------------------------------ records
def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def site_dir(audit_dir: str, site: str) -> str:
    """`<audit_dir>/<site>`; refuses site names that would escape the audit directory."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", site or "") or ".." in site:
        raise AuditTrailError(f"invalid site name {site!r}: use letters, digits, '_', '-', '.'")
    return os.path.join(audit_dir, site)


def trail_path(site_directory: str) -> str:
    return os.path.join(site_directory, TRAIL_FILE)


# ------------------------------------------------------------------------------------------------ writing
class FileLock:
    """Exclusive fcntl lock on `<trail>.lock`, waited for at most `timeout` seconds."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self.fd = -1

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    os.close(self.fd)
                    raise AuditLockTimeout(
                        f"audit trail {self.path} is locked by another run (pid {holder}) for more than "
                        f"{self.timeout:g}s; wait for it to finish") from exc
                time.sleep(0.05)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes) -> None:
    """Replace `path` with `data` (temp file + fsync + rename + fsync of the directory)."""
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path) or ".")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass
class _Tail:
    seq: int = 0
    hash: str = GENESIS_HASH
    torn_offset: int | None = None   # byte offset where a torn (newline-less) last line starts


def _read_tail(fd: int, path: str) -> _Tail:
    """seq/hash of the last complete record, and where a torn last line starts (if any)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return _Tail()
    chunk_start = max(0, size - TAIL_READ_BYTES)
    chunk = os.pread(fd, size - chunk_start, chunk_start)
    while chunk_start > 0 and chunk.count(b"\n") < 2:   # very long last records: read further back
        chunk_start = max(0, chunk_start - TAIL_READ_BYTES)
        chunk = os.pread(fd, size - chunk_start, chunk_start)
    tail = _Tail()
    body = chunk
    if not chunk.endswith(b"\n"):
        cut = chunk.rfind(b"\n")
        tail.torn_offset = chunk_start + cut + 1
        body = chunk[:cut + 1]
    lines = body.rstrip(b"\n").rsplit(b"\n", 1)
    last = lines[-1] if lines and lines[-1] else b""
    if not last:
        return tail
    try:
        record = json.loads(last)
        tail.seq, tail.hash = int(record["seq"]), str(record["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditTrailError(
            f"the last record of {path} is unreadable ({exc}); run `make audit-verify` and repair the trail "
            f"before recording new changes") from exc
    return tail


def _set_torn_aside(fd: int, path: str, offset: int) -> dict:
    """Copy a torn last line to a side file, cut it off the trail, and describe what was moved."""
    size = os.fstat(fd).st_size
    torn = os.pread(fd, size - offset, offset)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = f"{path}.torn-{stamp}"
    write_atomic(aside, torn)
    os.ftruncate(fd, offset)
    os.fsync(fd)
    return {"offset": offset, "length": len(torn), "sha256": hashlib.sha256(torn).hexdigest(),
            "saved_as": os.path.basename(aside)}


def _append_line(fd: int, record: dict, tail: _Tail) -> dict:
    record = dict(record, seq=tail.seq + 1, prev=tail.hash)
    record.setdefault("time", utc_now())
    record["hash"] = record_hash(record)
    _write_all(fd, (canonical_json(record) + "\n").encode("utf-8"))
    os.fsync(fd)
    tail.seq, tail.hash = record["seq"], record["hash"]
    return record


def append(site_directory: str, record: dict, secret_values: Iterable[str] = (),
           lock_timeout: float = 60.0) -> dict:
    """Redact `record`, chain it to the site's trail, fsync it, and return the stored record.

    `record` needs a `kind` (e.g. "change", "firmware", "inventory_snapshot", "package_update"); `seq`, `prev`
    and `hash` are set here. `secret_values` are literal strings to mask wherever they appear.
    """
    return append_many(site_directory, [record], secret_values, lock_timeout)[-1]


def append_many(site_directory: str, records: list[dict], secret_values: Iterable[str] = (),
                lock_timeout: float = 60.0) -> list[dict]:
    """Append several records under one lock and one fsync per record (see `append`)."""
    prepared = [_prepare(r, secret_values) for r in records]
    if not prepared:
        return []
    os.makedirs(site_directory, mode=0o700, exist_ok=True)
    path = trail_path(site_directory)
    stored = []
    with FileLock(path + LOCK_SUFFIX, lock_timeout):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            tail = _read_tail(fd, path)
            if tail.torn_offset is not None:
                moved = _set_torn_aside(fd, path, tail.torn_offset)
                stored.append(_append_line(fd, {"kind": "torn_record", "torn": moved,
                                                "note": "a run was killed while writing; its partial line was "
                                                        "moved aside, unchanged"}, tail))
            for record in prepared:
                stored.append(_append_line(fd, record, tail))
        finally:
            os.close(fd)
        write_atomic(os.path.join(site_directory, HEAD_FILE),
                     canonical_json({"seq": tail.seq, "hash": tail.hash}).encode())
    return stored[-len(prepared):]


def _prepare(record: dict, secret_values: Iterable[str]) -> dict:
    if not isinstance(record, dict) or not record.get("kind"):
        raise AuditTrailError("an audit record is a mapping with a non-empty 'kind'")
    clash = [k for k in RESERVED_FIELDS if k in record]
    if clash:
        raise AuditTrailError(f"audit record fields {clash} are set by the trail itself; remove them")
    return redact(record, secret_values)


# ------------------------------------------------------------------------------------------------ reading
def iter_records(site_directory: str) -> Iterator[dict]:
    """Every complete, parseable record in file order (use `verify` to know whether they can be trusted)."""
    path = trail_path(site_directory)
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue
    except FileNotFoundError:
        return


def read_records(site_directory: str, kind: str | None = None) -> list[dict]:
    return [r for r in iter_records(site_directory) if kind is None or r.get("kind") == kind]


def open_intents(records: Iterable[dict], kind: str, id_field: str, started: str = "started",
                 leaves_open: Callable[[dict], bool] | None = None) -> dict[str, dict]:
    """device -> the `started` intent record of its newest operation of `kind` (firmware_attempt, config_change)
    when no end record of the same `id_field` value closed it (or only ends for which `leaves_open(end)` is true):
    what a killed run left unfinished, for the next run to reconcile before it judges the device."""
    open_by_device: dict[str, dict] = {}
    for record in records:
        if record.get("kind") != kind or not record.get(id_field):
            continue
        if record.get("result") == started:
            open_by_device[record.get("device")] = record
        elif (open_by_device.get(record.get("device"), {}).get(id_field) == record[id_field]
              and not (leaves_open and leaves_open(record))):
            del open_by_device[record.get("device")]
    return open_by_device


@dataclass
class VerifyReport:
    """Result of `verify`; `first_broken` names the first record that fails, `ok` is False when one does."""

    path: str
    ok: bool = True
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    first_broken: dict | None = None          # {"line", "seq", "reason"}
    torn_tail: dict | None = None             # {"line", "offset", "length"}
    recovered_torn_records: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.first_broken:
            b = self.first_broken
            return (f"BROKEN: {self.path}: first broken record is line {b['line']} (seq {b['seq']}): {b['reason']}; "
                    f"the {b['line'] - 1} record(s) before it are intact")
        text = f"OK: {self.path}: {self.records} record(s), chain intact, last seq {self.last_seq}"
        return text + "".join(f"\nWARNING: {w}" for w in self.warnings)


def verify(site_directory: str) -> VerifyReport:
    """Check every record of the site's trail: canonical form, own hash, link to the previous one, sequence."""
    path = trail_path(site_directory)
    report = VerifyReport(path=path)
    if not os.path.exists(path):
        report.warnings.append(f"no audit trail yet at {path}")
        return report
    offset = 0
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, 1):
            if not raw.endswith(b"\n"):
                report.torn_tail = {"line": line_no, "offset": offset, "length": len(raw)}
                report.warnings.append(
                    f"line {line_no} is a torn record ({len(raw)} bytes without newline, a run was killed while "
                    f"writing); it is not part of the chain and the next append moves it aside")
                break
            reason = _check_line(raw, report.last_seq, report.last_hash)
            if reason:
                report.ok = False
                report.first_broken = {"line": line_no, "seq": _seq_of(raw), "reason": reason}
                return report
            record = json.loads(raw)
            report.records += 1
            report.last_seq, report.last_hash = record["seq"], record["hash"]
            if record.get("kind") == "torn_record":
                report.recovered_torn_records.append({"seq": record["seq"], **record.get("torn", {})})
            offset += len(raw)
    _check_head(site_directory, report)
    return report


def _check_line(raw: bytes, prev_seq: int, prev_hash: str) -> str | None:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        return f"not valid JSON ({exc.__class__.__name__}: {exc})"
    if not isinstance(record, dict) or not {"seq", "prev", "hash", "kind"} <= record.keys():
        return "not an audit record (seq/prev/hash/kind missing)"
    if (canonical_json(record) + "\n").encode("utf-8") != raw:
        return "bytes differ from the record's canonical form (the line was edited)"
    if record_hash(record) != record["hash"]:
        return "content does not match its hash (the record was edited)"
    if record["prev"] != prev_hash:
        return "does not chain to the previous record (a record was removed, inserted or reordered)"
    if record["seq"] != prev_seq + 1:
        return f"sequence {record['seq']} follows {prev_seq} (a record was removed or inserted)"
    return None


def _seq_of(raw: bytes) -> int | None:
    match = re.search(rb'"seq":(\d+)', raw)
    return int(match.group(1)) if match else None


def _check_head(site_directory: str, report: VerifyReport) -> None:
    """The head file remembers the last record written: a trail shorter than that was truncated."""
    try:
        with open(os.path.join(site_directory, HEAD_FILE), encoding="utf-8") as handle:
            head = json.load(handle)
    except FileNotFoundError:
        return
    except ValueError:
        report.warnings.append(f"{HEAD_FILE} is unreadable; it is rewritten by the next append")
        return
    if head.get("seq", 0) > report.last_seq:
        report.ok = False
        report.first_broken = {"line": report.records + 1, "seq": report.last_seq + 1,
                               "reason": f"missing: {HEAD_FILE} records seq {head['seq']} but the trail ends at "
                                         f"seq {report.last_seq} (records were cut off the end)"}
    elif head.get("seq") == report.last_seq and head.get("hash") != report.last_hash:
        report.ok = False
        report.first_broken = {"line": report.records, "seq": report.last_seq,
                               "reason": f"the last record differs from the one {HEAD_FILE} remembers"}


# ------------------------------------------------------------------------------------------------ adoption
def adopt_jsonl(site_directory: str, filename: str, kind: str, secret_values: Iterable[str] = ()) -> list[dict]:
    """Chain the lines other tools appended to `<site_dir>/<filename>` (e.g. package-updates.jsonl) since the
    last adoption, one `kind` record each (`source`: file, line, line SHA-256). Idempotent; returns the new records.
    """
    source = os.path.join(site_directory, filename)
    adopted = {r.get("source", {}).get("line") for r in iter_records(site_directory)
               if r.get("kind") == kind and r.get("source", {}).get("file") == filename}
    new = []
    try:
        with open(source, "rb") as handle:
            for line_no, raw in enumerate(handle, 1):
                if line_no in adopted or not raw.endswith(b"\n") or not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    entry = {"unparsed": raw.decode("utf-8", "replace").rstrip("\n")}
                new.append({"kind": kind, "entry": entry,
                            "source": {"file": filename, "line": line_no,
                                       "sha256": hashlib.sha256(raw).hexdigest()}})
    except FileNotFoundError:
        return []
    return append_many(site_directory, new, secret_values) if new else []
