"""Encryption-at-rest verdicts from recorded host output: mount table, LUKS headers, gocryptfs.conf, fscrypt."""

from __future__ import annotations

import json
import os
import struct

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import at_rest

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
23 22 0:22 / /proc rw - proc proc rw
30 22 253:0 / /srv rw,relatime - ext4 /dev/mapper/vg-srv rw
31 30 8:17 / /srv/aiphone/old\\040disk rw - ext4 /dev/sdb1 rw
40 30 0:40 / /srv/aiphone/recordings rw,nosuid,nodev - fuse.gocryptfs /srv/aiphone/.recordings.crypt rw,user_id=0
41 30 0:41 / /srv/aiphone/recordings rw,nosuid,nodev - tmpfs tmpfs rw
"""

LUKS2_512 = """LUKS header information
Version:       	2
Data segments:
  0: crypt
	offset: 16777216 [bytes]
	cipher: aes-xts-plain64
	sector: 4096 [bytes]

Keyslots:
  0: luks2
	Key:        512 bits
	Cipher:     aes-xts-plain64
	Cipher key: 512 bits
Tokens:
"""

LUKS1_CBC = """LUKS header information for /dev/sdb2

Version:       	1
Cipher name:   	aes
Cipher mode:   	cbc-essiv:sha256
Hash spec:     	sha256
MK bits:       	256
"""


def test_mountinfo_longest_and_latest_mount_wins():
    mounts = at_rest.parse_mountinfo(MOUNTINFO)
    assert at_rest.mount_of("/srv/aiphone/transcripts", mounts).source == "/dev/mapper/vg-srv"
    assert at_rest.mount_of("/srv/aiphone/recordings/2026/a.wav", mounts).fstype == "tmpfs"   # mounted over
    assert at_rest.mount_of("/srv/aiphone/old disk/x", mounts).source == "/dev/sdb1"           # \040 unescaped
    assert at_rest.mount_of("/srvx", mounts).mount_point == "/"
    with pytest.raises(ValueError, match="unexpected line"):
        at_rest.parse_mountinfo("garbage\n")


def test_luks_headers():
    assert at_rest.judge_luks(at_rest.parse_luks_dump(LUKS2_512))[0] == at_rest.PASS
    weak = LUKS2_512.replace("Key:        512 bits", "Key:        256 bits")
    status, detail = at_rest.judge_luks(at_rest.parse_luks_dump(weak))
    assert status == at_rest.FAIL and "AES-128-XTS" in detail
    status, detail = at_rest.judge_luks(at_rest.parse_luks_dump(LUKS1_CBC))
    assert status == at_rest.FAIL and "aes-cbc-essiv:sha256" in detail
    assert at_rest.judge_luks(at_rest.parse_luks_dump("nonsense"))[0] == at_rest.UNKNOWN


def test_gocryptfs_conf():
    conf = {"Version": 2, "FeatureFlags": ["HKDF", "GCMIV128", "DirIV", "EMENames", "LongNames", "Raw64"]}
    assert at_rest.judge_gocryptfs(conf) == (at_rest.PASS, "gocryptfs AES-256-GCM")
    assert at_rest.judge_gocryptfs(dict(conf, FeatureFlags=["HKDF", "XChaCha20Poly1305"]))[0] == at_rest.FAIL
    assert at_rest.judge_gocryptfs(dict(conf, FeatureFlags=["AESSIV", "HKDF"]))[0] == at_rest.PASS
    assert at_rest.judge_gocryptfs(dict(conf, Version=1))[0] == at_rest.FAIL


@pytest.mark.parametrize("mode, status", [(1, at_rest.PASS), (9, at_rest.FAIL), (5, at_rest.FAIL)])
def test_fscrypt_policy(tmp_path, mode, status):
    policy_v2 = struct.pack("BBBBB3x16s", 2, mode, 4 if mode == 1 else 9, 0, 0, b"k" * 16)
    probe = at_rest.Probe(mountinfo=lambda: "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
                          fscrypt_policy=lambda path: policy_v2, sys_root=str(tmp_path))
    verdict = at_rest.check_directory("transcripts", str(tmp_path), probe)
    assert (verdict.status, verdict.method) == (status, "fscrypt")


def fake_sysfs(root, chain: list[tuple[str, str, str]]):
    """/sys/dev/block/<maj:min> -> dm-N with dm/uuid, dm/name and slaves/ (a chain of device-mapper devices)."""
    (root / "dev" / "block").mkdir(parents=True)
    for index, (block, uuid, slave) in enumerate(chain):
        base = root / "block" / block
        (base / "dm").mkdir(parents=True)
        (base / "dm" / "uuid").write_text(uuid + "\n")
        (base / "dm" / "name").write_text(f"name{index}\n")
        (base / "slaves").mkdir()
        (base / "slaves" / slave).mkdir()
    os.symlink(f"../../block/{chain[0][0]}", root / "dev" / "block" / "253:1")


def test_lvm_on_luks_chain_is_followed(tmp_path):
    fake_sysfs(tmp_path, [("dm-1", "LVM-abc", "dm-0"), ("dm-0", "CRYPT-LUKS2-1234-data", "sda3")])
    asked = []

    def run(argv):
        asked.append(argv)
        return 0, LUKS2_512, ""
    probe = at_rest.Probe(mountinfo=lambda: "30 1 253:1 / / rw - ext4 /dev/mapper/vg-srv rw\n", run=run,
                          fscrypt_policy=lambda path: None, sys_root=str(tmp_path), dev_root="/dev")
    verdict = at_rest.check_directory("recordings", str(tmp_path), probe)
    assert asked == [["cryptsetup", "luksDump", "/dev/sda3"]]
    assert (verdict.status, verdict.method, verdict.key_bits) == (at_rest.PASS, "luks2", 512)


def test_plain_storage_names_directory_and_mount(tmp_path):
    probe = at_rest.Probe(mountinfo=lambda: MOUNTINFO, fscrypt_policy=lambda path: None, sys_root=str(tmp_path))
    verdict = at_rest.check_directory("transcripts", str(tmp_path), probe)
    assert verdict.status == at_rest.FAIL and str(tmp_path) in verdict.detail and "overlay" in verdict.detail
    assert at_rest.check_directory("payment", str(tmp_path / "nope"), probe).status == at_rest.MISSING


def test_gocryptfs_mount_reads_the_cipher_directory(tmp_path):
    cipher = tmp_path / "cipher"
    cipher.mkdir()
    (cipher / "gocryptfs.conf").write_text(json.dumps({"Version": 2, "FeatureFlags": ["GCMIV128", "HKDF"]}))
    plain = tmp_path / "plain"
    plain.mkdir()
    table = f"40 1 0:40 / {plain} rw - fuse.gocryptfs {cipher} rw\n"
    probe = at_rest.Probe(mountinfo=lambda: table, fscrypt_policy=lambda path: None, sys_root=str(tmp_path))
    verdict = at_rest.check_directory("recordings", str(plain), probe)
    assert (verdict.status, verdict.cipher) == (at_rest.PASS, "AES-256-GCM")
    (cipher / "gocryptfs.conf").unlink()
    assert at_rest.check_directory("recordings", str(plain), probe).status == at_rest.UNKNOWN
