"""What the reader made of published annexes, as tables for reading: the match report and the agreement with microdata.

:func:`match_table` turns a :class:`~povanalysis.tables.published.PublishedTable` into the
table a researcher checks before using an annex (rows by kind, names matched by each rule, the
close matches with their scores, the rows left unplaced with their nearest units);
:func:`series_table` does the same for a series, one line per annex; :func:`agreement_table`
compares rates by 2025 unit from annexes with those computed from household records.  Each
returns HTML with every cell escaped (:func:`povanalysis.common.safe.escape_html`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import HTML

from ..common.labels import check_lang, format_number
from ..common.safe import escape_html
from .published import PublishedTable
from .series import PublishedSeries

__all__ = ["match_table", "series_table", "agreement_table"]

_TEXT = {
    "what": ("Nội dung", "What"),
    "count": ("Số dòng", "Rows"),
    "annex_name": ("Tên trong phụ lục", "Name in the annex"),
    "unit": ("Đơn vị (danh mục trước 2025)", "Unit (pre-2025 registry)"),
    "district": ("Huyện", "District"),
    "score": ("Mức giống", "Score"),
    "reason": ("Lý do", "Reason"),
    "nearest": ("Đơn vị gần nhất", "Nearest units"),
    "row": ("Dòng", "Row"),
    "file": ("Tệp", "File"),
    "year": ("Năm rà soát", "Review year"),
    "communes": ("Dòng xã", "Commune rows"),
    "placed": ("Đã xác định", "Placed"),
    "close": ("Tên gần đúng", "Close matches"),
    "unplaced": ("Chưa xác định", "Unplaced"),
    "units": ("Số đơn vị 2025", "2025 units"),
    "exact": ("Trùng khớp hoàn toàn", "Identical"),
    "apportioned": ("Đơn vị có phần được chia", "Units with an apportioned part"),
    "gap": ("Chênh lệch lớn nhất của tỷ lệ hộ nghèo (điểm %)", "Largest poor-rate gap (points)"),
    "total": ("Tổng hộ: phụ lục / vi dữ liệu", "Households: annexes / microdata"),
}
_KINDS = {
    "commune": ("Dòng xã, phường, thị trấn", "Commune rows"),
    "district": ("Dòng huyện", "District rows"),
    "subtotal": ("Dòng cộng", "Subtotal rows"),
    "province": ("Dòng tỉnh", "Province rows"),
    "total": ("Dòng tổng cộng", "Grand total rows"),
}
_METHODS = {
    "exact": ("Tên trùng khớp", "Name as registered"),
    "normalised": ("Trùng sau khi chuẩn hoá (tiền tố, dấu thanh, chữ hoa, khoảng trắng)", "Same once normalised"),
    "ascii": ("Trùng khi bỏ dấu", "Same without diacritics"),
    "fuzzy": ("Gần đúng (lỗi chính tả)", "Close match (a typing error)"),
}


def _t(key: str, lang: str) -> str:
    return _TEXT[key][0 if lang == "vi" else 1]


def _html(frame: pd.DataFrame, caption: str | None = None) -> str:
    cells = frame.map(lambda v: "–" if v is None or (isinstance(v, float) and np.isnan(v)) else escape_html(v))
    cells.columns = [escape_html(c) for c in frame.columns]
    html = cells.to_html(index=False, border=0, classes="report-table", escape=False)
    return (f"<h4>{escape_html(caption)}</h4>\n" if caption else "") + html


def match_table(table: PublishedTable, *, lang: str = "vi") -> HTML:
    """The match report of one annex: rows by kind, names by matching rule, close matches, unplaced rows.

    Parameters
    ----------
    table : PublishedTable
        :func:`povanalysis.tables.read_published`'s result.
    lang : {"vi", "en"}

    Returns
    -------
    IPython.display.HTML
    """
    check_lang(lang)
    if not isinstance(table, PublishedTable):
        raise TypeError(f"'table' should be a PublishedTable, got {type(table).__name__}")
    vi = lang == "vi"
    kinds = table.rows["kind"].value_counts()
    lines = [(_KINDS[k][0 if vi else 1], format_number(int(kinds[k]), lang)) for k in _KINDS if k in kinds.index]
    methods = table.matches["method"].value_counts()
    lines += [(_METHODS[m][0 if vi else 1], format_number(int(methods[m]), lang)) for m in _METHODS if m in methods]
    lines.append((_t("unplaced", lang), format_number(len(table.unplaced), lang)))
    year = f"{table.path.name} · {_t('year', lang).lower()} {table.review_year}"
    parts = [_html(pd.DataFrame(lines, columns=[_t("what", lang), _t("count", lang)]), year)]
    fuzzy = table.matches[table.matches["method"] == "fuzzy"]
    if len(fuzzy):
        shown = pd.DataFrame(
            {
                _t("row", lang): fuzzy["row"].astype(str),
                _t("annex_name", lang): fuzzy["label"],
                _t("unit", lang): fuzzy["name"] + " (" + fuzzy["commune_code"] + ")",
                _t("district", lang): fuzzy["district"],
                _t("score", lang): [format_number(float(s), lang, digits=2) for s in fuzzy["score"]],
            }
        )
        parts.append(_html(shown, _t("close", lang)))
    if len(table.unplaced):
        u = table.unplaced
        shown = pd.DataFrame(
            {
                _t("row", lang): u["row"].astype(str),
                _t("annex_name", lang): u["label"],
                _t("district", lang): u["district"],
                _t("reason", lang): u["reason"],
                _t("nearest", lang): u["suggestions"],
            }
        )
        parts.append(_html(shown, _t("unplaced", lang)))
    return HTML("\n".join(parts))


def series_table(series: PublishedSeries, *, lang: str = "vi") -> HTML:
    """One line per annex of a series: the file, its review year, commune rows, placed, close matches, unplaced."""
    check_lang(lang)
    if not isinstance(series, PublishedSeries):
        raise TypeError(f"'series' should be a PublishedSeries, got {type(series).__name__}")
    rows = []
    for t in series.tables:
        rows.append(
            {
                _t("file", lang): t.path.name,
                _t("year", lang): str(t.review_year),
                _t("communes", lang): format_number(int((t.rows["kind"] == "commune").sum()), lang),
                _t("placed", lang): format_number(len(t.matches), lang),
                _t("close", lang): format_number(int((t.matches["method"] == "fuzzy").sum()), lang),
                _t("unplaced", lang): format_number(len(t.unplaced), lang),
            }
        )
    return HTML(_html(pd.DataFrame(rows)))


def agreement_table(published: pd.DataFrame, microdata: pd.DataFrame, *, lang: str = "vi") -> HTML:
    """Rates by 2025 unit from annexes against those computed from household records, one line per review.

    Parameters
    ----------
    published : DataFrame
        :meth:`povanalysis.tables.PublishedSeries.commune_year` (``commune_code``,
        ``review_year``, ``households``, ``poor``, ``poor_rate``, ``apportioned``).
    microdata : DataFrame
        :func:`povanalysis.measure.aggregates.poverty_counts` of the household records by
        ``commune_code`` and ``review_year``.
    lang : {"vi", "en"}

    Returns
    -------
    IPython.display.HTML
        Per review: units compared, units whose households, poor households and rate are
        identical, units with an apportioned part, the largest gap in the poor rate (in
        percentage points) and the households in both.

    Raises
    ------
    ValueError
        A unit and review in one table and not in the other (naming the first).
    """
    check_lang(lang)
    keys = ["commune_code", "review_year"]
    both = published.merge(microdata, on=keys, how="outer", suffixes=("", "_micro"), indicator=True)
    alone = both[both["_merge"] != "both"]
    if len(alone):
        first = alone.iloc[0]
        side = "published" if first["_merge"] == "left_only" else "microdata"
        raise ValueError(
            f"unit {first['commune_code']} at {int(first['review_year'])} is only in '{side}': compare the same units"
        )
    same = np.ones(len(both), dtype=bool)
    for c in ("households", "poor", "poor_rate"):
        same &= both[c].to_numpy(float) == both[f"{c}_micro"].to_numpy(float)
    both = both.assign(
        same=same,
        gap=100 * (both["poor_rate"] - both["poor_rate_micro"]).abs(),
        apportioned=both["apportioned"] if "apportioned" in both.columns else False,
    )
    rows = []
    for year, g in both.groupby("review_year", sort=True):
        rows.append(
            {
                _t("year", lang): str(int(year)),
                _t("units", lang): format_number(len(g), lang),
                _t("exact", lang): format_number(int(g["same"].sum()), lang),
                _t("apportioned", lang): format_number(int(g["apportioned"].sum()), lang),
                _t("gap", lang): format_number(float(g["gap"].max()), lang, digits=2),
                _t("total", lang): f"{format_number(float(g['households'].sum()), lang)} / "
                f"{format_number(float(g['households_micro'].sum()), lang)}",
            }
        )
    return HTML(_html(pd.DataFrame(rows)))
