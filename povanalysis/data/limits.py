"""Caps on an input file, checked before its data are loaded: size, rows, columns, text per cell, expansion.

A file is measured before it is loaded, from what it cannot lie about: its size on disk, the
sizes a zip or Parquet footer declares (the readers never decode more than declared), the
cells and rows actually present (never a worksheet's ``<dimension>`` claim), and the text
lengths of the values read so far.  The first cap passed stops the reading with a
:class:`LimitError` that names the file, the limit, the value observed and how to raise it.

The defaults are sized for the whole country: 27 million household records in one Parquet
file stay readable (50 million rows); only files that are corrupt, hostile or not household
records at all are refused.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["Limits", "LimitError", "DEFAULT_LIMITS", "RATIO_FLOOR_BYTES"]

_GIB = 1 << 30

#: The expansion ratio is checked only once the expanded data pass this size: a smaller file
#: cannot exhaust memory or time, however well it compresses (a tiny test file may compress 500 times).
RATIO_FLOOR_BYTES = 16 << 20


@dataclass(frozen=True)
class Limits:
    """The largest input a reader accepts; pass ``limits=Limits(rows=...)`` to raise one cap.

    Parameters
    ----------
    file_bytes : int
        Size of the file on disk.  Default 2 GiB (27 million households take about 0.5 GiB of Parquet).
    rows : int
        Data records (rows below the header, or Parquet records).  Default 50 million.
    columns : int
        Columns of the file, and for a worksheet the position of the rightmost value.  Default 200
        (the schemas have 21 and 6).
    cell_chars : int
        Characters in one text cell.  Default 1,000.
    expanded_bytes : int
        Bytes the data take once decompressed: the XML of a workbook, a gzipped CSV, the decoded
        columns of a Parquet file.  Default 8 GiB.
    expansion_ratio : float
        Expanded bytes over bytes stored, checked once the expanded size passes
        :data:`RATIO_FLOOR_BYTES`.  Default 100: real files compress 3 to 40 times, a zip bomb
        hundreds or thousands of times.
    sheet_rows : int
        Rows of a worksheet, counted as they are read (blank ones too).  Default 1,048,576, the most
        a worksheet can hold.

    Examples
    --------
    >>> Limits().rows
    50000000
    >>> Limits(rows=1_000).rows, Limits(rows=1_000).columns
    (1000, 200)
    >>> Limits(rows=0)
    Traceback (most recent call last):
    ...
    ValueError: Limits(rows=...) must be a positive number, got 0
    """

    file_bytes: int = 2 * _GIB
    rows: int = 50_000_000
    columns: int = 200
    cell_chars: int = 1_000
    expanded_bytes: int = 8 * _GIB
    expansion_ratio: float = 100.0
    sheet_rows: int = 1_048_576

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            integral = field.name != "expansion_ratio"
            kinds = (int,) if integral else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 or value != value:
                raise ValueError(f"Limits({field.name}=...) must be a positive number, got {value!r}")

    def check(
        self,
        path: str | os.PathLike,
        name: str,
        observed: int | float,
        what: str,
        *,
        unit: str = "",
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        """Raise :class:`LimitError` if ``observed`` is over the limit ``name``.

        ``what`` says what was measured, in words that end with the observed value, e.g.
        ``"the file has 60,000,000 rows"``.

        Examples
        --------
        >>> Limits(rows=10).check("a.csv", "rows", 10, "the file has 10 rows")
        >>> Limits(rows=10).check("a.csv", "rows", 12, "the file has 12 rows")
        Traceback (most recent call last):
        ...
        povanalysis.data.limits.LimitError: a.csv: the file has 12 rows, over the limit of 10 (Limits.rows). If the file is genuine, read it with limits=Limits(rows=12).
        """
        allowed = getattr(self, name)
        if observed <= allowed:
            return
        raise LimitError(path, name, observed, allowed, what, unit=unit, row=row, column=column, value=value)

    def check_expansion(self, path: str | os.PathLike, expanded: int, stored: int, what: str) -> None:
        """Check ``expanded`` bytes (of ``what``) against :attr:`expanded_bytes` and, past the floor, the ratio.

        Examples
        --------
        >>> Limits().check_expansion("a.xlsx", 65_000_000, 268_000, "the sheet XML")
        Traceback (most recent call last):
        ...
        povanalysis.data.limits.LimitError: a.xlsx: the sheet XML expands to 65,000,000 bytes from 268,000 stored, 243 times, over the limit of 100 times (Limits.expansion_ratio). If the file is genuine, read it with limits=Limits(expansion_ratio=250).
        """
        self.check(path, "expanded_bytes", expanded, f"{what} expands to {expanded:,} bytes", unit=" bytes")
        if expanded > RATIO_FLOOR_BYTES:
            ratio = expanded / max(stored, 1)
            self.check(
                path,
                "expansion_ratio",
                ratio,
                f"{what} expands to {expanded:,} bytes from {stored:,} stored, {math.ceil(ratio):,} times",
                unit=" times",
            )


class LimitError(ValueError):
    """An input file is over one of the :class:`Limits`; nothing of it was loaded.

    Attributes
    ----------
    path : Path
        The file.
    limit : str
        The name of the limit (a field of :class:`Limits`).
    observed, allowed : int or float
        The value measured and the limit.
    row, column, value :
        Where the limit was passed, when it is one cell (else ``None``); ``value`` is the start of the text.
    """

    def __init__(self, path, limit, observed, allowed, what, *, unit="", row=None, column=None, value=None):
        self.path = Path(path)
        self.limit = limit
        self.observed = observed
        self.allowed = allowed
        self.row = row
        self.column = column
        self.value = value
        shown = f"{allowed:,}" if isinstance(allowed, int) else f"{allowed:,g}"
        super().__init__(
            f"{path}: {what}, over the limit of {shown}{unit} (Limits.{limit}). "
            f"If the file is genuine, read it with limits=Limits({limit}={_suggest(observed)})."
        )


def _suggest(observed: int | float) -> str:
    """A round number at least ``observed``, written as Python (``6_000_000``)."""
    magnitude = 10 ** max(0, int(math.floor(math.log10(max(observed, 1)))) - 1)
    value = int(math.ceil(observed / magnitude) * magnitude)
    return f"{value:_}"


#: The limits used when a reader is given none.
DEFAULT_LIMITS = Limits()
