"""Compile detections/sigma with pySigma into detections/compiled (Splunk app, SQLite queries, alert index).

    python -m scripts.compile_detections            write detections/compiled
    python -m scripts.compile_detections --check    exit 1 (naming the files) when detections/compiled is stale

The placeholders' values (business hours, automation account, privileged groups) are the audit_logging role's
defaults: a site with other business hours re-renders through the role (roles/audit_logging/tasks/detections.yml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.detections import compile as detections

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "detections" / "sigma"
COMPILED = REPO / "detections" / "compiled"
ROLE_DEFAULTS = REPO / "roles" / "audit_logging" / "defaults" / "main.yml"


def default_values() -> detections.Values:
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text())
    return detections.values_from_thresholds(defaults["audit_logging_thresholds"])


def rendered() -> dict[str, str]:
    return detections.render_all(RULES, default_values())


def stale(files: dict[str, str], out: Path) -> list[str]:
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} if out.exists() else set()
    problems = [name for name, text in files.items()
                if not (out / name).is_file() or (out / name).read_text() != text]
    problems += sorted(on_disk - set(files))
    return sorted(problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether detections/compiled is current")
    args = parser.parse_args(argv)
    try:
        files = rendered()
    except detections.DetectionCompileError as exc:
        print(f"compile_detections: {exc}", file=sys.stderr)
        return 2
    problems = stale(files, COMPILED)
    if args.check:
        if problems:
            print("detections/compiled is stale (run `make detections`): " + ", ".join(problems), file=sys.stderr)
            return 1
        return 0
    for name in problems:
        target = COMPILED / name
        if name in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[name])
        else:
            target.unlink()
        print(f"wrote {target.relative_to(REPO)}" if name in files else f"removed {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
