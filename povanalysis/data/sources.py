"""Reading an input file (CSV in UTF-8, optionally gzipped; XLSX; Parquet) as cells with the row numbers a user is told.

Each file is measured against :class:`~povanalysis.data.limits.Limits` before its data are
loaded: its size on disk; the sizes a zip or Parquet footer declares; the rows, columns and
cell texts actually present, counted as they are streamed (a worksheet's ``<dimension>`` is
never trusted).  The column names are checked (``select``) before any value is read, and text
is held as categoricals, so that memory stays a small multiple of the data's real size.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io as _io
import os
import re
import unicodedata
import zipfile
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from .footprint import (
    check_parquet_statistics,
    check_text_lengths,
    check_zip_members,
    is_string_type,
    parquet_decoded_bytes,
    too_long,
)
from .limits import DEFAULT_LIMITS, LimitError, Limits

__all__ = [
    "ValidationError",
    "Source",
    "read_source",
    "file_error",
    "is_text",
    "strip_text",
    "MAX_SHOWN",
    "MOJIBAKE_CODECS",
    "FORMATS",
]

#: How many problems an error message lists.
MAX_SHOWN = 5
#: File name endings read, and their formats.
FORMATS = {".csv": "csv", ".csv.gz": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
_PROBLEM_COLUMNS = ["row", "column", "value", "problem"]
#: Rows of a CSV block or of a worksheet converted to columns at once.
_CSV_BLOCK = 1 << 24
_SHEET_CHUNK = 1 << 16
#: A CSV file that Arrow's reader refuses (ragged rows) is re-read whole by pandas, to name the line, up to this size.
_FALLBACK_BYTES = 256 << 20
#: Codecs whose misreading of UTF-8 text (mojibake) is recognised and explained.
MOJIBAKE_CODECS = ("cp1252", "latin-1")


class ValidationError(ValueError):
    """An input file breaks the documented schema; the message names file, row, column and value.

    Attributes
    ----------
    path : Path
        The file.
    row : int or None
        Row of the first problem: for CSV and XLSX the 1-based data row (the header is not
        counted, so data row 5 is line 6 of a CSV file and row 6 of the sheet); for Parquet the
        0-based record index.  ``None`` for a problem of the whole file.
    column : str or None
        Column of the first problem.
    value : object
        The offending value of the first problem, as read.
    problems : DataFrame
        Every problem found, not only the first: ``row`` (nullable integer, same convention),
        ``column``, ``value`` and ``problem``.

    Examples
    --------
    >>> err = ValidationError("bad", path="x.csv", row=5, column="size", value="three",
    ...                       problem="must be a whole number >= 1")
    >>> err.problems.to_dict("records")
    [{'row': 5, 'column': 'size', 'value': 'three', 'problem': 'must be a whole number >= 1'}]
    """

    def __init__(self, message, *, path, row=None, column=None, value=None, problem=None, problems=None):
        super().__init__(message)
        self.path = Path(path)
        self.row = row
        self.column = column
        self.value = value
        if problems is None:
            problems = pd.DataFrame(
                {"row": [row], "column": [column], "value": [value], "problem": [problem or message]}
            )
        problems = problems.loc[:, _PROBLEM_COLUMNS].reset_index(drop=True)
        problems["row"] = problems["row"].astype("Int64")
        problems["value"] = problems["value"].astype(object)
        self.problems = problems


@dataclass
class Source:
    """A file read as frames whose columns carry the file's names, one row per data record.

    ``raw`` holds the cells as read; ``data`` the same with text cells stripped of surrounding
    whitespace.  ``rows`` is the row number a user is told, ``lines`` the line (CSV) or sheet row
    (XLSX) where the record starts.
    """

    path: Path
    fmt: str
    raw: pd.DataFrame
    data: pd.DataFrame
    rows: np.ndarray
    lines: np.ndarray | None
    blank: int

    def where(self, pos: np.ndarray) -> pd.Series:
        """How a user finds records ``pos`` in the file, e.g. ``row 5 (line 6 of the file)``."""
        rows = pd.Series(self.rows[pos]).astype(str)
        if self.fmt == "parquet":
            return "record " + rows + " (0-based)"
        if self.lines is None:
            return "row " + rows
        lines = pd.Series(self.lines[pos]).astype(str)
        unit = " of the file)" if self.fmt == "csv" else ")"
        prefix = " (line " if self.fmt == "csv" else " (sheet row "
        return "row " + rows + prefix + lines + unit


def file_error(
    path: Path, message: str, *, column: str | None = None, value: object = None, row: int | None = None
) -> ValidationError:
    """A :class:`ValidationError` about the file at ``path`` (the message starts with the path)."""
    return ValidationError(f"{path}: {message}", path=path, row=row, column=column, value=value, problem=message)


# ----------------------------------------------------------------------------------- reading


def is_text(s: pd.Series) -> bool:
    """Whether a column holds text (a string or object dtype, or a categorical of strings)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)


def strip_text(s: pd.Series) -> pd.Series:
    """A column as text without surrounding whitespace (a categorical stays one, stripped once per value)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(s.cat.categories.astype("str").str.strip())
        old = s.cat.codes.to_numpy()
        new = np.where(old >= 0, codes[np.maximum(old, 0)], -1)
        return pd.Series(pd.Categorical.from_codes(new, categories=uniques), index=s.index)
    text = s.astype("str")
    stripped = text.str.strip()
    same = (stripped == text) | text.isna()
    return text if same.all() else stripped  # the column itself when nothing was stripped: no second copy


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    advice = "; save it from Excel as .xlsx or as 'CSV UTF-8'" if name.endswith((".xls", ".ods", ".txt")) else ""
    raise file_error(
        path,
        f"unsupported file format {''.join(path.suffixes) or '(no extension)'!r}: expected "
        f"one of {', '.join(FORMATS)}{advice}",
    )


def read_source(
    path: str | os.PathLike,
    *,
    sheet: int | str = 0,
    limits: Limits | None = None,
    select: Callable[[list[str]], list[str]] | None = None,
) -> Source:
    """Read a CSV (UTF-8, optionally gzipped), XLSX or Parquet file as a :class:`Source`; raise naming the file.

    Parameters
    ----------
    path : str or Path
        The file.
    sheet : int or str
        The worksheet of an ``.xlsx`` file.
    limits : Limits, optional
        The caps checked before the data are loaded (default :data:`~povanalysis.data.limits.DEFAULT_LIMITS`).
    select : callable, optional
        Given the column names of the file (before any value is read), returns those to load, or
        raises.  Default: every column.

    Raises
    ------
    LimitError
        The file is over one of the ``limits``.
    ValidationError
        The file cannot be read as a table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "a.csv"
    >>> _ = path.write_text("code,name\\n01840, Phổ Yên\\n", encoding="utf-8")
    >>> read_source(path).data.to_dict("records")
    [{'code': '01840', 'name': 'Phổ Yên'}]
    >>> read_source(path, limits=Limits(rows=0.5))
    Traceback (most recent call last):
    ...
    ValueError: Limits(rows=...) must be a positive number, got 0.5
    >>> folder.cleanup()
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"'path' should be a str or os.PathLike, got {type(path).__name__}")
    if limits is None:
        limits = DEFAULT_LIMITS
    if not isinstance(limits, Limits):
        raise TypeError(f"'limits' should be a povanalysis.data.limits.Limits, got {type(limits).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: '{path}'" + (" (it is a directory)" if path.is_dir() else ""))
    fmt = _format_of(path)
    if fmt != "xlsx" and sheet != 0:
        raise ValueError(f"'sheet' applies only to .xlsx files, got sheet={sheet!r} for '{path}'")
    size = path.stat().st_size
    limits.check(path, "file_bytes", size, f"the file is {size:,} bytes", unit=" bytes")
    select = select or list
    if fmt == "csv":
        return _read_csv(path, limits, select)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet, limits, select)
    return _read_parquet_source(path, limits, select)


def _columns_to_read(path: Path, header: list[str], select) -> set[int]:
    """Positions of the columns not to read: named columns that ``select`` leaves out; raise for repeated names."""
    stripped = [str(h).strip() for h in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(stripped):
        if not name:
            continue
        if name in seen:
            raise file_error(
                path,
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {j + 1})",
                column=name,
                value=name,
            )
        seen[name] = j
    wanted = set(select([n for n in stripped if n]))
    return {j for j, name in enumerate(stripped) if name and name not in wanted}


# ----------------------------------------------------------------------------------- CSV


class _Expanding(_io.RawIOBase):
    """A decompressing stream that counts the bytes it yields and stops at the expansion limits."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits, self.total = path, limits, 0
        self.stored = path.stat().st_size
        self.inner = gzip.open(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            n = self.inner.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:
            raise file_error(self.path, f"not a readable gzip file ({exc})") from None
        self.total += n
        self.limits.check_expansion(self.path, self.total, self.stored, "the decompressed file (read so far)")
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


def _open_bytes(path: Path, limits: Limits):
    """The bytes of a CSV file, decompressed if gzipped, as a stream."""
    if path.name.lower().endswith(".gz"):
        return _io.BufferedReader(_Expanding(path, limits), buffer_size=1 << 20)
    return open(path, "rb")


def _read_all(path: Path, limits: Limits, most: int) -> bytes | None:
    """The bytes of a CSV file, decompressed if gzipped, or None if they are more than ``most``."""
    with _open_bytes(path, limits) as handle:
        data = handle.read(most + 1)
    return None if len(data) > most else data


def _decode(path: Path, data: bytes) -> tuple[bytes, str]:
    """The file's bytes without a byte-order mark, and its text; raise unless it is UTF-8."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:], data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, data[bom:], exc.start, bom) from None


def _encoding_error(path: Path, data: bytes, start: int, bom: int) -> ValidationError:
    """Name the byte offset and line of the first undecodable byte, and every affected cell."""
    line = data.count(b"\n", 0, start) + 1
    # Every byte is one latin-1 character, so the comma/quote structure survives: find the cells.
    text = data.decode("latin-1")
    try:
        raw = _parse_csv_text(path, text)
    except ValidationError:
        raw = pd.DataFrame()
    rows, lines = _line_numbers(text, len(raw) - 1) if len(raw) else (None, None)
    records = []
    for j in range(raw.shape[1]):
        cells = raw.iloc[:, j]
        for i in np.flatnonzero(~cells.map(_is_utf8).to_numpy(bool)):
            header = i == 0
            cell = cells.iat[i].encode("latin-1")
            records.append(
                {
                    "row": None if header else int(rows[i - 1]),
                    "column": f"column {j + 1} (header)" if header else str(raw.iat[0, j]),
                    "value": cell.decode("utf-8", errors="backslashreplace"),
                    "cp1258": unicodedata.normalize("NFC", cell.decode("cp1258", errors="replace")),
                    "line": 1 if header else (None if lines is None else int(lines[i - 1])),
                }
            )
    records.sort(key=lambda r: (r["line"] or 0, r["row"] or 0))
    if not records:  # the cells cannot be told apart (ragged rows): report the line
        begin, end = data.rfind(b"\n", 0, start) + 1, data.find(b"\n", start)
        text_line = data[begin : None if end < 0 else end].rstrip(b"\r")
        records = [
            {
                "row": line - 1 if line > 1 else None,
                "column": None,
                "line": line,
                "value": text_line.decode("utf-8", errors="backslashreplace"),
                "cp1258": unicodedata.normalize("NFC", text_line.decode("cp1258", errors="replace")),
            }
        ]
    first = records[0]
    problems = pd.DataFrame(
        {
            "row": [r["row"] for r in records],
            "column": [r["column"] for r in records],
            "value": [r["value"] for r in records],
            "problem": ["bytes are not UTF-8" for _ in records],
        },
        columns=_PROBLEM_COLUMNS,
    )
    cells = "".join(
        f"\n  line {r['line']}"
        + (f", column {r['column']!r}" if r["column"] else "")
        + f": {r['value']!r} (as Windows-1258: {r['cp1258']!r})"
        for r in records[:MAX_SHOWN]
    )
    message = (
        f"{path}: the file is not UTF-8: byte 0x{data[start]:02X} at byte offset {start + bom} (line {line}) "
        f"cannot be decoded; {len(records)} place(s) are affected{cells}\n"
        "It was probably saved as Windows-1258 or Windows-1252 (Excel's plain 'CSV'); open it in the program "
        "that made it and re-save it as 'CSV UTF-8', then read it again."
    )
    return ValidationError(
        message, path=path, row=first["row"], column=first["column"], value=first["value"], problems=problems
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_csv_text(path: Path, text: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            _io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            sep=",",
            quotechar='"',
        )
    except pd.errors.EmptyDataError:
        raise file_error(path, "the file is empty: expected a header row naming the columns") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            n, line, saw = found.groups()
            raise file_error(
                path,
                f"line {line} has {saw} fields but the header has {n}: a stray comma or an unquoted "
                "value containing a comma?",
            ) from None
        raise file_error(path, f"not a readable CSV file ({exc})") from None


def _line_numbers(text: str, n_data: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Data row numbers (1-based) and the line on which each data record starts."""
    rows = np.arange(1, n_data + 1, dtype="int64")
    physical = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if physical == n_data + 1:
        return rows, rows + 1
    return rows, _record_starts(_io.StringIO(text, newline=""), n_data)


def _record_starts(handle, n_data: int) -> np.ndarray | None:
    """The line on which each data record starts, asking the csv module (quoted values span lines)."""
    reader = csv.reader(handle)
    starts, previous = array("q"), 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    if len(starts) != n_data + 1:
        return None
    return np.frombuffer(starts, dtype="int64")[1:].copy()


def _streamed_line_numbers(path: Path, limits: Limits, n_data: int) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_line_numbers` of a file read again as a stream, without holding its text."""
    rows = np.arange(1, n_data + 1, dtype="int64")
    newlines, last, empty = 0, b"", True
    with _open_bytes(path, limits) as handle:
        while chunk := handle.read(_CSV_BLOCK):
            newlines += chunk.count(b"\n")
            last, empty = chunk[-1:], False
    if newlines + (0 if last == b"\n" or empty else 1) == n_data + 1:
        return rows, rows + 1
    with _io.TextIOWrapper(_open_bytes(path, limits), encoding="utf-8-sig", newline="") as text:
        return rows, _record_starts(text, n_data)


def _read_csv(path: Path, limits: Limits, select) -> Source:
    try:
        header, body = _parse_csv_stream(path, limits, select)
    except pa.ArrowInvalid as exc:
        # Not UTF-8, ragged rows, or an empty file: read the whole file to name the bytes or the line.
        data = _read_all(path, limits, _FALLBACK_BYTES)
        if data is None:
            raise file_error(path, f"not a readable CSV file ({exc})") from None
        _, text = _decode(path, data)
        del data
        raw = _parse_csv_text(path, text)
        width = raw.shape[1]
        limits.check(path, "columns", width, f"the file has {width:,} columns", unit=" columns")
        limits.check(path, "rows", len(raw) - 1, f"the file has {len(raw) - 1:,} rows", unit=" rows")
        header = [str(c) for c in raw.iloc[0]]
        skip = _columns_to_read(path, header, select)
        body = raw.iloc[1:].reset_index(drop=True)
        for j in range(width):
            if j not in skip:
                values = pa.array(body[j].to_numpy(dtype=object), pa.large_string())
                name = header[j].strip() or f"column {j + 1}"
                check_text_lengths(path, limits, name, values, lambda i: (f"row {i + 1}", i + 1))
        body = pd.DataFrame({j: body[j].astype("category") for j in range(width) if j not in skip}, index=body.index)
        rows, lines = _line_numbers(text, len(body))
        return _finish_text_source(path, "csv", header, body, rows, lines)
    rows, lines = _streamed_line_numbers(path, limits, len(body))
    return _finish_text_source(path, "csv", header, body, rows, lines)


def _parse_csv_stream(path: Path, limits: Limits, select) -> tuple[list[str], pd.DataFrame]:
    """The header and the columns of a CSV file read block by block, checking the limits on each block."""
    header: list[str] | None = None
    skip: set[int] = set()
    chunks: dict[int, list[pa.Array]] = {}
    n = 0
    with _open_bytes(path, limits) as handle:
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_CSV_BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{j}": pa.string() for j in range(limits.columns + 1)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            if header is None:
                width = batch.num_columns
                limits.check(path, "columns", width, f"the file has {width:,} columns", unit=" columns")
                if batch.num_rows == 0:
                    continue
                header = [batch.column(j)[0].as_py() for j in range(width)]
                for j, name in enumerate(header):
                    check_text_lengths(
                        path, limits, f"column {j + 1}", pa.array([name]), lambda i: ("the header", None)
                    )
                skip = _columns_to_read(path, header, select)
                chunks = {j: [] for j in range(width) if j not in skip}
                batch = batch.slice(1)
            start = n
            n += batch.num_rows
            limits.check(path, "rows", n, f"the file has at least {n:,} rows", unit=" rows")
            for j, parts in chunks.items():
                values = batch.column(j)
                name = header[j].strip() or f"column {j + 1}"
                check_text_lengths(path, limits, name, values, lambda i, s=start: (f"row {s + i + 1}", s + i + 1))
                parts.append(values.dictionary_encode())
    if header is None:
        raise file_error(path, "the file is empty: expected a header row naming the columns")
    body = pd.DataFrame({j: _text_column(parts) for j, parts in chunks.items()}, index=pd.RangeIndex(n))
    return header, body


def _text_column(parts: list[pa.Array]) -> pd.Series:
    """Dictionary-encoded chunks of text as one column: a categorical when values repeat, else plain text.

    A column of distinct values (identifiers) takes less memory, and is checked as fast, without a dictionary.
    """
    parts = _compact(parts) if parts else [pa.array([], pa.string())]
    return pa.chunked_array(parts).to_pandas().reset_index(drop=True)


def _compact(parts: list[pa.Array]) -> list[pa.Array]:
    """The chunks decoded to plain text if their dictionaries hold more than half as many entries as rows."""
    rows = sum(len(p) for p in parts)
    entries = sum(len(p.dictionary) for p in parts if pa.types.is_dictionary(p.type))
    if 2 * entries <= rows:
        return parts
    return [p.dictionary_decode() if pa.types.is_dictionary(p.type) else p for p in parts]


def _parse_csv_text(path: Path, text: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            _io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            sep=",",
            quotechar='"',
        )
    except pd.errors.EmptyDataError:
        raise file_error(path, "the file is empty: expected a header row naming the columns") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            n, line, saw = found.groups()
            raise file_error(
                path,
                f"line {line} has {saw} fields but the header has {n}: a stray comma or an unquoted "
                "value containing a comma?",
            ) from None
        raise file_error(path, f"not a readable CSV file ({exc})") from None


# ----------------------------------------------------------------------------------- XLSX


def _cell_text(value) -> str:
    """A spreadsheet cell as the text a user sees (Excel dates become ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, sheet, limits: Limits, select) -> Source:
    if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
        raise TypeError(f"'sheet' should be a sheet index or name, got {type(sheet).__name__}")
    _check_zip(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
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
        ws.reset_dimensions()  # read the rows that are there, not those <dimension> claims
        header, body, lines, blank = _sheet_cells(path, ws, limits, select)
    except (LimitError, ValidationError):
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, ParseError, zlib.error, EOFError) as exc:
        raise file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
    return _finish_text_source(path, "xlsx", header, body, lines - 1, lines, blank)


def _check_zip(path: Path, limits: Limits) -> None:
    """Check the sizes the zip directory declares (Python's zipfile never yields more than declared)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    check_zip_members(path, members, limits)


def _sheet_cells(path: Path, ws, limits: Limits, select) -> tuple[list[str], pd.DataFrame, np.ndarray, int]:
    """Header, columns of the non-blank rows, their sheet rows and the number of blank rows, counted as streamed."""
    header: list[str] | None = None
    skip: set[int] = set()
    pending: list[list[str]] = []
    chunks: list[tuple[int, dict[int, pa.Array]]] = []
    sheet_rows = array("q")
    number = blank = 0

    def flush() -> None:
        width = max(len(r) for r in pending)
        columns = {}
        for j in range(width):
            if j not in skip:
                column = [r[j] if j < len(r) else "" for r in pending]
                columns[j] = pa.array(column, pa.string()).dictionary_encode()
        chunks.append((len(pending), columns))
        pending.clear()

    for values in ws.iter_rows(values_only=True):
        number += 1
        if number > limits.sheet_rows:
            limits.check(path, "sheet_rows", number, f"the sheet has at least {number:,} rows", unit=" rows")
        width = len(values)
        while width and values[width - 1] is None:
            width -= 1
        if width > limits.columns:
            where = f"sheet row {number} has a value in column {get_column_letter(width)} (column {width:,})"
            limits.check(path, "columns", width, where, unit=" columns")
        cells = [_cell_text(v) for v in values[:width]]
        if header is None:
            header = cells
            for j, name in enumerate(header):
                if len(name) > limits.cell_chars:
                    raise too_long(path, limits, "the header", f"column {j + 1}", name, None)
            skip = _columns_to_read(path, header, select)
            continue
        if not any(c.strip() for c in cells):
            blank += 1
            continue
        for j, cell in enumerate(cells):
            if len(cell) > limits.cell_chars:
                name = header[j].strip() if j < len(header) and header[j].strip() else f"column {j + 1}"
                raise too_long(path, limits, f"row {number - 1} (sheet row {number})", name, cell, number - 1)
        sheet_rows.append(number)
        limits.check(path, "rows", len(sheet_rows), f"the sheet has at least {len(sheet_rows):,} rows", unit=" rows")
        pending.append(cells)
        if len(pending) >= _SHEET_CHUNK:
            flush()
    if header is None:
        raise file_error(path, "the sheet is empty: expected a header row naming the columns")
    if pending:
        flush()
    width = max([len(header)] + [max(c, default=-1) + 1 for _, c in chunks])
    header = header + [""] * (width - len(header))
    body = {}
    for j in range(width):
        if j in skip:
            continue
        parts = [c[j] if j in c else pa.array([""] * n, pa.string()).dictionary_encode() for n, c in chunks]
        body[j] = _text_column(parts)
    lines = np.frombuffer(sheet_rows, dtype="int64").copy() if sheet_rows else np.zeros(0, dtype="int64")
    return header, pd.DataFrame(body, index=pd.RangeIndex(len(lines))), lines, blank


def _finish_text_source(path, fmt, header, body, rows, lines, blank: int = 0) -> Source:
    """Drop unnamed empty columns and blank rows (keeping the row numbers), name the columns."""
    stripped = [h.strip() for h in header]
    named = [j for j in body.columns if stripped[j]]
    unnamed = [j for j in body.columns if not stripped[j] and (strip_text(body[j]) != "").any()]
    if unnamed:
        raise file_error(path, f"column {unnamed[0] + 1} has values but no name in the header row", column="")
    body = body.loc[:, named]
    body.columns = [stripped[j] for j in named]
    data = pd.DataFrame({name: strip_text(body[name]) for name in body.columns}, index=body.index)
    empty = (data == "").all(axis=1).to_numpy(bool) if len(body.columns) else np.ones(len(body), dtype=bool)
    keep = ~empty
    if empty.any():
        body, data = body.loc[keep].reset_index(drop=True), data.loc[keep].reset_index(drop=True)
        rows, lines = rows[keep], None if lines is None else lines[keep]
    return Source(path, fmt, body, data, rows, lines, blank + int(empty.sum()))


# ----------------------------------------------------------------------------------- Parquet


def _read_parquet_source(path: Path, limits: Limits, select) -> Source:
    try:
        handle = pq.ParquetFile(path)
        schema, meta = handle.schema_arrow, handle.metadata
    except (pa.ArrowInvalid, OSError) as exc:
        raise file_error(path, f"not a readable Parquet file ({exc})") from None
    index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    names = [n for n in schema.names if n not in index]
    limits.check(path, "columns", len(names), f"the file has {len(names):,} columns", unit=" columns")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise file_error(path, f"columns {duplicated} appear more than once", column=duplicated[0])
    for field in schema:
        t = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not (
            is_string_type(t)
            or pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_timestamp(t)
            or pa.types.is_date(t)
            or pa.types.is_null(t)
        ):
            raise file_error(path, f"column {field.name!r} has the unsupported type {field.type}", column=field.name)
    limits.check(path, "rows", meta.num_rows, f"the file has {meta.num_rows:,} records", unit=" rows")
    wanted = [n for n in select(names) if n in names]
    text = [n for n in wanted if is_string_type(schema.field(n).type)]
    limits.check_expansion(path, parquet_decoded_bytes(meta, schema, wanted), path.stat().st_size, "the data to read")
    check_parquet_statistics(path, meta, text, limits)
    try:
        handle = pq.ParquetFile(path, read_dictionary=text)
        tables, start = [], 0
        for group in range(meta.num_row_groups):
            table = handle.read_row_group(group, columns=wanted)
            for name in text:
                offset = start
                for chunk in table.column(name).chunks:
                    check_text_lengths(
                        path, limits, name, chunk, lambda i, o=offset: (f"record {o + i} (0-based)", o + i)
                    )
                    offset += len(chunk)
            tables.append(table)
            start += table.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise file_error(path, f"not a readable Parquet file ({exc})") from None
    table = pa.concat_tables(tables) if tables else schema.empty_table().select(wanted)
    for name in text:
        chunks = table.column(name).chunks
        if chunks:
            table = table.set_column(table.schema.get_field_index(name), name, pa.chunked_array(_compact(chunks)))
    table = table.replace_schema_metadata(None)
    del tables
    frame = table.to_pandas(date_as_object=False, types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    frame = frame.reset_index(drop=True)
    del table
    pa.default_memory_pool().release_unused()  # give back what decoding took, before the cells are checked
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.CategoricalDtype) and not is_text(s):
            frame[name] = np.asarray(s)
        elif isinstance(s.dtype, pd.BooleanDtype) and not s.hasnans:
            frame[name] = s.astype(bool)  # booleans with a missing cell stay nullable
    data = frame.copy(deep=False)
    for name in frame.columns:
        if is_text(frame[name]):
            data[name] = strip_text(frame[name])
    rows = np.arange(len(frame), dtype="int64")
    return Source(path, "parquet", frame, data, rows, None, 0)
