"""Spatial autocorrelation of commune figures: global Moran's I and local LISA clusters (hot spots)."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..common.checks import require_frame
from . import boundaries as geo

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

__all__ = ["Moran", "Lisa", "moran", "lisa", "CLUSTERS"]

#: LISA cluster labels: High–High (hot spot), Low–Low (cold spot), the two spatial
#: outliers, and not significant.
CLUSTERS: tuple[str, ...] = ("HH", "LL", "HL", "LH", "ns")
# esda's quadrant codes (geoda_quads=False): 1 HH, 2 LH, 3 LL, 4 HL.
_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed numpy's global generator (which esda draws permutations from) and restore it after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass(frozen=True)
class Moran:
    """Global Moran's I of one commune figure on queen contiguity (row-standardised weights).

    Attributes
    ----------
    column : str
        The figure.
    I : float
        Moran's I.
    expected_I : float
        Its expectation under no spatial autocorrelation, −1/(n−1).
    se : float
        Standard deviation of I over the permutations (the null distribution).
    z : float
        (I − mean of the permutations) / ``se``.
    p_value : float
        Pseudo p-value from the permutations, (min(#≥I, #<I) + 1) / (permutations + 1):
        one-sided in the direction of the observed I.
    p_norm : float
        Two-sided p-value under the normal approximation.
    null_lower, null_upper : float
        2.5% and 97.5% quantiles of I over the permutations.
    n : int
        Communes in the analysis.
    n_links : int
        Neighbour pairs among them.
    permutations, seed : int
    excluded : DataFrame
        Communes of the boundaries left out, with ``reason`` (``suppressed``, ``no data``).
    """

    column: str
    I: float  # noqa: E741 (Moran's I, the literature's name)
    expected_I: float
    se: float
    z: float
    p_value: float
    p_norm: float
    null_lower: float
    null_upper: float
    n: int
    n_links: int
    permutations: int
    seed: int
    excluded: pd.DataFrame = field(repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``measure`` ("moran_I"), ``column``, ``value``, ``expected``, ``se``, ``z``,
        ``p_value``, ``p_norm``, ``null_lower``, ``null_upper``, ``n``, ``permutations``."""
        return pd.DataFrame(
            [
                {
                    "measure": "moran_I",
                    "column": self.column,
                    "value": self.I,
                    "expected": self.expected_I,
                    "se": self.se,
                    "z": self.z,
                    "p_value": self.p_value,
                    "p_norm": self.p_norm,
                    "null_lower": self.null_lower,
                    "null_upper": self.null_upper,
                    "n": self.n,
                    "permutations": self.permutations,
                }
            ]
        )

    def summary(self) -> str:
        """A short text account (returned, not printed)."""
        lines = [
            f"Global Moran's I of {self.column!r} on queen contiguity ({self.n} communes, {self.n_links} neighbour pairs)",
            f"  I = {self.I:.4f}   E[I] = {self.expected_I:.4f}   z = {self.z:.2f}",
            f"  pseudo p = {self.p_value:.4f} ({self.permutations} permutations, seed {self.seed});"
            f" normal p = {self.p_norm:.4f}",
            f"  null 95% range of I: [{self.null_lower:.4f}, {self.null_upper:.4f}]",
        ]
        if len(self.excluded):
            counts = self.excluded["reason"].value_counts().sort_index()
            lines.append("  excluded: " + ", ".join(f"{n} {reason}" for reason, n in counts.items()))
        return "\n".join(lines)


@dataclass(frozen=True)
class Lisa:
    """Local Moran's I (LISA) of one commune figure, with cluster labels at level ``alpha``.

    Attributes
    ----------
    column : str
    alpha : float
        Significance level of the pseudo p-values.
    moran : Moran
        The global statistic on the same data and weights.
    table : DataFrame
        One row per commune analysed: ``commune_code``, ``name``, ``value``, ``local_I``,
        ``p_value`` (conditional-permutation pseudo p), ``quadrant`` (HH/LH/LL/HL by the
        sign of the value and of its spatial lag, whatever the significance),
        ``significant`` and ``cluster`` (the quadrant when significant, else ``ns``).
    boundaries : GeoDataFrame
        The units whose adjacency was used.
    permutations, seed : int
    """

    column: str
    alpha: float
    moran: Moran
    table: pd.DataFrame = field(repr=False, compare=False)
    boundaries: object = field(repr=False, compare=False)
    permutations: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """The per-commune table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Counts of each cluster, and the global Moran's I (returned, not printed)."""
        counts = self.table["cluster"].value_counts().reindex(list(CLUSTERS), fill_value=0)
        lines = [
            f"LISA clusters of {self.column!r} at alpha = {self.alpha} "
            f"({self.permutations} permutations, seed {self.seed}):"
        ]
        lines += [f"  {key:<3} {int(n):>4}" for key, n in counts.items()]
        lines.append(self.moran.summary())
        return "\n".join(lines)


def _prepare(frame: pd.DataFrame, column: str, boundaries, suppressed_column: str | None):
    """Values of the analysed communes, their contiguity graph and the excluded units."""
    require_frame(frame, "frame")
    for col in ["commune_code", column] + ([suppressed_column] if suppressed_column else []):
        if col not in frame.columns:
            raise ValueError(f"'frame' has no column {col!r}; columns: {list(frame.columns)}")
    if not pd.api.types.is_numeric_dtype(frame[column]):
        raise ValueError(f"column {column!r} of 'frame' must be numeric, got {frame[column].dtype}")
    codes = frame["commune_code"].astype(str)
    dup = codes[codes.duplicated()]
    if len(dup):
        extra = " (filter one review year first)" if "review_year" in frame.columns else ""
        raise ValueError(f"'frame' must have one row per commune; {dup.iloc[0]!r} appears more than once{extra}")
    boundaries = geo.default_boundaries() if boundaries is None else boundaries
    geo.check_boundaries(boundaries, "boundaries")
    unknown = sorted(set(codes) - set(boundaries["commune_code"]))
    if unknown:
        raise ValueError(f"'frame' has commune codes that are not units of the boundaries: {unknown[:5]}")
    rows = frame.assign(commune_code=codes).set_index("commune_code")
    all_codes = sorted(boundaries["commune_code"])
    values = rows[column].reindex(all_codes)
    reason = pd.Series(np.where(values.isna(), "no data", ""), index=all_codes)
    if suppressed_column:
        hidden = rows[suppressed_column].reindex(all_codes).fillna(False).astype(bool)
        reason[hidden.to_numpy()] = "suppressed"
    used = reason.index[reason == ""].tolist()
    excluded = pd.DataFrame({"commune_code": reason.index[reason != ""], "reason": reason[reason != ""].to_numpy()})
    if len(used) < 3:
        raise ValueError(f"Moran's I needs at least 3 communes with published values of {column!r}, got {len(used)}")
    y = values.loc[used].to_numpy(dtype=float)
    if np.all(y == y[0]):
        raise ValueError(f"column {column!r} has the same value in every commune: no spatial pattern to test")
    near = geo.neighbours(boundaries)
    keep = set(used)
    adjacency = {c: [n for n in near[c] if n in keep] for c in used}
    if sum(map(len, adjacency.values())) == 0:
        raise ValueError("no two analysed communes are neighbours: Moran's I is undefined")
    return y, used, adjacency, excluded, boundaries


def _esda():
    with warnings.catch_warnings():
        # esda imports tqdm.auto, which warns inside notebooks without ipywidgets; no progress bar is used.
        warnings.filterwarnings("ignore", message="IProgress not found")
        import esda
    return esda


def _graph(adjacency: dict[str, list[str]]):
    from libpysal.graph import Graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands are reported by libpysal as warnings
        return Graph.from_dicts(adjacency).transform("r")


def _check_options(permutations, seed, alpha=None):
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 99:
        raise ValueError(f"permutations must be an integer >= 99, got {permutations!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if alpha is not None and not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _moran(y, graph, column, permutations, seed, n_links, excluded) -> Moran:
    esda = _esda()

    with _seeded(int(seed)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = esda.Moran(y, graph, transformation="r", permutations=int(permutations))
    lower, upper = np.quantile(m.sim, [0.025, 0.975])
    return Moran(
        column=column,
        I=float(m.I),
        expected_I=float(m.EI),
        se=float(m.seI_sim),
        z=float(m.z_sim),
        p_value=float(m.p_sim),
        p_norm=float(m.p_norm),
        null_lower=float(lower),
        null_upper=float(upper),
        n=len(y),
        n_links=n_links,
        permutations=int(permutations),
        seed=int(seed),
        excluded=excluded,
    )


def moran(
    frame: pd.DataFrame,
    column: str,
    *,
    boundaries: GeoDataFrame | None = None,
    permutations: int = 999,
    seed: int = 0,
    suppressed_column: str | None = "suppressed",
) -> Moran:
    """Global Moran's I of a commune figure on queen contiguity, with a permutation test.

    Communes whose figure is suppressed (``suppressed_column``) or missing are left out of
    the analysis (and listed in ``excluded``); contiguity is taken among the others.
    Weights are row-standardised.

    Parameters
    ----------
    frame : DataFrame
        One row per commune: ``commune_code``, ``column`` and ``suppressed_column``.
    column : str
        The figure (e.g. ``poor_rate``).
    boundaries : GeoDataFrame, optional
        Units whose adjacency is used (default :func:`povanalysis.geo.boundaries.boundaries.default_boundaries`).
    permutations : int, default 999
        Random permutations of the values for the pseudo p-value.
    seed : int, default 0
        Seed of the permutations (numpy's global generator is restored afterwards).
    suppressed_column : str or None, default "suppressed"

    Returns
    -------
    Moran

    References
    ----------
    Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. *Biometrika*
    37(1/2): 17–23. doi:10.2307/2332142

    Cliff, A. D. and Ord, J. K. (1981). *Spatial Processes: Models and Applications*. Pion.

    Examples
    --------
    >>> from povanalysis.data import registry
    >>> u = registry.units()
    >>> f = pd.DataFrame({"commune_code": u["commune_code"], "v": u["lat"], "suppressed": False})
    >>> m = moran(f, "v", permutations=99, seed=1)
    >>> m.I > 0.8, m.p_value
    (True, 0.01)
    """
    _check_options(permutations, seed)
    y, used, adjacency, excluded, _ = _prepare(frame, column, boundaries, suppressed_column)
    n_links = sum(map(len, adjacency.values())) // 2
    return _moran(y, _graph(adjacency), column, permutations, seed, n_links, excluded)


def lisa(
    frame: pd.DataFrame,
    column: str,
    *,
    boundaries: GeoDataFrame | None = None,
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    suppressed_column: str | None = "suppressed",
) -> Lisa:
    """Local Moran's I of each commune and its cluster: hot spots, cold spots and outliers.

    A commune is in cluster HH (a high value among high neighbours: a hot spot), LL (cold
    spot), HL or LH (spatial outliers) when its conditional-permutation pseudo p-value is
    below ``alpha``, else ``ns``. With 92 communes and many tests, treat isolated
    significant communes with care (no multiple-testing correction is applied).

    Parameters
    ----------
    frame, column, boundaries, permutations, seed, suppressed_column
        As in :func:`moran`.
    alpha : float, default 0.05
        Significance level of the local pseudo p-values.

    Returns
    -------
    Lisa

    References
    ----------
    Anselin, L. (1995). Local indicators of spatial association — LISA. *Geographical
    Analysis* 27(2): 93–115. doi:10.1111/j.1538-4632.1995.tb00338.x

    Examples
    --------
    >>> from povanalysis.data import registry
    >>> u = registry.units()
    >>> f = pd.DataFrame({"commune_code": u["commune_code"], "v": u["lat"], "suppressed": False})
    >>> r = lisa(f, "v", permutations=99, seed=1)
    >>> sorted(set(r.to_frame()["cluster"]) - {"ns"})
    ['HH', 'LL']
    """
    esda = _esda()
    _check_options(permutations, seed, alpha)
    y, used, adjacency, excluded, boundaries = _prepare(frame, column, boundaries, suppressed_column)
    graph = _graph(adjacency)
    n_links = sum(map(len, adjacency.values())) // 2
    global_ = _moran(y, graph, column, permutations, seed, n_links, excluded)
    with _seeded(int(seed)), warnings.catch_warnings():  # esda seeds numpy's global generator: restore it
        warnings.simplefilter("ignore")
        local = esda.Moran_Local(y, graph, transformation="r", permutations=int(permutations), seed=int(seed), n_jobs=1)
    names = boundaries.set_index("commune_code")["name"]
    quadrant = pd.Series(local.q).map(_QUADRANTS).to_numpy()
    isolated = np.array([len(adjacency[c]) == 0 for c in used])
    significant = (local.p_sim < alpha) & ~isolated
    table = pd.DataFrame(
        {
            "commune_code": used,
            "name": names.reindex(used).to_numpy(),
            "value": y,
            "local_I": np.asarray(local.Is, dtype=float),
            "p_value": np.asarray(local.p_sim, dtype=float),
            "quadrant": quadrant,
            "significant": significant,
            "cluster": np.where(significant, quadrant, "ns"),
        }
    )
    return Lisa(
        column=column,
        alpha=float(alpha),
        moran=global_,
        table=table,
        boundaries=boundaries,
        permutations=int(permutations),
        seed=int(seed),
    )
