"""data_at_rest_facts against real encryption on this machine: LUKS2 headers written by cryptsetup luksFormat on a
loop file (no device-mapper here: luksDump reads the header, nothing is opened) and a real gocryptfs FUSE mount."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import at_rest

pytestmark = pytest.mark.skipif(not (shutil.which("cryptsetup") and shutil.which("gocryptfs")),
                                reason="cryptsetup-bin and gocryptfs come from scripts/setup.sh")


def module(args: dict) -> dict:
    payload = {"ANSIBLE_MODULE_ARGS": args}
    proc = subprocess.run([sys.executable, "-m",
                           "ansible_collections.aiphone.hardening.plugins.modules.data_at_rest_facts"],
                          input=json.dumps(payload), capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, check=False)
    return json.loads(proc.stdout)


def luks_loop(tmp_path, name: str, key_size: int) -> str:
    image = tmp_path / f"{name}.img"
    with open(image, "wb") as handle:
        handle.truncate(32 * 1024 * 1024)
    subprocess.run(["cryptsetup", "luksFormat", "-q", "--type", "luks2", "--cipher", "aes-xts-plain64",
                    "--key-size", str(key_size), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
                    "--key-file", "-", str(image)], input=b"lab-only-passphrase", check=True, capture_output=True)
    return subprocess.run(["losetup", "-f", "--show", str(image)], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def loops():
    attached = []
    yield attached
    for device in attached:
        subprocess.run(["losetup", "-d", device], check=False)


def test_luks2_aes_xts_512_passes_256_fails(tmp_path, loops):
    strong = luks_loop(tmp_path, "strong", 512)
    loops.append(strong)
    weak = luks_loop(tmp_path, "weak", 256)
    loops.append(weak)
    result = module({"directories": [], "luks_devices": [strong, weak]})
    verdicts = {v["path"]: v for v in result["data_at_rest"]}
    assert verdicts[strong]["status"] == "pass" and verdicts[strong]["key_bits"] == 512
    assert verdicts[weak]["status"] == "fail" and "AES-128-XTS" in verdicts[weak]["detail"]
    assert result["findings"] == [verdicts[weak]["detail"]]


def test_data_directory_on_a_luks_mapping_is_traced_to_its_header(tmp_path, loops):
    """The device-mapper chain comes from a fake /sys (no device-mapper on this machine); the header is real."""
    weak = luks_loop(tmp_path, "weak", 256)
    loops.append(weak)
    sys_root = tmp_path / "sys"
    base = sys_root / "block" / "dm-0"
    (base / "dm").mkdir(parents=True)
    (base / "dm" / "uuid").write_text("CRYPT-LUKS2-0000-data\n")
    (base / "dm" / "name").write_text("data\n")
    (base / "slaves" / os.path.basename(weak)).mkdir(parents=True)
    (sys_root / "dev" / "block").mkdir(parents=True)
    os.symlink("../../block/dm-0", sys_root / "dev" / "block" / "253:0")
    data = tmp_path / "srv"
    data.mkdir()
    probe = at_rest.Probe(mountinfo=lambda: f"30 1 253:0 / {data} rw - ext4 /dev/mapper/data rw\n",
                          sys_root=str(sys_root), fscrypt_policy=lambda path: None)
    verdict = at_rest.check_directory("recordings", str(data), probe)
    assert (verdict.status, verdict.method, verdict.key_bits) == ("fail", "luks2", 256)
    assert weak in verdict.detail


@pytest.fixture
def gocryptfs_mount(tmp_path):
    cipher, plain, passfile = tmp_path / "cipher", tmp_path / "plain", tmp_path / "pass"
    cipher.mkdir()
    plain.mkdir()
    passfile.write_text("lab-only-passphrase")
    subprocess.run(["gocryptfs", "-init", "-q", "-passfile", str(passfile), str(cipher)], check=True)
    subprocess.run(["gocryptfs", "-q", "-passfile", str(passfile), str(cipher), str(plain)], check=True)
    yield cipher, plain
    subprocess.run(["fusermount3", "-u", str(plain)], check=False)


def test_gocryptfs_mount_passes_plain_directory_fails(tmp_path, gocryptfs_mount):
    _cipher, plain = gocryptfs_mount
    other = tmp_path / "transcripts"
    other.mkdir()
    result = module({"directories": [{"name": "recordings", "path": str(plain)},
                                     {"name": "transcripts", "path": str(other)}]})
    recordings, transcripts = result["data_at_rest"]
    assert (recordings["status"], recordings["method"], recordings["cipher"]) == ("pass", "gocryptfs", "AES-256-GCM")
    assert transcripts["status"] == "fail" and str(other) in transcripts["detail"]
    assert transcripts["mount_point"] in transcripts["detail"]
