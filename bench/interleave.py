#!/usr/bin/env python3
"""Times commands in interleaved rounds, for ratios that survive a noisy machine.

hyperfine runs every repetition of one command before the next command, so a
machine that slows down half-way (another VM, page cache, thermal) skews the
ratio between them. Here each round runs every case once, in an order rotated
from round to round, and the ratio is read per round (paired) as well as from
the medians.

Usage:
  interleave.py --runs N --export-json OUT \
      --case NAME PREPARE COMMAND [--case NAME PREPARE COMMAND ...]

PREPARE runs through sh -c, untimed, right before its COMMAND; COMMAND is
split like a shell word list and executed directly (no shell in the timing).
The first case is the one the others are compared with. OUT has hyperfine's
shape ({"results": [{"command", "median", "min", "max", "times"}]}).
"""
import argparse
import json
import random
import shlex
import statistics
import subprocess
import sys
import time


def run_case(prepare, argv):
    if prepare:
        subprocess.run(["sh", "-c", prepare], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{shlex.join(argv)}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}")
    return elapsed


def bootstrap_ci(xs, rounds=2000, seed=1):
    """95% interval of the median of xs, by resampling."""
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(rounds))
    return meds[int(0.025 * rounds)], meds[int(0.975 * rounds)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    ap.add_argument("--export-json", required=True)
    ap.add_argument("--case", nargs=3, action="append", metavar=("NAME", "PREPARE", "COMMAND"), required=True)
    a = ap.parse_args()
    cases = [(name, prep, shlex.split(cmd)) for name, prep, cmd in a.case]
    times = {name: [] for name, _, _ in cases}
    for r in range(a.warmup + a.runs):
        k = r % len(cases)
        for name, prep, argv in cases[k:] + cases[:k]:
            t = run_case(prep, argv)
            if r >= a.warmup:
                times[name].append(t)
    results = [{"command": name, "median": statistics.median(ts), "min": min(ts), "max": max(ts), "times": ts}
               for name, ts in times.items()]
    with open(a.export_json, "w") as f:
        json.dump({"results": results}, f, indent=1)

    base = cases[0][0]
    print(f"{a.runs} interleaved rounds; ratio = {base} / other (< 1: {base} is faster)")
    for res in results:
        line = f"  {res['command']:70s} median {res['median']:.3f}s ({res['min']:.3f}-{res['max']:.3f})"
        if res["command"] != base:
            paired = [x / y for x, y in zip(times[base], res["times"])]
            lo, hi = bootstrap_ci(paired)
            line += (f"  ratio of medians {statistics.median(times[base]) / res['median']:.2f},"
                     f" paired median {statistics.median(paired):.2f} [95% {lo:.2f}-{hi:.2f}]")
        print(line)


if __name__ == "__main__":
    main()
