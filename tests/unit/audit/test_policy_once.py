"""One policy validation per run, one serialisation of the inventory (issue #23)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import site
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory import build
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError

LAB_POLICY = Path(__file__).resolve().parents[3] / "inventories" / "lab" / "site_policy.yml"


def test_the_digest_of_the_validated_bytes_skips_a_second_validation(tmp_path, monkeypatch):
    path = tmp_path / "site_policy.yml"
    shutil.copyfile(LAB_POLICY, path)
    policy, digest = site.read_policy(str(path))
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(site, "site_policy_from_data", lambda *a: pytest.fail("validated a second time"))
    assert site.load_policy_fast(str(path), digest) == policy


def test_changed_bytes_are_validated_whatever_digest_is_given(tmp_path):
    path = tmp_path / "site_policy.yml"
    shutil.copyfile(LAB_POLICY, path)
    _, digest = site.read_policy(str(path))
    data = yaml.safe_load(path.read_text())
    data["zones"][1]["vlan"] = 1                     # reserved: refused by validation
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError, match=r"zones\[1\]\.vlan"):
        site.load_policy_fast(str(path), digest)     # the digest no longer matches: validated, refused
    with pytest.raises(PolicyError):
        site.load_policy_fast(str(path))


def test_inventory_json_is_one_device_per_line_and_the_snapshot_hashes_the_written_bytes(tmp_path):
    inventory = {"site": "t", "collected_at": "2026-12-03T00:00:00Z", "summary": {"compliant": 2},
                 "devices": [{"name": "b", "version": "1", "status": "compliant", "detail": "x\ny \"q\"",
                              "packages": {}},
                             {"name": "a", "version": "2", "status": "compliant", "detail": "é", "packages": {}}]}
    data = build.inventory_json(inventory)
    assert json.loads(data) == inventory
    assert data.decode().splitlines()[1].startswith('{"detail": "x\\ny \\"q\\""')
    assert len(data.decode().splitlines()) == 4
    files = build.write_inventory_files(str(tmp_path), inventory, data)
    assert Path(files["inventory.json"]).read_bytes() == data
    record = build.snapshot_record(inventory, data)
    digest = hashlib.sha256(data).hexdigest()
    assert record["inventory_sha256"] == digest == build.snapshot_record(inventory)["inventory_sha256"]
    empty = build.inventory_json({**inventory, "devices": []})
    assert json.loads(empty)["devices"] == []
