"""The ``tables`` commands: write an empty annex to fill, and check what the reader makes of a file.

``povanalysis tables template out.xlsx --year 2023`` writes :func:`povanalysis.tables.template`'s
workbook; ``povanalysis tables check FILE`` reads a file with
:func:`povanalysis.tables.read_published` and prints its summary (the columns recognised,
every row accounted for, the fuzzy matches, the rows left unplaced with their nearest units)
or every problem found.  :func:`main` is the command's entry point.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from ..data.limits import LimitError
from ..data.sources import ValidationError
from .published import PublishedTable, read_published
from .template import AREAS, template

__all__ = ["check", "main", "build_parser"]


def check(path: str | os.PathLike, *, out: TextIO | None = None, **options) -> PublishedTable:
    """Read ``path`` as a published annex and print what was made of it; return the table.

    Parameters
    ----------
    path : str or Path
    out : file, optional
        Where to print (default standard output).
    **options
        Passed to :func:`povanalysis.tables.read_published` (``year``, ``sheet``, ``aliases``, ...).

    Raises
    ------
    ValidationError
        As :func:`~povanalysis.tables.read_published`, after printing every problem.
    """
    out = sys.stdout if out is None else out
    try:
        table = read_published(path, **options)
    except ValidationError as exc:
        problems = exc.problems
        print(f"{exc.path}: {len(problems)} problem(s)", file=out)
        for text in problems["problem"]:
            print(f"  {text}", file=out)
        raise
    print(table.summary(), file=out)
    return table


def build_parser(prog: str = "povanalysis tables") -> argparse.ArgumentParser:
    """The parser of the ``tables`` commands."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("template", help="write an empty annex listing the pre-2025 units by district")
    p.add_argument("out", help="the .xlsx file to write")
    p.add_argument("--year", type=int, help="review year written in the title")
    p.add_argument("--area", choices=sorted(AREAS), help="one old province (default both)")
    p = sub.add_parser("check", help="read a published annex and report the matches, the totals and the problems")
    p.add_argument("file", help="the annex (.xlsx or .csv)")
    p.add_argument("--year", type=int, help="review year (default: read from the title)")
    p.add_argument("--sheet", help="worksheet name or 0-based index (default the first)")
    p.add_argument("--vintage", type=int, choices=(2024, 2025), default=2024, help="units listed (default 2024)")
    p.add_argument("--out", help="write the table by unit to this .csv file")
    return parser


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run a ``tables`` command: 0 when done, 1 when the file has problems or unplaced rows, 2 for a usage error.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> main(["template", f"{folder.name}/annex.xlsx", "--year", "2023", "--area", "bac_kan"])
    wrote .../annex.xlsx: 108 units of Tỉnh Bắc Kạn by district, review year 2023
    0
    >>> folder.cleanup()
    """
    out = sys.stdout if out is None else out
    args = build_parser().parse_args(argv)
    if args.command == "template":
        try:
            path = template(args.out, year=args.year, area=args.area)
        except ValueError as exc:
            print(f"povanalysis tables template: error: {exc}", file=sys.stderr)
            return 2
        from ..data import registry

        units = registry.units(2024)
        n = len(units) if args.area is None else int((units["old_area"] == args.area).sum())
        where = " and ".join(AREAS.values()) if args.area is None else AREAS[args.area]
        year = f", review year {args.year}" if args.year else ""
        print(f"wrote {path}: {n} units of {where} by district{year}", file=out)
        return 0
    sheet = int(args.sheet) if args.sheet is not None and args.sheet.isdigit() else args.sheet
    try:
        table = check(args.file, out=out, year=args.year, sheet=sheet, vintage=args.vintage)
    except ValidationError:
        return 1
    except (LimitError, FileNotFoundError, ValueError) as exc:
        print(f"povanalysis tables check: error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        from ..common.files import atomic_write_text
        from ..common.safe import neutralise_formulas

        text = neutralise_formulas(table.table).to_csv(index=False, lineterminator="\n")
        print(f"wrote {atomic_write_text(Path(args.out), text, encoding='utf-8-sig')}", file=out)
    return 0 if table.unplaced.empty else 1
