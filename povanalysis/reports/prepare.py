"""The tables every commune report reads, prepared once for all units, and one commune's cut of them.

One module because every prepared table shares one cache key (manifest, digests) and one folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import shapely

from .. import __version__, config
from ..common.files import atomic_write_text
from ..data import registry
from ..data.io import write_parquet
from ..data.pipeline import load_classified, load_disadvantaged, load_loans, load_truth
from ..geo import boundaries as geo_boundaries
from ..goals import outlook, projections, requirements, targets
from ..goals.exits import Exits
from ..impact import credit
from ..impact.effects import DesignError, NoVariation
from ..measure.aggregates import poverty_counts, suppress
from ..measure.indicators import alkire_foster
from ..measure.standards import get_standard
from ..targeting import beneficiaries, risk
from . import grassroots, published

__all__ = [
    "FORMAT",
    "OPTIONAL_SECTIONS",
    "NOT_POSITIVE",
    "CONTEXT_ENV",
    "PROJECTION_SETTINGS",
    "CommuneContext",
    "code_digest",
    "file_digest",
    "context_dir",
    "prepare",
    "ensure_prepared",
    "manifest_digest",
    "read_manifest",
    "shared_tables",
    "commune_context",
    "ethnic_groups",
    "credit_table",
    "key_figures",
]

#: Version of the prepared-table layout; a change invalidates every prepared folder.
FORMAT = 4

#: Report sections whose table may fail to compute on some data (a model that cannot be
#: fitted, no boundaries): each appears only when its table was prepared (see :func:`prepare`).
#: Start of the reason stored when the credit cost is left out as the estimated effect is not above zero.
NOT_POSITIVE = "NotPositive"

OPTIONAL_SECTIONS: tuple[str, ...] = ("map", "targeting", "projections", "risk", "exits", "villages")

#: Environment variable pinning the preparation (manifest digest) that reports must read.
CONTEXT_ENV = "POVANALYSIS_REPORT_CONTEXT"

#: Settings of the 2026–2030 section: those of notebook ``03-targets-2026-2030``
#: (:data:`povanalysis.goals.outlook.DEFAULT_SETTINGS`, one table for both).
PROJECTION_SETTINGS = outlook.DEFAULT_SETTINGS

logger = logging.getLogger("povanalysis.reports.prepare")

_TABLES = ("units", "commune_rates", "area_rates", "ethnicity", "commune_totals", "area_totals", "af", "credit")

# ----------------------------------------------------------------------------- digests and files


def _package_files() -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@lru_cache(maxsize=1024)
def _sha_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digest(path: str | os.PathLike) -> str | None:
    """SHA-256 of a file's content, or None when it is absent (computed once per version of the file).

    Examples
    --------
    >>> file_digest(Path(__file__)) == file_digest(Path(__file__))
    True
    >>> file_digest(Path(__file__).with_name("absent.txt")) is None
    True
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return _sha_of(str(path), st.st_size, st.st_mtime_ns)


def code_digest() -> str:
    """SHA-256 of the package: its version and the source of every module, taken as a whole.

    Any change in the package's code makes the prepared tables and every report out of date.

    Examples
    --------
    >>> len(code_digest())
    64
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    for path in _package_files():
        h.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0" + file_digest(path).encode())
    return h.hexdigest()


def context_dir() -> Path:
    """Folder of the prepared tables: ``<processed>/report`` of the current data root."""
    return config.processed_dir() / "report"


def _boundaries_path() -> str | None:
    return os.environ.get("POVANALYSIS_BOUNDARIES") or None


def _inputs() -> dict:
    """What the prepared tables depend on, compared by :func:`ensure_prepared`: the package and the input files' hashes."""
    files = {
        "households_classified": config.processed_dir() / "households_classified.parquet",
        "loans": config.processed_dir() / "loans.parquet",
        "villages": config.processed_dir() / "villages.parquet",
        "disadvantaged": config.raw_dir() / "disadvantaged_communes.csv",
        "truth": config.raw_dir() / "truth.json",
    }
    boundaries = _boundaries_path()
    if boundaries:
        files["boundaries"] = Path(boundaries)
    return {
        "format": FORMAT,
        "version": __version__,
        "min_cell": config.MIN_CELL,
        "code": code_digest(),
        "files": {name: file_digest(path) for name, path in files.items()},
    }


def _row_digests(frame: pd.DataFrame) -> tuple[str, dict[str, str]]:
    """Digest of the rows shared by every commune and one digest per commune's rows."""
    frame = frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    header = ",".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode()
    if "commune_code" not in frame.columns:
        return hashlib.sha256(header + hashes.tobytes()).hexdigest(), {}
    codes = frame["commune_code"].to_numpy()
    order = np.argsort(codes, kind="stable")
    keys, starts = np.unique(codes[order], return_index=True)
    parts = np.split(hashes[order], starts[1:])
    return (
        hashlib.sha256(header).hexdigest(),
        {str(k): hashlib.sha256(header + p.tobytes()).hexdigest() for k, p in zip(keys, parts)},
    )


# ----------------------------------------------------------------------------- preparation


def _units_table() -> pd.DataFrame:
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


def ethnic_groups(classified: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Households and poor households by commune, review and ethnicity, with small groups pooled.

    Within a commune and review the groups are ordered by size; every group under
    ``min_cell`` households goes into a pool (``ethnicity == "other"``), and while the pool
    holds fewer than ``min_cell`` households the next smallest group joins it, so that no
    small group can be recovered by subtracting the others from the commune total.  A pool
    that stays small (the whole commune is small) is flagged ``suppressed``
    (:func:`povanalysis.reports.published.pool_groups`).  The reports publish these groups
    under the disclosure rule (:func:`povanalysis.reports.published.household_table`).
    """
    keys = ["commune_code", "review_year"]
    t = poverty_counts(classified, by=(*keys, "ethnicity"), min_cell=min_cell)
    t["ethnicity"] = published.pool_groups(t, min_cell)
    out = t.groupby([*keys, "ethnicity"], sort=True)[["households", "persons", "poor", "near_poor"]].sum().reset_index()
    out["poor_rate"] = out["poor"] / out["households"]
    out["share"] = out["households"] / out.groupby(keys)["households"].transform("sum")
    return suppress(out, min_cell=min_cell)


def _af_table(classified: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    parts = []
    for key, scope in classified.groupby("standard", sort=True):
        std = get_standard(key)
        af = alkire_foster(scope, weights=std.weights(), k=std.k, by=["commune_code", "review_year"])
        parts.append(af[af["commune_code"].notna()].assign(standard=key))
    out = pd.concat(parts, ignore_index=True)
    out["review_year"] = out["review_year"].astype("int64")
    out["suppressed"] = out["n"] < min_cell
    return out


def credit_table(classified: pd.DataFrame, loans: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Loans, borrowing households and amounts by commune, disbursement year and programme.

    ``programme == "all"`` is any programme.  Rows with fewer than ``min_cell`` borrowers
    are flagged ``suppressed``; when exactly one programme of a commune-year is flagged,
    the next smallest is flagged too, so it cannot be recovered from the total.
    """
    home = classified.drop_duplicates("household_id", keep="last").set_index("household_id")["commune_code"]
    work = pd.DataFrame(
        {
            "commune_code": loans["household_id"].map(home).to_numpy(),
            "year": pd.DatetimeIndex(loans["disbursed"]).year.to_numpy().astype("int64"),
            "programme": loans["programme"].astype(str).to_numpy(),
            "household_id": loans["household_id"].to_numpy(),
            "amount": loans["amount"].to_numpy(dtype=float),
        }
    )
    unknown = work["commune_code"].isna()
    if unknown.any():
        raise ValueError(
            f"'loans': {int(unknown.sum())} loans go to households absent from the review file, "
            f"the first to {work.loc[unknown, 'household_id'].iloc[0]!r}"
        )
    agg = dict(loans=("amount", "size"), borrowers=("household_id", "nunique"), amount=("amount", "sum"))
    by_prog = work.groupby(["commune_code", "year", "programme"], sort=True).agg(**agg).reset_index()
    total = work.groupby(["commune_code", "year"], sort=True).agg(**agg).reset_index().assign(programme="all")
    by_prog["suppressed"] = by_prog["borrowers"] < min_cell
    keys = [by_prog["commune_code"], by_prog["year"]]
    lone = by_prog["suppressed"].groupby(keys).transform("sum") == 1
    rank = by_prog["borrowers"].where(~by_prog["suppressed"]).groupby(keys).rank(method="first")
    by_prog["suppressed"] |= lone & (rank == 1)
    total["suppressed"] = total["borrowers"] < min_cell
    out = pd.concat([by_prog, total], ignore_index=True)
    return out.sort_values(["commune_code", "year", "programme"], kind="stable").reset_index(drop=True)


def _household_tables(classified: pd.DataFrame, min_cell: int) -> dict[str, pd.DataFrame]:
    """The published household figures (:func:`povanalysis.reports.published.household_table`), cut for storage.

    ``ethnicity``: each commune's ethnic groups (``suppressed``: households hidden);
    ``commune_totals``: the communes; ``area_totals``: old areas and province (every report).
    """
    flat = published.household_table(classified, registry.units(), min_cell=min_cell)
    groups = flat[flat["ethnicity"] != published.ALL].assign(suppressed=lambda t: t["households__hidden"])
    communes = flat[(flat["ethnicity"] == published.ALL) & (flat["commune_code"] != published.ALL)]
    areas = flat[flat["commune_code"] == published.ALL].drop(columns="commune_code")
    return {
        "ethnicity": groups.reset_index(drop=True),
        "commune_totals": communes.reset_index(drop=True),
        "area_totals": areas.reset_index(drop=True),
    }


def _write_json(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def _prepare_map(folder: Path, classified, loans, min_cell) -> None:
    """Simplify the boundaries once for every report (coverage-preserving, :func:`povanalysis.geo.boundaries.simplify`).

    Stored as Parquet with the geometry as WKB (exact coordinates) and, in ``boundaries.json``,
    the CRS and the frame's attributes.
    """
    simple = geo_boundaries.simplify(geo_boundaries.default_boundaries())
    attrs = {k: v for k, v in simple.attrs.items() if isinstance(v, (str, int, float, bool))}
    geometry = simple.geometry.name
    frame = pd.DataFrame(simple.drop(columns=geometry))
    frame[geometry] = shapely.to_wkb(simple.geometry.to_numpy())
    write_parquet(frame, folder / "boundaries.parquet")
    crs = simple.crs.to_json() if simple.crs is not None else None
    _write_json(folder / "boundaries.json", {"attrs": attrs, "crs": crs, "geometry": geometry})
    return None


def _read_boundaries(folder: Path) -> geopandas.GeoDataFrame:
    meta = json.loads((folder / "boundaries.json").read_text(encoding="utf-8"))
    frame = pd.read_parquet(folder / "boundaries.parquet")
    name = meta["geometry"]
    shapes = geopandas.GeoSeries(shapely.from_wkb(frame[name].to_numpy()), index=frame.index, crs=meta["crs"])
    out = geopandas.GeoDataFrame(frame.drop(columns=name), geometry=shapes.rename(name), crs=meta["crs"])
    out = out[list(frame.columns)]
    out.attrs = meta["attrs"]
    return out


def _prepare_targeting(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    table = beneficiaries.accuracy(classified, loans, by=("commune_code",), min_cell=min_cell)
    keep = (
        "loan_year review_year commune_code programme eligible reached coverage loans inclusion_errors "
        "inclusion_share suppressed"
    ).split()
    return published.targeting_table(table[keep].reset_index(drop=True), min_cell=min_cell)


def _prepare_risk(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    model = risk.fit_fallback_model(classified, loans)
    # the model looks forward from the latest review (it is evaluated out of time on it): only
    # that review's newly escaped households are scored
    scores = model.score(classified, loans=loans)
    table = risk.at_risk_counts(scores, by="commune_code", min_cell=min_cell)
    table["threshold"] = float(risk.DEFAULT_RISK_THRESHOLD)
    table = table.drop(columns="expected_fallbacks").reset_index(drop=True)
    return published.risk_table(table, min_cell=min_cell)


# The projection is stored without pickle: each array and frame of the Projection as Parquet
# (``projection.<field>.parquet``, arrays flattened with their shape in the JSON), the other
# fields, the model's backtest texts and the credit cost's status in ``projection.json``.
# The fitted model object itself is not kept: no report reads it.
_PROJECTION_FILES = "projection.*"


def _save_projection(folder: Path, projection, payload: dict) -> None:
    arrays, frames, scalars = {}, [], {}
    for f in dataclasses.fields(projection):
        value = getattr(projection, f.name)
        if isinstance(value, np.ndarray):
            write_parquet(pd.DataFrame({"value": value.ravel()}), folder / f"projection.{f.name}.parquet")
            arrays[f.name] = list(value.shape)
        elif isinstance(value, pd.DataFrame):
            write_parquet(value.reset_index(drop=True), folder / f"projection.{f.name}.parquet")
            frames.append(f.name)
        elif isinstance(value, (str, int, float, bool, tuple, type(None))):
            scalars[f.name] = list(value) if isinstance(value, tuple) else value
    _write_json(folder / "projection.json", {**payload, "arrays": arrays, "frames": frames, "fields": scalars})


def _load_projection(folder: Path) -> dict:
    meta = json.loads((folder / "projection.json").read_text(encoding="utf-8"))
    values = {}
    for name, shape in meta["arrays"].items():
        values[name] = pd.read_parquet(folder / f"projection.{name}.parquet")["value"].to_numpy().reshape(shape)
    for name in meta["frames"]:
        values[name] = pd.read_parquet(folder / f"projection.{name}.parquet")
    kinds = {f.name: f.type for f in dataclasses.fields(projections.Projection)}
    for name, value in meta["fields"].items():
        values[name] = tuple(value) if isinstance(value, list) else value
    values = {k: v for k, v in values.items() if k in kinds}
    store = {k: meta[k] for k in ("backtest_text", "passes", "alpha", "credit_cost_missing")}
    store["projection"] = projections.Projection(**values)
    store["targets"] = {t.name: t for t in targets.DEFAULT_TARGETS}
    return store


def _prepare_projections(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    s = PROJECTION_SETTINGS
    target_set = targets.DEFAULT_TARGETS
    base = targets.baseline(
        classified,
        target_set,
        disadvantaged=load_disadvantaged(),
        minority_areas=targets.minority_areas(classified),
        standard=s["standard"],
        min_cell=min_cell,
    )
    look = outlook.outlook(classified, min_cell=min_cell, cache=config.cache_dir())
    communes = look.projection
    # Without cost (and the report says why) on NoVariation (no poor borrower, comparison or
    # pre-period), DesignError (covariates unusable here) or an effect not above zero (unbounded
    # cost); any other error (bad loan records, a bug) propagates.
    try:
        cost, missing = credit.cost_per_exit(classified, loans), None
    except (NoVariation, DesignError) as exc:
        cost, missing = None, f"{type(exc).__name__}: {exc}"
    if cost is not None and not (np.isfinite(cost.vnd_per_exit) and cost.vnd_per_exit > 0):
        cost, missing = None, f"{NOT_POSITIVE}: estimated effect {cost.effect.estimate:.4f}"
    table = requirements.commune_requirements(
        communes,
        target_set,
        base,
        fallback=s["fallback"],
        fallback_rule=s["fallback_rule"],
        cost_per_exit=cost,
        min_cell=min_cell,
    )
    passes = look.passes
    _save_projection(
        folder,
        communes,
        {
            "backtest_text": {lang: look.backtest_text(lang) for lang in ("vi", "en")},
            "passes": passes.item() if isinstance(passes, np.generic) else passes,
            "alpha": float(look.alpha),
            "credit_cost_missing": missing,
        },
    )
    return table.reset_index(drop=True)


_PREPARE_OPTIONAL = {
    "map": _prepare_map,
    "targeting": _prepare_targeting,
    "projections": _prepare_projections,
    "risk": _prepare_risk,
    "exits": grassroots.prepare_exits,
    "villages": grassroots.prepare_villages,
}


def prepare(*, min_cell: int | None = None) -> Path:
    """Compute once, for every unit, the tables the commune reports read; write them to :func:`context_dir`.

    Writes as Parquet ``units`` (names, types, predecessors), ``commune_rates`` and
    ``area_rates`` (:func:`povanalysis.measure.aggregates.poverty_counts` by commune, and by old
    area and province, per review), ``ethnicity`` (small groups pooled), ``af``
    (Alkire–Foster by commune and review, under each review's standard) and ``credit``
    (VBSP loans by commune, year and programme); the simplified boundaries and the tables
    of the optional sections (:data:`OPTIONAL_SECTIONS`) when their modules are present
    (``exits`` and ``villages``: :mod:`povanalysis.reports.grassroots`, whose village decision
    the risk table then follows);
    and ``manifest.json``: the inputs' fingerprints, the sections available (with the
    reason for any left out) and a content digest of the rows shared by all reports and
    of each commune's rows, so the batch runner redoes only the reports whose rows
    changed.  Every file is replaced atomically.

    Parameters
    ----------
    min_cell : int, optional
        Smallest number of households behind a published figure (default
        :data:`povanalysis.config.MIN_CELL`).

    Returns
    -------
    Path
        The folder written.
    """
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"min_cell must be at least 1, got {limit}")
    inputs = _inputs()
    folder = context_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "projections.pkl").unlink(missing_ok=True)  # written by the layout of FORMAT 1
    classified = load_classified()
    loans = load_loans()
    tables = {
        "units": _units_table(),
        "commune_rates": poverty_counts(classified, by=("commune_code", "review_year"), min_cell=limit),
        "area_rates": pd.concat(
            [
                poverty_counts(classified, by=("old_area", "review_year"), min_cell=limit),
                poverty_counts(classified, by=("review_year",), min_cell=limit).assign(old_area="province"),
            ],
            ignore_index=True,
        ),
        **_household_tables(classified, limit),
        "af": _af_table(classified, limit),
        "credit": published.credit_table(credit_table(classified, loans, limit), min_cell=limit),
    }
    sections, skipped = {}, {}
    for name in OPTIONAL_SECTIONS:
        try:
            extra = _PREPARE_OPTIONAL[name](folder, classified, loans, limit)
        except Exception as exc:  # an optional section never stops the reports: it is left out
            sections[name], skipped[name] = False, f"{type(exc).__name__}: {exc}"
            logger.warning("the %s section is left out of every report: %s", name, skipped[name])
            (folder / f"{name}.parquet").unlink(missing_ok=True)
            if name == "projections":
                for path in folder.glob(_PROJECTION_FILES):
                    path.unlink()
            continue
        sections[name] = True
        if extra is not None:
            tables[name] = extra
    if sections["risk"] and sections["villages"]:  # one decision on a commune's households at risk
        tables["risk"] = grassroots.risk_marks(tables["risk"], tables["villages"])
    if not sections["map"]:
        (folder / "boundaries.parquet").unlink(missing_ok=True)
        (folder / "boundaries.json").unlink(missing_ok=True)
    shared = hashlib.sha256(json.dumps([FORMAT, limit, sections], sort_keys=True).encode())
    communes: dict[str, hashlib._Hash] = {}
    for name in sorted(tables):
        write_parquet(tables[name].reset_index(drop=True), folder / f"{name}.parquet")
        common, per = _row_digests(tables[name])
        shared.update(f"{name}:{common}".encode())
        for code, digest in per.items():
            communes.setdefault(code, hashlib.sha256()).update(f"{name}:{digest}".encode())
    if sections["map"]:
        # every report's map shows every commune's rate
        shown = tables["commune_totals"][["commune_code", "review_year", "poor_rate", "poor_rate__hidden"]]
        shared.update(b"map:" + _row_digests(shown.rename(columns={"commune_code": "unit"}))[0].encode())
        for name in ("boundaries.parquet", "boundaries.json"):
            shared.update(file_digest(folder / name).encode())
    if sections["projections"]:
        for path in sorted(folder.glob(_PROJECTION_FILES)):
            shared.update(path.name.encode() + file_digest(path).encode())
    manifest = {
        "inputs": inputs,
        "min_cell": limit,
        "synthetic": load_truth() is not None,
        "review_years": sorted(int(y) for y in tables["commune_rates"]["review_year"].unique()),
        "sections": sections,
        "skipped": skipped,
        "shared": shared.hexdigest(),
        "communes": {code: h.hexdigest() for code, h in sorted(communes.items())},
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return folder


def read_manifest() -> dict | None:
    """The manifest of the prepared tables, or None when nothing is prepared."""
    path = context_dir() / "manifest.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of a manifest: identifies one preparation of the tables."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def ensure_prepared(*, force: bool = False) -> dict:
    """Run :func:`prepare` unless the prepared tables match the current inputs; return the manifest.

    When ``$POVANALYSIS_REPORT_CONTEXT`` holds a manifest digest (the batch runner sets it
    in its kernels), the prepared tables are used as they are, and a different preparation
    is an error: reports of one batch all read the same tables.
    """
    manifest = read_manifest()
    pinned = os.environ.get(CONTEXT_ENV)
    if pinned and not force:
        if manifest is None or manifest_digest(manifest) != pinned:
            raise RuntimeError(
                # no path: the batch publishes a failed report's error in its summary
                f"the prepared tables (processed/report of the data folder) changed during the batch "
                f"(${CONTEXT_ENV} pins {pinned[:12]})"
            )
        return manifest
    if force or manifest is None or manifest.get("inputs") != _inputs():
        prepare()
        manifest = read_manifest()
    return manifest


@lru_cache(maxsize=2)
def _load_tables(folder: str, stamp: str) -> dict:
    base = Path(folder)
    out = {name: pd.read_parquet(base / f"{name}.parquet") for name in _TABLES}
    for name in ("targeting", "projections", "risk", "exits", "villages"):
        if (base / f"{name}.parquet").exists():
            out[name] = pd.read_parquet(base / f"{name}.parquet")
    if (base / "projection.json").exists() and "projections" in out:
        out["projection"] = _load_projection(base)
    if (base / "boundaries.parquet").exists():
        out["boundaries"] = _read_boundaries(base)
    return out


def shared_tables() -> tuple[dict, dict]:
    """The prepared tables (read once per process, preparing them first if needed) and the manifest."""
    manifest = ensure_prepared()
    return _load_tables(str(context_dir()), manifest_digest(manifest)), manifest


# ----------------------------------------------------------------------------- one commune


@dataclass(frozen=True)
class CommuneContext:
    """Everything one commune's report shows, cut from the prepared tables.

    Attributes
    ----------
    code : str
        Official 5-digit code of the unit (vintage 2025).
    review_year : int
        The review the report describes.
    unit : dict
        ``name``, ``unit_type``, ``old_area``, ``slug`` and the predecessors (``|``-joined).
    rates : DataFrame
        The commune's rows of :func:`povanalysis.measure.aggregates.poverty_counts` by review,
        with ``poor_rate__hidden`` and ``near_poor_rate__hidden``: the disclosure rule does not
        publish the rate as a number (:mod:`povanalysis.reports.published`).
    areas : DataFrame
        The same for its old area and the province (``old_area`` is the area key or ``province``).
    ethnicity, af, credit : DataFrame
        The commune's rows of the prepared tables (``ethnicity``: its published ethnic groups).
    all_rates : DataFrame
        Every commune's rates at ``review_year`` (for the map), ``suppressed`` where the rule
        does not publish the poor rate as a number.
    sections : dict
        Which optional sections are available.
    extra : dict
        The commune's rows of the optional tables, and ``boundaries`` when the map is available.
    min_cell : int
        The suppression limit the tables were prepared with.
    synthetic : bool
        Whether the data come from the synthetic generator.
    published : DataFrame
        The rows of :func:`povanalysis.reports.published.household_table` a commune page
        prints: its ethnic groups, the commune, its old area and the province, every review.
    """

    code: str
    review_year: int
    unit: dict
    rates: pd.DataFrame
    areas: pd.DataFrame
    ethnicity: pd.DataFrame
    af: pd.DataFrame
    credit: pd.DataFrame
    all_rates: pd.DataFrame
    sections: dict
    min_cell: int
    synthetic: bool
    extra: dict = field(default_factory=dict)
    published: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def name(self) -> str:
        """The unit's Vietnamese name."""
        return self.unit["name"]

    def current(self) -> pd.Series:
        """The commune's row at ``review_year``."""
        return self.rates.loc[self.rates["review_year"] == self.review_year].iloc[0]

    @cached_property
    def exits(self) -> Exits | None:
        """The commune's lasting exits as known at ``review_year`` (:func:`grassroots.read_exits`).

        None when the data give no exits section or the commune no exit yet.  Computed on first
        use and kept: the section's sentence, chart and table of one report read the same object.
        """
        if not self.sections.get("exits"):
            return None
        return grassroots.read_exits(self.extra.get("exits"), min_cell=self.min_cell, review_year=self.review_year)


def _check_code(commune_code) -> str:
    if not isinstance(commune_code, str):
        raise ValueError(f"commune_code must be a string of 5 digits, got {commune_code!r}")
    if commune_code not in registry.known_codes():
        raise ValueError(f"commune_code {commune_code!r} is not one of the 92 units of Thai Nguyen (vintage 2025)")
    return commune_code


def commune_context(commune_code: str, *, review_year: int) -> CommuneContext:
    """The rows of one commune's report, read from the prepared tables (prepared first if missing or stale).

    Parameters
    ----------
    commune_code : str
        Official 5-digit code of a unit of the 2025 registry.
    review_year : int
        A review year present in the data.

    Returns
    -------
    CommuneContext

    Raises
    ------
    ValueError
        Unknown code or review year.
    """
    code = _check_code(commune_code)
    if isinstance(review_year, bool) or not isinstance(review_year, (int, np.integer)):
        raise ValueError(f"review_year must be an integer year, got {review_year!r}")
    tables, manifest = shared_tables()
    years = manifest["review_years"]
    if int(review_year) not in years:
        raise ValueError(f"review_year {review_year!r} is not a review in the data (reviews: {years})")
    year = int(review_year)
    unit = tables["units"].set_index("commune_code").loc[code].to_dict()

    def rows(name: str) -> pd.DataFrame:
        t = tables[name]
        return t.loc[t["commune_code"] == code].reset_index(drop=True)

    marks = ["poor_rate__hidden", "near_poor_rate__hidden"]
    totals = rows("commune_totals")
    rates = rows("commune_rates").merge(totals[["review_year", *marks]], on="review_year", how="left")
    if not (rates["review_year"] == year).any():
        raise ValueError(f"commune {code} has no households at the {year} review")
    rates[marks] = rates[marks].fillna(True).astype(bool)
    area_keys = [unit["old_area"], published.PROVINCE]
    area_totals = tables["area_totals"]
    area_totals = area_totals[area_totals["old_area"].isin(area_keys)].assign(commune_code=published.ALL)
    areas = tables["area_rates"]
    areas = areas.loc[areas["old_area"].isin(area_keys)].reset_index(drop=True)
    areas = areas.merge(area_totals[["old_area", "review_year", *marks]], on=["old_area", "review_year"], how="left")
    areas[marks] = areas[marks].fillna(True).astype(bool)
    every = tables["commune_totals"]
    every = every.loc[every["review_year"] == year].set_index("commune_code")["poor_rate__hidden"]
    all_rates = tables["commune_rates"]
    all_rates = all_rates.loc[all_rates["review_year"] == year].reset_index(drop=True)
    hidden = all_rates["commune_code"].map(every).fillna(True).astype(bool)
    all_rates = all_rates.assign(suppressed=all_rates["suppressed"] | hidden)
    page = pd.concat([rows("ethnicity").drop(columns="suppressed"), totals, area_totals], ignore_index=True)
    extra = {name: rows(name) for name in ("targeting", "projections", "risk", "exits", "villages") if name in tables}
    if "projection" in tables:
        extra["projection"] = tables["projection"]
    if "boundaries" in tables:
        extra["boundaries"] = tables["boundaries"]
    return CommuneContext(
        code=code,
        review_year=year,
        unit=unit,
        rates=rates,
        areas=areas,
        ethnicity=rows("ethnicity"),
        af=rows("af"),
        credit=rows("credit"),
        all_rates=all_rates,
        sections=dict(manifest["sections"]),
        min_cell=int(manifest["min_cell"]),
        synthetic=bool(manifest.get("synthetic")),
        extra=extra,
        published=page,
    )


def key_figures(*, review_year: int, marks: bool = False, lang: str = "vi") -> pd.DataFrame:
    """One row per unit with the report's headline figures at a review, under the disclosure rule.

    Columns: ``commune_code``, ``name``, ``unit_type``, ``old_area``, ``slug``,
    ``households``, ``poor``, ``poor_rate``, ``near_poor``, ``near_poor_rate``,
    ``change_points`` (poor rate change since the first review, in percentage points, shown
    only when both rates are), ``minority_share_of_poor``, ``borrowers`` and
    ``amount_million`` (loans of that year), and ``at_risk`` / ``coverage`` when those
    sections are available.

    Parameters
    ----------
    review_year : int
    marks : bool, default False
        False: numbers, NaN where the rule hides a figure.  True: what the workbook and the
        index print: numbers (rates as shares rounded as shown), ``< 10`` for a small count,
        a band (``< 5%``) for its rate, ``–`` for a figure hidden to protect another or missing.
    lang : {"vi", "en"}
        The number format of the bands.
    """
    from .disclosure import DASH

    tables, manifest = shared_tables()
    if int(review_year) not in manifest["review_years"]:
        raise ValueError(
            f"review_year {review_year!r} is not a review in the data (reviews: {manifest['review_years']})"
        )
    limit = int(manifest["min_cell"])
    less = f"< {limit}"
    units = tables["units"][["commune_code", "name", "unit_type", "old_area", "slug"]]
    out = units.set_index("commune_code").copy()
    totals = tables["commune_totals"]
    now = totals[totals["review_year"] == review_year].reset_index(drop=True)
    p = published.restore(now, published.HOUSEHOLDS, min_cell=limit)
    shown = p.for_workbook(lang).set_index(now["commune_code"])
    hidden = p.hidden.set_index(now["commune_code"])
    cols = ["households", "poor", "poor_rate", "near_poor", "near_poor_rate"]

    def put(name: str, cells: pd.Series, hide: pd.Series, value: pd.Series) -> None:
        cells, hide = cells.reindex(out.index), hide.reindex(out.index).fillna(True).astype(bool)
        if marks:
            out[name] = cells.where(cells.notna(), DASH).astype(object)
        else:
            out[name] = value.reindex(out.index).astype(float).where(~hide)

    for c in cols:
        put(c, shown[c], hidden[c], p.values.set_index(now["commune_code"])[c])
    share = now.set_index("commune_code")
    hide = share["minority_share_of_poor__hidden"].astype(bool)
    value = share["minority_share_of_poor"].round(4)
    put("minority_share_of_poor", value.astype(object).where(~hide, DASH), hide, value)
    first = totals[totals["review_year"] == min(manifest["review_years"])].set_index("commune_code")
    rate_now = now.set_index("commune_code")
    change = (100 * (rate_now["poor_rate"] - first["poor_rate"])).round(2)
    hide_change = rate_now["poor_rate__hidden"] | first["poor_rate__hidden"].reindex(rate_now.index, fill_value=True)
    put("change_points", change.where(~hide_change, DASH), hide_change, change)
    credit = tables["credit"]
    c = credit[(credit["programme"] == "all") & (credit["year"] == review_year)].set_index("commune_code")
    hide = c["borrowers__hidden"].astype(bool)
    mark = pd.Series(np.where(c["borrowers__reason"] == "complement", DASH, less), index=c.index)
    put("borrowers", c["borrowers"].astype(object).where(~hide, mark), hide, c["borrowers"])
    amount = (c["amount"] / 1e6).round(0)
    put("amount_million", amount.astype(object).where(~hide, DASH), hide, c["amount"] / 1e6)
    if manifest["sections"].get("risk") and "risk" in tables:
        r = tables["risk"]
        r = r[r["review_year"] == review_year].set_index("commune_code")
        hide = r["at_risk__hidden"].astype(bool)
        mark = pd.Series(np.where(r["at_risk__reason"] == "complement", DASH, less), index=r.index)
        put("at_risk", r["at_risk"].astype(object).where(~hide, mark), hide, r["at_risk"])
    if manifest["sections"].get("targeting") and "targeting" in tables:
        t = tables["targeting"]
        t = t[(t["programme"] == "all") & (t["loan_year"] == review_year)].set_index("commune_code")
        hide = t["coverage__hidden"].astype(bool)
        band = t["coverage__band"]
        bands = pd.Series([published.band_text(b, lang) for b in band], index=t.index)
        put("coverage", t["coverage"].round(4).astype(object).where(~hide, bands), hide, t["coverage"])
    return out.reset_index()
