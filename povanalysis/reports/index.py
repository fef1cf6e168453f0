"""The index of a report set: a sortable table of every unit with its key figures, the province map and an XLSX copy.

Names and other text from data are escaped (:func:`povanalysis.common.safe.escape_html`) in the
page and in the map's hover text, and neutralised in the workbook
(:func:`povanalysis.common.safe.neutralise_formulas`); the page runs only its own sorting script
and the map's drawing script (its Content-Security-Policy lists their hashes).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..common.files import atomic_write_bytes, atomic_write_text
from ..common.labels import check_lang, format_number, format_percent, label, pick
from ..common.safe import escape_html, neutralise_formula, neutralise_formulas
from ..data import registry
from ..geo import maps
from . import prepare
from .html import PLOTLY_JS, copy_plotly_js, figure_html, literal_labels, page, script_hashes

__all__ = ["COLUMNS", "key_figure_table", "index_html", "write_xlsx", "build_index"]

#: Columns of the index table and the XLSX: key → (Vietnamese, English, kind).
COLUMNS = {
    "commune_code": ("Mã", "Code", "text"),
    "name": ("Xã, phường", "Commune or ward", "text"),
    "unit_type": ("Loại", "Type", "text"),
    "old_area": ("Địa bàn cũ", "Pre-2025 province", "text"),
    "households": ("Số hộ", "Households", "count"),
    "poor": ("Số hộ nghèo", "Poor households", "count"),
    "poor_rate": ("Tỷ lệ hộ nghèo", "Poor rate", "rate"),
    "near_poor_rate": ("Tỷ lệ hộ cận nghèo", "Near-poor rate", "rate"),
    "change_points": (
        "Thay đổi tỷ lệ nghèo từ {first} (điểm %)",
        "Change in poor rate since {first} (points)",
        "points",
    ),
    "minority_share_of_poor": ("Tỷ lệ hộ DTTS trong hộ nghèo", "Ethnic-minority share of poor", "rate"),
    "borrowers": ("Hộ vay vốn năm {year}", "Borrowing households {year}", "count"),
    "amount_million": ("Số tiền vay năm {year} (triệu đồng)", "Amount lent {year} (million VND)", "count"),
    "coverage": ("Độ bao phủ hộ đủ điều kiện năm {year}", "Coverage of eligible households {year}", "rate"),
    "at_risk": ("Hộ có nguy cơ tái nghèo", "Households at risk of falling back", "count"),
}

_UNIT_TYPE = {"ward": ("Phường", "Ward"), "commune": ("Xã", "Commune"), "town": ("Thị trấn", "Town")}

_TEXT = {
    "title": (
        "Báo cáo giảm nghèo các xã, phường tỉnh Thái Nguyên — kỳ rà soát {year}",
        "Poverty reports of the communes and wards of Thai Nguyen — {year} review",
    ),
    "intro": (
        "Mỗi xã, phường có một báo cáo riêng (bấm vào tên để mở). Bấm vào tiêu đề cột để sắp xếp. "
        "Ô «–»: không công bố vì dưới {n} hộ, hoặc chưa có báo cáo.",
        "Each commune and ward has its own report (click its name). Click a column heading to sort. "
        "A '–' cell is suppressed (fewer than {n} households) or not available.",
    ),
    "province": (
        "Toàn tỉnh năm {year}: {households} hộ, {poor} hộ nghèo (tỷ lệ {rate}), {near} hộ cận nghèo (tỷ lệ {near_rate}).",
        "Province in {year}: {households} households, {poor} poor households (a rate of {rate}), "
        "{near} near-poor households ({near_rate}).",
    ),
    "province_reports": ("Báo cáo cấp tỉnh", "Province reports"),
    "units": ("Các xã, phường", "Communes and wards"),
    "map": ("Bản đồ tỷ lệ hộ nghèo", "Map of poor-household rates"),
    "xlsx": ("Tải bảng số liệu chính (Excel, .xlsx)", "Download the key figures (Excel, .xlsx)"),
    "reports_count": ("{n} báo cáo xã, phường.", "{n} commune and ward reports."),
    "sheet": ("So lieu chinh", "Key figures"),
    "notes_sheet": ("Ghi chu", "Notes"),
}


def _t(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


def _heading(key: str, lang: str, *, year: int, first: int) -> str:
    vi, en, _ = COLUMNS[key]
    return (vi if lang == "vi" else en).format(year=year, first=first)


def key_figure_table(*, review_year: int, lang: str = "vi") -> pd.DataFrame:
    """Key figures of every unit, columns renamed to their headings in ``lang``; suppressed cells empty.

    The table of the index page and of the XLSX (:func:`povanalysis.reports.prepare.key_figures`).
    """

    check_lang(lang)
    frame = prepare.key_figures(review_year=review_year)
    _, manifest = prepare.shared_tables()
    first = min(manifest["review_years"])
    frame = frame.assign(
        unit_type=[_UNIT_TYPE[t][0 if lang == "vi" else 1] for t in frame["unit_type"]],
        old_area=[label(a, lang) for a in frame["old_area"]],
    )
    keep = [c for c in COLUMNS if c in frame.columns]
    return frame[keep].rename(columns={c: _heading(c, lang, year=review_year, first=first) for c in keep})


def _cell(value, kind: str, lang: str) -> tuple[str, str]:
    """(sort key, shown text) of one table cell."""
    if kind == "text":
        return str(value), escape_html(str(value))
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "", "–"
    if kind == "rate":
        return f"{value:.6f}", format_percent(value, lang)
    if kind == "points":
        text = f"{value:+.2f}"
        return f"{value:.6f}", text.replace(".", ",") if lang == "vi" else text
    return f"{value:.6f}", format_number(value, lang)


_SORT_JS = """
(function () {
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("role", "button");
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
          if (x === "" || y === "") { return (x === "") - (y === ""); }
          var nx = Number(x), ny = Number(y);
          var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y, "vi") : nx - ny;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""

_INDEX_CSS = """
<style>
main.report { max-width: 1400px; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " ▲"; }
table.sortable th[aria-sort="descending"]::after { content: " ▼"; }
table.sortable td, table.sortable th { text-align: right; }
table.sortable td:nth-child(-n+4), table.sortable th:nth-child(-n+4) { text-align: left; }
.table-wrap { overflow-x: auto; }
@media print { table.sortable th::after { content: "" !important; } }
</style>
"""


def index_html(
    *,
    review_year: int,
    lang: str = "vi",
    reports: dict[str, str],
    province_reports: list[tuple[str, str]],
    map_html: str = "",
    plotly_src: str | None = None,
) -> str:
    """The index page: province summary, province reports, the map, the sortable table, the XLSX link.

    Parameters
    ----------
    reports : dict
        Commune code → relative link of its report (units without a report are listed unlinked).
    province_reports : list of (title, link)
    map_html : str
        A rendered chart (trusted HTML: :func:`povanalysis.reports.html.figure_html`), or empty;
        its scripts are allowed by the page's Content-Security-Policy.
    """

    check_lang(lang)
    tables, manifest = prepare.shared_tables()
    first = min(manifest["review_years"])
    frame = prepare.key_figures(review_year=review_year)
    cols = [c for c in COLUMNS if c in frame.columns and c != "unit_type"]
    parts = [f"<h1>{escape_html(_t('title', lang).format(year=review_year))}</h1>"]
    if manifest.get("synthetic"):
        parts.append(f"<p><em>{escape_html(label('source_synthetic', lang))}.</em></p>")
    prov = tables["area_rates"]
    prov = prov[(prov["old_area"] == "province") & (prov["review_year"] == review_year)]
    if len(prov) and not prov["suppressed"].iloc[0]:
        row = prov.iloc[0]
        parts.append(
            "<p>"
            + escape_html(
                _t("province", lang).format(
                    year=review_year,
                    households=format_number(row["households"], lang),
                    poor=format_number(row["poor"], lang),
                    rate=format_percent(row["poor_rate"], lang),
                    near=format_number(row["near_poor"], lang),
                    near_rate=format_percent(row["near_poor_rate"], lang),
                )
            )
            + "</p>"
        )
    parts.append(f'<p><a href="key-figures.xlsx" download>{escape_html(_t("xlsx", lang))}</a></p>')
    if province_reports:
        items = "".join(
            f'<li><a href="{escape_html(href)}">{escape_html(title)}</a></li>' for title, href in province_reports
        )
        parts.append(f"<h2>{escape_html(_t('province_reports', lang))}</h2><ul>{items}</ul>")
    if map_html:
        parts.append(f"<h2>{escape_html(_t('map', lang))}</h2>{map_html}")
    parts.append(f"<h2>{escape_html(_t('units', lang))}</h2>")
    parts.append(
        f"<p>{escape_html(_t('intro', lang).format(n=manifest['min_cell']))} "
        f"{escape_html(_t('reports_count', lang).format(n=len(reports)))}</p>"
    )
    head = "".join(f"<th>{escape_html(_heading(c, lang, year=review_year, first=first))}</th>" for c in cols)
    rows = []
    for rec in frame.to_dict("records"):
        cells = []
        for c in cols:
            value = rec[c]
            if c == "old_area":
                value = label(value, lang)
            key, text = _cell(value, COLUMNS[c][2], lang)
            if c == "name":
                kind = _UNIT_TYPE[rec["unit_type"]][0 if lang == "vi" else 1]
                key = f"{rec['name']}"
                link = reports.get(rec["commune_code"])
                text = (
                    f'<a href="{escape_html(link)}">{escape_html(rec["name"])}</a>'
                    if link
                    else escape_html(rec["name"])
                )
                text += f' <span class="unit-type">({escape_html(kind.lower())})</span>'
            cells.append(f'<td data-sort="{escape_html(key)}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    parts.append(
        f'<div class="table-wrap"><table class="report-table sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    sort = f"<script>{_SORT_JS}</script>"
    parts.append(sort)
    title = _t("title", lang).format(year=review_year)
    scripts = script_hashes(map_html) + script_hashes(sort)
    return page(
        "\n".join(parts), lang=lang, title=title, plotly_src=plotly_src, head_html=_INDEX_CSS, script_hashes=scripts
    )


def write_xlsx(path: str | os.PathLike, *, review_year: int, lang: str = "vi") -> Path:
    """Write the key figures of every unit to an XLSX workbook (atomically); returns its path.

    One sheet of figures (rates as percentages, suppressed cells empty) and one of notes
    (source, review, suppression rule).

    Text cells that a spreadsheet program would read as a formula (starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return: a unit name from a file the package does
    not control) get a leading apostrophe (:func:`povanalysis.common.safe.neutralise_formulas`):
    the workbook holds no formula, such a cell shows its text with the apostrophe in front, and
    nothing is evaluated when an official opens it.  Numbers stay numbers, negative ones too.
    """
    check_lang(lang)
    table = neutralise_formulas(key_figure_table(review_year=review_year, lang=lang))
    _, manifest = prepare.shared_tables()
    first = min(manifest["review_years"])
    kinds = {_heading(c, lang, year=review_year, first=first): COLUMNS[c][2] for c in COLUMNS}
    wb = Workbook()
    ws = wb.active
    ws.title = _t("sheet", lang)
    ws.append(list(table.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rec in table.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and not np.isfinite(v)) else v for v in rec])
    formats = {"rate": "0.00%", "count": "#,##0", "points": "+0.00;-0.00;0.00"}
    for j, name in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(10, min(40, len(name) + 2))
        fmt = formats.get(kinds.get(name, "text"))
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
    ws.freeze_panes = "C2"
    notes = wb.create_sheet(_t("notes_sheet", lang))
    lines = [
        _t("title", lang).format(year=review_year),
        _t("intro", lang).format(n=manifest["min_cell"]).split(". ")[-1],
    ]
    if manifest.get("synthetic"):
        lines.append(label("source_synthetic", lang))
    for line in lines:
        notes.append([neutralise_formula(line)])
    wb.properties.creator = "povanalysis"
    path = Path(path)
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _map_html(*, review_year: int, lang: str) -> str:
    tables, manifest = prepare.shared_tables()
    if not manifest["sections"].get("map") or "boundaries" not in tables:
        return ""

    rates = tables["commune_rates"]
    fig = maps.choropleth(
        rates[rates["review_year"] == review_year],
        "poor_rate",
        boundaries=literal_labels(tables["boundaries"], "name"),
        lang=lang,
        suppressed_column="suppressed",
        tolerance=0,
    )
    return figure_html(fig, div_id="province-map")


def build_index(out: str | os.PathLike, *, review_year: int, lang: str = "vi", force: bool = False) -> tuple[Path, str]:
    """Write ``index.html`` and ``key-figures.xlsx`` into a report folder, unless they are up to date.

    Links go to the reports present (with their stamps) in ``communes/`` and ``province/``.
    Returns the index path and ``"built"`` or ``"up to date"``.
    """

    check_lang(lang)

    out = Path(out)
    units = registry.units()
    reports = {
        code: f"communes/{slug}.html"
        for code, slug in zip(units["commune_code"], units["slug"])
        if (out / "communes" / f"{slug}.html").exists() and (out / "communes" / f"{slug}.stamp.json").exists()
    }
    province = []
    for stamp in sorted((out / "province").glob("*.stamp.json")) if (out / "province").exists() else []:
        stem = stamp.name[: -len(".stamp.json")]
        if (out / "province" / f"{stem}.html").exists():
            info = json.loads(stamp.read_text(encoding="utf-8"))
            province.append((info.get("title", stem), f"province/{stem}.html"))
    manifest = prepare.ensure_prepared()
    digest = hashlib.sha256(
        json.dumps(
            {
                "manifest": prepare.manifest_digest(manifest),
                "reports": reports,
                "province": province,
                "lang": lang,
                "year": review_year,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    index, xlsx, stamp = out / "index.html", out / "key-figures.xlsx", out / "index.stamp.json"
    if (
        not force
        and index.exists()
        and xlsx.exists()
        and stamp.exists()
        and json.loads(stamp.read_text(encoding="utf-8")).get("digest") == digest
    ):
        return index, "up to date"
    stamp.unlink(missing_ok=True)
    map_html = _map_html(review_year=review_year, lang=lang)
    if map_html:
        copy_plotly_js(out / "assets")
    text = index_html(
        review_year=review_year,
        lang=lang,
        reports=reports,
        province_reports=province,
        map_html=map_html,
        plotly_src=f"assets/{PLOTLY_JS}" if map_html else None,
    )
    atomic_write_text(index, text)
    write_xlsx(xlsx, review_year=review_year, lang=lang)
    atomic_write_text(stamp, json.dumps({"digest": digest}) + "\n")
    return index, "built"
