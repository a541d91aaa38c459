"""config_change records (issue #14 bullet 2): intent before a push, end after, reconciliation by the next run, and
the audit that does not call an interrupted device clean. Offline: a temporary trail, a stand-in commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, FAIL, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import VerificationFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import unfinished_attempts
from ansible_collections.aiphone.hardening.plugins.module_utils.network import config_change as cc
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from ansible_collections.aiphone.hardening.plugins.modules.audit_verify import unreconciled

REPO = Path(__file__).resolve().parents[3]
SECRET = "CANARY-community-7c1e"
BEFORE = f"!\nCurrent configuration : 120 bytes\nhostname sw1\nsnmp-server community {SECRET} RO\n!\nend\n"
AFTER = BEFORE.replace("hostname sw1", "hostname sw1\nip access-list extended ACL-DATA-IN\n permit ip any any")


def needs(*lines):
    """A stand-in of the intent read-back: the listed lines the text does not hold yet."""
    return lambda text: [line for line in lines if line not in text]


def log_in(tmp_path, run_id="run-1", device="sw1") -> cc.ChangeLog:
    return cc.ChangeLog(str(tmp_path), "lab", device, run_id)


def trail(tmp_path) -> list[dict]:
    return audit_trail.read_records(str(tmp_path / "lab"), kind=cc.RECORD_KIND)


class Driver:
    rolled_back = False
    backup_file = "flash:aiphone-before.cfg"


def test_a_push_is_recorded_before_and_after_without_the_config_text(tmp_path):
    log = log_in(tmp_path)
    sent = []
    cc.recorded_commit(log, Driver(), lambda: sent.append(trail(tmp_path)[-1]["result"]), ["ip access-list x"],
                       BEFORE, "/backups/sw1.cfg", ["ACL definitions"], areas=["acls"])
    assert sent == ["started"]                       # the intent was on disk before the first line went out
    started, end = trail(tmp_path)
    assert started["result"] == "started" and end["result"] == "applied"
    assert started["change_id"] == end["change_id"] and started["run_id"] == "run-1"
    assert started["backup_file"] == "/backups/sw1.cfg" and started["areas"] == ["acls"]
    assert started["before_digest"] == cc.config_digest(BEFORE) and end["device_backup"] == Driver.backup_file
    assert SECRET.encode() not in (tmp_path / "lab" / "trail.jsonl").read_bytes()
    assert cc.open_changes(trail(tmp_path)) == {}
    assert audit_trail.verify(str(tmp_path / "lab")).ok


@pytest.mark.parametrize("rolled_back, result", [(True, "rolled_back"), (False, "failed")])
def test_a_failed_push_is_recorded_as_rolled_back_or_failed_and_raised(tmp_path, rolled_back, result):
    driver = Driver()

    def commit():
        driver.rolled_back = rolled_back
        raise VerificationFailed(f"sw1: line community {SECRET} missing", "sw1")

    with pytest.raises(VerificationFailed):
        cc.recorded_commit(log_in(tmp_path), driver, commit, ["x"], BEFORE, None, [],
                           mask=lambda text: text.replace(SECRET, "********"))
    records = trail(tmp_path)
    assert [r["result"] for r in records] == ["started", result]
    assert SECRET not in records[-1]["reason"] and "VerificationFailed: sw1: line community" in records[-1]["reason"]
    assert cc.open_changes(records) == {}


def killed_push(tmp_path, device="sw1"):
    """What a SIGKILLed run leaves: the intent, no end."""
    log = log_in(tmp_path, device=device)
    log.start(["ip access-list extended ACL-DATA-IN"], BEFORE, "/backups/sw1.cfg", ["ACL definitions"])
    return log


@pytest.mark.parametrize("holds, outcome", [
    (BEFORE.replace("120 bytes", "131 bytes"), cc.MATCHES_BACKUP),   # nothing landed (volatile lines differ)
    (AFTER, cc.MATCHES_INTENT),
    (BEFORE.replace("hostname sw1", "hostname sw1\nip access-list extended ACL-DATA-IN"), cc.NEITHER),
])
def test_the_next_run_reads_back_and_records_what_the_device_holds(tmp_path, holds, outcome):
    killed_push(tmp_path)
    nxt = log_in(tmp_path, run_id="run-2")
    started = nxt.unfinished()
    assert started is not None and started["run_id"] == "run-1"
    record = nxt.reconcile(started, holds, needs("ip access-list extended ACL-DATA-IN", " permit ip any any"))
    assert record["outcome"] == outcome and record["change_id"] == started["change_id"]
    assert record["started_run_id"] == "run-1" and record["run_id"] == "run-2"
    assert record["summary"]["differs_from_intent"] == (1 if outcome == cc.NEITHER else
                                                        2 if outcome == cc.MATCHES_BACKUP else 0)
    assert nxt.unfinished() is None                  # closed by the reconciliation
    assert SECRET.encode() not in (tmp_path / "lab" / "trail.jsonl").read_bytes()


def test_only_the_newest_change_of_a_device_counts_and_other_devices_are_apart(tmp_path):
    killed_push(tmp_path, "sw1")
    killed_push(tmp_path, "sw2")
    done = log_in(tmp_path, device="sw1")
    cc.recorded_commit(done, Driver(), lambda: None, ["x"], BEFORE, None, [])
    assert sorted(cc.open_changes(trail(tmp_path))) == ["sw2"]


def test_without_an_audit_dir_nothing_is_recorded(tmp_path):
    log = cc.ChangeLog(None, "lab", "sw1")
    called = []
    cc.recorded_commit(log, Driver(), lambda: called.append(1), ["x"], BEFORE, None, [])
    assert called == [1] and log.unfinished() is None and not (tmp_path / "lab").exists()


def test_firmware_attempts_use_the_same_fold():
    records = [{"kind": "firmware_attempt", "device": "d1", "attempt_id": "a1", "result": "started"},
               {"kind": "config_change", "device": "d1", "change_id": "a1", "result": "applied"},   # another kind
               {"kind": "firmware_attempt", "device": "d2", "attempt_id": "a2", "result": "started"},
               {"kind": "firmware_attempt", "device": "d2", "attempt_id": "a2", "result": "upgraded"}]
    assert sorted(unfinished_attempts(records)) == ["d1"]


def test_the_audit_does_not_call_an_interrupted_switch_clean_until_reconciled(tmp_path):
    policy = load_site_policy(str(REPO / "inventories" / "lab" / "site_policy.yml"))
    switches = [d.name for d in policy.devices_on(["cisco_ios"])]
    evidence = {"switches": {name: {"violations": []} for name in switches}}

    def judged():
        records = audit_trail.read_records(str(tmp_path / "lab"))
        return CHECKS["switches.acl_matches_policy"](Context(policy, {}, records, None, evidence)), records

    outcome, records = judged()
    assert outcome.status != FAIL                     # negative control: clean evidence, nothing open
    log = killed_push(tmp_path, switches[0])
    outcome, records = judged()
    assert outcome.status == FAIL and any("unreconciled" in line for line in outcome.findings)
    assert [w["device"] for w in unreconciled(records)] == [switches[0]]
    log.reconcile(log.unfinished(), AFTER, needs())
    outcome, records = judged()
    assert outcome.status != FAIL and unreconciled(records) == []
