"""Tables for reading: headers with units, Vietnamese number formats, no raw DataFrame on a published page.

A published table is a frame and a specification of its columns (:class:`Column`: the source
column, its header in each language with its unit, its kind and its digits).
:func:`readable` formats every cell for people (``42.903``, ``5,5%``, ``−1,2``, ``Có``/``Không``,
``–`` for a missing value; never ``NaN``, ``<NA>``, ``True`` or scientific notation), escapes
every text from data, cuts a long table to its first rows with a sentence saying where the
full table is, and returns a :class:`Readable`: what a notebook cell shows
(``_repr_html_``), the full formatted table and the full table for a workbook sheet.

Cells that are already text in a numeric column (the marks of
:meth:`povanalysis.reports.disclosure.Protected.display`, ``< 10`` or ``–``) are shown as
they are, so a protected table reads the same way as any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Number
from typing import Any

import numpy as np
import pandas as pd

from ..common.labels import check_lang, format_number, format_percent
from ..common.safe import escape_html

__all__ = ["KINDS", "MISSING", "TABLE_CSS", "Column", "Readable", "readable", "readable_as_is", "format_cell"]

#: The kinds of column a table can show.
KINDS: tuple[str, ...] = ("count", "percent", "points", "money", "ratio", "text", "code", "yesno")
#: What a missing or undefined value reads as.
MISSING = "–"
#: Default digits by kind (counts and money are whole numbers).
_DIGITS = {"count": 0, "percent": 1, "points": 1, "money": 0, "ratio": 2}
_NUMERIC = frozenset(_DIGITS)
_YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}

#: The stylesheet of readable tables: the width of the page's column, wrapped headers and text, A4 in print.
TABLE_CSS = (
    "table.readable-table { width: 100%; max-width: 960px; border-collapse: collapse; table-layout: auto; "
    "font-size: 0.86rem; margin: 0.4rem 0 0.2rem; }"
    " table.readable-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.2rem 0; }"
    " table.readable-table th, table.readable-table td { padding: 0.25rem 0.45rem; "
    "border-bottom: 1px solid #d9d9d9; white-space: normal; overflow-wrap: anywhere; vertical-align: top; }"
    " table.readable-table thead th { border-bottom: 2px solid #999; vertical-align: bottom; text-align: center; "
    "font-weight: 600; overflow-wrap: anywhere; hyphens: auto; }"
    " table.readable-table td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }"
    " table.readable-table td.txt { text-align: left; }"
    " table.readable-table td.mid { text-align: center; white-space: nowrap; overflow-wrap: normal; }"
    " p.readable-note { font-size: 0.82rem; color: #5a5a5a; margin: 0.1rem 0 0.9rem; }"
    " @media print { table.readable-table { max-width: none; font-size: 8.5pt; break-inside: auto; }"
    " table.readable-table tr { break-inside: avoid; } table.readable-table thead { display: table-header-group; } }"
)


@dataclass(frozen=True)
class Column:
    """One column of a published table.

    Parameters
    ----------
    source : str
        The column of the frame.
    vi, en : str
        The header in Vietnamese and in English, with the unit (``"Số hộ nghèo (hộ)"``).
    kind : {"count", "percent", "points", "money", "ratio", "text", "code", "yesno"}
        ``count``: whole numbers with thousands separators; ``percent``: a share in [0, 1]
        shown as a percentage; ``points``: percentage points (or any signed number), with a
        true minus sign; ``money``: an amount (scale it to millions or billions and say so in
        the header); ``ratio``: a decimal number; ``text``: text, wrapped; ``code``: an
        identifier kept as text (leading zeros kept); ``yesno``: ``Có``/``Không``.
    digits : int, optional
        Decimals shown (default: 0 for counts and money, 1 for percent and points, 2 for ratios).
    scale : float, default 1
        Multiplier applied before formatting (``1e-6`` for millions of VND, ``100`` for a
        share shown in points).
    sign : bool, default False
        Show ``+`` before positive numbers (a change).

    Examples
    --------
    >>> Column("poor_rate", "Tỷ lệ hộ nghèo (%)", "Poor-household rate (%)", "percent").header("en")
    'Poor-household rate (%)'
    """

    source: str
    vi: str
    en: str
    kind: str = "text"
    digits: int | None = None
    scale: float = 1.0
    sign: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Column {self.source!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.digits is not None and not (0 <= int(self.digits) <= 10):
            raise ValueError(f"Column {self.source!r}: digits must be 0 to 10, got {self.digits!r}")

    def header(self, lang: str = "vi") -> str:
        """The header in ``lang``."""
        return self.vi if check_lang(lang) == "vi" else self.en

    @property
    def places(self) -> int:
        """The decimals shown."""
        return int(self.digits) if self.digits is not None else _DIGITS.get(self.kind, 0)

    @property
    def number_format(self) -> str:
        """The spreadsheet number format of the column's sheet cells: the decimals the page shows.

        Examples
        --------
        >>> Column("r", "Tỷ lệ (%)", "Rate (%)", "percent", 1).number_format
        '#,##0.0'
        >>> Column("e", "Tác động", "Effect", "points", 2).number_format, Column("c", "Mã", "Code", "code").number_format
        ('+0.00;-0.00;0.00', '@')
        """
        if self.kind not in _NUMERIC:
            return "@"
        decimals = "." + "0" * self.places if self.places else ""
        if self.kind == "points":
            return f"+0{decimals};-0{decimals};0{decimals}"
        return f"#,##0{decimals}"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _number_value(value: Any, column: Column) -> float | None:
    """The scaled number of a cell rounded as shown, or None when it is not a finite number."""
    if _is_bool(value) or not isinstance(value, Number):
        return None
    x = float(value) * column.scale
    if not math.isfinite(x):
        return None
    x = round(x, column.places)
    return 0.0 if x == 0 else x


def format_cell(value: Any, column: Column, lang: str = "vi") -> str:
    """One cell as the table shows it (not yet escaped).

    Examples
    --------
    >>> c = Column("x", "X", "X", "percent")
    >>> format_cell(0.0546, c), format_cell(float("nan"), c), format_cell(True, Column("b", "B", "B", "yesno"))
    ('5,5%', '–', 'Có')
    >>> format_cell(-1.25, Column("d", "D", "D", "points", sign=True)), format_cell(535e6, Column("m", "M", "M", "money", scale=1e-6))
    ('−1,2', '535')
    >>> format_cell(1840, Column("c", "Mã", "Code", "code")), format_cell("< 10", Column("n", "N", "N", "count"))
    ('1840', '< 10')
    """
    check_lang(lang)
    if _missing(value):
        return MISSING
    if _is_bool(value):
        yes, no = _YES_NO[lang]
        return yes if value else no
    kind = column.kind
    if kind == "yesno":
        if isinstance(value, Number):
            yes, no = _YES_NO[lang]
            return yes if value else no
        return str(value)
    if kind in ("text", "code"):
        if isinstance(value, (float, np.floating)):  # a number where text is expected: never 1e-94
            x = float(value)
            return str(int(x)) if x.is_integer() else format_number(x, lang, digits=column.digits or 2)
        return str(value)
    if not isinstance(value, Number):
        return str(value)  # a mark such as "< 10" or a band "< 20%"
    if isinstance(value, (complex, np.complexfloating)):
        return MISSING
    x = float(value) * column.scale
    if not math.isfinite(x) or (kind == "percent" and not math.isfinite(100 * x)):
        return MISSING  # not a number, or a share too large to write as a percentage (it overflows)
    digits = column.places
    if kind == "percent":
        text = format_percent(x, lang, digits=digits)
        magnitude = round(100 * x, digits)
    else:
        text = format_number(x, lang, digits=digits)
        magnitude = round(x, digits)
    if magnitude == 0:
        text = text.lstrip("-")
    elif text.startswith("-"):
        text = "\u2212" + text[1:]
    elif column.sign:
        text = "+" + text
    return text


def _workbook_cell(value: Any, column: Column, lang: str) -> Any:
    """A cell for a spreadsheet: a number rounded as shown (percent in points), else text, None when missing."""
    if _missing(value):
        return None
    if column.kind in _NUMERIC and not _is_bool(value) and isinstance(value, Number):
        x = _number_value(value * 100 if column.kind == "percent" else value, column)
        if x is None:
            return None
        return int(x) if column.places == 0 else x
    return format_cell(value, column, lang)


@dataclass(frozen=True, eq=False)
class Readable:
    """A table formatted for reading, and the same table for a workbook.

    Attributes
    ----------
    frame : DataFrame
        Every row, every cell formatted as text, headers in the table's language.
    sheet : DataFrame
        Every row for a workbook sheet: numbers as numbers rounded as shown (percentages in
        percent, their headers ending in ``(%)``), text marks (``< 10``, ``–``) kept, codes and yes/no as
        text, None for a missing value.  ``sheet.attrs["number_formats"]`` gives each column's
        spreadsheet format (:attr:`Column.number_format`), which the workbook applies.
    shown : int
        Rows shown on the page.
    caption, note : str
        Above and under the table (plain text, escaped when rendered).
    lang : str
    """

    frame: pd.DataFrame = field(repr=False)
    sheet: pd.DataFrame = field(repr=False)
    columns: tuple[Column, ...] = field(repr=False)
    shown: int
    caption: str = ""
    note: str = ""
    lang: str = "vi"

    @property
    def n_rows(self) -> int:
        """Rows of the full table."""
        return len(self.frame)

    def cut_note(self) -> str:
        """The sentence saying the page shows only the first rows ("" when it shows them all)."""
        if self.shown >= self.n_rows:
            return ""
        n, total = format_number(self.shown, self.lang), format_number(self.n_rows, self.lang)
        if self.lang == "vi":
            return f"Bảng chỉ hiện {n} dòng đầu trong {total} dòng; bảng đầy đủ có trong tệp Excel kèm theo báo cáo."
        return f"The first {n} of {total} rows are shown; the full table is in the Excel workbook of the report."

    def to_html(self) -> str:
        """The table as escaped HTML, with its caption and notes."""
        kinds = {"count": "num", "percent": "num", "points": "num", "money": "num", "ratio": "num"}
        head = "".join(f"<th>{escape_html(c)}</th>" for c in self.frame.columns)
        classes = [kinds.get(c.kind, "mid" if c.kind in ("code", "yesno") else "txt") for c in self.columns]
        body = []
        for row in self.frame.head(self.shown).itertuples(index=False):
            cells = "".join(f'<td class="{k}">{escape_html(v)}</td>' for k, v in zip(classes, row))
            body.append(f"<tr>{cells}</tr>")
        caption = f"<caption>{escape_html(self.caption)}</caption>" if self.caption else ""
        notes = " ".join(t for t in (self.note, self.cut_note()) if t)
        note = f'<p class="readable-note">{escape_html(notes)}</p>' if notes else ""
        return (
            f'<div class="readable"><style>{TABLE_CSS}</style>'
            f'<table class="readable-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{note}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"Readable({self.n_rows} rows, {self.shown} shown, {len(self.columns)} columns, lang={self.lang!r})"


def readable(
    frame: pd.DataFrame,
    columns: Sequence[Column] | Mapping[str, Column],
    *,
    lang: str = "vi",
    top: int | None = None,
    caption: str = "",
    note: str = "",
) -> Readable:
    """A frame formatted for reading (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        The table; its index is ignored (reset it first if it holds data).
    columns : sequence of Column
        The columns shown, in order.
    lang : {"vi", "en"}
        Headers and number formats.
    top : int, optional
        Show only the first ``top`` rows on the page (sort the frame first), with a sentence
        saying the full table is in the workbook; the workbook has every row.
    caption, note : str
        Plain text above and under the table.

    Returns
    -------
    Readable

    Examples
    --------
    >>> t = pd.DataFrame({"code": ["01840", "05665"], "poor": [12, None], "rate": [0.0546, float("nan")],
    ...                   "hot": [True, False]})
    >>> cols = [Column("code", "Mã xã", "Code", "code"), Column("poor", "Hộ nghèo (hộ)", "Poor", "count"),
    ...         Column("rate", "Tỷ lệ (%)", "Rate (%)", "percent"), Column("hot", "Điểm nóng", "Hot spot", "yesno")]
    >>> r = readable(t, cols, top=1)
    >>> r.frame.to_dict("records")[1]
    {'Mã xã': '05665', 'Hộ nghèo (hộ)': '–', 'Tỷ lệ (%)': '–', 'Điểm nóng': 'Không'}
    >>> r.sheet.iloc[0].tolist()
    ['01840', 12, 5.5, 'Có']
    >>> "Bảng chỉ hiện 1 dòng đầu trong 2 dòng" in r.to_html()
    True
    """
    check_lang(lang)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame, got {type(frame).__name__}")
    cols = tuple(columns.values()) if isinstance(columns, Mapping) else tuple(columns)
    if not cols or not all(isinstance(c, Column) for c in cols):
        raise ValueError("'columns' should be a non-empty sequence of Column")
    missing = [c.source for c in cols if c.source not in frame.columns]
    if missing:
        raise ValueError(f"'frame' lacks the columns {missing}; it has {list(frame.columns)}")
    headers = [c.header(lang) for c in cols]
    if len(set(headers)) != len(headers):
        raise ValueError(f"'columns' give the same header twice: {headers}")
    # a percentage is a number in percent in a sheet: its header says so when its cells no longer do
    sheet_headers = [f"{h} (%)" if c.kind == "percent" and "%" not in h else h for c, h in zip(cols, headers)]
    if top is not None and int(top) < 1:
        raise ValueError(f"'top' should be at least 1, got {top!r}")
    data = frame.reset_index(drop=True)
    text, sheet = {}, {}
    for c, h, hs in zip(cols, headers, sheet_headers):
        values = data[c.source].astype(object).tolist()
        text[h] = [format_cell(v, c, lang) for v in values]
        sheet[hs] = pd.Series([_workbook_cell(v, c, lang) for v in values], dtype=object)
    shown = len(data) if top is None else min(int(top), len(data))
    sheet_frame = pd.DataFrame(sheet, columns=sheet_headers)
    sheet_frame.attrs["number_formats"] = {hs: c.number_format for c, hs in zip(cols, sheet_headers)}
    return Readable(
        pd.DataFrame(text, columns=headers, dtype=object),
        sheet_frame,
        cols,
        shown,
        caption=caption,
        note=note,
        lang=lang,
    )


def readable_as_is(
    frame: pd.DataFrame,
    *,
    lang: str = "vi",
    kinds: Mapping[str, str] | None = None,
    digits: Mapping[str, int] | int | None = None,
    top: int | None = None,
    caption: str = "",
    note: str = "",
) -> Readable:
    """A frame whose headers are already written for readers in ``lang``, formatted for reading.

    For the tables the package's prose modules build with headers in the page's language:
    the kind of each column is read from its type (whole numbers are counts, other numbers
    ratios with ``digits`` decimals, default 2; booleans yes/no; anything else text) unless
    ``kinds`` names it.  ``digits`` as a number applies to the ratios; as a mapping, to the
    columns it names. The index is kept as the first columns when it is named.

    Examples
    --------
    >>> t = pd.DataFrame({"Phương pháp": ["DiD", "Giá trị cài đặt"], "Tác động (điểm %)": [11.224, 10.0],
    ...                   "Số hộ vay": pd.array([107, None], dtype="Int64")})
    >>> readable_as_is(t).frame.to_dict("list")
    {'Phương pháp': ['DiD', 'Giá trị cài đặt'], 'Tác động (điểm %)': ['11,22', '10,00'], 'Số hộ vay': ['107', '–']}
    """
    check_lang(lang)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame, got {type(frame).__name__}")
    data = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    kinds = dict(kinds or {})
    unknown = [k for k in kinds if k not in data.columns]
    if unknown:
        raise ValueError(f"'kinds' names columns the frame lacks: {unknown}")
    cols = []
    for name in data.columns:
        dtype = data[name].dtype
        if name in kinds:
            kind = kinds[name]
        elif pd.api.types.is_bool_dtype(dtype):
            kind = "yesno"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "count"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "ratio"
        else:
            kind = "text"
        d = digits.get(name) if isinstance(digits, Mapping) else (digits if kind == "ratio" else None)
        if d is None and kind == "ratio":
            d = 2
        cols.append(Column(str(name), str(name), str(name), kind, d))
    data = data.set_axis([str(c) for c in data.columns], axis=1)
    return readable(data, cols, lang=lang, top=top, caption=caption, note=note)
