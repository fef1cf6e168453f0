"""Checking and parsing the cells of one column against its schema kind, once per distinct value.

A text column is taken as codes into its distinct values (a categorical, as the readers of
:mod:`povanalysis.data.sources` give it), so that every check and every parse runs once per
distinct value and its verdict is spread to the rows by their codes: six million copies of one
household cost one check.  Every problem of every cell is collected by a :class:`Checker`;
nothing is dropped or coerced silently, and what is read generously is counted:

* integral numbers written as decimals (``1.0``) count as whole numbers and as 0/1 indicators;
* commune codes that lost their leading zeros (``1840`` for ``01840``, typed as numbers in
  Excel) are zero-padded when the padded code is a unit of the registry, and counted;
* amounts in the Vietnamese style (``1.500.000 đ``) are read only when ``thousands='.'`` says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import registry
from .schema import AREAS, DISBURSED_RANGE, PROGRAMMES, RATE_MAX, REVIEW_YEAR_RANGE
from .sources import MOJIBAKE_CODECS, Source, file_error, is_text

__all__ = ["Checker", "Distinct", "Parsed", "THOUSANDS", "parse_columns", "parse_amounts"]

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_EXACT_FLOAT_INT = 2.0**53
#: A currency unit after an amount: đ, ₫, VND, VNĐ, đồng (any case).
_UNIT = r"\s*(?:đ|₫|vnđ|vnd|đồng)"
#: Thousands separators ``parse_amounts`` accepts, each with its decimal mark.
THOUSANDS: dict[str, str] = {".": ",", ",": "."}
_PLAIN_AMOUNT = "must be a plain number in VND (digits, '.' as decimal point, no thousands separators or units)"


class Checker:
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
        """Every problem, ordered by row and then by the column's place in the schema."""
        if not self.parts:
            return pd.DataFrame({"pos": pd.Series([], dtype="int64"), "column": [], "value": [], "problem": []})
        out = pd.concat(self.parts, ignore_index=True)
        if len(self.parts) == 1:
            return out
        order = out["column"].map(self.order).to_numpy()
        index = np.lexsort((order, out["pos"].to_numpy()))
        return out.take(index).reset_index(drop=True)


@dataclass
class Distinct:
    """A text column as ``codes`` into its distinct values ``uniques``; code -1 is a missing cell.

    ``column`` is the column itself, when there is one to give back unchanged.

    Examples
    --------
    >>> d = Distinct.of(pd.Series(["a", "b", "a", None]))
    >>> d.codes.tolist(), d.uniques.tolist()
    ([0, 1, 0, -1], ['a', 'b'])
    >>> d.expand(np.array([10, 20]), missing=0).tolist()
    [10, 20, 10, 0]
    """

    codes: np.ndarray
    uniques: pd.Series
    column: pd.Series | None = None

    @classmethod
    def of(cls, s: pd.Series) -> Distinct:
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes, uniques = s.cat.codes.to_numpy(), s.cat.categories
        else:
            codes, uniques = pd.factorize(s)
        uniques = pd.Series(uniques if uniques.dtype != object else uniques.astype("str"), dtype="str")
        return cls(np.asarray(codes), uniques.reset_index(drop=True), s.reset_index(drop=True))

    def expand(self, per_value, missing) -> np.ndarray:
        """The per-value array ``per_value`` spread to the rows; ``missing`` for missing cells."""
        per_value = np.asarray(per_value)
        extended = np.empty(len(per_value) + 1, dtype=per_value.dtype if len(per_value) else np.asarray(missing).dtype)
        extended[:-1] = per_value
        extended[-1] = missing
        return extended[self.codes]

    def relabel(self, uniques) -> pd.Series:
        """The column with each distinct value replaced by ``uniques`` (which may merge values), as a categorical."""
        codes, categories = pd.factorize(pd.Series(uniques, dtype="str"))
        return pd.Series(pd.Categorical.from_codes(self.expand(codes, -1), categories=categories))

    def matches(self, pattern: str) -> np.ndarray:
        """Per distinct value: whether it matches ``pattern`` whole."""
        return self.uniques.str.fullmatch(pattern).fillna(False).to_numpy(bool)


@dataclass
class Parsed:
    """The parsed columns (each in its final dtype, with placeholders in invalid rows) and what was read generously."""

    columns: dict[str, pd.Series] = field(default_factory=dict)
    ok: dict[str, np.ndarray] = field(default_factory=dict)
    padded: dict[str, int] = field(default_factory=dict)
    padded_example: dict[str, tuple[int, object, str]] = field(default_factory=dict)


def _type_error(src: Source, column: str, expected: str):
    raise file_error(
        src.path, f"column {column!r} is stored as {src.data[column].dtype}, expected {expected}", column=column
    )


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < _EXACT_FLOAT_INT else repr(float(value))


def _to_float(text: pd.Series) -> np.ndarray:
    arr = pa.array(text.astype(object).to_numpy(), type=pa.string())
    return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)


def _parse_numbers(uniques: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct text: its value as a plain number, and whether it is one."""
    ok = uniques.str.fullmatch(_NUMBER).fillna(False).to_numpy(bool)
    values = np.full(len(uniques), np.nan)
    if ok.any():
        values[ok] = _to_float(uniques[ok])
    return values, ok


def parse_amounts(uniques: pd.Series, thousands: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct text: its value in VND, whether it is a valid amount, and a problem text where not.

    Without ``thousands`` only plain numbers are amounts, and the Vietnamese style (``1.500.000``,
    ``1.500.000 đ``, ``1.500.000 VND``, even ``1.500``) is refused with the advice to pass
    ``thousands='.'``, which reads it (``,`` is then the decimal mark).  ``thousands=','`` reads
    ``1,500,000``.

    Examples
    --------
    >>> texts = pd.Series(["1500000", "1.500.000", "1.500.000 đ", "2.500,5 VND", "1,5 triệu"])
    >>> values, ok, problem = parse_amounts(texts, None)
    >>> ok.tolist(), problem[1]
    ([True, False, False, False, False], "'.' separates thousands in Vietnamese amounts: pass thousands='.' to read it as 1500000, or write plain digits without separators or unit")
    >>> values, ok, problem = parse_amounts(texts, ".")
    >>> values.tolist()[:4], ok.tolist()
    ([1500000.0, 1500000.0, 1500000.0, 2500.5], [True, True, True, True, False])
    """
    unit = re.compile(_UNIT + "$", flags=re.IGNORECASE)
    bare = uniques.str.replace(unit, "", regex=True)
    has_unit = (bare != uniques).to_numpy(bool)
    values = np.full(len(uniques), np.nan)
    problem = np.full(len(uniques), None, dtype=object)
    if thousands is None:
        values, ok = _parse_numbers(uniques)
        vietnamese, _, _ = parse_amounts(uniques, ".")
        styled = bare.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?").fillna(False).to_numpy(bool)
        styled = styled | (has_unit & ~np.isnan(vietnamese))
        ok = ok & ~styled
        problem[~ok] = _PLAIN_AMOUNT
        problem[styled] = [
            "'.' separates thousands in Vietnamese amounts: pass thousands='.' to read it as "
            f"{_plain(v)}, or write plain digits without separators or unit"
            for v in vietnamese[styled]
        ]
        return values, ok, problem
    decimal = THOUSANDS[thousands]
    t, d = re.escape(thousands), re.escape(decimal)
    ok = bare.str.fullmatch(rf"[+-]?(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}\d+)?").fillna(False).to_numpy(bool)
    if ok.any():
        plain = bare[ok].str.replace(thousands, "", regex=False).str.replace(decimal, ".", regex=False)
        values[ok] = _to_float(plain)
    example = "1.500.000 or 1.500.000 đ" if thousands == "." else "1,500,000 or 1,500,000 VND"
    problem[~ok] = f"must be an amount in VND such as {example} (thousands={thousands!r})"
    return values, ok, problem


# ----------------------------------------------------------------------------------- kinds


def _text_column(src: Source, column: str, kind: str) -> Distinct:
    s = src.data[column]
    if is_text(s):
        return Distinct.of(s)
    if kind == "code5" and pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        codes, uniques = pd.factorize(s)
        numbers = np.asarray(uniques, dtype="float64")
        whole = np.isfinite(numbers) & (numbers >= 0) & (numbers < 1e5) & (numbers == np.round(numbers))
        text = [str(int(v)) if w else _plain(v) for v, w in zip(numbers, whole)]
        return Distinct(np.asarray(codes), pd.Series(text, dtype="str"))
    if s.isna().all():
        return Distinct(np.full(len(s), -1), pd.Series([], dtype="str"))
    expected = "text with the leading zeros (e.g. '01840')" if kind == "code5" else "text (strings)"
    _type_error(src, column, expected)


def _nfc_and_mojibake(uniques: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct text: its NFC form, and a problem where it looks decoded twice (``NÃ¹ng`` for ``Nùng``)."""
    nfc = np.array([unicodedata.normalize("NFC", u) for u in uniques], dtype=object)
    problem = np.full(len(uniques), None, dtype=object)
    for i, value in enumerate(nfc):
        for codec in MOJIBAKE_CODECS:
            try:
                fixed = value.encode(codec).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if fixed != value:
                problem[i] = (
                    f"looks double-encoded (UTF-8 read as Windows-1252): probably {fixed!r}; "
                    "re-export the file as UTF-8 from the original"
                )
                break
    return nfc, problem


def _free_text(chk: Checker, column: str, text: Distinct | pd.Series) -> pd.Series:
    """NFC-normalise free text and flag text that was decoded twice.

    A plain column (identifiers, mostly distinct) is not hashed: only its non-ASCII cells are
    looked at, once per distinct value.
    """
    if isinstance(text, Distinct):
        non_ascii = np.flatnonzero(~text.uniques.str.isascii().to_numpy(bool))
        nfc, problem = _nfc_and_mojibake(text.uniques.iloc[non_ascii])
        flagged = np.zeros(len(text.uniques), dtype=bool)
        flagged[non_ascii] = problem != None  # noqa: E711 (element-wise)
        problems = np.full(len(text.uniques), None, dtype=object)
        problems[non_ascii] = problem
        if flagged.any():
            chk.add(column, text.expand(flagged, False), text.expand(problems, None))
        changed = nfc != text.uniques.iloc[non_ascii].to_numpy(dtype=object)
        if not changed.any() and text.column is not None:
            return text.column
        uniques = text.uniques.astype(object).to_numpy().copy()
        uniques[non_ascii] = nfc
        return text.relabel(uniques)
    rows = np.flatnonzero(~text.str.isascii().fillna(True).to_numpy(bool))
    if not len(rows):
        return text
    sub = Distinct.of(text.iloc[rows])
    nfc, problem = _nfc_and_mojibake(sub.uniques)
    flagged = sub.expand(problem != None, False)  # noqa: E711 (element-wise)
    if flagged.any():
        mask = np.zeros(len(text), dtype=bool)
        mask[rows[flagged]] = True
        problems = np.full(len(text), None, dtype=object)
        problems[rows] = sub.expand(problem, None)
        chk.add(column, mask, problems)
    if (nfc == sub.uniques.to_numpy(dtype=object)).all():
        return text
    out = text.copy()
    out.iloc[rows] = sub.expand(nfc, None)
    return out


def _commune_codes(src: Source, chk: Checker, parsed: Parsed, column: str, d: Distinct, vintage: int) -> pd.Series:
    """Five-digit codes of the vintage; codes that lost their leading zeros are padded if the padded code is known."""
    known = registry.known_codes(vintage)
    u = d.uniques
    digits, short = d.matches(r"\d{5}"), d.matches(r"\d{1,4}")
    padded = u.where(~short, u.str.zfill(5))
    is_known = padded.isin(list(known)).to_numpy(bool)
    filled = (u != "").to_numpy(bool)
    problem = np.full(len(u), None, dtype=object)
    see = f"(see povanalysis.data.registry.units({vintage}))"
    problem[filled & ~digits & ~short] = "commune code must be 5 digits"
    problem[digits & ~is_known] = f"not a commune code of vintage {vintage} {see}"
    problem[short & ~is_known] = [
        f"commune code must be 5 digits with leading zeros (e.g. '01840'); {p!r} is not a commune code of "
        f"vintage {vintage} either {see}"
        for p in padded[short & ~is_known]
    ]
    bad = problem != None  # noqa: E711 (element-wise)
    chk.add(column, d.expand(bad, False), d.expand(problem, None))
    fixed = short & is_known
    rows = d.expand(fixed, False)
    if not rows.any() and d.column is not None and is_text(d.column):
        return d.column
    if rows.any():
        parsed.padded[column] = int(rows.sum())
        first = int(np.flatnonzero(rows)[0])
        parsed.padded_example[column] = (first, src.raw[column].iloc[first], padded.iloc[d.codes[first]])
    return d.relabel(padded)


def _numbers_of(src: Source, column: str, s: pd.Series) -> tuple[np.ndarray, np.ndarray, Distinct | None]:
    """A numeric column as float64, the mask of non-empty cells that are not plain numbers, and its distinct texts."""
    if is_text(s):
        d = Distinct.of(s)
        values, ok = _parse_numbers(d.uniques)
        filled = (d.uniques != "").to_numpy(bool)
        return d.expand(values, np.nan), d.expand(filled & ~ok, False), d
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        _type_error(src, column, "numbers")
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    return values, ~np.isfinite(values) & ~np.isnan(values), None


def _binary(src: Source, chk: Checker, column: str, s: pd.Series, filled: np.ndarray) -> np.ndarray:
    """0/1 indicators: the texts and numbers 0 and 1 (also written ``0.0``, ``1.0``) and booleans."""
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values, _, _ = _numbers_of(src, column, s)
    ok = (values == 0) | (values == 1)
    chk.add(column, filled & ~ok, "deprivation indicator must be 0 or 1")
    return np.where(ok, values, 0).astype("int8")


def _whole(chk: Checker, parsed: Parsed, column: str, kind: str, values, not_number) -> np.ndarray:
    finite = np.isfinite(values)
    whole = finite & (np.abs(values) < _EXACT_FLOAT_INT) & (values == np.round(values))
    label = "a whole number >= 1" if kind == "int>=1" else "a whole number"
    chk.add(column, not_number | (finite & ~whole), f"must be {label}")
    if kind == "int>=1":
        chk.add(column, whole & (values < 1), "must be a whole number >= 1")
    if column == "review_year":
        lo, hi = REVIEW_YEAR_RANGE
        chk.add(column, whole & ((values < lo) | (values > hi)), f"review year outside the plausible range {lo}–{hi}")
    parsed.ok[column] = whole
    return np.where(whole, values, 0).astype("int64")


def _money(src, chk: Checker, column: str, kind: str, s: pd.Series, thousands) -> np.ndarray:
    if is_text(s):
        d = Distinct.of(s)
        per_value, ok, problem = parse_amounts(d.uniques, thousands)
        filled = (d.uniques != "").to_numpy(bool)
        values = d.expand(per_value, np.nan)
        chk.add(column, d.expand(filled & ~ok, False), d.expand(problem, None))
    else:
        values, not_number, _ = _numbers_of(src, column, s)
        chk.add(column, not_number, _PLAIN_AMOUNT)
    finite = np.isfinite(values)
    if kind == "money>=0":
        chk.add(column, finite & (values < 0), "must not be negative")
    else:
        chk.add(column, finite & (values <= 0), "must be greater than 0")
    return values


def _rate(chk: Checker, column: str, values, not_number) -> np.ndarray:
    finite = np.isfinite(values)
    chk.add(column, not_number, "must be a plain number (an annual fraction such as 0.066)")
    percent = finite & (values > RATE_MAX) & (values <= 100)
    hint = np.empty(len(values), dtype=object)
    hint[percent] = [f"looks like a percentage: write it as the fraction {v / 100:g}" for v in values[percent]]
    chk.add(column, percent, hint)
    chk.add(
        column,
        finite & ~percent & ((values <= 0) | (values > RATE_MAX)),
        f"annual rate must be a fraction in (0, {RATE_MAX}]",
    )
    return values


def _dates(src: Source, chk: Checker, column: str, s: pd.Series, filled: np.ndarray, dayfirst) -> pd.Series:
    lo, hi = (pd.Timestamp(d) for d in DISBURSED_RANGE)
    if is_text(s):
        d = Distinct.of(s)
        iso, slash = d.matches(r"\d{4}-\d{2}-\d{2}"), d.matches(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}")
        per_value = pd.to_datetime(d.uniques.where(iso), format="%Y-%m-%d", errors="coerce")
        if dayfirst is None:
            chk.add(
                column,
                d.expand(slash, False),
                "ambiguous date: write it as YYYY-MM-DD, or pass dayfirst=True "
                "(DD/MM/YYYY, the Vietnamese convention) or dayfirst=False (MM/DD/YYYY)",
            )
            readable = iso
        else:
            other = pd.to_datetime(
                d.uniques.where(slash).str.replace(r"[.\-]", "/", regex=True),
                format="%d/%m/%Y" if dayfirst else "%m/%d/%Y",
                errors="coerce",
            )
            per_value = per_value.where(iso, other)
            readable = iso | slash
        filled_value = (d.uniques != "").to_numpy(bool)
        chk.add(column, d.expand(filled_value & ~iso & ~slash, False), "not a date in the form YYYY-MM-DD")
        invalid = readable & per_value.isna().to_numpy(bool)
        chk.add(column, d.expand(invalid, False), "not a valid calendar date")
        values = pd.Series(d.expand(per_value.to_numpy(), np.datetime64("NaT")))
    else:
        if not pd.api.types.is_datetime64_dtype(s.dtype):
            _type_error(src, column, "dates (or ISO text YYYY-MM-DD)")
        values = s.reset_index(drop=True)
        timed = (filled & (values != values.dt.normalize())).to_numpy(bool)
        chk.add(column, timed, "has a time of day; expected a date")
    dated = values.notna().to_numpy(bool)
    chk.add(
        column,
        dated & ((values < lo) | (values > hi)).to_numpy(bool),
        f"disbursement date outside the plausible range {DISBURSED_RANGE[0]} to {DISBURSED_RANGE[1]}",
    )
    return values


# ----------------------------------------------------------------------------------- all columns


def parse_columns(
    src: Source,
    spec: dict[str, str],
    columns: list[str],
    *,
    vintage: int | None = None,
    dayfirst: bool | None = None,
    thousands: str | None = None,
) -> tuple[Parsed, Checker]:
    """Check every cell of ``columns`` against its kind in ``spec``; parse each column to its final dtype.

    Text kinds give categoricals, ``int`` kinds int64, ``binary`` int8, money and rates float64,
    dates datetime64.  Invalid cells hold a placeholder: the rows with a problem in the returned
    :class:`Checker` are not data.
    """
    chk = Checker(src, columns)
    parsed = Parsed()
    for column in columns:
        kind = spec[column]
        s = src.data[column]
        if kind == "str" and is_text(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            d = None  # identifiers: mostly distinct, checked without hashing them
            missing = (s.isna() | (s == "")).to_numpy(bool)
        elif kind in ("str", "code5", "area", "programme"):
            d = _text_column(src, column, kind)
            missing = d.expand((d.uniques == "").to_numpy(bool), True)
        else:
            d = None
            missing = (s.isna() | (s == "")).to_numpy(bool) if is_text(s) else s.isna().to_numpy(bool)
        chk.add(column, missing, "required value is empty")
        parsed.ok[column] = ~missing
        filled = ~missing
        if kind == "str":
            values = _free_text(chk, column, s.reset_index(drop=True) if d is None else d)
        elif kind == "code5":
            values = _commune_codes(src, chk, parsed, column, d, vintage)
        elif kind in ("area", "programme"):
            allowed = AREAS if kind == "area" else PROGRAMMES
            good = d.uniques.isin(allowed).to_numpy(bool) | (d.uniques == "").to_numpy(bool)
            chk.add(column, ~d.expand(good, True), f"must be one of {', '.join(map(repr, allowed))}")
            values = d.column if d.column is not None else d.relabel(d.uniques)
        elif kind == "binary":
            values = _binary(src, chk, column, s, filled)
        elif kind == "date":
            values = _dates(src, chk, column, s, filled, dayfirst)
        elif kind in ("int", "int>=1"):
            numbers, not_number, _ = _numbers_of(src, column, s)
            values = _whole(chk, parsed, column, kind, numbers, not_number)
        elif kind in ("money>=0", "money>0"):
            values = _money(src, chk, column, kind, s, thousands)
        elif kind == "rate":
            numbers, not_number, _ = _numbers_of(src, column, s)
            values = _rate(chk, column, numbers, not_number)
        else:
            raise AssertionError(f"schema kind {kind!r} of column {column!r} has no validator")
        parsed.columns[column] = values if isinstance(values, pd.Series) else pd.Series(values)
    return parsed, chk
