# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""POSIX access ACLs of the files already inside a data directory, read and written through file descriptors.

A directory's default ACL only reaches files created after it was set: the recordings already on disk keep whatever
access they had. `align_tree` walks a data directory without following symbolic links (`os.fwalk`, every entry
opened with O_NOFOLLOW relative to its parent's descriptor, so a link planted by a user cannot redirect a change to
/etc/shadow) and gives every file and sub-directory exactly the named entries of the directory's access table:
- sub-directories: the directory's own access ACL and default ACL;
- regular files: the named entries without execute (unless the owner may execute the file), group and other never
  wider than the directory's mode allows, the owner's permissions kept;
- anything else (symbolic links, sockets, FIFOs, devices) is left alone and counted.

The kernel's `system.posix_acl_access` / `system.posix_acl_default` extended attributes are used directly (version 2,
then little-endian tag/perm/id entries, as in linux/posix_acl_xattr.h): one system call per file, no process per file.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass, field

ACCESS, DEFAULT = "system.posix_acl_access", "system.posix_acl_default"
VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED_ID = 0xFFFFFFFF
_HEADER, _ENTRY = struct.Struct("<I"), struct.Struct("<HHI")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOATIME", 0)

Entry = tuple[int, int, int]   # (tag, perm bits 0-7, id)


def decode(blob: bytes) -> list[Entry]:
    (version,) = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise ValueError(f"unknown POSIX ACL xattr version {version}")
    return sorted(_ENTRY.iter_unpack(blob[_HEADER.size:]))


def encode(entries: list[Entry]) -> bytes:
    return _HEADER.pack(VERSION) + b"".join(_ENTRY.pack(*entry) for entry in sorted(entries))


def from_mode(mode: int) -> list[Entry]:
    return [(USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID), (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
            (OTHER, mode & 7, UNDEFINED_ID)]


def build(user_obj: int, group_obj: int, other: int, named: list[Entry]) -> list[Entry]:
    """A valid access ACL: the mask is the union of the group class (group owner and named entries)."""
    entries = [(USER_OBJ, user_obj, UNDEFINED_ID), (GROUP_OBJ, group_obj, UNDEFINED_ID),
               (OTHER, other, UNDEFINED_ID), *named]
    if named:
        mask = group_obj
        for _tag, perm, _id in named:
            mask |= perm
        entries.append((MASK, mask, UNDEFINED_ID))
    return sorted(entries)


def read(fd: int, name: str = ACCESS) -> list[Entry]:
    """The ACL of an open file; the access ACL of a file without one is its mode, a missing default ACL is []."""
    try:
        return decode(os.getxattr(fd, name))
    except OSError as error:
        if error.errno not in (errno.ENODATA, errno.ENOTSUP):
            raise
    return from_mode(os.fstat(fd).st_mode) if name == ACCESS else []


def write(fd: int, entries: list[Entry], name: str = ACCESS) -> None:
    if name == DEFAULT and not entries:
        try:
            os.removexattr(fd, DEFAULT)
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
        return
    os.setxattr(fd, name, encode(entries))


@dataclass
class TreeReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # symbolic links and special files, left alone


def _wanted_for_file(fd: int, status: os.stat_result, dir_access: list[Entry]) -> list[Entry]:
    # The owning group's own bits live in the ACL (with a mask, the mode's group bits are the mask).
    have = {tag: perm for tag, perm, _id in read(fd) if tag in (USER_OBJ, GROUP_OBJ, OTHER)}
    limit = {tag: perm for tag, perm, _id in dir_access if tag in (GROUP_OBJ, OTHER)}
    executable = bool(status.st_mode & stat.S_IXUSR)
    named = [(tag, perm if executable else perm & 6, ident) for tag, perm, ident in dir_access if tag in (USER, GROUP)]
    return build(have[USER_OBJ], have[GROUP_OBJ] & limit[GROUP_OBJ], have[OTHER] & limit[OTHER], named)


def _align(fd: int, wanted: dict[str, list[Entry]], dry_run: bool) -> bool:
    differs = {name: entries for name, entries in wanted.items() if read(fd, name) != sorted(entries)}
    if not dry_run:
        for name, entries in differs.items():
            write(fd, entries, name)
    return bool(differs)


def align_tree(root: str, dir_access: list[Entry], dir_default: list[Entry], dry_run: bool = False,
               exclude: frozenset[str] = frozenset()) -> TreeReport:
    """Give everything below `root` (not `root` itself) the access of `root`'s ACL; see the module docstring.

    Directories in `exclude` (absolute, normalised) are neither changed nor entered: they have a table of their own.
    """
    report = TreeReport()
    for dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
        dirnames[:] = [name for name in dirnames if os.path.join(dirpath, name) not in exclude]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            kind = stat.S_IFMT(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode)
            if kind not in (stat.S_IFDIR, stat.S_IFREG):   # never open a link, a device or a FIFO
                report.skipped.append(path)
                continue
            fd = os.open(name, _OPEN_FLAGS, dir_fd=dirfd)   # O_NOFOLLOW: a link swapped in since is refused
            try:
                status = os.fstat(fd)
                if stat.S_IFMT(status.st_mode) != kind:
                    report.skipped.append(path)
                    continue
                if kind == stat.S_IFDIR:
                    wanted = {ACCESS: dir_access, DEFAULT: dir_default}
                else:
                    wanted = {ACCESS: _wanted_for_file(fd, status, dir_access)}
                report.checked += 1
                if _align(fd, wanted, dry_run):
                    report.changed.append(path)
            finally:
                os.close(fd)
    return report
