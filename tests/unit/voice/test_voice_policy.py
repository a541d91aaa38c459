"""The policy's voice section: the lab's validates into the typed model, and each malformed value is refused with an
error naming the file, the line, the key path and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    Voice,
    load_site_policy,
)

ROOT = Path(__file__).resolve().parents[3]
LAB_POLICY = ROOT / "inventories" / "lab" / "site_policy.yml"


@pytest.fixture()
def policy() -> dict:
    return yaml.safe_load(LAB_POLICY.read_text())


def refused(data: dict, tmp_path: Path) -> list:
    path = tmp_path / "site_policy.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(PolicyError) as caught:
        load_site_policy(str(path))
    return caught.value.errors


def test_lab_voice_section_is_typed():
    voice = load_site_policy(str(LAB_POLICY)).voice
    assert isinstance(voice, Voice)
    assert voice.edge == "pbx-01" and voice.sip_domain == "sip.lab.example"
    assert voice.agent.address == "10.10.50.11" and voice.agent.extensions == ("100", "199")
    assert voice.agent.port == 5061
    assert [t.name for t in voice.trunks] == ["carrier-sbc"]
    assert [u.username for u in voice.users] == ["101", "102", "103"]
    assert voice.limits.auth_failures == 5 and voice.limits.ban_seconds == 300
    assert voice.certificate.source == "self_signed"


def test_voice_section_is_optional(policy, tmp_path):
    del policy["voice"]
    path = tmp_path / "site_policy.yml"
    path.write_text(yaml.safe_dump(policy))
    model = load_site_policy(str(path))
    assert model.voice is None
    assert model.secret_vars("voice") == []


def test_voice_passwords_are_secret_vars():
    model = load_site_policy(str(LAB_POLICY))
    assert model.secret_vars("voice") == ["vault_sip_101_password", "vault_sip_102_password", "vault_sip_103_password"]
    assert set(model.secret_vars("voice")) <= set(model.secret_vars())


def _set(data, path, value):
    *parents, last = path
    for key in parents:
        data = data[key]
    data[last] = value


V = ["voice"]
CASES = [
    ("edge-unknown", lambda d: _set(d, V + ["edge"], "pbx-99"), "voice.edge", "not a device"),
    ("edge-not-linux", lambda d: _set(d, V + ["edge"], "sw-core-01"), "voice.edge", "linux host"),
    ("domain-injection", lambda d: _set(d, V + ["sip_domain"], 'lab"; exit'), "voice.sip_domain", "host name"),
    ("signalling-unknown", lambda d: _set(d, V + ["signalling_service"], "sips"), "voice.signalling_service",
     "unknown service"),
    ("signalling-udp", lambda d: _set(d, V + ["signalling_service"], "dns"), "voice.signalling_service",
     "must be a tcp service"),
    ("signalling-5060", lambda d: _set(d, ["services", "sip-tls", "ports"], [5060]), "voice.signalling_service",
     "only over TLS on port 5061"),
    ("signalling-no-flow", lambda d: _set(d, ["flows"], [f for f in d["flows"] if f["service"] != "sip-tls"]),
     "voice.signalling_service", "no flow allows it"),
    ("media-tcp", lambda d: _set(d, V + ["media_service"], "https"), "voice.media_service", "must be a udp service"),
    ("media-one-port", lambda d: _set(d, ["services", "rtp", "ports"], [10000]), "voice.media_service",
     "one UDP port range"),
    ("agent-not-ip", lambda d: _set(d, V + ["agent", "address"], "agent.lab.example"), "voice.agent.address",
     "IPv4 address"),
    ("agent-loopback", lambda d: _set(d, V + ["agent", "address"], "127.0.0.1"), "voice.agent.address",
     "unicast host address"),
    ("agent-port", lambda d: _set(d, V + ["agent", "port"], 70000), "voice.agent.port", "70000"),
    ("extension-not-digits", lambda d: _set(d, V + ["agent", "extensions"], ["100|.*"]),
     "voice.agent.extensions[0]", "digits only"),
    ("extensions-empty", lambda d: _set(d, V + ["agent", "extensions"], []), "voice.agent.extensions", "[]"),
    ("trunk-not-ip", lambda d: _set(d, V + ["trunks", 0, "address"], "0.0.0.0/0"), "voice.trunks[0].address",
     "IPv4 address"),
    ("trunk-duplicate", lambda d: d["voice"]["trunks"].append({"name": "carrier-sbc", "address": "192.0.2.11"}),
     "voice.trunks[1].name", "duplicate trunk name"),
    ("user-injection", lambda d: _set(d, V + ["users", 0, "username"], "101:x"), "voice.users[0].username",
     "SIP user name"),
    ("user-duplicate", lambda d: _set(d, V + ["users", 1, "username"], "101"), "voice.users[1].username",
     "duplicate SIP user"),
    ("user-is-extension", lambda d: _set(d, V + ["users", 0, "username"], "100"), "voice.users[0].username",
     "agent.extensions"),
    ("password-var-bad", lambda d: _set(d, V + ["users", 0, "password_var"], "{{ lookup('pipe','id') }}"),
     "voice.users[0].password_var", "Ansible variable name"),
    ("auth-failures-zero", lambda d: _set(d, V + ["limits", "auth_failures"], 0), "voice.limits.auth_failures",
     "minimum"),
    ("ban-too-short", lambda d: _set(d, V + ["limits", "ban_seconds"], 1), "voice.limits.ban_seconds", "minimum"),
    ("certificate-files-without-paths", lambda d: _set(d, V + ["certificate"], {"source": "files"}),
     "voice.certificate.cert_file", "is required"),
    ("certificate-relative", lambda d: _set(d, V + ["certificate"], {"source": "files", "cert_file": "edge.pem",
                                                                    "key_file": "/etc/x.key"}),
     "voice.certificate.cert_file", "absolute file path"),
    ("unknown-key", lambda d: _set(d, V + ["listen_udp"], True), "voice.listen_udp", "unknown key"),
    ("missing-agent", lambda d: d["voice"].pop("agent"), "voice.agent", "is required"),
]


@pytest.mark.parametrize(("case", "mutate", "key_path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_voice_section_is_refused_naming_the_key(policy, tmp_path, case, mutate, key_path, fragment):
    mutate(policy)
    errors = refused(policy, tmp_path)
    matching = [e for e in errors if e.path == key_path]
    assert matching, f"{case}: no error for {key_path}; got:\n" + "\n".join(map(str, errors))
    assert any(fragment in e.message for e in matching), "\n".join(map(str, matching))
    assert all(e.line for e in matching), "the error should carry the line of the offending key"
    assert str(matching[0]).startswith(f"{tmp_path / 'site_policy.yml'}:{matching[0].line}: {key_path} = ")
