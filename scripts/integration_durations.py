"""Seconds per integration test file, from pytest's `--durations=0` report, for tests/integration/file-seconds.json
(the order in which xdist hands files to its workers: longest first).

    python -m scripts.integration_durations .cache/test-logs/integration.log > tests/integration/file-seconds.json

Sums setup, call and teardown of every test of a file; rounds to whole seconds.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*(?P<seconds>\d+(?:\.\d+)?)s\s+(?:setup|call|teardown)\s+"
                  r"(?P<node>tests/integration/[^:\s]+)")


def file_seconds(text: str) -> dict[str, int]:
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            totals[match["node"]] += float(match["seconds"])
    return {path: round(total) for path, total in sorted(totals.items(), key=lambda kv: -kv[1])}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    totals = file_seconds(Path(argv[0]).read_text(errors="replace"))
    if not totals:
        print(f"{argv[0]}: no `--durations` lines found (run pytest with --durations=0)", file=sys.stderr)
        return 1
    print(json.dumps(totals, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
