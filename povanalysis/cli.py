"""The ``povanalysis`` command: prepare data, run the demo, run the per-commune batch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _data(args) -> int:
    from .data.pipeline import ensure_demo_data

    root = Path(args.out).resolve() if args.out else None
    paths = ensure_demo_data(root, seed=args.seed, scale=args.scale, force=args.force)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _demo(args) -> int:
    from .demo import run_demo

    return run_demo(seed=args.seed, scale=args.scale)


def _codes(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("give at least one commune code, e.g. --communes 01840,05665")
    return codes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _tables_batch(args) -> int:
    from .data.sources import ValidationError
    from .reports.from_tables import UnplacedRows, run_tables_batch

    if args.scheduler:
        print("povanalysis batch: error: --tables runs on local kernels only (no --scheduler)", file=sys.stderr)
        return 2
    options = {}
    if args.weights:
        import pandas as pd

        try:
            weights = pd.read_csv(args.weights, dtype={"old_code": str, "new_code": str}, encoding="utf-8-sig")
        except (OSError, ValueError) as exc:
            print(f"povanalysis batch: error: --weights {args.weights}: {exc}", file=sys.stderr)
            return 2
        missing = [c for c in ("old_code", "new_code", "households") if c not in weights.columns]
        if missing:
            print(
                f"povanalysis batch: error: --weights {args.weights} has no column(s) {missing} "
                "(old_code, new_code, households and optionally review_year)",
                file=sys.stderr,
            )
            return 2
        options["weights"] = weights
    try:
        result = run_tables_batch(
            args.tables,
            args.out,
            root=args.tables_root,
            allow_unplaced=args.allow_unplaced,
            communes=args.communes,
            workers=args.workers,
            lang=args.lang,
            review_year=args.review_year,
            force=args.force,
            progress=False if args.quiet else None,
            **options,
        )
    except KeyboardInterrupt:
        print("povanalysis batch: interrupted; every kernel it started was stopped", file=sys.stderr)
        return 130
    except UnplacedRows as exc:
        print(f"povanalysis batch: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"povanalysis batch: {exc.path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for text in exc.problems["problem"]:
            print(f"  {text}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"povanalysis batch: error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.ok else 1


def _batch(args) -> int:
    if args.tables:
        return _tables_batch(args)
    from .reports.batch import run_batch

    try:
        result = run_batch(
            args.out,
            communes=args.communes,
            workers=args.workers,
            scheduler=args.scheduler,
            lang=args.lang,
            review_year=args.review_year,
            force=args.force,
            province=args.province,
            progress=False if args.quiet else None,
        )
    except KeyboardInterrupt:
        print("povanalysis batch: interrupted; every kernel it started was stopped", file=sys.stderr)
        return 130
    except ValueError as exc:
        print(f"povanalysis batch: error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.ok else 1


def _tables(args: argparse.Namespace) -> int:
    from .tables.commands import main as tables_main

    return tables_main(args.rest)


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
    p = sub.add_parser(
        "batch",
        help="run the commune report for every unit (and the province notebooks) as HTML",
        description="Run notebooks/06-commune-report.ipynb for every unit of the 2025 registry (or the "
        "--communes given) and the province notebooks on warm kernels, write DIR/communes/<code>-<slug>"
        ".html, DIR/province/*.html, DIR/index.html and DIR/key-figures.xlsx. Reports whose inputs, "
        "parameters and notebook are unchanged are skipped. Exit status 1 when a report failed.",
    )
    p.add_argument("--out", required=True, help="output folder (e.g. reports)")
    p.add_argument("--communes", type=_codes, help="comma-separated commune codes (default: all 92 units)")
    p.add_argument("--workers", type=_positive, help="parallel warm kernels (default: the number of CPUs)")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786): run the reports on its workers")
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="report language (default vi)")
    p.add_argument("--review-year", type=int, help="review the reports describe (default: the latest)")
    p.add_argument("--force", action="store_true", help="redo every report even when up to date")
    p.add_argument("--no-province", dest="province", action="store_false", help="skip the province notebooks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--tables",
        nargs="+",
        metavar="FILE",
        help="published annexes of review results (.xlsx or .csv, one per review year): the commune reports are "
        "made from their counts, brought onto the 2025 units; sections that need household records say so "
        "(no province notebooks)",
    )
    p.add_argument(
        "--allow-unplaced",
        action="store_true",
        help="with --tables: go on when annex rows cannot be placed in a unit (they are listed in the output)",
    )
    p.add_argument(
        "--weights",
        metavar="CSV",
        help="with --tables: households of each pre-2025 unit that went to each 2025 unit (columns old_code, "
        "new_code, households, optionally review_year), to apportion the split units (default: by area)",
    )
    p.add_argument(
        "--tables-root",
        metavar="DIR",
        help="with --tables: data folder for the counts (default OUT/tables-data; never the household data folder)",
    )
    p.set_defaults(func=_batch)
    p = sub.add_parser(
        "tables",
        help="published review annexes: write a template to fill, check a filled one",
        description="povanalysis tables template OUT.xlsx [--year Y] [--area thai_nguyen|bac_kan] | "
        "povanalysis tables check FILE (see povanalysis.tables)",
        add_help=False,
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the tables command and its arguments")
    p.set_defaults(func=_tables)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tables"]:  # its own parser, options and help included
        from .tables.commands import main as tables_main

        return tables_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
