"""Validate a site policy from the command line: `python -m scripts.validate_policy inventories/<site>`.

Accepts a site inventory directory (reads its site_policy.yml) or the policy file itself. Exit status 0 when the
policy is valid, 1 when it is refused (every problem printed, one per line), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    load_site_policy,
    summarize,
)

POLICY_FILE = "site_policy.yml"


def policy_path(target: str) -> str:
    return os.path.join(target, POLICY_FILE) if os.path.isdir(target) else target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", help="site inventory directory (inventories/<site>) or a site policy file")
    args = parser.parse_args(argv)
    path = policy_path(args.site)
    try:
        policy = load_site_policy(path)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{path}: valid ({summarize(policy)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
