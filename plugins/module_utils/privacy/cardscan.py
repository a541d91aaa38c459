# -*- coding: utf-8 -*-
"""Find payment card numbers (PANs) and US social security numbers in stored text; optionally mask them in place.

Pure Python (standard library only), so the same file serves the ``card_scan`` module and, copied to a host as
``/usr/local/sbin/aiphone-cardscan``, the systemd timer of the ``data_encryption`` role (``python3 cardscan.py -h``).

What is found (checklist MIN-01 / MIN-02; PCI DSS 3.3/3.4: no full PAN stored, masking keeps at most the last four):
  card  13-19 digits passing the Luhn check, first digit 2-6 (the major industry identifiers of the card networks:
        Visa 4, Mastercard 2/5, Amex/Diners/JCB 3, Discover/UnionPay/Maestro 6), written plain (4111111111111111),
        in groups (4111 1111 1111 1111, 4111-1111-1111-1111, 3782 822463 10005) or as a speech-to-text engine writes
        a caller reading it out: spoken digits ("four one one one ..."), "oh"/"zero"/"nought" for 0, and "double
        four" / "triple one" (how people in the UK, India and Australia read repeated digits - a transcript
        keeps the words). Digits and words mix ("four one 11 ...").
        Not a card: a run glued to letters (ORD4111...), one preceded by "+" (an E.164 phone number), a single digit
        group longer than 19 (an order or tracking number), and a number introduced by a word naming another
        identifier (order, tracking, invoice, confirmation, reference, ticket, serial, IMEI: IMEIs are Luhn-valid by
        design) within the CONTEXT bytes before it.
        For each card: whether an expiry date (MM/YY, "exp", "valid thru") or a CVV ("cvv", "cvc", "security code")
        is written within CONTEXT bytes of it.
  ssn   AAA-GG-SSSS / AAA GG SSSS with the SSA's valid ranges (area not 000, 666 or 9xx; group not 00; serial not
        0000), or any 9 digits (plain or spoken) introduced by "SSN" / "social security" / "social".

Never the value: a finding is (kind, byte offset, length, brand, flags). The scan streams each file through a
bounded buffer (CHUNK bytes plus at most one run of digits, whatever the file size; a run is at most 64 tokens), can
stop after a byte or time budget and resume from a state file (per file: identity, offset reached, counts so far).
Masking rewrites a file only when it holds a finding, atomically (temporary file in the same directory, fsync,
rename, fsync of the directory; owner, mode and extended attributes - POSIX ACLs - kept), refusing hard-linked files
and files that changed while being read; what it writes is never found again, so masking twice changes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

CHUNK = 1 << 20           # bytes read at a time
CONTEXT = 48              # bytes around a number searched for keywords (suppressing words, expiry, CVV, SSN)
BINARY_PROBE = 8192       # a file whose first bytes hold a NUL is binary (audio) and skipped
MAX_FINDINGS_KEPT = 100   # per file; the counts stay exact
STATE_VERSION = 1

_WORD_DIGITS = {b"zero": "0", b"oh": "0", b"nought": "0", b"one": "1", b"two": "2", b"three": "3", b"four": "4",
                b"five": "5", b"six": "6", b"seven": "7", b"eight": "8", b"nine": "9"}
_WORDS = b"|".join(sorted(_WORD_DIGITS, key=len, reverse=True))
_TOKEN = rb"(?:\d{1,64}(?!\d)|(?:(?:double|triple)[ \t-]+)?(?:" + _WORDS + rb"))"
# Between two tokens: up to three spaces, commas or dashes, or one dot not ending a sentence (4111.1111...).
_SEP = rb"(?:[ \t\r\n,\-]{1,3}|\.(?![ \t\r\n]))"
# A run of digit tokens: bounded by non-alphanumerics on both sides.
RUN_RE = re.compile(rb"(?<![A-Za-z0-9])" + _TOKEN + rb"(?:" + _SEP + _TOKEN + rb"){0,63}(?![A-Za-z0-9])")
TOKEN_RE = re.compile(rb"(\d+)|(?:(double|triple)[ \t-]+)?(" + _WORDS + rb")")
# A word naming another identifier right before a number ("order number: ", "IMEI is "), not across a sentence end.
_NAMED = rb"(?:[ \t]*(?:no\.?|number|num\.?|nr\.?|id|#))?(?:[ \t]+(?:is|was))?[ \t:#=-]*$"
SUPPRESS_RE = re.compile(rb"\b(?:order|tracking|invoice|confirmation|conf|reference|ref|ticket|serial|imei|iccid|case|"
                         rb"claim|policy)" + _NAMED)
SSN_KEY_RE = re.compile(rb"\b(?:ssn|social security|social)" + _NAMED)
EXPIRY_RE = re.compile(rb"(?<!\d)(0?[1-9]|1[0-2]) ?[/-] ?(\d{2}|20\d{2})(?!\d)|\bexp(?:iry|ires|iration|\.)?\b|"
                       rb"\b(?:valid|good) (?:thru|through)\b")
CVV_RE = re.compile(rb"\b(?:cvv2?|cvc2?|cid|csc|security code|card verification)\b")

CARD, SSN = "card", "ssn"
_LUHN_DOUBLE = tuple((2 * d) - 9 if d > 4 else 2 * d for d in range(10))


def luhn_valid(digits: str) -> bool:
    total = 0
    for pos, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        total += _LUHN_DOUBLE[d] if pos % 2 else d
    return total % 10 == 0


def brand(digits: str) -> str:
    """The card network by its IIN prefix (reported: it is not secret, it helps find the system that leaked it)."""
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if digits.startswith("6011") or two == 65 or 644 <= int(digits[:3]) <= 649:
        return "discover"
    if 3528 <= four <= 3589:
        return "jcb"
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return "diners"
    if two == 62:
        return "unionpay"
    return "other"


class Token(NamedTuple):
    start: int        # offsets relative to the buffer
    end: int
    digits: str
    spoken: bool


@dataclasses.dataclass
class Finding:
    kind: str                 # card / ssn
    offset: int               # byte offset in the file
    length: int               # bytes of the written number
    brand: str | None = None
    expiry_nearby: bool = False
    cvv_nearby: bool = False

    def public(self) -> dict:
        """What may be reported: never the digits."""
        out = {"kind": self.kind, "offset": self.offset, "length": self.length}
        if self.kind == CARD:
            out.update(brand=self.brand, expiry_nearby=self.expiry_nearby, cvv_nearby=self.cvv_nearby)
        return out


@dataclasses.dataclass
class _Hit:
    finding: Finding
    start: int                # buffer offsets of the written number
    end: int
    replacement: bytes


def _tokens(buf: bytes, start: int, end: int) -> list[Token]:
    out = []
    for match in TOKEN_RE.finditer(buf, start, end):
        if match.group(1):
            out.append(Token(match.start(), match.end(), match.group(1).decode("ascii"), False))
        else:
            digit = _WORD_DIGITS[match.group(3)]
            times = {b"double": 2, b"triple": 3}.get(match.group(2) or b"", 1)
            out.append(Token(match.start(), match.end(), digit * times, True))
    return out


def _mask(buf: bytes, tokens: list[Token]) -> bytes:
    """The written number with every digit but the last four replaced by X.

    Digits written as digits keep their layout (XXXX XXXX XXXX 1111); a number with spoken words becomes
    X...X1111 (the words carry no layout worth keeping). Neither is a run of 13 digits, nor 9 after a keyword."""
    digits = "".join(t.digits for t in tokens)
    if any(t.spoken for t in tokens):
        return b"X" * (len(digits) - 4) + digits[-4:].encode("ascii")
    span = bytearray(buf[tokens[0].start:tokens[-1].end])
    keep, pos = 4, len(span) - 1
    while pos >= 0:
        if 48 <= span[pos] <= 57:
            if keep:
                keep -= 1
            else:
                span[pos] = 88  # X
        pos -= 1
    return bytes(span)


def _ssn_groups(buf: bytes, tokens: list[Token]) -> bool:
    if len(tokens) != 3 or any(t.spoken for t in tokens) or [len(t.digits) for t in tokens] != [3, 2, 4]:
        return False
    seps = (buf[tokens[0].end:tokens[1].start], buf[tokens[1].end:tokens[2].start])
    if seps[0] != seps[1] or seps[0] not in (b"-", b" "):
        return False
    area, group, serial = (t.digits for t in tokens)
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_in_run(buf: bytes, run_start: int, run_end: int, base: int) -> list[_Hit]:
    """Cards and SSNs in one run of digit tokens of `buf`; `base` is the file offset of buf[0].

    Which digits of a run make a card number (the rules that keep near misses out):
      - the whole run, when it has 13-19 digits and passes (the usual case: a number read or typed on its own);
      - otherwise a prefix of the run followed by at most 7 more digits (an expiry, a CVV) or by more card numbers,
        or a suffix preceded by at most 3 digits ("press 1"). A cut inside a run of 13-19 digits is allowed only
        between two groups of several digits (4111 1111 1111 1111 123): spoken digits have no groups, and a
        misheard digit must not turn 13 of 16 spoken digits into a "card".
    A run introduced by a word naming another identifier (order, IMEI ...) or by "+" (a phone number of at most
    15 digits, E.164) holds no card."""
    context = buf[max(0, run_start - CONTEXT):run_start]
    tokens = _tokens(buf, run_start, run_end)
    digits = sum(len(t.digits) for t in tokens)
    if digits < 9:
        return []
    suppressed = bool(SUPPRESS_RE.search(context)) or (
        digits <= 15 and context.rstrip(b" ").endswith(b"+"))
    cards = [] if suppressed else _cards(tokens, digits)
    hits = []
    for i, j in cards:
        start, end = tokens[i].start, tokens[j].end
        number = "".join(t.digits for t in tokens[i:j + 1])
        around = buf[max(0, start - CONTEXT):start] + b" " + buf[end:end + CONTEXT]
        finding = Finding(CARD, base + start, end - start, brand(number), bool(EXPIRY_RE.search(around)),
                          bool(CVV_RE.search(around)))
        hits.append(_Hit(finding, start, end, _mask(buf, tokens[i:j + 1])))
    return hits + _ssns(buf, tokens, hits, base)


def _is_card(tokens: list[Token]) -> bool:
    number = "".join(t.digits for t in tokens)
    return 13 <= len(number) <= 19 and "2" <= number[0] <= "6" and luhn_valid(number)


def _cards(tokens: list[Token], digits: int | None = None, offset: int = 0) -> list[tuple[int, int]]:
    """(first, last) token indexes (offset added) of the card numbers in `tokens`, by the rules of find_in_run."""
    if not tokens:
        return []
    if digits is None:
        digits = sum(len(t.digits) for t in tokens)
    last = len(tokens) - 1
    if 13 <= digits <= 19 and _is_card(tokens):
        return [(offset, offset + last)]
    short = digits <= 19

    def cut_ok(k: int) -> bool:   # a cut between tokens k and k+1
        return not short or (len(tokens[k].digits) > 1 and len(tokens[k + 1].digits) > 1)

    # prefixes, longest first
    total, ends = 0, []
    for j in range(last):
        total += len(tokens[j].digits)
        if total > 19:
            break
        if total >= 13 and cut_ok(j):
            ends.append((j, total))
    for j, total in reversed(ends):
        if _is_card(tokens[:j + 1]):
            rest = _cards(tokens[j + 1:], digits - total, offset + j + 1)
            if digits - total <= 7 or rest:
                return [(offset, offset + j)] + rest
    # suffixes after at most 3 digits
    total = 0
    for i in range(1, last + 1):
        total += len(tokens[i - 1].digits)
        if total > 3:
            break
        if cut_ok(i - 1) and _is_card(tokens[i:]):
            return [(offset + i, offset + last)]
    return []


def _ssns(buf: bytes, tokens: list[Token], cards: list[_Hit], base: int) -> list[_Hit]:
    taken = [(h.start, h.end) for h in cards]
    free = [t for t in tokens if not any(s <= t.start < e for s, e in taken)]
    hits = []
    for i in range(len(free)):
        window = free[i:i + 3]
        if _ssn_groups(buf, window) and not any(h.start <= window[0].start < h.end for h in hits):
            hits.append(_Hit(Finding(SSN, base + window[0].start, window[-1].end - window[0].start),
                             window[0].start, window[-1].end, _mask(buf, window)))
    if not hits and free and len("".join(t.digits for t in free)) == 9 and len(free) == len(tokens) \
            and SSN_KEY_RE.search(buf[max(0, free[0].start - CONTEXT):free[0].start]):
        hits.append(_Hit(Finding(SSN, base + free[0].start, free[-1].end - free[0].start),
                         free[0].start, free[-1].end, _mask(buf, free)))
    return hits


# ------------------------------------------------------------------------------------------------ streaming
@dataclasses.dataclass
class FileResult:
    path: str
    cards: int = 0
    ssns: int = 0
    cards_with_expiry: int = 0
    cards_with_cvv: int = 0
    bytes_scanned: int = 0
    offset: int = 0            # where a resumed scan goes on (bytes fully decided)
    complete: bool = False
    findings: list[dict] = dataclasses.field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding.kind == CARD:
            self.cards += 1
            self.cards_with_expiry += finding.expiry_nearby
            self.cards_with_cvv += finding.cvv_nearby
        else:
            self.ssns += 1
        if len(self.findings) < MAX_FINDINGS_KEPT:
            self.findings.append(finding.public())

    @property
    def total(self) -> int:
        return self.cards + self.ssns


def scan_stream(read: Callable[[int], bytes], result: FileResult, start: int = 0,
                write: Callable[[bytes], object] | None = None, chunk: int = CHUNK,
                budget: Callable[[int], bool] | None = None, skip_before: int = 0) -> FileResult:
    """Scan what `read(n)` returns (positioned at file offset `start`) into `result`.

    With `write`, the text goes out again with every finding masked (and nothing else changed). `budget(n)` is asked
    after each chunk with the bytes read so far; False stops the scan at a safe offset (result.complete False).
    Numbers starting before `skip_before` were counted by an earlier, interrupted run (the bytes between `start`
    and it are read again only as context).

    The buffer holds one chunk plus what is carried over: a run of digits that may go on in the next chunk (at
    most MAX_RUN bytes: RUN_RE matches at most 64 tokens) and CONTEXT bytes before it."""
    carry, base = b"", start                   # buf[0] is at file offset `base`
    decided = max(start, skip_before)          # runs starting before `decided` are done (and written out)
    while True:
        data = read(chunk)
        eof = not data
        buf = carry + data
        limit = len(buf) if eof else max(len(buf) - CONTEXT, 0)
        next_decided = base + limit
        out_pos = decided - base
        low = buf.lower()                        # ASCII only: same length, same offsets; the patterns are lower-case
        for match in RUN_RE.finditer(low, max(decided - base - 1, 0)):
            if base + match.start() < decided:
                continue
            if match.end() > limit:              # may go on in the next chunk, or lacks the context after it
                next_decided = base + match.start()
                break
            if match.end() - match.start() < 9:  # fewer than 9 digits: neither a card nor an SSN
                continue
            for hit in find_in_run(low, match.start(), match.end(), base):
                result.add(hit.finding)
                if write is not None:
                    write(buf[out_pos:hit.start])
                    write(hit.replacement)
                    out_pos = hit.end
        if write is not None:
            write(buf[out_pos:next_decided - base])
        result.bytes_scanned += len(data)
        decided = result.offset = next_decided
        if eof:
            result.complete = True
            return result
        keep_from = max(decided - base - CONTEXT, 0)
        carry, base = buf[keep_from:], base + keep_from
        if budget is not None and not budget(result.bytes_scanned):
            return result


# ------------------------------------------------------------------------------------------------ files
class ScanError(Exception):
    """A file could not be scanned or masked; the message names it."""


@dataclasses.dataclass
class Options:
    roots: list[str]
    state_file: str | None = None
    mask: bool = False
    dry_run: bool = False
    audit_log: str | None = None
    max_bytes: int | None = None
    max_seconds: float | None = None
    exclude: tuple[str, ...] = ()
    chunk: int = CHUNK


def iter_files(roots: Iterable[str], exclude: Iterable[str] = ()) -> Iterator[str]:
    """Regular files under the roots, sorted, never following symbolic links."""
    excluded = tuple(exclude)
    for root in roots:
        if os.path.isfile(root) and not os.path.islink(root):
            yield root
            continue
        for directory, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                if any(re.fullmatch(pattern, name) for pattern in excluded):
                    continue
                if not os.path.islink(path) and os.path.isfile(path):
                    yield path


def _identity(st: os.stat_result) -> dict:
    return {"dev": st.st_dev, "ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def load_state(path: str | None) -> dict:
    if not path or not os.path.exists(path):
        return {"version": STATE_VERSION, "files": {}}
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ScanError(f"{path}: unreadable scan state ({exc}); delete it to start over") from exc
    if state.get("version") != STATE_VERSION or not isinstance(state.get("files"), dict):
        raise ScanError(f"{path}: scan state of another version; delete it to start over")
    return state


def save_state(path: str | None, state: dict) -> None:
    if not path:
        return
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    _replace_atomic(path, json.dumps(state, sort_keys=True).encode("utf-8"), 0o600)


def _replace_atomic(path: str, data: bytes, mode: int) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path) or ".")


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_binary(fd: int) -> bool:
    head = os.pread(fd, BINARY_PROBE, 0)
    return b"\0" in head


def scan_file(path: str, resume_at: int = 0, chunk: int = CHUNK,
              budget: Callable[[int], bool] | None = None) -> FileResult | None:
    """Scan one file read-only (None: binary, skipped)."""
    fd = _open_regular(path)
    try:
        if _is_binary(fd):
            return None
        start = max(resume_at - CONTEXT, 0)
        os.lseek(fd, start, os.SEEK_SET)
        return scan_stream(lambda n: os.read(fd, n), FileResult(path), start, None, chunk, budget, resume_at)
    finally:
        os.close(fd)


def _open_regular(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError as exc:
        raise ScanError(f"{path}: cannot open ({exc.strerror})") from exc
    if not os.path.stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ScanError(f"{path}: not a regular file")
    return fd


def mask_file(path: str, dry_run: bool = False, chunk: int = CHUNK) -> FileResult | None:
    """Mask every finding of `path` in place, atomically; returns what was found (None: binary, skipped).

    The new content goes to a temporary file in the same directory (same owner, mode and extended attributes),
    is fsync'd and renamed over the file only if the file did not change meanwhile; a file without findings, or a
    dry run, leaves nothing behind."""
    fd = _open_regular(path)
    tmp = None
    try:
        if _is_binary(fd):
            return None
        before = os.fstat(fd)
        probe = scan_stream(lambda n: os.read(fd, n), FileResult(path), 0, None, chunk)
        if probe.total == 0 or dry_run:
            return probe
        if before.st_nlink > 1:
            raise ScanError(f"{path}: {probe.total} finding(s) not masked: the file has {before.st_nlink} hard "
                            "links (the other names would keep the numbers)")
        directory, name = os.path.split(path)
        tmp = os.path.join(directory, f".{name}.cardmask.{os.getpid()}")
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchown(out, before.st_uid, before.st_gid)
            _copy_xattrs(fd, out)
            os.fchmod(out, os.path.stat.S_IMODE(before.st_mode))
            os.lseek(fd, 0, os.SEEK_SET)
            result = scan_stream(lambda n: os.read(fd, n), FileResult(path), 0,
                                 lambda data: _write_all(out, data), chunk)
            os.fsync(out)
        finally:
            os.close(out)
        now = os.stat(path, follow_symlinks=False)
        if _identity(now) != _identity(before) or now.st_ctime_ns != before.st_ctime_ns:
            raise ScanError(f"{path}: changed while being masked; left as it was (run again)")
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(directory or ".")
        return result
    finally:
        os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_xattrs(src: int, dst: int) -> None:
    """Extended attributes (system.posix_acl_access: the ACLs access_roles sets) onto the replacement file."""
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for attr in names:
        try:
            os.setxattr(dst, attr, os.getxattr(src, attr))
        except OSError as exc:
            raise ScanError(f"cannot copy extended attribute {attr} to the masked file ({exc.strerror})") from exc


def append_audit(path: str, record: dict) -> None:
    """One JSON line per file changed, appended with O_APPEND and fsync'd (no digits in it)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o750, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
    try:
        _write_all(fd, (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def run(options: Options, now: Callable[[], float] = time.monotonic) -> dict:
    """Scan (and mask) every file under options.roots, resuming from options.state_file; the report (no values)."""
    state = load_state(options.state_file)
    known = state["files"]
    started, read_total = now(), [0]
    files_out, errors, changed, skipped_binary = [], [], [], 0
    totals = {"files": 0, "files_skipped_unchanged": 0, "bytes_scanned": 0, "cards": 0, "ssns": 0,
              "cards_with_expiry": 0, "cards_with_cvv": 0}
    complete = True

    def budget(done_in_file: int) -> bool:
        spent = read_total[0] + done_in_file
        return not ((options.max_bytes is not None and spent >= options.max_bytes)
                    or (options.max_seconds is not None and now() - started >= options.max_seconds))

    seen = set()
    for path in iter_files(options.roots, options.exclude):
        seen.add(path)
        if not budget(0):
            complete = False
            break
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError as exc:
            errors.append(f"{reported_path(path)}: {exc.strerror}")
            continue
        identity = _identity(st)
        entry = known.get(path)
        same = entry is not None and entry.get("identity") == identity
        if same and entry.get("complete") and not (options.mask and entry.get("total", 0) and not options.dry_run):
            totals["files_skipped_unchanged"] += 1
            _add_totals(totals, entry)
            if entry.get("total"):
                files_out.append(_file_report(path, entry))
            continue
        try:
            if options.mask:
                result = mask_file(path, options.dry_run, options.chunk)
            else:
                resume_at = entry.get("offset", 0) if same and not entry.get("complete") else 0
                result = scan_file(path, resume_at, options.chunk, budget)
                if result is not None and resume_at:
                    result = _merge(entry, result)
        except ScanError as exc:
            errors.append(mask_text(str(exc)))
            continue
        if result is None:
            skipped_binary += 1
            known.pop(path, None)
            continue
        totals["files"] += 1
        read_total[0] += result.bytes_scanned
        totals["bytes_scanned"] += result.bytes_scanned
        changed_now = options.mask and not options.dry_run and result.total > 0
        if changed_now:
            record = {"kind": "card_mask", "path": reported_path(path), "cards": result.cards, "ssns": result.ssns,
                      "offsets": [f["offset"] for f in result.findings], "at": _utc_now()}
            changed.append(record)
            if options.audit_log:
                append_audit(options.audit_log, record)
            st = os.stat(path, follow_symlinks=False)
            identity = _identity(st)
        entry = {"identity": identity, "offset": result.offset, "complete": result.complete,
                 "cards": 0 if changed_now else result.cards, "ssns": 0 if changed_now else result.ssns,
                 "cards_with_expiry": 0 if changed_now else result.cards_with_expiry,
                 "cards_with_cvv": 0 if changed_now else result.cards_with_cvv,
                 "findings": [] if changed_now else result.findings}
        entry["total"] = entry["cards"] + entry["ssns"]
        known[path] = entry
        _add_totals(totals, dict(entry, cards=result.cards, ssns=result.ssns,
                                 cards_with_expiry=result.cards_with_expiry, cards_with_cvv=result.cards_with_cvv))
        if result.total:
            files_out.append(_file_report(path, dict(entry, cards=result.cards, ssns=result.ssns,
                                                     findings=result.findings)))
        if not result.complete:
            complete = False
            save_state(options.state_file, state)
            break
        save_state(options.state_file, state)
    if complete:
        for path in [p for p in known if p not in seen]:
            del known[path]   # deleted since the last run
        save_state(options.state_file, state)
    return {"complete": complete, "totals": totals, "files_with_findings": files_out, "changed": changed,
            "errors": errors, "skipped_binary": skipped_binary, "roots": list(options.roots),
            "masked": options.mask and not options.dry_run}


def _merge(entry: dict, result: FileResult) -> FileResult:
    merged = FileResult(result.path, entry.get("cards", 0) + result.cards, entry.get("ssns", 0) + result.ssns,
                        entry.get("cards_with_expiry", 0) + result.cards_with_expiry,
                        entry.get("cards_with_cvv", 0) + result.cards_with_cvv, result.bytes_scanned,
                        result.offset, result.complete,
                        (entry.get("findings", []) + result.findings)[:MAX_FINDINGS_KEPT])
    return merged


def _add_totals(totals: dict, entry: dict) -> None:
    for key in ("cards", "ssns", "cards_with_expiry", "cards_with_cvv"):
        totals[key] += entry.get(key, 0)


def mask_text(text: str) -> str:
    """`text` with any card number or SSN in it masked (file names can hold one too: call-4111111111111111.txt)."""
    out: list[bytes] = []
    data = text.encode("utf-8", "surrogateescape")
    chunks = iter([data])
    scan_stream(lambda n: next(chunks, b""), FileResult("text"), 0, out.append)
    return b"".join(out).decode("utf-8", "surrogateescape")


def reported_path(path: str) -> str:
    return mask_text(path)


def _file_report(path: str, entry: dict) -> dict:
    return {"path": reported_path(path), "cards": entry.get("cards", 0), "ssns": entry.get("ssns", 0),
            "findings": entry.get("findings", [])}


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Find (and optionally mask) card numbers and SSNs in stored data "
                                                 "(counts and offsets only, never the values).")
    parser.add_argument("roots", nargs="+", help="directories or files to scan")
    parser.add_argument("--state", help="state file: resume an interrupted scan, skip unchanged files")
    parser.add_argument("--report", help="write the JSON report here (atomically, mode 0640)")
    parser.add_argument("--mask", action="store_true", help="mask findings to the last four digits, in place")
    parser.add_argument("--dry-run", action="store_true", help="with --mask: say what would change, change nothing")
    parser.add_argument("--audit-log", help="JSON-lines file: one record per file masked")
    parser.add_argument("--max-bytes", type=int, help="stop after reading this many bytes (resume next time)")
    parser.add_argument("--max-seconds", type=float, help="stop after this many seconds (resume next time)")
    parser.add_argument("--exclude", action="append", default=[], help="file name regex to skip (repeatable)")
    parser.add_argument("--fail-on-findings", action="store_true", help="exit 3 when anything is found")
    args = parser.parse_args(argv)
    try:
        report = run(Options(args.roots, args.state, args.mask, args.dry_run, args.audit_log, args.max_bytes,
                             args.max_seconds, tuple(args.exclude)))
    except ScanError as exc:
        print(f"aiphone-cardscan: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1, sort_keys=True)
    if args.report:
        _replace_atomic(args.report, (text + "\n").encode("utf-8"), 0o640)
    totals = report["totals"]
    print(f"aiphone-cardscan: {totals['files']} file(s) scanned ({totals['bytes_scanned']} bytes), "
          f"{totals['cards']} card number(s), {totals['ssns']} SSN(s) in {len(report['files_with_findings'])} "
          f"file(s); {len(report['changed'])} masked; {len(report['errors'])} error(s)"
          + ("" if report["complete"] else "; stopped by the budget (resumes next run)"))
    for error in report["errors"]:
        print(f"aiphone-cardscan: {error}", file=sys.stderr)
    if report["errors"]:
        return 2
    return 3 if args.fail_on_findings and (totals["cards"] or totals["ssns"]) else 0


if __name__ == "__main__":
    sys.exit(main())
