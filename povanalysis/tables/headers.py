"""The header of a published table: where it is, its merged titles flattened, and which column holds what.

Annexes put a title above the table, a header over one to three rows whose upper cells are
merged over the lower ones ("Hộ nghèo" over "Số hộ" and "Tỷ lệ (%)"), and often a row
numbering the columns ("A", "B", "1", "2", "3=2/1").  :func:`find_header` finds the header,
gives each column the titles of its header cells joined top to bottom, and
:func:`field_of` names the figure a flattened title stands for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from openpyxl.utils import column_index_from_string, get_column_letter

from ..data.registry import ascii_name, normalise_name
from ..data.sources import file_error
from .names import parse_label
from .sheet import Grid, where

__all__ = ["FIELDS", "COUNTS", "RATE_OF", "Header", "field_of", "find_header", "column_letter", "fold_title"]

#: What a column can hold: the row number, the unit's name, its district, its code, and the figures.
FIELDS: tuple[str, ...] = (
    "stt",
    "name",
    "district",
    "code",
    "households",
    "poor",
    "poor_rate",
    "near_poor",
    "near_poor_rate",
    "minority_poor",
)
#: The additive figures, in the order of the tidy table.
COUNTS: tuple[str, ...] = ("households", "poor", "near_poor", "minority_poor")
#: A rate column and the counts it is computed from (numerator, denominator).
RATE_OF: dict[str, tuple[str, str]] = {
    "poor_rate": ("poor", "households"),
    "near_poor_rate": ("near_poor", "households"),
}
#: Rows looked through for the header.
_SEARCH_ROWS = 60
#: Words in a title at most (a longer text above the table is a note, even if it says "đơn vị").
_MAX_TITLE_WORDS = 12
#: Header rows at most.
_MAX_HEADER_ROWS = 4
# Headers of figures that are not the review's result: movements over the year, subsets of the poor.
_NOT_RESULT = (
    "dau ky",
    "dau nam",
    "phat sinh",
    "thoat ngheo",
    "thoat can ngheo",
    "tai ngheo",
    "giam",
    "tang",
    "chinh sach",
    "bao tro",
    "nguoi co cong",
    "ncc",
    "khong co kha nang",
    "khong co lao dong",
    "ghi chu",
    "khau",
    "nhan khau",
)
_NUMBERING = re.compile(r"^[\s()\[\]0-9A-Za-z=+\-*/x:%.,]{1,20}$")


def fold_title(text: object) -> str:
    """A header text as compared: ASCII, lower case, punctuation but '%' turned to spaces.

    Examples
    --------
    >>> fold_title("Tỷ lệ hộ nghèo (%)")
    'ty le ho ngheo %'
    """
    text = ascii_name(normalise_name(str(text))).lower()
    return " ".join(re.sub(r"[^a-z0-9%]+", " ", text).split())


def field_of(title: str) -> str | None:
    """The field a (flattened) column title stands for, or None for a column to ignore.

    Titles are compared without diacritics, case or punctuation.  Counts of movements over
    the year (đầu kỳ, phát sinh, thoát nghèo), of subsets of the poor (chính sách, bảo trợ
    xã hội), of persons (khẩu), of the poor and near-poor together, and the ethnic-minority share are ignored
    (and listed by the reader).

    Examples
    --------
    >>> [field_of(t) for t in ["STT", "Tên đơn vị", "Tổng số hộ dân cư", "Hộ nghèo Số hộ", "Hộ nghèo Tỷ lệ (%)",
    ...                        "Số hộ cận nghèo", "Tỷ lệ hộ cận nghèo", "Hộ nghèo DTTS", "Ghi chú"]]
    ['stt', 'name', 'households', 'poor', 'poor_rate', 'near_poor', 'near_poor_rate', 'minority_poor', None]
    >>> [field_of(t) for t in ["Ho ngheo dan toc thieu so (ho)", "So ho ngheo dau ky", "Tổng hộ nghèo và cận nghèo"]]
    ['minority_poor', None, None]
    """
    t = fold_title(title)
    if not t:
        return None
    words = t.split()
    rate = "ty le" in t or "ti le" in t or "%" in t
    if t in ("stt", "tt", "so tt", "so thu tu", "thu tu"):
        return "stt"
    if re.search(r"\bma (xa|don vi|dvhc|so)\b", t) or t in ("ma", "ma xa"):
        return "code"
    if "ngheo" not in words:
        if re.fullmatch(r"(ten )?(huyen|don vi cap huyen|cap huyen)( thanh pho)?( thi xa)?", t):
            return "district"
        if "don vi tinh" in t:
            return None
        if (
            "don vi" in t
            or "ten xa" in t
            or "dia ban" in t
            or t in ("xa", "ten", "xa phuong", "xa phuong thi tran", "huyen xa", "ten xa phuong thi tran")
            or t.startswith(("xa phuong", "huyen xa", "huyen thanh pho xa"))
        ):
            return "name"
        if ("ho dan" in t or "tong so ho" in t or t in ("so ho", "tong ho", "tong so")) and not rate:
            return "households"
        return None
    if any(re.search(rf"\b{w}\b", t) for w in _NOT_RESULT):
        return None
    plain = words.count("ngheo")
    near = len(re.findall(r"\bcan ngheo\b", t))
    if near and plain > near:  # "hộ nghèo và cận nghèo", "nghèo, cận nghèo"
        return None
    minority = "dan toc" in t or "dtts" in words or "thieu so" in t
    if near:
        return None if minority else ("near_poor_rate" if rate else "near_poor")
    if minority:
        return None if rate else "minority_poor"
    return "poor_rate" if rate else "poor"


def column_letter(j: int) -> str:
    """The spreadsheet letter of 0-based column ``j`` (``0`` → ``A``)."""
    return get_column_letter(j + 1)


@dataclass
class Header:
    """Where the header is and what each column holds.

    Attributes
    ----------
    rows : list of int
        The header rows (0-based).
    data_start : int
        The first row after the header (and after a column-numbering row).
    numbering_row : int or None
        The row numbering the columns, skipped.
    titles : list of str
        Each column's flattened title (its header cells top to bottom, joined by " / ").
    columns : dict
        Field → 0-based column.
    ignored : list of tuple
        ``(column, title)`` of the titled columns that hold no recognised field.
    title_text : str
        The text above the header (the annex's title), where the review year is read.
    """

    rows: list[int]
    data_start: int
    numbering_row: int | None
    titles: list[str]
    columns: dict[str, int]
    ignored: list[tuple[int, str]] = field(default_factory=list)
    title_text: str = ""

    def describe(self, j: int) -> str:
        """``column E ('Hộ nghèo / Số hộ')``."""
        title = self.titles[j] if j < len(self.titles) else ""
        return f"column {column_letter(j)}" + (f" ({title!r})" if title else "")


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _is_number(value: object) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and re.fullmatch(r"[\d.,\s%]+", value.strip() or "x") is not None


def _is_numbering(cells: list[object]) -> bool:
    texts = [_text(c) for c in cells if _text(c)]
    if len(texts) < 3:
        return False
    numbers = [t for t in texts if re.fullmatch(r"\(?\d{1,2}\)?", t)]
    return len(numbers) >= 2 and all(_NUMBERING.fullmatch(t) and not re.search(r"[a-z]{2}", t) for t in texts)


def _flatten(grid: Grid, rows: list[int]) -> list[str]:
    """Each column's header cells top to bottom, merged ranges filled, joined by ' / '."""
    width = grid.width
    block = {i: [_text(grid.cell(i, j)) for j in range(width)] for i in rows}
    for r0, c0, r1, c1 in grid.merged:
        if r0 not in block:
            continue
        anchor = block[r0][c0]
        for i in range(r0, r1 + 1):
            if i in block:
                for j in range(c0, min(c1, width - 1) + 1):
                    block[i][j] = block[i][j] or anchor
    # Without merge information (a CSV, a sheet converted from PDF), an upper title spans the blank
    # cells to its right that have a title below them.
    for k, i in enumerate(rows[:-1]):
        below = rows[k + 1 :]
        for j in range(1, width):
            if not block[i][j] and block[i][j - 1] and any(block[b][j] for b in below):
                left_below = any(block[b][j - 1] for b in below)
                if left_below:
                    block[i][j] = block[i][j - 1]
    titles = []
    for j in range(width):
        parts: list[str] = []
        for i in rows:
            text = " ".join(block[i][j].split())
            if text and text not in parts:
                parts.append(text)
        titles.append(" / ".join(parts))
    return titles


def _resolve(path, override: Mapping[str, str | int], width: int) -> dict[str, int]:
    out = {}
    for name, col in override.items():
        if name not in FIELDS:
            raise ValueError(f"columns: unknown field {name!r}; fields are {list(FIELDS)}")
        if isinstance(col, str):
            try:
                j = column_index_from_string(col.strip().upper()) - 1
            except ValueError:
                raise ValueError(f"columns: {name!r} → {col!r} is not a column letter such as 'C'") from None
        elif isinstance(col, int) and not isinstance(col, bool) and col >= 0:
            j = col
        else:
            raise ValueError(f"columns: {name!r} → {col!r} should be a letter ('C') or a 0-based index")
        if j >= width:
            raise file_error(path, f"columns: {name!r} → column {column_letter(j)} is beyond the table's last column")
        out[name] = j
    return out


def find_header(grid: Grid, *, columns: Mapping[str, str | int] | None = None) -> Header:
    """Find the header rows, flatten their titles and map the columns to fields.

    The header starts at the first row (among the first 60) holding a recognised title of
    the unit name or of the row number, with "nghèo" in it or in one of the next rows; it
    goes on while rows hold titles and no figures (four rows at most).  ``columns`` maps
    fields to column letters (``{"poor": "E"}``) to override or complete the recognition.

    Raises
    ------
    ValidationError
        No header, a field in two columns, or no column for the unit name, the households or
        the poor households (the message lists the titles found).
    """
    path = grid.path
    n = min(len(grid.cells), _SEARCH_ROWS)
    start = None
    for i in range(n):
        row = grid.cells[i]
        found = {field_of(_text(c)) for c in row if len(_text(c).split()) <= _MAX_TITLE_WORDS}
        if found & {"name", "stt"}:
            nearby = " ".join(
                fold_title(_text(c)) for k in range(i, min(i + _MAX_HEADER_ROWS, n)) for c in grid.cells[k]
            )
            if "ngheo" in nearby.split():
                start = i
                break
    if start is None:
        raise file_error(
            path,
            f"no header found in the first {_SEARCH_ROWS} rows: expected a row with titles such as 'STT' or "
            "'Tên đơn vị' and, in it or below, 'Số hộ nghèo'",
        )
    rows = [start]
    i = start + 1
    numbering = None
    while i < len(grid.cells) and len(rows) < _MAX_HEADER_ROWS:
        row = grid.cells[i]
        texts = [_text(c) for c in row if _text(c)]
        if not texts:
            i += 1
            continue
        if _is_numbering(row):
            numbering = i
            i += 1
            break
        titled = any(field_of(t) for t in texts) or any("ngheo" in fold_title(t).split() for t in texts)
        if (
            any(_is_number(c) for c in row if _text(c))
            or not titled
            and any(parse_label(t).kind in ("total", "district", "province", "subtotal") for t in texts)
        ):
            break
        if not titled and not all(len(fold_title(t).split()) <= 4 for t in texts):
            break
        rows.append(i)
        i += 1
    if numbering is None and i < len(grid.cells) and _is_numbering(grid.cells[i]):
        numbering, i = i, i + 1
    titles = _flatten(grid, rows)
    mapped: dict[str, int] = {}
    ignored: list[tuple[int, str]] = []
    clashes: dict[str, list[int]] = {}
    for j, title in enumerate(titles):
        name = field_of(title)
        if name is None:
            if title:
                ignored.append((j, title))
            continue
        clashes.setdefault(name, []).append(j)
    override = _resolve(path, columns or {}, len(titles))
    for name, js in clashes.items():
        if name in override:
            continue
        if len(js) > 1:
            shown = ", ".join(f"{column_letter(j)} ({titles[j]!r})" for j in js)
            raise file_error(
                path,
                f"{len(js)} columns could hold {name!r}: {shown}; say which with columns={{{name!r}: 'letter'}}",
                column=titles[js[0]],
            )
        mapped[name] = js[0]
    mapped.update(override)
    taken = set(override.values())
    ignored = [(j, t) for j, t in ignored if j not in taken]
    for name in ("name", "households", "poor"):
        if name not in mapped:
            found = "; ".join(f"{column_letter(j)} {t!r}" for j, t in enumerate(titles) if t)
            raise file_error(
                path,
                f"no column for {name!r} in the header ({where(grid, rows[0])} to {where(grid, rows[-1])}); "
                f"titles found: {found}; say which with columns={{{name!r}: 'letter'}}",
                column=name,
            )
    title_text = " ".join(_text(c) for k in range(start) for c in grid.cells[k] if _text(c))
    return Header(rows, i, numbering, titles, mapped, ignored, title_text)
