"""Loading and validating the household review and VBSP loan files, and deterministic Parquet writing."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import gzip
import io as _io
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl.utils.exceptions import InvalidFileException

from . import registry
from .schema import AREAS, DEPRIVATIONS, HOUSEHOLD_COLUMNS, LOAN_COLUMNS, PROGRAMMES
from ..measure.standards import get_standard

__all__ = [
    "ValidationError",
    "REVIEW_YEAR_RANGE",
    "DISBURSED_RANGE",
    "RATE_MAX",
    "OPTIONAL_HOUSEHOLD_COLUMNS",
    "read_households",
    "read_loans",
    "write_parquet",
    "read_parquet",
]

#: Plausible review years (inclusive), from the 2016–2020 poverty-standard period to the
#: 2031–2035 one; a year outside them is taken for a typing error.
REVIEW_YEAR_RANGE: tuple[int, int] = (2016, 2035)

#: Plausible disbursement dates (inclusive): VBSP was founded in 2002 (Decree 78/2002/ND-CP).
DISBURSED_RANGE: tuple[str, str] = ("2002-01-01", "2035-12-31")

#: Largest accepted annual interest rate, as a fraction (VBSP rates are 0.033–0.0825).
RATE_MAX = 0.5

#: Household columns a file may omit: the deprivations that only the 2026–2030 standard
#: (Decree 351/2025/ND-CP) uses.  Decree 07/2021/ND-CP needs every other column.
OPTIONAL_HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(
    c for c in DEPRIVATIONS if c not in get_standard("2022-2025").columns
)

_SHOWN = 5
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_EXACT_FLOAT_INT = 2.0**53
_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
_PROBLEM_COLUMNS = ["row", "column", "value", "problem"]
_MOJIBAKE_CODECS = ("cp1252", "latin-1")


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
class _Source:
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


def _file_error(path, message, *, column=None, value=None, row=None):
    return ValidationError(f"{path}: {message}", path=path, row=row, column=column, value=value, problem=message)


# ----------------------------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in _FORMATS.items():
        if name.endswith(suffix):
            return fmt
    advice = "; save it from Excel as .xlsx or as 'CSV UTF-8'" if name.endswith((".xls", ".ods", ".txt")) else ""
    raise _file_error(
        path, f"unsupported file format {''.join(path.suffixes) or '(no extension)'!r}: expected "
        f"one of {', '.join(_FORMATS)}{advice}"
    )


def _read(path, *, sheet) -> _Source:
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
                column_types={f"f{j}": pa.string() for j in range(width)}, null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False,
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
        text_line = data[begin:None if end < 0 else end].rstrip(b"\r")
        records = [{
            "row": line - 1 if line > 1 else None, "column": None, "line": line,
            "value": text_line.decode("utf-8", errors="backslashreplace"),
            "cp1258": unicodedata.normalize("NFC", text_line.decode("cp1258", errors="replace")),
        }]
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
        f"\n  line {r['line']}" + (f", column {r['column']!r}" if r["column"] else "")
        + f": {r['value']!r} (as Windows-1258: {r['cp1258']!r})"
        for r in records[:_SHOWN]
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
            _io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, sep=",", quotechar='"',
        )
    except pd.errors.EmptyDataError:
        raise _file_error(path, "the file is empty: expected a header row naming the columns") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            n, line, saw = found.groups()
            raise _file_error(
                path, f"line {line} has {saw} fields but the header has {n}: a stray comma or an unquoted "
                "value containing a comma?",
            ) from None
        raise _file_error(path, f"not a readable CSV file ({exc})") from None


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


def _read_csv(path: Path) -> _Source:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise _file_error(path, f"not a readable gzip file ({exc})") from None
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


def _read_xlsx(path: Path, sheet) -> _Source:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise _file_error(path, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = book.sheetnames
        if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
            raise TypeError(f"'sheet' should be a sheet index or name, got {type(sheet).__name__}")
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            raise _file_error(path, f"sheet index {sheet} out of range: the workbook has sheets {names}")
        if isinstance(sheet, str) and sheet not in names:
            raise _file_error(path, f"no sheet named {sheet!r}: the workbook has sheets {names}")
        ws = book[names[sheet] if isinstance(sheet, int) else sheet]
        cells = [[_cell_text(v) for v in row] for row in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()
    if not cells:
        raise _file_error(path, "the sheet is empty: expected a header row naming the columns")
    width = max(len(r) for r in cells)
    cells = [r + [""] * (width - len(r)) for r in cells]
    header, body = cells[0], pd.DataFrame(cells[1:], columns=range(width), dtype="str")
    if body.empty:
        body = pd.DataFrame({j: pd.Series([], dtype="str") for j in range(width)})
    rows = np.arange(1, len(body) + 1, dtype="int64")
    return _finish_text_source(path, "xlsx", header, body, rows, rows + 1)


def _finish_text_source(path, fmt, header, body, rows, lines) -> _Source:
    """Drop unnamed empty columns and blank rows (keeping the row numbers), name the columns."""
    stripped = [h.strip() for h in header]
    keep = [j for j, h in enumerate(stripped) if h or (body.iloc[:, j].str.strip() != "").any()]
    body = body.iloc[:, keep]
    names = [stripped[j] for j in keep]
    if any(h == "" for h in names):
        j = names.index("")
        raise _file_error(path, f"column {keep[j] + 1} has values but no name in the header row", column="")
    seen = {}
    for j, name in zip(keep, names):
        if name in seen:
            raise _file_error(
                path, f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {j + 1})",
                column=name, value=name,
            )
        seen[name] = j
    body.columns = names
    data = pd.DataFrame({name: _strip(body[name]) for name in names}, index=body.index)
    blank = (data == "").all(axis=1).to_numpy(bool)
    keep = ~blank
    return _Source(
        path, fmt, body.loc[keep].reset_index(drop=True), data.loc[keep].reset_index(drop=True),
        rows[keep], None if lines is None else lines[keep], int(blank.sum()),
    )


def _read_parquet_source(path: Path) -> _Source:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _file_error(path, f"not a readable Parquet file ({exc})") from None
    names = table.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise _file_error(path, f"columns {duplicated} appear more than once", column=duplicated[0])
    for field in table.schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
                or pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_null(t)):
            raise _file_error(path, f"column {field.name!r} has the unsupported type {field.type}", column=field.name)
    frame = table.to_pandas(date_as_object=False).reset_index(drop=True)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype("str")
    data = frame.copy(deep=False)
    for name in frame.columns:
        if _is_text(frame[name]):
            data[name] = _strip(frame[name])
    rows = np.arange(len(frame), dtype="int64")
    return _Source(path, "parquet", frame, data, rows, None, 0)


# ----------------------------------------------------------------------------------- columns


def _canonical(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


def _check_columns(src: _Source, spec: dict[str, str], optional: tuple[str, ...], extra: str) -> list[str]:
    """Raise for missing, misspelt and (unless ``extra='keep'``) unknown columns; return the extras."""
    present = list(src.data.columns)
    known = list(spec)
    missing = [c for c in known if c not in present and c not in optional]
    near, unknown = [], []
    canonical = {_canonical(c): c for c in known}
    for name in present:
        if name in spec:
            continue
        guess = canonical.get(_canonical(name)) or next(
            iter(difflib.get_close_matches(_canonical(name), known, n=1, cutoff=0.8)), None
        )
        (near if guess else unknown).append((name, guess))
    if extra == "keep":
        unknown_raise = []
    else:
        unknown_raise = [n for n, _ in unknown]
    if not (missing or near or unknown_raise):
        return [n for n, _ in unknown]
    parts, rows = [], []
    for name, guess in near:
        parts.append(f"unknown column {name!r} (did you mean {guess!r}?)")
        rows.append((name, name, f"unknown column; did you mean {guess!r}?"))
    if missing:
        parts.append(f"missing required column(s) {missing}")
        rows += [(c, None, "missing required column") for c in missing]
    if unknown_raise:
        parts.append(f"unknown column(s) {unknown_raise} (pass extra='keep' to keep them)")
        rows += [(n, n, "unknown column") for n in unknown_raise]
    if len(present) == 1 and re.search(r"[;\t|]", present[0]):
        parts.append("the header is one column containing ';', tab or '|': save the file with commas as separators")
    problems = pd.DataFrame(
        {"row": None, "column": [r[0] for r in rows], "value": [r[1] for r in rows], "problem": [r[2] for r in rows]}
    )
    raise ValidationError(
        f"{src.path}: {'; '.join(parts)}. Expected columns: {known}",
        path=src.path, column=rows[0][0], value=rows[0][1], problems=problems,
    )


# ----------------------------------------------------------------------------------- values


class _Checker:
    """Collects every problem of every cell, vectorised per column and check."""

    def __init__(self, src: _Source, columns: list[str]):
        self.src = src
        self.parts: list[pd.DataFrame] = []
        self.order = {c: i for i, c in enumerate(columns)}

    def add(self, column: str, mask, problem) -> None:
        """Record ``problem`` (one text, or one per row) for the rows where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        value = self.src.raw[column].iloc[pos].to_numpy(dtype=object)
        text = np.asarray(problem, dtype=object)[pos] if not isinstance(problem, str) else problem
        self.parts.append(pd.DataFrame({"pos": pos, "column": column, "value": value, "problem": text}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": pd.Series([], dtype="int64"), "column": [], "value": [], "problem": []})
        out = pd.concat(self.parts, ignore_index=True)
        out["_order"] = out["column"].map(self.order)
        return out.sort_values(["pos", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _strip(s: pd.Series) -> pd.Series:
    return s.astype("str").str.strip()


def _blank(s: pd.Series) -> np.ndarray:
    if _is_text(s):
        return (s.isna() | (s == "")).to_numpy(bool)
    return s.isna().to_numpy(bool)


def _type_error(src: _Source, column: str, expected: str):
    raise _file_error(
        src.path, f"column {column!r} is stored as {src.data[column].dtype}, expected {expected}", column=column
    )


def _numbers(src: _Source, column: str, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as float64; return the values and the mask of non-empty cells that are not numbers."""
    if _is_text(s):
        ok = s.str.fullmatch(_NUMBER).fillna(False).to_numpy(bool)
        arr = pa.array(s.where(ok, "0").astype("str"), type=pa.string())
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~ok & ~_blank(s)
        return np.where(ok, values, np.nan), bad
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        _type_error(src, column, "numbers")
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    return values, ~np.isfinite(values) & ~np.isnan(values)


def _text(src: _Source, column: str, s: pd.Series, kind: str) -> pd.Series:
    if _is_text(s):
        return s
    if not s.isna().all():
        expected = "text with the leading zeros (e.g. '01840')" if kind == "code5" else "text (strings)"
        _type_error(src, column, expected)
    return s.astype("str")


def _check_text(chk: _Checker, column: str, s: pd.Series) -> pd.Series:
    """NFC-normalise free text and flag text that was decoded twice (``NÃ¹ng`` for ``Nùng``)."""
    non_ascii = ~s.str.isascii().fillna(True).to_numpy(bool)
    if not non_ascii.any():
        return s
    codes, uniques = pd.factorize(s)
    nfc = np.array([unicodedata.normalize("NFC", u) for u in uniques], dtype=object)
    if (nfc != uniques.to_numpy(dtype=object)).any():
        s = pd.Series(np.where(codes >= 0, nfc[np.maximum(codes, 0)], None), dtype="str")
    fixes = {}
    for value in s[non_ascii].unique():
        for codec in _MOJIBAKE_CODECS:
            try:
                fixed = value.encode(codec).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if fixed != value:
                fixes[value] = fixed
                break
    if fixes:
        mask = s.isin(list(fixes)).to_numpy(bool)
        problem = np.empty(len(s), dtype=object)
        problem[mask] = [
            f"looks double-encoded (UTF-8 read as Windows-1252): probably {fixes[v]!r}; "
            "re-export the file as UTF-8 from the original"
            for v in s[mask]
        ]
        chk.add(column, mask, problem)
    return s


def _validate(src: _Source, spec: dict[str, str], columns: list[str], extras: list[str], *, vintage=None,
              dayfirst=None) -> tuple[dict[str, pd.Series], _Checker]:
    chk = _Checker(src, columns)
    parsed: dict[str, pd.Series] = {}
    for column in columns:
        kind = spec[column]
        s = src.data[column]
        if kind in ("str", "code5", "area", "programme"):
            s = _text(src, column, s, kind)
        missing = _blank(s)
        chk.add(column, missing, "required value is empty")
        filled = ~missing
        if kind == "str":
            parsed[column] = _check_text(chk, column, s)
        elif kind == "code5":
            digits = s.str.fullmatch(r"\d{5}").fillna(False).to_numpy(bool)
            short = s.str.fullmatch(r"\d{1,4}").fillna(False).to_numpy(bool)
            chk.add(column, short, "commune code must be 5 digits with leading zeros (e.g. '01840')")
            chk.add(column, filled & ~digits & ~short, "commune code must be 5 digits")
            known = s.isin(list(registry.known_codes(vintage))).to_numpy(bool)
            chk.add(column, digits & ~known,
                    f"not a commune code of vintage {vintage} (see povanalysis.data.registry.units({vintage}))")
            parsed[column] = s
        elif kind in ("area", "programme"):
            allowed = AREAS if kind == "area" else PROGRAMMES
            chk.add(column, filled & ~s.isin(allowed).to_numpy(bool),
                    f"must be one of {', '.join(map(repr, allowed))}")
            parsed[column] = s
        elif kind == "binary":
            if _is_text(s):
                ok = s.isin(["0", "1"]).to_numpy(bool)
                values = np.where(s.to_numpy(dtype=object) == "1", 1.0, 0.0)
            elif pd.api.types.is_bool_dtype(s.dtype):
                values = s.to_numpy(dtype="float64", na_value=np.nan)
                ok = (values == 0) | (values == 1)
            else:
                values, _ = _numbers(src, column, s)
                ok = (values == 0) | (values == 1)
            chk.add(column, filled & ~ok, "deprivation indicator must be 0 or 1")
            parsed[column] = pd.Series(values)
        elif kind == "date":
            parsed[column] = _dates(src, chk, column, s, filled, dayfirst)
        else:
            values, not_number = _numbers(src, column, s)
            finite = np.isfinite(values)
            if kind in ("int", "int>=1"):
                whole = finite & (np.abs(values) < _EXACT_FLOAT_INT) & (values == np.round(values))
                label = "a whole number >= 1" if kind == "int>=1" else "a whole number"
                chk.add(column, not_number | (finite & ~whole), f"must be {label}")
                if kind == "int>=1":
                    chk.add(column, whole & (values < 1), "must be a whole number >= 1")
                if column == "review_year":
                    lo, hi = REVIEW_YEAR_RANGE
                    chk.add(column, whole & ((values < lo) | (values > hi)),
                            f"review year outside the plausible range {lo}–{hi}")
            elif kind in ("money>=0", "money>0"):
                chk.add(column, not_number, "must be a plain number in VND (digits, '.' as decimal point, "
                        "no thousands separators or units)")
                if kind == "money>=0":
                    chk.add(column, finite & (values < 0), "must not be negative")
                else:
                    chk.add(column, finite & (values <= 0), "must be greater than 0")
            elif kind == "rate":
                chk.add(column, not_number, "must be a plain number (an annual fraction such as 0.066)")
                percent = finite & (values > RATE_MAX) & (values <= 100)
                hint = np.empty(len(values), dtype=object)
                hint[percent] = [
                    f"looks like a percentage: write it as the fraction {v / 100:g}" for v in values[percent]
                ]
                chk.add(column, percent, hint)
                chk.add(column, finite & ~percent & ((values <= 0) | (values > RATE_MAX)),
                        f"annual rate must be a fraction in (0, {RATE_MAX}]")
            else:
                raise AssertionError(f"schema kind {kind!r} of column {column!r} has no validator")
            parsed[column] = pd.Series(values)
    for column in extras:
        parsed[column] = src.raw[column]
    return parsed, chk


def _dates(src, chk, column, s, filled, dayfirst) -> pd.Series:
    lo, hi = (pd.Timestamp(d) for d in DISBURSED_RANGE)
    if _is_text(s):
        iso = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(bool)
        slash = s.str.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}").fillna(False).to_numpy(bool)
        values = pd.to_datetime(s.where(iso), format="%Y-%m-%d", errors="coerce")
        if dayfirst is None:
            chk.add(column, slash, "ambiguous date: write it as YYYY-MM-DD, or pass dayfirst=True "
                    "(DD/MM/YYYY, the Vietnamese convention) or dayfirst=False (MM/DD/YYYY)")
            values_ok = iso
        else:
            other = pd.to_datetime(
                s.where(slash).str.replace(r"[.\-]", "/", regex=True),
                format="%d/%m/%Y" if dayfirst else "%m/%d/%Y", errors="coerce",
            )
            values = values.where(iso, other)
            values_ok = iso | slash
        chk.add(column, filled & ~iso & ~slash, "not a date in the form YYYY-MM-DD")
        invalid = values_ok & values.isna().to_numpy(bool)
        chk.add(column, invalid, "not a valid calendar date")
    else:
        if not pd.api.types.is_datetime64_dtype(s.dtype):
            _type_error(src, column, "dates (or ISO text YYYY-MM-DD)")
        values = s
        timed = (filled & (values != values.dt.normalize())).to_numpy(bool)
        chk.add(column, timed, "has a time of day; expected a date")
    dated = values.notna().to_numpy(bool)
    chk.add(column, dated & ((values < lo) | (values > hi)).to_numpy(bool),
            f"disbursement date outside the plausible range {DISBURSED_RANGE[0]} to {DISBURSED_RANGE[1]}")
    return values.reset_index(drop=True)


def _duplicates(src: _Source, chk: _Checker, ids: pd.Series, years: pd.Series, usable: np.ndarray) -> None:
    """Flag every row of a (household_id, review_year) pair that occurs more than once."""
    keys = pd.DataFrame({"id": ids, "year": years})
    id_codes, _ = pd.factorize(ids)
    year_codes, year_values = pd.factorize(years)
    combined = pd.Series(np.where(usable, id_codes.astype("int64") * (len(year_values) + 1) + year_codes, -1))
    dup = usable & combined.duplicated(keep=False).to_numpy(bool)
    if not dup.any():
        return
    pos = np.flatnonzero(dup)
    sub = keys.iloc[pos].assign(pos=pos).sort_values(["id", "year", "pos"], kind="stable")
    same_prev = (sub["id"] == sub["id"].shift(1)) & (sub["year"] == sub["year"].shift(1))
    partner = np.where(same_prev, sub["pos"].shift(1, fill_value=0), sub["pos"].shift(-1, fill_value=0))
    text = ("duplicate household_id within review_year " + sub["year"].astype("int64").astype(str)
            + ": also at " + src.where(partner.astype("int64")).to_numpy(object))
    problem = np.empty(len(keys), dtype=object)
    problem[sub["pos"].to_numpy()] = text.to_numpy(object)
    chk.add("household_id", dup, problem)


# ----------------------------------------------------------------------------------- assembling


def _conclude(src, spec, columns, extras, parsed, chk, quarantine) -> pd.DataFrame:
    problems = chk.frame()
    n = len(src.data)
    bad = np.zeros(n, dtype=bool)
    bad[problems["pos"].to_numpy(dtype="int64")] = True
    if quarantine is not None:
        quarantined = _write_quarantine(src, problems, bad, quarantine)
    elif not problems.empty:
        raise _row_error(src, problems)
    else:
        quarantined = 0
    keep = ~bad
    out = {}
    for column in columns:
        kind = spec[column]
        values = parsed[column][keep].reset_index(drop=True)
        if kind in ("str", "code5", "area", "programme"):
            out[column] = values.astype("str")
        elif kind in ("int", "int>=1"):
            out[column] = values.astype("int64")
        elif kind == "binary":
            out[column] = values.astype("int8")
        elif kind == "date":
            out[column] = values.astype("datetime64[us]")
        else:
            out[column] = values.astype("float64")
    for column in extras:
        out[column] = parsed[column][keep].reset_index(drop=True)
    frame = pd.DataFrame(out, index=pd.RangeIndex(int(keep.sum())))
    frame.attrs["povanalysis.io"] = {
        "path": str(src.path),
        "format": src.fmt,
        "read": n,
        "valid": int(keep.sum()),
        "quarantined": quarantined,
        "quarantine_path": None if quarantine is None else str(quarantine),
        "blank_rows_skipped": src.blank,
    }
    return frame


def _described(src: _Source, problems: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "row": pd.array(src.rows[problems["pos"].to_numpy(dtype="int64")], dtype="Int64"),
            "column": problems["column"].to_numpy(object),
            "value": problems["value"].to_numpy(object),
            "problem": problems["problem"].to_numpy(object),
        }
    )
    return out


def _row_error(src: _Source, problems: pd.DataFrame) -> ValidationError:
    n, n_rows = len(problems), problems["pos"].nunique()
    head = problems.head(_SHOWN)
    where = src.where(head["pos"].to_numpy(dtype="int64")).tolist()
    lines = "".join(
        f"\n  {w}, column {c!r}: {p}, got {v!r}"
        for w, c, p, v in zip(where, head["column"], head["problem"], head["value"])
    )
    shown = f" (the first {_SHOWN} shown)" if n > _SHOWN else ""
    message = (
        f"{src.path}: {n} invalid value{'s' if n != 1 else ''} in {n_rows} row{'s' if n_rows != 1 else ''}"
        f"{shown}:{lines}\nFix the file, or pass quarantine=PATH to set the invalid rows aside and load the rest."
    )
    first = head.iloc[0]
    return ValidationError(
        message, path=src.path, row=int(src.rows[int(first["pos"])]), column=first["column"], value=first["value"],
        problems=_described(src, problems),
    )


def _write_quarantine(src: _Source, problems: pd.DataFrame, bad: np.ndarray, quarantine) -> int:
    target = Path(quarantine)
    text = (problems["column"].astype("str") + ": " + problems["problem"].astype("str") + " (got "
            + problems["value"].map(repr).astype("str") + ")")
    joined = text.groupby(problems["pos"].to_numpy(), sort=True).agg("; ".join)
    pos = np.flatnonzero(bad)
    rows = src.raw.iloc[pos].reset_index(drop=True)
    columns = {"row": src.rows[pos]}
    if src.lines is not None:
        columns["line" if src.fmt == "csv" else "sheet_row"] = src.lines[pos]
    out = pd.concat([pd.DataFrame(columns), rows], axis=1)
    out["problem"] = joined.reindex(pos).to_numpy(object)
    target.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
    return len(out)


def _check_options(path, quarantine, extra):
    if extra not in ("raise", "keep"):
        raise ValueError(f"'extra' must be 'raise' or 'keep', got {extra!r}")
    if quarantine is not None:
        if not isinstance(quarantine, (str, os.PathLike)):
            raise TypeError(f"'quarantine' should be a path or None, got {type(quarantine).__name__}")
        if isinstance(path, (str, os.PathLike)) and Path(quarantine).resolve() == Path(path).resolve():
            raise ValueError(f"'quarantine' must not be the input file itself, got {str(quarantine)!r}")


# ----------------------------------------------------------------------------------- public


def read_households(path, *, quarantine=None, vintage: int = 2025, sheet=0, extra: str = "raise") -> pd.DataFrame:
    """Read and validate the household review file: one row per household per review year.

    Every cell is checked and every problem is reported, not only the first.  Leading and
    trailing whitespace is removed from the headers and from text cells; nothing else is
    changed: a value that is not exactly valid is an error, never coerced or dropped.
    Blank rows of a CSV or XLSX file (every cell empty) are not records: they are skipped,
    keep their place in the row numbering, and are counted in ``attrs``.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.csv.gz`` (UTF-8, with or without BOM), ``.xlsx`` (every cell read as the
        text shown) or ``.parquet``.  The columns are described in ``data/raw/README.md``.
    quarantine : str or Path, optional
        Instead of raising on invalid rows, write them to this CSV file (UTF-8) with their
        ``row`` (and ``line``/``sheet_row``) in the input and a ``problem`` column listing every
        problem of the row, and return the valid rows.  Both rows of a duplicate pair go there.
        Problems of the whole file (format, encoding, columns) still raise.
    vintage : {2025, 2024}
        The commune codes the file uses: the 92 units in force since 1 July 2025, or the 280
        units before the merger (:func:`povanalysis.data.registry.known_codes`).
    sheet : int or str
        The worksheet of an ``.xlsx`` file (index or name).
    extra : {"raise", "keep"}
        What to do with unknown columns that are not near-misses of known ones.  Near-misses
        (``d_emplyment``, ``Income_pc``, ``commune code``) always raise with a suggestion.

    Returns
    -------
    DataFrame
        The columns of :data:`povanalysis.data.schema.HOUSEHOLD_COLUMNS` in schema order:
        ``household_id``, ``commune_code`` (5 digits), ``area``, ``ethnicity`` (NFC) as ``str``;
        ``review_year`` and ``size`` as int64; ``income_pc`` as float64; ``d_*`` as int8 0/1;
        then any kept extra columns.  ``d_internet`` and ``d_waste`` are absent when the file
        lacks them: the 2022–2025 standard does not use them, and classifying under
        ``"2026-2030"`` then raises :class:`ValueError` naming them.
        ``attrs["povanalysis.io"]`` holds ``path``, ``format``, ``read``, ``valid``,
        ``quarantined`` (``read == valid + quarantined``), ``quarantine_path`` and
        ``blank_rows_skipped``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValidationError
        The file breaks the schema; see its ``problems`` attribute for every problem.  Rows are
        data rows counted from 1 below the header in CSV and XLSX files ("row 5 (line 6 of the
        file)", "row 5 (sheet row 6)") and records counted from 0 in Parquet files.

    References
    ----------
    Decree 07/2021/ND-CP (2022–2025 standard); Decree 351/2025/ND-CP (2026–2030 standard);
    Resolution 1683/NQ-UBTVQH15 (the 92 commune-level units since 1 July 2025).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from povanalysis.data.schema import HOUSEHOLD_COLUMNS
    >>> folder = tempfile.TemporaryDirectory()
    >>> values = {"household_id": "H1", "review_year": "2024", "commune_code": "01840",
    ...           "area": "urban", "ethnicity": "Tày", "size": "4", "income_pc": "1500000"}
    >>> cols = [c for c in HOUSEHOLD_COLUMNS if c not in OPTIONAL_HOUSEHOLD_COLUMNS]
    >>> csv_text = ",".join(cols) + "\\n" + ",".join(values.get(c, "0") for c in cols) + "\\n"
    >>> path = pathlib.Path(folder.name) / "households.csv"
    >>> _ = path.write_text(csv_text, encoding="utf-8")
    >>> hh = read_households(path)
    >>> hh[["commune_code", "size", "income_pc", "d_water"]].to_dict("records")
    [{'commune_code': '01840', 'size': 4, 'income_pc': 1500000.0, 'd_water': 0}]
    >>> _ = path.write_text(csv_text.replace("01840", "1840"), encoding="utf-8")
    >>> read_households(path)
    Traceback (most recent call last):
    ...
    povanalysis.data.io.ValidationError: ...row 1 (line 2 of the file), column 'commune_code': commune code must be 5 digits...got '1840'
    ...
    >>> folder.cleanup()
    """
    _check_options(path, quarantine, extra)
    registry.known_codes(vintage)
    src = _read(path, sheet=sheet)
    extras = _check_columns(src, HOUSEHOLD_COLUMNS, OPTIONAL_HOUSEHOLD_COLUMNS, extra)
    columns = [c for c in HOUSEHOLD_COLUMNS if c in src.data.columns]
    parsed, chk = _validate(src, HOUSEHOLD_COLUMNS, columns, extras, vintage=vintage)
    ids, years = parsed["household_id"], parsed["review_year"]
    year = years.to_numpy(dtype="float64")
    usable = ~_blank(ids) & np.isfinite(year) & (year == np.round(year))
    _duplicates(src, chk, ids, years, usable)
    return _conclude(src, HOUSEHOLD_COLUMNS, columns, extras, parsed, chk, quarantine)


def read_loans(path, *, quarantine=None, households: pd.DataFrame | None = None, sheet=0,
               dayfirst: bool | None = None, extra: str = "raise") -> pd.DataFrame:
    """Read and validate the VBSP loan records: one row per disbursement.

    Same reading, error and quarantine rules as :func:`read_households`.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz``, ``.xlsx`` or ``.parquet``.
    quarantine : str or Path, optional
        Write invalid rows here (CSV, UTF-8) instead of raising; see :func:`read_households`.
    households : DataFrame, optional
        Validated households (for instance from :func:`read_households`); every loan's
        ``household_id`` must then occur in its ``household_id`` column.
    sheet : int or str
        The worksheet of an ``.xlsx`` file.
    dayfirst : bool, optional
        Dates must be ISO ``YYYY-MM-DD`` (or date cells in XLSX).  ``03/04/2023`` is ambiguous and
        an error unless ``dayfirst=True`` (read as DD/MM/YYYY, the Vietnamese convention) or
        ``dayfirst=False`` (MM/DD/YYYY) says how to read it.
    extra : {"raise", "keep"}
        What to do with unknown columns that are not near-misses of known ones.

    Returns
    -------
    DataFrame
        :data:`povanalysis.data.schema.LOAN_COLUMNS`: ``household_id`` and ``programme``
        (one of :data:`~povanalysis.data.schema.PROGRAMMES`) as ``str``; ``disbursed`` as
        datetime64[us] within :data:`DISBURSED_RANGE`; ``amount`` (VND, > 0) as float64;
        ``rate`` (annual fraction in (0, :data:`RATE_MAX`]; ``6.6`` is an error suggesting
        ``0.066``) as float64; ``term_months`` (>= 1) as int64.  ``attrs["povanalysis.io"]``
        as in :func:`read_households`.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValidationError
        The file breaks the schema (same row convention as :func:`read_households`).

    References
    ----------
    Decree 78/2002/ND-CP (credit for the poor); Decision 15/2013/QĐ-TTg (near-poor households);
    Decision 28/2015/QĐ-TTg (households newly escaped from poverty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "loans.csv"
    >>> _ = path.write_text("household_id,programme,disbursed,amount,rate,term_months\\n"
    ...                     "H1,poor,03/04/2023,50000000,0.066,60\\n", encoding="utf-8")
    >>> read_loans(path, dayfirst=True)["disbursed"].dt.strftime("%Y-%m-%d").tolist()
    ['2023-04-03']
    >>> read_loans(path)
    Traceback (most recent call last):
    ...
    povanalysis.data.io.ValidationError: ...row 1 (line 2 of the file), column 'disbursed': ambiguous date...
    >>> folder.cleanup()
    """
    _check_options(path, quarantine, extra)
    if dayfirst not in (None, True, False):
        raise ValueError(f"'dayfirst' must be None, True or False, got {dayfirst!r}")
    if households is not None:
        if not isinstance(households, pd.DataFrame):
            raise TypeError(f"'households' should be a DataFrame, got {type(households).__name__}")
        if "household_id" not in households.columns:
            raise ValueError(f"'households' has no 'household_id' column; it has {list(households.columns)}")
    src = _read(path, sheet=sheet)
    extras = _check_columns(src, LOAN_COLUMNS, (), extra)
    columns = list(LOAN_COLUMNS)
    parsed, chk = _validate(src, LOAN_COLUMNS, columns, extras, dayfirst=dayfirst)
    if households is not None:
        ids = parsed["household_id"]
        known = pd.Index(households["household_id"].dropna().astype("str").unique())
        unknown = ~_blank(ids) & ~ids.isin(known).to_numpy(bool)
        chk.add("household_id", unknown, "household_id not found in the households frame")
    return _conclude(src, LOAN_COLUMNS, columns, extras, parsed, chk, quarantine)


def write_parquet(frame: pd.DataFrame, path, *, row_group_size: int = 1 << 20) -> Path:
    """Write ``frame`` to Parquet so that the same frame always gives the same bytes.

    Zstandard compression, a fixed row-group size, no ``attrs`` and no pandas index unless it is
    meaningful (anything but the default ``RangeIndex``).  The file is written next to its
    target and then renamed, so a failed write never leaves a half-written file.

    Parameters
    ----------
    frame : DataFrame
        Columns must have unique string names.
    path : str or Path
        The target; its folder is created if needed.
    row_group_size : int
        Rows per row group.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    >>> one = write_parquet(frame, pathlib.Path(folder.name) / "1.parquet")
    >>> two = write_parquet(frame, pathlib.Path(folder.name) / "2.parquet")
    >>> one.read_bytes() == two.read_bytes()
    True
    >>> folder.cleanup()
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame, got {type(frame).__name__}")
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise ValueError(f"'frame' column names must be strings, got {bad[:5]!r}")
    if frame.columns.has_duplicates:
        raise ValueError(f"'frame' has duplicate column names {sorted(set(frame.columns[frame.columns.duplicated()]))}")
    if isinstance(row_group_size, bool) or not isinstance(row_group_size, int) or row_group_size < 1:
        raise ValueError(f"'row_group_size' must be a positive integer, got {row_group_size!r}")
    path = Path(path)
    index = frame.index
    default_index = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None
    plain = frame.copy(deep=False)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=not default_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A plain open (not mkstemp, which makes the file private) so the file gets the usual permissions.
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(
            table, tmp, row_group_size=row_group_size, compression="zstd", compression_level=3,
            version="2.6", data_page_version="1.0", use_dictionary=True, write_statistics=True,
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_parquet(path) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet` (dtypes and index as written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = write_parquet(pd.DataFrame({"a": [1]}), pathlib.Path(folder.name) / "a.parquet")
    >>> read_parquet(path)["a"].tolist()
    [1]
    >>> folder.cleanup()
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Parquet file not found: '{path}'")
    return pq.read_table(path).to_pandas()
