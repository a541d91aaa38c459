"""Inventory plugin aiphone.hardening.site_policy (issue #23): hosts built from the site policy, cached by digest.

The plugin is run the way Ansible runs it (`ansible-inventory` on a plugin file, a process of its own: the
collection loader cannot share a process with tests that import the collection from PYTHONPATH); its pure parts
(build_hosts, load_host_vars) are called directly. On the lab site's policy and a generated 300-device one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.inventory import site_policy as plugin_module
from lab.topology import generate_policy

REPO = Path(__file__).resolve().parents[3]
LAB_POLICY = REPO / "inventories" / "lab" / "site_policy.yml"


def ansible_inventory(path: Path) -> dict:
    """`ansible-inventory --list` of a plugin file: {"hosts": {name: vars}, "groups": {group: [hosts]}}."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PYTHONPATH=os.pathsep.join([str(REPO / "collections"), str(REPO)]))
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list",
                             "--export"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    groups: dict[str, set] = {}

    def members(group: str) -> set:
        if group not in groups:
            body = data.get(group, {})
            groups[group] = set(body.get("hosts", []))
            for child in body.get("children", []):
                groups[group] |= members(child)
        return groups[group]

    for group in data:
        if group != "_meta":
            members(group)
    hosts = set().union(*groups.values()) if groups else set()
    return {"hosts": {name: {key: _plain(value) for key, value in hostvars.get(name, {}).items()} for name in hosts},
            "groups": groups, "stderr": result.stderr}


def _plain(value):
    """--export marks values that are data, not templates, as {"__ansible_unsafe": value}: the value, marked."""
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return Unsafe(value["__ansible_unsafe"])
    return value


class Unsafe(str):
    """A string Ansible will not template."""


def _site(tmp_path: Path, policy: dict | None = None, host_vars: dict | None = None, cache: bool = False,
          name: str = "site.aiphone.yml") -> Path:
    if policy is None:
        shutil.copyfile(LAB_POLICY, tmp_path / "site_policy.yml")
    else:
        (tmp_path / "site_policy.yml").write_text(yaml.safe_dump(policy, sort_keys=False))
    config = {"plugin": "aiphone.hardening.site_policy"}
    if host_vars is not None:
        (tmp_path / "connections.json").write_text(json.dumps(host_vars))
        config["host_vars_file"] = "connections.json"
    if cache:
        config.update({"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                       "cache_connection": str(tmp_path / "cache")})
    (tmp_path / name).write_text(yaml.safe_dump(config))
    return tmp_path / name


def test_every_policy_device_is_a_host_in_its_family_group(tmp_path):
    """One ansible-inventory run: groups, policy variables, host vars file, localhost; and the templates rule."""
    policy = yaml.safe_load(LAB_POLICY.read_text())
    inventory = ansible_inventory(_site(tmp_path, host_vars={"sw-core-01": {"ansible_port": 2201,
                                                                            "note": "{{ 7 * 6 }}"}}))
    names = {d["name"] for d in policy["devices"]}
    assert names | {"localhost"} == set(inventory["hosts"])
    groups = inventory["groups"]
    for device in policy["devices"]:
        assert device["name"] in groups[plugin_module.FAMILY_GROUPS[device["platform"]]]
        assert (device["name"] in groups["devices"]) == (device["platform"] != "linux")
    core = inventory["hosts"]["sw-core-01"]
    wanted = next(d for d in policy["devices"] if d["name"] == "sw-core-01")
    assert (core["platform"], core["model"], core["zone"]) == (wanted["platform"], wanted["model"], wanted["zone"])
    assert core["ansible_host"] == wanted["address"]          # the policy's address ...
    assert core["ansible_port"] == 2201                        # ... and the host vars file's port
    assert core["note"] == "{{ 7 * 6 }}" and isinstance(core["note"], Unsafe)   # data: never rendered to 42
    assert not isinstance(inventory["hosts"]["localhost"]["ansible_python_interpreter"], Unsafe)  # our template
    assert inventory["hosts"]["localhost"]["ansible_connection"] == "ansible.builtin.local"


def test_a_generated_site_of_300_devices(tmp_path):
    policy = generate_policy(300)
    built = plugin_module.build_hosts(str(_site(tmp_path, policy).parent / "site_policy.yml"), None)
    assert len(built["hosts"]) == 302                          # 300 simulated devices and the two Linux hosts
    phones = sum(1 for d in policy["devices"] if plugin_module.FAMILY_GROUPS[d["platform"]] == "phones")
    assert sum(1 for group in built["host_group"].values() if group == "phones") == phones > 250
    assert built["children"] == {"devices": ["switches", "wlcs", "phones"]}   # no AP in a generated site


def test_the_file_name_selects_the_plugin(tmp_path):
    assert not plugin_module.InventoryModule().verify_file(str(_site(tmp_path, name="site.yml")))
    assert plugin_module.InventoryModule().verify_file(str(_site(tmp_path)))


def test_an_invalid_policy_adds_no_host_and_names_the_problem(tmp_path):
    policy = yaml.safe_load(LAB_POLICY.read_text())
    policy["zones"][1]["vlan"] = 1          # reserved VLAN
    path = _site(tmp_path, policy)
    with pytest.raises(Exception, match=r"site policy .* is invalid:\n.*zones\[1\]\.vlan"):
        plugin_module.build_hosts(str(tmp_path / "site_policy.yml"), None)
    assert set(ansible_inventory(path)["hosts"]) <= {"localhost"}   # Ansible warns and adds no device


@pytest.mark.parametrize("host_vars, message", [
    ({"no-such-device": {"ansible_port": 1}}, "not a device of the site policy"),
    ({"sw-core-01": {"ansible_port": {"nested": 1}}}, "must be a string, number or boolean"),
    ({"sw-core-01": {"bad-name": 1}}, "not a variable name"),
    ({"sw-core-01": "127.0.0.1"}, "must be a mapping of variables"),
    ({"sw-core-01": {"ansible_password": "x"}}, "a secret: keep it in the vault"),
])
def test_host_vars_file_is_checked(tmp_path, host_vars, message):
    _site(tmp_path, host_vars=host_vars)
    names = {d["name"] for d in yaml.safe_load(LAB_POLICY.read_text())["devices"]}
    with pytest.raises(Exception, match=message):
        plugin_module.load_host_vars(str(tmp_path / "connections.json"), names)
    assert plugin_module.load_host_vars(str(tmp_path / "connections.json"), names | set(host_vars)) if \
        message == "not a device of the site policy" else True   # positive control: known name accepted


def test_cache_is_used_while_the_digests_match_and_rebuilt_when_a_file_changes(tmp_path):
    path = _site(tmp_path, host_vars={"sw-core-01": {"ansible_port": 2201}}, cache=True)
    assert ansible_inventory(path)["hosts"]["sw-core-01"]["ansible_port"] == 2201   # built, then cached
    [cache_file] = list((tmp_path / "cache").iterdir())
    stored = json.loads(cache_file.read_text())                  # ansible.builtin.jsonfile: {"__payload__": json}
    cached = json.loads(stored["__payload__"])
    cached["hosts"]["sw-core-01"]["ansible_port"] = 9999          # only a run that reads the cache shows this
    cache_file.write_text(json.dumps({**stored, "__payload__": json.dumps(cached)}))
    assert ansible_inventory(path)["hosts"]["sw-core-01"]["ansible_port"] == 9999   # from the cache
    (tmp_path / "connections.json").write_text(json.dumps({"sw-core-01": {"ansible_port": 2202}}))
    assert ansible_inventory(path)["hosts"]["sw-core-01"]["ansible_port"] == 2202   # host vars changed: rebuilt
    policy = yaml.safe_load(LAB_POLICY.read_text())
    policy["devices"] = [d for d in policy["devices"] if d["name"] != "phone-101"]
    (tmp_path / "site_policy.yml").write_text(yaml.safe_dump(policy, sort_keys=False))
    assert "phone-101" not in ansible_inventory(path)["hosts"]                      # policy changed: rebuilt
