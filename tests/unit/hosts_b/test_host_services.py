"""host_services' reading of `systemctl show` and its plan: the semantics of ansible.builtin.systemd_service
(ansible-core's modules/systemd_service.py: is_running_service, the is-enabled states it enables again), one
systemctl call for every unit. The blocks below are systemd 252's output (Debian 12's lab image:
`systemctl show --all -p Id,LoadState,LoadError,ActiveState,UnitFileState,NeedDaemonReload -- ...`)."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.modules.host_services import UnitError, check_unit, parse_show, plan

SHOW = """Id=ssh.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled
NeedDaemonReload=no
LoadError=

Id=nope.service
LoadState=not-found
ActiveState=inactive
UnitFileState=
NeedDaemonReload=no
LoadError=org.freedesktop.systemd1.NoSuchUnit "Unit nope.service not found."
"""


def status(load="loaded", file_state="enabled", active="active"):
    return {"LoadState": load, "UnitFileState": file_state, "ActiveState": active, "LoadError": ""}


def test_one_block_per_unit_in_the_order_asked():
    ssh, nope = parse_show(SHOW, 2)
    assert ssh["Id"] == "ssh.service" and ssh["UnitFileState"] == "enabled"
    assert nope["LoadState"] == "not-found" and "not found" in nope["LoadError"]


@pytest.mark.parametrize(("output", "count", "words"), [
    (SHOW, 3, "2 block(s) for 3 unit(s)"),                      # a unit dropped from the answer
    ("Id=x.service\nsomething odd\n", 1, "unexpected line"),
    ("Id=x.service\nLoadState=loaded\n", 1, "did not report ActiveState"),
])
def test_an_answer_that_does_not_add_up_fails_loudly(output, count, words):
    with pytest.raises(UnitError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_show(output, count)


@pytest.mark.parametrize(("unit", "found", "actions"), [
    ({"name": "rsyslog", "enabled": True, "state": "started"}, status(), []),
    ({"name": "rsyslog", "enabled": True, "state": "started"}, status(file_state="disabled", active="inactive"),
     ["enable", "start"]),
    ({"name": "rsyslog", "enabled": True}, status(file_state="static", active="inactive"), []),
    # what systemd_service enables again: enabled at runtime only, indirect, alias
    ({"name": "rsyslog", "enabled": True}, status(file_state="enabled-runtime"), ["enable"]),
    ({"name": "rsyslog", "enabled": True}, status(file_state="indirect"), ["enable"]),
    ({"name": "timer", "state": "started"}, status(active="activating"), []),
    ({"name": "timer", "state": "started"}, status(active="failed"), ["start"]),
    ({"name": "old.timer", "enabled": False, "state": "stopped"}, status(), ["disable", "stop"]),
    ({"name": "old.timer", "enabled": False, "state": "stopped"}, status(active="deactivating"), ["disable", "stop"]),
    ({"name": "old.timer", "enabled": False, "state": "stopped"}, status(file_state="disabled", active="inactive"), []),
    ({"name": "old.timer", "enabled": False}, status(file_state="static"), []),
    # nothing to disable or stop where there is no unit, or a masked one
    ({"name": "gone.timer", "enabled": False, "state": "stopped"}, status(load="not-found", file_state=""), []),
    ({"name": "gone.timer", "enabled": False, "state": "stopped"}, status(load="masked", file_state="masked"), []),
])
def test_only_what_differs_is_acted_on(unit, found, actions):
    assert plan(unit, found, check_mode=False) == actions


def test_a_unit_that_is_not_installed_fails_a_real_run_and_is_planned_in_check_mode():
    unit = {"name": "aiphone-retention.timer", "enabled": True, "state": "started"}
    missing = status(load="not-found", file_state="", active="inactive")
    with pytest.raises(UnitError, match=r"aiphone-retention\.timer is not installed"):
        plan(unit, missing, check_mode=False)
    assert plan(unit, missing, check_mode=True) == ["enable", "start"]


@pytest.mark.parametrize(("found", "words"), [
    (status(load="masked", file_state="masked"), "is masked: unmask it"),
    (dict(status(load="bad-setting"), LoadError="Unit has a bad setting"), r"did not load \(bad-setting\)"),
])
def test_a_masked_or_broken_unit_that_should_run_fails_naming_it(found, words):
    with pytest.raises(UnitError, match=words):
        plan({"name": "rsyslog", "enabled": True, "state": "started"}, found, check_mode=True)


@pytest.mark.parametrize(("unit", "words"), [
    ({"name": "--now", "enabled": True}, "not a systemd unit name"),
    ({"name": "ssh; reboot", "enabled": True}, "not a systemd unit name"),
    ({"name": "ssh\n", "state": "started"}, "not a systemd unit name"),
    ({"name": "ssh"}, "give enabled, state or both"),
])
def test_names_that_are_not_unit_names_are_refused(unit, words):
    with pytest.raises(UnitError, match=words):
        check_unit(unit)
