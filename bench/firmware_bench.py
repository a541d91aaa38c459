"""Whole-site firmware rollout on the lab vs its lower bound.

Site: N switches (IOS-XE simulators over real SSH/SCP) + M phones (Poly / Yealink / Cisco MPP simulators over real
HTTP and SIP, one provisioning server), reboot times scaled down. The lab runs in its own process (as
`python -m lab up` does), the rollout in this one, through the real drivers and the scheduler, the way
playbooks/firmware.yml runs it: switches first (canary, then the rest), then phones (canary per model, then batches).

Lower bound = reboot time x number of sequential batches (a batch can never be shorter than one reboot), summed
over the switch and phone stages. Target: measured <= 1.15 x bound.

    python bench/firmware_bench.py                         # 4 switches + 200 phones
    python bench/firmware_bench.py --phones 60 --switch-reboot 10 --phone-reboot 5
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "collections"), str(REPO), str(REPO / "tests" / "integration" / "firmware")]

from firmware_lab import PHONES, SwitchLab, start_phone_lab, window_schedule

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.procedure import Gate
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import (
    Rollout,
    RolloutOptions,
    registry_factory,
)
from lab.phones.harness import BackgroundLoop


def serve_lab(conn, args, root: str) -> None:
    """Child process: start the site, hand its device specs over, serve until told to stop, report versions."""
    with BackgroundLoop() as bg:
        phone_lab = start_phone_lab(Path(root), bg)
        switch_lab = SwitchLab(phone_lab)
        try:
            started = time.monotonic()
            platforms = list(PHONES)
            for index in range(args.phones):
                phone_lab.add(platforms[index % len(platforms)], f"phone-{index:04d}", reboot_seconds=args.phone_reboot)
            for index in range(args.switches):
                switch_lab.add(f"sw-{index:02d}", reload_seconds=args.switch_reboot)
            conn.send({"switches": [switch_lab.spec(name) for name in switch_lab.switches],
                       "phones": [phone_lab.spec(name) for name in phone_lab.phones],
                       "policy": switch_lab.site_policy(), "firmware_dir": str(phone_lab.firmware_dir),
                       "setup_seconds": time.monotonic() - started})
            conn.recv()
            conn.send({name: phone_lab.version(name) for name in phone_lab.phones}
                      | {name: switch_lab.state(name)["version"] for name in switch_lab.switches})
        finally:
            switch_lab.stop()
            phone_lab.stop()


def provision_yealink_prerequisites(specs) -> float:
    """The site as phones.yml leaves it: every Yealink's MAC file holds the driver's prerequisites (check-sync
    never reboots, no prompt, the controller allowed). Without them the first firmware activate of a Yealink
    provisions them and watches for a reboot first (its reboot start time: one reboot longer per batch)."""
    from concurrent.futures import ThreadPoolExecutor

    def provision(spec):
        with registry_factory(spec) as driver:
            driver.ensure_prerequisites()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(provision, [spec for spec in specs if spec.platform == "yealink"]))
    return round(time.monotonic() - started, 2)


def run_stage(specs, site: dict, reboot: float, **options) -> dict:
    rollout = Rollout(specs, site["policy"], Gate(window_schedule()), RolloutOptions(**options), registry_factory,
                      firmware_dir=site["firmware_dir"])
    started = time.monotonic()
    summary = rollout.run()
    elapsed = time.monotonic() - started
    batches = len(summary["batches"])
    return {"devices": len(summary["devices"]), "batches": batches, "counts": summary["counts"],
            "survey_seconds": summary["timings"]["survey_seconds"],
            "staging_seconds": summary["timings"]["staging_seconds"],
            "staging_wait_seconds": summary["timings"]["staging_wait_seconds"],
            "batch_seconds": summary["timings"]["batch_seconds"],
            "steps": summary["timings"]["steps"],
            "seconds": round(elapsed, 2), "bound_seconds": round(batches * reboot, 2),
            "ratio": round(elapsed / (batches * reboot), 3) if batches else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--switches", type=int, default=4)
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--switch-reboot", type=float, default=20.0, help="seconds a reloading switch is down")
    parser.add_argument("--phone-reboot", type=float, default=10.0, help="seconds a rebooting phone is down")
    parser.add_argument("--phone-batch", default="50%", help="phone batch size after the canaries")
    parser.add_argument("--switch-batch", default="100%", help="switch batch size after the canary")
    parser.add_argument("--factory-phones", action="store_true",
                        help="leave the Yealinks without the prerequisites phones.yml provisions (the rollout "
                             "provisions them, watching each for a reboot first)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="firmware-bench-") as tmp:
        parent, child = multiprocessing.Pipe()
        lab = multiprocessing.get_context("spawn").Process(target=serve_lab, args=(child, args, tmp), daemon=True)
        lab.start()
        try:
            site = parent.recv()
            switches = run_stage(site["switches"], site, args.switch_reboot, canary="1",
                                 batch_size=args.switch_batch, parallel=64)
            preparation = 0.0 if args.factory_phones else provision_yealink_prerequisites(site["phones"])
            phones = run_stage(site["phones"], site, args.phone_reboot, canary="1",
                               batch_size=args.phone_batch, parallel=256)
            parent.send("stop")
            versions = parent.recv()
        finally:
            lab.join(timeout=60)
            if lab.is_alive():
                lab.terminate()
    total = switches["seconds"] + phones["seconds"]
    bound = switches["bound_seconds"] + phones["bound_seconds"]
    report = {"switches": switches, "phones": phones, "lab_setup_seconds": round(site["setup_seconds"], 2),
              "yealink_prerequisites_seconds": preparation, "factory_phones": args.factory_phones,
              "total_seconds": round(total, 2), "bound_seconds": round(bound, 2), "ratio": round(total / bound, 3),
              "target_ratio": 1.15, "switch_reboot": args.switch_reboot, "phone_reboot": args.phone_reboot,
              "devices_on_baseline": sum(1 for v in versions.values() if v in BASELINE_VERSIONS)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"firmware rollout: {args.switches} switches + {args.phones} phones "
              f"(reboots {args.switch_reboot:g}s / {args.phone_reboot:g}s; lab in its own process)")
        for name, part in (("switches", switches), ("phones", phones)):
            print(f"  {name:9s} {part['devices']:4d} devices, {part['batches']} batches: {part['seconds']:7.2f}s "
                  f"(bound {part['bound_seconds']:.0f}s, x{part['ratio']}) {part['counts']}")
            print(f"            survey {part['survey_seconds']}s; per batch: staging {part['staging_seconds']}, "
                  f"waited for staging {part['staging_wait_seconds']}, batch {part['batch_seconds']}")
            print("            steps (median / max s): " + ", ".join(
                f"{step} {t['median']}/{t['max']}" for step, t in part["steps"].items()))
        print("  Yealinks: " + ("at factory settings (the rollout provisions the prerequisites)" if args.factory_phones
                            else f"prerequisites provisioned before the rollout, as phones.yml does ({preparation}s)"))
        print(f"  total     {total:7.2f}s vs lower bound {bound:.0f}s -> x{report['ratio']} (target <= 1.15); "
              f"{report['devices_on_baseline']}/{len(versions)} devices report the baseline")
    return 0 if report["devices_on_baseline"] == len(versions) else 1


BASELINE_VERSIONS = {new for _cls, _model, _old, new, _image in PHONES.values()} | {"17.9.5"}

if __name__ == "__main__":
    sys.exit(main())
