"""Loading and validating the household review and VBSP loan files, and deterministic Parquet writing.

The readers take a file as it comes (CSV, gzipped CSV, XLSX, Parquet), refuse it before loading
when it is over one of the :class:`~povanalysis.data.limits.Limits`, check every cell, and
reconcile what they read: ``rows read = rows valid + rows quarantined``, in the frame's
``attrs`` and in a log message (logger ``povanalysis.data.io``).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..common.checks import require_frame
from ..common.files import atomic_write_bytes
from ..common.safe import neutralise_formulas
from ..measure.standards import get_standard
from . import channels, registry, villages
from .limits import LimitError, Limits
from .schema import (
    DEPRIVATIONS,
    DISBURSED_RANGE,
    HOUSEHOLD_COLUMNS,
    LOAN_CHANNEL_COLUMNS,
    LOAN_COLUMNS,
    RATE_MAX,
    REVIEW_YEAR_RANGE,
    VILLAGE_COLUMNS,
)
from .sources import MAX_SHOWN, Source, ValidationError, file_error, read_source
from .values import THOUSANDS, Checker, Parsed, parse_columns

__all__ = [
    "ValidationError",
    "LimitError",
    "Limits",
    "PaddedCodesWarning",
    "REVIEW_YEAR_RANGE",
    "DISBURSED_RANGE",
    "RATE_MAX",
    "OPTIONAL_HOUSEHOLD_COLUMNS",
    "read_households",
    "read_loans",
    "write_parquet",
    "read_parquet",
]

logger = logging.getLogger("povanalysis.data.io")

#: Household columns a file may omit: the deprivations that only the 2026–2030 standard
#: (Decree 351/2025/ND-CP) uses.  Decree 07/2021/ND-CP needs every other column.
OPTIONAL_HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(
    c for c in DEPRIVATIONS if c not in get_standard("2022-2025").columns
)

#: The household columns a file may hold: the schema, then the optional village (text, never numbers).
_HOUSEHOLD_SPEC: dict[str, str] = {**HOUSEHOLD_COLUMNS, **VILLAGE_COLUMNS}

#: The loan columns a file may hold: the schema, then the optional channel columns.
_LOAN_SPEC: dict[str, str] = {**LOAN_COLUMNS, **LOAN_CHANNEL_COLUMNS}

_TEXT_KINDS = ("str", "code5", "area", "programme", "channel")


class PaddedCodesWarning(UserWarning):
    """Commune codes written as numbers (``1840``) were read as the known codes they stand for (``01840``)."""


# ----------------------------------------------------------------------------------- columns


def _canonical(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


def _listed(names: list[str]) -> str:
    """``names`` as a list, the first few only when there are many (``['a', 'b'] … and 995 more``)."""
    if len(names) <= MAX_SHOWN:
        return repr(list(names))
    return f"{list(names[:MAX_SHOWN])!r} … and {len(names) - MAX_SHOWN:,} more"


def _check_columns(path, present: list[str], spec: dict[str, str], optional: tuple[str, ...], extra: str) -> list[str]:
    """Raise for missing, misspelt and (unless ``extra='keep'``) unknown columns; return the extras."""
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
    unknown_raise = [] if extra == "keep" else [n for n, _ in unknown]
    if not (missing or near or unknown_raise):
        return [n for n, _ in unknown]
    parts, rows = [], []
    for name, guess in near:
        rows.append((name, name, f"unknown column; did you mean {guess!r}?"))
    parts += [f"unknown column {name!r} (did you mean {guess!r}?)" for name, guess in near[:MAX_SHOWN]]
    if len(near) > MAX_SHOWN:
        parts.append(f"… and {len(near) - MAX_SHOWN:,} more misspelt columns")
    if missing:
        parts.append(f"missing required column(s) {_listed(missing)}")
        rows += [(c, None, "missing required column") for c in missing]
    if unknown_raise:
        parts.append(f"unknown column(s) {_listed(unknown_raise)} (pass extra='keep' to keep them)")
        rows += [(n, n, "unknown column") for n in unknown_raise]
    if len(present) == 1 and re.search(r"[;\t|]", present[0]):
        parts.append("the header is one column containing ';', tab or '|': save the file with commas as separators")
    problems = pd.DataFrame(
        {"row": None, "column": [r[0] for r in rows], "value": [r[1] for r in rows], "problem": [r[2] for r in rows]}
    )
    raise ValidationError(
        f"{path}: {'; '.join(parts)}. Expected columns: {known}",
        path=path,
        column=rows[0][0],
        value=rows[0][1],
        problems=problems,
    )


def _selector(path, spec: dict[str, str], optional: tuple[str, ...], extra: str):
    """The ``select`` of :func:`read_source`: check the names before any value is read, keep schema and extras."""

    def select(names: list[str]) -> list[str]:
        extras = _check_columns(path, names, spec, optional, extra)
        return [c for c in spec if c in names] + extras

    return select


# ----------------------------------------------------------------------------------- duplicates


def _duplicates(src: Source, chk: Checker, ids: pd.Series, years: np.ndarray, usable: np.ndarray) -> None:
    """Flag every row of a (household_id, review_year) pair that occurs more than once.

    Each row names another row of its group: the first names the second, every other the first.
    The rows are sorted, not hashed: millions of distinct identifiers cost one sort.
    """
    candidates = np.flatnonzero(usable)
    if len(candidates) < 2:
        return
    year = years[candidates]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()[candidates]
        order = np.lexsort((candidates, year, codes))
        same = codes[order][1:] == codes[order][:-1]
    else:
        text = pa.array(ids.iloc[candidates].astype("str"), pa.large_string())
        table = pa.table({"id": text, "year": year, "row": candidates})
        keys = [("id", "ascending"), ("year", "ascending"), ("row", "ascending")]
        order = pc.sort_indices(table, sort_keys=keys).to_numpy()
        ordered = text.take(pa.array(order))
        same = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1)).to_numpy(zero_copy_only=False)
    same = same & (year[order][1:] == year[order][:-1])
    repeated = np.r_[same, False] | np.r_[False, same]
    if not repeated.any():
        return
    rows = candidates[order][repeated]
    starts = np.flatnonzero(~np.r_[False, same][repeated])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
    first, second = rows[starts], rows[starts + 1]
    head = "duplicate household_id within review_year " + pd.Series(years[first]).astype(str) + ": also at "
    names_second = (head + src.where(second).to_numpy(object)).to_numpy(object)
    names_first = (head + src.where(first).to_numpy(object)).to_numpy(object)
    problem = np.empty(len(ids), dtype=object)
    problem[rows] = np.where(rows == first[group], names_second[group], names_first[group])
    dup = np.zeros(len(ids), dtype=bool)
    dup[rows] = True
    chk.add("household_id", dup, problem)


# ----------------------------------------------------------------------------------- villages


def _household_selector(path, extra: str):
    """The household file's ``select``: the village columns are optional but come together."""
    base = _selector(path, _HOUSEHOLD_SPEC, OPTIONAL_HOUSEHOLD_COLUMNS + tuple(VILLAGE_COLUMNS), extra)

    def select(names: list[str]) -> list[str]:
        chosen = base(names)
        present = [c for c in VILLAGE_COLUMNS if c in chosen]
        if len(present) == 1:
            missing = [c for c in VILLAGE_COLUMNS if c not in present]
            raise file_error(
                Path(path),
                f"village columns come together: {present} without {missing} (give both, or neither)",
                column=missing[0],
            )
        return chosen

    return select


def _villages(src: Source, chk: Checker, parsed: Parsed) -> None:
    """Allow empty village cells (a household whose village is not known) and check the villages within their communes.

    Rows whose identifier, commune or village cells are invalid are left out of the comparison
    (their own problems are reported); the rows :func:`povanalysis.data.villages.village_problems`
    finds are added to ``chk``, named by the reader's own row positions.
    """
    empty = {c: ~parsed.ok[c] for c in VILLAGE_COLUMNS}
    kept = []
    for part in chk.parts:
        drop = np.zeros(len(part), dtype=bool)
        pos = part["pos"].to_numpy(dtype="int64")
        for column, blank in empty.items():
            drop |= (part["column"] == column).to_numpy(bool) & blank[pos]
        if not drop.all():
            kept.append(part[~drop] if drop.any() else part)
    chk.parts[:] = kept
    involved = ["household_id", "commune_code", *VILLAGE_COLUMNS]
    problems = chk.frame()
    unusable = np.zeros(len(src.data), dtype=bool)
    unusable[problems.loc[problems["column"].isin(involved), "pos"].to_numpy(dtype="int64")] = True
    usable = np.flatnonzero(~unusable)
    values = {c: parsed.columns[c].astype(object).to_numpy(object)[usable] for c in involved}
    found = villages.village_problems(
        values["household_id"],
        values["commune_code"],
        values["village_code"],
        values["village_name"],
        lambda pos: src.where(usable[pos]).tolist(),
    )
    if not found:
        return
    table = pd.DataFrame(found, columns=["pos", "column", "value", "problem"])
    table["pos"] = usable[table["pos"].to_numpy(dtype="int64")]
    for column, part in table.groupby("column", sort=False):
        raw = src.raw[column].iloc[part["pos"].to_numpy(dtype="int64")].to_numpy(dtype=object)
        chk.parts.append(part.assign(value=raw).reset_index(drop=True))


# ----------------------------------------------------------------------------------- assembling


def _conclude(src: Source, spec, columns, extras, parsed: Parsed, chk: Checker, quarantine) -> pd.DataFrame:
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
    valid = int(keep.sum())
    if valid + quarantined != n:
        raise AssertionError(f"{src.path}: {n} rows read but {valid} valid and {quarantined} quarantined")
    out = {}
    for column in columns + extras:
        values = parsed.columns[column] if column in parsed.columns else src.raw[column]
        if not keep.all():
            values = values[keep]
        values = values.reset_index(drop=True)
        kind = spec.get(column)
        if kind in _TEXT_KINDS:
            values = _as_text(values)
        elif kind == "date":
            values = values.astype("datetime64[us]")
        elif kind is None and isinstance(values.dtype, pd.CategoricalDtype):
            values = _as_text(values)  # a kept extra column of text, given back as text
        out[column] = values
    frame = pd.DataFrame(out, index=pd.RangeIndex(valid))
    padded = dict(parsed.padded)
    frame.attrs["povanalysis.io"] = info = {
        "path": str(src.path),
        "format": src.fmt,
        "read": n,
        "valid": valid,
        "quarantined": quarantined,
        "quarantine_path": None if quarantine is None else str(quarantine),
        "blank_rows_skipped": src.blank,
        "padded_codes": padded,
    }
    info["summary"] = _summary(info)
    logger.info(info["summary"])
    for column, count in padded.items():
        first, number, code = parsed.padded_example[column]
        warnings.warn(
            f"{src.path}: column {column!r}: {count:,} code{'s' if count != 1 else ''} written as numbers "
            f"{'were' if count != 1 else 'was'} zero-padded to the 5-digit codes of the registry "
            f"(e.g. {number!r} read as {code!r} at {src.where(np.array([first])).iloc[0]})",
            PaddedCodesWarning,
            stacklevel=3,
        )
    return frame


def _as_text(values: pd.Series) -> pd.Series:
    """A text column as ``str``; a categorical is decoded through Arrow, without a Python object per row."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype("str")
    codes = values.cat.codes.to_numpy()
    indices = pa.array(codes, mask=codes < 0)
    dictionary = pa.array(values.cat.categories.astype("str").to_numpy(dtype=object), pa.large_string())
    decoded = pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
    return pd.Series(decoded.to_pandas(), index=values.index).astype("str")


def _summary(info: dict) -> str:
    """The reconciliation, in one sentence: ``households.csv: 8 rows read = 5 valid + 3 quarantined (to q.csv)``."""
    read = info["read"]
    text = f"{info['path']}: {read:,} row{'s' if read != 1 else ''} read = {info['valid']:,} valid + "
    text += f"{info['quarantined']:,} quarantined"
    if info["quarantine_path"]:
        text += f" (to {info['quarantine_path']})"
    if info["blank_rows_skipped"]:
        text += f"; {info['blank_rows_skipped']:,} blank rows skipped"
    for column, count in info["padded_codes"].items():
        text += f"; {count:,} codes in {column!r} zero-padded"
    return text


def _described(src: Source, problems: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.array(src.rows[problems["pos"].to_numpy(dtype="int64")], dtype="Int64"),
            "column": problems["column"].to_numpy(object),
            "value": problems["value"].to_numpy(object),
            "problem": problems["problem"].to_numpy(object),
        }
    )


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
        f"{src.path}: {n:,} invalid value{'s' if n != 1 else ''} in {n_rows:,} row{'s' if n_rows != 1 else ''}"
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
    """Write the invalid rows, every text cell made harmless for spreadsheets; return their number."""
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
    neutralise_formulas(out).to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
    return len(out)


def _check_options(path, quarantine, extra, thousands=None):
    if extra not in ("raise", "keep"):
        raise ValueError(f"'extra' must be 'raise' or 'keep', got {extra!r}")
    if thousands is not None and thousands not in THOUSANDS:
        raise ValueError(f"'thousands' must be None, '.' or ',', got {thousands!r}")
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
    thousands: str | None = None,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """Read and validate the household review file: one row per household per review year.

    Every cell is checked and every problem is reported, not only the first.  Leading and
    trailing whitespace is removed from the headers and from text cells; nothing else is
    changed silently: a value that is not exactly valid is an error, never coerced or dropped.
    Files as Excel writes them are read as their authors meant, and the reader says so:
    whole numbers written as decimals (``1.0``) are whole numbers and 0/1 indicators; commune
    codes written as numbers (``1840``) are zero-padded when the padded code (``01840``) is a
    unit of the registry, with a :class:`PaddedCodesWarning` and a count in ``attrs``.
    Blank rows of a CSV or XLSX file (every cell empty) are not records: they are skipped,
    keep their place in the row numbering, and are counted in ``attrs``.

    A file may carry the household's village (:data:`~povanalysis.data.schema.VILLAGE_COLUMNS`:
    ``village_code``, ``village_name``; both or neither).  They are text like the other text
    columns (stripped, NFC; a code ``001`` stays ``"001"``, and a Parquet column of numbers is an
    error), may be empty together for a household whose village is not known, and are checked
    within their communes as :func:`povanalysis.data.villages.check_villages` does: a village
    code belongs to one commune and has one name (the commune and name most of its rows give),
    a household lives in one village across its records, and a code comes with its name.  A
    row that says otherwise is invalid like any other, named by its row in the file, and set
    aside with ``quarantine``.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.csv.gz`` (UTF-8, with or without BOM), ``.xlsx`` (every cell read as the
        text shown; every row present is read, whatever the sheet's ``<dimension>`` claims) or
        ``.parquet``.  The columns are described in ``data/raw/README.md``.
    quarantine : str or Path, optional
        Instead of raising on invalid rows, write them to this CSV file (UTF-8) with their
        ``row`` (and ``line``/``sheet_row``) in the input and a ``problem`` column listing every
        problem of the row, and return the valid rows.  Both rows of a duplicate pair go there.
        Text that a spreadsheet would take for a formula (``=1+1``) is written with a leading
        apostrophe.  Problems of the whole file (format, encoding, columns, limits) still raise.
    vintage : {2025, 2024}
        The commune codes the file uses: the 92 units in force since 1 July 2025, or the 280
        units before the merger (:func:`povanalysis.data.registry.known_codes`).
    sheet : int or str
        The worksheet of an ``.xlsx`` file (index or name).
    extra : {"raise", "keep"}
        What to do with unknown columns that are not near-misses of known ones.  Near-misses
        (``d_emplyment``, ``Income_pc``, ``commune code``) always raise with a suggestion.
    thousands : {None, ".", ","}
        How amounts in ``income_pc`` are written.  ``None``: plain numbers (``1500000``), and the
        Vietnamese style (``1.500.000``, ``1.500.000 đ``, ``1.500.000 VND``) is an error that says
        to pass ``thousands="."``, which reads it (``,`` is then the decimal mark).
    limits : Limits, optional
        The caps checked before the data are loaded (:class:`povanalysis.data.limits.Limits`):
        file size, rows, columns, characters per cell, expanded size and ratio.

    Returns
    -------
    DataFrame
        The columns of :data:`povanalysis.data.schema.HOUSEHOLD_COLUMNS` in schema order:
        ``household_id``, ``commune_code`` (5 digits), ``area``, ``ethnicity`` (NFC) as ``str``;
        ``review_year`` and ``size`` as int64; ``income_pc`` as float64; ``d_*`` as int8 0/1;
        then ``village_code`` and ``village_name`` when the file has them (``str``, ``""`` where
        the village is not known), then any kept extra columns.  ``d_internet`` and ``d_waste`` are absent when the file
        lacks them: the 2022–2025 standard does not use them, and classifying under
        ``"2026-2030"`` then raises :class:`ValueError` naming them.
        ``attrs["povanalysis.io"]`` holds ``path``, ``format``, ``read``, ``valid``,
        ``quarantined`` (``read == valid + quarantined``), ``quarantine_path``,
        ``blank_rows_skipped``, ``padded_codes`` (rows zero-padded, by column) and ``summary``,
        the reconciliation in words, also logged at INFO level.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    LimitError
        The file is over one of the ``limits``; the message names the limit, the value observed
        and how to raise it.  Nothing of the file was loaded.
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
    >>> import tempfile, pathlib, warnings
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
    >>> hh.attrs["povanalysis.io"]["summary"]
    '...households.csv: 1 row read = 1 valid + 0 quarantined'
    >>> _ = path.write_text(csv_text.replace("01840", "1840"), encoding="utf-8")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     read_households(path)["commune_code"].tolist()
    ['01840']
    >>> print(caught[0].message)
    /...households.csv: column 'commune_code': 1 code written as numbers was zero-padded to the 5-digit codes of the registry (e.g. '1840' read as '01840' at row 1 (line 2 of the file))
    >>> _ = path.write_text(csv_text.replace("01840", "9999").replace("1500000", "1.500.000"), encoding="utf-8")
    >>> read_households(path)
    Traceback (most recent call last):
    ...
    povanalysis.data.sources.ValidationError: ...households.csv: 2 invalid values in 1 row:
      row 1 (line 2 of the file), column 'commune_code': commune code must be 5 digits with leading zeros (e.g. '01840'); '09999' is not a commune code of vintage 2025 either (see povanalysis.data.registry.units(2025)), got '9999'
      row 1 (line 2 of the file), column 'income_pc': '.' separates thousands in Vietnamese amounts: pass thousands='.' to read it as 1500000, or write plain digits without separators or unit, got '1.500.000'
    Fix the file, or pass quarantine=PATH to set the invalid rows aside and load the rest.
    >>> folder.cleanup()
    """
    _check_options(path, quarantine, extra, thousands)
    registry.known_codes(vintage)
    src = read_source(path, sheet=sheet, limits=limits, select=_household_selector(path, extra))
    columns = [c for c in _HOUSEHOLD_SPEC if c in src.data.columns]
    extras = [c for c in src.data.columns if c not in _HOUSEHOLD_SPEC]
    parsed, chk = parse_columns(src, _HOUSEHOLD_SPEC, columns, vintage=vintage, thousands=thousands)
    with_villages = all(c in columns for c in VILLAGE_COLUMNS)
    if with_villages:
        _villages(src, chk, parsed)
    ids = parsed.columns["household_id"]
    usable = parsed.ok["household_id"] & parsed.ok["review_year"]
    _duplicates(src, chk, ids, parsed.columns["review_year"].to_numpy(), usable)
    frame = _conclude(src, _HOUSEHOLD_SPEC, columns, extras, parsed, chk, quarantine)
    if with_villages:
        for column in VILLAGE_COLUMNS:
            frame[column] = frame[column].fillna("")
    return frame


def read_loans(
    path: str | os.PathLike,
    *,
    quarantine: str | os.PathLike | None = None,
    households: pd.DataFrame | None = None,
    sheet: int | str = 0,
    dayfirst: bool | None = None,
    extra: str = "raise",
    thousands: str | None = None,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """Read and validate the VBSP loan records: one row per disbursement.

    Same reading, error, quarantine and limit rules as :func:`read_households`.

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
    thousands : {None, ".", ","}
        How ``amount`` is written (``thousands="."`` reads ``50.000.000 đ``); see :func:`read_households`.
    limits : Limits, optional
        The caps checked before the data are loaded.
    Returns
    -------
    DataFrame
        :data:`povanalysis.data.schema.LOAN_COLUMNS`: ``household_id`` and ``programme``
        (one of :data:`~povanalysis.data.schema.PROGRAMMES`) as ``str``; ``disbursed`` as
        datetime64[us] within :data:`DISBURSED_RANGE`; ``amount`` (VND, > 0) as float64;
        ``rate`` (annual fraction in (0, :data:`RATE_MAX`]; ``6.6`` is an error suggesting
        ``0.066``) as float64; ``term_months`` (>= 1) as int64; then, when the file has them,
        ``channel`` (a code of :data:`~povanalysis.data.schema.CHANNELS`), ``group_code``
        (``str``) and ``overdue`` (bool); then any kept extra columns.
        ``attrs["povanalysis.io"]`` as in :func:`read_households`.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    LimitError
        The file is over one of the ``limits``.
    ValidationError
        The file breaks the schema (same row convention as :func:`read_households`).

    Notes
    -----
    The optional columns of :data:`~povanalysis.data.schema.LOAN_CHANNEL_COLUMNS` say through
    whom the loan was made and how it stands; a file may hold any of them, and a file without
    them reads exactly as before.  A file that has one gives it for every loan (an empty cell
    is an error, as elsewhere).  ``channel`` is the entrusted organisation: its code
    (``women``, ``farmers``, ``veterans``, ``youth``) or its name (``Hội Liên hiệp Phụ nữ``,
    ``Hội Nông dân``, ``Hội Cựu chiến binh``, ``Đoàn Thanh niên`` and the short forms of
    :data:`povanalysis.data.channels.CHANNEL_ALIASES`, any case), read as the code; anything
    else is an error naming the row, column and value.  ``group_code`` is the savings-and-credit
    group (tổ tiết kiệm và vay vốn): a group is run by one organisation and, when
    ``households`` has ``commune_code``, lies in one commune; the rows that disagree with what
    most rows of their group say are invalid, each named with the row it disagrees with.
    ``overdue`` says whether the loan has overdue principal at the review the file was drawn
    up for: ``1``/``0``, ``true``/``false``, ``yes``/``no``, ``có``/``không`` or booleans.

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
    _check_options(path, quarantine, extra, thousands)
    if dayfirst not in (None, True, False):
        raise ValueError(f"'dayfirst' must be None, True or False, got {dayfirst!r}")
    if households is not None:
        require_frame(households, "households")
        if "household_id" not in households.columns:
            raise ValueError(f"'households' has no 'household_id' column; it has {list(households.columns)}")
    select = _selector(path, _LOAN_SPEC, tuple(LOAN_CHANNEL_COLUMNS), extra)
    src = read_source(path, sheet=sheet, limits=limits, select=select)
    columns = [c for c in _LOAN_SPEC if c in src.data.columns]
    extras = [c for c in src.data.columns if c not in _LOAN_SPEC]
    text_spec = {**_LOAN_SPEC, "channel": "str"}
    parsed, chk = parse_columns(
        src, text_spec, [c for c in columns if c != "overdue"], dayfirst=dayfirst, thousands=thousands
    )
    if households is not None:
        ids = parsed.columns["household_id"]
        known = pd.Index(households["household_id"].dropna().astype("str").unique())
        unknown = parsed.ok["household_id"] & ~ids.isin(known).to_numpy(bool)
        chk.add("household_id", unknown, "household_id not found in the households frame")
    _loan_channels(src, chk, parsed, households)
    return _conclude(src, _LOAN_SPEC, columns, extras, parsed, chk, quarantine)


def _loan_channels(src: Source, chk: Checker, parsed: Parsed, households: pd.DataFrame | None) -> None:
    """Read ``channel`` (codes or names) and ``overdue`` (yes/no); check that a group has one organisation and one commune."""
    if "overdue" in src.data.columns:
        chk.order["overdue"] = len(chk.order)
        s = src.data["overdue"]
        missing = (s.isna() | (s.astype("str").str.strip() == "")).to_numpy(bool)
        values, bad = channels.flag_values(s)
        chk.add("overdue", missing, "required value is empty")
        chk.add("overdue", bad, "must be yes or no: 1/0, true/false, yes/no, có/không")
        parsed.columns["overdue"] = pd.Series(values, dtype=bool)
    if "channel" in parsed.columns:
        codes, bad = channels.channel_codes(parsed.columns["channel"].astype(object))
        chk.add("channel", bad, channels.channel_problem())
        parsed.columns["channel"] = pd.Series(codes, dtype=object)
    if "group_code" not in parsed.columns:
        return
    involved = [c for c in ("household_id", "channel", "group_code") if c in parsed.columns]
    problems = chk.frame()
    unusable = np.zeros(len(src.data), dtype=bool)
    unusable[problems.loc[problems["column"].isin(involved), "pos"].to_numpy(dtype="int64")] = True
    usable = np.flatnonzero(~unusable)
    group = parsed.columns["group_code"].astype(object).to_numpy(object)[usable]
    channel = parsed.columns["channel"].to_numpy(object)[usable] if "channel" in parsed.columns else None
    commune = None
    if households is not None and "commune_code" in households.columns:
        home = households.drop_duplicates("household_id").set_index("household_id")["commune_code"]
        ids = parsed.columns["household_id"].astype(object).to_numpy(object)[usable]
        commune = pd.Series(ids).map(home).to_numpy(object)
    found = channels.group_problems(
        group, lambda pos: src.where(usable[pos]).tolist(), channel=channel, commune=commune
    )
    if not found:
        return
    table = pd.DataFrame(found, columns=["pos", "column", "value", "problem"])
    table["pos"] = usable[table["pos"].to_numpy(dtype="int64")]
    for column, part in table.groupby("column", sort=False):
        raw = src.raw[column].iloc[part["pos"].to_numpy(dtype="int64")].to_numpy(dtype=object)
        chk.parts.append(part.assign(value=raw).reset_index(drop=True))


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
