#!/usr/bin/env python3
"""Where a command's wall time went, from its Go execution trace.

Usage: bench/trace-phases.py TRACE...
  (each from BUILDER_TRACE=FILE BUILDER_CPUPROFILE=FILE2 builder ...)

Prints each user region of the traces (builder's phases, "build: ..." and
"context: ...", and BuildKit's own) with its start after the trace began
and its duration in milliseconds, the median over the traces. When the
CPU profiler ran too, the trace holds its samples (100 a second, with
their stacks): each is put in a category by its stack (the first rule of
CATEGORIES that a frame matches) and counted in the builder phase it fell
in, so that the table says what the CPU did in each phase, over all the
traces. The trace starts in main, after the runtime and package
initialisation (GODEBUG=inittrace=1 gives those: about 11 ms).
"""
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

EV = re.compile(r'^M=\S+ P=\S+ G=(\S+) (RegionBegin|RegionEnd|StackSample|Sync)\b.*? Time=(\d+)(?: .*Type="([^"]*)")?')
FRAME = re.compile(r'^\t(\S+) @ 0x')

# (category, a regular expression one frame of the stack must match); the
# first that matches names the sample.
CATEGORIES = [
    ("GC", r"^runtime\.(gcBgMarkWorker|gcDrain|bgsweep|bgscavenge|markroot|gcAssist)"),
    # localsource's walk: the digest walk, and the client's walk sending the
    # context in a sync (NewFS).
    ("builder's walk of the context", r"builder/solver/localsource\.(Digest|statAll|\(\*(statFS|walker|statEntry)\))"),
    ("content checksums (BuildKit contenthash)", r"buildkit/cache/contenthash"),
    ("file sync (fsutil send/receive)", r"tonistiigi/fsutil\.|filesync"),
    ("bolt (metadata databases)", r"go\.etcd\.io/bbolt"),
    ("export and image store", r"buildkit/exporter|builder/exporter|builder/store|containerd/.*/content"),
    ("Dockerfile frontend", r"buildkit/frontend"),
    ("solver (scheduler, cache keys)", r"buildkit/solver"),
    ("gRPC and session", r"google\.golang\.org/grpc|golang\.org/x/net/http2|buildkit/session"),
    ("progress", r"buildkit/util/progress|builder/progress"),
    ("opening the solver", r"builder/solver\.|buildkit/worker|buildkit/cache\.New|snapshot"),
    ("memory allocation", r"^runtime\.(mallocgc|growslice|newobject|makeslice)"),
]
CAT = [(n, re.compile(r)) for n, r in CATEGORIES]


def category(stack):
    for name, rx in CAT:
        if any(rx.search(f) for f in stack):
            return name
    return "other: " + (stack[0] if stack else "?")


def parse(path):
    out = subprocess.run(["go", "tool", "trace", "-d=parsed", path], check=True,
                         capture_output=True, text=True).stdout
    t0 = t1 = None
    open_, regions, samples = {}, [], []
    cur = None
    for line in out.splitlines():
        if cur is not None:
            m = FRAME.match(line)
            if m:
                cur[1].append(m.group(1))
                continue
            if line.startswith("Stack=") or line.startswith("\t"):
                continue
            samples.append(cur)
            cur = None
        m = EV.match(line)
        if not m:
            continue
        g, kind, t, name = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        t0 = t if t0 is None else min(t0, t)
        t1 = t if t1 is None else max(t1, t)
        if kind == "RegionBegin":
            open_.setdefault((g, name), []).append(t)
        elif kind == "RegionEnd" and open_.get((g, name)):
            regions.append((name, open_[(g, name)].pop(), t))
        elif kind == "StackSample":
            cur = (t, [])
    if cur is not None:
        samples.append(cur)
    return t0, t1, regions, samples


def phase_of(t, regions):
    # The innermost of builder's own regions holding t.
    best = None
    for n, b, e in regions:
        if (n.startswith("build: ") or n.startswith("context: ")) and b <= t <= e:
            if best is None or e - b < best[2] - best[1]:
                best = (n, b, e)
    return best[0] if best else "(outside builder's phases)"


def main():
    start, dur, totals = defaultdict(list), defaultdict(list), []
    cpu = defaultdict(Counter)
    nsamples = 0
    for path in sys.argv[1:]:
        t0, t1, regions, samples = parse(path)
        totals.append((t1 - t0) / 1e6)
        seen, first = defaultdict(float), {}
        for n, b, e in regions:
            seen[n] += (e - b) / 1e6  # a region met several times (a sync per local) adds up
            first.setdefault(n, (b - t0) / 1e6)
        for n in seen:
            start[n].append(first[n])
            dur[n].append(seen[n])
        for t, stack in samples:
            cpu[phase_of(t, regions)][category(stack)] += 1
            nsamples += 1
    print(f"{len(totals)} trace(s); whole trace {statistics.median(totals):.1f} ms (median)")
    print(f"{'region':45} {'starts at':>10} {'takes':>9}")
    for n in sorted(start, key=lambda n: statistics.median(start[n])):
        print(f"{n:45} {statistics.median(start[n]):8.1f}ms {statistics.median(dur[n]):7.1f}ms")
    if nsamples:
        runs = len(totals)
        print(f"\nCPU by phase and category ({nsamples} samples of 10 ms; ms per run)")
        for ph in sorted(cpu, key=lambda p: -sum(cpu[p].values())):
            c = cpu[ph]
            print(f"{ph}: {sum(c.values()) * 10 / runs:.0f} ms")
            for cat, k in c.most_common(8):
                print(f"    {cat:60} {k * 10 / runs:5.0f}")


if __name__ == "__main__":
    main()
