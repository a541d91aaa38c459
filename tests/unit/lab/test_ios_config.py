"""The IOS-XE configuration engine of the lab switch, offline: what it accepts, refuses and renders."""

from __future__ import annotations

import pytest

from lab.ios.config import INCOMPLETE, INVALID, ConfigError, ConfigSession, RunningConfig, parse_config
from lab.ios.secrets import matches, type7, untype7
from lab.ios.switch import model_interfaces

INTERFACES = model_interfaces("C9300-24P")


def configure(lines: list[str], config: RunningConfig | None = None) -> RunningConfig:
    config = config or RunningConfig(INTERFACES)
    session = ConfigSession(config)
    for line in lines:
        session.apply(line)
    return config


def refusal(line: str, config: RunningConfig | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        ConfigSession(config or RunningConfig(INTERFACES)).apply(line)
    return error.value


def test_running_config_renders_what_was_configured_and_round_trips():
    config = configure([
        "hostname sw-test", "no service pad", "service password-encryption", "enable secret LabEnable1",
        "username ops privilege 15 secret OpsSecret1", "vlan 20", "name voice", "exit",
        "interface range Gi1/0/1 - 3", "switchport mode access", "switchport access vlan 30",
        "switchport voice vlan 20", "exit", "ip access-list extended MGMT",
        "permit tcp 10.10.10.0 0.0.0.255 any eq 22", "deny ip any any log", "exit",
        "line vty 0 15", "transport input ssh", "access-class MGMT in", "exec-timeout 10", "exit",
        "banner motd ^CAuthorized access only^C", "archive", "log config", "logging enable", "hidekeys",
    ])
    text = config.render("17.9.5")
    for expected in ["hostname sw-test", "no service pad", "vlan 20\n name voice", " switchport voice vlan 20",
                     " 10 permit tcp 10.10.10.0 0.0.0.255 any eq 22", " 20 deny ip any any log",
                     "line vty 0 4\n transport input ssh\n access-class MGMT in\n exec-timeout 10 0",
                     "banner motd ^CAuthorized access only^C", "archive\n log config\n  logging enable\n  hidekeys"]:
        assert expected in text
    assert "OpsSecret1" not in text and "LabEnable1" not in text  # stored as type 9 secrets
    reread, refused = parse_config(text, INTERFACES)
    assert refused == [] and reread.render("17.9.5") == text


def test_no_forms_remove_or_are_remembered():
    config = configure(["ip http server", "logging host 10.0.0.1", "logging host 10.0.0.2", "ip ssh time-out 60"])
    configure(["no ip http server", "no logging host 10.0.0.1", "no ip ssh time-out"], config)
    text = config.render("17.9.5")
    assert "no ip http server" in text and "logging host 10.0.0.2" in text
    assert "logging host 10.0.0.1" not in text and "ip ssh time-out" not in text


def test_setting_a_single_valued_line_again_replaces_it():
    config = configure(["ip ssh version 1", "ip ssh version 2", "hostname a", "hostname b"])
    text = config.render("17.9.5")
    assert text.count("ip ssh version") == 1 and "ip ssh version 2" in text and "hostname b" in text


def test_trunk_allowed_vlan_add_and_remove_merge_like_ios():
    config = configure(["interface Gi1/0/24", "switchport trunk allowed vlan 10,20",
                        "switchport trunk allowed vlan add 30-32", "switchport trunk allowed vlan remove 31"])
    assert config.interface("GigabitEthernet1/0/24")["switchport trunk allowed vlan"] == "10,20,30,32"


def test_acl_entries_are_sequenced_and_removable_by_number():
    config = configure(["ip access-list extended X", "permit udp any any eq 123", "5 deny ip host 10.0.0.9 any",
                        "no 10"])
    entries = [n.line for n in config.nodes["ip access-list extended X"].children.values()]
    assert entries == ["5 deny ip host 10.0.0.9 any"]


@pytest.mark.parametrize("line", ["foo bar", "interface Gi9/0/1", "ip ssh version 3", "switchport mode bogus",
                                  "vlan 5000", "logging host 999.1.1.1", "line vty 0 99"])
def test_unknown_or_invalid_commands_are_refused_never_accepted_silently(line):
    assert refusal(line).message == INVALID


def test_incomplete_command_is_reported():
    assert refusal("hostname").message == INCOMPLETE


def test_invalid_ace_is_refused_inside_the_acl():
    config = configure(["ip access-list extended X"])
    session = ConfigSession(config)
    session.apply("ip access-list extended X")
    with pytest.raises(ConfigError):
        session.apply("permit tcp any any eq")
    assert config.nodes["ip access-list extended X"].children == {}


def test_control_characters_are_refused():
    assert refusal("description a\x07b").message == INVALID


def test_caret_points_at_the_first_wrong_word():
    assert refusal("ip ssh version 3").column == len("ip ssh version ")


def test_multiline_banner_is_collected_until_its_delimiter():
    config = RunningConfig(INTERFACES)
    session = ConfigSession(config)
    assert "End with the character '#'" in session.apply("banner login #")
    session.apply("Line one")
    session.apply("Line two#")
    assert config.nodes["banner login"].line == "banner login ^C\nLine one\nLine two^C"
    reread, refused = parse_config(config.render("17.9.5"), INTERFACES)
    assert refused == [] and reread.nodes["banner login"].line == config.nodes["banner login"].line


def test_secrets_verify_and_type7_round_trips():
    config = configure(["username bob privilege 1 secret Hunter2pass"])
    kind, stored = config.value("username bob").split()[-2:]
    assert kind == "9" and matches("9", stored, "Hunter2pass") and not matches("9", stored, "wrong")
    assert untype7(type7("s3cret")) == "s3cret"


def test_no_form_without_value_removes_the_most_specific_line():
    from lab.ios.grammar import match_no

    _rule, key = match_no("interface", "switchport voice vlan")
    assert key == "switchport voice vlan"
    _rule, key = match_no("interface", "switchport")
    assert key == "switchport"
