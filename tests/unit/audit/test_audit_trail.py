"""The audit trail: hash chain, tamper detection, killed writers, two writers, redaction."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail as at

CANARY = "CANARY-s3cr3t-7f1d"


def _fill(site, count=5):
    return [at.append(site, {"kind": "change", "device": f"sw-{i:02d}", "task": "set banner", "n": i})
            for i in range(count)]


def test_chain_links_every_record(tmp_path):
    records = _fill(str(tmp_path))
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev"] == at.GENESIS_HASH
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(records))
    report = at.verify(str(tmp_path))
    assert report.ok and report.records == 5 and report.last_hash == records[-1]["hash"]


@pytest.mark.parametrize("target_line", [1, 3, 4])
def test_editing_one_byte_of_a_past_record_is_named(tmp_path, target_line):
    _fill(str(tmp_path))
    path = tmp_path / at.TRAIL_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    line = bytearray(lines[target_line - 1])
    pos = line.index(b"sw-") + 4                      # one digit of the device name: still valid JSON
    line[pos] = ord("9") if line[pos] != ord("9") else ord("8")
    lines[target_line - 1] = bytes(line)
    path.write_bytes(b"".join(lines))
    report = at.verify(str(tmp_path))
    assert not report.ok
    assert report.first_broken["line"] == target_line
    assert report.first_broken["seq"] == target_line
    assert "edited" in report.first_broken["reason"]


def test_whitespace_only_edit_is_detected(tmp_path):
    _fill(str(tmp_path), 3)
    path = tmp_path / at.TRAIL_FILE
    path.write_bytes(path.read_bytes().replace(b'"task":', b'"task": ', 1))
    report = at.verify(str(tmp_path))
    assert not report.ok and report.first_broken["line"] == 1


def test_removed_and_reordered_records_break_the_chain(tmp_path):
    _fill(str(tmp_path))
    path = tmp_path / at.TRAIL_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    report = at.verify(str(tmp_path))
    assert not report.ok and report.first_broken["line"] == 3 and "previous record" in report.first_broken["reason"]

    path.write_bytes(b"".join([lines[1], lines[0]] + lines[2:]))
    assert at.verify(str(tmp_path)).first_broken["line"] == 1


def test_cut_off_tail_is_detected_by_the_head(tmp_path):
    _fill(str(tmp_path))
    path = tmp_path / at.TRAIL_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    report = at.verify(str(tmp_path))
    assert not report.ok and report.first_broken["seq"] == 5 and "cut off" in report.first_broken["reason"]


def test_torn_last_line_is_reported_then_moved_aside_not_dropped(tmp_path):
    _fill(str(tmp_path), 3)
    path = tmp_path / at.TRAIL_FILE
    torn = b'{"device":"sw-99","kind":"change","n":99,"pr'
    with open(path, "ab") as handle:
        handle.write(torn)
    report = at.verify(str(tmp_path))
    assert report.ok and report.torn_tail == {"line": 4, "offset": path.stat().st_size - len(torn),
                                              "length": len(torn)}
    assert "torn" in report.summary()

    stored = at.append(str(tmp_path), {"kind": "change", "device": "sw-04"})
    assert stored["seq"] == 5
    report = at.verify(str(tmp_path))
    assert report.ok and report.torn_tail is None and report.records == 5
    [recovered] = report.recovered_torn_records
    assert recovered["seq"] == 4 and recovered["length"] == len(torn)
    assert (tmp_path / recovered["saved_as"]).read_bytes() == torn


WRITER = textwrap.dedent("""
    import sys
    from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail as at
    site, tag = sys.argv[1], sys.argv[2]
    i = 0
    while True:
        at.append(site, {"kind": "change", "device": tag, "n": i, "diff": "x" * 20000})
        i += 1
        if len(sys.argv) > 3 and i >= int(sys.argv[3]):
            break
""")


def _writer(site, tag, count=None):
    args = [sys.executable, "-c", WRITER, site, tag] + ([str(count)] if count else [])
    return subprocess.Popen(args, env=os.environ.copy())


def test_writer_killed_mid_run_leaves_a_verifiable_trail(tmp_path):
    site = str(tmp_path)
    proc = _writer(site, "victim")
    path = tmp_path / at.TRAIL_FILE
    deadline = time.monotonic() + 60
    while (not path.exists() or path.stat().st_size < 400_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    report = at.verify(site)
    assert report.ok, report.summary()
    assert report.records >= 10
    after = at.append(site, {"kind": "change", "device": "next-run"})
    final = at.verify(site)
    assert final.ok and final.last_seq == after["seq"]


def test_two_runs_at_once_never_interleave(tmp_path):
    site = str(tmp_path)
    procs = [_writer(site, f"run{i}", 40) for i in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    report = at.verify(site)
    assert report.ok and report.records == 80


def test_lock_timeout_names_the_holder(tmp_path):
    site = str(tmp_path)
    with at.FileLock(str(tmp_path / (at.TRAIL_FILE + at.LOCK_SUFFIX)), timeout=5):
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail as at
            try:
                at.append({site!r}, {{"kind": "x"}}, lock_timeout=0.3)
            except at.AuditLockTimeout as exc:
                print(exc)
        """)], capture_output=True, text=True, check=True, env=os.environ.copy())
    assert f"pid {os.getpid()}" in probe.stdout


@pytest.mark.parametrize("record, secret_values", [
    ({"kind": "change", "ansible_password": CANARY}, ()),
    ({"kind": "change", "vars": {"vault_wifi_staff_psk": CANARY}}, ()),
    ({"kind": "change", "diff": f"+username admin privilege 15 secret 9 {CANARY}\n"}, ()),
    ({"kind": "change", "diff": f"+enable secret {CANARY}"}, ()),
    ({"kind": "change", "diff": f"+sae_password={CANARY}|vlanid=20\n"}, ()),
    ({"kind": "change", "diff": f"option key '{CANARY}'"}, ()),
    ({"kind": "change", "diff": f" security wpa psk set-key ascii 0 {CANARY}"}, ()),
    ({"kind": "change", "diff": f"snmp-server user mon grp v3 auth sha {CANARY} priv aes 128 {CANARY}"}, ()),
    ({"kind": "change", "msg": f"login with {CANARY} failed"}, (CANARY,)),
    ({"kind": "change", "totpSecret": CANARY}, ()),
    ({"kind": "change", "url": f"https://admin:{CANARY}@10.0.0.1/x"}, ()),
    ({"kind": "change", "key": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n-----END OPENSSH PRIVATE KEY-----"},
     ()),
])
def test_secrets_never_reach_the_file(tmp_path, record, secret_values):
    at.append(str(tmp_path), record, secret_values=secret_values)
    text = (tmp_path / at.TRAIL_FILE).read_text()
    assert CANARY not in text
    assert at.REDACTED in text


def test_harmless_keys_are_kept(tmp_path):
    stored = at.append(str(tmp_path), {"kind": "x", "psk_var": "vault_wifi_staff_psk",
                                       "ssh_key_fingerprint": "SHA256:a", "password_set": True,
                                       "task": "Rotate enable secret"})
    assert stored["psk_var"] == "vault_wifi_staff_psk" and stored["ssh_key_fingerprint"] == "SHA256:a"
    assert stored["password_set"] is True and stored["task"] == "Rotate enable secret"


def test_reserved_fields_and_missing_kind_are_refused(tmp_path):
    with pytest.raises(at.AuditTrailError, match="kind"):
        at.append(str(tmp_path), {"device": "x"})
    with pytest.raises(at.AuditTrailError, match="seq"):
        at.append(str(tmp_path), {"kind": "x", "seq": 4})
    with pytest.raises(at.AuditTrailError, match="invalid site"):
        at.site_dir("audit", "../etc")


def test_adopting_package_updates_is_idempotent(tmp_path):
    site = str(tmp_path)
    updates = tmp_path / "package-updates.jsonl"
    updates.write_text(json.dumps({"host": "pbx-01", "package": "openssl", "from": "3.0.11", "to": "3.0.13"}) + "\n")
    first = at.adopt_jsonl(site, "package-updates.jsonl", "package_update")
    assert [r["entry"]["package"] for r in first] == ["openssl"]
    assert at.adopt_jsonl(site, "package-updates.jsonl", "package_update") == []
    with open(updates, "a") as handle:
        handle.write(json.dumps({"host": "pbx-01", "package": "nftables", "to": "1.0.6"}) + "\n")
    assert [r["source"]["line"] for r in at.adopt_jsonl(site, "package-updates.jsonl", "package_update")] == [2]
    assert at.verify(site).records == 2
