"""``python -m lab up|down|status|fault`` - start, stop and drive the simulated site (see lab/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lab import topology as topo
from lab.control import LabControl
from lab.device import FAULTS, LabError

START_TIMEOUT = 300.0
STOP_TIMEOUT = 60.0


def _linux_hosts():
    try:
        from lab import linux_hosts
    except ModuleNotFoundError:
        return None
    return linux_hosts


def _policy_path(run_dir: Path, size: str) -> Path:
    """The site policy this run serves: the committed lab site, or a generated one written into the run dir."""
    if size == "small":
        return topo.LAB_POLICY
    try:
        count = int(size)
    except ValueError:
        raise LabError(f"--size must be 'small' or a number of devices, not {size!r}") from None
    path = run_dir / "inventory" / "site_policy.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(topo.generate_policy(count), sort_keys=False, width=120))
    topo.load_policy(path)  # a generated site must pass the same validation as a hand-written one
    return path


def _device_options(args: argparse.Namespace) -> dict:
    if args.reload_seconds is None:
        return {}
    return {"reload_seconds": args.reload_seconds, "reboot_seconds": args.reload_seconds}


# -- up -------------------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    run_dir = args.run_dir
    control = LabControl(run_dir)
    if control.running():
        print(f"lab already running for {run_dir}")
        return _print_inventory(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    policy_path = _policy_path(run_dir, args.size)
    command = [sys.executable, "-m", "lab", "serve", "--run-dir", str(run_dir), "--policy", str(policy_path),
               "--base-port", str(args.base_port)]
    if args.reload_seconds is not None:
        command += ["--reload-seconds", str(args.reload_seconds)]
    if args.faults:
        command += ["--faults", str(args.faults)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(topo.REPO_ROOT / "collections"),
                                                                     str(topo.REPO_ROOT),
                                                                     os.environ.get("PYTHONPATH")])))
    with (run_dir / "lab.log").open("ab") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                   start_new_session=True, cwd=topo.REPO_ROOT, env=env)
    (run_dir / "lab.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while not control.running():
        if process.poll() is not None or time.monotonic() > deadline:
            print(f"error: the lab did not start; its log ({run_dir / 'lab.log'}) ends with:", file=sys.stderr)
            print("\n".join((run_dir / "lab.log").read_text().splitlines()[-15:]), file=sys.stderr)
            _stop_process(run_dir)
            return 1
        time.sleep(0.2)
    linux_vars: dict[str, dict] = {}
    siem_vars: dict[str, dict] = {}
    hosts_module = _linux_hosts()
    policy = topo.load_policy(policy_path)
    names = [d["name"] for d in policy.get("devices", []) if d["platform"] == "linux"]
    if names and not args.no_linux:
        if hosts_module is None:
            print("note: lab.linux_hosts is not available; Linux hosts not started", file=sys.stderr)
        else:
            try:
                linux_vars = hosts_module.start(run_dir, names)
                siem_host = (policy.get("siem") or {}).get("host")
                if siem_host:  # the hosts forward their logs to it over TLS, as on a real site
                    from lab import siem
                    siem_vars = {"siem-lab": siem.start(run_dir, siem_host, linux_vars)}
            except Exception as error:  # podman missing, image not built ...: leave nothing half-started
                print(f"error: the Linux hosts did not start: {error}\n(use --no-linux to run the devices only)",
                      file=sys.stderr)
                cmd_down(args)
                return 1
    topo.write_firmware_store(run_dir, policy)
    topo.write_inventory(run_dir, policy_path, control.inventory(), linux_vars, control.site(), siem_vars)
    if policy.get("ai_agent"):
        topo.rewrite_ai_agent_url(run_dir / "inventory" / "site_policy.yml", control.ai_agent()["url"])
    return _print_inventory(run_dir)


def _print_inventory(run_dir: Path) -> int:
    hosts = run_dir / "inventory" / "hosts.yml"
    print(f"inventory: {hosts}\nknown_hosts: {run_dir / 'known_hosts'}\n")
    print(hosts.read_text() if hosts.exists() else "(inventory not written yet)")
    return 0


# -- down / status / fault ------------------------------------------------------------------------------------
def _stop_process(run_dir: Path) -> None:
    pid_file = run_dir / "lab.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def cmd_down(args: argparse.Namespace) -> int:
    run_dir = args.run_dir
    control = LabControl(run_dir)
    if control.running():
        control.stop()
    _stop_process(run_dir)
    (run_dir / "control.sock").unlink(missing_ok=True)
    hosts_module = _linux_hosts()
    if hosts_module is not None and (run_dir / "linux_hosts").exists():
        hosts_module.stop(run_dir)
    print(f"lab is down ({run_dir})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    control = LabControl(args.run_dir)
    if not control.running():
        print(f"lab is not running ({args.run_dir})")
        return 3
    devices = control.status()
    for name, state in devices.items():
        faults = ", ".join(state["faults"]) or "-"
        print(f"{name:<16} {state['platform']:<14} {state['model']:<22} {state['version']:<28} "
              f"{state['host']}:{state['port']:<6} {'up' if state['reachable'] else 'DOWN':<5} faults: {faults}")
    hosts_module = _linux_hosts()
    if hosts_module is not None and (args.run_dir / "linux_hosts").exists():
        for name, state in hosts_module.status(args.run_dir).items():
            print(f"{name:<16} {'linux':<14} container: {state}")
    return 0


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"fault parameter {text!r}: use key=value, e.g. delay=3")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def cmd_fault(args: argparse.Namespace) -> int:
    control = LabControl(args.run_dir)
    if args.clear:
        state = control.clear_fault(args.device, None if args.fault == "all" else args.fault)
    else:
        state = control.set_fault(args.device, args.fault, **dict(args.param))
    print(f"{args.device}: active faults: {', '.join(state['faults']) or 'none'}")
    return 0


# -- serve (the lab process itself) ---------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from lab.server import LabServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per connection drowns the lab log
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a listener per device plus their sessions
    faults = yaml.safe_load(args.faults.read_text()) if args.faults else {}
    policy = topo.load_policy(args.policy)
    topology = topo.build_topology(policy, args.base_port, **_device_options(args))

    async def main() -> None:
        server = LabServer(args.run_dir, topology, topo.lab_credentials(), faults)
        started = time.monotonic()
        try:
            await server.start()
        except BaseException:
            await server.stop()
            raise
        logging.getLogger("lab").info("serving %d devices, started in %.1f s", len(server.devices),
                                      time.monotonic() - started)
        await server.serve_forever()

    asyncio.run(main())
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = main.add_subparsers(dest="command", required=True)

    def with_run_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--run-dir", type=lambda s: Path(s).resolve(), default=topo.REPO_ROOT / "run",
                       help="state of this lab run (default: ./run)")
        return p

    up = with_run_dir(sub.add_parser("up", help="start the lab in the background (idempotent)"))
    up.add_argument("--size", default="small", help="'small' (the committed lab site) or a number of devices")
    up.add_argument("--base-port", type=int, default=topo.DEFAULT_BASE_PORT,
                    help="devices listen on 127.0.0.1 from base-port+1 (0: any free ports)")
    up.add_argument("--no-linux", action="store_true", help="do not start the podman Linux hosts")
    up.add_argument("--reload-seconds", type=float, help="how long a reloading device stays unreachable")
    up.add_argument("--faults", type=Path, help="YAML {device: {fault: {param: value}}} active from the start")
    with_run_dir(sub.add_parser("down", help="stop the lab and remove its containers"))
    with_run_dir(sub.add_parser("status", help="devices, versions, reachability and faults"))
    fault = with_run_dir(sub.add_parser("fault", help="switch a fault on (or off with --clear)",
                                        epilog="faults: " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items())))
    fault.add_argument("device")
    fault.add_argument("fault", help="fault name ('all' with --clear clears every fault)")
    fault.add_argument("--clear", action="store_true")
    fault.add_argument("--param", type=_param, action="append", default=[], help="key=value, e.g. delay=3")
    serve = with_run_dir(sub.add_parser("serve", help="run the lab in the foreground (what `up` starts)"))
    serve.add_argument("--policy", type=Path, default=topo.LAB_POLICY)
    serve.add_argument("--base-port", type=int, default=topo.DEFAULT_BASE_PORT)
    serve.add_argument("--reload-seconds", type=float)
    serve.add_argument("--faults", type=Path)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "fault": cmd_fault, "serve": cmd_serve}
    try:
        return handler[args.command](args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
