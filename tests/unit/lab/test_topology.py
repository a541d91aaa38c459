"""Lab topology: devices from the site policy, generated sites for scale runs, the inventory groups."""

from __future__ import annotations

import pytest

from lab.device import LabError
from lab.topology import build_topology, generate_policy, inventory, load_policy


def test_small_lab_serves_the_committed_site(tmp_path):
    from lab.topology import LAB_POLICY

    topology = build_topology(load_policy(LAB_POLICY), base_port=0)
    names = {spec.name for spec in topology.devices}
    assert {"sw-core-01", "sw-access-01", "wlc-01", "phone-101"} <= names
    assert topology.linux_hosts == ["pbx-01", "ai-gw-01"]
    core = next(spec for spec in topology.devices if spec.name == "sw-core-01")
    assert core.options["connected_ports"]["GigabitEthernet1/0/24"] == "sw-access-01"


@pytest.mark.parametrize("size", [50, 200, 1000])
def test_generated_site_has_the_requested_size_and_passes_policy_validation(tmp_path, size):
    import yaml

    path = tmp_path / "site_policy.yml"
    path.write_text(yaml.safe_dump(generate_policy(size)))
    policy = load_policy(path)
    simulated = [d for d in policy["devices"] if d["platform"] != "linux"]
    assert len(simulated) == size
    assert {d["platform"] for d in simulated} >= {"cisco_ios", "poly", "yealink", "cisco_mpp"}


def test_too_small_generated_site_is_refused():
    with pytest.raises(LabError, match="too small"):
        generate_policy(2)


def test_inventory_groups_and_localhost(tmp_path):
    result = inventory({"sw": {"platform": "cisco_ios", "ansible_host": "127.0.0.1", "ansible_port": 1},
                        "ph": {"platform": "poly", "ansible_host": "127.0.0.1", "ansible_port": 2}},
                       {"pbx-01": {"ansible_host": "10.89.60.2"}}, tmp_path)["all"]
    assert set(result["children"]) == {"switches", "phones", "linux_hosts", "devices"}
    # device credentials go to the devices group only: the Linux hosts log in with the automation key
    assert set(result["children"]["devices"]["children"]) == {"switches", "phones"}
    assert result["hosts"]["localhost"]["ansible_connection"] == "ansible.builtin.local"
    assert result["vars"]["aiphone_known_hosts_file"] == str(tmp_path / "known_hosts")
