"""Reading an input file (CSV in UTF-8, optionally gzipped; XLSX; Parquet) as cells with the row numbers a user is told."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io as _io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl.utils.exceptions import InvalidFileException

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
    """Whether a column holds text (a string or object dtype)."""
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def strip_text(s: pd.Series) -> pd.Series:
    """A column as text without surrounding whitespace."""
    return s.astype("str").str.strip()


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


def read_source(path: str | os.PathLike, *, sheet: int | str = 0) -> Source:
    """Read a CSV (UTF-8, optionally gzipped), XLSX or Parquet file as a :class:`Source`; raise naming the file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"'path' should be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: '{path}'" + (" (it is a directory)" if path.is_dir() else ""))
    fmt = _format_of(path)
    if fmt != "xlsx" and sheet != 0:
        raise ValueError(f"'sheet' applies only to .xlsx files, got sheet={sheet!r} for '{path}'")
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    return _read_parquet_source(path)


def _decode(path: Path, data: bytes) -> tuple[bytes, str]:
    """The file's bytes without a byte-order mark, and its text; raise unless it is UTF-8."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:], data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, data[bom:], exc.start, bom) from None


def _parse_csv(path: Path, data: bytes, text: str) -> pd.DataFrame:
    """Every cell as text, the header as the first row: Arrow's fast reader, else pandas for ragged files."""
    first = text[: text.find("\n")] if "\n" in text else text
    width = len(next(csv.reader([first]), [])) or 1
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{j}": pa.string() for j in range(width)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        # Short or long rows, or an empty file: pandas fills short rows and names the line of a long one.
        return _parse_csv_text(path, text)
    frame = table.to_pandas()
    frame.columns = range(frame.shape[1])
    return frame


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
    # Quoted values span lines: ask the csv module where each record starts.
    reader = csv.reader(_io.StringIO(text, newline=""))
    starts, previous = [], 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    if len(starts) != n_data + 1:
        return rows, None
    return rows, np.asarray(starts[1:], dtype="int64")


def _read_csv(path: Path) -> Source:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise file_error(path, f"not a readable gzip file ({exc})") from None
    data, text = _decode(path, data)
    raw = _parse_csv(path, data, text)
    header = [str(c) for c in raw.iloc[0]]
    body = raw.iloc[1:].reset_index(drop=True)
    rows, lines = _line_numbers(text, len(body))
    return _finish_text_source(path, "csv", header, body, rows, lines)


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


def _read_xlsx(path: Path, sheet) -> Source:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = book.sheetnames
        if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
            raise TypeError(f"'sheet' should be a sheet index or name, got {type(sheet).__name__}")
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            raise file_error(path, f"sheet index {sheet} out of range: the workbook has sheets {names}")
        if isinstance(sheet, str) and sheet not in names:
            raise file_error(path, f"no sheet named {sheet!r}: the workbook has sheets {names}")
        ws = book[names[sheet] if isinstance(sheet, int) else sheet]
        cells = [[_cell_text(v) for v in row] for row in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()
    if not cells:
        raise file_error(path, "the sheet is empty: expected a header row naming the columns")
    width = max(len(r) for r in cells)
    cells = [r + [""] * (width - len(r)) for r in cells]
    header, body = cells[0], pd.DataFrame(cells[1:], columns=range(width), dtype="str")
    if body.empty:
        body = pd.DataFrame({j: pd.Series([], dtype="str") for j in range(width)})
    rows = np.arange(1, len(body) + 1, dtype="int64")
    return _finish_text_source(path, "xlsx", header, body, rows, rows + 1)


def _finish_text_source(path, fmt, header, body, rows, lines) -> Source:
    """Drop unnamed empty columns and blank rows (keeping the row numbers), name the columns."""
    stripped = [h.strip() for h in header]
    keep = [j for j, h in enumerate(stripped) if h or (body.iloc[:, j].str.strip() != "").any()]
    body = body.iloc[:, keep]
    names = [stripped[j] for j in keep]
    if any(h == "" for h in names):
        j = names.index("")
        raise file_error(path, f"column {keep[j] + 1} has values but no name in the header row", column="")
    seen = {}
    for j, name in zip(keep, names):
        if name in seen:
            raise file_error(
                path,
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {j + 1})",
                column=name,
                value=name,
            )
        seen[name] = j
    body.columns = names
    data = pd.DataFrame({name: strip_text(body[name]) for name in names}, index=body.index)
    blank = (data == "").all(axis=1).to_numpy(bool)
    keep = ~blank
    return Source(
        path,
        fmt,
        body.loc[keep].reset_index(drop=True),
        data.loc[keep].reset_index(drop=True),
        rows[keep],
        None if lines is None else lines[keep],
        int(blank.sum()),
    )


def _read_parquet_source(path: Path) -> Source:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise file_error(path, f"not a readable Parquet file ({exc})") from None
    names = table.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise file_error(path, f"columns {duplicated} appear more than once", column=duplicated[0])
    for field in table.schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if not (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_string_view(t)
            or pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_timestamp(t)
            or pa.types.is_date(t)
            or pa.types.is_null(t)
        ):
            raise file_error(path, f"column {field.name!r} has the unsupported type {field.type}", column=field.name)
    frame = table.to_pandas(date_as_object=False).reset_index(drop=True)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype("str")
    data = frame.copy(deep=False)
    for name in frame.columns:
        if is_text(frame[name]):
            data[name] = strip_text(frame[name])
    rows = np.arange(len(frame), dtype="int64")
    return Source(path, "parquet", frame, data, rows, None, 0)
