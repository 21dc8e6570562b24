"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of the hub.

Run: ``python bench/hub_profile.py PROFILE.txt [--top N]``; ``suite.py --profile-dir`` calls
:func:`summarize` on the profiles it records.

Percentages are of the busy samples of one thread (py-spy ``--threads`` without ``--idle``: time
spent waiting is not sampled, so the shares are of the work the thread does): *self* is time with
the function on top of the stack, *total* is time with it anywhere on the stack.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# "f (realtime/service.py:200)" -> "f (realtime/service.py)": one row per function, not line
_LINE = re.compile(r":\d+\)$")


def _function(frame: str) -> str:
    return _LINE.sub(")", frame.strip())


def summarize(path: Path, top: int = 15) -> str:
    threads: dict[str, tuple[Counter[str], Counter[str], int]] = {}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "all"
        if thread != "all":
            frames = frames[1:]
        if frames and frames[0].startswith("thread"):
            thread, frames = frames[0], frames[1:]
        selfs, totals, samples = threads.get(thread, (Counter(), Counter(), 0))
        names = [_function(frame) for frame in frames]
        if names:
            selfs[names[-1]] += count
        for name in set(names):
            totals[name] += count
        threads[thread] = (selfs, totals, samples + count)
    lines: list[str] = []
    ranked = sorted(threads.items(), key=lambda item: -item[1][2])
    for thread, (selfs, totals, samples) in ranked:
        lines.append(f"{thread}: {samples} samples")
        lines.append(f"  {'self %':>7}  function (top {top} by self time)")
        for name, count in selfs.most_common(top):
            lines.append(f"  {100 * count / samples:7.1f}  {name}")
        lines.append(f"  {'total %':>7}  function (top {top} by inclusive time)")
        for name, count in totals.most_common(top):
            lines.append(f"  {100 * count / samples:7.1f}  {name}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarize(args.profile, args.top))


if __name__ == "__main__":
    main()
