#!/usr/bin/env python3
"""Two builds of the binary, measured in pairs: the hook end to end (2 TGs + 1 CLB) on a fresh
world per run, alternating A and B so a loud minute weighs on both alike. Prints each one's CPU
(user + sys) and wall medians, and the median of the per-pair CPU differences.

    .venv/bin/python bench/compare.py BASE_BINARY NEW_BINARY [--pairs 40]
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--pairs", type=int, default=40)
    args = parser.parse_args()
    moto = bench.Moto()
    environment = bench.env(moto)
    samples = {"base": [], "new": []}
    try:
        for i in range(args.pairs):
            order = [("base", args.base), ("new", args.new)]
            if i % 2:
                order.reverse()
            for label, binary in order:
                world = moto.harness("world", {"name": f"cmp{label}{i}", "targetGroups": 2, "classicLoadBalancers": 1})
                event = bench.event_file("lifecycle-hook", world["deploymentId"], "")
                wall, cpu, code, out = bench.timed([binary, "handle", event], environment)
                assert code == 0 and json.loads(out)["outcome"] == "attached", out
                samples[label].append((wall, cpu))
    finally:
        moto.stop()
    for label in ("base", "new"):
        walls = [s[0] for s in samples[label]]
        cpus = [s[1] for s in samples[label]]
        print(f"{label:4}: hook CPU {bench.stats(cpus)} ms, wall {bench.stats(walls)} ms")
    differences = [n[1] - b[1] for b, n in zip(samples["base"], samples["new"])]
    print(f"new - base, CPU per pair: median {statistics.median(differences):+.2f} ms over {args.pairs} pairs")


if __name__ == "__main__":
    main()
