"""Network hardening benchmark: the pure pipeline (render -> diff -> simulated apply -> verify) for a generated site.

    python bench/network_bench.py --size 1000      # lab.topology.generate_policy(size): ~40 switches

Prints, per phase, the wall time for all switches of the site and per switch. Device I/O is not included (see
the figures of the lab runs in the final report / docs); this isolates the toolkit's own CPU cost.
"""

from __future__ import annotations

import argparse
import time

from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    commands_of,
    diff_config,
    parse_running_config,
    render_sections,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import verify_site
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import site_policy_from_data
from lab import topology


def factory_config(ports: int) -> str:
    lines = ["hostname sw", "ip http server", "snmp-server community public RO"]
    for n in range(1, ports + 1):
        lines += [f"interface GigabitEthernet1/0/{n}", "!"]
    lines += ["line vty 0 4", " transport input ssh telnet", "line vty 5 15", " transport input ssh telnet"]
    return "\n".join(lines) + "\nend\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    raw = topology.generate_policy(args.size)
    policy = site_policy_from_data(raw)          # validated, then the typed model the renderers read
    switches = [d["name"] for d in raw["devices"] if d["platform"] == "cisco_ios"]
    options = SwitchOptions(management_sources=["127.0.0.0/8"])
    factory = factory_config(48)
    timings: dict[str, float] = {}

    start = time.perf_counter()
    running = {name: parse_running_config(factory) for name in switches}
    intents = {name: render_switch(policy, name, switch_facts(running[name]), options) for name in switches}
    timings["parse + render"] = time.perf_counter() - start

    start = time.perf_counter()
    commands = {name: commands_of(diff_config(i.sections, i.banners, running[name])) for name, i in intents.items()}
    timings["diff"] = time.perf_counter() - start

    converged = {name: parse_running_config("\n".join(render_sections(i.sections, i.banners)))
                 for name, i in intents.items()}
    start = time.perf_counter()
    again = sum(len(commands_of(diff_config(i.sections, i.banners, converged[n]))) for n, i in intents.items())
    timings["second diff (converged)"] = time.perf_counter() - start

    start = time.perf_counter()
    violations = verify_site(policy, converged)
    timings["verify site"] = time.perf_counter() - start

    print(f"site of {len(raw['devices'])} devices, {len(switches)} switches, "
          f"{sum(map(len, commands.values()))} lines to converge, {again} on the second run, "
          f"{len(violations)} violations after converge")
    for phase, seconds in timings.items():
        print(f"  {phase:<26} {seconds * 1000:8.1f} ms total  {seconds * 1000 / len(switches):7.2f} ms/switch")


if __name__ == "__main__":
    main()
