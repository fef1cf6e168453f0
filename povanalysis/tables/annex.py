"""Annex-style workbooks written from counts by pre-2025 unit, as the province publishes them (for demonstrations and tests).

What :func:`povanalysis.tables.read_published` reads: a title naming the review year, a header
merged over two rows, a numbering row, a grand total, the two old provinces, their districts
(each with its own figures, or a "Cộng" row after its communes) and the communes, numbered.
:func:`write_annex` writes such a sheet (``.xlsx``, or ``.csv`` in the Vietnamese number format,
optionally in Windows-1258) from a list of items; :func:`panel_items` lists the pre-2025 units
of both old provinces with a table's counts, their names written the usual ways
(:func:`messy_name`); :func:`write_panel_annexes` places a classified synthetic panel's
households in pre-2025 units and writes one annex per review year.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pandas as pd

from ..data import registry
from ..geo import crosswalk
from ..measure.aggregates import poverty_counts

__all__ = [
    "TITLE",
    "MISSPELT",
    "cp1258",
    "annex_rows",
    "write_annex",
    "messy_name",
    "panel_items",
    "old_unit_counts",
    "split_weights",
    "write_panel_annexes",
]

#: The title rows of an annex (``{year}``: the review year, ``{next}``: the decision's year).
TITLE = (
    "PHỤ LỤC",
    "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}",
    "(Kèm theo Quyết định số 15/QĐ-UBND ngày 10 tháng 1 năm {next} của UBND tỉnh)",
)
_UPPER = ("STT", "Đơn vị", "Tổng số hộ dân cư", "Hộ nghèo", None, "Hộ cận nghèo", None, "Hộ nghèo DTTS", "Ghi chú")
_LOWER = (None, None, None, "Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)", None, None)
_NUMBERING = ("A", "B", "1", "2", "3=2/1", "4", "5=4/1", "6", "7")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_OLD_TONES = {"òa": "oà", "óa": "oá", "ỏa": "oả", "ọa": "oạ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ụy": "uỵ"}
_ABBREVIATIONS = {"Thị trấn ": "TT. ", "Phường ": "P. ", "Xã ": "X. "}
# District labels as annexes of 2021–2024 write them: old city status, abbreviations, bare names, other tones.
_DISTRICTS = {
    "Thành phố Phổ Yên": "Thị xã Phổ Yên",
    "Thành phố Sông Công": "TP. Sông Công",
    "Huyện Đại Từ": "Đại Từ",
    "Huyện Võ Nhai": "H. Võ Nhai",
    "Huyện Định Hóa": "Huyện Định Hoá",
    "Thành Phố Bắc Kạn": "TP Bắc Kạn",
}
#: Two communes written with a typing error in every messy annex (placed by the close-match score).
MISSPELT = {"Xã Quang Sơn": "Xã Quang Sơnn", "Xã Tân Cương": "Xã Tân Cươn"}
_AREAS = (("thai_nguyen", "Tỉnh Thái Nguyên"), ("bac_kan", "Tỉnh Bắc Kạn"))
_COUNTS = ("households", "poor", "near_poor", "minority_poor")


def cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 bytes, tone marks as combining characters (as Windows writes them).

    Examples
    --------
    >>> cp1258("Xã").decode("cp1258") == "Xa\\u0303"
    True
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts[1:] if m in _TONES)
        base = unicodedata.normalize("NFC", parts[0] + "".join(m for m in parts[1:] if m not in _TONES))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def annex_rows(items: Sequence[tuple], *, overrides: dict | None = None) -> list[list]:
    """The body rows of an annex.

    Parameters
    ----------
    items : sequence of tuple
        ``("commune", label, households, poor, near_poor, minority_poor)``,
        ``("district", label, style)`` with style ``"row"`` (the district row carries its figures),
        ``"cong"`` (a "Cộng" row after its communes) or ``"none"``, ``("province", label)`` and
        ``("total", label)`` (figures of every commune).
    overrides : dict, optional
        Maps a label to ``{column index: value}`` written over the computed cells.

    Examples
    --------
    >>> annex_rows([("district", "Huyện Đồng Hỷ", "row"), ("commune", "Xã Hóa Trung", 100, 5, 8, 2)])
    [['I', 'Huyện Đồng Hỷ', 100, 5, 5.0, 8, 8.0, 2, None], [1, 'Xã Hóa Trung', 100, 5, 5.0, 8, 8.0, 2, None]]
    """
    overrides = overrides or {}
    items = list(items)
    communes = [it for it in items if it[0] == "commune"]

    def figures(group):
        hh, poor, near, mino = (sum(c[k] for c in group) for k in range(2, 6))
        return [hh, poor, _rate(poor, hh), near, _rate(near, hh), mino]

    def following(k, stops):
        group = []
        for it in items[k + 1 :]:
            if it[0] in stops:
                break
            if it[0] == "commune":
                group.append(it)
        return group

    rows, n, roman, open_cong = [], 0, 0, None

    def close():
        if open_cong is not None:
            cong = [None, "Cộng", *figures(following(open_cong, ("province", "total", "district"))), None]
            for j, value in overrides.get("Cộng", {}).items():
                cong[j] = value
            rows.append(cong)

    for k, it in enumerate(items):
        kind = it[0]
        if kind != "commune":
            close()
            open_cong = None
        if kind == "commune":
            n += 1
            row = [n, it[1], *figures([it]), None]
        elif kind == "total":
            row = [None, it[1], *figures(communes), None]
        elif kind == "province":
            roman = 0
            row = ["A", it[1], *figures(following(k, ("province", "total"))), None]
        else:
            roman += 1
            n = 0
            group = following(k, ("province", "total", "district"))
            row = [_ROMAN[roman - 1], it[1]]
            row += figures(group) if it[2] == "row" else [None] * 6
            row.append(None)
            open_cong = k if it[2] == "cong" else None
        for j, value in overrides.get(it[1], {}).items():
            row[j] = value
        rows.append(row)
    close()
    return rows


def write_annex(
    path: str | os.PathLike,
    items: Sequence[tuple],
    *,
    year: int = 2023,
    overrides: dict | None = None,
    encoding: str = "utf-8",
    title: bool = True,
) -> Path:
    """Write an annex: ``.xlsx`` with a merged header, or ``.csv`` with the same cells in the Vietnamese number format.

    Parameters
    ----------
    path : str or Path
        ``.xlsx`` or ``.csv``; the folder must exist.
    items : sequence of tuple
        See :func:`annex_rows`.
    year : int
        Review year written in the title.
    overrides : dict, optional
        See :func:`annex_rows`.
    encoding : str
        Of a ``.csv`` (``"cp1258"``: as a Vietnamese Windows saves it, tone marks combining).
    title : bool
        Write the three title rows.

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.suffix not in (".xlsx", ".csv"):
        raise ValueError(f"'path' should end in .xlsx or .csv, got {path.name!r}")
    head = [[t.format(year=year, next=year + 1)] for t in TITLE] if title else []
    body = annex_rows(items, overrides=overrides)
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "PL01"
        for row in head:
            ws.append(row)
        top = len(head) + 1
        ws.append(list(_UPPER))
        ws.append(list(_LOWER))
        ws.append(list(_NUMBERING))
        for j in (1, 2, 3, 8, 9):
            ws.merge_cells(start_row=top, start_column=j, end_row=top + 1, end_column=j)
        ws.merge_cells(start_row=top, start_column=4, end_row=top, end_column=5)
        ws.merge_cells(start_row=top, start_column=6, end_row=top, end_column=7)
        for row in body:
            ws.append(row)
        book.save(path)
        return path

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.2f}".replace(".", ",")
        if isinstance(v, int) and v >= 1000:
            return f"{v:,}".replace(",", ".")
        return str(v)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in head + [list(_UPPER), list(_LOWER), list(_NUMBERING)] + body:
        writer.writerow([cell(v) for v in row])
    text = buffer.getvalue()
    path.write_bytes(cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def messy_name(name: str, short: str, k: int) -> str:
    """One of the usual ways an annex writes a unit's name, chosen by ``k``.

    The name as registered, without its prefix, without diacritics, with the other tone
    placement (or in capitals), with an abbreviated prefix, or with stray spaces; the units
    of :data:`MISSPELT` always with their typing error.

    Examples
    --------
    >>> [messy_name("Xã Hòa Bình", "Hòa Bình", k) for k in range(4)]
    ['Xã Hòa Bình', 'Hòa Bình', 'Xa Hoa Binh', 'Xã Hoà Bình']
    """
    if name in MISSPELT:
        return MISSPELT[name]
    way = k % 6
    if way == 1:
        return short
    if way == 2:
        return registry.ascii_name(name)
    if way == 3:
        old = name
        for new, previous in _OLD_TONES.items():
            old = old.replace(new, previous)
        return old if old != name else name.upper()
    if way == 4:
        for prefix, short_prefix in _ABBREVIATIONS.items():
            if name.startswith(prefix):
                return short_prefix + name[len(prefix) :]
    if way == 5:
        return "  " + name.replace(" ", "  ") + " "
    return name


def panel_items(counts: pd.DataFrame, year: int, *, messy: bool = True) -> list[tuple]:
    """The items of an annex (:func:`annex_rows`) of every pre-2025 unit of both old provinces at one review.

    Parameters
    ----------
    counts : DataFrame
        Counts by pre-2025 unit: ``commune_code`` (vintage 2024), ``review_year``,
        ``households``, ``poor``, ``near_poor``, ``minority_poor``; a unit absent at ``year``
        is written with zeros.
    year : int
    messy : bool
        Write names and district labels the usual ways (:func:`messy_name`), every third
        district with a "Cộng" row after its communes; False writes the registry's names and a
        figures row for every district.

    Returns
    -------
    list of tuple
    """
    missing = [c for c in ("commune_code", "review_year", *_COUNTS) if c not in counts.columns]
    if missing:
        raise ValueError(f"'counts' has no column(s) {missing}")
    units = registry.units(2024)
    got = counts[counts["review_year"] == year].set_index("commune_code")
    items: list[tuple] = [("total", "Tổng cộng")]
    k = 0
    for area, province in _AREAS:
        items.append(("province", province))
        part = units[units["old_area"] == area]
        for d, (_, district) in enumerate(part.groupby("district_code", sort=True)):
            label = district["district_name"].iloc[0]
            if messy:
                items.append(("district", _DISTRICTS.get(label, label), "cong" if d % 3 == 2 else "row"))
            else:
                items.append(("district", label, "row"))
            for code, name, short in district[["commune_code", "name", "short_name"]].itertuples(index=False):
                k += 1
                figures = [int(got.at[code, c]) if code in got.index else 0 for c in _COUNTS]
                items.append(("commune", messy_name(name, short, k + year) if messy else name, *figures))
    return items


def old_unit_counts(classified: pd.DataFrame, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic panel's households placed in pre-2025 units, and their counts by old unit and review.

    The synthetic panel knows only the 2025 units: each household is placed in one of its
    commune's predecessors (:func:`povanalysis.geo.crosswalk.assign_old_units`, for
    demonstrations only).

    Returns
    -------
    (DataFrame, DataFrame)
        The households with an ``old_code`` column, and
        :func:`povanalysis.measure.aggregates.poverty_counts` by old unit (``commune_code``,
        vintage 2024) and ``review_year``, unsuppressed.
    """
    households = classified.assign(old_code=crosswalk.assign_old_units(classified, seed=seed).to_numpy())
    by_old = poverty_counts(
        households.assign(commune_code=households["old_code"]), by=["commune_code", "review_year"], min_cell=1
    )
    return households, by_old


def split_weights(households: pd.DataFrame) -> pd.DataFrame:
    """Household weights of every old → new link by review year, from households carrying both codes.

    :func:`povanalysis.geo.crosswalk.weights_from_records` on each review of ``households``
    (``old_code``, ``commune_code``, ``review_year``; e.g. the first result of
    :func:`old_unit_counts`), with a ``review_year`` column, as
    :meth:`povanalysis.tables.PublishedSeries.to_new_units` takes them.
    """
    missing = [c for c in ("old_code", "commune_code", "review_year") if c not in households.columns]
    if missing:
        raise ValueError(f"'households' has no column(s) {missing}")
    years = sorted(int(y) for y in households["review_year"].unique())
    return pd.concat(
        [crosswalk.weights_from_records(households, year=y).assign(review_year=y) for y in years], ignore_index=True
    )


def write_panel_annexes(
    classified: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    seed: int,
    years: Sequence[int] | None = None,
    messy: bool = True,
    csv_years: Sequence[int] = (),
    encoding: str = "cp1258",
) -> list[Path]:
    """One annex per review year of a classified synthetic panel, by pre-2025 unit, as the province writes them.

    Parameters
    ----------
    classified : DataFrame
        The household panel (``household_id``, ``commune_code``, ``review_year``,
        ``poverty_class``, ``minority``), e.g. :func:`povanalysis.data.pipeline.load_classified`.
    folder : str or Path
        Created if missing; the files are ``annex_<year>.xlsx`` (``.csv`` for ``csv_years``).
    seed : int
        Of the placement of households in pre-2025 units (:func:`old_unit_counts`).
    years : sequence of int, optional
        Default every review of the panel.
    messy : bool
        Names, district labels and subtotal rows written the usual ways (:func:`panel_items`).
    csv_years : sequence of int
        Years written as a CSV saved by a spreadsheet, in ``encoding``.
    encoding : str
        Of the CSV files (default Windows-1258).

    Returns
    -------
    list of Path
        In review-year order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _, by_old = old_unit_counts(classified, seed=seed)
    years = sorted(int(y) for y in by_old["review_year"].unique()) if years is None else [int(y) for y in years]
    paths = []
    for year in years:
        name = f"annex_{year}.csv" if year in set(csv_years) else f"annex_{year}.xlsx"
        items = panel_items(by_old, year, messy=messy)
        paths.append(write_annex(folder / name, items, year=year, encoding=encoding))
    return paths
