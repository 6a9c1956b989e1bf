"""Fuzzing every parser of user files: mutations of valid files, per parser, outcome counts.

    .venv/bin/python bench/fuzz.py [--cases 10000] [--only bvh,trc]

Outcomes per case: a clean error (MocapError naming the file and the fix), a valid result (no infinite
value), a crash (any other exception, or the process dying, e.g. a segfault in a C library), a hang (no
answer within 10 s) or a non-finite value accepted. The goal is 0 crashes, 0 hangs, 0 non-finite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from fuzzing import TARGETS, fuzz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases per parser")
    parser.add_argument("--only", default="", help="comma-separated parser names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(TARGETS)
    t0 = time.perf_counter()
    print("| parser | cases | clean errors | valid results | crashes | hangs | non-finite accepted | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    totals = dict.fromkeys(("cases", "error", "valid", "crash", "hang", "nonfinite"), 0)
    for name in names:
        r = fuzz(name, args.cases, seed=args.seed)
        for k in totals:
            totals[k] += r[k]
        print(f"| {name} | {r['cases']} | {r['error']} | {r['valid']} | {r['crash']} | {r['hang']} | "
              f"{r['nonfinite']} | {r['seconds']:.0f} |", flush=True)
        for example in r["examples"]:
            print(f"|   {example} | | | | | | | |")
    print(f"| all | {totals['cases']} | {totals['error']} | {totals['valid']} | {totals['crash']} | {totals['hang']} | "
          f"{totals['nonfinite']} | {time.perf_counter() - t0:.0f} |")


if __name__ == "__main__":
    main()
