"""Version inventory: collection over a thread pool, baseline comparison, first-seen state, report files.

The drivers here are test doubles registered for made-up platforms; the lab drivers are covered in
tests/integration/audit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import exceptions as drv_exc
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory import baseline, build, collector
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.collector import Target

SECRET = "CANARY-dev-pw-2f9c"
FLEET = {  # name -> facts the fake device reports
    "sw-1": {"hostname": "sw-1", "model": "C9300-24P", "serial": "FOC1", "os_version": "17.9.5",
             "uptime_seconds": 3600, "image": "flash:cat9k.bin"},
    "sw-2": {"hostname": "sw-2", "model": "C9300-24P", "serial": "FOC2", "os_version": "17.9.4"},
    "ph-1": {"model": "VVX450", "os_version": "6.4.6.2000", "serial": "=HYPERLINK(\"x\")"},
    "ph-2": {"model": "VVX999", "os_version": "1.0"},
}
POLICY = {
    "site": {"name": "t"},
    "devices": [{"name": "sw-1", "platform": "fake", "model": "C9300-24P"},
                {"name": "sw-2", "platform": "fake", "model": "C9300-24P"},
                {"name": "ph-1", "platform": "fake", "model": "VVX450"},
                {"name": "ph-2", "platform": "fake", "model": "VVX999"},
                {"name": "sw-down", "platform": "fake", "model": "C9300-24P"},
                {"name": "sw-deny", "platform": "fake", "model": "C9300-24P"},
                {"name": "ghost", "platform": "fake", "model": "C9300-24P"}],
    "firmware_baselines": [{"platform": "fake", "model": "C9300-24P", "version": "17.09.05"},
                           {"platform": "fake", "model": "VVX450", "version": "6.4.6.2000"}],
}


class FakeDriver:
    """Stands in for a platform driver: same constructor/context/get_facts contract."""

    active = 0
    peak = 0
    lock = threading.Lock()
    delay = 0.0

    def __init__(self, host, port=None, username="", password="", timeout=30, known_hosts_file=None, name=None,
                 **options):
        self.name, self.password = name, password

    def __enter__(self):
        if self.name == "sw-down":
            raise drv_exc.ConnectionFailed("connection refused", device=self.name)
        if self.name == "sw-deny":
            raise drv_exc.AuthenticationFailed(f"login refused for password {self.password}", device=self.name)
        with FakeDriver.lock:
            FakeDriver.active += 1
            FakeDriver.peak = max(FakeDriver.peak, FakeDriver.active)
        return self

    def __exit__(self, *exc):
        with FakeDriver.lock:
            FakeDriver.active -= 1

    def get_facts(self):
        time.sleep(self.delay)
        return dict(FLEET.get(self.name, {"model": "C9300-24P", "os_version": "17.9.5"}))


def _targets(names=("sw-1", "sw-2", "ph-1", "ph-2", "sw-down", "sw-deny")):
    return [Target(name=n, platform="fake", host="127.0.0.1", username="admin", password=SECRET) for n in names]


def _driver_for(platform):
    if platform != "fake":
        raise ValueError(f"no driver for platform {platform!r}")
    return FakeDriver


def _collect(targets, max_workers=8):
    return collector.collect(targets, max_workers=max_workers, driver_for=_driver_for)


def _build(tmp_path, now, **kw):
    return build.build_inventory(POLICY, _targets(), kw.pop("linux", []), str(tmp_path), now=now,
                                 collector=_collect, **kw)


NOW = dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC)


def test_statuses_follow_the_baseline(tmp_path):
    inventory, _ = _build(tmp_path, NOW)
    by_name = {d["name"]: d for d in inventory["devices"]}
    assert by_name["sw-1"]["status"] == "compliant"            # 17.9.5 == 17.09.05
    assert by_name["sw-2"]["status"] == "outdated" and by_name["sw-2"]["direction"] == "older"
    assert by_name["ph-1"]["status"] == "compliant"
    assert by_name["ph-2"]["status"] == "unknown_model"
    assert by_name["sw-down"]["status"] == "unreachable" and by_name["sw-down"]["error_type"] == "ConnectionFailed"
    assert by_name["sw-deny"]["error_type"] == "AuthenticationFailed"
    assert by_name["ghost"]["status"] == "unreachable" and "not in the Ansible inventory" in by_name["ghost"]["detail"]
    assert inventory["summary"] == {"compliant": 2, "outdated": 1, "unknown_model": 1, "unreachable": 3, "unparsed": 0}
    assert by_name["sw-1"]["last_reboot"] == "2026-11-27T19:00:00Z"
    assert SECRET not in json.dumps(inventory)


def test_results_keep_target_order_and_run_concurrently():
    FakeDriver.peak, FakeDriver.delay = 0, 0.05
    try:
        names = [f"sw-{i:03d}" for i in range(40)]
        results = _collect(_targets(names), max_workers=16)
    finally:
        FakeDriver.delay = 0.0
    assert [r.name for r in results] == names
    assert all(r.reachable for r in results)
    assert FakeDriver.peak > 1


def test_unknown_platform_is_reported_not_raised():
    [result] = collector.collect([Target(name="x", platform="nope", host="127.0.0.1")], driver_for=_driver_for)
    assert result.error_type == "UnsupportedPlatform" and "nope" in result.error


def test_first_seen_survives_runs_and_changes_are_attributed(tmp_path):
    first, changed = _build(tmp_path, NOW)
    assert changed and {d["name"]: d["first_seen"] for d in first["devices"]}["sw-2"] == "2026-11-27T20:00:00Z"
    again, changed = _build(tmp_path, NOW + dt.timedelta(days=1))
    assert not changed
    assert {d["name"]: d["first_seen"] for d in again["devices"]}["sw-2"] == "2026-11-27T20:00:00Z"

    audit_trail.append(str(tmp_path), {"kind": "firmware_attempt", "device": "sw-2", "from_version": "17.9.4",
                                       "to_version": "17.9.5", "result": "success", "operator": "ita",
                                       "end": "2026-11-29T02:30:00Z"})
    FLEET["sw-2"]["os_version"] = "17.9.5"
    try:
        upgraded, changed = _build(tmp_path, NOW + dt.timedelta(days=2))
    finally:
        FLEET["sw-2"]["os_version"] = "17.9.4"
    sw2 = {d["name"]: d for d in upgraded["devices"]}["sw-2"]
    assert changed and sw2["status"] == "compliant" and sw2["first_seen"] == "2026-11-29T20:00:00Z"
    assert sw2["changed_by"]["operator"] == "ita" and sw2["changed_by"]["kind"] == "firmware_attempt"
    history = json.loads((tmp_path / "versions-state.json").read_text())["devices"]["sw-2"]["os"]["history"]
    assert history == [{"version": "17.9.4", "first_seen": "2026-11-27T20:00:00Z"}]


def test_linux_hosts_and_packages(tmp_path):
    linux = [{"name": "pbx-01", "kernel": "6.1.0-28-amd64", "os_release": "Debian 12.8", "os_version": "12.8",
              "model": "debian-12", "packages": {"openssl": [{"version": "3.0.15-1~deb12u1", "arch": "amd64"}],
                                                  "nftables": "1.0.6-2+deb12u2"}, "uptime_seconds": "360"},
             {"name": "ai-gw-01", "error": "UNREACHABLE: ssh timed out"}]
    inventory, _ = _build(tmp_path, NOW, linux=linux)
    by_name = {d["name"]: d for d in inventory["devices"]}
    assert by_name["pbx-01"]["kernel"] == "6.1.0-28-amd64"
    assert by_name["pbx-01"]["packages"]["openssl"] == {"version": "3.0.15-1~deb12u1",
                                                        "first_seen": "2026-11-27T20:00:00Z", "changed_by": None}
    assert by_name["pbx-01"]["last_reboot"] == "2026-11-27T19:54:00Z"
    assert by_name["pbx-01"]["status"] == "unknown_model"    # no linux baseline in this policy
    assert by_name["ai-gw-01"]["status"] == "unreachable"


def test_csv_never_carries_a_formula(tmp_path):
    inventory, _ = _build(tmp_path, NOW)
    rows = list(csv.DictReader(io.StringIO(build.inventory_csv(inventory).decode())))
    serial = {r["name"]: r["serial"] for r in rows}["ph-1"]
    assert serial.startswith("'=")
    files = build.write_inventory_files(str(tmp_path / "r"), inventory)
    with open(files["inventory.json"]) as handle:
        assert json.load(handle)["summary"] == inventory["summary"]


@pytest.mark.parametrize("running, approved, expected", [
    ("17.9.5", "17.09.05", "same"), ("17.9.4", "17.9.5", "older"), ("17.12.1", "17.9.5", "newer"),
    ("sip88xx.12-0-4MPP0001-41", "sip88xx.12-0-4MPP0001-41", "same"), ("abc", "def", "different"),
])
def test_version_comparison(running, approved, expected):
    assert baseline.compare_versions(running, approved) == expected


def test_snapshot_record_goes_into_the_chain(tmp_path):
    inventory, _ = _build(tmp_path, NOW)
    audit_trail.append(str(tmp_path), build.snapshot_record(inventory))
    [snap] = audit_trail.read_records(str(tmp_path), kind="inventory_snapshot")
    assert ["sw-2", "17.9.4", "outdated"] in snap["devices"] and audit_trail.verify(str(tmp_path)).ok


def test_poly_spaced_model_name_matches_its_baseline():
    """Poly reports ModelNumber "VVX 450" (tests/conformance/poly); the policy says VVX450 (issue #13)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.inventory import baseline

    baselines = baseline.baselines_by_model({"firmware_baselines": [
        {"platform": "poly", "model": "VVX450", "version": "6.4.6.2000", "image": "x", "sha256": "0" * 64}]})
    facts = {"model": "VVX 450", "os_version": "6.4.6.2000"}
    assert baseline.assess("p", "poly", "VVX450", facts, None, baselines)["status"] == baseline.COMPLIANT
    other = {"model": "VVX 250", "os_version": "6.4.6.2000"}
    assert baseline.assess("p", "poly", "VVX450", other, None, baselines)["status"] == baseline.UNKNOWN_MODEL
