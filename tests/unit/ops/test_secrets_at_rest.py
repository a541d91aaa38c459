"""Secrets at rest: canary secrets planted in device configurations (AP UCI, WLC, switch) never reach the files
the toolkit keeps on the controller - configuration backups and the incident evidence bundle; the bundle names
each file it masked with the SHA-256 of the original."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.backup_vault import read_encrypted, site_vault
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import write_backup
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.evidence import build_bundle

CANARIES = ("Canary-Wifi-Staff-7731", "Canary-Radius-5524", "0822455D0A165445415F59", "Canary-Snmp-Auth-11",
            "Canary-Snmp-Priv-12", "Canary-Enable-13", "Canary-Ntp-14")
AP = ("config wifi-iface 'staff'\n\toption ssid 'Clinic-Staff'\n\toption encryption 'sae'\n"
      f"\toption key '{CANARIES[0]}'\n\toption auth_secret '{CANARIES[1]}'\n")
WLC = (f"wlan Clinic-Staff 1 Clinic-Staff\n security wpa psk set-key ascii 7 {CANARIES[2]}\n"
       f"radius server ise\n address ipv4 10.0.0.5\n key 0 {CANARIES[1]}\n")
SWITCH = (f"enable secret 0 {CANARIES[5]}\nsnmp-server user nms g v3 auth sha {CANARIES[3]} priv aes 128 "
          f"{CANARIES[4]}\nntp authentication-key 1 md5 {CANARIES[6]}\nradius-server host 10.0.0.5 key "
          f"{CANARIES[1]}\nhostname sw1\n")


def hits(data: bytes) -> list[str]:
    return [c for c in CANARIES if c.encode() in data]


def test_backups_and_the_evidence_bundle_hold_no_canary(tmp_path):
    assert len(hits((AP + WLC + SWITCH).encode())) == len(CANARIES)      # the planted configs do hold them
    backups = tmp_path / "backups" / "lab"
    written = [write_backup(str(backups), name, text) for name, text in (("ap-01", AP), ("wlc-01", WLC),
                                                                         ("sw1", SWITCH))]
    for path in written:
        text = Path(path).read_text(encoding="utf-8")
        assert hits(text.encode()) == [] and "hostname sw1" in SWITCH and "********" in text
    site = tmp_path / "audit" / "lab"
    site.mkdir(parents=True)
    raw = tmp_path / "collected"
    raw.mkdir()
    (raw / "hostapd.conf").write_text(f"wpa_passphrase={CANARIES[0]}\nssid=Clinic\n")
    now = dt.datetime.now(dt.UTC)
    result = build_bundle(str(tmp_path / "bundle.tar.gz"), str(site), now - dt.timedelta(hours=1), now,
                          [str(backups), str(raw)])
    data = (tmp_path / "bundle.tar.gz").read_bytes()
    with tarfile.open(result["archive"]) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert all(hits(content) == [] for content in members.values()), [n for n, c in members.items() if hits(c)]
    assert hits(data) == []
    manifest = json.loads(members["manifest.json"])
    original = (raw / "hostapd.conf").read_bytes()
    assert manifest["redacted"]["collected/collected/hostapd.conf"] == hashlib.sha256(original).hexdigest()
    assert b"ssid=Clinic" in members["collected/collected/hostapd.conf"]


def lab_vault_identity(tmp_path, monkeypatch):
    """The site's vault identity as the controller has it (ANSIBLE_VAULT_IDENTITY_LIST, as the Makefile sets)."""
    password = tmp_path / "vault-password.txt"
    password.write_text("lab-only-backup-password\n")
    monkeypatch.setenv("ANSIBLE_VAULT_IDENTITY_LIST", f"other@{tmp_path / 'missing.txt'},lab@{password}")
    return site_vault("lab")


def test_encrypted_backups_hold_every_secret_for_a_restore_and_no_plain_canary(tmp_path, monkeypatch):
    vault = lab_vault_identity(tmp_path, monkeypatch)
    assert vault is not None and vault.label == "lab" and "lab-only" not in repr(vault)
    backups = tmp_path / "backups" / "lab"
    written = [write_backup(str(backups), name, text, vault=vault)
               for name, text in (("ap-01", AP), ("wlc-01", WLC), ("sw1", SWITCH))]
    for path, text in zip(written, (AP, WLC, SWITCH), strict=True):
        data = Path(path).read_bytes()
        assert path.endswith(".cfg.vault") and data.startswith(b"$ANSIBLE_VAULT;1.2;AES256;lab\n")
        assert hits(data) == [] and Path(path).stat().st_mode & 0o077 == 0
        assert read_encrypted(path, vault) == text                      # a complete restore source
    with pytest.raises(ValueError):
        read_encrypted(write_backup(str(backups), "sw2", SWITCH), vault)  # a masked backup is no restore source
    site = tmp_path / "audit" / "lab"
    site.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    result = build_bundle(str(tmp_path / "bundle.tar.gz"), str(site), now - dt.timedelta(hours=1), now,
                          [str(backups)])
    with tarfile.open(result["archive"]) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert any(name.endswith(".cfg.vault") for name in members)
    assert all(hits(content) == [] for content in members.values())


def test_without_a_vault_identity_backups_are_masked(tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    assert site_vault("lab") is None
    path = write_backup(str(tmp_path), "sw1", SWITCH, vault=site_vault("lab"))
    assert path.endswith(".cfg") and hits(Path(path).read_bytes()) == [] and "hostname sw1" in Path(path).read_text()


def test_a_wrong_identity_does_not_decrypt(tmp_path, monkeypatch):
    vault = lab_vault_identity(tmp_path, monkeypatch)
    path = write_backup(str(tmp_path / "b"), "sw1", SWITCH, vault=vault)
    other = tmp_path / "other.txt"
    other.write_text("another password\n")
    with pytest.raises(Exception, match=r"[Dd]ecrypt"):
        read_encrypted(path, site_vault("lab", str(other)))
