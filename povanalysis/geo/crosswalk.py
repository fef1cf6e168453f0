"""Tables keyed by the pre-2025 communes re-aggregated onto the 92 units of 2025, and name matching."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import config
from ..common.checks import require_frame
from ..data import registry
from ..data.registry import ascii_name, normalise_name
from . import boundaries as geo

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

__all__ = [
    "to_new_units",
    "area_weights",
    "weights_from_records",
    "assign_old_units",
    "match_names",
    "WEIGHTS",
    "COUNT_COLUMNS",
    "RATES",
]

#: Ways to apportion a split unit's counts between its new units.
WEIGHTS: tuple[str, ...] = ("area", "households", "population")
#: Additive columns of :func:`povanalysis.measure.aggregates.poverty_counts`, summed by default.
COUNT_COLUMNS: tuple[str, ...] = ("households", "persons", "poor", "near_poor", "minority_poor")
#: Rates recomputed from re-aggregated counts: rate → (numerator, denominator). Never averaged.
RATES: dict[str, tuple[str, str]] = {
    "poor_rate": ("poor", "households"),
    "near_poor_rate": ("near_poor", "households"),
    "minority_share_of_poor": ("minority_poor", "poor"),
}
# Columns describing the old unit; they are replaced by those of the new unit.
_DESCRIPTORS = frozenset(
    {
        "name",
        "name_ascii",
        "short_name",
        "unit_type",
        "old_area",
        "from_bac_kan",
        "vintage",
        "slug",
        "district_code",
        "district_name",
        "old_name",
        "old_district_code",
        "old_district_name",
        "old_province",
    }
)
_DISTRICT_TYPES = ("huyện", "thành phố", "thị xã", "quận", "tỉnh")
_COMMUNE_TYPES = ("xã", "phường", "thị trấn")
# Prefixes recognised in names written without diacritics ("quan" and "tinh" are left out:
# they also begin commune names such as Quân Chu).
_ASCII_DISTRICT_TYPES = ("huyen", "thanh pho", "thi xa")
_ASCII_COMMUNE_TYPES = ("xa", "phuong", "thi tran")


def _links() -> pd.DataFrame:
    return registry.crosswalk()[["old_code", "old_name", "new_code", "new_name", "relation"]]


def _split_links() -> pd.DataFrame:
    links = _links()
    return links[links["relation"] == "split"].reset_index(drop=True)


def _old_extents() -> pd.DataFrame:
    """Bounding boxes (WGS 84) of the split pre-2025 units, from the registry's source data."""
    codes = sorted(_split_links()["old_code"].unique())
    path = registry.dataset_path() / "dataset.db"
    with sqlite3.connect(str(path)) as conn:
        rows = pd.read_sql_query(
            "SELECT DISTINCT wardCode, wardBounds FROM admin_units_legacy "
            f"WHERE provinceKey IN ('tinhthainguyen', 'tinhbackan') AND wardCode IN ({','.join('?' * len(codes))})",
            conn,
            params=codes,
        )
    out = []
    for code, text in zip(rows["wardCode"], rows["wardBounds"]):
        (lat0, lon0), (lat1, lon1) = [[float(v) for v in part.split(",")] for part in text.split("–")]
        out.append((code, min(lon0, lon1), min(lat0, lat1), max(lon0, lon1), max(lat0, lat1)))
    return pd.DataFrame(out, columns=["old_code", "minx", "miny", "maxx", "maxy"]).set_index("old_code")


def area_weights(*, boundaries: GeoDataFrame | None = None) -> pd.DataFrame:
    """Area shares of the three split pre-2025 units between their new units.

    The registry's source (``vietnamadminunits``) records each pre-2025 unit's bounding
    box but no polygon; the share of a split unit going to a new unit is the area of that
    box inside the new unit's polygon, divided by the sum over the unit's new units. With
    official boundaries this is an approximation of the split; with the schematic
    boundaries it is only illustrative (a warning says so).

    Parameters
    ----------
    boundaries : GeoDataFrame, optional
        Polygons of the 2025 units; default :func:`povanalysis.geo.boundaries.boundaries.default_boundaries`.

    Returns
    -------
    DataFrame
        ``old_code``, ``old_name``, ``new_code``, ``new_name``, ``area_km2`` (overlap) and
        ``share`` (summing to 1 per old unit), one row per split link (6 rows).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     w = area_weights()
    >>> len(w), w.groupby("old_code")["share"].sum().round(9).tolist()
    (6, [1.0, 1.0, 1.0])
    """
    import shapely

    boundaries = geo.default_boundaries() if boundaries is None else boundaries
    geo.check_boundaries(boundaries, "boundaries")
    if geo.is_schematic(boundaries):
        warnings.warn(
            "area shares of the split units computed on schematic boundaries are illustrative; "
            f"set ${geo.BOUNDARIES_ENV} or pass official boundaries",
            UserWarning,
            stacklevel=2,
        )
    links = _split_links()
    extents = _old_extents()
    boxes = shapely.box(*extents.loc[links["old_code"], ["minx", "miny", "maxx", "maxy"]].to_numpy().T)
    polygons = boundaries.set_index("commune_code").geometry
    missing = sorted(set(links["new_code"]) - set(polygons.index))
    if missing:
        raise ValueError(f"'boundaries' lack the new units of the split links: {missing}")
    import geopandas as gpd

    box_m = gpd.GeoSeries(boxes, crs="EPSG:4326").to_crs(geo.METRIC_CRS).to_numpy()
    poly_m = gpd.GeoSeries(polygons.loc[links["new_code"]].to_numpy(), crs=boundaries.crs).to_crs(geo.METRIC_CRS)
    overlap = shapely.area(shapely.intersection(box_m, poly_m.to_numpy())) / 1e6
    out = links[["old_code", "old_name", "new_code", "new_name"]].assign(area_km2=overlap)
    total = out.groupby("old_code")["area_km2"].transform("sum")
    if (total <= 0).any():
        bad = out.loc[total <= 0, "old_name"].iloc[0]
        raise ValueError(
            f"the recorded extent of {bad!r} does not meet the polygons of its new units: pass weights= instead"
        )
    return out.assign(share=out["area_km2"] / total)


def weights_from_records(
    records: pd.DataFrame,
    *,
    old_column: str = "old_code",
    new_column: str = "commune_code",
    size_column: str | None = None,
    year_column: str | None = "review_year",
    year: int | None = None,
) -> pd.DataFrame:
    """Household (or population) weights of old → new links, counted from records that carry both codes.

    A household register or review file made after July 2025 often records a household's
    old and new commune; counting households (or persons, with ``size_column``) per
    (old, new) pair gives the best weights for :func:`to_new_units`.

    Parameters
    ----------
    records : DataFrame
        One row per household (per year): ``old_column`` (2024 codes) and ``new_column``
        (2025 codes).
    size_column : str, optional
        Household size column: population weights instead of household counts.
    year_column, year : optional
        When ``records`` has several years, the year to count.

    Returns
    -------
    DataFrame
        ``old_code``, ``new_code``, ``households`` (or ``population``) and ``share``
        (summing to 1 per old unit).

    Raises
    ------
    ValueError
        Unknown codes or pairs that are not links of the official crosswalk (naming the
        first one and its row).

    Examples
    --------
    >>> r = pd.DataFrame({"old_code": ["05461", "05461", "05461", "05443"],
    ...                   "commune_code": ["05443", "05467", "05467", "05443"]})
    >>> weights_from_records(r, year_column=None).to_dict("records")[:2]
    [{'old_code': '05443', 'new_code': '05443', 'households': 1, 'share': 1.0}, {'old_code': '05461', 'new_code': '05443', 'households': 1, 'share': 0.3333333333333333}]
    """
    for col in [old_column, new_column] + ([size_column] if size_column else []):
        if col not in records.columns:
            raise ValueError(f"'records' has no column {col!r}")
    rows = records
    if year_column is not None and year_column in records.columns:
        years = sorted(records[year_column].unique().tolist())
        if year is None and len(years) > 1:
            raise ValueError(f"'records' has several years {years}: pass year=")
        if year is not None:
            rows = records[records[year_column] == year]
            if rows.empty:
                raise ValueError(f"'records' has no rows for {year_column}={year!r} (years: {years})")
    pairs = pd.DataFrame(
        {"old_code": rows[old_column].astype(str).to_numpy(), "new_code": rows[new_column].astype(str).to_numpy()}
    )
    known = set(zip(*[_links()[c] for c in ("old_code", "new_code")]))
    bad = ~pd.Series([p in known for p in zip(pairs["old_code"], pairs["new_code"])])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"'records' row {rows.index[i]!r}: ({pairs.at[i, 'old_code']!r}, {pairs.at[i, 'new_code']!r}) "
            "is not a link of the 2025 crosswalk (old 2024 code → new 2025 code)"
        )
    name = "population" if size_column else "households"
    pairs[name] = rows[size_column].to_numpy() if size_column else 1
    out = pairs.groupby(["old_code", "new_code"], sort=True)[name].sum().reset_index()
    return out.assign(share=out[name] / out.groupby("old_code")[name].transform("sum"))


def assign_old_units(households: pd.DataFrame, *, seed: int, code_column: str = "commune_code") -> pd.Series:
    """Place each synthetic household in one pre-2025 unit of its commune (for demonstrations only).

    The synthetic panel knows only the 2025 units. To demonstrate :func:`to_new_units`
    and :func:`weights_from_records`, each household is placed in one of its commune's
    predecessors with equal probability, the same unit in every year. Real data carry
    the real old unit; never use this on them.

    Parameters
    ----------
    households : DataFrame
        ``household_id`` and ``code_column`` (2025 codes).
    seed : int

    Returns
    -------
    Series
        The 2024 code of each row, aligned to ``households``, named ``old_code``.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["a", "b", "a"], "commune_code": ["05467", "05467", "05467"]})
    >>> old = assign_old_units(hh, seed=1)
    >>> old.iloc[0] == old.iloc[2], set(old) <= {"05461", "05467", "05473", "05914"}
    (True, True)
    """
    for col in ("household_id", code_column):
        if col not in households.columns:
            raise ValueError(f"'households' has no column {col!r}")
    unknown = sorted(set(households[code_column].astype(str)) - registry.known_codes())
    if unknown:
        raise ValueError(f"'households' column {code_column!r} has codes that are not 2025 units: {unknown[:5]}")
    first = households.drop_duplicates("household_id").sort_values("household_id", kind="stable")
    links = _links().sort_values(["new_code", "old_code"], kind="stable")
    offsets = links.groupby("new_code").size()
    start = offsets.cumsum() - offsets
    home = first[code_column].astype(str)
    n = offsets.reindex(home).to_numpy()
    pick = np.floor(np.random.default_rng(seed).random(len(first)) * n).astype(np.int64)
    old = links["old_code"].to_numpy()[start.reindex(home).to_numpy() + pick]
    by_id = pd.Series(old, index=first["household_id"].to_numpy())
    return pd.Series(households["household_id"].map(by_id).to_numpy(), index=households.index, name="old_code")


def _check_table(table: pd.DataFrame, code_column: str, counts: list[str], by: list[str]) -> pd.DataFrame:
    for col in [code_column] + counts + by:
        if col not in table.columns:
            raise ValueError(f"'table' has no column {col!r}; columns: {list(table.columns)}")
    codes = table[code_column].astype(str)
    known = registry.known_codes(2024)
    bad = ~codes.isin(known)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise ValueError(
            f"'table' row {table.index[i]!r}, column {code_column!r}: {codes.iloc[i]!r} is not one of the "
            f"280 commune codes of vintage 2024 ({int(bad.sum())} such rows)"
        )
    for col in counts:
        values = table[col]
        if not pd.api.types.is_numeric_dtype(values):
            raise ValueError(f"count column {col!r} must be numeric, got {values.dtype}")
        wrong = values.isna() | (values < 0)
        if wrong.any():
            i = wrong.to_numpy().nonzero()[0][0]
            raise ValueError(
                f"'table' row {table.index[i]!r}, column {col!r}: {values.tolist()[i]!r} is not a count >= 0"
            )
    dup = table.assign(**{code_column: codes}).duplicated([code_column] + by)
    if dup.any():
        i = dup.to_numpy().nonzero()[0][0]
        raise ValueError(
            f"'table' row {table.index[i]!r}: old unit {codes.iloc[i]!r} appears twice for the same {by or 'table'}"
        )
    return table


def _shares(weight: str, weights: pd.DataFrame | None, boundaries, needed: set[str]) -> pd.DataFrame:
    """Shares of every old → new link: 1 for whole links, the chosen weights for the split links of
    the ``needed`` old units (the others are not used and get no share)."""
    links = _links()
    split = links[(links["relation"] == "split") & links["old_code"].isin(needed)]
    if split.empty:
        return links[["old_code", "new_code", "relation"]].assign(
            share=np.where(links["relation"] == "split", np.nan, 1.0)
        )
    if weights is None:
        if weight != "area":
            raise ValueError(
                f"weight={weight!r} needs weights=: a table of old_code, new_code and {weight!r} for the "
                "split links (see weights_from_records), or use weight='area'"
            )
        table = area_weights(boundaries=boundaries)
        value = "area_km2"
    else:
        value = weight if weight in weights.columns else "weight"
        for col in ("old_code", "new_code", value):
            if col not in weights.columns:
                raise ValueError(f"'weights' has no column {col!r} (expected old_code, new_code and {weight!r})")
        table = weights.assign(old_code=weights["old_code"].astype(str), new_code=weights["new_code"].astype(str))
        if (table[value] < 0).any() or table[value].isna().any():
            raise ValueError(f"'weights' column {value!r} must be >= 0 and not missing")
        known = set(zip(links["old_code"], links["new_code"]))
        extra = [p for p in zip(table["old_code"], table["new_code"]) if p not in known]
        if extra:
            raise ValueError(f"'weights' has pairs that are not links of the 2025 crosswalk: {extra[:3]}")
    got = split.merge(table[["old_code", "new_code", value]], on=["old_code", "new_code"], how="left")
    if got[value].isna().any():
        miss = got.loc[got[value].isna(), ["old_code", "new_code"]].iloc[0].tolist()
        raise ValueError(f"'weights' lacks the split link {tuple(miss)}: every split link needs a weight")
    total = got.groupby("old_code")[value].transform("sum")
    if (total <= 0).any():
        raise ValueError(f"'weights' sum to 0 for old unit {got.loc[total <= 0, 'old_code'].iloc[0]!r}")
    got["share"] = got[value] / total
    out = links[["old_code", "new_code", "relation"]].merge(
        got[["old_code", "new_code", "share"]], on=["old_code", "new_code"], how="left"
    )
    out["share"] = out["share"].where(out["relation"] == "split", 1.0)
    return out


def to_new_units(
    table: pd.DataFrame,
    *,
    code_column: str = "commune_code",
    count_columns: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    weight: str = "area",
    weights: pd.DataFrame | None = None,
    boundaries: GeoDataFrame | None = None,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Re-aggregate a table keyed by pre-2025 units (2021–2024) onto the 92 units of 2025.

    Each old unit's counts go to its new unit; the three old units split between two new
    units (Gia Sàng 05461, Cam Giá 05467, Thượng Đình 05932) are apportioned by the chosen
    weight, so their apportioned counts may be fractional. Counts are summed, rates are
    recomputed from the summed counts (never averaged) and suppression is recomputed.
    Totals are checked: every count sums to the same total before and after, per ``by``
    group, or an error is raised.

    Weights (default ``"area"``):

    - ``"area"``: shares of each split unit's recorded extent inside its new units'
      polygons (:func:`area_weights`, from the registry's source data and
      ``boundaries``). Works on a fresh clone; approximate, and only illustrative with the
      schematic boundaries.
    - ``"households"`` or ``"population"``: the caller passes ``weights``, a table of
      ``old_code``, ``new_code`` and the weight for the split links, e.g. counted from a
      register with both codes by :func:`weights_from_records`. For the synthetic demo,
      :func:`assign_old_units` gives the panel's households an old unit to count from.

    Parameters
    ----------
    table : DataFrame
        One row per old unit (per ``by`` group): ``code_column`` with 2024 codes, count
        columns, optionally rates of :data:`RATES` (recomputed) and columns describing the
        old unit (``name``, ``district_name``, ...: replaced by the new unit's ``name``).
    code_column : str, default "commune_code"
    count_columns : sequence of str, optional
        Additive columns; default the columns of :data:`COUNT_COLUMNS` present.
    by : sequence of str, optional
        Grouping columns kept (default ``["review_year"]`` when present). Any other
        column is an error, so nothing is dropped silently.
    weight : {"area", "households", "population"}
    weights : DataFrame, optional
        ``old_code``, ``new_code`` and a column named ``weight`` or after the weight;
        required for households and population, overrides the areas for ``"area"``.
    boundaries : GeoDataFrame, optional
        For area weights; default :func:`povanalysis.geo.boundaries.boundaries.default_boundaries`.
    min_cell : int, optional
        Suppression threshold on ``households`` (default :data:`povanalysis.config.MIN_CELL`).

    Returns
    -------
    DataFrame
        ``by`` columns, ``commune_code`` (2025), ``name``, the counts, the recomputed rates,
        ``suppressed`` (when ``households`` is a count), ``apportioned`` (the unit received a
        share of a split unit) and ``complete`` (every predecessor of the unit is in
        ``table`` for that group). ``attrs["shares"]`` holds the shares used.

    References
    ----------
    Resolution 1683/NQ-UBTVQH15 (16/06/2025); Decision 19/2025/QĐ-TTg (codes of the units).

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["05461", "05443"], "households": [1000, 500],
    ...                   "poor": [100, 10]})
    >>> w = pd.DataFrame({"old_code": ["05461", "05461", "05467", "05467", "05932", "05932"],
    ...                   "new_code": ["05443", "05467", "05467", "05500", "05908", "05941"],
    ...                   "households": [300, 700, 1, 1, 1, 1]})
    >>> out = to_new_units(t, weight="households", weights=w)
    >>> out[["commune_code", "households", "poor", "poor_rate", "complete"]].to_dict("records")
    [{'commune_code': '05443', 'households': 800.0, 'poor': 40.0, 'poor_rate': 0.05, 'complete': False}, {'commune_code': '05467', 'households': 700.0, 'poor': 70.0, 'poor_rate': 0.1, 'complete': False}]
    """
    require_frame(table, "table")
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    counts = [c for c in COUNT_COLUMNS if c in table.columns] if count_columns is None else list(count_columns)
    if not counts:
        raise ValueError(f"'table' has none of the count columns {COUNT_COLUMNS}: pass count_columns=")
    by = [c for c in ("review_year",) if c in table.columns] if by is None else list(by)
    _check_table(table, code_column, counts, by)
    rates = [r for r in RATES if r in table.columns]
    for rate in rates:
        missing = [c for c in RATES[rate] if c not in counts]
        if missing:
            raise ValueError(
                f"cannot recompute {rate!r} without the counts {missing}: rates are never averaged; "
                f"add them to count_columns or drop {rate!r}"
            )
    leftover = [
        c for c in table.columns if c not in {code_column, *counts, *by, *rates, "suppressed"} and c not in _DESCRIPTORS
    ]
    if leftover:
        raise ValueError(
            f"'table' column {leftover[0]!r} is neither a count, a rate, a descriptor of the old unit "
            "nor in by: add it to count_columns or by, or drop it"
        )
    present = set(table[code_column].astype(str))
    shares = _shares(weight, weights, boundaries, present & set(_split_links()["old_code"]))
    work = table[[code_column, *by, *counts]].assign(old_code=table[code_column].astype(str))
    if code_column != "old_code":
        work = work.drop(columns=code_column)
    long = work.merge(shares, on="old_code", how="left", validate="many_to_many")
    parts = long[counts].astype(float).mul(long["share"].to_numpy(), axis=0)
    for col in by:
        parts[col] = long[col].to_numpy()
    parts["commune_code"] = long["new_code"].to_numpy()
    parts["apportioned"] = (long["share"] < 1).to_numpy()
    parts["old_code"] = long["old_code"].to_numpy()
    grouped = parts.groupby([*by, "commune_code"], sort=True, dropna=False)
    out = grouped[counts].sum()
    out["apportioned"] = grouped["apportioned"].any()
    out["n_old"] = grouped["old_code"].nunique()
    out = out.reset_index()
    need = _links().groupby("new_code").size()
    out["complete"] = out.pop("n_old").to_numpy() == need.reindex(out["commune_code"]).to_numpy()

    before = table.groupby(by, dropna=False)[counts].sum() if by else table[counts].sum().to_frame().T
    after = out.groupby(by, dropna=False)[counts].sum() if by else out[counts].sum().to_frame().T
    scale = np.maximum(np.abs(before.to_numpy(dtype=float)), 1.0)
    if before.shape != after.shape or np.any(
        np.abs(before.to_numpy(dtype=float) - after.to_numpy(dtype=float)) > 1e-9 * scale
    ):
        raise RuntimeError("re-aggregation did not preserve the totals: every old unit must be accounted for")

    for rate in rates or [r for r, (num, den) in RATES.items() if num in counts and den in counts]:
        num, den = RATES[rate]
        out[rate] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0, 1.0), np.nan)
    if "households" in counts:
        limit = config.MIN_CELL if min_cell is None else int(min_cell)
        out["suppressed"] = out["households"].to_numpy() < limit
    names = registry.units().set_index("commune_code")["name"]
    out.insert(len(by) + 1, "name", out["commune_code"].map(names).to_numpy())
    out.attrs["shares"] = shares[(shares["relation"] == "split") & shares["share"].notna()].reset_index(drop=True)
    return out


def _casefold(text: str) -> str:
    return normalise_name(text).casefold()


def _type_of(folded: str) -> tuple[str | None, str]:
    """('district' | 'commune' | None, the name without its type prefix)."""
    plain = folded.isascii()
    for kind, prefixes in (
        ("district", _ASCII_DISTRICT_TYPES if plain else _DISTRICT_TYPES),
        ("commune", _ASCII_COMMUNE_TYPES if plain else _COMMUNE_TYPES),
    ):
        for prefix in prefixes:
            if folded.startswith(prefix + " "):
                return kind, folded[len(prefix) + 1 :]
    return None, folded


def match_names(names: Iterable[str], *, vintage: int = registry.CURRENT_VINTAGE) -> pd.DataFrame:
    """Match commune names from another source to the registry's codes, without guessing.

    Names are compared after Unicode NFC normalisation, one tone-mark placement
    (:func:`povanalysis.data.registry.normalise_name`), case folding and whitespace collapsing.
    A name with a district-level prefix (``Huyện``, ``Thành phố``, ``Thị xã``, ``Quận``,
    ``Tỉnh``) is a district, never matched to the commune that now bears its name
    (``Huyện Đại Từ`` is not ``Xã Đại Từ``); a bare name that is also the name of a
    pre-2025 district (``Đại Từ``) is ambiguous. ASCII-folded names match only when
    unique (``Van Lang`` folds both Văn Lang and Văn Lăng, so it is ambiguous).

    Parameters
    ----------
    names : iterable of str
    vintage : {2025, 2024}

    Returns
    -------
    DataFrame
        One row per input: ``input``, ``commune_code`` (missing unless matched),
        ``name`` (registry name), ``status`` (``exact``, ``normalised``, ``short_name``,
        ``ascii``, ``district``, ``ambiguous``, ``unmatched``) and ``candidates`` (codes
        of ambiguous matches).

    Examples
    --------
    >>> m = match_names(["Xã Định Hoá", "Huyện Đại Từ", "Đại Từ", "Van Lang", "Văn Lăng"])
    >>> m["status"].tolist()
    ['normalised', 'district', 'ambiguous', 'ambiguous', 'short_name']
    >>> m["commune_code"].tolist()
    ['05569', nan, nan, nan, '05665']
    """
    if vintage not in registry.VINTAGES:
        raise ValueError(f"vintage must be one of {registry.VINTAGES}, got {vintage!r}")
    if isinstance(names, str):
        raise TypeError("'names' should be an iterable of names, not one string")
    names = list(names)
    units = registry.units(vintage)
    full = units.assign(
        key=[_casefold(n) for n in units["name"]],
        short=[_casefold(n) for n in units["short_name"]],
        fold=[ascii_name(_casefold(n)) for n in units["name"]],
        fold_short=[ascii_name(_casefold(n)) for n in units["short_name"]],
    )
    districts = {_type_of(_casefold(d))[1] for d in registry.units(2024)["district_name"]}

    def codes(column: str, key: str) -> list[str]:
        return full.loc[full[column] == key, "commune_code"].tolist()

    rows = []
    for raw in names:
        if not isinstance(raw, str) or not raw.strip():
            rows.append((raw, None, None, "unmatched", ()))
            continue
        key = _casefold(raw)
        kind, bare = _type_of(key)
        if kind == "district":
            rows.append((raw, None, None, "district", ()))
            continue
        hit = codes("key", key)
        status = "exact" if hit and units.loc[units["commune_code"] == hit[0], "name"].iloc[0] == raw else "normalised"
        if not hit and kind is None:
            if bare in districts:
                rows.append((raw, None, None, "ambiguous", tuple(codes("short", bare))))
                continue
            hit, status = codes("short", bare), "short_name"
        if not hit:
            folded = ascii_name(key)
            hit = codes("fold", folded) if kind else codes("fold_short", ascii_name(bare))
            status = "ascii"
        if len(hit) == 1:
            name = units.loc[units["commune_code"] == hit[0], "name"].iloc[0]
            rows.append((raw, hit[0], name, status, ()))
        elif len(hit) > 1:
            rows.append((raw, None, None, "ambiguous", tuple(hit)))
        else:
            rows.append((raw, None, None, "unmatched", ()))
    return pd.DataFrame(rows, columns=["input", "commune_code", "name", "status", "candidates"])
