"""Loading and validating the household review and VBSP loan files, and deterministic Parquet writing."""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..common.checks import require_frame
from ..common.files import atomic_write_bytes
from ..measure.standards import get_standard
from . import registry
from .schema import AREAS, DEPRIVATIONS, HOUSEHOLD_COLUMNS, LOAN_COLUMNS, PROGRAMMES
from .sources import MAX_SHOWN, MOJIBAKE_CODECS, Source, ValidationError, file_error, is_text, read_source

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

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_EXACT_FLOAT_INT = 2.0**53


# ----------------------------------------------------------------------------------- columns


def _canonical(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


def _check_columns(src: Source, spec: dict[str, str], optional: tuple[str, ...], extra: str) -> list[str]:
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
        path=src.path,
        column=rows[0][0],
        value=rows[0][1],
        problems=problems,
    )


# ----------------------------------------------------------------------------------- values


class _Checker:
    """Collects every problem of every cell, vectorised per column and check."""

    def __init__(self, src: Source, columns: list[str]):
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


def _blank(s: pd.Series) -> np.ndarray:
    if is_text(s):
        return (s.isna() | (s == "")).to_numpy(bool)
    return s.isna().to_numpy(bool)


def _type_error(src: Source, column: str, expected: str):
    raise file_error(
        src.path, f"column {column!r} is stored as {src.data[column].dtype}, expected {expected}", column=column
    )


def _numbers(src: Source, column: str, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as float64; return the values and the mask of non-empty cells that are not numbers."""
    if is_text(s):
        ok = s.str.fullmatch(_NUMBER).fillna(False).to_numpy(bool)
        arr = pa.array(s.where(ok, "0").astype("str"), type=pa.string())
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~ok & ~_blank(s)
        return np.where(ok, values, np.nan), bad
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        _type_error(src, column, "numbers")
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    return values, ~np.isfinite(values) & ~np.isnan(values)


def _text(src: Source, column: str, s: pd.Series, kind: str) -> pd.Series:
    if is_text(s):
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
        for codec in MOJIBAKE_CODECS:
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


def _validate(
    src: Source, spec: dict[str, str], columns: list[str], extras: list[str], *, vintage=None, dayfirst=None
) -> tuple[dict[str, pd.Series], _Checker]:
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
            chk.add(
                column,
                digits & ~known,
                f"not a commune code of vintage {vintage} (see povanalysis.data.registry.units({vintage}))",
            )
            parsed[column] = s
        elif kind in ("area", "programme"):
            allowed = AREAS if kind == "area" else PROGRAMMES
            chk.add(column, filled & ~s.isin(allowed).to_numpy(bool), f"must be one of {', '.join(map(repr, allowed))}")
            parsed[column] = s
        elif kind == "binary":
            if is_text(s):
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
                    chk.add(
                        column,
                        whole & ((values < lo) | (values > hi)),
                        f"review year outside the plausible range {lo}–{hi}",
                    )
            elif kind in ("money>=0", "money>0"):
                chk.add(
                    column,
                    not_number,
                    "must be a plain number in VND (digits, '.' as decimal point, no thousands separators or units)",
                )
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
                chk.add(
                    column,
                    finite & ~percent & ((values <= 0) | (values > RATE_MAX)),
                    f"annual rate must be a fraction in (0, {RATE_MAX}]",
                )
            else:
                raise AssertionError(f"schema kind {kind!r} of column {column!r} has no validator")
            parsed[column] = pd.Series(values)
    for column in extras:
        parsed[column] = src.raw[column]
    return parsed, chk


def _dates(src, chk, column, s, filled, dayfirst) -> pd.Series:
    lo, hi = (pd.Timestamp(d) for d in DISBURSED_RANGE)
    if is_text(s):
        iso = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(bool)
        slash = s.str.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}").fillna(False).to_numpy(bool)
        values = pd.to_datetime(s.where(iso), format="%Y-%m-%d", errors="coerce")
        if dayfirst is None:
            chk.add(
                column,
                slash,
                "ambiguous date: write it as YYYY-MM-DD, or pass dayfirst=True "
                "(DD/MM/YYYY, the Vietnamese convention) or dayfirst=False (MM/DD/YYYY)",
            )
            values_ok = iso
        else:
            other = pd.to_datetime(
                s.where(slash).str.replace(r"[.\-]", "/", regex=True),
                format="%d/%m/%Y" if dayfirst else "%m/%d/%Y",
                errors="coerce",
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
    chk.add(
        column,
        dated & ((values < lo) | (values > hi)).to_numpy(bool),
        f"disbursement date outside the plausible range {DISBURSED_RANGE[0]} to {DISBURSED_RANGE[1]}",
    )
    return values.reset_index(drop=True)


def _duplicates(src: Source, chk: _Checker, ids: pd.Series, years: pd.Series, usable: np.ndarray) -> None:
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
    text = (
        "duplicate household_id within review_year "
        + sub["year"].astype("int64").astype(str)
        + ": also at "
        + src.where(partner.astype("int64")).to_numpy(object)
    )
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


def _described(src: Source, problems: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "row": pd.array(src.rows[problems["pos"].to_numpy(dtype="int64")], dtype="Int64"),
            "column": problems["column"].to_numpy(object),
            "value": problems["value"].to_numpy(object),
            "problem": problems["problem"].to_numpy(object),
        }
    )
    return out


def _row_error(src: Source, problems: pd.DataFrame) -> ValidationError:
    n, n_rows = len(problems), problems["pos"].nunique()
    head = problems.head(MAX_SHOWN)
    where = src.where(head["pos"].to_numpy(dtype="int64")).tolist()
    lines = "".join(
        f"\n  {w}, column {c!r}: {p}, got {v!r}"
        for w, c, p, v in zip(where, head["column"], head["problem"], head["value"])
    )
    shown = f" (the first {MAX_SHOWN} shown)" if n > MAX_SHOWN else ""
    message = (
        f"{src.path}: {n} invalid value{'s' if n != 1 else ''} in {n_rows} row{'s' if n_rows != 1 else ''}"
        f"{shown}:{lines}\nFix the file, or pass quarantine=PATH to set the invalid rows aside and load the rest."
    )
    first = head.iloc[0]
    return ValidationError(
        message,
        path=src.path,
        row=int(src.rows[int(first["pos"])]),
        column=first["column"],
        value=first["value"],
        problems=_described(src, problems),
    )


def _write_quarantine(src: Source, problems: pd.DataFrame, bad: np.ndarray, quarantine) -> int:
    target = Path(quarantine)
    text = (
        problems["column"].astype("str")
        + ": "
        + problems["problem"].astype("str")
        + " (got "
        + problems["value"].map(repr).astype("str")
        + ")"
    )
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


def read_households(
    path: str | os.PathLike,
    *,
    quarantine: str | os.PathLike | None = None,
    vintage: int = registry.CURRENT_VINTAGE,
    sheet: int | str = 0,
    extra: str = "raise",
) -> pd.DataFrame:
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
    povanalysis.data.sources.ValidationError: ...row 1 (line 2 of the file), column 'commune_code': commune code must be 5 digits...got '1840'
    ...
    >>> folder.cleanup()
    """
    _check_options(path, quarantine, extra)
    registry.known_codes(vintage)
    src = read_source(path, sheet=sheet)
    extras = _check_columns(src, HOUSEHOLD_COLUMNS, OPTIONAL_HOUSEHOLD_COLUMNS, extra)
    columns = [c for c in HOUSEHOLD_COLUMNS if c in src.data.columns]
    parsed, chk = _validate(src, HOUSEHOLD_COLUMNS, columns, extras, vintage=vintage)
    ids, years = parsed["household_id"], parsed["review_year"]
    year = years.to_numpy(dtype="float64")
    usable = ~_blank(ids) & np.isfinite(year) & (year == np.round(year))
    _duplicates(src, chk, ids, years, usable)
    return _conclude(src, HOUSEHOLD_COLUMNS, columns, extras, parsed, chk, quarantine)


def read_loans(
    path: str | os.PathLike,
    *,
    quarantine: str | os.PathLike | None = None,
    households: pd.DataFrame | None = None,
    sheet: int | str = 0,
    dayfirst: bool | None = None,
    extra: str = "raise",
) -> pd.DataFrame:
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
    povanalysis.data.sources.ValidationError: ...row 1 (line 2 of the file), column 'disbursed': ambiguous date...
    >>> folder.cleanup()
    """
    _check_options(path, quarantine, extra)
    if dayfirst not in (None, True, False):
        raise ValueError(f"'dayfirst' must be None, True or False, got {dayfirst!r}")
    if households is not None:
        require_frame(households, "households")
        if "household_id" not in households.columns:
            raise ValueError(f"'households' has no 'household_id' column; it has {list(households.columns)}")
    src = read_source(path, sheet=sheet)
    extras = _check_columns(src, LOAN_COLUMNS, (), extra)
    columns = list(LOAN_COLUMNS)
    parsed, chk = _validate(src, LOAN_COLUMNS, columns, extras, dayfirst=dayfirst)
    if households is not None:
        ids = parsed["household_id"]
        known = pd.Index(households["household_id"].dropna().astype("str").unique())
        unknown = ~_blank(ids) & ~ids.isin(known).to_numpy(bool)
        chk.add("household_id", unknown, "household_id not found in the households frame")
    return _conclude(src, LOAN_COLUMNS, columns, extras, parsed, chk, quarantine)


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike, *, row_group_size: int = 1 << 20) -> Path:
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
    require_frame(frame, "frame")
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
    buffer = pa.BufferOutputStream()
    pq.write_table(
        table,
        buffer,
        row_group_size=row_group_size,
        compression="zstd",
        compression_level=3,
        version="2.6",
        data_page_version="1.0",
        use_dictionary=True,
        write_statistics=True,
    )
    atomic_write_bytes(path, buffer.getvalue().to_pybytes())
    return path


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
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
