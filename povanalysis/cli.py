"""The ``povanalysis`` command: prepare data, run the demo, run the per-commune batch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _data(args) -> int:
    from .pipeline import ensure_demo_data

    root = Path(args.out).resolve() if args.out else None
    paths = ensure_demo_data(root, seed=args.seed, scale=args.scale, force=args.force)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _demo(args) -> int:
    from .demo import run_demo

    return run_demo(seed=args.seed, scale=args.scale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="povanalysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="generate the synthetic demo data if missing and process it")
    p.add_argument("--seed", type=int, default=2021, help="generator seed (default 2021)")
    p.add_argument("--scale", type=float, default=1.0, help="share of the province's households (default 1.0)")
    p.add_argument("--out", help="data root holding raw/ and processed/ (default: the project's data/)")
    p.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    p.set_defaults(func=_data)
    p = sub.add_parser("demo", help="prepare the data and run the main job through papermill")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--scale", type=float, default=1.0)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
