"""Time the generation of the full-scale synthetic panel (about 420,000 households x 5 reviews).

Run: .venv/bin/python bench/bench_synth.py [--scale 1.0] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from povanalysis.data import synth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        panel = synth.generate(seed=2021, scale=args.scale)
        times.append(time.perf_counter() - start)
    rows = len(panel.households)
    lines = [
        f"| what | households | household-years | loans | best of {args.repeat} (s) |",
        "|---|---:|---:|---:|---:|",
        f"| synth.generate(scale={args.scale}) | {panel.households['household_id'].nunique():,} | {rows:,} | "
        f"{len(panel.loans):,} | {min(times):.1f} |",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "synth.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
