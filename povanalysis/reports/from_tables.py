"""The commune reports of every unit from the province's published annexes: read, brought onto the 2025 units, reported.

``povanalysis batch --tables FILE ...`` runs :func:`run_tables_batch`: each annex is read with
:func:`povanalysis.tables.read_published` (rows that cannot be placed stop the run with the
match report, unless ``allow_unplaced``), the series is brought onto the 92 units of 2025
(:meth:`povanalysis.tables.PublishedSeries.commune_year`), and :func:`write_tables_root` stores it
in a data root of its own (``<out>/tables-data`` by default, never the household data's): the
counts the reports read (:func:`povanalysis.reports.aggregate.write_counts`) and the manifest
the batch reads.  The reports are then run by :func:`povanalysis.reports.batch.run_batch`
on that data root, with the commune notebook's ``data_mode="tables"``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import config
from ..common.files import atomic_write_text
from ..common.labels import check_lang, format_number, format_percent, label
from ..common.safe import escape_html
from ..data import registry
from ..tables import PublishedSeries, read_published_series
from . import aggregate, batch, html, prepare

__all__ = [
    "TABLES_ROOT",
    "UnplacedRows",
    "TablesBatch",
    "read_annexes",
    "unplaced_report",
    "write_tables_root",
    "using_tables_root",
    "tables_jobs",
    "index_html",
    "write_index",
    "run_tables_batch",
]

#: Default data root of the published counts, inside the output folder.
TABLES_ROOT = "tables-data"


class UnplacedRows(ValueError):
    """Rows of the annexes that could not be placed in a unit; ``series`` holds what was read."""

    def __init__(self, series: PublishedSeries):
        self.series = series
        n = len(series.unplaced)
        super().__init__(
            f"{n} row(s) of the annexes could not be placed in a unit: correct the names (or give aliases) "
            f"or proceed without them (allow_unplaced, --allow-unplaced)\n{unplaced_report(series)}"
        )


def unplaced_report(series: PublishedSeries) -> str:
    """The rows left unplaced, one line each: file, review year, sheet row, name, district, reason, nearest units."""
    rows = series.unplaced
    if rows.empty:
        return "every row placed"
    lines = []
    for r in rows.to_dict("records"):
        lines.append(
            f"  {r['file']} ({r['review_year']}) row {r['row']}: {r['label']!r} "
            f"({r.get('district') or 'no district'}): {r['reason']}; nearest: {r.get('suggestions') or 'none'}"
        )
    return "\n".join(lines)


def read_annexes(
    paths: Sequence[str | os.PathLike], *, allow_unplaced: bool = False, **options
) -> tuple[PublishedSeries, pd.DataFrame]:
    """Read the annexes and bring them onto the 2025 units.

    Parameters
    ----------
    paths : sequence of str or Path
        One annex per review year.
    allow_unplaced : bool
        Go on when rows could not be placed (their figures are in no unit); by default
        :class:`UnplacedRows` is raised.
    **options
        ``weights`` and ``weight`` go to :meth:`povanalysis.tables.PublishedSeries.commune_year`
        (default: the split units apportioned by area); the rest to
        :func:`povanalysis.tables.read_published_series` (``years``, ``vintage``, ``aliases``, ...).

    Returns
    -------
    (PublishedSeries, DataFrame)
        What was read, and the commune-year table.
    """
    crosswalk_options = {k: options.pop(k) for k in ("weights", "weight") if k in options}
    series = read_published_series(paths, **options)
    if not series.unplaced.empty and not allow_unplaced:
        raise UnplacedRows(series)
    table = series.commune_year(allow_unplaced=allow_unplaced, **crosswalk_options)
    return series, table


def write_tables_root(
    commune_year: pd.DataFrame,
    root: str | os.PathLike,
    *,
    synthetic: bool = False,
    sources: Sequence[str] = (),
) -> dict:
    """Store published counts in the data root ``root`` for the reports; return the manifest of the batch.

    Writes ``processed/commune_year.parquet`` (:func:`povanalysis.reports.aggregate.write_counts`)
    and ``processed/report/manifest.json``, the manifest :func:`povanalysis.reports.batch.run_batch`
    reads (review years, the counts' digest for the reports' stamps); the household reports'
    prepared tables are not written (the index of these reports is :func:`write_index`).
    ``root`` must not be the household data root: its prepared tables' manifest would be replaced.

    Raises
    ------
    ValueError
        ``root`` is the current household data root.
    """
    root = Path(root).resolve()
    if root == config.data_dir().resolve():
        raise ValueError(f"'root' is the household data root ({root}): published counts go to a data root of their own")
    aggregate.write_counts(commune_year, root, synthetic=synthetic, sources=sources)
    counts, _ = aggregate.read_counts(root)
    limit = int(config.MIN_CELL)
    folder = root / "processed" / "report"
    folder.mkdir(parents=True, exist_ok=True)
    digest = aggregate.counts_digest(root)
    sections = {"map": False, "targeting": False, "projections": False, "risk": False}
    manifest = {
        "mode": "tables",
        "inputs": {"format": prepare.FORMAT, "code": prepare.code_digest(), "counts": digest, "min_cell": limit},
        "min_cell": limit,
        "synthetic": bool(synthetic),
        "review_years": sorted(int(y) for y in counts["review_year"].unique()),
        "sections": sections,
        "skipped": {
            "map": "drawn in each report from the counts",
            "targeting": "needs household records",
            "projections": "projected in each report from the counts",
            "risk": "needs household records",
        },
        "shared": hashlib.sha256(json.dumps([digest, limit, sections], sort_keys=True).encode()).hexdigest(),
        "communes": {},
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


@contextmanager
def using_tables_root(root: str | os.PathLike) -> Iterator[dict]:
    """Make ``root`` the data root of this process (and of the kernels it starts) and pin its prepared tables.

    Sets ``$POVANALYSIS_DATA_DIR`` and :data:`povanalysis.reports.prepare.CONTEXT_ENV` for the
    time of the block, so that :func:`povanalysis.reports.prepare.ensure_prepared` takes the
    tables :func:`write_tables_root` wrote as they are; both are restored afterwards.
    Yields the manifest.
    """
    root = Path(root).resolve()
    path = root / "processed" / "report" / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no published counts prepared in {root}: run write_tables_root first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    names = ("POVANALYSIS_DATA_DIR", prepare.CONTEXT_ENV)
    before = {name: os.environ.get(name) for name in names}
    os.environ["POVANALYSIS_DATA_DIR"] = str(root)
    os.environ[prepare.CONTEXT_ENV] = prepare.manifest_digest(manifest)
    try:
        yield manifest
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def tables_jobs(
    manifest: dict,
    counts: pd.DataFrame,
    *,
    review_year: int,
    lang: str = "vi",
    communes: Iterable[str] | None = None,
) -> tuple[list[batch.Job], list[str]]:
    """The commune reports of the units with households in the published table of ``review_year``.

    :func:`povanalysis.reports.batch.commune_jobs` with ``data_mode="tables"`` added to each
    job's parameters (and to its digest).  Returns the jobs and the codes left out (no
    households at that review).
    """
    now = counts[(counts["review_year"] == review_year) & (counts["households"] > 0)]
    present = set(now["commune_code"])
    jobs = batch.commune_jobs(communes, manifest=manifest, review_year=review_year, lang=lang)
    kept = [
        dataclasses.replace(
            j,
            parameters={**j.parameters, "data_mode": "tables"},
            digest=hashlib.sha256(f"{j.digest}:tables".encode()).hexdigest(),
        )
        for j in jobs
        if j.key in present
    ]
    return kept, [j.key for j in jobs if j.key not in present]


_INDEX = {
    "title": (
        "Báo cáo giảm nghèo cấp xã từ bảng kết quả rà soát công bố, năm {year}",
        "Commune poverty reports from the published review tables, {year}",
    ),
    "source": (
        "Số liệu: bảng kết quả rà soát hộ nghèo, hộ cận nghèo do tỉnh công bố ({files}), quy về 92 đơn vị hành "
        "chính cấp xã từ ngày 1/7/2025. Các phần cần số liệu từng hộ (thiếu hụt đa chiều, dân tộc, tín dụng, độ "
        "bao phủ, nguy cơ tái nghèo) không có trong các báo cáo này.",
        "Figures: the province's published tables of review results ({files}), brought onto the 92 communes and "
        "wards of 1 July 2025. The sections that need household records (deprivations, ethnic groups, credit, "
        "coverage, fall-back risk) are not in these reports.",
    ),
    "province": (
        "Toàn tỉnh năm {year}: {households} hộ, tỷ lệ hộ nghèo {rate}, tỷ lệ hộ cận nghèo {near}.",
        "Province, {year}: {households} households, poor-household rate {rate}, near-poor rate {near}.",
    ),
    "name": ("Đơn vị", "Unit"),
    "area": ("Địa bàn cũ", "Former province"),
    "households": ("Số hộ", "Households"),
    "poor_rate": ("Tỷ lệ hộ nghèo", "Poor-household rate"),
    "near_poor_rate": ("Tỷ lệ hộ cận nghèo", "Near-poor rate"),
    "change": ("Thay đổi tỷ lệ hộ nghèo từ {first} (điểm %)", "Change in the poor rate since {first} (points)"),
    "note": ("–: không công bố (dưới {n} hộ).", "–: not published (fewer than {n} households)."),
}


def _i(key: str, lang: str) -> str:
    return _INDEX[key][0 if lang == "vi" else 1]


def index_html(root: str | os.PathLike, *, review_year: int, lang: str = "vi", links: dict | None = None) -> str:
    """The index page of the reports on published counts: sources, the province, one row per unit.

    Rates whose count is under the publication limit (and units with fewer households) show
    as ``–``, and so does a change resting on one of them.  ``links`` maps a commune code to
    its report's relative link; units without a report are listed unlinked.
    """
    check_lang(lang)
    counts, meta = aggregate.read_counts(root)
    limit = int(config.MIN_CELL)
    rates = aggregate.commune_rates(counts, min_cell=limit)
    years = sorted(int(y) for y in rates["review_year"].unique())
    if review_year not in years:
        raise ValueError(f"review_year must be one of the reviews of the tables {years}, got {review_year!r}")
    first = years[0]
    now = rates[rates["review_year"] == review_year].set_index("commune_code")
    then = rates[rates["review_year"] == first].set_index("commune_code")
    links = links or {}

    def rate(row, column):
        if row is None or row["suppressed"] or row[f"{column}__hidden"]:
            return None
        return float(row[column])

    parts = [f"<h1>{escape_html(_i('title', lang).format(year=review_year))}</h1>"]
    if meta.get("synthetic"):
        parts.append(f"<p><em>{escape_html(label('source_synthetic', lang))}.</em></p>")
    files = ", ".join(meta.get("sources", [])) or "–"
    parts.append(f"<p>{escape_html(_i('source', lang).format(files=files))}</p>")
    province = aggregate.area_rates(counts, min_cell=limit)
    province = province[(province["old_area"] == "province") & (province["review_year"] == review_year)].iloc[0]
    if not province["suppressed"]:
        shown = [rate(province, c) for c in ("poor_rate", "near_poor_rate")]
        text = _i("province", lang).format(
            year=review_year,
            households=format_number(float(province["households"]), lang),
            rate="–" if shown[0] is None else format_percent(shown[0], lang),
            near="–" if shown[1] is None else format_percent(shown[1], lang),
        )
        parts.append(f"<p>{escape_html(text)}</p>")
    head = [_i("name", lang), _i("area", lang), _i("households", lang), _i("poor_rate", lang)]
    head += [_i("near_poor_rate", lang), _i("change", lang).format(first=first)]
    rows = []
    for unit in aggregate.units_table().itertuples(index=False):
        row = now.loc[unit.commune_code] if unit.commune_code in now.index else None
        old = then.loc[unit.commune_code] if unit.commune_code in then.index else None
        households = "–" if row is None or row["suppressed"] else format_number(float(row["households"]), lang)
        a, b = rate(old, "poor_rate"), rate(row, "poor_rate")
        change = "–" if a is None or b is None or first == review_year else format_number(100 * (b - a), lang, digits=2)
        near = rate(row, "near_poor_rate")
        name = escape_html(unit.name)
        link = links.get(unit.commune_code)
        cells = [f'<a href="{escape_html(link)}">{name}</a>' if link else name, escape_html(label(unit.old_area, lang))]
        cells += [households, "–" if b is None else format_percent(b, lang)]
        cells += ["–" if near is None else format_percent(near, lang), change]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts.append(
        '<div class="table-wrap"><table class="report-table"><thead><tr>'
        + "".join(f"<th>{escape_html(h)}</th>" for h in head)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    parts.append(f'<p class="table-note">{escape_html(_i("note", lang).format(n=limit))}</p>')
    return html.page("\n".join(parts), lang=lang, title=_i("title", lang).format(year=review_year))


def write_index(out: str | os.PathLike, root: str | os.PathLike, *, review_year: int, lang: str = "vi") -> Path:
    """Write ``index.html`` of the reports on published counts in ``out`` (:func:`index_html`); returns its path.

    Links go to the commune reports present in ``out/communes`` with their stamps.
    """
    out = Path(out)
    links = {
        code: f"communes/{slug}.html"
        for code, slug in zip(registry.units()["commune_code"], registry.units()["slug"])
        if (out / "communes" / f"{slug}.html").exists() and (out / "communes" / f"{slug}.stamp.json").exists()
    }
    return atomic_write_text(out / "index.html", index_html(root, review_year=review_year, lang=lang, links=links))


@dataclass
class TablesBatch:
    """The outcome of :func:`run_tables_batch`.

    Attributes
    ----------
    batch : BatchResult
        The reports (:func:`povanalysis.reports.batch.run_batch`).
    series : PublishedSeries
        The annexes as read.
    root : Path
        The data root of the published counts.
    left_out : list of str
        Units without households in the published table of the review (no report).
    index : Path or None
        The index page (None when not written).
    """

    batch: batch.BatchResult
    series: PublishedSeries
    root: Path
    left_out: list[str] = field(default_factory=list)
    index: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every report was made."""
        return self.batch.ok

    def summary(self) -> str:
        """The annexes read, the rows left unplaced, the units left out and the batch's own summary."""
        s = self.series
        lines = [f"published tables: {len(s.tables)} annexes, review years {s.years}; counts in {self.root}"]
        if not s.unplaced.empty:
            lines.append(f"{len(s.unplaced)} row(s) not placed, left out of the counts:")
            lines.append(unplaced_report(s))
        if self.left_out:
            lines.append(f"no households in the published table, no report: {', '.join(self.left_out)}")
        lines.append(self.batch.summary())
        if self.index is not None:
            lines.append(f"index: {self.index}")
        return "\n".join(lines)


def run_tables_batch(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    allow_unplaced: bool = False,
    communes: Iterable[str] | None = None,
    workers: int | None = None,
    lang: str = "vi",
    review_year: int | None = None,
    force: bool = False,
    index: bool = True,
    progress: bool | None = None,
    synthetic: bool = False,
    **options,
) -> TablesBatch:
    """The commune reports of every unit, in aggregate mode, from published annexes.

    Parameters
    ----------
    paths : sequence of str or Path
        The annexes, one per review year.
    out : str or Path
        The report folder (as :func:`povanalysis.reports.batch.run_batch`).
    root : str or Path, optional
        Data root of the counts (default ``<out>/tables-data``).
    allow_unplaced : bool
        Go on when rows could not be placed; they are listed in :meth:`TablesBatch.summary`.
    communes, workers, lang, force, progress
        As :func:`~povanalysis.reports.batch.run_batch`.
    index : bool
        Write ``index.html`` (:func:`write_index`).
    review_year : int, optional
        Default the latest annex.
    synthetic : bool
        The annexes were written from the synthetic panel (the reports say so).
    **options
        Passed to :func:`read_annexes` (``weights``, ``vintage``, ``aliases``, ``years``).

    Raises
    ------
    UnplacedRows
        Rows not placed and ``allow_unplaced`` False (its message is the match report).
    ValidationError
        An annex's figures are inconsistent.
    """
    series, table = read_annexes(paths, allow_unplaced=allow_unplaced, **options)
    out = Path(out).resolve()
    root = out / TABLES_ROOT if root is None else Path(root)
    manifest = write_tables_root(table, root, synthetic=synthetic, sources=[t.path.name for t in series.tables])
    years = manifest["review_years"]
    year = max(years) if review_year is None else review_year
    if isinstance(year, bool) or not isinstance(year, int) or year not in years:
        raise ValueError(f"review_year must be one of the reviews of the annexes {years}, got {review_year!r}")
    counts, _ = aggregate.read_counts(root)
    jobs, left_out = tables_jobs(manifest, counts, review_year=year, lang=lang, communes=communes)
    with using_tables_root(root):
        result = batch.run_batch(
            out,
            workers=workers,
            lang=lang,
            review_year=year,
            force=force,
            province=False,
            index=False,
            progress=progress,
            jobs=jobs,
        )
    page = write_index(out, root, review_year=year, lang=lang) if index else None
    return TablesBatch(batch=result, series=series, root=Path(root).resolve(), left_out=left_out, index=page)
