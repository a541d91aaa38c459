"""Firmware rollback (incident_rollback.yml -e incident_firmware_hosts) against the lab site: a switch and a phone
upgraded by firmware.yml are brought back to the build they ran before - version from the audit trail, the same
firmware procedure (the switch boots the image still on flash, the phone is pointed at the previous build) - only
inside a window or forced with a reason; the device reports the previous version; a second rollback changes nothing;
a device the toolkit never upgraded is refused; every attempt is recorded as a rollback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "network"))
from network_helpers import run_playbook, task_results

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from lab.firmware_images import image_filename, image_sha256, make_image, start_version

pytestmark = pytest.mark.timeout(900)
DEVICES = {"sw-access-01": ("cisco_ios", "C9200L-24P-4G", "17.9.5"), "phone-101": ("poly", "VVX450", "6.4.6.2000")}
FORCE = {"firmware_force": True, "firmware_force_reason": "INC-46 lab drill"}
ROLLOUT = "Firmware | Roll out the baselines"


def previous_builds(store: Path) -> list[dict]:
    """The builds the lab devices booted first, as a vendor download (kept by the site) would provide them."""
    builds = []
    for platform, model, baseline in DEVICES.values():
        version = start_version(platform, model, baseline)
        image = image_filename(platform, model, version)
        (store / image).write_bytes(make_image(platform, model, version))
        builds.append({"platform": platform, "model": model, "version": version, "image": image,
                       "sha256": image_sha256(platform, model, version)})
    return builds


def devices_of(report) -> dict[str, dict]:
    results = {}
    for label in ("switches", "phones"):
        for outcome in task_results(report, "localhost", f"{ROLLOUT} | {label}"):
            results.update({d["device"]: d for d in outcome.get("devices", [])})
    return results


def version(lab, name: str) -> str:
    return lab.control.status()[name]["version"]


@pytest.fixture(scope="module")
def site(fresh_lab, tmp_path_factory):
    audit_dir = tmp_path_factory.mktemp("rollback-audit")
    common = {"aiphone_audit_dir": str(audit_dir), "aiphone_report_root": str(audit_dir / "reports"),
              "firmware_rollback_builds": previous_builds(fresh_lab.run_dir / "firmware"),
              "incident_reason": "INC-46 new firmware drops calls", "firmware_busy_retry_seconds": 1}
    upgrade = run_playbook(fresh_lab, "playbooks/firmware.yml",
                           extra_vars={**common, **FORCE, "firmware_hosts": list(DEVICES)})
    assert upgrade["returncode"] == 0, upgrade["raw"][-3000:]
    assert {d: r["result"] for d, r in devices_of(upgrade).items()} == dict.fromkeys(DEVICES, "upgraded")
    return common, audit_dir


def rollback(lab, common, *args, **variables) -> dict:
    return run_playbook(lab, "playbooks/incident_rollback.yml", *args,
                        extra_vars={**common, "incident_firmware_hosts": list(DEVICES), **variables})


def test_outside_the_window_nothing_reboots(fresh_lab, site):
    common, _ = site
    report = rollback(fresh_lab, common)
    results = devices_of(report)
    if {r["result"] for r in results.values()} != {"deferred"}:
        pytest.skip("running inside one of the lab site's maintenance windows")
    assert all("next window" in r["reason"] for r in results.values())
    assert {name: version(fresh_lab, name) for name in DEVICES} == {n: v[2] for n, v in DEVICES.items()}


def test_forced_rollback_boots_the_previous_build_then_is_idempotent(fresh_lab, site):
    common, audit_dir = site
    check = rollback(fresh_lab, common, "--check", **FORCE)
    assert {r["result"] for r in devices_of(check).values()} == {"planned"}
    report = rollback(fresh_lab, common, **FORCE)
    assert report["returncode"] == 0, report["raw"][-3000:]
    results = devices_of(report)
    for name, (platform, model, baseline) in DEVICES.items():
        previous = start_version(platform, model, baseline)
        assert (results[name]["result"], results[name]["before"], results[name]["after"]) == (
            "upgraded", baseline, previous), results[name]
        assert version(fresh_lab, name) == previous
    again = rollback(fresh_lab, common, **FORCE)
    assert {r["result"] for r in devices_of(again).values()} == {"compliant"}
    site_dir = audit_trail.site_dir(str(audit_dir), "lab")
    attempts = [r for r in audit_trail.read_records(site_dir, kind="firmware_attempt") if r.get("rollback")]
    # deferred: the run outside the window; started: the intent record before each reboot
    assert {r["result"] for r in attempts} <= {"upgraded", "deferred", "started"}
    assert sum(r["result"] == "started" for r in attempts) == sum(r["result"] == "upgraded" for r in attempts)
    assert sorted((r["device"], r["forced"], r["force_reason"], r["from_version"], r["to_version"])
                  for r in attempts if r["result"] == "upgraded") == sorted(
        (name, True, "INC-46 lab drill", baseline, start_version(platform, model, baseline))
        for name, (platform, model, baseline) in DEVICES.items())
    incidents = [r for r in audit_trail.read_records(site_dir, kind="incident") if r["action"] == "rollback_firmware"]
    assert len(incidents) == 1 and incidents[0]["reason"] == "INC-46 new firmware drops calls"
    assert audit_trail.verify(site_dir).ok


def test_device_never_upgraded_is_refused_and_untouched(fresh_lab, site):
    common, _ = site
    before = version(fresh_lab, "phone-102")
    report = rollback(fresh_lab, common, incident_firmware_hosts=["phone-102"], **FORCE)
    assert report["returncode"] != 0 and "nothing to roll back to" in report["raw"]
    assert version(fresh_lab, "phone-102") == before
