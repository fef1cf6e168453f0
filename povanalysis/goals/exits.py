"""Lasting exits: households that left poverty at a review, and whether they were still out one and two reviews later."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..common.checks import check_alpha, require_frame
from ..measure.standards import classify, get_standard
from ..targeting.panel import NEWLY_ESCAPED_YEARS, household_panel, min_cell_limit, positive_int
from .series import minority_column, standard_in_force

__all__ = ["LEVELS", "MEASURES", "Exits", "lasting_exits", "exits_from_table", "proportion_interval"]

#: Levels the exits are counted at: the province, each commune, ethnic minority or majority,
#: each pre-merger province (``old_area``), disadvantaged communes or the others.
LEVELS: tuple[str, ...] = ("province", "commune", "minority", "old_area", "disadvantaged")

#: The proportions of :attr:`Exits.table`, each a count ``x`` over a denominator ``n``:
#:
#: - ``exit``: exits at review t among the households poor at t − 1 and reviewed at t (horizon 0);
#: - ``held``: still out of poverty at every review t+1..t+h, among the exits reviewed at all of them;
#: - ``held_all``: the same count over every exit followed to t+h, a household no longer reviewed counted as not held;
#: - ``reentered``: poor again at one of the reviews t+1..t+h, among the exits reviewed at all of them (1 − ``held``);
#: - ``reentry_hazard``: poor again at t+h among the exits still out at t+h−1 and reviewed at t+h;
#: - ``lost``: one of the reviews t+1..t+h missing (moved, split, dissolved), among the exits.
MEASURES: tuple[str, ...] = ("exit", "held", "held_all", "reentered", "reentry_hazard", "lost")

# measure -> (count column, denominator column) of the per-horizon counts
_PARTS = {
    "held": ("held", "observed"),
    "held_all": ("held", "exits"),
    "reentered": ("reentered", "observed"),
    "reentry_hazard": ("reentered_now", "at_risk"),
    "lost": ("lost", "exits"),
}
_COUNTS = ("lost", "observed", "held", "reentered", "at_risk", "reentered_now")


def proportion_interval(
    x: np.ndarray,
    n: np.ndarray,
    *,
    alpha: float = 0.05,
    variance: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of x/n; with a design ``variance`` and ``clusters``, on an effective sample size.

    Without ``variance`` the households are independent: the Wilson interval (Wilson 1927),
    which keeps its coverage near the nominal level for small n and for shares near 0 or 1,
    where the Wald interval fails (Brown, Cai & DasGupta 2001).  With the design-based
    (cluster-robust) ``variance`` of the share and the number of ``clusters`` it rests on,
    the interval is Wilson's on the effective sample size of Korn & Graubard (1998):
    ``n* = p(1 − p) / variance``, at most n (a design effect below one is not credited),
    times ``(z / t_{C−1})²`` for the few clusters the variance is estimated from.  A share
    of 0 or 1, whose design variance is zero, keeps n times that factor.  n = 0 gives NaN.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22(158), 209–212. doi:10.1080/01621459.1927.10502953.
    Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial
    proportion. *Statistical Science* 16(2), 101–133. doi:10.1214/ss/1009213286.
    Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small
    expected number of positive counts estimated from survey data. *Survey Methodology*
    24(2), 193–201.

    Examples
    --------
    >>> lo, hi = proportion_interval(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.4902, 0.9433)
    >>> lo, hi = proportion_interval(np.array([10]), np.array([10]))
    >>> round(float(lo[0]), 4), float(hi[0])
    (0.7225, 1.0)
    """
    alpha = check_alpha(alpha)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    ok = n > 0
    p = np.where(ok, x / np.where(ok, n, 1), np.nan)
    n_eff = n.copy()
    if variance is not None:
        v = np.asarray(variance, dtype=float)
        c = np.asarray(clusters, dtype=float)
        inner = (p > 0) & (p < 1) & (v > 0)
        n_eff = np.where(inner, np.minimum(n, p * (1 - p) / np.where(inner, v, 1)), n)
        df = np.maximum(c - 1, 1)
        n_eff = n_eff * (z / stats.t.ppf(1 - alpha / 2, df)) ** 2
    n_safe = np.where(ok, n_eff, 1)
    x_eff = p * n_safe
    centre = (x_eff + z**2 / 2) / (n_safe + z**2)
    half = z / (n_safe + z**2) * np.sqrt(np.maximum(x_eff * (n_safe - x_eff) / n_safe, 0) + z**2 / 4)
    lo = np.where(ok, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(ok, np.clip(centre + half, 0, 1), np.nan)
    lo = np.where(ok & (x <= 0), 0.0, lo)
    hi = np.where(ok & (x >= n), 1.0, hi)
    return lo, hi


@dataclass(frozen=True)
class Exits:
    """Exits from poverty and how many lasted (what :func:`lasting_exits` returns).

    Attributes
    ----------
    table : DataFrame
        Tidy proportions: ``level``, ``group``, ``exit_year``, ``horizon`` (reviews after
        the exit; 0 for the ``exit`` measure), ``measure`` (one of :data:`MEASURES`), ``x``
        (households), ``n`` (the denominator), ``estimate`` (x/n), ``se``, ``ci_lower``,
        ``ci_upper``, ``clusters`` (communes behind the denominator), ``interval``
        (``wilson`` for independent households, ``wilson_cluster`` for a pooled level).
    counts : DataFrame
        Additive counts, one row per ``level``, ``group``, ``exit_year`` and ``horizon``
        (0..the longest follow-up the panel allows): ``poor_before`` (poor at t − 1 and
        reviewed at t), ``exits``, ``lost``, ``observed`` (= exits − lost), ``held``,
        ``reentered`` (= observed − held), ``at_risk`` and ``reentered_now`` (the
        ``reentry_hazard``'s denominator and count).  Horizon 0 rows carry only
        ``poor_before`` and ``exits``.
    standard : str
        The one standard every review is classified under.
    basis : {"as_classified", "reclassified"}
    review_years : tuple of int
    alpha : float
    min_cell : int
        The publication limit the prose and figures apply.
    notes : tuple of str
    """

    table: pd.DataFrame = field(repr=False)
    counts: pd.DataFrame = field(repr=False)
    standard: str
    basis: str
    review_years: tuple[int, ...]
    alpha: float = 0.05
    min_cell: int = 10
    notes: tuple[str, ...] = ()
    _units: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table of proportions (a copy)."""
        return self.table.copy()

    def unit(self, level: str = "province", group: object = "all") -> pd.DataFrame:
        """Counts and shares of one unit, one row per exit year and horizon (internal: not suppressed).

        Columns of :attr:`counts` plus, for each measure of :data:`MEASURES`, ``<measure>_share``,
        ``<measure>_lower`` and ``<measure>_upper`` (the ``exit`` measure on the horizon-0 rows,
        the others on the rows of their horizon).  Each unit's table is built once per result
        (a report's sentence, chart and table read the same unit); callers get a copy.
        """
        key = (str(level), str(group))
        if key not in self._units:
            self._units[key] = self._unit(level, group)
        return self._units[key].copy()

    def _unit(self, level: str, group: object) -> pd.DataFrame:
        c = self.counts[(self.counts["level"] == level) & (self.counts["group"].astype(str) == str(group))]
        if c.empty:
            known = sorted(self.counts.loc[self.counts["level"] == level, "group"].astype(str).unique())[:10]
            raise ValueError(f"no exits for level {level!r} and group {group!r} (groups: {known})")
        t = self.table[(self.table["level"] == level) & (self.table["group"].astype(str) == str(group))]
        out = c.drop(columns=["level", "group"]).set_index(["exit_year", "horizon"])
        for m in MEASURES:
            part = t[t["measure"] == m].set_index(["exit_year", "horizon"])
            out[f"{m}_share"] = part["estimate"]
            out[f"{m}_lower"] = part["ci_lower"]
            out[f"{m}_upper"] = part["ci_upper"]
        return out.reset_index()

    def summary(self) -> str:
        """Exits per year and the shares still out one and two reviews later at the province level, as text."""
        pct = 100 * (1 - self.alpha)
        if not (self.counts["level"] == "province").any():
            return (
                "Lasting exits: no province rows (no household poor at two consecutive reviews, or no province level)"
            )
        p = self.unit("province", "all")
        lines = [
            f"Lasting exits, {self.standard} standard ({self.basis}); reviews {self.review_years[0]}-"
            f"{self.review_years[-1]}; {pct:.0f}% intervals; still out = at every later review, among the exits reviewed"
        ]
        for y, part in p.groupby("exit_year", sort=True):
            first = part[part["horizon"] == 0].iloc[0]
            line = (
                f"  {y}: {int(first['exits'])} exits of {int(first['poor_before'])} poor households "
                f"({100 * first['exit_share']:.1f}%)"
            )
            for r in part[part["horizon"] > 0].itertuples(index=False):
                line += (
                    f"; +{r.horizon}: {int(r.held)} held of {int(r.observed)} reviewed, {100 * r.held_share:.1f}% "
                    f"[{100 * r.held_lower:.1f}, {100 * r.held_upper:.1f}], re-entry hazard "
                    f"{100 * r.reentry_hazard_share:.1f}%, {int(r.lost)} lost"
                )
            if part["horizon"].max() == 0:
                line += "; no later review yet"
            lines.append(line)
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _slim(classified: pd.DataFrame, standard: str | None) -> tuple[pd.DataFrame, str, str]:
    """The columns the panel needs, with every review classified under one standard."""
    if standard is not None:
        std = get_standard(standard).key
        cls = classify(classified, standard=std)
        basis = "reclassified"
    else:
        if "standard" in classified.columns:
            stds = sorted(classified["standard"].astype(str).unique())
        else:
            in_force = (standard_in_force(int(y)) for y in classified["review_year"].unique())
            stds = sorted({s for s in in_force if s})
        if len(stds) != 1:
            raise ValueError(
                f"the panel mixes standards {stds}: an exit across the switch would be the standard's, not the "
                "household's; pass 'standard' (e.g. '2026-2030') to reclassify every review under one"
            )
        std, basis = stds[0], "as_classified"
        cls = classified["poverty_class"]
    # Series, not arrays: a string column stays in its own storage (no copy of 27 million strings)
    slim = pd.DataFrame(
        {
            "household_id": classified["household_id"],
            "review_year": classified["review_year"],
            "commune_code": classified["commune_code"],
            "poverty_class": cls,
        },
        index=classified.index,
    )
    return slim, std, basis


def _take(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values of ``column`` at positions ``rows`` as strings, through its codes (fast on long columns)."""
    codes, uniques = pd.factorize(column)
    return np.asarray(pd.Index(uniques).astype(str), dtype=object)[codes[rows]]


def _group_keys(classified: pd.DataFrame, rows: np.ndarray, levels: list[str], disadvantaged) -> dict[str, np.ndarray]:
    """The group of each exit row at each level (taken at the exit review)."""
    codes = _take(classified["commune_code"], rows)
    out = {}
    for level in levels:
        if level == "province":
            out[level] = np.full(len(rows), "all", dtype=object)
        elif level == "commune":
            out[level] = codes.astype(object)
        elif level == "minority":
            m = minority_column(classified).to_numpy(dtype=bool)[rows]
            out[level] = np.where(m, "minority", "majority").astype(object)
        elif level == "old_area":
            out[level] = _take(classified["old_area"], rows)
        else:
            out[level] = np.where(np.isin(codes, list(disadvantaged)), "disadvantaged", "other").astype(object)
    return out


def lasting_exits(
    classified: pd.DataFrame,
    *,
    levels: Sequence[str] = LEVELS,
    horizons: int = 2,
    standard: str | None = None,
    disadvantaged: Collection[str] | None = None,
    alpha: float = 0.05,
    min_cell: int | None = None,
) -> Exits:
    """Exits from poverty at each review and whether they lasted one and two reviews, with intervals.

    A household *exits* at review t when it was poor at the review before (t − 1) and is not
    poor at t (near-poor, average living or not poor): leaving the poor list, as the reviews
    count it.  Both reviews must be the household's (a household first reviewed at t is not
    an exit).  An exit *held* h reviews later when the household is reviewed at each of
    t+1..t+h and poor at none of them; it *re-entered* when it is reviewed at each of them
    and poor at one or more; it is *lost* when one of these reviews is missing (moved,
    split, dissolved, or a record that no longer links).  ``held + reentered + lost =
    exits`` at each horizon.  The share still out is ``held / (held + reentered)``, among
    the exits reviewed at every later review: households lost are not counted as held, and
    the share is unbiased when they are lost at random (a household lost after falling
    back is left out as one lost after holding is, so attrition does not tilt the share);
    ``held_all`` counts the lost as not held (a lower bound).  The one-review re-entry rate
    ``reentry_hazard`` at horizon h rests on the exits still out at t+h−1 and reviewed at t+h.  Exits of the last reviews are censored: one with no review h reviews later has
    no row at horizon h.  Households are followed by ``household_id``; "one review later"
    is the next review year of the panel.  A household can leave poverty more than once:
    each exit counts in its year.

    Intervals: for a commune, the Wilson interval (households independent).  The pooled
    levels gather households of many communes, whose exits share the commune's economy,
    officials and programmes, so they are correlated within a commune: the share is a
    ratio estimator over commune clusters with the linearised (cluster-robust) variance
    ``C/(C−1) Σ_c (x_c − p n_c)² / n²`` and the Wilson interval on the Korn–Graubard
    effective sample size (:func:`proportion_interval`).  A pooled group of one commune
    uses Wilson's.

    Parameters
    ----------
    classified : DataFrame
        One row per household and review: ``household_id``, ``review_year`` (integers),
        ``commune_code``, ``poverty_class`` (or the columns
        :func:`povanalysis.measure.standards.classify` needs when ``standard`` is given),
        and for the levels ``minority`` (or ``ethnicity``) and ``old_area``.
    levels : sequence of str
        Among :data:`LEVELS`; a level the data do not carry (no ``old_area``, no
        ``disadvantaged`` list) is left out and the notes say so.
    horizons : int
        The longest follow-up, in reviews (default 2).
    standard : str, optional
        Reclassify every review under this standard.  None keeps ``poverty_class``, which
        must then rest on one standard (column ``standard``, or the standard of each review
        year): across the switch to Decree 351/2025/ND-CP a household can "exit" or "re-enter"
        by the change of the line alone.
    disadvantaged : collection of str, optional
        Codes of the disadvantaged communes (:func:`povanalysis.data.pipeline.load_disadvantaged`).
    alpha : float
        1 − the intervals' coverage.
    min_cell : int, optional
        The publication limit kept on the result (default :data:`povanalysis.config.MIN_CELL`).

    Returns
    -------
    Exits

    References
    ----------
    Bane, M. J. & Ellwood, D. T. (1986). Slipping into and out of poverty: the dynamics of
    spells. *Journal of Human Resources* 21(1), 1–23. doi:10.2307/145955.
    Stevens, A. H. (1999). Climbing out of poverty, falling back in: measuring the
    persistence of poverty over multiple spells. *Journal of Human Resources* 34(3),
    557–588. doi:10.2307/146380.  Decision 28/2015/QĐ-TTg (newly escaped households).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": list("aaabbbccc"), "review_year": [2023, 2024, 2025] * 3,
    ...                    "commune_code": "01", "standard": "2022-2025",
    ...                    "poverty_class": ["poor", "near_poor", "not_poor", "poor", "not_poor", "poor",
    ...                                      "poor", "poor", "near_poor"]})
    >>> ex = lasting_exits(hh, levels=["province"], min_cell=1)
    >>> ex.counts[["exit_year", "horizon", "poor_before", "exits", "held", "reentered"]].to_dict("records")[:2]
    [{'exit_year': 2024, 'horizon': 0, 'poor_before': 3, 'exits': 2, 'held': 0, 'reentered': 0},
     {'exit_year': 2024, 'horizon': 1, 'poor_before': 3, 'exits': 2, 'held': 1, 'reentered': 1}]
    """
    require_frame(classified, "classified")
    levels = [levels] if isinstance(levels, str) else list(levels)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise ValueError(f"'levels' must be among {LEVELS}, got {levels!r}")
    depth = positive_int(horizons, "horizons")
    alpha = check_alpha(alpha)
    limit = min_cell_limit(min_cell)
    require_frame(
        classified,
        "classified",
        ["household_id", "review_year", "commune_code"] + ([] if standard is not None else ["poverty_class"]),
    )
    notes: list[str] = []
    if "old_area" in levels and "old_area" not in classified.columns:
        levels.remove("old_area")
        notes.append("no 'old_area' column: the pre-merger provinces are left out")
    if "minority" in levels and not {"minority", "ethnicity"} & set(classified.columns):
        levels.remove("minority")
        notes.append("no 'minority' or 'ethnicity' column: ethnic groups are left out")
    if "disadvantaged" in levels and not disadvantaged:
        levels.remove("disadvantaged")
        notes.append("no list of disadvantaged communes given: that level is left out")
    if not levels:
        raise ValueError("none of the 'levels' asked for is carried by the data")
    slim, std, basis = _slim(classified, standard)
    panel = household_panel(slim, NEWLY_ESCAPED_YEARS)
    ys = np.unique(panel.years)
    if len(ys) < 2:
        raise ValueError(f"exits need at least two review years, got {ys.tolist()}")
    yi = np.searchsorted(ys, panel.years)
    last = len(ys) - 1
    poor = panel.cls == 0
    prev = np.maximum(panel.prev, 0)
    rows = np.flatnonzero((panel.prev >= 0) & (yi[prev] == yi - 1) & poor[prev])
    ry = yi[rows]
    exit_ = ~poor[rows]
    data = {"exit_year": panel.years[rows], "commune": _take(classified["commune_code"], rows)}
    keys = _group_keys(classified, rows, levels, disadvantaged)
    data |= {f"g_{lv}": v for lv, v in keys.items()}
    data |= {"poor_before": np.ones(len(rows), dtype=np.int32), "exits": exit_.astype(np.int32)}
    # Follow every exit forward: ``seen`` = reviewed at each review so far, ``ever`` = poor at one of them.
    cur, seen = rows.copy(), exit_.copy()
    ever = np.zeros(len(rows), bool)
    for k in range(1, depth + 1):
        eligible = exit_ & (ry + k <= last)
        nxt = panel.next[cur]
        safe = np.maximum(nxt, 0)
        at_k = seen & (nxt >= 0) & (yi[safe] == ry + k)
        now = at_k & poor[safe]
        data[f"at_risk_{k}"] = (eligible & at_k & ~ever).astype(np.int32)
        data[f"reentered_now_{k}"] = (eligible & now & ~ever).astype(np.int32)
        seen, ever = at_k, ever | now
        data[f"lost_{k}"] = (eligible & ~seen).astype(np.int32)
        data[f"observed_{k}"] = (eligible & seen).astype(np.int32)
        data[f"held_{k}"] = (eligible & seen & ~ever).astype(np.int32)
        data[f"reentered_{k}"] = (eligible & seen & ever).astype(np.int32)
        cur = np.where(at_k, safe, cur)
    frame = pd.DataFrame(data)
    gcols = [f"g_{lv}" for lv in levels]
    by_commune = frame.groupby(["exit_year", "commune", *gcols], sort=True, observed=True).sum().reset_index()
    year_pos = {int(y): i for i, y in enumerate(ys)}
    cells = []
    for lv in levels:
        g = by_commune.groupby([f"g_{lv}", "exit_year", "commune"], sort=True).sum(numeric_only=True).reset_index()
        g = g.rename(columns={f"g_{lv}": "group"})
        pos = g["exit_year"].map(year_pos).to_numpy()
        for k in range(0, depth + 1):
            part = g[pos + k <= last]
            if part.empty:
                continue
            cell = part[["group", "exit_year", "commune", "poor_before", "exits"]].assign(level=lv, horizon=k)
            if k:
                for c in _COUNTS:
                    cell[c] = part[f"{c}_{k}"].to_numpy()
            cells.append(cell)
    columns = ["group", "exit_year", "commune", "poor_before", "exits", "level", "horizon", *_COUNTS]
    cells = pd.concat(cells, ignore_index=True).reindex(columns=columns) if cells else pd.DataFrame(columns=columns)
    for c in ["exit_year", "horizon", "poor_before", "exits", *_COUNTS]:
        cells[c] = cells[c].fillna(0).astype("int64")
    keys_ = ["level", "group", "exit_year", "horizon"]
    counts = cells.groupby(keys_, sort=False)[["poor_before", "exits", *_COUNTS]].sum().reset_index()
    counts.loc[counts["horizon"] == 0, list(_COUNTS)] = 0
    table = _proportions(cells, alpha)
    order = {lv: i for i, lv in enumerate(LEVELS)}
    counts = counts.sort_values(
        ["level", "group", "exit_year", "horizon"], key=lambda s: s.map(order) if s.name == "level" else s
    ).reset_index(drop=True)
    prov = frame[[f"lost_{k}" for k in range(1, depth + 1)] + ["exits"]].sum()
    if last >= 1:
        cens = [
            f"exits at the {int(ys[last - k + 1])} review have {k - 1} later review(s)" for k in range(1, depth + 1)
        ]
        notes.append("censoring: " + "; ".join(cens) + " (no row at the horizons they lack)")
    notes.append(
        f"every review classified under the {std} standard ({basis}); an exit is poor at t-1 and not poor "
        "(near-poor or above) at t, both reviews of the same household"
    )
    notes.append(
        "attrition: "
        + ", ".join(f"{int(prov[f'lost_{k}'])} exits lost within {k} review(s)" for k in range(1, depth + 1))
        + f" of {int(prov['exits'])} exits (all years), not counted as held"
    )
    notes.append(
        "intervals: Wilson for a commune; pooled levels: Wilson on the Korn-Graubard effective sample size "
        "from the commune-clustered variance"
    )
    return Exits(
        table=table,
        counts=counts,
        standard=std,
        basis=basis,
        review_years=tuple(int(y) for y in ys),
        alpha=alpha,
        min_cell=limit,
        notes=tuple(notes),
    )


def _proportions(cells: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The proportions of :data:`MEASURES` from per-commune counts, with their intervals."""
    keys = ["level", "group", "exit_year", "horizon"]
    parts = [cells.loc[cells["horizon"] == 0, [*keys, "commune"]].assign(measure="exit", x=None, n=None)]
    parts[0]["x"] = cells.loc[cells["horizon"] == 0, "exits"].to_numpy()
    parts[0]["n"] = cells.loc[cells["horizon"] == 0, "poor_before"].to_numpy()
    later = cells[cells["horizon"] > 0]
    for m, (xc, nc) in _PARTS.items():
        part = later[[*keys, "commune"]].assign(measure=m)
        part["x"] = later[xc].to_numpy()
        part["n"] = later[nc].to_numpy()
        parts.append(part)
    long = pd.concat(parts, ignore_index=True)
    long["x"] = long["x"].astype("int64")
    long["n"] = long["n"].astype("int64")
    gk = [*keys, "measure"]
    grp = long.groupby(gk, sort=False)
    tot = grp[["x", "n"]].transform("sum")
    p = np.where(tot["n"] > 0, tot["x"] / tot["n"].where(tot["n"] > 0, 1), 0.0)
    long["ss"] = (long["x"] - p * long["n"]) ** 2
    long["c"] = (long["n"] > 0).astype("int64")
    out = long.groupby(gk, sort=False)[["x", "n", "ss", "c"]].sum().reset_index()
    x = out["x"].to_numpy(dtype=float)
    n = out["n"].to_numpy(dtype=float)
    c = out["c"].to_numpy(dtype=float)
    est = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
    pooled = (out["level"] != "commune").to_numpy() & (c >= 2)
    v_srs = np.where(n > 0, est * (1 - est) / np.where(n > 0, n, 1), np.nan)
    v_cl = np.where(
        pooled & (n > 0), c / np.maximum(c - 1, 1) * out["ss"].to_numpy() / np.where(n > 0, n, 1) ** 2, np.nan
    )
    lo, hi = proportion_interval(x, n, alpha=alpha)
    lo_c, hi_c = proportion_interval(x, n, alpha=alpha, variance=np.nan_to_num(v_cl), clusters=c)
    out["estimate"] = est
    out["se"] = np.sqrt(np.where(pooled, v_cl, v_srs))
    out["ci_lower"] = np.where(pooled, lo_c, lo)
    out["ci_upper"] = np.where(pooled, hi_c, hi)
    out["clusters"] = out.pop("c").astype("int64")
    out["interval"] = np.where(pooled, "wilson_cluster", "wilson")
    out = out.drop(columns="ss")
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    measure_order = {m: i for i, m in enumerate(MEASURES)}
    out = out.sort_values(
        ["level", "group", "exit_year", "horizon", "measure"],
        key=lambda s: s.map(level_order) if s.name == "level" else s.map(measure_order) if s.name == "measure" else s,
    ).reset_index(drop=True)
    return out[[*keys, "measure", "x", "n", "estimate", "se", "ci_lower", "ci_upper", "clusters", "interval"]]


def exits_from_table(
    table: pd.DataFrame,
    *,
    standard: str,
    basis: str,
    review_years: Sequence[int],
    alpha: float = 0.05,
    min_cell: int | None = None,
    notes: Sequence[str] = (),
) -> Exits:
    """An :class:`Exits` rebuilt from its tidy :attr:`Exits.table` (some of its rows: one commune's, say).

    The counts are the table's: ``exit`` gives ``exits`` over ``poor_before``; ``held``
    gives ``held`` over ``observed``; ``held_all`` gives ``exits`` at each horizon;
    ``reentered``, ``lost`` and ``reentry_hazard`` the others.  What a stored table
    (a report's prepared folder) needs to be read by the prose and figures again.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": list("aaabbbccc"), "review_year": [2023, 2024, 2025] * 3,
    ...                    "commune_code": "01", "standard": "2022-2025",
    ...                    "poverty_class": ["poor", "near_poor", "not_poor", "poor", "not_poor", "poor",
    ...                                      "poor", "poor", "near_poor"]})
    >>> ex = lasting_exits(hh, levels=["commune"], min_cell=1)
    >>> back = exits_from_table(ex.table, standard=ex.standard, basis=ex.basis, review_years=ex.review_years,
    ...                         min_cell=1)
    >>> back.counts.equals(ex.counts)
    True
    """
    require_frame(table, "table", ["level", "group", "exit_year", "horizon", "measure", "x", "n", "ci_lower"])
    keys = ["level", "group", "exit_year", "horizon"]
    t = table.reset_index(drop=True)
    wide = t.pivot_table(index=keys, columns="measure", values=["x", "n"], aggfunc="first", sort=False)
    counts = pd.DataFrame(index=wide.index)

    def get(side: str, m: str) -> pd.Series:
        if (side, m) in wide.columns:
            return wide[(side, m)]
        return pd.Series(np.nan, index=wide.index)

    base = t[t["measure"] == "exit"].set_index(["level", "group", "exit_year"])[["x", "n"]]
    idx = wide.index.droplevel("horizon")
    counts["poor_before"] = base["n"].reindex(idx).to_numpy()
    counts["exits"] = base["x"].reindex(idx).to_numpy()
    counts["lost"] = get("x", "lost")
    counts["observed"] = get("n", "held")
    counts["held"] = get("x", "held")
    counts["reentered"] = get("x", "reentered")
    counts["at_risk"] = get("n", "reentry_hazard")
    counts["reentered_now"] = get("x", "reentry_hazard")
    counts = counts.fillna(0).astype("int64").reset_index()
    counts["exit_year"] = counts["exit_year"].astype("int64")
    counts["horizon"] = counts["horizon"].astype("int64")
    order = {lv: i for i, lv in enumerate(LEVELS)}
    counts = counts.sort_values(
        keys, key=lambda s: s.map(order) if s.name == "level" else s, kind="stable"
    ).reset_index(drop=True)
    return Exits(
        table=t,
        counts=counts,
        standard=str(standard),
        basis=str(basis),
        review_years=tuple(int(y) for y in review_years),
        alpha=check_alpha(alpha),
        min_cell=min_cell_limit(min_cell),
        notes=tuple(notes),
    )
