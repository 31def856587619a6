"""Summarise py-spy raw (collapsed) stacks: the frames where samples sit (self) and the
fieldkit frames they pass through (inclusive), in percent of all samples.

    python benchmarks/profile_summary.py FILE.raw [--top 25] [--match fieldkit]
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="fieldkit", help="inclusive: frames matching")
    args = parser.parse_args()
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for file in args.files:
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            own[re.sub(r":\d+\)$", ")", frames[-1])] += n
            for f in {re.sub(r":\d+\)$", ")", f) for f in frames if args.match in f}:
                incl[f] += n
    print(f"{total} samples")
    print("-- self (where the samples sit)")
    for k, n in own.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {k[:150]}")
    print(f"-- inclusive ({args.match} frames)")
    for k, n in incl.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {k[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
