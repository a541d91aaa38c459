# -*- coding: utf-8 -*-
"""What holds each data directory, and whether it is encrypted with AES-256 (checklist PRI-03).

For a directory: the mount that holds it (the longest mount point of /proc/self/mountinfo above its real path;
``findmnt --target`` answers the same), then, in this order:
  gocryptfs  a ``fuse.gocryptfs`` mount: its cipher directory (the mount's source) holds ``gocryptfs.conf``;
             AES-256-GCM is gocryptfs' default (AES-SIV-512, with the ``AESSIV`` flag, is AES-256 too);
             ``XChaCha20Poly1305`` is not AES: a finding.
  fscrypt    the directory has an fscrypt policy (ioctl FS_IOC_GET_ENCRYPTION_POLICY_EX, or the v1 ioctl): the
             contents mode must be AES-256-XTS (mode 1); Adiantum, SM4 or AES-128-CBC are findings.
  dm-crypt   the mount's device is a device-mapper device whose chain (LVM on LUKS included, through
             /sys/block/dm-N/slaves) reaches a ``CRYPT-LUKS1-`` / ``CRYPT-LUKS2-`` mapping: ``cryptsetup luksDump``
             of the LUKS device underneath must say cipher ``aes-xts-plain64`` with a 512-bit key (XTS splits it in
             two AES-256 keys); ``--key-size 256`` (AES-128-XTS) or any other cipher is a finding.
  plain      none of these: a failure naming the directory, the mount point, the filesystem and the device.

Pure parsing functions plus a small Probe (what the host is asked) so the verdicts are testable with recorded
output; nothing here changes anything.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import os
import re
import struct
import subprocess
from collections.abc import Callable

PASS, FAIL, MISSING, UNKNOWN = "pass", "fail", "missing", "unknown"
AES_256_XTS_MODE = 1
FSCRYPT_MODES = {1: "AES-256-XTS", 2: "AES-256-GCM (reserved)", 3: "AES-256-CBC (reserved)", 4: "AES-256-CTS",
                 5: "AES-128-CBC", 6: "AES-128-CTS", 7: "SM4-XTS", 8: "SM4-CTS", 9: "Adiantum", 10: "AES-256-HCTR2"}
FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616   # _IOWR('f', 22, __u8[9])
FS_IOC_GET_ENCRYPTION_POLICY = 0x400C6615      # _IOW('f', 21, struct fscrypt_policy_v1)


@dataclasses.dataclass(frozen=True)
class Mount:
    mount_id: int
    parent_id: int
    major_minor: str
    root: str
    mount_point: str
    fstype: str
    source: str
    options: str


@dataclasses.dataclass
class Verdict:
    name: str                 # data class (recordings ...) or the path
    path: str
    status: str               # pass / fail / missing / unknown
    method: str               # gocryptfs / fscrypt / luks2 / luks1 / dm-crypt / none
    detail: str
    mount_point: str | None = None
    fstype: str | None = None
    source: str | None = None
    cipher: str | None = None
    key_bits: int | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of /proc/self/mountinfo (proc(5)), in order (a later mount on the same point hides earlier)."""
    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            raise ValueError(f"mountinfo: unexpected line {line!r}")
        mounts.append(Mount(int(fields[0]), int(fields[1]), fields[2], _unescape(fields[3]), _unescape(fields[4]),
                            tail[0], _unescape(tail[1]), fields[5]))
    return mounts


def mount_of(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding `path` (a real path): the longest mount point above it, the last one mounted."""
    best = None
    for mount in mounts:
        point = mount.mount_point
        inside = point == "/" or path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best.mount_point)):
            best = mount
    return best


def parse_luks_dump(text: str) -> dict:
    """{version, cipher, key_bits} of `cryptsetup luksDump` output (LUKS1 and LUKS2 layouts)."""
    version = re.search(r"^Version:\s*(\d+)", text, re.M)
    out = {"version": int(version.group(1)) if version else None, "cipher": None, "key_bits": None}
    if out["version"] == 1:
        name = re.search(r"^Cipher name:\s*(\S+)", text, re.M)
        mode = re.search(r"^Cipher mode:\s*(\S+)", text, re.M)
        bits = re.search(r"^MK bits:\s*(\d+)", text, re.M)
        if name and mode:
            out["cipher"] = f"{name.group(1)}-{mode.group(1)}"
        out["key_bits"] = int(bits.group(1)) if bits else None
        return out
    segments = text.split("Data segments:", 1)[-1].split("Keyslots:", 1)[0]
    cipher = re.search(r"^\s+cipher:\s*(\S+)", segments, re.M)
    keyslots = text.split("Keyslots:", 1)[-1].split("Tokens:", 1)[0]
    bits = re.search(r"^\s+Key:\s*(\d+) bits", keyslots, re.M)
    out["cipher"] = cipher.group(1) if cipher else None
    out["key_bits"] = int(bits.group(1)) if bits else None
    return out


def judge_luks(dump: dict) -> tuple[str, str]:
    """AES-256 in XTS mode: cipher aes-xts-* and a 512-bit key (two AES-256 keys)."""
    cipher, bits = dump.get("cipher"), dump.get("key_bits")
    where = f"LUKS{dump.get('version') or '?'} {cipher or 'unknown cipher'}, {bits or '?'}-bit key"
    if cipher is None or bits is None:
        return UNKNOWN, f"{where}: the header does not say (cryptsetup luksDump output not understood)"
    if cipher.startswith("aes-xts-") and bits == 512:
        return PASS, f"{where} (AES-256-XTS)"
    if cipher.startswith("aes-xts-"):
        return FAIL, f"{where}: AES-{bits // 2}-XTS, not AES-256 (re-encrypt with --key-size 512)"
    return FAIL, f"{where}: not AES-256-XTS (use aes-xts-plain64 with --key-size 512)"


def judge_gocryptfs(conf: dict) -> tuple[str, str]:
    flags = set(conf.get("FeatureFlags") or [])
    version = conf.get("Version")
    if "XChaCha20Poly1305" in flags:
        return FAIL, "gocryptfs volume with XChaCha20-Poly1305: not AES-256"
    if version != 2:
        return FAIL, f"gocryptfs on-disk format version {version!r}: re-create the volume (format 2)"
    if "AESSIV" in flags:
        return PASS, "gocryptfs AES-SIV-512 (AES-256)"
    if "GCMIV128" not in flags:
        return FAIL, "gocryptfs volume without GCMIV128 (96-bit GCM IVs, a pre-1.0 format): re-create it"
    return PASS, "gocryptfs AES-256-GCM"


def parse_fscrypt_policy(raw: bytes) -> dict:
    """{version, contents_mode, filenames_mode} of an fscrypt_policy_v1/v2 (linux/fscrypt.h)."""
    version, contents, filenames = struct.unpack_from("BBB", raw, 0)
    return {"version": version, "contents_mode": contents, "filenames_mode": filenames}


def judge_fscrypt(policy: dict) -> tuple[str, str]:
    contents = FSCRYPT_MODES.get(policy["contents_mode"], f"mode {policy['contents_mode']}")
    names = FSCRYPT_MODES.get(policy["filenames_mode"], f"mode {policy['filenames_mode']}")
    what = f"fscrypt policy v{ {0: 1, 2: 2}.get(policy['version'], policy['version']) }: contents {contents}, " \
           f"file names {names}"
    if policy["contents_mode"] == AES_256_XTS_MODE:
        return PASS, what
    return FAIL, f"{what}: contents not AES-256-XTS"


# ------------------------------------------------------------------------------------------------ the host
@dataclasses.dataclass
class Probe:
    """What the host is asked; every piece replaceable in tests."""
    mountinfo: Callable[[], str] = lambda: _read("/proc/self/mountinfo")
    sys_root: str = "/sys"
    dev_root: str = "/dev"
    run: Callable[[list[str]], tuple[int, str, str]] = None  # type: ignore[assignment]
    fscrypt_policy: Callable[[str], bytes | None] = None     # type: ignore[assignment]

    def __post_init__(self):
        if self.run is None:
            self.run = _run
        if self.fscrypt_policy is None:
            self.fscrypt_policy = read_fscrypt_policy


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return handle.read()


def _run(argv: list[str]) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: not installed"
    return proc.returncode, proc.stdout, proc.stderr


def read_fscrypt_policy(path: str) -> bytes | None:
    """The directory's fscrypt policy bytes, or None when it has none (or the filesystem has no fscrypt)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        arg = bytearray(struct.pack("=Q", 24) + bytes(24))
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, arg, True)
            return bytes(arg[8:8 + struct.unpack_from("=Q", arg, 0)[0]])
        except OSError as exc:
            if exc.errno not in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL):
                return None          # ENODATA: not encrypted
        legacy = bytearray(12)
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY, legacy, True)
        except OSError:
            return None
        return bytes(legacy)
    finally:
        os.close(fd)


def dm_chain(major_minor: str, probe: Probe) -> list[tuple[str, str]]:
    """[(dm name, dm uuid) ...] from the mount's device down to the first non-dm device, plus ('', device)."""
    chain: list[tuple[str, str]] = []
    block = _block_name(major_minor, probe)
    seen = set()
    while block and block.startswith("dm-") and block not in seen:
        seen.add(block)
        base = os.path.join(probe.sys_root, "block", block)
        uuid = _read_opt(os.path.join(base, "dm", "uuid"))
        name = _read_opt(os.path.join(base, "dm", "name"))
        chain.append((name or block, uuid or ""))
        slaves = sorted(os.listdir(os.path.join(base, "slaves"))) if os.path.isdir(os.path.join(base, "slaves")) \
            else []
        if uuid.startswith("CRYPT-"):
            chain.append(("", slaves[0] if slaves else ""))
            return chain
        block = slaves[0] if slaves else ""
    return chain


def _block_name(major_minor: str, probe: Probe) -> str:
    link = os.path.join(probe.sys_root, "dev", "block", major_minor)
    try:
        return os.path.basename(os.readlink(link))
    except OSError:
        return ""


def _read_opt(path: str) -> str:
    try:
        return _read(path).strip()
    except OSError:
        return ""


def check_directory(name: str, path: str, probe: Probe, mounts: list[Mount] | None = None) -> Verdict:
    """The verdict for one data directory."""
    if not os.path.isdir(path):
        return Verdict(name, path, MISSING, "none", f"{path} does not exist on this host")
    real = os.path.realpath(path)
    mounts = mounts if mounts is not None else parse_mountinfo(probe.mountinfo())
    mount = mount_of(real, mounts)
    if mount is None:
        return Verdict(name, path, UNKNOWN, "none", f"{path}: no mount found in /proc/self/mountinfo")
    where = dict(mount_point=mount.mount_point, fstype=mount.fstype, source=mount.source)
    if mount.fstype == "fuse.gocryptfs":
        conf_path = os.path.join(mount.source, "gocryptfs.conf")
        try:
            conf = json.loads(_read(conf_path))
        except (OSError, ValueError) as exc:
            return Verdict(name, path, UNKNOWN, "gocryptfs", f"{path} is a gocryptfs mount at {mount.mount_point} "
                           f"but {conf_path} cannot be read ({exc}): the cipher cannot be verified", **where)
        status, detail = judge_gocryptfs(conf)
        cipher = "AES-SIV-512" if "AESSIV" in (conf.get("FeatureFlags") or []) else \
            "XChaCha20-Poly1305" if "XChaCha20Poly1305" in (conf.get("FeatureFlags") or []) else "AES-256-GCM"
        return Verdict(name, path, status, "gocryptfs", f"{path}: {detail} (mount {mount.mount_point}, cipher "
                       f"directory {mount.source})", cipher=cipher, key_bits=256, **where)
    policy = probe.fscrypt_policy(real)
    if policy:
        parsed = parse_fscrypt_policy(policy)
        status, detail = judge_fscrypt(parsed)
        return Verdict(name, path, status, "fscrypt", f"{path}: {detail}", cipher=FSCRYPT_MODES.get(
            parsed["contents_mode"]), key_bits=256 if parsed["contents_mode"] in (1, 4, 10) else None, **where)
    chain = dm_chain(mount.major_minor, probe)
    if chain and chain[-1][0] == "" and len(chain) >= 2:
        crypt_uuid = chain[-2][1]
        device = os.path.join(probe.dev_root, chain[-1][1])
        rc, out, err = probe.run(["cryptsetup", "luksDump", device])
        if rc != 0:
            return Verdict(name, path, UNKNOWN, "dm-crypt", f"{path}: on {crypt_uuid.split('-')[1].lower()} "
                           f"device {device}, but cryptsetup luksDump failed: {err.strip() or rc}", **where)
        dump = parse_luks_dump(out)
        status, detail = judge_luks(dump)
        return Verdict(name, path, status, f"luks{dump.get('version') or ''}",
                       f"{path}: {detail} (mount {mount.mount_point} on {mount.source}, LUKS device {device})",
                       cipher=dump.get("cipher"), key_bits=dump.get("key_bits"), **where)
    return Verdict(name, path, FAIL, "none", f"{path} is stored in plain text: mount {mount.mount_point} "
                   f"({mount.fstype} on {mount.source}) is neither LUKS, fscrypt nor gocryptfs", **where)


def check_luks_device(device: str, probe: Probe | None = None) -> tuple[str, str, dict]:
    """(status, detail, dump) of a LUKS device or image file named directly (the recommended block-level path)."""
    probe = probe or Probe()
    rc, out, err = probe.run(["cryptsetup", "luksDump", device])
    if rc != 0:
        return UNKNOWN, f"{device}: cryptsetup luksDump failed: {err.strip() or rc}", {}
    dump = parse_luks_dump(out)
    status, detail = judge_luks(dump)
    return status, f"{device}: {detail}", dump


def check_directories(directories: list[dict], probe: Probe | None = None) -> list[Verdict]:
    """Each {name, path} judged against one reading of the mount table."""
    probe = probe or Probe()
    mounts = parse_mountinfo(probe.mountinfo())
    return [check_directory(d["name"], d["path"], probe, mounts) for d in directories]
