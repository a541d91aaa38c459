# -*- coding: utf-8 -*-
"""Helpers of the switch fault tests: the IOS driver on a lab switch, the change the site policy asks of it, a
known starting config on flash, and the verifier's view of what a config lets through."""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    RunningConfig,
    commands_of,
    diff_config,
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import verify_acls

SWITCH = "sw-core-01"
# what makes a zone more open than the policy: a permitted flow it denies, an SVI routing without a (real) ACL
OPEN_KINDS = ("allowed_not_in_policy", "no_acl", "acl_unreadable")


def site_policy(lab):
    """The lab site's validated SitePolicy model (what the renderers and the verifier read)."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

    return load_site_policy(str(lab.inventory_file.parent / "site_policy.yml"))


def ios_driver(lab, name: str = SWITCH, timeout: int = 10):
    host, port = lab.address(name)
    return get_driver("cisco_ios")(host=host, port=port, username=lab.credentials.username,
                                   password=lab.credentials.password, known_hosts_file=str(lab.known_hosts),
                                   name=name, enable_secret=lab.credentials.enable_secret, timeout=timeout)


def policy_change(driver, policy: dict, areas=("management", "vlans", "ports", "acls")) -> list[str]:
    """The lines switch_config would send now (the diff of the rendered intent against the running config)."""
    running = parse_running_config(driver.get_config())
    intent = render_switch(policy, driver.name, switch_facts(running), SwitchOptions(areas=tuple(areas)))
    return commands_of(diff_config(intent.sections, intent.banners, running))


def save_baseline(driver, name: str) -> None:
    driver._send_exec(f"copy running-config flash:{name}")


def restore_baseline(driver, name: str) -> None:
    output = driver._send_exec(f"configure replace flash:{name} force")
    assert "Rollback Done" in output, output


def open_flows(policy: dict, switch: str, running_text: str) -> set[tuple]:
    """Violations of the kinds that mean "more open than the policy", as comparable tuples. An SVI without an
    address does not route, so it opens nothing yet."""
    running = parse_running_config(running_text)
    routed = RunningConfig(running.global_lines, {
        parent: lines for parent, lines in running.sections.items()
        if not parent.startswith("interface Vlan") or any(line.startswith("ip address ") for line in lines)},
        running.banners)
    return {(v.kind, v.src, v.dst, v.protocol, v.ports, v.detail) for v in verify_acls(policy, switch, routed)
            if v.kind in OPEN_KINDS}
