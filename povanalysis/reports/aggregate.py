"""The commune report on published counts: a :class:`CommuneContext` built from commune-year counts, and its sections.

Where only the province's published annexes are at hand (:mod:`povanalysis.tables`), the
report's data are one table of households, poor and near-poor households by 2025 unit and
review (:meth:`povanalysis.tables.PublishedSeries.commune_year`), stored by
:func:`write_counts` as ``processed/commune_year.parquet`` of a data root of its own.
:func:`commune_context` builds from it the context :mod:`povanalysis.reports.sections` reads
(the rates of the commune, of its old area and of the province, every commune's rates for the
map, the 2026–2030 path projected from the counts), and this module has the functions of
:mod:`~povanalysis.reports.sections` that the commune notebook calls: the sections that run
on counts (overview, trend, map, the path to the targets) show the published figures, and
those that need household records (deprivation profile, ethnic groups, policy credit,
targeting coverage, fall-back risk) say so in one sentence.  :func:`context_for` and
:func:`sections_for` let one notebook render either mode (``data_mode``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import HTML, Markdown

from .. import config
from ..common.files import atomic_write_text
from ..common.labels import check_lang, format_number, format_percent
from ..common.safe import escape_markdown
from ..data import registry
from ..data.io import write_parquet
from ..geo import boundaries as geo_boundaries
from ..goals import baselines, outlook, requirements, targets
from ..measure.standards import get_standard
from . import prepare, sections
from .prepare import CommuneContext

__all__ = [
    "MODES",
    "COUNTS_FILE",
    "HOUSEHOLD_SECTIONS",
    "PATH_TARGETS",
    "write_counts",
    "read_counts",
    "counts_digest",
    "commune_rates",
    "units_table",
    "area_rates",
    "project_counts",
    "commune_context",
    "context_for",
    "sections_for",
    "household_sentence",
    "title",
    "section",
    "households_text",
    "minority_text",
    "path_text",
    "rate_figure",
    "map_figure",
    "path_figure",
    "profile_figure",
    "contribution_figure",
    "ethnicity_table",
    "credit_table",
    "exits_figure",
    "exits_table",
    "village_table",
]

#: The values of the commune notebook's ``data_mode``: household records, or published counts.
MODES: tuple[str, ...] = ("households", "tables")

#: The commune-year counts of a data root of published tables, under ``processed/``.
COUNTS_FILE = "commune_year.parquet"
_META_FILE = "commune_year.json"

#: Sections of the report that need household records: in aggregate mode, one sentence each.
HOUSEHOLD_SECTIONS: tuple[str, ...] = ("profile", "ethnicity", "credit", "targeting", "risk", "exits", "villages")

#: The targets a path is read against on counts: the province-wide ones (a population of whole
#: communes, known from the counts); the commune's reference path is its share of the
#: fallback of :data:`povanalysis.goals.outlook.DEFAULT_SETTINGS`.
PATH_TARGETS: tuple[str, ...] = ("province_low", "province_high")

_REQUIRED = ("commune_code", "review_year", "households", "poor", "near_poor")

_HEADINGS = {
    "profile": ("Hồ sơ thiếu hụt đa chiều (Alkire–Foster)", "Multidimensional deprivation profile (Alkire–Foster)"),
    "ethnicity": ("Thành phần dân tộc", "Ethnic groups"),
    "credit": ("Tín dụng chính sách (Ngân hàng Chính sách xã hội)", "Policy credit (Vietnam Bank for Social Policies)"),
    "targeting": ("Độ bao phủ và sai lệch đối tượng vay vốn", "Coverage of eligible households and leakage"),
    "projections": ("Lộ trình giảm nghèo 2026–2030", "Poverty-reduction path 2026–2030"),
    "risk": ("Hộ có nguy cơ tái nghèo", "Households at risk of falling back into poverty"),
    "exits": ("Thoát nghèo bền vững", "Lasting exits from poverty"),
    "villages": ("Hộ mới thoát nghèo theo thôn, tổ dân phố", "Newly escaped households by village"),
}

_SENTENCES = {
    "profile": (
        "Hồ sơ thiếu hụt đa chiều cần số liệu rà soát của từng hộ theo các chỉ số thiếu hụt, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "The deprivation profile needs each household's review record on the deprivation indicators, "
        "which the published commune tables do not hold.",
    ),
    "ethnicity": (
        "Thành phần dân tộc của các hộ cần số liệu từng hộ, không có trong bảng kết quả rà soát công bố theo xã.",
        "The households' ethnic groups need household records, which the published commune tables do not hold.",
    ),
    "credit": (
        "Tín dụng chính sách cần số liệu khoản vay của từng hộ từ Ngân hàng Chính sách xã hội, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "Policy credit needs the Bank for Social Policies' loan records by household, "
        "which the published commune tables do not hold.",
    ),
    "targeting": (
        "Độ bao phủ và sai lệch đối tượng vay vốn cần đối chiếu danh sách hộ với khoản vay của từng hộ, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "Coverage and leakage need the household lists matched with each household's loans, "
        "which the published commune tables do not hold.",
    ),
    "risk": (
        "Nguy cơ tái nghèo được ước tính từ lịch sử của từng hộ qua các kỳ rà soát, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "The risk of falling back into poverty is estimated from each household's history over the reviews, "
        "which the published commune tables do not hold.",
    ),
    "exits": (
        "Số hộ thoát nghèo bền vững cần theo dõi từng hộ qua các kỳ rà soát, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "Lasting exits need each household followed over the reviews, which the published commune tables do not hold.",
    ),
    "villages": (
        "Bảng theo thôn, tổ dân phố cần thôn của từng hộ và nguy cơ tái nghèo của hộ, "
        "không có trong bảng kết quả rà soát công bố theo xã.",
        "The table by village needs each household's village and risk of falling back, "
        "which the published commune tables do not hold.",
    ),
}


def _pick(table: dict, key: str, lang: str) -> str:
    return table[key][0 if lang == "vi" else 1]


# ----------------------------------------------------------------------------- the data root


def write_counts(
    commune_year: pd.DataFrame,
    root: str | os.PathLike,
    *,
    synthetic: bool = False,
    sources: tuple[str, ...] | list[str] = (),
) -> Path:
    """Store commune-year counts as ``processed/commune_year.parquet`` of the data root ``root``.

    Parameters
    ----------
    commune_year : DataFrame
        One row per 2025 unit and review: ``commune_code``, ``review_year``, ``households``,
        ``poor``, ``near_poor`` and, when the annexes give them, ``minority_poor``;
        ``apportioned`` and ``complete`` when present (:meth:`povanalysis.tables.PublishedSeries.commune_year`).
    root : str or Path
        A data root of its own, never the household data's.
    synthetic : bool
        The counts come from the synthetic panel (the reports say so).
    sources : sequence of str
        The annexes' file names, recorded beside the counts.

    Returns
    -------
    Path
        The Parquet file: the counts, the rates recomputed from them, ``suppressed`` (fewer
        households than :data:`povanalysis.config.MIN_CELL`), ``name``, ``unit_type``,
        ``old_area``, ``apportioned`` and ``complete`` (the layout
        :func:`povanalysis.geo.maps.rate_map` and :func:`povanalysis.goals.baselines.drift_projection`
        take); ``commune_year.json`` beside it holds ``synthetic`` and ``sources``.
    """
    if not isinstance(commune_year, pd.DataFrame):
        raise TypeError(f"'commune_year' should be a DataFrame, got {type(commune_year).__name__}")
    missing = [c for c in _REQUIRED if c not in commune_year.columns]
    if missing:
        raise ValueError(f"'commune_year' has no column(s) {missing}")
    unknown = sorted(set(commune_year["commune_code"]) - set(registry.known_codes()))
    if unknown:
        raise ValueError(f"'commune_year': {unknown[0]!r} is not a unit of the 2025 registry")
    if commune_year.duplicated(["commune_code", "review_year"]).any():
        row = commune_year[commune_year.duplicated(["commune_code", "review_year"])].iloc[0]
        raise ValueError(f"'commune_year' has two rows for {row['commune_code']} at {row['review_year']}")
    counts = [
        c
        for c in (*_REQUIRED, "minority_poor")
        if c in commune_year.columns and not (c == "minority_poor" and commune_year[c].isna().all())
    ]
    table = commune_year[counts].copy()
    table["review_year"] = table["review_year"].astype("int64")
    for c in counts[2:]:
        table[c] = table[c].astype(float)
    table = _rates(table, int(config.MIN_CELL)).drop(columns=["poor_rate__hidden", "near_poor_rate__hidden"])
    units = registry.units(2025).set_index("commune_code")[["name", "unit_type", "old_area"]]
    table = table.join(units, on="commune_code")
    for c in ("apportioned", "complete"):
        table[c] = commune_year[c].to_numpy(dtype=bool) if c in commune_year.columns else c == "complete"
    table = table.sort_values(["review_year", "commune_code"], kind="stable").reset_index(drop=True)
    folder = Path(root) / "processed"
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(table, folder / COUNTS_FILE)
    meta = {"synthetic": bool(synthetic), "sources": [str(s) for s in sources]}
    atomic_write_text(folder / _META_FILE, json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return folder / COUNTS_FILE


def read_counts(root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, dict]:
    """The counts :func:`write_counts` stored in ``root`` (default the current data root) and their notes."""
    folder = (Path(root) / "processed") if root is not None else config.processed_dir()
    path = folder / COUNTS_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no published counts in the data folder ({COUNTS_FILE} under processed/): write them with "
            "povanalysis batch --tables or povanalysis.reports.aggregate.write_counts"
        )
    meta_path = folder / _META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return pd.read_parquet(path), meta


def units_table() -> pd.DataFrame:
    """The 92 units of 2025 with names, type, old area, slug and their pre-2025 predecessors (``|``-joined)."""
    units = registry.units()
    cw = registry.crosswalk()
    cw = cw.assign(part=np.where(cw["relation"] == "split", "1", "0"))
    preds = cw.groupby("new_code").agg(
        predecessors=("old_name", "|".join),
        predecessor_parts=("part", "|".join),
        predecessor_districts=("old_district_name", lambda s: "|".join(dict.fromkeys(s))),
        unchanged=("relation", lambda s: bool((s == "unchanged").all())),
    )
    out = units[["commune_code", "name", "name_ascii", "unit_type", "old_area", "slug"]]
    return out.join(preds, on="commune_code").reset_index(drop=True)


def _rates(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    out = frame.copy()
    hh = out["households"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["poor_rate"] = np.where(hh > 0, out["poor"] / hh, np.nan)
        out["near_poor_rate"] = np.where(hh > 0, out["near_poor"] / hh, np.nan)
        if "minority_poor" in out.columns:
            poor = out["poor"].to_numpy(dtype=float)
            out["minority_share_of_poor"] = np.where(poor > 0, out["minority_poor"] / poor, np.nan)
        else:
            out["minority_share_of_poor"] = np.nan
    out["suppressed"] = hh < min_cell
    # a rate beside a count under the limit gives the count back: not published as a number
    out["poor_rate__hidden"] = out["poor"].to_numpy(dtype=float) < min_cell
    out["near_poor_rate__hidden"] = out["near_poor"].to_numpy(dtype=float) < min_cell
    return out


def commune_rates(counts: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """The counts by commune and review with their rates, ``suppressed`` (fewer than ``min_cell`` households) and
    ``poor_rate__hidden`` / ``near_poor_rate__hidden`` (the count under ``min_cell``: the rate is not shown)."""
    cols = [c for c in ("households", "poor", "near_poor", "minority_poor") if c in counts.columns]
    extra = [c for c in ("apportioned", "complete") if c in counts.columns]
    return _rates(counts[["commune_code", "review_year", *cols, *extra]], min_cell)


def area_rates(counts: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """Counts and rates by old area (``old_area``) and for the province (``old_area == "province"``), by review."""
    cols = [c for c in ("households", "poor", "near_poor", "minority_poor") if c in counts.columns]
    areas = registry.units().set_index("commune_code")["old_area"]
    work = counts.assign(old_area=counts["commune_code"].map(areas))
    by_area = work.groupby(["old_area", "review_year"], sort=True)[cols].sum().reset_index()
    province = work.groupby("review_year", sort=True)[cols].sum().reset_index().assign(old_area="province")
    return _rates(pd.concat([by_area, province], ignore_index=True), min_cell)


# ----------------------------------------------------------------------------- the 2026–2030 path


def project_counts(counts: pd.DataFrame, *, min_cell: int) -> tuple[object, pd.DataFrame]:
    """The 2026–2030 projection of each commune's poor rate from the published counts, and its reference path.

    The model and its settings are those of the reports (:data:`povanalysis.goals.outlook.DEFAULT_SETTINGS`:
    the average yearly change pooled by old area, :func:`povanalysis.goals.baselines.drift_projection`),
    run on the counts as published, under the standard of the reviews: turning them into the
    2026–2030 standard needs household records.  Counts are rounded to whole households (split
    units are apportioned).  The commune's reference path is its proportional share of the
    province-wide target (:data:`PATH_TARGETS`,
    :func:`povanalysis.goals.requirements.commune_requirements`).

    Returns
    -------
    (Projection, DataFrame)
        The projection by ``commune_code`` and the requirements table by commune and year.

    Raises
    ------
    ValueError
        The counts have no review of the targets' start year (2025), or fewer than two
        consecutive reviews.
    """
    s = outlook.DEFAULT_SETTINGS
    areas = registry.units().set_index("commune_code")["old_area"]
    work = counts[["commune_code", "review_year", "households", "poor"]].copy()
    work["households"] = work["households"].round().astype("int64")
    work["poor"] = np.minimum(work["poor"].round(), work["households"]).astype("int64")
    work = work[work["households"] >= 1].reset_index(drop=True)
    work["old_area"] = work["commune_code"].map(areas)
    chosen = [t for t in targets.DEFAULT_TARGETS if t.name in PATH_TARGETS]
    start = {t.start_year for t in chosen}
    if not start <= set(work["review_year"]):
        raise ValueError(
            f"the targets start from the {sorted(start)} review, which the published tables do not cover "
            f"(reviews: {sorted(work['review_year'].unique().tolist())})"
        )
    proj = baselines.drift_projection(
        work,
        by=["commune_code", "old_area"],
        pool_by=s["pool_by"],
        alpha=s["alpha"],
        n_sim=s["n_sim"],
        seed=s["seed"],
        min_cell=min_cell,
    ).aggregate("commune_code")
    rows = []
    for t in chosen:
        now = work[work["review_year"] == t.start_year]
        hh, poor = int(now["households"].sum()), int(now["poor"].sum())
        common = {"target": t.name, "start_year": t.start_year, "level_source": "data", "standard": proj.standard}
        rows.append(
            {
                **common,
                "kind": "group",
                "commune_code": np.nan,
                "households": hh,
                "poor": poor,
                "start_level": poor / hh,
            }
        )
        for code, n, k in now[["commune_code", "households", "poor"]].itertuples(index=False):
            rows.append(
                {**common, "kind": "commune", "commune_code": code, "households": n, "poor": k, "start_level": k / n}
            )
    base = pd.DataFrame(rows)
    base["suppressed"] = base["households"] < min_cell
    table = requirements.commune_requirements(
        proj, chosen, base, fallback=s["fallback"], fallback_rule=s["fallback_rule"], min_cell=min_cell
    )
    return proj, table


# ----------------------------------------------------------------------------- one commune


@lru_cache(maxsize=1)
def _boundaries():
    return geo_boundaries.simplify(geo_boundaries.default_boundaries())


@lru_cache(maxsize=2)
def _shared(path: str, stamp: str, min_cell: int) -> dict:
    counts = pd.read_parquet(path)
    meta_path = Path(path).with_name(_META_FILE)
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    out = {
        "meta": meta,
        "units": units_table(),
        "rates": commune_rates(counts, min_cell=min_cell),
        "areas": area_rates(counts, min_cell=min_cell),
        "sections": {"map": False, "targeting": False, "projections": False, "risk": False},
        "skipped": {},
    }
    try:
        out["boundaries"] = _boundaries()
        out["sections"]["map"] = True
    except Exception as exc:  # no boundaries: the map is left out, as in the household reports
        out["skipped"]["map"] = f"{type(exc).__name__}: {exc}"
    try:
        proj, table = project_counts(counts, min_cell=min_cell)
    except ValueError as exc:
        out["skipped"]["projections"] = str(exc)
    else:
        out["projection"] = {
            "projection": proj,
            "targets": {t.name: t for t in targets.DEFAULT_TARGETS},
            "alpha": float(proj.alpha),
        }
        out["projections"] = table
        out["sections"]["projections"] = True
    return out


def commune_context(commune_code: str, *, review_year: int, root: str | os.PathLike | None = None) -> CommuneContext:
    """One commune's report context, from the published counts of ``root`` (default the current data root).

    ``ethnicity``, ``af`` and ``credit`` are empty (they need household records); the rates
    come from the counts (``persons`` is missing: annexes count households), the map's rates
    are every commune's, and ``extra`` holds the boundaries and the 2026–2030 path
    (:func:`project_counts`) when they can be made, and ``mode == "tables"``.

    Raises
    ------
    ValueError
        Unknown code, a review year not in the tables, or a commune without households at it.
    FileNotFoundError
        No counts in the data root.
    """
    code = registry.unit_code(commune_code)
    if code not in registry.known_codes():
        raise ValueError(f"commune_code {commune_code!r} is not one of the 92 units of Thai Nguyen (vintage 2025)")
    if isinstance(review_year, bool) or not isinstance(review_year, (int, np.integer)):
        raise ValueError(f"review_year must be an integer year, got {review_year!r}")
    folder = (Path(root) / "processed") if root is not None else config.processed_dir()
    path = folder / COUNTS_FILE
    if not path.exists():
        read_counts(root)  # raises, naming what to do
    shared = _shared(str(path), prepare.file_digest(path), config.MIN_CELL)
    rates = shared["rates"]
    years = sorted(int(y) for y in rates["review_year"].unique())
    year = int(review_year)
    if year not in years:
        raise ValueError(f"review_year {review_year!r} is not a review in the published tables (reviews: {years})")
    mine = rates[rates["commune_code"] == code].reset_index(drop=True)
    if not ((mine["review_year"] == year) & (mine["households"] > 0)).any():
        raise ValueError(f"commune {code} has no households in the published table of {year}")
    unit = shared["units"].set_index("commune_code").loc[code].to_dict()
    areas = shared["areas"]
    areas = areas[areas["old_area"].isin([unit["old_area"], "province"])].reset_index(drop=True)
    extra: dict = {"mode": "tables", "sources": shared["meta"].get("sources", [])}
    if shared["sections"]["map"]:
        extra["boundaries"] = shared["boundaries"]
    if shared["sections"]["projections"]:
        t = shared["projections"]
        extra["projections"] = t[t["commune_code"] == code].reset_index(drop=True)
        extra["projection"] = shared["projection"]
    empty = pd.DataFrame()
    every = rates[rates["review_year"] == year].reset_index(drop=True)
    return CommuneContext(
        code=code,
        review_year=year,
        unit=unit,
        rates=mine,
        areas=areas,
        ethnicity=empty,
        af=empty,
        credit=empty,
        all_rates=every.assign(suppressed=every["suppressed"] | every["poor_rate__hidden"]),
        sections=dict(shared["sections"]),
        min_cell=int(config.MIN_CELL),
        synthetic=bool(shared["meta"].get("synthetic")),
        extra=extra,
    )


def _check_mode(data_mode: str) -> str:
    if data_mode not in MODES:
        raise ValueError(f"data_mode must be one of {list(MODES)}, got {data_mode!r}")
    return data_mode


def context_for(data_mode: str, commune_code: str, *, review_year: int) -> CommuneContext:
    """The report context of a commune in ``data_mode``: household records (prepared tables) or published counts."""
    if _check_mode(data_mode) == "households":
        return prepare.commune_context(commune_code, review_year=review_year)
    return commune_context(commune_code, review_year=review_year)


def sections_for(data_mode: str) -> ModuleType:
    """The module whose functions render the report in ``data_mode``: :mod:`~povanalysis.reports.sections`, or this one.

    Both have ``title``, ``section``, ``rate_figure``, ``map_figure``, ``profile_figure``,
    ``contribution_figure``, ``ethnicity_table``, ``credit_table``, ``path_figure``,
    ``exits_figure``, ``exits_table`` and ``village_table``.

    Examples
    --------
    >>> sections_for("households").__name__, sections_for("tables").__name__
    ('povanalysis.reports.sections', 'povanalysis.reports.aggregate')
    """
    return sections if _check_mode(data_mode) == "households" else sys.modules[__name__]


# ----------------------------------------------------------------------------- texts


def household_sentence(key: str, lang: str = "vi") -> str:
    """The one sentence a section that needs household records shows in a report on published counts.

    Examples
    --------
    >>> household_sentence("credit", "en")
    "Policy credit needs the Bank for Social Policies' loan records by household, which the published commune tables do not hold."
    """
    check_lang(lang)
    if key not in _SENTENCES:
        raise ValueError(f"'key' must be one of {list(_SENTENCES)}, got {key!r}")
    return _pick(_SENTENCES, key, lang)


def _num(value, lang: str) -> str:
    return format_number(float(value), lang, digits=0)


def _count(value, lang: str, min_cell: int) -> str:
    if value < min_cell:
        return f"dưới {min_cell}" if lang == "vi" else f"fewer than {min_cell}"
    return _num(value, lang)


def title(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The report's title (:func:`povanalysis.reports.sections.title`) and where its figures come from."""
    head = sections.title(ctx, lang=lang).data
    source = (
        "Số liệu: bảng kết quả rà soát hộ nghèo, hộ cận nghèo do tỉnh công bố theo xã, quy về 92 đơn vị hành "
        "chính cấp xã từ ngày 1/7/2025."
        if lang == "vi"
        else "Figures: the province's published tables of review results by commune, brought onto the 92 "
        "communes and wards of 1 July 2025."
    )
    return Markdown(f"{head}\n\n*{source}*")


def households_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Households, poor and near-poor households at the review, from the published counts."""
    check_lang(lang)
    row = ctx.current()
    y = ctx.review_year
    name = escape_markdown(ctx.name)
    if row["suppressed"]:
        return Markdown(
            f"Tại kỳ rà soát năm {y}, số hộ của {name} dưới ngưỡng công bố ({ctx.min_cell} hộ)."
            if lang == "vi"
            else f"At the {y} review {name} had fewer households than the publication limit ({ctx.min_cell})."
        )
    h = _num(row["households"], lang)
    # a rate beside a count under the limit would give the count back: it is left out
    poor, near = _count(row["poor"], lang, ctx.min_cell), _count(row["near_poor"], lang, ctx.min_cell)
    pr, nr = (
        "" if row[f"{r}__hidden"] else format_percent(float(row[r]), lang) for r in ("poor_rate", "near_poor_rate")
    )
    if lang == "vi":
        pr, nr = (f" (tỷ lệ {x})" if x else "" for x in (pr, nr))
        text = f"Theo bảng kết quả rà soát năm {y}, {name} có {h} hộ, trong đó {poor} hộ nghèo{pr} và {near} hộ cận nghèo{nr}."
        if bool(row.get("apportioned", False)):
            text += (
                " Một đơn vị cũ được chia cho nhiều xã, phường mới nên số hộ của phần được chia là ước tính theo tỷ lệ."
            )
        if not bool(row.get("complete", True)):
            text += " Số liệu chưa đầy đủ: bảng công bố thiếu đơn vị cũ hợp thành đơn vị này."
    else:
        pr, nr = (f" ({x})" if x else "" for x in (pr, nr))
        text = f"According to the {y} review tables, {name} had {h} households: {poor} poor households{pr} and {near} near-poor households{nr}."
        if bool(row.get("apportioned", False)):
            text += " A former unit was split between new units, so the households of its part are apportioned."
        if not bool(row.get("complete", True)):
            text += " The figures are incomplete: the published table lacks a former unit it was formed from."
    return Markdown(text)


def minority_text(ctx: CommuneContext, *, lang: str = "vi") -> str:
    """The published share of ethnic-minority households among the poor (a leading space), or "".

    Only when the annexes give it and the poor, the minority poor and the other poor all
    reach the publication limit (so neither part can be recovered from the share).
    """
    check_lang(lang)
    row = ctx.current()
    if "minority_poor" not in row.index or pd.isna(row["minority_poor"]) or row["suppressed"]:
        return ""
    poor, minority = float(row["poor"]), float(row["minority_poor"])
    if min(poor, minority, poor - minority) < ctx.min_cell:
        return ""
    share = format_percent(minority / poor, lang)
    return (
        f" Theo bảng công bố, hộ dân tộc thiểu số chiếm {share} số hộ nghèo năm {ctx.review_year}."
        if lang == "vi"
        else f" According to the published tables, ethnic-minority households make up {share} of poor households in {ctx.review_year}."
    )


def path_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """The commune's projected 2030 rate from the published counts against its share of the province target.

    None when no path could be projected (the tables do not reach the targets' start year).
    """
    check_lang(lang)
    rows = ctx.extra.get("projections")
    if not ctx.sections.get("projections") or rows is None or rows.empty:
        return None
    vi = lang == "vi"
    rows = rows.sort_values("year")
    last = rows.iloc[-1]
    year = int(last["year"])
    name = escape_markdown(ctx.name)
    if bool(last["suppressed"]):
        return Markdown(
            f"Số hộ dưới ngưỡng công bố ({ctx.min_cell} hộ): không công bố dự báo."
            if vi
            else f"Fewer households than the publication limit ({ctx.min_cell}): no projection published."
        )
    if _path_hidden(ctx):
        return Markdown(
            f"Số hộ nghèo năm {ctx.review_year} dưới ngưỡng công bố ({ctx.min_cell} hộ): không công bố dự báo, vì "
            "tỷ lệ xuất phát sẽ cho biết số hộ."
            if vi
            else f"Fewer poor households in {ctx.review_year} than the publication limit ({ctx.min_cell}): no "
            "projection published, as its starting rate would give the number away."
        )
    store = ctx.extra["projection"]
    target = store["targets"][last["target"]]
    proj = store["projection"]
    t0 = int(target.start_year)
    first, last_review = int(ctx.rates["review_year"].min()), int(ctx.rates["review_year"].max())
    level = format_number(100 * (1 - float(store["alpha"])), lang, digits=0)
    std = get_standard(proj.standard)
    std_label = std.label_vi if vi else std.label_en
    std_label = std_label[0].lower() + std_label[1:]
    mean, lo, hi = (format_percent(float(last[c]), lang) for c in ("mean", "obs_ci_lower", "obs_ci_upper"))
    start, ref = format_percent(float(last["start_level"]), lang), format_percent(float(last["target_level"]), lang)
    gap = format_number(abs(100 * float(last["gap"])), lang, digits=2)
    model = _model_name(lang)
    if vi:
        text = (
            f"Mức tham chiếu của {name} là phần của xã trong mục tiêu chung của toàn tỉnh "
            f"({escape_markdown(target.label(lang))}, chỉ tiêu chưa được xác nhận trong văn bản chính thức): "
            f"giảm theo cùng tỷ lệ tương đối với toàn tỉnh, từ {start} năm {t0} xuống {ref} năm {year}."
        )
        if bool(last.get("already_met", False)):
            return Markdown(text + f" Tỷ lệ hộ nghèo của xã ({start}) đã ở mức sàn của mục tiêu: đã đạt.")
        text += (
            f" Dự báo theo {model} của các kỳ rà soát {first}–{last_review} trong bảng công bố, theo {std_label} "
            f"mà các bảng áp dụng; quy đổi sang chuẩn nghèo 2026–2030 cần số liệu từng hộ. Tỷ lệ hộ nghèo dự báo "
            f"năm {year} là {mean}, khoảng dự báo {level}% cho tỷ lệ kỳ rà soát năm đó ghi nhận: {lo} – {hi}; "
            + (f"cao hơn mức tham chiếu {gap}" if last["gap"] > 0 else f"thấp hơn mức tham chiếu {gap}")
            + f" điểm phần trăm, xác suất đạt {format_percent(float(last['p_meet']), lang, digits=0)}."
        )
        if float(last["exits_per_year"]) >= 0.5:
            text += (
                f" Để theo lộ trình, số hộ nghèo cần giảm bình quân khoảng {_num(last['exits_per_year'], lang)} "
                f"hộ mỗi năm từ {t0} đến {year}."
            )
    else:
        text = (
            f"The reference path of {name} is its share of the province-wide target "
            f"({escape_markdown(target.label(lang))}, not confirmed in an official text): the province's relative "
            f"fall, from {start} in {t0} to {ref} in {year}."
        )
        if bool(last.get("already_met", False)):
            return Markdown(text + f" The commune's rate ({start}) is already at the target's floor: met.")
        text += (
            f" Projected by the {model} of the {first}–{last_review} reviews in the published tables, under the "
            f"{std_label} the tables follow; bringing them onto the 2026–2030 standard needs household records. "
            f"The projected poor-household rate in {year} is {mean}, {level}% prediction interval of the rate that "
            f"review records: {lo} – {hi}; "
            + (f"{gap} points above" if last["gap"] > 0 else f"{gap} points below")
            + f" the reference, probability of meeting it {format_percent(float(last['p_meet']), lang, digits=0)}."
        )
        if float(last["exits_per_year"]) >= 0.5:
            text += (
                f" Following the path takes about {_num(last['exits_per_year'], lang)} fewer poor households a "
                f"year from {t0} to {year}."
            )
    return Markdown(text)


def _model_name(lang: str) -> str:
    from .prose.goals import model_name

    return model_name(str(outlook.DEFAULT_SETTINGS["model"]), lang)


def section(key: str, ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """A section's heading and text in a report on published counts (None when the section is not available).

    ``overview``: the unit (:func:`povanalysis.reports.sections.overview_text`) and its published
    figures (:func:`households_text`); ``trend`` and ``map`` as in the household reports;
    ``projections``: :func:`path_text`; the sections of :data:`HOUSEHOLD_SECTIONS`: one sentence
    saying what they need (:func:`household_sentence`).
    """
    check_lang(lang)
    if key in HOUSEHOLD_SECTIONS:
        text = household_sentence(key, lang)
        if key == "ethnicity":
            text += minority_text(ctx, lang=lang)
        return Markdown(f"## {_pick(_HEADINGS, key, lang)}\n\n{text}")
    if key == "overview":
        return Markdown(
            f"## {'Tổng quan' if lang == 'vi' else 'Overview'}\n\n"
            f"{sections.overview_text(ctx, lang=lang).data}\n\n{households_text(ctx, lang=lang).data}"
        )
    if key == "projections":
        text = path_text(ctx, lang=lang)
        return None if text is None else Markdown(f"## {_pick(_HEADINGS, key, lang)}\n\n{text.data}")
    return sections.section(key, ctx, lang=lang)


def rate_figure(ctx: CommuneContext, *, rate: str = "poor_rate", lang: str = "vi") -> go.Figure:
    """:func:`povanalysis.reports.sections.rate_figure` on the published counts."""
    return sections.rate_figure(ctx, rate=rate, lang=lang)


def map_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """:func:`povanalysis.reports.sections.map_figure` on the published counts."""
    return sections.map_figure(ctx, lang=lang)


def _path_hidden(ctx: CommuneContext) -> bool:
    """Whether the commune's poor count at the latest published review is under the limit (its rate not shown)."""
    last = ctx.rates.sort_values("review_year").iloc[-1]
    return bool(last["suppressed"] or last["poor_rate__hidden"])


def path_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """:func:`povanalysis.reports.sections.path_figure` on the projection from the published counts.

    None when a poor count of the commune is under the publication limit at any review: the
    chart's observed rates would give it back.
    """
    check_lang(lang)
    if not ctx.sections.get("projections") or (ctx.rates["suppressed"] | ctx.rates["poor_rate__hidden"]).any():
        return None
    return sections.path_figure(ctx, lang=lang)


def profile_figure(ctx: CommuneContext, *, lang: str = "vi") -> None:
    """None: the deprivation profile needs household records."""
    check_lang(lang)


def contribution_figure(ctx: CommuneContext, *, lang: str = "vi") -> None:
    """None: the contributions to M0 need household records."""
    check_lang(lang)


def ethnicity_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """None: the ethnic groups need household records."""
    check_lang(lang)


def credit_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """None: policy credit needs loan records."""
    check_lang(lang)


def exits_figure(ctx: CommuneContext, *, lang: str = "vi") -> None:
    """None: lasting exits need household records."""
    check_lang(lang)


def exits_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """None: lasting exits need household records."""
    check_lang(lang)


def village_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """None: the table by village needs household records."""
    check_lang(lang)


def counts_digest(root: str | os.PathLike) -> str:
    """SHA-256 of the counts stored in ``root`` and their notes (what a report on them reads)."""
    folder = Path(root) / "processed"
    h = hashlib.sha256()
    for name in (COUNTS_FILE, _META_FILE):
        h.update(name.encode() + b"\0" + (prepare.file_digest(folder / name) or "").encode())
    return h.hexdigest()
