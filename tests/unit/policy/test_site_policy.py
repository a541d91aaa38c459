"""The site policy model: the shipped policies validate, and each malformed policy is refused with an error that
names the file, the key path and the offending value — all errors in one run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    expand_flows,
    load_site_policy,
    parse_duration,
    service_port_ranges,
    site_policy_from_data,
    validate_site_policy,
)

ROOT = Path(__file__).resolve().parents[3]
LAB_POLICY = ROOT / "inventories" / "lab" / "site_policy.yml"
SHIPPED_POLICIES = sorted(ROOT.glob("inventories/*/site_policy.yml"))


@pytest.fixture()
def policy() -> dict:
    return yaml.safe_load(LAB_POLICY.read_text())


def refused(data: dict, tmp_path: Path) -> list:
    path = tmp_path / "site_policy.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(PolicyError) as caught:
        load_site_policy(str(path))
    for issue in caught.value.errors:
        assert issue.file == str(path)
    return caught.value.errors


@pytest.mark.parametrize("path", SHIPPED_POLICIES, ids=lambda p: p.parent.name)
def test_shipped_policies_validate(path):
    policy = load_site_policy(str(path))
    assert policy.raw["schema_version"] == 1


def test_at_least_lab_and_example_site_are_shipped():
    assert {p.parent.name for p in SHIPPED_POLICIES} >= {"lab", "example_site"}


def _set(data, path, value):
    *parents, last = path
    for key in parents:
        data = data[key]
    data[last] = value


def _delete(data, path):
    *parents, last = path
    for key in parents:
        data = data[key]
    del data[last]


def _zone(name, vlan, subnet, gateway, purpose="data"):
    return {"name": name, "vlan": vlan, "subnet": subnet, "gateway": gateway, "purpose": purpose}


# (case id, mutation, expected key path, fragment of the message)
CASES = [
    ("vlan-1", lambda d: _set(d, ["zones", 1, "vlan"], 1), "zones[1].vlan", "2 to 4094"),
    ("vlan-reserved-1002", lambda d: _set(d, ["zones", 1, "vlan"], 1002), "zones[1].vlan", "1002-1005"),
    ("vlan-too-high", lambda d: _set(d, ["zones", 0, "vlan"], 4095), "zones[0].vlan", "2 to 4094"),
    ("vlan-not-int", lambda d: _set(d, ["zones", 0, "vlan"], "ten"), "zones[0].vlan", "not of type 'integer'"),
    ("vlan-duplicate", lambda d: _set(d, ["zones", 2, "vlan"], 20), "zones[2].vlan", "duplicate VLAN id"),
    ("zone-name-duplicate", lambda d: _set(d, ["zones", 3, "name"], "voice"), "zones[3].name", "duplicate zone"),
    ("subnet-host-bits", lambda d: _set(d, ["zones", 0, "subnet"], "10.10.10.7/24"), "zones[0].subnet",
     "did you mean 10.10.10.0/24"),
    ("subnet-garbage", lambda d: _set(d, ["zones", 0, "subnet"], "10.10.300.0/24"), "zones[0].subnet",
     "not a valid IPv4 subnet"),
    ("subnet-overlap", lambda d: d["zones"].append(_zone("lab2", 60, "10.10.20.128/25", "10.10.20.129")),
     "zones[5].subnet", "overlaps zones[1].subnet"),
    ("gateway-outside", lambda d: _set(d, ["zones", 0, "gateway"], "10.10.11.1"), "zones[0].gateway",
     "not inside the zone's subnet"),
    ("gateway-network-address", lambda d: _set(d, ["zones", 0, "gateway"], "10.10.10.0"), "zones[0].gateway",
     "network or broadcast"),
    ("zone-unknown-key", lambda d: _set(d, ["zones", 0, "colour"], "red"), "zones[0].colour", "unknown key"),
    ("zone-missing-subnet", lambda d: _delete(d, ["zones", 0, "subnet"]), "zones[0].subnet", "is required"),
    ("zone-purpose-unknown", lambda d: _set(d, ["zones", 0, "purpose"], "printers"), "zones[0].purpose",
     "must be one of"),
    ("zone-name-injection", lambda d: _set(d, ["zones", 0, "name"], "mgmt\nend"), "zones[0].name",
     "lower-case identifier"),
    ("port-zero", lambda d: _set(d, ["services", "ssh", "ports"], [0]), "services.ssh.ports[0]", ""),
    ("port-too-high", lambda d: _set(d, ["services", "rtp", "ports"], ["10000-70000"]), "services.rtp.ports[0]",
     "between 1 and 65535"),
    ("port-range-reversed", lambda d: _set(d, ["services", "rtp", "ports"], ["20000-10000"]),
     "services.rtp.ports[0]", "reversed"),
    ("protocol-unknown", lambda d: _set(d, ["services", "ssh", "protocol"], "sctp"), "services.ssh.protocol",
     "must be one of"),
    ("flow-unknown-zone", lambda d: _set(d, ["flows", 0, "from"], "lobby"), "flows[0].from", "unknown zone"),
    ("flow-unknown-target", lambda d: _set(d, ["flows", 0, "to"], "aii"), "flows[0].to", "unknown zone"),
    ("flow-unknown-service", lambda d: _set(d, ["flows", 0, "service"], "sip"), "flows[0].service",
     "unknown service"),
    ("flow-duplicate", lambda d: d["flows"].append(dict(d["flows"][0])), "flows[12]", "already listed"),
    ("device-platform-unsupported", lambda d: _set(d, ["devices", 0, "platform"], "junos"), "devices[0].platform",
     "must be one of"),
    ("device-name-injection", lambda d: _set(d, ["devices", 0, "name"], "sw;reload"), "devices[0].name",
     "hostname"),
    ("device-name-duplicate", lambda d: _set(d, ["devices", 7, "name"], "phone-101"), "devices[7].name",
     "duplicate device name"),
    ("device-zone-unknown", lambda d: _set(d, ["devices", 6, "zone"], "lobby"), "devices[6].zone", "unknown zone"),
    ("device-address-outside-zone", lambda d: _set(d, ["devices", 4, "address"], "10.10.10.50"),
     "devices[4].address", "not inside the zone's subnet"),
    ("switch-port-not-a-switch", lambda d: _set(d, ["devices", 6, "switch_port", "switch"], "pbx-01"),
     "devices[6].switch_port.switch", "not a switch"),
    ("switch-port-taken", lambda d: _set(d, ["devices", 7, "switch_port", "interface"], "GigabitEthernet1/0/1"),
     "devices[7].switch_port.interface", "port already used by devices[6]"),
    ("interface-injection", lambda d: _set(d, ["devices", 6, "switch_port", "interface"], "Gi1/0/1 | reload"),
     "devices[6].switch_port.interface", "interface name"),
    ("sha256-short", lambda d: _set(d, ["firmware_baselines", 0, "sha256"], "abc123"),
     "firmware_baselines[0].sha256", "64 hexadecimal"),
    ("image-path-traversal", lambda d: _set(d, ["firmware_baselines", 0, "image"], "../../etc/passwd"),
     "firmware_baselines[0].image", "plain file name"),
    ("baseline-duplicate", lambda d: d["firmware_baselines"].append(dict(d["firmware_baselines"][0])),
     "firmware_baselines[7]", "duplicate baseline"),
    ("window-start-garbage", lambda d: _set(d, ["maintenance", "windows", 0, "start"], "25:99"),
     "maintenance.windows[0].start", "time of day"),
    ("window-too-long", lambda d: _set(d, ["maintenance", "windows", 0, "duration"], "25h"),
     "maintenance.windows[0].duration", "15 minutes to 24 hours"),
    ("window-own-timezone", lambda d: _set(d, ["maintenance", "windows", 0, "timezone"], "Europe/Atlantis"),
     "maintenance.windows[0].timezone", "unknown key"),
    ("window-daily-and-days", lambda d: _set(d, ["maintenance", "windows", 0, "days"], ["daily", "sun"]),
     "maintenance.windows[0].days", "stands alone"),
    ("window-bad-day", lambda d: _set(d, ["maintenance", "windows", 0, "days"], ["sunday"]),
     "maintenance.windows[0].days[0]", "must be one of"),
    ("blackout-not-a-date", lambda d: _set(d, ["maintenance", "blackout_dates"], ["2026-02-30"]),
     "maintenance.blackout_dates[0]", "not a date"),
    ("site-timezone", lambda d: _set(d, ["site", "timezone"], "CEST"), "site.timezone", "unknown timezone"),
    ("retention-unparseable", lambda d: _set(d, ["retention", "recordings"], "three months"),
     "retention.recordings", "duration"),
    ("retention-zero", lambda d: _set(d, ["retention", "transcripts"], "0d"), "retention.transcripts",
     "at least 1d"),
    ("person-role-unknown", lambda d: _set(d, ["people", 0, "roles"], ["root"]), "people[0].roles[0]",
     "must be one of"),
    ("person-username-duplicate", lambda d: _set(d, ["people", 1, "username"], "sofia"), "people[1].username",
     "duplicate username"),
    ("person-is-automation", lambda d: _set(d, ["people", 1, "username"], "aiphone-automation"),
     "people[1].username", "automation account"),
    ("full-name-colon", lambda d: _set(d, ["people", 0, "full_name"], "Sofia:x:0:0"), "people[0].full_name",
     "person's name"),
    ("banner-newline", lambda d: _set(d, ["network", "banner"], "Authorized only\nend\nreload"), "network.banner",
     "no newline"),
    ("banner-bang", lambda d: _set(d, ["network", "banner"], "Keep out!"), "network.banner", "not allowed"),
    ("native-vlan-used-by-zone", lambda d: _set(d, ["network", "native_vlan"], 20), "network.native_vlan",
     "already carries a zone"),
    ("native-equals-blackhole", lambda d: _set(d, ["network", "native_vlan"], 999), "network.native_vlan",
     "must differ"),
    ("ntp-not-ip", lambda d: _set(d, ["network", "ntp_servers"], ["pool.ntp.org; reload"]),
     "network.ntp_servers[0]", "IP address"),
    ("ssid-quote", lambda d: _set(d, ["wireless", "ssids", 0, "name"], 'Staff"; reboot'), "wireless.ssids[0].name",
     "SSID"),
    ("ssid-transition-without-reason", lambda d: _delete(d, ["wireless", "ssids", 1, "transition_reason"]),
     "wireless.ssids[1].transition_reason", "is required"),
    ("ssid-unknown-zone", lambda d: _set(d, ["wireless", "ssids", 0, "zone"], "lobby"), "wireless.ssids[0].zone",
     "unknown zone"),
    ("enterprise-without-radius", lambda d: _set(d, ["wireless", "ssids", 0, "security"], "wpa3-enterprise"),
     "wireless.ssids[0].security", "radius_servers"),
    ("c9800-radius-by-name", lambda d: (_set(d, ["wireless", "ssids", 0, "security"], "wpa3-enterprise"),
                                        _set(d, ["wireless", "radius_servers"],
                                             [{"host": "radius.lab.example", "secret_var": "vault_radius"}])),
     "wireless.radius_servers[0].host", "IPv4 address"),
    ("schema-version", lambda d: _set(d, ["schema_version"], 2), "schema_version", "schema_version 1"),
    ("missing-zones", lambda d: _delete(d, ["zones"]), "zones", "is required"),
    ("unknown-top-level-key", lambda d: _set(d, ["firewalls"], []), "firewalls", "unknown key"),
]


@pytest.mark.parametrize(("case", "mutate", "key_path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_malformed_policy_is_refused_naming_the_key(policy, tmp_path, case, mutate, key_path, fragment):
    mutate(policy)
    errors = refused(policy, tmp_path)
    matching = [e for e in errors if e.path == key_path]
    assert matching, f"{case}: no error for {key_path}; got:\n" + "\n".join(map(str, errors))
    assert any(fragment in e.message for e in matching), "\n".join(map(str, matching))
    assert any(e.line for e in matching), "the error should carry the line of the offending key"


def test_case_count_meets_the_bar():
    assert len(CASES) >= 30


INDEPENDENT = ["vlan-reserved-1002", "subnet-host-bits", "port-range-reversed", "flow-unknown-service",
               "device-name-injection", "sha256-short", "window-too-long", "retention-zero", "banner-newline",
               "ssid-quote", "person-role-unknown", "site-timezone"]


def test_every_error_is_reported_in_one_run(policy, tmp_path):
    cases = {case[0]: case for case in CASES}
    for name in INDEPENDENT:
        cases[name][1](policy)
    reported = {e.path for e in refused(policy, tmp_path)}
    missing = {cases[name][2] for name in INDEPENDENT} - reported
    assert not missing, f"not reported in the same run: {missing}"


def test_error_text_names_file_line_path_and_value(policy, tmp_path):
    policy["zones"][1]["vlan"] = 1002
    (error,) = [e for e in refused(policy, tmp_path) if e.path == "zones[1].vlan"]
    text = str(error)
    assert text.startswith(f"{tmp_path / 'site_policy.yml'}:{error.line}: zones[1].vlan = 1002: ")


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path):
    path = tmp_path / "site_policy.yml"
    path.write_text("schema_version: 1\nzones:\n  - name: [unclosed\n")
    with pytest.raises(PolicyError) as caught:
        load_site_policy(str(path))
    (issue,) = caught.value.errors
    assert "not valid YAML" in issue.message and issue.line == 4


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_site_policy(str(tmp_path / "nope.yml"))


def test_non_mapping_is_refused():
    with pytest.raises(PolicyError, match="must be a mapping"):
        validate_site_policy(["zones"], "x.yml")


def test_unquoted_all_digit_checksum_is_caught(policy, tmp_path):
    path = tmp_path / "site_policy.yml"
    text = yaml.safe_dump(policy, sort_keys=False)
    sha = policy["firmware_baselines"][0]["sha256"]
    path.write_text(text.replace(f"'{sha}'", "1" * 64).replace(sha, "1" * 64, 1))
    with pytest.raises(PolicyError) as caught:
        load_site_policy(str(path))
    assert any(e.path == "firmware_baselines[0].sha256" for e in caught.value.errors)


def test_expand_flows_expands_any_and_port_ranges(policy):
    flows = expand_flows(site_policy_from_data(policy))
    ssh_targets = {f.dst for f in flows if f.src == "mgmt" and f.service == "ssh"}
    assert ssh_targets == {"voice", "data", "guest", "ai"}
    (rtp,) = [f for f in flows if f.src == "voice" and f.service == "rtp"]
    assert (rtp.protocol, rtp.port_lo, rtp.port_hi) == ("udp", 10000, 20000)


def test_service_port_ranges(policy):
    assert service_port_ranges(site_policy_from_data(policy), "dhcp") == [("udp", 67, 67), ("udp", 68, 68)]


@pytest.mark.parametrize(("text", "seconds"), [("90d", 90 * 86400), ("1h30m", 5400), ("12w", 12 * 7 * 86400),
                                               ("1y", 365 * 86400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "90", "d90", "1h 30m", "3 months"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_validation_does_not_modify_the_input(policy):
    before = copy.deepcopy(policy)
    validate_site_policy(policy, "x.yml")
    assert policy == before
