#!/usr/bin/python3
"""Delete recordings, transcripts and metadata older than the site's retention (aiphone-hardening data_retention).

Reads a JSON config (default /etc/aiphone/retention.json):
    {"classes": [{"name": "recordings", "path": "/srv/aiphone/recordings", "max_age_seconds": 7776000}],
     "overwrite": true, "dry_run": false}

For every regular file whose mtime is older than its class's retention: overwrite it with zeros, fsync, unlink.
Never follows a symlink (symlinks are reported and left alone), never leaves the class directory, never overwrites a
file with other hard links (they could live outside the directory) or on a copy-on-write / log-structured filesystem
where overwriting does not reach the old blocks: those are unlinked and reported. One JSON summary line per class
(count, bytes, oldest kept) goes to stdout, i.e. the journal when run by the systemd service. Exit 1 on any error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import stat
import sys
import time

CONFIG = "/etc/aiphone/retention.json"
# Overwriting in place does not destroy the old data on these (copy-on-write, log-structured, union or network fs).
NO_OVERWRITE_FS = {"btrfs", "zfs", "overlay", "f2fs", "nilfs2", "bcachefs", "aufs", "nfs", "nfs4", "cifs", "fuse"}
CHUNK = 1 << 20


def mount_fstype(path: str, mountinfo: str = "/proc/self/mountinfo") -> str:
    """Filesystem type of the mount holding `path` (longest matching mount point)."""
    best, fstype = "", "unknown"
    real = os.path.realpath(path)
    with open(mountinfo, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            mount_point = fields[4].replace("\\040", " ")
            fs = fields[fields.index("-") + 1]
            inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, fstype = mount_point, fs
    return fstype


def overwrite(fd: int, size: int) -> None:
    zeros = bytes(CHUNK)
    os.lseek(fd, 0, os.SEEK_SET)
    remaining = size
    while remaining > 0:
        remaining -= os.write(fd, zeros[: min(CHUNK, remaining)])
    os.fsync(fd)


def expire_file(dir_fd: int, name: str, overwrite_ok: bool, dry_run: bool) -> str:
    """Delete one file relative to its directory fd; returns how ('overwritten', 'unlinked', 'would delete')."""
    if dry_run:
        return "would delete"
    how = "unlinked"
    if overwrite_ok:
        fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_NONBLOCK, dir_fd=dir_fd)
        try:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                overwrite(fd, info.st_size)
                how = "overwritten"
        finally:
            os.close(fd)
    os.unlink(name, dir_fd=dir_fd)
    return how


def sweep_dir(dir_fd: int, rel: str, cutoff: float, opts: dict, report: dict) -> None:
    """Walk one directory by fd (no path re-resolution, no symlink ever followed)."""
    with os.scandir(dir_fd) as entries:
        for entry in entries:
            shown = os.path.join(rel, entry.name)
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                report["symlinks_skipped"].append(shown)
            elif stat.S_ISDIR(info.st_mode):
                child = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                try:
                    if os.fstat(child).st_dev != report["_dev"]:
                        report["other_fs_skipped"].append(shown)   # a mount point: not ours to sweep
                    else:
                        sweep_dir(child, shown, cutoff, opts, report)
                finally:
                    os.close(child)
            elif not stat.S_ISREG(info.st_mode):
                report["special_skipped"].append(shown)
            elif info.st_mtime < cutoff:
                try:
                    how = expire_file(dir_fd, entry.name, opts["overwrite_ok"] and info.st_nlink == 1,
                                      opts["dry_run"])
                except OSError as exc:
                    report["errors"].append(f"{shown}: {exc.strerror}")
                    continue
                report["deleted"] += 1
                report["bytes"] += info.st_size
                report["methods"][how] = report["methods"].get(how, 0) + 1
                if info.st_nlink > 1:
                    report["hardlinked_not_overwritten"].append(shown)
            elif report["_oldest"] is None or info.st_mtime < report["_oldest"]:
                report["_oldest"] = info.st_mtime


def sweep_class(cls: dict, now: float, overwrite_wanted: bool, dry_run: bool) -> dict:
    path = cls["path"]
    report = {"class": cls["name"], "path": path, "retention_days": cls["max_age_seconds"] / 86400,
              "dry_run": dry_run, "deleted": 0, "bytes": 0, "oldest_kept": None, "methods": {},
              "overwrite": "off", "symlinks_skipped": [], "other_fs_skipped": [], "special_skipped": [],
              "hardlinked_not_overwritten": [], "errors": [], "_oldest": None}
    try:
        root = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        report["errors"].append(f"{path}: missing")
        return report
    except OSError as exc:
        report["errors"].append(f"{path}: {exc.strerror} (a symlink as data directory is refused)")
        return report
    try:
        fstype = mount_fstype(path)
        overwrite_ok = overwrite_wanted and fstype not in NO_OVERWRITE_FS
        if overwrite_wanted:
            report["overwrite"] = "on" if overwrite_ok else f"not effective on {fstype}: files unlinked only"
        report["_dev"] = os.fstat(root).st_dev
        sweep_dir(root, path, now - cls["max_age_seconds"], {"overwrite_ok": overwrite_ok, "dry_run": dry_run},
                  report)
    finally:
        os.close(root)
    if report["_oldest"] is not None:
        report["oldest_kept"] = dt.datetime.fromtimestamp(report["_oldest"], dt.timezone.utc).isoformat()  # noqa: UP017 (runs on python 3.10 hosts)
    del report["_oldest"], report["_dev"]
    return report


def load_config(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    for cls in config.get("classes", []):
        if not os.path.isabs(cls.get("path", "")) or int(cls.get("max_age_seconds", 0)) < 86400:
            raise ValueError(f"class {cls!r}: needs an absolute path and max_age_seconds >= 86400 (one day)")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": f"cannot read {args.config}: {exc}"}), flush=True)
        return 2
    dry_run = args.dry_run or bool(config.get("dry_run", False))
    now = time.time()
    failed = False
    for cls in config.get("classes", []):
        report = sweep_class(cls, now, bool(config.get("overwrite", True)), dry_run)
        failed = failed or bool(report["errors"])
        print("aiphone-retention " + json.dumps(report, sort_keys=True), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
