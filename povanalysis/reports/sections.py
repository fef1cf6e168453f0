"""The per-commune report: shared tables prepared once for all units, and the text, tables and figures of one commune."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import HTML, Markdown

from .. import config
from ..goals import outlook
from ..data import registry
from ..measure.aggregates import poverty_counts, suppress
from ..figures.charts import contribution_bars, deprivation_profile, rate_trend
from ..common.labels import check_lang, format_number, format_percent, label, pick

__all__ = [
    "FORMAT",
    "OPTIONAL_SECTIONS",
    "FAIL_ENV",
    "CONTEXT_ENV",
    "REPORT_MODULES",
    "PROJECTION_SETTINGS",
    "CommuneContext",
    "code_digest",
    "context_dir",
    "prepare",
    "ensure_prepared",
    "manifest_digest",
    "read_manifest",
    "shared_tables",
    "commune_context",
    "title",
    "section",
    "overview_text",
    "households_text",
    "trend_text",
    "rate_figure",
    "profile_text",
    "profile_figure",
    "contribution_figure",
    "ethnicity_text",
    "ethnicity_table",
    "credit_text",
    "credit_table",
    "coverage_text",
    "map_figure",
    "path_text",
    "path_figure",
    "risk_text",
    "key_figures",
]

#: Version of the prepared-table layout; a change invalidates every prepared folder.
FORMAT = 1

#: Report sections that need modules which a deployment may lack; each appears only when its
#: module imports and its shared table could be computed (see :func:`prepare`).
OPTIONAL_SECTIONS: tuple[str, ...] = ("map", "targeting", "projections", "risk")

#: Environment variable listing commune codes (comma-separated) whose report must fail: a
#: fault-injection switch for exercising the batch runner's failure handling.
FAIL_ENV = "POVANALYSIS_FAIL_COMMUNES"

#: Environment variable pinning the preparation (manifest digest) that reports must read.
CONTEXT_ENV = "POVANALYSIS_REPORT_CONTEXT"

_TABLES = ("units", "commune_rates", "area_rates", "ethnicity", "af", "credit")

_TEXT = {
    "ward": ("phường", "ward"),
    "commune": ("xã", "commune"),
    "town": ("thị trấn", "town"),
    "overview": ("Tổng quan", "Overview"),
    "trend": ("Tỷ lệ hộ nghèo và cận nghèo qua các kỳ rà soát", "Poor and near-poor rates over the reviews"),
    "profile": ("Hồ sơ thiếu hụt đa chiều (Alkire–Foster)", "Multidimensional deprivation profile (Alkire–Foster)"),
    "ethnicity": ("Thành phần dân tộc", "Ethnic groups"),
    "map": ("Bản đồ", "Map"),
    "credit": ("Tín dụng chính sách (Ngân hàng Chính sách xã hội)", "Policy credit (Vietnam Bank for Social Policies)"),
    "targeting": ("Độ bao phủ và sai lệch đối tượng vay vốn", "Coverage of eligible households and leakage"),
    "projections": ("Lộ trình giảm nghèo 2026–2030", "Poverty-reduction path 2026–2030"),
    "risk": ("Hộ có nguy cơ tái nghèo", "Households at risk of falling back into poverty"),
    "other_groups": ("Dân tộc khác", "Other groups"),
    "programme_poor": ("Hộ nghèo", "Poor households"),
    "programme_near_poor": ("Hộ cận nghèo", "Near-poor households"),
    "programme_newly_escaped": ("Hộ mới thoát nghèo", "Newly escaped households"),
    "year": ("Năm giải ngân", "Year disbursed"),
    "loans": ("Số khoản vay", "Loans"),
    "borrowers": ("Số hộ vay", "Borrowing households"),
    "amount": ("Số tiền (triệu đồng)", "Amount (million VND)"),
    "share_households": ("Tỷ lệ trong tổng số hộ", "Share of households"),
    "poor_households": ("Số hộ nghèo", "Poor households"),
    "fewer_than": ("dưới {n}", "fewer than {n}"),
}


def _t(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


# ----------------------------------------------------------------------------- digests and files


#: Modules whose code shapes a report (with the modules they import, found by :func:`code_digest`).
REPORT_MODULES: tuple[str, ...] = ("report", "html", "index", "batch", "engine", "geo", "maps", "targeting",
                                   "risk", "projections", "targets", "credit")


def _local_imports(path: Path) -> frozenset[str]:
    st = path.stat()
    return _parse_imports(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _parse_imports(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """Modules of the package imported by one source file (cached per file version)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return frozenset(names)


def code_digest() -> str:
    """SHA-256 of the source of the modules that draw a report, and of the modules they import.

    A change in that code makes the prepared tables and every report out of date; changes
    in other modules of the package do not.

    Examples
    --------
    >>> len(code_digest())
    64
    """
    base = Path(__file__).resolve().parent
    seen, todo = set(), [m for m in REPORT_MODULES if (base / f"{m}.py").exists()]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [m for m in _local_imports(base / f"{name}.py") if (base / f"{m}.py").exists() and m not in seen]
    h = hashlib.sha256()
    for name in sorted(seen):
        h.update(name.encode() + b"\0" + (base / f"{name}.py").read_bytes())
    return h.hexdigest()


def context_dir() -> Path:
    """Folder of the prepared tables: ``<processed>/report`` of the current data root."""
    return config.processed_dir() / "report"


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _fingerprint(path: Path) -> list | None:
    """Size and modification time of an input file (cheap at any scale), or None when absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _boundaries_path() -> str | None:
    return os.environ.get("POVANALYSIS_BOUNDARIES") or None


def _inputs() -> dict:
    """What the prepared tables depend on, compared by :func:`ensure_prepared`."""
    files = {
        "households_classified": config.processed_dir() / "households_classified.parquet",
        "loans": config.processed_dir() / "loans.parquet",
        "disadvantaged": config.raw_dir() / "disadvantaged_communes.csv",
        "truth": config.raw_dir() / "truth.json",
    }
    boundaries = _boundaries_path()
    if boundaries:
        files["boundaries"] = Path(boundaries)
    return {
        "format": FORMAT,
        "min_cell": config.MIN_CELL,
        "code": code_digest(),
        "files": {name: [str(path), _fingerprint(path)] for name, path in files.items()},
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
    return (hashlib.sha256(header).hexdigest(),
            {str(k): hashlib.sha256(header + p.tobytes()).hexdigest() for k, p in zip(keys, parts)})


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


def _ethnic_groups(classified: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Households and poor households by commune, review and ethnicity, with small groups pooled.

    Within a commune and review the groups are ordered by size; every group under
    ``min_cell`` households goes into a pool (``ethnicity == "other"``), and while the pool
    holds fewer than ``min_cell`` households the next smallest group joins it, so that no
    small group can be recovered by subtracting the others from the commune total.  A pool
    that stays small (the whole commune is small) is flagged ``suppressed``.
    """
    keys = ["commune_code", "review_year"]
    t = poverty_counts(classified, by=(*keys, "ethnicity"), min_cell=min_cell)
    t = t.sort_values([*keys, "households", "ethnicity"], kind="stable").reset_index(drop=True)
    groups = [t[k] for k in keys]
    before = t.groupby(keys)["households"].cumsum() - t["households"]
    small = t["households"] < min_cell
    pooled = small | (small.groupby(groups).transform("any") & (before < min_cell))
    t["ethnicity"] = t["ethnicity"].where(~pooled, "other")
    out = t.groupby([*keys, "ethnicity"], sort=True)[["households", "persons", "poor", "near_poor"]].sum().reset_index()
    out["poor_rate"] = out["poor"] / out["households"]
    out["share"] = out["households"] / out.groupby(keys)["households"].transform("sum")
    return suppress(out, min_cell=min_cell)


def _af_table(classified: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    from ..measure.indicators import alkire_foster
    from ..measure.standards import get_standard

    parts = []
    for key, scope in classified.groupby("standard", sort=True):
        std = get_standard(key)
        af = alkire_foster(scope, weights=std.weights(), k=std.k, by=["commune_code", "review_year"])
        parts.append(af[af["commune_code"].notna()].assign(standard=key))
    out = pd.concat(parts, ignore_index=True)
    out["review_year"] = out["review_year"].astype("int64")
    out["suppressed"] = out["n"] < min_cell
    return out


def _credit_table(classified: pd.DataFrame, loans: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Loans, borrowing households and amounts by commune, disbursement year and programme.

    ``programme == "all"`` is any programme.  Rows with fewer than ``min_cell`` borrowers
    are flagged ``suppressed``; when exactly one programme of a commune-year is flagged,
    the next smallest is flagged too, so it cannot be recovered from the total.
    """
    home = classified.drop_duplicates("household_id", keep="last").set_index("household_id")["commune_code"]
    work = pd.DataFrame({
        "commune_code": loans["household_id"].map(home).to_numpy(),
        "year": pd.DatetimeIndex(loans["disbursed"]).year.to_numpy().astype("int64"),
        "programme": loans["programme"].astype(str).to_numpy(),
        "household_id": loans["household_id"].to_numpy(),
        "amount": loans["amount"].to_numpy(dtype=float),
    })
    unknown = work["commune_code"].isna()
    if unknown.any():
        raise ValueError(f"'loans': {int(unknown.sum())} loans go to households absent from the review file, "
                         f"the first to {work.loc[unknown, 'household_id'].iloc[0]!r}")
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


def _optional(name: str):
    """An optional module of the package, or None when it is absent or does not import."""
    try:
        return importlib.import_module(f"povanalysis.{name}")
    except ImportError:
        return None


def _require_module(name: str):
    module = _optional(name)
    if module is None:
        raise ImportError(f"povanalysis.{name} is not available")
    return module


def _prepare_map(folder: Path, classified, loans, min_cell) -> None:
    """Simplify the boundaries once for every report (coverage-preserving, :func:`povanalysis.geo.boundaries.boundaries.simplify`)."""
    geo = _require_module("geo")
    _require_module("maps")
    simple = geo.simplify(geo.default_boundaries())
    attrs = {k: v for k, v in simple.attrs.items() if isinstance(v, (str, int, float, bool))}
    tmp = folder / f".boundaries.{os.getpid()}.tmp.parquet"
    simple.to_parquet(tmp, index=False)
    os.replace(tmp, folder / "boundaries.parquet")
    _atomic_bytes(folder / "boundaries.json", (json.dumps(attrs, sort_keys=True) + "\n").encode())
    return None


def _prepare_targeting(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    targeting = _require_module("targeting")
    table = targeting.accuracy(classified, loans, by=("commune_code",), min_cell=min_cell)
    keep = ["loan_year", "review_year", "commune_code", "programme", "eligible", "reached", "coverage",
            "loans", "inclusion_errors", "inclusion_share", "suppressed"]
    return table[keep].reset_index(drop=True)


def _prepare_risk(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    risk = _require_module("risk")
    model = risk.fit_fallback_model(classified, loans)
    # the model looks forward from the latest review (it is evaluated out of time on it): only
    # that review's newly escaped households are scored
    scores = model.score(classified, loans=loans)
    table = risk.at_risk_counts(scores, by="commune_code", min_cell=min_cell)
    table["threshold"] = float(risk.DEFAULT_RISK_THRESHOLD)
    return table.drop(columns="expected_fallbacks").reset_index(drop=True)


#: Settings of the 2026–2030 section: those of notebook ``03-targets-2026-2030``
#: (:data:`povanalysis.goals.outlook.DEFAULT_SETTINGS`, one table for both).
PROJECTION_SETTINGS = outlook.DEFAULT_SETTINGS


def _prepare_projections(folder: Path, classified, loans, min_cell) -> pd.DataFrame:
    import pickle

    projections = _require_module("projections")
    targets = _require_module("targets")
    from ..data.pipeline import load_disadvantaged

    s = PROJECTION_SETTINGS
    target_set = targets.DEFAULT_TARGETS
    base = targets.baseline(classified, target_set, disadvantaged=load_disadvantaged(),
                            minority_areas=targets.minority_areas(classified), standard=s["standard"],
                            min_cell=min_cell)
    look = outlook.outlook(classified, min_cell=min_cell)
    communes = look.projection
    cost = None
    credit = _optional("credit")
    if credit is not None:
        try:
            cost = credit.cost_per_exit(classified, loans)
        except Exception:  # no credit figure: the requirements are given without their cost
            cost = None
    table = projections.commune_requirements(communes, target_set, base, fallback=s["fallback"],
                                             fallback_rule=s["fallback_rule"], cost_per_exit=cost, min_cell=min_cell)
    _atomic_bytes(folder / "projections.pkl", pickle.dumps(
        {"projection": communes, "targets": {t.name: t for t in target_set},
         "backtest_text": {lang: look.backtest_text(lang) for lang in ("vi", "en")}, "passes": look.passes,
         "alpha": look.alpha}, protocol=pickle.HIGHEST_PROTOCOL))
    return table.reset_index(drop=True)


_PREPARE_OPTIONAL = {
    "map": _prepare_map,
    "targeting": _prepare_targeting,
    "projections": _prepare_projections,
    "risk": _prepare_risk,
}


def prepare(*, min_cell: int | None = None) -> Path:
    """Compute once, for every unit, the tables the commune reports read; write them to :func:`context_dir`.

    Writes as Parquet ``units`` (names, types, predecessors), ``commune_rates`` and
    ``area_rates`` (:func:`povanalysis.measure.aggregates.poverty_counts` by commune, and by old
    area and province, per review), ``ethnicity`` (small groups pooled), ``af``
    (Alkire–Foster by commune and review, under each review's standard) and ``credit``
    (VBSP loans by commune, year and programme); the simplified boundaries and the tables
    of the optional sections (:data:`OPTIONAL_SECTIONS`) when their modules are present;
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
    from ..data.pipeline import load_classified, load_loans, load_truth

    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"min_cell must be at least 1, got {limit}")
    inputs = _inputs()
    folder = context_dir()
    folder.mkdir(parents=True, exist_ok=True)
    classified = load_classified()
    loans = load_loans()
    tables = {
        "units": _units_table(),
        "commune_rates": poverty_counts(classified, by=("commune_code", "review_year"), min_cell=limit),
        "area_rates": pd.concat([
            poverty_counts(classified, by=("old_area", "review_year"), min_cell=limit),
            poverty_counts(classified, by=("review_year",), min_cell=limit).assign(old_area="province"),
        ], ignore_index=True),
        "ethnicity": _ethnic_groups(classified, limit),
        "af": _af_table(classified, limit),
        "credit": _credit_table(classified, loans, limit),
    }
    sections, skipped = {}, {}
    for name in OPTIONAL_SECTIONS:
        try:
            extra = _PREPARE_OPTIONAL[name](folder, classified, loans, limit)
        except Exception as exc:  # an optional section never stops the reports: it is left out
            sections[name], skipped[name] = False, f"{type(exc).__name__}: {exc}"
            (folder / f"{name}.parquet").unlink(missing_ok=True)
            if name == "projections":
                (folder / "projections.pkl").unlink(missing_ok=True)
            continue
        sections[name] = True
        if extra is not None:
            tables[name] = extra
    if not sections["map"]:
        (folder / "boundaries.parquet").unlink(missing_ok=True)
        (folder / "boundaries.json").unlink(missing_ok=True)
    shared = hashlib.sha256(json.dumps([FORMAT, limit, sections], sort_keys=True).encode())
    communes: dict[str, hashlib._Hash] = {}
    for name in sorted(tables):
        _write_table(tables[name], folder / f"{name}.parquet")
        common, per = _row_digests(tables[name])
        shared.update(f"{name}:{common}".encode())
        for code, digest in per.items():
            communes.setdefault(code, hashlib.sha256()).update(f"{name}:{digest}".encode())
    if sections["map"]:
        for name in ("boundaries.parquet", "boundaries.json"):
            shared.update(hashlib.sha256((folder / name).read_bytes()).digest())
    if sections["projections"]:
        shared.update(hashlib.sha256((folder / "projections.pkl").read_bytes()).digest())
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
    _atomic_bytes(folder / "manifest.json", (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
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
            raise RuntimeError(f"the prepared tables in {context_dir()} changed during the batch "
                               f"(${CONTEXT_ENV} pins {pinned[:12]})")
        return manifest
    if force or manifest is None or manifest.get("inputs") != _inputs():
        prepare()
        manifest = read_manifest()
    return manifest


@lru_cache(maxsize=2)
def _load_tables(folder: str, stamp: str) -> dict:
    base = Path(folder)
    out = {name: pd.read_parquet(base / f"{name}.parquet") for name in _TABLES}
    for name in ("targeting", "projections", "risk"):
        if (base / f"{name}.parquet").exists():
            out[name] = pd.read_parquet(base / f"{name}.parquet")
    if (base / "projections.pkl").exists() and "projections" in out:
        import pickle

        out["projection"] = pickle.loads((base / "projections.pkl").read_bytes())
    if (base / "boundaries.parquet").exists():
        import geopandas

        out["boundaries"] = geopandas.read_parquet(base / "boundaries.parquet")
        out["boundaries"].attrs = json.loads((base / "boundaries.json").read_text(encoding="utf-8"))
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
        The commune's rows of :func:`povanalysis.measure.aggregates.poverty_counts` by review.
    areas : DataFrame
        The same for its old area and the province (``old_area`` is the area key or ``province``).
    ethnicity, af, credit : DataFrame
        The commune's rows of the prepared tables.
    all_rates : DataFrame
        Every commune's rates at ``review_year`` (for the map).
    sections : dict
        Which optional sections are available.
    extra : dict
        The commune's rows of the optional tables, and ``boundaries`` when the map is available.
    min_cell : int
        The suppression limit the tables were prepared with.
    synthetic : bool
        Whether the data come from the synthetic generator.
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

    @property
    def name(self) -> str:
        """The unit's Vietnamese name."""
        return self.unit["name"]

    def current(self) -> pd.Series:
        """The commune's row at ``review_year``."""
        return self.rates.loc[self.rates["review_year"] == self.review_year].iloc[0]


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
        Unknown code or review year; a code listed in ``$POVANALYSIS_FAIL_COMMUNES``
        (fault injection for testing batch runs) raises ``RuntimeError``.
    """
    code = _check_code(commune_code)
    if isinstance(review_year, bool) or not isinstance(review_year, (int, np.integer)):
        raise ValueError(f"review_year must be an integer year, got {review_year!r}")
    injected = {c.strip() for c in os.environ.get(FAIL_ENV, "").split(",") if c.strip()}
    if code in injected:
        raise RuntimeError(f"commune {code}: failure injected through ${FAIL_ENV}")
    tables, manifest = shared_tables()
    years = manifest["review_years"]
    if int(review_year) not in years:
        raise ValueError(f"review_year {review_year!r} is not a review in the data (reviews: {years})")
    year = int(review_year)
    unit = tables["units"].set_index("commune_code").loc[code].to_dict()

    def rows(name: str) -> pd.DataFrame:
        t = tables[name]
        return t.loc[t["commune_code"] == code].reset_index(drop=True)

    rates = rows("commune_rates")
    if not (rates["review_year"] == year).any():
        raise ValueError(f"commune {code} has no households at the {year} review")
    areas = tables["area_rates"]
    areas = areas.loc[areas["old_area"].isin([unit["old_area"], "province"])].reset_index(drop=True)
    all_rates = tables["commune_rates"]
    extra = {name: rows(name) for name in ("targeting", "projections", "risk") if name in tables}
    if "projection" in tables:
        extra["projection"] = tables["projection"]
    if "boundaries" in tables:
        extra["boundaries"] = tables["boundaries"]
    return CommuneContext(
        code=code, review_year=year, unit=unit, rates=rates, areas=areas, ethnicity=rows("ethnicity"),
        af=rows("af"), credit=rows("credit"),
        all_rates=all_rates.loc[all_rates["review_year"] == year].reset_index(drop=True),
        sections=dict(manifest["sections"]), min_cell=int(manifest["min_cell"]),
        synthetic=bool(manifest.get("synthetic")), extra=extra,
    )


# ----------------------------------------------------------------------------- text helpers


def _pct(value, lang: str) -> str:
    return format_percent(float(value), lang)


def _num(value, lang: str, digits: int = 0) -> str:
    return format_number(float(value), lang, digits=digits)


def _points(change: float, lang: str) -> str:
    text = f"{abs(100 * change):.2f}"
    return text.replace(".", ",") if lang == "vi" else text


def _count(value, lang: str, min_cell: int) -> str:
    """A household count, or "fewer than <min_cell>" when it is under the limit."""
    if value < min_cell:
        return _t("fewer_than", lang).format(n=min_cell)
    return _num(value, lang)


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (" và " if lang == "vi" else " and ") + items[-1]


_SECTION_TEXT = {
    "overview": ("overview_text", "households_text"),
    "trend": ("trend_text",),
    "map": (),
    "profile": ("profile_text",),
    "ethnicity": ("ethnicity_text",),
    "credit": ("credit_text",),
    "targeting": ("coverage_text",),
    "projections": ("path_text",),
    "risk": ("risk_text",),
}


def section(key: str, ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """A section's heading and its text, or None when the section is not available.

    Sections: ``overview``, ``trend``, ``map``, ``profile``, ``ethnicity``, ``credit``
    and the optional ``targeting``, ``projections``, ``risk`` (:data:`OPTIONAL_SECTIONS`),
    which are left out when their module or table is missing.

    Examples
    --------
    >>> ctx = CommuneContext("01840", 2024, {}, *(pd.DataFrame(),) * 6, sections={"map": False},
    ...                      min_cell=10, synthetic=True)
    >>> section("map", ctx) is None
    True
    """
    check_lang(lang)
    if key not in _SECTION_TEXT:
        raise ValueError(f"section {key!r} is not one of {list(_SECTION_TEXT)}")
    if key in OPTIONAL_SECTIONS and not ctx.sections.get(key):
        return None
    parts = [f"## {_t(key, lang)}"]
    for name in _SECTION_TEXT[key]:
        text = globals()[name](ctx, lang=lang)
        if text is None:
            return None
        parts.append(text.data)
    return Markdown("\n\n".join(parts))


def title(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The report's title: the unit's name, the review, its code, and a warning when the data are synthetic.

    Examples
    --------
    >>> ctx = CommuneContext("01840", 2024, {"name": "Phường Đức Xuân"}, *(pd.DataFrame(),) * 6,
    ...                      sections={}, min_cell=10, synthetic=False)
    >>> print(title(ctx, lang="en").data)
    # Phường Đức Xuân
    <BLANKLINE>
    *Poverty report, 2024 review · code 01840*
    """
    check_lang(lang)
    sub = (f"Báo cáo giảm nghèo, kỳ rà soát năm {ctx.review_year} · mã {ctx.code}" if lang == "vi"
           else f"Poverty report, {ctx.review_year} review · code {ctx.code}")
    text = f"# {ctx.name}\n\n*{sub}*"
    if ctx.synthetic:
        text += f"\n\n**{label('source_synthetic', lang)}.**"
    return Markdown(text)


def overview_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Name, type, code, old area and the pre-2025 units the commune was formed from."""
    check_lang(lang)
    u = ctx.unit
    kind = _t(u["unit_type"], lang)
    area = label(u["old_area"], lang)
    names = u["predecessors"].split("|")
    parts = u["predecessor_parts"].split("|")
    part = " (một phần)" if lang == "vi" else " (part)"
    olds = [n + (part if p == "1" else "") for n, p in zip(names, parts)]
    districts = u["predecessor_districts"].split("|")
    if lang == "vi":
        text = f"**{u['name']}** là {kind} của tỉnh Thái Nguyên (mã {ctx.code}), thuộc {area[0].lower() + area[1:]}. "
        if u["unchanged"]:
            text += "Đơn vị giữ nguyên tên và địa giới khi sắp xếp đơn vị hành chính cấp xã ngày 1/7/2025."
        else:
            text += (f"Đơn vị được thành lập ngày 1/7/2025 từ {len(olds)} đơn vị cũ: {_join(olds, lang)} "
                     f"({_join(districts, lang)}).")
    else:
        text = f"**{u['name']}** is a {kind} of Thai Nguyen province (code {ctx.code}) in the {area[0].lower() + area[1:]}. "
        if u["unchanged"]:
            text += "It kept its name and territory in the reorganisation of 1 July 2025."
        else:
            text += (f"It was formed on 1 July 2025 from {len(olds)} former units: {_join(olds, lang)} "
                     f"({_join(districts, lang)}).")
    return Markdown(text)


def households_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Households, persons, poor and near-poor households at the review."""
    check_lang(lang)
    row = ctx.current()
    y = ctx.review_year
    if row["suppressed"]:
        text = (f"Tại kỳ rà soát năm {y}, số hộ của {ctx.name} dưới ngưỡng công bố ({ctx.min_cell} hộ)."
                if lang == "vi" else
                f"At the {y} review {ctx.name} had fewer households than the publication limit ({ctx.min_cell}).")
        return Markdown(text)
    h, p = _num(row["households"], lang), _num(row["persons"], lang)
    poor, near = _count(row["poor"], lang, ctx.min_cell), _count(row["near_poor"], lang, ctx.min_cell)
    pr, nr = _pct(row["poor_rate"], lang), _pct(row["near_poor_rate"], lang)
    if lang == "vi":
        text = (f"Tại kỳ rà soát năm {y}, {ctx.name} có {h} hộ ({p} nhân khẩu), trong đó {poor} hộ nghèo "
                f"(tỷ lệ {pr}) và {near} hộ cận nghèo (tỷ lệ {nr}).")
    else:
        s_poor, s_near = ("" if row[c] == 1 and ctx.min_cell <= 1 else "s" for c in ("poor", "near_poor"))
        text = (f"At the {y} review {ctx.name} had {h} households ({p} persons): {poor} poor household{s_poor} "
                f"(a rate of {pr}) and {near} near-poor household{s_near} ({nr}).")
    return Markdown(text)


def _change_phrase(first: pd.Series, last: pd.Series, lang: str) -> str:
    a, b = _pct(first["poor_rate"], lang), _pct(last["poor_rate"], lang)
    change = last["poor_rate"] - first["poor_rate"]
    y0, y1 = int(first["review_year"]), int(last["review_year"])
    if lang == "vi":
        verb, to = ("giảm", "xuống") if change < 0 else ("tăng", "lên")
        if change == 0:
            return f"giữ nguyên ở mức {a} từ năm {y0} đến năm {y1}"
        return f"{verb} từ {a} năm {y0} {to} {b} năm {y1} ({verb} {_points(change, lang)} điểm phần trăm)"
    if change == 0:
        return f"stayed at {a} from {y0} to {y1}"
    verb = "fell" if change < 0 else "rose"
    return f"{verb} from {a} in {y0} to {b} in {y1} ({_points(change, lang)} points)"


def trend_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """How the commune's poor rate moved since the first review, against its old area and the province."""
    check_lang(lang)
    shown = ctx.rates[~ctx.rates["suppressed"] & (ctx.rates["review_year"] <= ctx.review_year)]
    if len(shown) < 2:
        text = ("Không đủ số liệu công bố để so sánh giữa các kỳ rà soát." if lang == "vi"
                else "Too few published reviews to compare over time.")
        return Markdown(text)
    first, last = shown.iloc[0], shown.iloc[-1]
    years = [int(first["review_year"]), int(last["review_year"])]
    comparisons = []
    for key in (ctx.unit["old_area"], "province"):
        rows = ctx.areas[(ctx.areas["old_area"] == key) & ctx.areas["review_year"].isin(years)]
        rows = rows.sort_values("review_year")
        if len(rows) == 2:
            comparisons.append((label(key, lang), _change_phrase(rows.iloc[0], rows.iloc[1], lang)))
    if lang == "vi":
        text = f"Tỷ lệ hộ nghèo của {ctx.name} {_change_phrase(first, last, lang)}."
        if comparisons:
            text += " Cùng kỳ, " + "; ".join(f"{n[0].lower() + n[1:]} {p}" for n, p in comparisons) + "."
    else:
        text = f"The poor-household rate of {ctx.name} {_change_phrase(first, last, lang)}."
        if comparisons:
            text += " Over the same reviews the rate of the " + "; that of the ".join(
                f"{n[0].lower() + n[1:]} {p}" for n, p in comparisons) + "."
    return Markdown(text)


def rate_figure(ctx: CommuneContext, *, rate: str = "poor_rate", lang: str = "vi") -> go.Figure:
    """Lines of a rate over the reviews: the commune, its old area and the province (suppressed cells left out)."""
    check_lang(lang)
    commune = ctx.rates.assign(group=ctx.name)
    areas = ctx.areas.assign(group=ctx.areas["old_area"])
    table = pd.concat([commune, areas], ignore_index=True)
    table = table[table["review_year"] <= ctx.review_year]
    fig = rate_trend(table, rate=rate, group="group", lang=lang)
    fig.update_layout(height=380, legend=dict(orientation="h", y=-0.2))
    return fig


def _af_rows(ctx: CommuneContext, year: int | None = None) -> pd.DataFrame:
    af = ctx.af[~ctx.af["suppressed"]]
    return af if year is None else af[af["review_year"] == year]


def profile_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The Alkire–Foster H, A and M0 of the commune at the review, the indicator contributing most to M0,
    and the glossary that tells H from the official poor-household rate (:func:`povanalysis.common.labels.glossary`)."""
    from ..common.labels import af_cutoff, af_label, glossary
    from ..measure.standards import get_standard

    check_lang(lang)
    af = _af_rows(ctx, ctx.review_year)
    if af.empty:
        return Markdown("Số hộ dưới ngưỡng công bố." if lang == "vi" else "Too few households to publish.")
    value = af[af["indicator"].isna()].set_index("measure")["value"]
    std = get_standard(af["standard"].iloc[0])
    n_ind = len(std.columns)
    cutoff = af_cutoff(af)
    h_label = af_label("H", lang, **cutoff)
    std_label = std.label_vi if lang == "vi" else std.label_en
    pctb = af[af["measure"] == "pctb"].dropna(subset=["value"]).sort_values("value", ascending=False)
    h, m0 = _pct(value["H"], lang), f"{value['M0']:.3f}"
    a = _pct(value["A"], lang) if np.isfinite(value["A"]) else "–"
    if lang == "vi":
        m0 = m0.replace(".", ",")
        text = (f"Đo theo phương pháp Alkire–Foster (AF) với {n_ind} chỉ số thiếu hụt của "
                f"{std_label[0].lower() + std_label[1:]}, trọng số bằng nhau. Năm {ctx.review_year}: "
                f"{h_label[0].lower() + h_label[1:]} = {h}, cường độ thiếu hụt A = {a}, chỉ số M0 = H × A = {m0}.")
        if not pctb.empty:
            top = pctb.iloc[0]
            text += (f" Chỉ số đóng góp nhiều nhất vào M0 là «{label(top['indicator'], lang)}» "
                     f"({format_percent(top['value'] / 100, lang, digits=1)}).")
        text += " Đây là các chỉ số phân tích, không phải số liệu chính thức; H không phải là tỷ lệ hộ nghèo."
    else:
        text = (f"Measured by the Alkire–Foster (AF) method on the {n_ind} deprivation indicators of the "
                f"{std_label[0].lower() + std_label[1:]}, equally weighted. In {ctx.review_year}: {h_label} = {h}, "
                f"intensity A = {a}, adjusted headcount ratio M0 = H × A = {m0}.")
        if not pctb.empty:
            top = pctb.iloc[0]
            text += (f" The indicator contributing most to M0 is '{label(top['indicator'], lang)}' "
                     f"({format_percent(top['value'] / 100, lang, digits=1)}).")
        text += " These are analytic measures, not official statistics; H is not the poor-household rate."
    return Markdown(text + "\n\n" + glossary(std, lang, k=cutoff["k"]))


def profile_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Censored headcount ratios of the indicators at the review (None when suppressed)."""
    check_lang(lang)
    af = _af_rows(ctx, ctx.review_year)
    if af.empty:
        return None
    return deprivation_profile(af, measure="hdk", lang=lang)


def contribution_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Percentage contributions of the indicators to M0, review by review (None when all suppressed)."""
    check_lang(lang)
    af = _af_rows(ctx)
    af = af[(af["review_year"] <= ctx.review_year) & (af["measure"] == "pctb")].dropna(subset=["value"])
    if af.empty:
        return None
    return contribution_bars(af, lang=lang)


def _ethnic_name(key: str, lang: str) -> str:
    return _t("other_groups", lang) if key == "other" else key


def ethnicity_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The ethnic-minority share of households and of poor households at the review."""
    check_lang(lang)
    row = ctx.current()
    eth = ctx.ethnicity[ctx.ethnicity["review_year"] == ctx.review_year]
    if row["suppressed"] or eth.empty:
        return Markdown("Số hộ dưới ngưỡng công bố." if lang == "vi" else "Too few households to publish.")
    shown = eth[~eth["suppressed"]].sort_values("households", ascending=False)
    largest = _ethnic_name(shown.iloc[0]["ethnicity"], lang) if not shown.empty else None
    minority_poor = row["minority_share_of_poor"]
    if lang == "vi":
        text = f"Tại {ctx.name}, nhóm đông nhất là dân tộc {largest}." if largest and largest != _t("other_groups", lang) else ""
        if row["poor"] > 0 and np.isfinite(minority_poor):
            text += f" Hộ dân tộc thiểu số chiếm {_pct(minority_poor, lang)} số hộ nghèo năm {ctx.review_year}."
    else:
        text = f"The largest group in {ctx.name} is {largest}." if largest and largest != _t("other_groups", lang) else ""
        if row["poor"] > 0 and np.isfinite(minority_poor):
            text += f" Ethnic-minority households make up {_pct(minority_poor, lang)} of poor households in {ctx.review_year}."
    return Markdown(text.strip())


def _html_table(frame: pd.DataFrame, *, note: str | None = None) -> HTML:
    html = frame.to_html(index=False, border=0, classes="report-table", na_rep="–", escape=True)
    if note:
        html += f'\n<p class="table-note">{note}</p>'
    return HTML(html)


def _suppressed_note(ctx: CommuneContext, lang: str) -> str:
    return (f"–: {label('suppressed', lang)}, dưới {ctx.min_cell} hộ." if lang == "vi"
            else f"–: {label('suppressed', lang)}, fewer than {ctx.min_cell} households.")


def ethnicity_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML:
    """Households, their share, poor households and the poor rate by ethnic group at the review."""
    check_lang(lang)
    eth = ctx.ethnicity[ctx.ethnicity["review_year"] == ctx.review_year].copy()
    eth["order"] = (eth["ethnicity"] == "other").astype(int)
    eth = eth.sort_values(["order", "households"], ascending=[True, False], kind="stable")
    hide = eth["suppressed"].to_numpy()

    def col(values):
        return [("–" if s else v) for v, s in zip(values, hide)]

    table = pd.DataFrame({
        label("ethnicity", lang): [_ethnic_name(e, lang) for e in eth["ethnicity"]],
        label("households", lang): col([_num(v, lang) for v in eth["households"]]),
        _t("share_households", lang): col([_pct(v, lang) for v in eth["share"]]),
        _t("poor_households", lang): col([_num(v, lang) for v in eth["poor"]]),
        label("poor_rate", lang): col([_pct(v, lang) for v in eth["poor_rate"]]),
    })
    note = _suppressed_note(ctx, lang) + (" Các dân tộc có ít hộ được gộp vào «Dân tộc khác»." if lang == "vi"
                                          else " Groups with few households are pooled into 'Other groups'.")
    return _html_table(table, note=note)


def credit_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Loans, borrowing households and amounts disbursed by the VBSP in the commune."""
    check_lang(lang)
    total = ctx.credit[(ctx.credit["programme"] == "all") & (ctx.credit["year"] <= ctx.review_year)]
    if total.empty:
        return Markdown(f"Không có khoản vay nào được ghi nhận tại {ctx.name} đến năm {ctx.review_year}." if lang == "vi"
                        else f"No loans are recorded in {ctx.name} up to {ctx.review_year}.")
    y0, y1 = int(total["year"].min()), int(total["year"].max())
    last = total[total["year"] == y1].iloc[0]
    n_loans = _count(last["loans"], lang, ctx.min_cell) if last["suppressed"] else _num(last["loans"], lang)
    borrowers = _count(last["borrowers"], lang, ctx.min_cell)
    if lang == "vi":
        text = f"Năm {y1}, Ngân hàng Chính sách xã hội giải ngân {n_loans} khoản vay cho {borrowers} hộ tại {ctx.name}"
        text += "." if last["suppressed"] else f", tổng số tiền {_num(last['amount'] / 1e6, lang)} triệu đồng."
        if y0 < y1 and not total["suppressed"].any():
            text += (f" Từ {y0} đến {y1}: {_num(total['loans'].sum(), lang)} khoản vay, "
                     f"{_num(total['amount'].sum() / 1e6, lang)} triệu đồng.")
    else:
        text = f"In {y1} the Vietnam Bank for Social Policies disbursed {n_loans} loans to {borrowers} households in {ctx.name}"
        text += "." if last["suppressed"] else f", {_num(last['amount'] / 1e6, lang)} million VND in all."
        if y0 < y1 and not total["suppressed"].any():
            text += (f" From {y0} to {y1}: {_num(total['loans'].sum(), lang)} loans, "
                     f"{_num(total['amount'].sum() / 1e6, lang)} million VND.")
    return Markdown(text)


def credit_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """Loans, borrowers and amounts by year, with borrowers by programme (suppressed cells shown as –)."""
    check_lang(lang)
    c = ctx.credit[ctx.credit["year"] <= ctx.review_year]
    if c.empty:
        return None
    years = sorted(c["year"].unique())
    data = {_t("year", lang): [str(y) for y in years]}
    total = c[c["programme"] == "all"].set_index("year")
    hide = total["suppressed"].reindex(years).to_numpy()
    data[_t("loans", lang)] = ["–" if s else _num(v, lang) for v, s in zip(total["loans"].reindex(years), hide)]
    data[_t("borrowers", lang)] = ["–" if s else _num(v, lang) for v, s in zip(total["borrowers"].reindex(years), hide)]
    data[_t("amount", lang)] = ["–" if s else _num(v / 1e6, lang) for v, s in zip(total["amount"].reindex(years), hide)]
    from ..data.schema import PROGRAMMES

    for prog in PROGRAMMES:
        rows = c[c["programme"] == prog].set_index("year").reindex(years)
        cells = []
        for v, s in zip(rows["borrowers"], rows["suppressed"]):
            cells.append(_num(0, lang) if pd.isna(v) else ("–" if s else _num(v, lang)))
        data[f"{_t('borrowers', lang)}: {_t('programme_' + prog, lang).lower()}"] = cells
    return _html_table(pd.DataFrame(data), note=_suppressed_note(ctx, lang))


def coverage_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """Coverage of eligible households and leakage of the loans of the latest loan year (None without targeting)."""
    check_lang(lang)
    t = ctx.extra.get("targeting")
    if not ctx.sections.get("targeting") or t is None:
        return None
    t = t[(t["programme"] == "all") & (t["loan_year"] <= ctx.review_year)]
    if t.empty:
        return Markdown("Chưa có năm cho vay nào để đánh giá." if lang == "vi" else "No loan year can be assessed yet.")
    row = t.sort_values("loan_year").iloc[-1]
    y, r = int(row["loan_year"]), int(row["review_year"])
    if row["suppressed"]:
        return Markdown(f"Năm {y}: số hộ đủ điều kiện hoặc số khoản vay dưới ngưỡng công bố." if lang == "vi"
                        else f"{y}: too few eligible households or loans to publish.")
    if row["loans"] == 0:
        return Markdown(f"Năm {y} không có khoản vay nào; {_num(row['eligible'], lang)} hộ đủ điều kiện theo kết quả "
                        f"rà soát năm {r} chưa được vay." if lang == "vi" else
                        f"No loans in {y}; none of the {_num(row['eligible'], lang)} households eligible at the {r} "
                        "review was reached.")
    if lang == "vi":
        text = (f"Năm {y}, vốn vay đến được {_num(row['reached'], lang)} trong số {_num(row['eligible'], lang)} hộ "
                f"đủ điều kiện theo kết quả rà soát năm {r} (độ bao phủ {_pct(row['coverage'], lang)}). "
                f"{_num(row['inclusion_errors'], lang)} trong {_num(row['loans'], lang)} khoản vay "
                f"({_pct(row['inclusion_share'], lang)}) đến hộ không thuộc diện được vay (sai lệch đối tượng).")
    else:
        text = (f"In {y} loans reached {_num(row['reached'], lang)} of the {_num(row['eligible'], lang)} households "
                f"eligible at the {r} review (coverage {_pct(row['coverage'], lang)}). "
                f"{_num(row['inclusion_errors'], lang)} of {_num(row['loans'], lang)} loans "
                f"({_pct(row['inclusion_share'], lang)}) went to households eligible for no programme (leakage).")
    return Markdown(text)


def map_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """The province's poor rates at the review with the commune highlighted (None without the maps module)."""
    check_lang(lang)
    if not ctx.sections.get("map") or "boundaries" not in ctx.extra:
        return None
    maps = _require_module("maps")
    return maps.choropleth(ctx.all_rates, "poor_rate", boundaries=ctx.extra["boundaries"], lang=lang,
                           highlight=ctx.code, show_neighbours=True, suppressed_column="suppressed", tolerance=0)


def _path_rows(ctx: CommuneContext) -> pd.DataFrame | None:
    t = ctx.extra.get("projections")
    if not ctx.sections.get("projections") or t is None:
        return None
    return t.sort_values("year")


def path_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """The commune's projected 2030 rate against its reference path: gap, chance, exits and credit needed.

    None without the projections module.  The projection, its model and the targets are
    those of the province notebook (:data:`PROJECTION_SETTINGS`); the text names the model,
    says how it backtested, and calls the interval what it is: the range of the rate the
    review will record.
    """
    check_lang(lang)
    rows = _path_rows(ctx)
    if rows is None:
        return None
    vi = lang == "vi"
    if rows.empty or rows["target"].isna().all():
        return Markdown(f"{ctx.name} không thuộc diện mục tiêu nào của giai đoạn 2026–2030." if vi
                        else f"No 2026–2030 target applies to {ctx.name}.")
    last = rows.iloc[-1]
    year = int(last["year"])
    if last["suppressed"]:
        return Markdown(f"Số hộ dưới ngưỡng công bố ({ctx.min_cell} hộ): không công bố dự báo." if vi
                        else f"Fewer households than the publication limit ({ctx.min_cell}): no projection published.")
    store = ctx.extra.get("projection", {})
    target = store.get("targets", {}).get(last["target"])
    name = target.label(lang) if target is not None else str(last["target"])
    shared = isinstance(last.get("rule"), str) and last["rule"].startswith(("proportional", "points"))
    model = store.get("backtest_text", {}).get(lang, "")
    level = format_number(100 * (1 - float(store.get("alpha", 0.05))), lang, digits=0)
    mean, lo, hi = (_pct(last[c], lang) for c in ("mean", "obs_ci_lower", "obs_ci_upper"))
    ref, gap = _pct(last["target_level"], lang), _points(last["gap"], lang)
    start = _pct(last["start_level"], lang)
    t0 = int(target.start_year) if target is not None else int(rows["year"].min()) - 1
    unconfirmed = target is not None and not target.confirmed
    if vi:
        text = f"Mục tiêu áp dụng cho {ctx.name}: {name}"
        text += " — chỉ tiêu chưa được xác nhận trong văn bản chính thức" if unconfirmed else ""
        if shared:
            text += (f". Đây là mục tiêu chung của toàn tỉnh, không phải chỉ tiêu riêng của xã: mức tham chiếu của xã "
                     f"được chia theo cùng tỷ lệ giảm tương đối với toàn tỉnh, từ {start} năm {t0} "
                     f"xuống {ref} năm {year}, để các xã cộng lại đúng lộ trình của tỉnh")
        text += "."
        if bool(last.get("already_met", False)):
            return Markdown(text + f" Tỷ lệ hộ nghèo của xã ({start}) đã ở mức sàn của mục tiêu: đã đạt, không cần "
                                   "thêm hộ thoát nghèo hay vốn vay để đạt mục tiêu.")
        if last.get("attainable") is False:
            text += " Lộ trình này chạm mức sàn trước năm kết thúc, nên không thể đạt đầy đủ như đã viết."
        text += (f" {model} Tỷ lệ hộ nghèo dự báo năm {year} (theo chuẩn nghèo 2026–2030) là {mean}; khoảng dự báo "
                 f"{level}% cho tỷ lệ sẽ ghi nhận ở kỳ rà soát năm đó: {lo} – {hi}. So với mức tham chiếu {ref}: "
                 + (f"cao hơn {gap} điểm phần trăm" if last["gap"] > 0 else f"thấp hơn {gap} điểm phần trăm")
                 + f". Xác suất kỳ rà soát năm {year} ghi nhận mức không vượt tham chiếu: "
                 f"{format_percent(float(last['p_meet']), lang, digits=0)}.")
        per_year = float(last["exits_per_year"])
        if per_year >= 0.5:
            text += (f" Để theo lộ trình, số hộ nghèo cần giảm bình quân khoảng {_num(per_year, lang)} hộ mỗi năm từ "
                     f"{t0} đến {year}.")
        if last["additional_exits"] >= 0.5:
            credit = last.get("credit_vnd")
            text += (f" Đến năm {year}, cần thêm khoảng {_num(float(last['additional_exits']), lang)} hộ thoát nghèo so "
                     "với dự báo")
            text += (f", tương ứng khoảng {_num(credit / 1e9, lang, digits=1)} tỷ đồng vốn vay chính sách."
                     if credit is not None and pd.notna(credit) else ".")
    else:
        text = f"Target for {ctx.name}: {name}" + (" — not confirmed in an official text" if unconfirmed else "")
        if shared:
            text += (f". This is a province-wide target, not one set for the commune: the commune's reference path "
                     f"falls by the province's relative fall, from {start} in {t0} "
                     f"to {ref} in {year}, so that the communes add up to the province path")
        text += "."
        if bool(last.get("already_met", False)):
            return Markdown(text + f" The commune's rate ({start}) is already at the target's floor: met, with no "
                                   "further exits or credit needed for it.")
        if last.get("attainable") is False:
            text += " The path reaches its floor before the end year, so it cannot be met in full as written."
        text += (f" {model} The projected poor-household rate in {year} (2026–2030 standard) is {mean}; {level}% "
                 f"prediction interval of the rate that year's review will record: {lo} – {hi}. Against the "
                 f"reference level of {ref}: " + (f"{gap} points above" if last["gap"] > 0 else f"{gap} points below")
                 + f". Probability that the {year} review records a rate at or below the reference: "
                 f"{format_percent(float(last['p_meet']), lang, digits=0)}.")
        per_year = float(last["exits_per_year"])
        if per_year >= 0.5:
            text += (f" Following the path takes about {_num(per_year, lang)} fewer poor households a year on average "
                     f"from {t0} to {year}.")
        if last["additional_exits"] >= 0.5:
            credit = last.get("credit_vnd")
            text += f" By {year}, about {_num(float(last['additional_exits']), lang)} more households than projected must leave poverty"
            text += (f", about {_num(credit / 1e9, lang, digits=1)} billion VND of policy credit."
                     if credit is not None and pd.notna(credit) else ".")
    return Markdown(text)


def path_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Fan chart of the commune's projected rate against its target path (None without projections or when suppressed)."""
    check_lang(lang)
    rows = _path_rows(ctx)
    if rows is None or rows.empty or rows["target"].isna().all() or bool(rows["suppressed"].iloc[-1]):
        return None
    projections = _require_module("projections")
    store = ctx.extra["projection"]
    target = store["targets"].get(rows["target"].iloc[-1])
    if rows["already_met"].iloc[-1] if "already_met" in rows.columns else False:
        return projections.plot_fan_chart(store["projection"], None, commune_code=ctx.code, lang=lang)
    # The commune's own reference path (a share of a province target is not the province's rule).
    t0 = int(target.start_year) if target is not None else int(rows["year"].min()) - 1
    path = pd.concat([pd.DataFrame({"year": [t0], "target_level": [float(rows["start_level"].iloc[0])]}),
                      rows[["year", "target_level"]]], ignore_index=True)
    return projections.plot_fan_chart(store["projection"], path, commune_code=ctx.code, lang=lang)


def risk_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """The number of newly escaped households at risk of falling back at the review (None without risk)."""
    check_lang(lang)
    t = ctx.extra.get("risk")
    if not ctx.sections.get("risk") or t is None:
        return None
    rows = t[t["review_year"] == ctx.review_year]
    if rows.empty:
        return Markdown(f"Chưa đánh giá được nguy cơ tái nghèo tại kỳ rà soát năm {ctx.review_year}." if lang == "vi"
                        else f"No fall-back risk can be assessed at the {ctx.review_year} review.")
    row = rows.iloc[0]
    if row["suppressed"]:
        return Markdown(f"Số hộ mới thoát nghèo dưới ngưỡng công bố ({ctx.min_cell} hộ)." if lang == "vi"
                        else f"Fewer newly escaped households than the publication limit ({ctx.min_cell}).")
    n, k = _num(row["households"], lang), _count(row["at_risk"], lang, ctx.min_cell)
    p = format_percent(float(row["threshold"]), lang, digits=0)
    if lang == "vi":
        text = (f"Trong {n} hộ mới thoát nghèo tại kỳ rà soát năm {ctx.review_year}, {k} hộ có nguy cơ tái nghèo "
                f"ở kỳ rà soát sau (xác suất dự báo từ {p} trở lên). Danh sách hộ cụ thể không công bố trong báo cáo này.")
    else:
        text = (f"Of the {n} households newly out of poverty at the {ctx.review_year} review, {k} are at risk of "
                f"falling back by the next review (predicted probability of at least {p}). The households are not "
                "listed in this report.")
    return Markdown(text)


def key_figures(*, review_year: int) -> pd.DataFrame:
    """One row per unit with the report's headline figures at a review, suppressed cells missing.

    Columns: ``commune_code``, ``name``, ``unit_type``, ``old_area``, ``slug``,
    ``households``, ``poor``, ``poor_rate``, ``near_poor``, ``near_poor_rate``,
    ``change_points`` (poor rate change since the first review, in percentage points),
    ``minority_share_of_poor``, ``borrowers`` and ``amount_million`` (loans of that year),
    and ``at_risk`` / ``coverage`` when those sections are available.
    """
    tables, manifest = shared_tables()
    if int(review_year) not in manifest["review_years"]:
        raise ValueError(f"review_year {review_year!r} is not a review in the data (reviews: {manifest['review_years']})")
    units = tables["units"][["commune_code", "name", "unit_type", "old_area", "slug"]]
    rates = tables["commune_rates"]
    now = rates[rates["review_year"] == review_year].set_index("commune_code")
    first = rates[rates["review_year"] == min(manifest["review_years"])].set_index("commune_code")
    out = units.set_index("commune_code").copy()
    cols = ["households", "poor", "poor_rate", "near_poor", "near_poor_rate", "minority_share_of_poor"]
    hidden = now["suppressed"].reindex(out.index, fill_value=True)
    for c in cols:
        out[c] = now[c].reindex(out.index).astype(float).where(~hidden)
    for c in ("poor", "near_poor"):  # small counts are suppressed too, not only small denominators
        out[c] = out[c].where(~(out[c] < manifest["min_cell"]))
    change = 100 * (now["poor_rate"] - first["poor_rate"])
    keep = ~(now["suppressed"] | first["suppressed"].reindex(now.index, fill_value=True))
    out["change_points"] = change.where(keep).reindex(out.index)
    credit = tables["credit"]
    c = credit[(credit["programme"] == "all") & (credit["year"] == review_year)].set_index("commune_code")
    out["borrowers"] = c["borrowers"].where(~c["suppressed"]).reindex(out.index).astype(float)
    out["amount_million"] = (c["amount"] / 1e6).where(~c["suppressed"]).reindex(out.index)
    if manifest["sections"].get("risk") and "risk" in tables:
        r = tables["risk"]
        r = r[r["review_year"] == review_year].set_index("commune_code")
        out["at_risk"] = r["at_risk"].where(~r["suppressed"] & (r["at_risk"] >= manifest["min_cell"])).reindex(out.index).astype(float)
    if manifest["sections"].get("targeting") and "targeting" in tables:
        t = tables["targeting"]
        t = t[(t["programme"] == "all") & (t["loan_year"] == review_year)].set_index("commune_code")
        out["coverage"] = t["coverage"].where(~t["suppressed"]).reindex(out.index)
    return out.reset_index()
