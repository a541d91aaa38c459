# -*- coding: utf-8 -*-
"""The evidence bundle: the trail slice holds exactly the records of the range, SHA256SUMS matches every member,
the archive digest file matches the archive, and bad ranges are refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tarfile

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.evidence import build_bundle, parse_time


def test_bundle_holds_the_range_and_correct_checksums(tmp_path):
    site = audit_trail.site_dir(str(tmp_path / "audit"), "lab")
    for hour in (1, 3, 5):
        audit_trail.append(site, {"kind": "incident", "time": f"2026-11-27T0{hour}:00:00.000000Z", "n": hour})
    configs = tmp_path / "backups"
    configs.mkdir()
    (configs / "sw-core-01.cfg").write_text("hostname sw-core-01\n")
    archive = str(tmp_path / "out" / "bundle.tar.gz")
    result = build_bundle(archive, site, parse_time("2026-11-27T02:00:00Z", "since"),
                          parse_time("2026-11-27T04:00:00Z", "until"), [str(configs)])
    assert result["records"] == 1 and result["files"] == 1 and result["trail_ok"]
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert [json.loads(line)["n"] for line in members["audit/trail-slice.jsonl"].decode().splitlines()] == [3]
    assert members["collected/backups/sw-core-01.cfg"] == b"hostname sw-core-01\n"
    sums = dict(reversed(line.split("  ")) for line in members["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(members) - {"SHA256SUMS"}
    assert all(hashlib.sha256(members[name]).hexdigest() == digest for name, digest in sums.items())
    digest_line = (tmp_path / "out" / "bundle.tar.gz.sha256").read_text()
    assert digest_line.split()[0] == hashlib.sha256((tmp_path / "out" / "bundle.tar.gz").read_bytes()).hexdigest()


@pytest.mark.parametrize("text", ["2026-11-27 02:00", "yesterday", "2026-11-27T02:00:00"])
def test_times_without_zone_or_malformed_are_refused(text):
    with pytest.raises(ValueError):
        parse_time(text, "since")


def test_parse_time_converts_to_utc():
    assert parse_time("2026-11-27T03:00:00+01:00", "since") == dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)
