"""Files already inside a data directory get its access table (real ACLs on this filesystem, checked with getfacl)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import posix_acl

SUPERVISORS, COMPLIANCE = 4101, 4102   # numeric group ids: the kernel stores ids, names do not have to exist
NAMED = [(posix_acl.GROUP, 5, SUPERVISORS), (posix_acl.GROUP, 5, COMPLIANCE)]
DIR_ACCESS = posix_acl.build(7, 5, 0, NAMED)   # 0750 + both groups r-x

pytestmark = pytest.mark.skipif(shutil.which("getfacl") is None, reason="getfacl (package acl) is not installed")


def getfacl(path) -> list[str]:
    out = subprocess.run(["getfacl", "--omit-header", "--absolute-names", "--numeric", "--physical", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("#")[0].strip() for line in out.splitlines() if line.strip()]


@pytest.fixture
def recordings(tmp_path):
    root = tmp_path / "recordings"
    (root / "2026" / "11").mkdir(parents=True)
    for name, mode in (("a.wav", 0o644), ("2026/b.wav", 0o666), ("2026/11/c.wav", 0o600), ("tool.sh", 0o755)):
        (root / name).write_bytes(b"x")
        os.chmod(root / name, mode)
    outside = tmp_path / "shadow"
    outside.write_text("secret")
    os.chmod(outside, 0o600)
    (root / "link-to-shadow").symlink_to(outside)
    os.mkfifo(root / "pipe")
    subprocess.run(["setfacl", "-m", "u:4999:rw-", str(root / "a.wav")], check=True)   # a stray grant to remove
    return root


def test_existing_files_get_the_directory_entries_without_execute(recordings):
    report = posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS)
    assert report.checked == 6 and sorted(os.path.basename(p) for p in report.skipped) == ["link-to-shadow", "pipe"]
    assert getfacl(recordings / "a.wav") == [
        "user::rw-", "group::r--", f"group:{SUPERVISORS}:r--", f"group:{COMPLIANCE}:r--", "mask::r--", "other::---"]
    assert "other::---" in getfacl(recordings / "2026" / "b.wav")   # world-writable before, nothing for others now
    assert getfacl(recordings / "2026" / "11" / "c.wav")[:2] == ["user::rw-", "group::---"]
    assert f"group:{SUPERVISORS}:r-x" in getfacl(recordings / "tool.sh")   # executable by its owner: x kept
    subdir = getfacl(recordings / "2026")
    assert f"group:{SUPERVISORS}:r-x" in subdir and f"default:group:{COMPLIANCE}:r-x" in subdir


def test_symbolic_links_are_never_followed(recordings, tmp_path):
    before = getfacl(tmp_path / "shadow")
    posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS)
    assert getfacl(tmp_path / "shadow") == before == ["user::rw-", "group::---", "other::---"]


def test_second_pass_changes_nothing_and_dry_run_writes_nothing(recordings):
    planned = posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS, dry_run=True)
    assert len(planned.changed) == 6
    assert "user:4999:rw-" in getfacl(recordings / "a.wav")   # dry run: untouched
    applied = posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS)
    assert applied.changed == planned.changed
    assert posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS).changed == []


def test_entries_round_trip_through_the_kernel_format():
    blob = posix_acl.encode(DIR_ACCESS)
    assert posix_acl.decode(blob) == sorted(DIR_ACCESS)
    with pytest.raises(ValueError, match="version"):
        posix_acl.decode(b"\x01\x00\x00\x00")


def test_a_directory_with_a_table_of_its_own_is_neither_changed_nor_entered(recordings):
    nested = recordings / "2026"
    before = {path: getfacl(path) for path in (nested, nested / "b.wav")}
    report = posix_acl.align_tree(str(recordings), DIR_ACCESS, DIR_ACCESS, exclude=frozenset({str(nested)}))
    assert {path: getfacl(path) for path in before} == before
    assert not any(path.startswith(str(nested)) for path in report.changed)
