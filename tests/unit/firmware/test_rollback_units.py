"""Which build a firmware rollback goes back to: the version from the audit trail, the build from the catalog or
from a checksum an earlier upgrade recorded (matched in the firmware store), never a rollback's own record."""

from __future__ import annotations

import hashlib

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollback import previous_build
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import DeviceSpec

PHONE = DeviceSpec("phone-1", "poly", "VVX450", {})


def attempt(to_version, from_version, checksum="", result="upgraded", device="phone-1", rollback=None):
    return {"kind": "firmware_attempt", "device": device, "platform": "poly", "model": "VVX450",
            "from_version": from_version, "to_version": to_version, "checksum": checksum, "result": result,
            "rollback": rollback}


def test_previous_build_found_by_the_checksum_an_earlier_upgrade_recorded(tmp_path):
    old = b"old build"
    (tmp_path / "old.ld").write_bytes(old)
    (tmp_path / "other.ld").write_bytes(b"x")
    sha = hashlib.sha256(old).hexdigest()
    records = [attempt("6.4.5", "6.4.4", sha, device="phone-9"),      # another phone of the model got 6.4.5
               attempt("6.4.6", "6.4.5", "f" * 64)]
    target = previous_build(PHONE, records, [], str(tmp_path))
    assert (target.version, target.image, target.sha256) == ("6.4.5", "old.ld", sha)


def test_catalog_first_and_rollback_records_are_not_undone(tmp_path):
    catalog = [{"platform": "poly", "model": "VVX450", "version": "6.4.5", "image": "p.ld", "sha256": "a" * 64}]
    records = [attempt("6.4.6", "6.4.5"), attempt("6.4.5", "6.4.6", rollback=True)]
    assert previous_build(PHONE, records, catalog, str(tmp_path)).image == "p.ld"     # not back to 6.4.6


def test_reasons_when_there_is_nothing_to_roll_back_to(tmp_path):
    assert "nothing to roll back to" in previous_build(PHONE, [attempt("6.4.6", "6.4.5", result="failed")], [],
                                                       str(tmp_path))
    assert "unknown here" in previous_build(PHONE, [attempt("6.4.6", "6.4.5")], [], str(tmp_path))
    hostile = [{"platform": "poly", "model": "VVX450", "version": "6.4.5", "image": "../x;reboot", "sha256": "a" * 64}]
    assert "not allowed" in previous_build(PHONE, [attempt("6.4.6", "6.4.5")], hostile, str(tmp_path))
