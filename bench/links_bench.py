"""Benchmark: the cost of the lab's link model (lab/links.py) per evaluation, at 200 / 1,000 / 3,000 devices.

The lab evaluates every device's switch port from the running configs every LINK_POLL_SECONDS (0.2 s) on its one
event loop, so one evaluation must stay a small fraction of that. Devices are built from a generated site
(lab.topology.generate_policy) but not started: only the configuration reads are timed.

    python bench/links_bench.py [--sizes 200,1000,3000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.device import Credentials, load_platforms
from lab.links import LINK_POLL_SECONDS, LinkModel
from lab.topology import build_topology, generate_policy


def build(size: int, root: Path) -> LinkModel:
    policy = generate_policy(size)
    platforms = load_platforms()
    credentials = Credentials("admin", "bench-password", "bench-enable")
    devices = {spec.name: platforms[spec.platform](spec.name, spec.model, spec.version, "127.0.0.1", 0,
                                                   root / spec.name, credentials, **spec.options)
               for spec in build_topology(policy, 0).devices}
    return LinkModel(policy, devices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,3000")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            model = build(size, Path(tmp))
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                asyncio.run(model.apply())
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(f"{size:5d} devices, {len(model.attached):5d} attached: {median * 1000:7.2f} ms per evaluation "
                  f"({median / LINK_POLL_SECONDS:.1%} of the {LINK_POLL_SECONDS}s poll)")


if __name__ == "__main__":
    main()
