# -*- coding: utf-8 -*-
"""A switch that misbehaves during a change (issue 12): each lab fault, the driver's commit against it, and what
the operator is told. Every test starts from the lab's factory config (a flash copy) and leaves it there."""

from __future__ import annotations

import pytest
from network_helpers import run_playbook, task_results
from switch_fault_helpers import (
    SWITCH,
    ios_driver,
    policy_change,
    restore_baseline,
    save_baseline,
    site_policy,
)

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    ConnectionFailed,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    config_differences,
    parse_running_config,
)

pytestmark = pytest.mark.timeout(300)
CONTROLLER_BACKUP = "/backups/sw-core-01-20261203T000000Z.cfg"


@pytest.fixture(scope="module")
def factory(fresh_lab):
    with ios_driver(fresh_lab) as dev:
        save_baseline(dev, "factory.cfg")
        return dev.get_config()


@pytest.fixture
def switch(fresh_lab, factory):
    """(driver opened on the factory config, the change the policy asks for); the config is reset after."""
    with ios_driver(fresh_lab) as dev:
        dev.load_candidate(policy_change(dev, site_policy(fresh_lab)))
        yield dev
    fresh_lab.control.clear_fault(SWITCH)
    with ios_driver(fresh_lab) as dev:
        restore_baseline(dev, "factory.cfg")


def commit_fails(dev, error):
    with pytest.raises(error) as failure:
        dev.commit(controller_backup=CONTROLLER_BACKUP)
    return failure.value


def assert_back_to(lab, factory: str) -> None:
    with ios_driver(lab) as dev:
        assert config_differences(parse_running_config(factory), parse_running_config(dev.get_config())) == []
    assert lab.control.status()[SWITCH]["dangling_acl_events"] == []


def test_a_line_refused_in_plain_words_stops_the_change_and_is_rolled_back(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "refuse_line", match="^ip access-list extended ACL-DATA-IN$",
                                answer="Error: unrecognized command")
    failure = commit_fails(switch, CommandRejected)
    message = str(failure)
    assert message.startswith(f"{SWITCH}: change failed: ACL definitions (1/2): line ")
    assert "ip access-list extended ACL-DATA-IN -> 'Error: unrecognized command'" in message
    assert "ROLLED BACK" in message and failure.problems == [
        "ip access-list extended ACL-DATA-IN -> 'Error: unrecognized command'"]
    assert switch.rolled_back
    assert_back_to(fresh_lab, factory)


def test_lines_accepted_but_dropped_are_all_listed_and_rolled_back(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "drop_line", match="^description ")
    failure = commit_fails(switch, VerificationFailed)
    wanted = [line for line in switch._candidate if line.strip().startswith("description ")]
    assert len(failure.problems) >= len(wanted) > 10
    assert f"and {len(failure.problems) - 10} more (all of them in `problems`)" in str(failure)
    assert "ROLLED BACK" in str(failure)
    assert_back_to(fresh_lab, factory)


def test_no_end_in_config_mode_is_walked_out_with_exit(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "no_end")
    switch.commit(controller_backup=CONTROLLER_BACKUP)
    assert policy_change(switch, site_policy(fresh_lab)) == []
    assert "(config" not in switch.connection.find_prompt()


def test_write_memory_answering_ok_is_a_save(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "write_answers_ok")
    switch.commit(controller_backup=CONTROLLER_BACKUP)
    assert switch.get_config("startup").count("ip access-list extended") >= 5


def test_write_memory_answering_something_else_is_not(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "write_answers_ok", answer="Copy failed: flash busy")
    with pytest.raises(CommandRejected, match=r"the change is in the running config .* `write memory` did not "
                                              r"confirm: the device answered 'Copy failed: flash busy'"):
        switch.commit(controller_backup=CONTROLLER_BACKUP)


def test_a_failed_flash_backup_is_not_taken_for_one(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "copy_flash_error")
    fresh_lab.control.set_fault(SWITCH, "refuse_line", match="^ip access-list extended ACL-AI-IN$")
    failure = commit_fails(switch, CommandRejected)
    assert switch.backup_file is None
    assert "Error opening running-config (Timed out)" in switch.backup_problem
    assert "ROLLED BACK" in str(failure)   # from the config read before the change: no configure replace needed
    assert_back_to(fresh_lab, factory)


def test_a_session_cut_half_way_is_rolled_back_on_a_fresh_session(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "close_after_lines", lines=70)
    failure = commit_fails(switch, ConnectionFailed)
    assert "line " in str(failure) and "the session was closed" in str(failure) and "ROLLED BACK" in str(failure)
    assert_back_to(fresh_lab, factory)


def test_without_configure_replace_the_inverse_change_restores(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "no_configure_replace")
    fresh_lab.control.set_fault(SWITCH, "drop_line", match="^login block-for ")
    failure = commit_fails(switch, VerificationFailed)
    assert switch.replace_supported is False and "ROLLED BACK" in str(failure)
    assert_back_to(fresh_lab, factory)


def test_a_failed_rollback_says_what_to_restore_and_from_where(fresh_lab, factory, switch):
    fresh_lab.control.set_fault(SWITCH, "no_configure_replace")
    fresh_lab.control.set_fault(SWITCH, "drop_line", match="^login block-for ")
    fresh_lab.control.set_fault(SWITCH, "refuse_line", match="^no ip access-list ")
    message = str(commit_fails(switch, VerificationFailed))
    assert "THE ROLLBACK FAILED" in message
    assert "has no `configure replace`" in message and switch.backup_file in message
    assert CONTROLLER_BACKUP in message and "`reload` without saving" in message
    assert fresh_lab.control.status()[SWITCH]["dangling_acl_events"] == []   # half-restored, never dangling


def test_a_slow_device_is_named_with_the_step(fresh_lab, factory):
    with ios_driver(fresh_lab, timeout=2) as dev:
        fresh_lab.control.set_fault(SWITCH, "slow_responses", delay=4)
        try:
            with pytest.raises(ConnectionFailed, match=rf"^{SWITCH}: `show running-config`: no answer in time "
                                                       r"\(slow or hung device\)"):
                dev.get_config()
        finally:
            fresh_lab.control.clear_fault(SWITCH)


def test_a_device_slow_at_login_is_named_with_what_to_change(fresh_lab, factory):
    """The prompt of a slow box does not come within the session's timeout: a ConnectionFailed naming the device,
    its address and the inventory knob, not netmiko's `Pattern not detected`."""
    fresh_lab.control.set_fault(SWITCH, "slow_responses", delay=15)
    try:
        expected = rf"^{SWITCH} \(127\.0\.0\.1:\d+\): logged in, but the device did not show its prompt in time"
        with pytest.raises(ConnectionFailed, match=expected), ios_driver(fresh_lab, timeout=2) as dev:
            dev.get_config()
    finally:
        fresh_lab.control.clear_fault(SWITCH)


def test_network_yml_tells_the_operator_device_refusal_and_rollback(fresh_lab, factory):
    """The same refusal through the real playbook: the task fails with the driver's message and the whole list."""
    fresh_lab.control.set_fault(SWITCH, "refuse_line", match="^ip access-list extended ACL-DATA-IN$",
                                answer="Error: unrecognized command")
    try:
        report = run_playbook(fresh_lab, "playbooks/network.yml", "--limit", SWITCH, "--tags", "switch_acls")
    finally:
        fresh_lab.control.clear_fault(SWITCH)
    assert report["returncode"] != 0
    result = task_results(report, SWITCH, "Converge to the site policy | acls")[0]
    assert result["failed"] and result["rolled_back"] and result["error"] == "CommandRejected"
    assert result["msg"].startswith(f"{SWITCH}: change failed: ACL definitions (1/2): line ")
    assert "-> 'Error: unrecognized command'" in result["msg"] and "ROLLED BACK" in result["msg"]
    assert result["problems"] == ["ip access-list extended ACL-DATA-IN -> 'Error: unrecognized command'"]
    assert_back_to(fresh_lab, factory)
