"""A published table's cells as they stand in the file: a grid of values with merged ranges and percent formats.

An annex is not a tidy table: title lines, a header over two or three rows, merged cells.
:func:`read_grid` reads every cell of one worksheet (``.xlsx``) or of a CSV file (UTF-8 with
or without a byte-order mark, or Windows-1258 as Vietnamese Excel saves a plain CSV) so that
the header can be found and flattened afterwards.  A file is measured against
:data:`ANNEX_LIMITS` before it is loaded, as the household readers do.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from ..data.footprint import check_zip_members, too_long
from ..data.limits import LimitError, Limits
from ..data.sources import ValidationError, file_error

__all__ = ["ANNEX_LIMITS", "Grid", "read_grid", "where"]

#: Caps for an annex: a province's table has a few hundred rows and a score of columns, and a
#: workbook is loaded whole (merged cells need it), so the caps are far below the household files'.
ANNEX_LIMITS = Limits(
    file_bytes=32 << 20, rows=20_000, columns=60, cell_chars=1_000, expanded_bytes=64 << 20, sheet_rows=20_000
)


@dataclass
class Grid:
    """The cells of one sheet.

    Attributes
    ----------
    path : Path
    fmt : {"xlsx", "csv"}
    cells : list of list
        Row by row from the first line of the file; a value is a str, an int, a float or None.
        ``cells[i][j]`` is sheet row ``i + 1`` (CSV line ``i + 1``), column ``j + 1``.
    merged : list of tuple
        Merged ranges as 0-based inclusive ``(first_row, first_col, last_row, last_col)``.
    percent : set of tuple
        ``(i, j)`` of numeric cells formatted as a percentage (Excel holds 12.5 % as 0.125).
    sheet : str or None
        The worksheet read.
    encoding : str or None
        The text encoding of a CSV file.
    """

    path: Path
    fmt: str
    cells: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    percent: set[tuple[int, int]] = field(default_factory=set)
    sheet: str | None = None
    encoding: str | None = None

    @property
    def width(self) -> int:
        return max((len(r) for r in self.cells), default=0)

    def cell(self, i: int, j: int) -> object:
        row = self.cells[i]
        return row[j] if j < len(row) else None


def where(grid: Grid, i: int) -> str:
    """How a user finds row ``i`` (0-based) of the grid: ``sheet row 12`` or ``line 12``.

    Examples
    --------
    >>> where(Grid(Path("a.csv"), "csv", [[]]), 11)
    'line 12'
    """
    return f"{'line' if grid.fmt == 'csv' else 'sheet row'} {i + 1}"


def read_grid(
    path: str | os.PathLike,
    *,
    sheet: int | str | None = None,
    encoding: str | None = None,
    limits: Limits | None = None,
) -> Grid:
    """Read the cells of a worksheet or of a CSV file, after checking the file against ``limits``.

    Parameters
    ----------
    path : str or Path
        ``.xlsx`` (``.xlsm``) or ``.csv``.
    sheet : int or str, optional
        The worksheet (index or name); default the first.
    encoding : str, optional
        The text encoding of a CSV file; default UTF-8 (a byte-order mark is skipped), else
        Windows-1258 when the bytes are not UTF-8.
    limits : Limits, optional
        Default :data:`ANNEX_LIMITS`.

    Raises
    ------
    ValidationError
        The file cannot be read; the message names it.
    LimitError
        The file is over one of the ``limits``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "a.csv"
    >>> _ = path.write_bytes("Đơn vị;Số hộ\\nXã Tân Cương;1.234\\n".encode("utf-8-sig"))
    >>> g = read_grid(path)
    >>> g.encoding, g.cells
    ('utf-8-sig', [['Đơn vị', 'Số hộ'], ['Xã Tân Cương', '1.234']])
    >>> folder.cleanup()
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"'path' should be a str or os.PathLike, got {type(path).__name__}")
    limits = ANNEX_LIMITS if limits is None else limits
    if not isinstance(limits, Limits):
        raise TypeError(f"'limits' should be a povanalysis.data.limits.Limits, got {type(limits).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: '{path}'" + (" (it is a directory)" if path.is_dir() else ""))
    size = path.stat().st_size
    limits.check(path, "file_bytes", size, f"the file is {size:,} bytes", unit=" bytes")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, 0 if sheet is None else sheet, limits)
    if suffix == ".csv":
        if sheet is not None:
            raise ValueError(f"'sheet' applies only to .xlsx files, got sheet={sheet!r} for '{path}'")
        return _read_csv(path, encoding, limits)
    advice = "; save it from Excel as .xlsx" if suffix in (".xls", ".ods", ".pdf", ".doc", ".docx") else ""
    raise file_error(path, f"unsupported file format {suffix or '(no extension)'!r}: expected .xlsx or .csv{advice}")


def _check_cells(path: Path, grid: list[list[object]], limits: Limits, fmt: str) -> None:
    word = "line" if fmt == "csv" else "sheet row"
    limits.check(path, "rows", len(grid), f"the file has {len(grid):,} rows", unit=" rows")
    for i, row in enumerate(grid):
        if len(row) > limits.columns:
            limits.check(path, "columns", len(row), f"{word} {i + 1} has {len(row):,} columns", unit=" columns")
        for j, value in enumerate(row):
            if isinstance(value, str) and len(value) > limits.cell_chars:
                raise too_long(path, limits, f"{word} {i + 1}", f"column {j + 1}", value, i + 1)


def _read_csv(path: Path, encoding: str | None, limits: Limits) -> Grid:
    data = path.read_bytes()
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise file_error(path, f"cannot be read as {encoding!r} ({exc})") from None
        used = encoding
    elif data.startswith(b"\xef\xbb\xbf"):
        text, used = data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    else:
        try:
            text, used = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, used = data.decode("cp1258", errors="replace"), "cp1258"
            if "\ufffd" in text:
                raise file_error(path, "the file is neither UTF-8 nor Windows-1258 text: pass encoding=") from None
    text = unicodedata.normalize("NFC", text)  # Windows-1258 writes tone marks as combining characters
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise file_error(path, f"not a readable CSV file ({exc})") from None
    cells: list[list[object]] = [[c if c.strip() else None for c in r] for r in rows]
    _check_cells(path, cells, limits, "csv")
    return Grid(path, "csv", cells, encoding=used)


def _read_xlsx(path: Path, sheet: int | str, limits: Limits) -> Grid:
    if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
        raise TypeError(f"'sheet' should be a sheet index or name, got {type(sheet).__name__}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    check_zip_members(path, members, limits)
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (LimitError, ValidationError):
        raise
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError, ParseError, zlib.error) as exc:
        raise file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = book.sheetnames
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            raise file_error(path, f"sheet index {sheet} out of range: the workbook has sheets {names}")
        if isinstance(sheet, str) and sheet not in names:
            raise file_error(path, f"no sheet named {sheet!r}: the workbook has sheets {names}")
        ws = book[names[sheet] if isinstance(sheet, int) else sheet]
        limits.check(path, "sheet_rows", ws.max_row, f"the sheet has {ws.max_row:,} rows", unit=" rows")
        limits.check(path, "columns", ws.max_column, f"the sheet has {ws.max_column:,} columns", unit=" columns")
        cells: list[list[object]] = []
        percent: set[tuple[int, int]] = set()
        for i, row in enumerate(ws.iter_rows()):
            values = []
            for j, c in enumerate(row):
                value = c.value
                if isinstance(value, str):
                    value = unicodedata.normalize("NFC", value) if value.strip() else None
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    if "%" in (c.number_format or ""):
                        percent.add((i, j))
                elif value is not None:
                    value = str(value)
                values.append(value)
            while values and values[-1] is None:
                values.pop()
            cells.append(values)
        merged = [(r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1) for r in ws.merged_cells.ranges]
        title = ws.title
    finally:
        book.close()
    while cells and not cells[-1]:
        cells.pop()
    _check_cells(path, cells, limits, "xlsx")
    return Grid(path, "xlsx", cells, merged, percent, sheet=title)
