"""Benchmark: the card-number scanner (plugins/module_utils/privacy/cardscan.py) in MB/s on one core, against
`grep -P` on the same files, and its precision / recall on the labelled corpus.

Two corpora, written to a temporary directory:
  dense      the unit tests' labelled corpus (tests/unit/privacy/cardscan_corpus.py): a planted number (card, SSN or
             a near miss) every ~50 bytes - the worst case for the scanner, which decides each one
  realistic  call transcripts with one card number per ~20 KB
grep runs `grep -P -o -c` with a pattern for 13-19 digits in optional groups (what a grep-based check can do: no
Luhn check, no spoken digits), pinned to one core like the scanner (taskset, when present). Both are timed in CPU
seconds (the scanner's process time, grep's user + system time), so a busy shared machine skews neither.

    python bench/cardscan_bench.py [--mb 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "privacy"))

import cardscan_corpus

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import cardscan

GREP_PATTERN = r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"


def realistic(size: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines, length, next_card = [], 0, 0
    while length < size:
        line = f"[{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}] {rng.choice(['caller', 'agent'])}: " \
               f"{rng.choice(cardscan_corpus.FILLER)}.\n"
        if length >= next_card:
            line = f"caller: my card is {cardscan_corpus.write_card(cardscan_corpus.random_pan(rng), 'spaced', rng)}\n"
            next_card = length + 20_000
        lines.append(line)
        length += len(line)
    return "".join(lines).encode("ascii")


def pin_one_core() -> list[str]:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if shutil.which("taskset") else []


def time_scanner(path: str) -> tuple[float, dict]:
    start = time.process_time()
    result = cardscan.scan_file(path)
    return time.process_time() - start, {"cards": result.cards, "ssns": result.ssns}


def time_grep(path: str, prefix: list[str]) -> tuple[float, int]:
    """CPU seconds of grep (user + system of the child), as the scanner's are measured: the machine may be shared."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(prefix + ["grep", "-P", "-o", "-c", GREP_PATTERN, path], capture_output=True, text=True,
                         check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode not in (0, 1):
        raise SystemExit(f"grep -P failed: {out.stderr.strip()}")
    return elapsed, int(out.stdout.strip() or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of each corpus in MB (default 20)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    prefix = pin_one_core()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cardscan-bench-") as tmp:
        dense = cardscan_corpus.generate(size, seed=18)
        quality = cardscan_corpus.score(dense, _all_findings(dense.text))
        for name, data in (("dense", dense.text), ("realistic", realistic(size))):
            path = os.path.join(tmp, f"{name}.txt")
            Path(path).write_bytes(data)
            scan_s, found = time_scanner(path)
            grep_s, grep_lines = time_grep(path, prefix)
            mb = len(data) / 1e6
            rows.append({"corpus": name, "mb": round(mb, 2), "scanner_mb_s": round(mb / scan_s, 2),
                         "grep_mb_s": round(mb / grep_s, 2), "scanner_cards": found["cards"],
                         "scanner_ssns": found["ssns"], "grep_matching_lines": grep_lines})
    print(f"{'corpus':<10} {'MB':>6} {'scanner MB/s':>13} {'grep -P MB/s':>13} {'cards':>7} {'ssns':>6} "
          f"{'grep lines':>11}")
    for row in rows:
        print(f"{row['corpus']:<10} {row['mb']:>6} {row['scanner_mb_s']:>13} {row['grep_mb_s']:>13} "
              f"{row['scanner_cards']:>7} {row['scanner_ssns']:>6} {row['grep_matching_lines']:>11}")
    print(f"dense corpus: precision {quality['precision']:.4f}, recall {quality['recall']:.4f} "
          f"({quality['true_positives']}/{quality['positives']} planted found, {quality['false_positives']} "
          "false positives)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "precision": quality["precision"],
                                               "recall": quality["recall"]}, indent=1) + "\n")
    return 0


def _all_findings(data: bytes) -> list[dict]:
    cardscan.MAX_FINDINGS_KEPT = 10 ** 9
    result = cardscan.scan_stream(io.BytesIO(data).read, cardscan.FileResult("dense"))
    return result.findings


if __name__ == "__main__":
    sys.exit(main())
