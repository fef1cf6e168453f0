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
from ..tables import PublishedSeries, read_published_series
from . import aggregate, batch, prepare

__all__ = [
    "TABLES_ROOT",
    "UnplacedRows",
    "TablesBatch",
    "read_annexes",
    "unplaced_report",
    "write_tables_root",
    "using_tables_root",
    "tables_jobs",
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
    prepared tables are not written, so the batch on published tables builds no index.
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
    """

    batch: batch.BatchResult
    series: PublishedSeries
    root: Path
    left_out: list[str] = field(default_factory=list)

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
    return TablesBatch(batch=result, series=series, root=Path(root).resolve(), left_out=left_out)
