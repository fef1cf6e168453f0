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
from collections.abc import Mapping
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
from . import prepare, published, sheets
from .disclosure import DASH
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
        "Mỗi xã, phường có một báo cáo riêng (bấm vào tên để mở). Bấm vào tiêu đề cột để sắp xếp.",
        "Each commune and ward has its own report (click its name). Click a column heading to sort.",
    ),
    "province": (
        "Toàn tỉnh năm {year}: {households} hộ, {poor} hộ nghèo (tỷ lệ {rate}), {near} hộ cận nghèo (tỷ lệ {near_rate}).",
        "Province in {year}: {households} households, {poor} poor households (a rate of {rate}), "
        "{near} near-poor households ({near_rate}).",
    ),
    "province_hidden": (
        "Toàn tỉnh năm {year}: số hộ nghèo không công bố, vì gần như mọi xã có dưới {n} hộ nghèo.",
        "Province in {year}: the number of poor households is not published, as nearly every commune has fewer "
        "than {n}.",
    ),
    "province_reports": ("Báo cáo cấp tỉnh", "Province reports"),
    "units": ("Các xã, phường", "Communes and wards"),
    "map": ("Bản đồ tỷ lệ hộ nghèo", "Map of poor-household rates"),
    "xlsx": ("Tải bảng số liệu chính (Excel, .xlsx)", "Download the key figures (Excel, .xlsx)"),
    "reports_count": ("{n} báo cáo xã, phường.", "{n} commune and ward reports."),
    "sheet": ("Số liệu chính", "Key figures"),
    "notes_sheet": ("Ghi chú", "Notes"),
}


def _t(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


def _heading(key: str, lang: str, *, year: int, first: int) -> str:
    vi, en, _ = COLUMNS[key]
    return (vi if lang == "vi" else en).format(year=year, first=first)


def key_figure_table(*, review_year: int, lang: str = "vi") -> pd.DataFrame:
    """Key figures of every unit, columns renamed to their headings in ``lang``, under the disclosure rule.

    The table of the index page and of the XLSX (:func:`povanalysis.reports.prepare.key_figures`
    with ``marks=True``): numbers where the rule publishes them (rates as shares rounded as
    shown), ``< 10`` for a small count, a band such as ``< 5%`` for its rate, ``–`` for a
    figure hidden to protect another or missing.
    """

    check_lang(lang)
    frame = prepare.key_figures(review_year=review_year, marks=True, lang=lang)
    _, manifest = prepare.shared_tables()
    first = min(manifest["review_years"])
    frame = frame.assign(
        unit_type=[_UNIT_TYPE[t][0 if lang == "vi" else 1] for t in frame["unit_type"]],
        old_area=[label(a, lang) for a in frame["old_area"]],
    )
    keep = [c for c in COLUMNS if c in frame.columns]
    return frame[keep].rename(columns={c: _heading(c, lang, year=review_year, first=first) for c in keep})


def _cell(value, kind: str, lang: str) -> tuple[str, str]:
    """(sort key, shown text) of one table cell; a mark of the disclosure rule (``< 10``, ``< 5%``, ``–``) sorts last."""
    if kind == "text":
        return str(value), escape_html(str(value))
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "", DASH
    if isinstance(value, str):
        return "", escape_html(value)
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
    frame = prepare.key_figures(review_year=review_year, marks=True, lang=lang)
    cols = [c for c in COLUMNS if c in frame.columns and c != "unit_type"]
    parts = [f"<h1>{escape_html(_t('title', lang).format(year=review_year))}</h1>"]
    if manifest.get("synthetic"):
        parts.append(f"<p><em>{escape_html(label('source_synthetic', lang))}.</em></p>")
    prov = tables["area_totals"]
    prov = prov[(prov["old_area"] == published.PROVINCE) & (prov["review_year"] == review_year)]
    if len(prov):
        rows = prov.assign(commune_code=published.ALL)
        row = published.restore(rows, published.HOUSEHOLDS, min_cell=manifest["min_cell"]).display(lang).iloc[0]
        if DASH not in (row["households"], row["poor"], row["near_poor"], row["poor_rate"], row["near_poor_rate"]):
            sentence = _t("province", lang).format(
                year=review_year,
                households=row["households"],
                poor=row["poor"],
                rate=row["poor_rate"],
                near=row["near_poor"],
                near_rate=row["near_poor_rate"],
            )
        else:  # a province total hidden to protect its communes (tiny data)
            sentence = _t("province_hidden", lang).format(year=review_year, n=manifest["min_cell"])
        parts.append(f"<p>{escape_html(sentence)}</p>")
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
        f"<p>{escape_html(_t('intro', lang))} {escape_html(_t('reports_count', lang).format(n=len(reports)))} "
        f"{escape_html(published.note(manifest['min_cell'], lang))}</p>"
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
                if not rec["name"].lower().startswith(kind.lower() + " "):  # "Phường Đức Xuân" says it already
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


#: Characters a sheet title may not hold, and its longest length (Excel's rules).
_SHEET_FORBIDDEN = set("[]:*?/\\")
_SHEET_MAX = 31
_FORMATS = {"rate": "0.00%", "count": "#,##0", "points": "+0.00;-0.00;0.00", "text": "@"}


def _sheet_title(title: str) -> str:
    if not isinstance(title, str) or not title.strip() or len(title) > _SHEET_MAX or set(title) & _SHEET_FORBIDDEN:
        raise ValueError(
            f"sheet title {title!r} must be 1 to {_SHEET_MAX} characters without any of {''.join(sorted(_SHEET_FORBIDDEN))}"
        )
    return title


def _kind_of(column: pd.Series) -> str:
    """The number format of a readable table's column: text, whole numbers or decimals."""
    numbers = [v for v in column if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)]
    if not numbers:
        return "text"
    whole = all(float(v).is_integer() for v in numbers if v == v)
    return "count" if whole else "decimal"


def _width(values) -> float:
    """A column width that fits its longest cell (Excel's units: characters of the default font)."""
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return max(8, min(60, longest + 2))


def _write_sheet(
    wb: Workbook, title: str, table: pd.DataFrame, kinds: Mapping[str, str], *, freeze: str = "A2"
) -> None:
    """One polished sheet: bold frozen header, autofilter, widths that fit, codes as text, marks as text."""
    ws = wb.create_sheet(_sheet_title(title))
    given = dict(table.attrs.get("number_formats") or {})  # a readable table's decimals, as its page shows them
    table = neutralise_formulas(table)
    ws.append([neutralise_formula(str(c)) for c in table.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rec in table.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and not np.isfinite(v)) else v for v in rec])
    formats = {**_FORMATS, "decimal": "#,##0.00"}
    for j, name in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        column = [name, *table.iloc[:, j - 1].tolist()]
        ws.column_dimensions[letter].width = _width(column)
        fmt = given.get(name) or formats[kinds.get(name) or _kind_of(table.iloc[:, j - 1])]
        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            cell.number_format = "@" if isinstance(cell.value, str) else fmt
    ws.freeze_panes = freeze
    if len(table.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(1, len(table) + 1)}"


def write_xlsx(
    path: str | os.PathLike,
    *,
    review_year: int,
    lang: str = "vi",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the key figures of every unit to an XLSX workbook (atomically); returns its path.

    One sheet of figures (:func:`key_figure_table`: rates as percentages, ``< 10`` for a small
    count, a band or ``–`` for a hidden rate, as text), then ``extra_sheets`` in their order,
    then one of notes (source, review, the disclosure rule).  Every table sheet has a bold,
    frozen header row, a filter, columns as wide as their longest cell, and codes and other
    text stored as text (number format ``@``: "01840" stays "01840").

    Text cells that a spreadsheet program would read as a formula (starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return: a unit name from a file the package does
    not control) get a leading apostrophe (:func:`povanalysis.common.safe.neutralise_formulas`):
    the workbook holds no formula, such a cell shows its text with the apostrophe in front, and
    nothing is evaluated when an official opens it.  Numbers stay numbers, negative ones too.

    Parameters
    ----------
    path : path-like
    review_year : int
    lang : {"vi", "en"}
    extra_sheets : mapping of str to DataFrame, optional
        Sheet title (at most 31 characters, none of ``[]:*?/\\``) → a table already
        formatted for reading (headings in ``lang``, published figures only), written with
        the same polish; whole-number columns as ``#,##0``, others as ``#,##0.00``.
    """
    check_lang(lang)
    table = key_figure_table(review_year=review_year, lang=lang)
    _, manifest = prepare.shared_tables()
    first = min(manifest["review_years"])
    kinds = {_heading(c, lang, year=review_year, first=first): COLUMNS[c][2] for c in COLUMNS}
    sheets = {_t("sheet", lang): table, **dict(extra_sheets or {})}
    reserved = {_t("notes_sheet", lang).lower()}
    seen: set[str] = set()
    for title in sheets:
        key = str(title).lower()
        if key in seen or key in reserved:
            raise ValueError(f"sheet title {title!r} is used twice (titles are compared without case)")
        seen.add(key)
    wb = Workbook()
    wb.remove(wb.active)
    for title, frame in sheets.items():
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"extra sheet {title!r} should be a DataFrame, got {type(frame).__name__}")
        first_sheet = title == _t("sheet", lang)
        _write_sheet(wb, title, frame, kinds if first_sheet else {}, freeze="C2" if first_sheet else "A2")
    notes = wb.create_sheet(_t("notes_sheet", lang))
    lines = [
        _t("title", lang).format(year=review_year),
        published.note(manifest["min_cell"], lang),
    ]
    if manifest.get("synthetic"):
        lines.append(label("source_synthetic", lang))
    for line in lines:
        notes.append([neutralise_formula(line)])
    notes.column_dimensions["A"].width = 120
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

    The workbook holds the key figures of every commune and, after them, one sheet per province
    topic (:func:`povanalysis.reports.sheets.province_sheets`: overview, credit, targets,
    targeting, small areas, by entrusted organisation), every table in full.  Links go to the reports present (with their stamps) in ``communes/`` and ``province/``.
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
    write_xlsx(
        xlsx,
        review_year=review_year,
        lang=lang,
        extra_sheets=sheets.province_sheets(review_year=review_year, lang=lang),
    )
    atomic_write_text(stamp, json.dumps({"digest": digest}) + "\n")
    return index, "built"
