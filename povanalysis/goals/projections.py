"""Poverty projections to 2030 with uncertainty: rebasing, trend and transition models, credit scenarios, requirements."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import special, stats

from .. import config
from ..figures.charts import FONT, PALETTE
from ..common.labels import check_lang, format_number, format_percent, label, pick
from ..data.schema import ETHNIC_MAJORITY
from ..measure.standards import CLASSES, classify, get_standard, standard_for_review
from .targets import Target, _check_targets, commune_reference_paths, select

__all__ = [
    "PROJECTION_YEARS",
    "STATES",
    "Rebase",
    "rebase",
    "reclassify",
    "standard_gap",
    "Projection",
    "TrendFit",
    "trend_projection",
    "transition_projection",
    "credit_scenario",
    "commune_requirements",
    "group_status",
    "province_ranking",
    "binding_target",
    "requirements_headline",
    "scenario_headline",
    "gap_labels",
    "plot_fan_chart",
    "plot_gap_bars",
]

#: Review years projected by default: the 2026–2030 period.
PROJECTION_YEARS: tuple[int, ...] = (2026, 2027, 2028, 2029, 2030)

#: States of the household transition model: poor; not poor, having left poverty 1, 2 or 3
#: reviews ago (the "newly escaped" window of Decision 28/2015/QĐ-TTg, where re-entry is
#: counted); not poor for longer (or never poor in the panel).
STATES: tuple[str, ...] = ("poor", "escaped_1", "escaped_2", "escaped_3", "not_poor")

_TEXT = {
    "observed": ("Kết quả rà soát", "Review results"),
    "projection": ("Dự báo", "Projection"),
    "band": ("Khoảng dự báo {p}%", "{p}% prediction interval"),
    "target": ("Lộ trình mục tiêu", "Target path"),
    "gap": ("Chênh lệch so với mục tiêu năm {y} (điểm phần trăm)", "Gap to the {y} target (percentage points)"),
    "gap_title": ("Chênh lệch giữa dự báo và mục tiêu năm {y}, theo xã", "Gap between projection and target in {y}, by commune"),
    "behind": ("Chậm so với lộ trình", "Behind the path"),
    "on_track": ("Đạt lộ trình", "On track"),
    "hidden": ("{n} xã không công bố (dưới ngưỡng số hộ)", "{n} commune(s) suppressed (too few households)"),
    "no_target": ("{n} xã không có mục tiêu", "{n} commune(s) without a target"),
    "suppressed": ("không công bố: dưới ngưỡng số hộ", "suppressed: too few households"),
    "fan_title": ("{who}: tỷ lệ hộ nghèo dự báo {y0}–{y1}", "{who}: projected poor-household rate {y0}–{y1}"),
    "year": ("Năm rà soát", "Review year"),
}

_STANDARD_SHORT = {"2022-2025": ("chuẩn 2022–2025", "2022–2025 standard"),
                   "2026-2030": ("chuẩn 2026–2030", "2026–2030 standard"),
                   "2026-2030-draft12": ("chuẩn 2026–2030 (12 chỉ số)", "2026–2030 standard (12 indicators)")}


def _t(key: str, lang: str, **kw) -> str:
    return pick(_TEXT, key, lang).format(**kw)


def _std_short(key: str, lang: str) -> str:
    pair = _STANDARD_SHORT.get(key)
    return (pair[0] if lang == "vi" else pair[1]) if pair else key


def _names(codes) -> dict:
    from ..data import registry

    units = registry.units()
    known = dict(zip(units["commune_code"], units["name"]))
    return {c: known[c] for c in codes if c in known}


def _minority_column(frame: pd.DataFrame) -> pd.Series:
    if "minority" in frame.columns:
        return frame["minority"].astype(bool)
    if "ethnicity" in frame.columns:
        return frame["ethnicity"] != ETHNIC_MAJORITY
    raise ValueError("the data need a 'minority' or an 'ethnicity' column")


def _require(frame, name: str, columns) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'{name}' should be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"'{name}' lacks the columns {missing}")


def _check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"'alpha' must be in (0, 1), got {alpha!r}")
    return float(alpha)


def _check_years(years, after: int) -> np.ndarray:
    yrs = np.asarray(list(years), dtype=int)
    if yrs.size == 0 or (np.diff(yrs) != 1).any():
        raise ValueError(f"'years' must be consecutive years in increasing order, got {yrs.tolist()}")
    if yrs[0] <= after:
        raise ValueError(f"'years' must come after the last review used ({after}), got {yrs.tolist()}")
    return yrs


def _stream(seed: int, purpose: int) -> np.random.Generator:
    """An independent random stream per purpose, so that draws of different sources never coincide."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))


def _min_cell(min_cell: int | None) -> int:
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"'min_cell' must be at least 1, got {limit}")
    return limit


# --------------------------------------------------------------------------------------------
# Rebasing
# --------------------------------------------------------------------------------------------

@dataclass
class Rebase:
    """The latest review classified under two standards: the level shift of the standard change.

    Attributes
    ----------
    year : int
        The review reclassified.
    from_standard, to_standard : str
        The standard the review uses (:data:`povanalysis.measure.standards.DEFAULT_STANDARD_BY_REVIEW`)
        and the new one.
    cells : DataFrame
        Household counts by ``commune_code``, ``old_area`` (when known), ``area``,
        ``minority``, ``from_class`` and ``to_class``; no household identifiers.
    min_cell : int
        Rows resting on fewer households are flagged ``suppressed``.
    """

    year: int
    from_standard: str
    to_standard: str
    cells: pd.DataFrame = field(repr=False)
    min_cell: int = 10

    def table(self, by: str | Sequence[str] = ("commune_code",)) -> pd.DataFrame:
        """Counts and rates under both standards and the gap, by ``by`` (``()`` for the province).

        Columns: ``by``, ``households``, ``poor_from``, ``poor_to``, ``rate_from``, ``rate_to``,
        ``gap`` (``rate_to - rate_from``, a share), ``near_poor_from``, ``near_poor_to``,
        ``near_poor_gap``, ``newly_poor`` (poor under the new standard only),
        ``no_longer_poor`` (poor under the old standard only), ``suppressed``.
        """
        by = [by] if isinstance(by, str) else list(by)
        missing = [c for c in by if c not in self.cells.columns]
        if missing:
            raise ValueError(f"'by' names columns the rebasing does not keep: {missing} "
                             f"(available: {[c for c in self.cells.columns if c not in ('from_class', 'to_class', 'households')]})")
        c = self.cells
        n = c["households"].to_numpy()
        f_poor, t_poor = (c["from_class"] == "poor").to_numpy(), (c["to_class"] == "poor").to_numpy()
        work = pd.DataFrame({b: c[b].to_numpy() for b in by})
        work["households"] = n
        work["poor_from"] = n * f_poor
        work["poor_to"] = n * t_poor
        work["near_poor_from"] = n * (c["from_class"] == "near_poor").to_numpy()
        work["near_poor_to"] = n * (c["to_class"] == "near_poor").to_numpy()
        work["newly_poor"] = n * (t_poor & ~f_poor)
        work["no_longer_poor"] = n * (f_poor & ~t_poor)
        out = work.groupby(by, sort=True, observed=True).sum().reset_index() if by else work.sum().to_frame().T
        out = out.astype({k: "int64" for k in work.columns if k not in by})
        out["rate_from"] = out["poor_from"] / out["households"]
        out["rate_to"] = out["poor_to"] / out["households"]
        out["gap"] = out["rate_to"] - out["rate_from"]
        out["near_poor_gap"] = (out["near_poor_to"] - out["near_poor_from"]) / out["households"]
        out["suppressed"] = out["households"] < self.min_cell
        cols = by + ["households", "poor_from", "poor_to", "rate_from", "rate_to", "gap", "near_poor_from",
                     "near_poor_to", "near_poor_gap", "newly_poor", "no_longer_poor", "suppressed"]
        return out[cols]

    def gaps(self, by: str | Sequence[str] = "commune_code") -> pd.DataFrame:
        """The rebasing gap (share) by ``by``, the shift :func:`trend_projection` adds to a series."""
        by = [by] if isinstance(by, str) else list(by)
        return self.table(by)[by + ["gap"]]

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``dimension`` (province, old_area, area, minority, commune_code), ``group`` and the :meth:`table` columns."""
        dims = [()] + [(d,) for d in ("old_area", "area", "minority", "commune_code") if d in self.cells.columns]
        parts = []
        for d in dims:
            t = self.table(list(d))
            name = d[0] if d else "province"
            group = t.pop(d[0]).astype(str) if d else pd.Series(["province"] * len(t))
            parts.append(t.assign(dimension=name, group=group.to_numpy()))
        out = pd.concat(parts, ignore_index=True)
        return out[["dimension", "group"] + [c for c in out.columns if c not in ("dimension", "group")]]

    def crosstab(self) -> pd.DataFrame:
        """Households by class under the old standard (rows) and the new one (columns)."""
        t = self.cells.pivot_table(index="from_class", columns="to_class", values="households", aggfunc="sum",
                                   fill_value=0, observed=False)
        return t.reindex(index=list(CLASSES), columns=list(CLASSES), fill_value=0).astype("int64")

    def summary(self) -> str:
        """A text account of the level shift (returned, not printed)."""
        p = self.table(())
        lines = [f"Rebasing the {self.year} review from {self.from_standard} to {self.to_standard}:",
                 f"  poor households {int(p['poor_from'].iloc[0]):,} ({100 * p['rate_from'].iloc[0]:.2f}%) -> "
                 f"{int(p['poor_to'].iloc[0]):,} ({100 * p['rate_to'].iloc[0]:.2f}%), "
                 f"{100 * p['gap'].iloc[0]:+.2f} points; newly poor {int(p['newly_poor'].iloc[0]):,}, "
                 f"no longer poor {int(p['no_longer_poor'].iloc[0]):,}"]
        for d in ("old_area", "area", "minority"):
            if d not in self.cells.columns:
                continue
            for r in self.table(d).itertuples(index=False):
                value = "suppressed" if r.suppressed else f"{100 * r.rate_from:.2f}% -> {100 * r.rate_to:.2f}% ({100 * r.gap:+.2f} points)"
                lines.append(f"  {d}={getattr(r, d)}: {value}")
        c = self.table("commune_code")
        c = c[~c["suppressed"]]
        if len(c):
            lines.append(f"  commune gaps: median {100 * c['gap'].median():+.2f}, range {100 * c['gap'].min():+.2f} to "
                         f"{100 * c['gap'].max():+.2f} points over {len(c)} communes")
        return "\n".join(lines)

    def headline(self, lang: str = "vi") -> str:
        """One or two sentences on the level shift, for reports.

        Examples
        --------
        >>> cells = pd.DataFrame({"commune_code": ["01"] * 3, "area": "rural", "minority": [True, True, False],
        ...                       "from_class": ["poor", "near_poor", "not_poor"],
        ...                       "to_class": ["poor", "poor", "not_poor"], "households": [10, 5, 85]})
        >>> Rebase(2025, "2022-2025", "2026-2030", cells, min_cell=1).headline("en")
        'Reclassifying the 2025 review under the 2026–2030 standard (Decree 351/2025/ND-CP) raises the poor-household count from 10 (10.00%) to 15 (15.00%), +5.00 points. By group (points): Ethnic-minority households +33.33; Kinh households +0.00.'
        """
        vi = check_lang(lang) == "vi"
        std = get_standard(self.to_standard)
        p = self.table(()).iloc[0]
        a = f"{format_number(p['poor_from'], lang)} ({format_percent(p['rate_from'], lang)})"
        b = f"{format_number(p['poor_to'], lang)} ({format_percent(p['rate_to'], lang)})"
        pts = format_number(abs(100 * p["gap"]), lang, digits=2)
        up = p["gap"] >= 0
        if vi:
            decree = std.decree.replace("Decree", "Nghị định").replace("ND-CP", "NĐ-CP")
            verb, to = ("tăng", "lên") if up else ("giảm", "xuống")
            text = (f"Tính lại kết quả rà soát năm {self.year} theo {_std_short(std.key, 'vi')} ({decree}), số hộ nghèo "
                    f"{verb} từ {a} {to} {b}, {verb} {pts} điểm phần trăm.")
        else:
            text = (f"Reclassifying the {self.year} review under the {_std_short(std.key, 'en')} ({std.decree}) "
                    f"{'raises' if up else 'lowers'} the poor-household count from {a} to {b}, "
                    f"{'+' if up else '-'}{pts} points.")
        parts = []
        for d, keys in (("minority", (True, False)), ("old_area", ("bac_kan", "thai_nguyen"))):
            if d not in self.cells.columns:
                continue
            t = self.table(d).set_index(d)
            for k in keys:
                if k in t.index and not t.loc[k, "suppressed"]:
                    name = label("minority" if k is True else "majority" if k is False else k, lang)
                    parts.append(f"{name} {'+' if t.loc[k, 'gap'] >= 0 else '-'}"
                                 f"{format_number(abs(100 * t.loc[k, 'gap']), lang, digits=2)}")
        if parts:
            text += (" Theo nhóm (điểm phần trăm): " if vi else " By group (points): ") + "; ".join(parts) + "."
        return text


def rebase(classified: pd.DataFrame, *, year: int = 2025, to_standard: str = "2026-2030",
           from_standard: str | None = None, min_cell: int | None = None) -> Rebase:
    """Classify the households of one review under the standard it uses and under the new one.

    Targets for 2026–2030 are set on the new standard (Decree 351/2025/ND-CP), whose higher
    income lines and changed indicators (means of information removed; internet use and
    household waste added) move measured poverty at the switch.  This counts, for the same
    households, who is poor under each standard.

    Parameters
    ----------
    classified : DataFrame
        Household records with ``review_year``, ``commune_code``, ``area``, ``income_pc``,
        the deprivation columns of both standards and ``minority`` or ``ethnicity``
        (``old_area`` is kept when present).
    year : int
        The review to reclassify (the latest, 2025, by default).
    to_standard : str
        The new standard.
    from_standard : str, optional
        Default: the standard the review year uses (:func:`povanalysis.measure.standards.standard_for_review`).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    Rebase

    References
    ----------
    Decree 07/2021/ND-CP; Decree 351/2025/ND-CP.

    Examples
    --------
    >>> from povanalysis.data.schema import DEPRIVATIONS
    >>> hh = pd.DataFrame({"review_year": 2025, "commune_code": "01840", "area": "rural", "ethnicity": "Tày",
    ...                    "income_pc": [1_400_000, 2_000_000, 2_000_000, 5_000_000]})
    >>> for d in DEPRIVATIONS:
    ...     hh[d] = [1, 1, 0, 0] if d in ("d_water", "d_latrine", "d_waste", "d_internet") else 0
    >>> r = rebase(hh, min_cell=1)
    >>> r.from_standard, r.to_standard
    ('2022-2025', '2026-2030')
    >>> r.table(())[["poor_from", "poor_to", "gap"]].to_dict("records")  # income 2.0 M: above 1.5 M, below 2.2 M
    [{'poor_from': 0, 'poor_to': 2, 'gap': 0.5}]
    """
    _require(classified, "classified", ["review_year", "commune_code", "area"])
    hh = classified[classified["review_year"] == year]
    if hh.empty:
        raise ValueError(f"'classified' has no households at review year {year} (years: "
                         f"{sorted(classified['review_year'].unique().tolist())})")
    frm = get_standard(standard_for_review(year) if from_standard is None else from_standard).key
    to = get_standard(to_standard).key
    cells = pd.DataFrame({"commune_code": hh["commune_code"].to_numpy()})
    if "old_area" in hh.columns:
        cells["old_area"] = hh["old_area"].to_numpy()
    cells["area"] = hh["area"].to_numpy()
    cells["minority"] = _minority_column(hh).to_numpy()
    cells["from_class"] = classify(hh, standard=frm).astype(str).to_numpy()
    cells["to_class"] = classify(hh, standard=to).astype(str).to_numpy()
    cells["households"] = 1
    cells = cells.groupby(list(cells.columns[:-1]), sort=True).sum().reset_index()
    return Rebase(int(year), frm, to, cells, _min_cell(min_cell))


def reclassify(classified: pd.DataFrame, standard: str) -> pd.DataFrame:
    """Every review of the panel classified under one standard (``poverty_class`` and ``standard`` replaced).

    A projection on the 2026–2030 standard rests on this series: each past review as the new
    standard would have recorded it, so the gap between the standards moves year by year as
    it did, instead of being added as a constant.
    """
    _require(classified, "classified", ["review_year", "area", "income_pc"])
    key = get_standard(standard).key
    return classified.assign(poverty_class=classify(classified, standard=key), standard=key)


def standard_gap(classified: pd.DataFrame, *, by: str | Sequence[str] = (), to_standard: str = "2026-2030",
                 from_standard: str = "2022-2025", min_cell: int | None = None) -> pd.DataFrame:
    """The gap between two standards in every review: poor-household rates under both, in points and odds.

    Every review is classified under both standards.  ``log_odds_ratio`` is the gap on the
    logit scale, with a standard error that treats the two rates as independent binomial
    proportions (conservative: they are measured on the same households).

    Returns
    -------
    DataFrame
        ``by`` columns, ``review_year``, ``households``, ``rate_from``, ``rate_to``, ``gap``
        (points, as a share), ``log_odds_ratio``, ``log_odds_ratio_se``, ``suppressed``.

    Examples
    --------
    >>> from povanalysis.data.schema import DEPRIVATIONS
    >>> hh = pd.DataFrame({"review_year": [2024] * 4 + [2025] * 4, "area": "rural",
    ...                    "income_pc": [1_400_000, 2_000_000, 2_000_000, 5_000_000] * 2})
    >>> for d in DEPRIVATIONS:
    ...     hh[d] = [1, 1, 0, 0] * 2 if d in ("d_water", "d_latrine", "d_waste", "d_internet") else 0
    >>> standard_gap(hh, min_cell=1)[["review_year", "rate_from", "rate_to", "gap"]].to_dict("records")[0]
    {'review_year': 2024, 'rate_from': 0.0, 'rate_to': 0.5, 'gap': 0.5}
    """
    by = [by] if isinstance(by, str) else list(by)
    _require(classified, "classified", ["review_year", "area", "income_pc"] + by)
    frm = get_standard(from_standard).key
    to = get_standard(to_standard).key
    work = pd.DataFrame({c: classified[c].to_numpy() for c in by + ["review_year"]})
    work["households"] = 1
    work["poor_from"] = (classify(classified, standard=frm) == "poor").to_numpy()
    work["poor_to"] = (classify(classified, standard=to) == "poor").to_numpy()
    out = work.groupby(by + ["review_year"], sort=True, observed=True).sum().reset_index()
    n = out["households"].to_numpy(dtype=float)
    p1 = (out["poor_from"].to_numpy() + 0.5) / (n + 1)
    p2 = (out["poor_to"].to_numpy() + 0.5) / (n + 1)
    out["rate_from"] = out["poor_from"] / n
    out["rate_to"] = out["poor_to"] / n
    out["gap"] = out["rate_to"] - out["rate_from"]
    out["log_odds_ratio"] = special.logit(p2) - special.logit(p1)
    out["log_odds_ratio_se"] = np.sqrt(1 / ((n + 1) * p1 * (1 - p1)) + 1 / ((n + 1) * p2 * (1 - p2)))
    out["suppressed"] = n < _min_cell(min_cell)
    return out[by + ["review_year", "households", "rate_from", "rate_to", "gap", "log_odds_ratio",
                     "log_odds_ratio_se", "suppressed"]]


# --------------------------------------------------------------------------------------------
# The projection result
# --------------------------------------------------------------------------------------------

def _quantiles(draws: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    q = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    return q[0], q[1]


@dataclass
class Projection:
    """Projected poor-household rates by unit and year, with simulated uncertainty.

    The tidy table (:meth:`to_frame`) follows statsmodels' ``summary_frame``: ``mean``,
    ``mean_se``, ``ci_lower``/``ci_upper`` (interval of the expected rate, from the
    model's parameter uncertainty) and ``obs_ci_lower``/``obs_ci_upper`` (prediction
    interval of the rate a review will record, adding household-level chance).

    Attributes
    ----------
    units : DataFrame
        The unit keys (the ``by`` columns), one row per unit.
    years : ndarray
        Projected review years.
    households : ndarray
        Households per unit, held at the last review used.
    mean, mean_se, ci_lower, ci_upper : ndarray
        (units, years) arrays of the expected rate.
    draws, obs_draws : ndarray
        (simulations, units, years): simulated expected rates and simulated recorded rates.
    observed : DataFrame
        The series the projection rests on: ``by`` columns, ``review_year``, ``households``,
        ``poor``, ``rate`` (on the projection's standard, so shifted when rebased).
    standard : str
        The standard the rates are on.
    basis : {"as_classified", "rebased_shift", "reclassified"}
        How the series relates to the standard (see :meth:`basis_text`).
    method : str
        ``trend``, ``transition`` or ``credit scenario`` (with what it was applied to).
    alpha : float
        1 - coverage of the intervals.
    model : object
        What the projection rests on: the :class:`TrendFit` (trend), the table of
        transition rates (transition), the scenario table (credit scenario).
    notes : tuple of str
        Assumptions and exclusions, stated.
    min_cell : int
        Units with fewer households are flagged ``suppressed``.
    """

    units: pd.DataFrame
    years: np.ndarray
    households: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    draws: np.ndarray = field(repr=False)
    obs_draws: np.ndarray = field(repr=False)
    observed: pd.DataFrame = field(repr=False)
    standard: str = "2022-2025"
    basis: str = "as_classified"
    method: str = "trend"
    alpha: float = 0.05
    model: object = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    min_cell: int = 10

    @property
    def by(self) -> list[str]:
        """The unit columns."""
        return list(self.units.columns)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: unit columns, ``year``, ``households``, ``mean``, ``mean_se``, ``ci_lower``,
        ``ci_upper``, ``obs_ci_lower``, ``obs_ci_upper``, ``poor_mean``, ``standard``, ``method``, ``suppressed``."""
        n_u, n_y = len(self.units), len(self.years)
        lo, hi = _quantiles(self.obs_draws, self.alpha)
        out = pd.DataFrame({c: np.repeat(self.units[c].to_numpy(), n_y) for c in self.by})
        out["year"] = np.tile(self.years, n_u).astype("int64")
        out["households"] = np.repeat(self.households, n_y).astype("int64")
        out["mean"] = self.mean.ravel()
        out["mean_se"] = self.mean_se.ravel()
        out["ci_lower"] = self.ci_lower.ravel()
        out["ci_upper"] = self.ci_upper.ravel()
        out["obs_ci_lower"] = lo.ravel()
        out["obs_ci_upper"] = hi.ravel()
        out["poor_mean"] = out["mean"] * out["households"]
        out["standard"] = self.standard
        out["method"] = self.method
        out["suppressed"] = out["households"] < self.min_cell
        return out

    def basis_text(self, lang: str = "vi") -> str:
        """Which standard the projection is on and how the series was brought to it, in words."""
        vi = check_lang(lang) == "vi"
        std = get_standard(self.standard)
        years = sorted(self.observed["review_year"].unique().tolist())
        span = f"{years[0]}–{years[-1]}" if years else ""
        decree = std.decree.replace("Decree", "Nghị định").replace("ND-CP", "NĐ-CP") if vi else std.decree
        if self.basis == "rebased_shift":
            return (f"Dự báo theo {_std_short(std.key, 'vi')} ({decree}): chuỗi tỷ lệ {span} được dịch theo chênh lệch "
                    f"của từng đơn vị khi tính lại kỳ rà soát {years[-1]} theo chuẩn mới." if vi else
                    f"Projection on the {_std_short(std.key, 'en')} ({decree}): the {span} series is shifted by each "
                    f"unit's gap when the {years[-1]} review is reclassified under the new standard.")
        if self.basis == "reclassified":
            return (f"Dự báo theo {_std_short(std.key, 'vi')} ({decree}): mọi kỳ rà soát {span} được phân loại lại "
                    "theo chuẩn này." if vi else
                    f"Projection on the {_std_short(std.key, 'en')} ({decree}): every review {span} is reclassified "
                    "under it.")
        in_force = [y for y in self.years if _in_force(int(y)) not in (None, std.key)]
        text = (f"Dự báo theo {_std_short(std.key, 'vi')} ({decree}), chuẩn của các kỳ rà soát {span}."
                if vi else f"Projection on the {_std_short(std.key, 'en')} ({decree}), the standard of the {span} reviews.")
        if in_force:
            text += (f" Các kỳ rà soát từ năm {in_force[0]} áp dụng chuẩn khác, nên đây là kịch bản giữ nguyên chuẩn cũ, "
                     "không so sánh trực tiếp được với kết quả rà soát các năm đó." if vi else
                     f" Reviews from {in_force[0]} use another standard, so this assumes the old standard stays and is "
                     "not directly comparable with those reviews.")
        return text

    def summary(self) -> str:
        """A text account of the projection (returned, not printed)."""
        tot = self.aggregate()
        lines = [f"Projection ({self.method}), {len(self.units)} units by {self.by}, years "
                 f"{int(self.years[0])}-{int(self.years[-1])}, {self.draws.shape[0]} simulations, "
                 f"{100 * (1 - self.alpha):.0f}% intervals", "  " + self.basis_text("en")]
        for j, y in enumerate(self.years):
            lines.append(f"  {int(y)}: {100 * tot.mean[0, j]:.2f}% [{100 * tot.ci_lower[0, j]:.2f}, "
                         f"{100 * tot.ci_upper[0, j]:.2f}] (all units, {int(tot.households[0]):,} households)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _groups(self, groups, label_):
        n = len(self.units)
        if groups is None:
            return np.zeros(n, dtype=int), pd.DataFrame({"group": [label_]}), np.ones(n, bool)
        if isinstance(groups, str):
            if groups not in self.units.columns:
                raise ValueError(f"'groups' names {groups!r}, not a unit column of the projection ({self.by})")
            codes, uniq = pd.factorize(self.units[groups], sort=True)
            return codes, pd.DataFrame({groups: uniq}), np.ones(n, bool)
        values = np.asarray(groups)
        if values.shape != (n,):
            raise ValueError(f"'groups' must have one value per unit ({n}), got shape {values.shape}")
        if values.dtype == bool:
            if not values.any():
                raise ValueError("'groups' selects no unit")
            return np.zeros(n, dtype=int), pd.DataFrame({"group": [label_]}), values
        codes, uniq = pd.factorize(values, sort=True)
        return codes, pd.DataFrame({"group": uniq}), np.ones(n, bool)

    def aggregate(self, groups=None, *, label: str = "all") -> "Projection":
        """Pool units into groups by summing households and simulated poor households.

        Parameters
        ----------
        groups : None, str, or array of one value per unit
            None: all units in one group named ``label``; a unit column (e.g.
            ``"commune_code"`` for a projection by commune and ethnicity); labels per unit;
            or a boolean array selecting units (one group named ``label``).

        Returns
        -------
        Projection
            Expected rate of a group: household-weighted mean of its units; intervals
            from the pooled simulations.
        """
        codes, units, keep = self._groups(groups, label)
        g = len(units)
        w = np.zeros((len(self.units), g))
        w[np.flatnonzero(keep), codes[keep]] = self.households[keep]
        hh = w.sum(axis=0)
        if (hh == 0).any():
            raise ValueError("a group has no households in the projection")
        mean = (w.T @ self.mean) / hh[:, None]
        draws = np.moveaxis(np.tensordot(self.draws, w, axes=([1], [0])), 2, 1) / hh[None, :, None]
        obs = np.moveaxis(np.tensordot(self.obs_draws, w, axes=([1], [0])), 2, 1) / hh[None, :, None]
        lo, hi = _quantiles(draws, self.alpha)
        obs_frame = self.observed
        unit_idx = pd.MultiIndex.from_frame(self.units).get_indexer(pd.MultiIndex.from_frame(obs_frame[self.by]))
        sel = unit_idx >= 0
        sel[sel] = keep[unit_idx[sel]]
        o = obs_frame.loc[sel, ["review_year", "households", "poor"]].copy()
        key = units.columns[0]
        o[key] = units[key].to_numpy()[codes[unit_idx[sel]]]
        o = o.groupby([key, "review_year"], sort=True)[["households", "poor"]].sum().reset_index()
        o["rate"] = o["poor"] / o["households"]
        return replace(self, units=units, households=hh, mean=mean, mean_se=draws.std(axis=0, ddof=1),
                       ci_lower=lo, ci_upper=hi, draws=draws, obs_draws=obs, observed=o,
                       notes=self.notes + (f"aggregated from {int(keep.sum())} units",))


def _in_force(year: int) -> str | None:
    try:
        return standard_for_review(year)
    except ValueError:
        return None


def _unit_index(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame, pd.MultiIndex]:
    idx = pd.MultiIndex.from_frame(frame[by])
    units = idx.unique().sort_values()
    return units.get_indexer(idx), units.to_frame(index=False), units


def _frame_standard(gaps) -> str:
    if not isinstance(gaps, pd.DataFrame) or "standard" not in gaps.columns:
        raise TypeError("'rebase' should be a Rebase or a DataFrame with the unit columns, 'gap' and 'standard', "
                        f"got {type(gaps).__name__}")
    values = sorted(gaps["standard"].astype(str).unique())
    if len(values) != 1:
        raise ValueError(f"'rebase' column 'standard' must hold one standard, got {values}")
    return get_standard(values[0]).key


def _gap_index(rebase_, by: list[str], units_mi: pd.MultiIndex) -> np.ndarray:
    if isinstance(rebase_, Rebase):
        gaps = rebase_.gaps(by)
    elif isinstance(rebase_, pd.DataFrame):
        _require(rebase_, "rebase", by + ["gap", "standard"])
        gaps = rebase_
    else:
        raise TypeError(f"'rebase' should be a Rebase or a DataFrame with {by}, 'gap' and 'standard', got "
                        f"{type(rebase_).__name__}")
    pos = pd.MultiIndex.from_frame(gaps[by]).get_indexer(units_mi)
    if (pos < 0).any():
        missing = [k[0] if len(k) == 1 else k for k in units_mi[pos < 0][:5].tolist()]
        raise ValueError(f"'rebase' has no gap for the units {missing} ({int((pos < 0).sum())} in all)")
    return gaps["gap"].to_numpy(dtype=float)[pos]


def _beta_binomial(rng, n: np.ndarray, p: np.ndarray, phi: float) -> np.ndarray:
    """Recorded rates: binomial counts out of ``n`` with extra-binomial dispersion ``phi`` (variance x phi)."""
    n = np.broadcast_to(n, p.shape)
    q = p
    if phi > 1:
        rho = np.clip((phi - 1) / np.maximum(n - 1, 1), 1e-9, 0.999)
        k = 1 / rho - 1
        pc = np.clip(p, 1e-12, 1 - 1e-12)
        q = np.where((p <= 0) | (p >= 1), p, rng.beta(pc * k, (1 - pc) * k))
    return rng.binomial(n.astype(np.int64), np.clip(q, 0, 1)) / np.maximum(n, 1)


# --------------------------------------------------------------------------------------------
# (a) Trend model
# --------------------------------------------------------------------------------------------

@dataclass
class TrendFit:
    """The fitted logit-linear trend: ``logit p = level[unit] + trend[group] * (year - last review)``.

    Attributes
    ----------
    level : ndarray
        Unit levels (logit of the rate at the last review) of the units fitted.
    trend : ndarray
        Yearly trends on the logit scale, one per slope group.
    groups : list of str
        Names of the slope groups.
    info_level, info_cross, info_trend : ndarray
        The blocks of the Fisher information: per unit Σw and Σw·d, per group
        Σw·d² − Σ(Σw·d)²/Σw (the information on the trend with the levels profiled out).
    dispersion : float
        Pearson χ²/df; the covariance is scaled by ``scale = max(dispersion, 1)``.
    scale : float
    df_resid : int
    loglik : float
        Binomial log-likelihood (up to the constant).
    iterations : int
    coefficients : DataFrame
        ``term`` (level or trend), ``key`` (unit or group), ``estimate``, ``se`` (scaled).
    """

    level: np.ndarray
    trend: np.ndarray
    groups: list
    info_level: np.ndarray
    info_cross: np.ndarray
    info_trend: np.ndarray
    dispersion: float
    scale: float
    df_resid: int
    loglik: float
    iterations: int
    coefficients: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table."""
        return self.coefficients.copy()

    def summary(self) -> str:
        """The trends and the dispersion, as text."""
        lines = [f"Logit-linear trend with unit levels: {len(self.level)} units, {len(self.trend)} trend groups, "
                 f"dispersion {self.dispersion:.3f} (scale {self.scale:.3f}, df {self.df_resid}), "
                 f"{self.iterations} iterations"]
        for g, b, i in zip(self.groups, self.trend, self.info_trend):
            lines.append(f"  trend[{g}] = {b:+.4f} per year (se {math.sqrt(self.scale / i):.4f})")
        return "\n".join(lines)


def _fit_trend(y, n, unit, unit_group, d, groups, *, tol: float = 1e-10, max_iter: int = 100) -> TrendFit:
    """Maximum likelihood of the binomial logit model with unit levels and group trends, by Newton's method.

    Each row belongs to one unit and each unit to one trend group, so the information matrix
    has a diagonal level block and a diagonal trend block once the levels are profiled out
    (Schur complement): every step is O(rows) and the result equals statsmodels' GLM with one
    dummy per unit.
    """
    n_u, n_g = len(unit_group), len(groups)
    group = unit_group[unit]

    def tally(idx, w, k):
        return np.bincount(idx, weights=w, minlength=k)

    def loglik(a, b):
        eta = a[unit] + b[group] * d
        return float(np.sum(n * (y * eta - np.logaddexp(0, eta))))

    dmin, dmax = np.full(n_u, np.inf), np.full(n_u, -np.inf)
    np.minimum.at(dmin, unit, d)
    np.maximum.at(dmax, unit, d)
    informed = np.zeros(n_g, bool)
    np.logical_or.at(informed, unit_group, dmax > dmin)
    if not informed.all():
        bad = [groups[g] for g in np.flatnonzero(~informed)]
        raise ValueError(f"no information on the trend of the slope groups {bad}: their units are seen in one "
                         "review only; use a coarser 'slope_by'")
    diverged = ValueError(f"the trend model did not converge in {max_iter} iterations (a unit whose poverty ends "
                          "early and has its own trend diverges): use a coarser 'slope_by'")
    pooled = tally(unit, n * y, n_u) / tally(unit, n, n_u)
    level, trend = special.logit(np.clip(pooled, 1e-6, 1 - 1e-6)), np.zeros(n_g)
    ll = loglik(level, trend)
    for it in range(1, max_iter + 1):
        mu = special.expit(level[unit] + trend[group] * d)
        r, w = n * (y - mu), n * mu * (1 - mu)
        a, c = tally(unit, w, n_u), tally(unit, w * d, n_u)
        S = tally(group, w * d * d, n_g) - tally(unit_group, c * c / a, n_g)
        if (S <= 1e-10).any() or (a <= 1e-10).any():
            raise diverged
        s_a = tally(unit, r, n_u)
        db = (tally(group, r * d, n_g) - tally(unit_group, c * s_a / a, n_g)) / S
        da = (s_a - c * db[unit_group]) / a
        step = 1.0
        while True:
            new = loglik(level + step * da, trend + step * db)
            if new >= ll - 1e-9 * abs(ll) or step < 1e-8:
                break
            step /= 2
        level, trend, ll = level + step * da, trend + step * db, new
        if max(np.abs(step * da).max(), np.abs(step * db).max()) < tol:
            break
    else:
        raise diverged
    mu = special.expit(level[unit] + trend[group] * d)
    w = n * mu * (1 - mu)
    a, c = tally(unit, w, n_u), tally(unit, w * d, n_u)
    S = tally(group, w * d * d, n_g) - tally(unit_group, c * c / a, n_g)
    pearson = float(np.sum(n * (y - mu) ** 2 / (mu * (1 - mu))))
    df = len(y) - n_u - n_g
    phi = pearson / df if df > 0 else 1.0
    return TrendFit(level=level, trend=trend, groups=list(groups), info_level=a, info_cross=c, info_trend=S,
                    dispersion=phi, scale=max(phi, 1.0), df_resid=int(df), loglik=ll, iterations=it)


def trend_projection(counts: pd.DataFrame, *, by: str | Sequence[str] = "commune_code",
                     years: Sequence[int] = PROJECTION_YEARS, slope_by: str | None = None, rebase=None,
                     alpha: float = 0.05, n_sim: int = 1000, seed: int = 0,
                     min_cell: int | None = None) -> Projection:
    """Project poor-household rates with a logit-linear trend in review year and unit effects.

    The model is a binomial GLM on the review counts, ``logit p[u, t] = a[u] + b[g(u)] (t - T)``,
    with one level ``a`` per unit (commune, or commune × group) at the last review ``T``
    and a trend ``b`` shared by the units of a ``slope_by`` group (one common trend by
    default).  Extra-binomial variation between communes and years is taken into account by
    the quasi-binomial scale (Pearson χ²/df, never below 1), which widens every interval.
    The maximum-likelihood fit is Newton's method on the block structure of the model
    (:class:`TrendFit`): the same estimates and covariance as statsmodels' ``GLM`` with
    ``family=Binomial()``, ``var_weights=households`` and a dummy per unit, at a cost linear in
    the number of rows (a dense dummy design is 16,500 × 3,300 for the country's communes).

    Intervals of the expected rate: delta method on the logit scale, as statsmodels'
    ``get_prediction``.  Simulations: the coefficients are drawn from their estimated
    normal distribution, and recorded rates from a beta-binomial with the same dispersion.
    A unit with no poor household in any review (or only poor households) has no finite
    level: it is projected at 0 (or 1) with the Jeffreys interval of its pooled
    household-years (Brown, Cai & DasGupta 2001), and no trend.

    Parameters
    ----------
    counts : DataFrame
        One row per unit and review year: the ``by`` columns, ``review_year``,
        ``households`` and ``poor`` (output of :func:`povanalysis.measure.aggregates.poverty_counts`).
        A ``standard`` column, when present, says which standard the counts are on;
        otherwise the review years' default standard.
    by : str or sequence of str
        Unit columns, e.g. ``"commune_code"`` or ``["commune_code", "minority"]``.
    years : sequence of int
        Consecutive years to project, after the last review.
    slope_by : str, optional
        Column (constant within a unit) whose groups get their own trend, e.g.
        ``"old_area"``; the unit column itself gives each unit its own trend.
    rebase : Rebase or DataFrame, optional
        Project on the new standard: each unit's series is shifted by its rebasing gap
        (``Rebase.gaps(by)``, a share added to every year's rate, kept within [0, 1]).  A
        DataFrame gives the ``by`` columns, ``gap`` and ``standard`` (the new standard).
    alpha : float
        1 - coverage.
    n_sim : int
        Number of simulations.
    seed : int
        Seed of the simulations.
    min_cell : int, optional
        Units with fewer households are flagged ``suppressed``.

    Returns
    -------
    Projection

    References
    ----------
    McCullagh, P. & Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed., ch. 4
    (quasi-likelihood, dispersion). Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval
    estimation for a binomial proportion. *Statistical Science* 16(2), 101–133.
    doi:10.1214/ss/1009213286.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5 + ["02"] * 5,
    ...                        "review_year": list(range(2021, 2026)) * 2,
    ...                        "households": [400] * 10,
    ...                        "poor": [80, 66, 54, 44, 36, 40, 33, 27, 22, 18]})
    >>> p = trend_projection(counts, n_sim=200, min_cell=1)
    >>> f = p.to_frame()
    >>> f.loc[f["year"] == 2030, ["commune_code", "mean"]].round(3).to_dict("list")
    {'commune_code': ['01', '02'], 'mean': [0.031, 0.015]}
    """
    by = [by] if isinstance(by, str) else list(by)
    alpha = _check_alpha(alpha)
    needed = by + ["review_year", "households", "poor"] + ([slope_by] if slope_by and slope_by not in by else [])
    _require(counts, "counts", needed)
    if n_sim < 2:
        raise ValueError(f"'n_sim' must be at least 2, got {n_sim!r}")
    hh = pd.to_numeric(counts["households"], errors="coerce").to_numpy(dtype=float)
    poor = pd.to_numeric(counts["poor"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(hh) | (hh < 1) | ~np.isfinite(poor) | (poor < 0) | (poor > hh)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"'counts' row {counts.index[i]!r}: need households >= 1 and 0 <= poor <= households, "
                         f"got households={counts['households'].iloc[i]!r}, poor={counts['poor'].iloc[i]!r}")
    dup = counts.duplicated(by + ["review_year"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"'counts' has more than one row for {dict(counts[by + ['review_year']].iloc[i])}")
    year = counts["review_year"].to_numpy(dtype=int)
    if len(np.unique(year)) < 2:
        raise ValueError("'counts' needs at least two review years to estimate a trend")
    ref = int(year.max())
    yrs = _check_years(years, ref)
    if "standard" in counts.columns:
        stds = sorted(counts["standard"].astype(str).unique())
    else:
        stds = sorted({s for s in (_in_force(int(y)) for y in np.unique(year)) if s})
    if len(stds) != 1:
        raise ValueError(f"the series mixes standards {stds}: put every review on one standard first "
                         "(reclassify, or rebase)")
    standard, basis = stds[0], "as_classified"
    codes, units, units_mi = _unit_index(counts, by)
    n_units = len(units)
    rate = poor / hh
    notes = []
    if rebase is not None:
        standard = rebase.to_standard if isinstance(rebase, Rebase) else _frame_standard(rebase)
        if isinstance(rebase, Rebase):
            # The gap held on the odds scale: in points it shrinks as the rate falls, as observed
            # when every review is reclassified (see standard_gap).
            t = rebase.table(by)
            r_from, r_to = t["rate_from"].to_numpy(), t["rate_to"].to_numpy()
            interior = (r_from > 0) & (r_from < 1) & (r_to > 0) & (r_to < 1)
            n1 = t["households"].to_numpy() + 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(interior, special.logit(r_to) - special.logit(r_from),
                              special.logit((t["poor_to"].to_numpy() + 0.5) / n1)
                              - special.logit((t["poor_from"].to_numpy() + 0.5) / n1))
            pos = pd.MultiIndex.from_frame(t[by]).get_indexer(units_mi)
            if (pos < 0).any():
                missing = [k[0] if len(k) == 1 else k for k in units_mi[pos < 0][:5].tolist()]
                raise ValueError(f"'rebase' has no gap for the units {missing} ({int((pos < 0).sum())} in all)")
            exact = interior[pos][codes] & (rate > 0) & (rate < 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                base = np.where(exact, special.logit(np.clip(rate, 1e-300, 1 - 1e-16)),
                                special.logit((poor + 0.5) / (hh + 1.0)))
            rate = special.expit(base + lg[pos][codes])
            notes.append("series shifted by each unit's rebasing gap on the odds scale (a constant odds ratio), "
                         "every year")
        else:
            rate = np.clip(rate + _gap_index(rebase, by, units_mi)[codes], 0.0, 1.0)
            notes.append("series shifted by each unit's rebasing gap (points), every year")
        basis = "rebased_shift"
    last = year == ref
    households = np.zeros(n_units)
    households[codes[last]] = hh[last]
    present = households > 0
    if not present.all():
        notes.append(f"{int((~present).sum())} units absent from the {ref} review are not projected: "
                     f"{units[~present].head(5).to_dict('records')}")
    if slope_by is None:
        group = np.zeros(len(counts), dtype=int)
        group_names = ["all"]
    else:
        per_unit = pd.Series(counts[slope_by].to_numpy()).groupby(codes).nunique()
        if (per_unit > 1).any():
            u = int(per_unit.index[per_unit > 1][0])
            raise ValueError(f"'slope_by' column {slope_by!r} varies within unit {units.iloc[u].to_dict()}")
        group, group_names = pd.factorize(counts[slope_by], sort=True)
        group_names = [str(g) for g in group_names]
    unit_group = np.zeros(n_units, dtype=int)
    unit_group[codes] = group
    # Units with no variation in poverty (never poor, or always poor) have no finite level.
    total = np.bincount(codes, weights=hh, minlength=n_units)
    poor_total = np.bincount(codes, weights=rate * hh, minlength=n_units)
    zero = np.isclose(poor_total, 0, atol=1e-9)
    full = np.isclose(poor_total, total, atol=1e-9)
    fit_unit = ~(zero | full) & present
    fit_rows = fit_unit[codes]
    fit_groups = np.unique(unit_group[fit_unit])
    if not fit_unit.any():
        raise ValueError("no unit has both poor and non-poor households in the series: there is no trend to fit")
    if len(np.unique(year[fit_rows])) < 2:
        raise ValueError("the units with poor households are observed in one review year only: no trend to fit")
    fit_pos = -np.ones(n_units, dtype=int)
    fit_pos[fit_unit] = np.arange(int(fit_unit.sum()))
    grp_pos = -np.ones(len(group_names), dtype=int)
    grp_pos[fit_groups] = np.arange(len(fit_groups))
    rows = np.flatnonzero(fit_rows)
    fit = _fit_trend(rate[rows], hh[rows], fit_pos[codes[rows]], grp_pos[unit_group[fit_unit]],
                     (year[rows] - ref).astype(float), [group_names[g] for g in fit_groups])
    if fit.df_resid <= 0:
        notes.append("no residual degrees of freedom: dispersion set to 1 (binomial)")
    scale = fit.scale
    d = (yrs - ref).astype(float)
    ug = grp_pos[unit_group[fit_unit]]
    lean = fit.info_cross / fit.info_level  # c_u / a_u
    eta = fit.level[:, None] + fit.trend[ug][:, None] * d[None, :]
    se = np.sqrt(scale * (1 / fit.info_level[:, None] + (d[None, :] - lean[:, None]) ** 2 / fit.info_trend[ug][:, None]))
    z = stats.norm.ppf(1 - alpha / 2)
    n_y = len(yrs)
    mean = np.full((n_units, n_y), np.nan)
    mean_se = np.full_like(mean, np.nan)
    lo, hi = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    p_hat = special.expit(eta)
    mean[fit_unit], mean_se[fit_unit] = p_hat, p_hat * (1 - p_hat) * se
    lo[fit_unit], hi[fit_unit] = special.expit(eta - z * se), special.expit(eta + z * se)
    rng = _stream(seed, 1)
    # Joint normal draws of (level, trend) with the block covariance: trend first, then each
    # level given its group's trend.
    b_draw = fit.trend[None, :] + np.sqrt(scale / fit.info_trend)[None, :] * rng.standard_normal((n_sim, len(fit.trend)))
    a_draw = (fit.level[None, :] - lean[None, :] * (b_draw[:, ug] - fit.trend[ug][None, :])
              + np.sqrt(scale / fit.info_level)[None, :] * rng.standard_normal((n_sim, len(fit.level))))
    draws = np.full((n_sim, n_units, n_y), np.nan)
    draws[:, fit_unit, :] = special.expit(a_draw[:, :, None] + b_draw[:, ug][:, :, None] * d[None, None, :])
    for flag, value in ((zero & present, 0.0), (full & present, 1.0)):
        if not flag.any():
            continue
        n_pool = total[flag]
        a0, b0 = (0.5, n_pool + 0.5) if value == 0 else (n_pool + 0.5, 0.5)
        dist = stats.beta(a0, b0)
        mean[flag], mean_se[flag] = value, dist.std()[:, None]
        if value == 0:
            lo[flag], hi[flag] = 0.0, dist.ppf(1 - alpha / 2)[:, None]
        else:
            lo[flag], hi[flag] = dist.ppf(alpha / 2)[:, None], 1.0
        draws[:, flag, :] = rng.beta(a0, b0, size=(n_sim, int(flag.sum())))[:, :, None]
        notes.append(f"{int(flag.sum())} units {'never' if value == 0 else 'always'} poor in the series: projected "
                     f"at {value:g} with the Jeffreys interval of their pooled household-years, no trend")
    keep = present
    obs = _beta_binomial(rng, households[keep][None, :, None], draws[:, keep, :], scale)
    observed = units.iloc[codes].reset_index(drop=True)
    observed["review_year"] = year
    observed["households"] = hh.astype("int64")
    observed["poor"] = rate * hh
    observed["rate"] = rate
    observed = observed.sort_values(by + ["review_year"], kind="stable").reset_index(drop=True)
    keys = units[fit_unit].astype(str).agg("|".join, axis=1).tolist()
    fit.coefficients = pd.DataFrame({
        "term": ["level"] * len(fit.level) + ["trend"] * len(fit.trend),
        "key": keys + fit.groups,
        "estimate": np.concatenate([fit.level, fit.trend]),
        "se": np.concatenate([np.sqrt(scale * (1 / fit.info_level + lean ** 2 / fit.info_trend[ug])),
                              np.sqrt(scale / fit.info_trend)]),
    })
    notes.append(f"dispersion (Pearson chi2/df) {fit.dispersion:.2f}; trend per year on the logit scale: "
                 + ", ".join(f"{g} {b:+.3f} (se {math.sqrt(scale / i):.3f})"
                             for g, b, i in zip(fit.groups, fit.trend, fit.info_trend)))
    notes.append(f"households held at the {ref} review")
    return Projection(units=units[keep].reset_index(drop=True), years=yrs, households=households[keep],
                      mean=mean[keep], mean_se=mean_se[keep], ci_lower=lo[keep], ci_upper=hi[keep],
                      draws=draws[:, keep, :], obs_draws=obs, observed=observed, standard=standard, basis=basis,
                      method="trend", alpha=alpha, model=fit, notes=tuple(notes), min_cell=_min_cell(min_cell))


# --------------------------------------------------------------------------------------------
# (b) Household transition model
# --------------------------------------------------------------------------------------------

def _roll(counts0: np.ndarray, p: np.ndarray, steps: int, rng=None) -> np.ndarray:
    """Roll state counts (..., 5) forward with the probabilities of being poor next.

    ``p`` is (..., 5) for constant probabilities or (..., 5, steps) for one set per step.
    """
    c = counts0.astype(float) if rng is None else counts0.astype(np.int64)
    varying = p.ndim == counts0.ndim + 1
    out = []
    for k in range(steps):
        pk = p[..., k] if varying else p
        to_poor = c * pk if rng is None else rng.binomial(c, pk)
        stay = c - to_poor
        new = np.empty_like(c)
        new[..., 0] = to_poor.sum(axis=-1)
        new[..., 1] = stay[..., 0]
        new[..., 2] = stay[..., 1]
        new[..., 3] = stay[..., 2]
        new[..., 4] = stay[..., 3] + stay[..., 4]
        c = new
        out.append(c[..., 0])
    return np.stack(out, axis=-1)


def _random_effects_line(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted line through yearly logit rates with a between-year variance (DerSimonian–Laird moments).

    Returns the coefficients, their covariance, the year-to-year variance on the logit scale
    (0 when it cannot be estimated) and the residual degrees of freedom.
    """
    k, q = X.shape
    w0 = 1 / v
    A0 = X.T @ (w0[:, None] * X)
    b0 = np.linalg.solve(A0, X.T @ (w0 * y))
    df = k - q
    tau2 = 0.0
    if df > 0:
        Q = float(np.sum(w0 * (y - X @ b0) ** 2))
        trace = float(w0.sum() - np.trace(np.linalg.solve(A0, X.T @ ((w0 ** 2)[:, None] * X))))
        tau2 = max(0.0, (Q - df) / trace) if trace > 0 else 0.0
    w = 1 / (v + tau2)
    A = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(A, X.T @ (w * y))
    return beta, np.linalg.inv(A), tau2, df


def _transition_trends(nY: np.ndarray, xY: np.ndarray, t: np.ndarray, T: int) -> tuple[list, list]:
    """Yearly logit trend of each transition (pooled over units), with the year-to-year variance.

    ``nY``/``xY`` are (6, years) pooled counts of the states and of poor at the next review;
    state 5 holds the not-poor households whose history before the panel is unknown (entry,
    with its own offset when households of known history are also seen).  Returns per state
    (0..4) the fit (coefficients, covariance, year variance, df, has-censoring-term) and notes.
    """
    fits, notes = [], []
    for s_ in range(5):
        rows = [(s_, j) for j in range(len(t)) if nY[s_, j] > 0]
        cens = []
        if s_ == 4:
            cens = [(5, j) for j in range(len(t)) if nY[5, j] > 0]
            if not rows:
                rows, cens = cens, []
                notes.append("entry is estimated from households whose history before the first review is unknown "
                             "(left-censored): some of them left poverty shortly before it, so entry is overstated")
        all_rows = rows + cens
        if not all_rows:
            fits.append(None)
            continue
        N = np.array([nY[a, j] for a, j in all_rows])
        X_ = np.array([xY[a, j] for a, j in all_rows])
        p_ = (X_ + 0.5) / (N + 1.0)
        y = special.logit(p_)
        v = 1 / ((N + 1.0) * p_ * (1 - p_))
        d = np.array([t[j] - T for _, j in all_rows], dtype=float)
        cols = [np.ones(len(all_rows))]
        if len(np.unique(d)) >= 2:
            cols.append(d)
        has_cens = bool(cens) and bool(rows) and len(all_rows) > len(cols)
        if has_cens:
            cols.append(np.array([0.0] * len(rows) + [1.0] * len(cens)))
        elif cens and rows:
            all_rows = rows
            keep = slice(0, len(rows))
            y, v, cols = y[keep], v[keep], [c[keep] for c in cols]
        X = np.column_stack(cols)
        beta, cov, tau2, df = _random_effects_line(y, v, X)
        if X.shape[1] == 1:
            beta, cov = np.append(beta, 0.0), np.pad(cov, ((0, 1), (0, 1)))
        fits.append((beta[:2], cov[:2, :2], tau2, df))
        if df <= 0:
            notes.append(f"{STATES[s_]}: too few review years to estimate year-to-year variation")
    return fits, notes


def transition_projection(classified: pd.DataFrame, *, by: str | Sequence[str] = "commune_code",
                          years: Sequence[int] = PROJECTION_YEARS, standard: str | None = None,
                          start_year: int | None = None, window: tuple[int, int] | None = None,
                          prior_strength: float = 20.0, time_trend: bool = True, alpha: float = 0.05,
                          n_sim: int = 1000, seed: int = 0, min_cell: int | None = None) -> Projection:
    """Project poor-household rates with a household transition model rolled forward as a Markov chain.

    From the panel of reviews, each household-year is in one of :data:`STATES`: poor; left
    poverty 1, 2 or 3 reviews ago; not poor for longer.  The model estimates, by unit and
    state, the chance of being poor at the next review: from ``poor`` one minus the exit
    rate, from ``escaped_k`` the re-entry rate of households that left within three years,
    from ``not_poor`` the entry rate.  A household's history starts at the first review in
    the data, so before it every non-poor household counts as ``not_poor``.

    Each rate has a Beta posterior: prior Beta(m·p̄, m·(1 − p̄)) centred on the pooled rate
    p̄ of its state, with ``m = prior_strength`` pseudo-transitions (shrinkage for small
    communes), updated with the unit's transitions.  With ``prior_strength=0`` the
    projection uses the observed rates x/n and Jeffreys Beta(x + ½, n − x + ½) draws.
    The chain starts from the state counts at ``start_year``; households are held constant.

    Rates change over time (``time_trend=True``): each transition's pooled rate follows a
    line in the review year on the logit scale, fitted to the yearly pooled rates with
    weights that include a between-year variance (DerSimonian–Laird moments), and each
    unit keeps its shrunken log-odds difference from the pooled rate.  The simulations draw
    the lines' coefficients from their covariance, a fresh year shock of the estimated
    variance for every projected year and transition (process noise), the units' Beta
    posteriors and, for the recorded rate, each household's transition.

    Left censoring: a household not poor at one of the first three reviews of its history
    may have left poverty shortly before the panel starts, so it cannot be told apart from
    a household long out of poverty.  Its transitions enter the entry line with an offset of
    their own, estimated against the households whose history is known; when none is known
    yet (a panel of three reviews or fewer), entry rests on the censored households and the
    notes say it is overstated.  ``time_trend=False`` rolls constant pooled rates (the
    window's averages), without these refinements.

    Parameters
    ----------
    classified : DataFrame
        Household records: ``household_id``, ``review_year``, ``poverty_class`` (or the
        columns :func:`povanalysis.measure.standards.classify` needs when ``standard`` is given) and
        the ``by`` columns.  Review years must be consecutive.
    by : str or sequence of str
        Units, e.g. ``"commune_code"``, ``"minority"``, ``["commune_code", "minority"]``.
    years : sequence of int
        Consecutive years to project, after ``start_year``.
    standard : str, optional
        Reclassify every review under this standard first (``"2026-2030"`` projects on the
        new standard); None uses ``poverty_class`` as given.
    start_year : int, optional
        The review the chain starts from (default: the last).
    window : (int, int), optional
        First and last review years of the transitions used (default: all up to
        ``start_year``; a window past ``start_year`` is a backtest that sees the future).
    prior_strength : float
        ``m`` above; 0 for the observed rates.
    time_trend : bool
        Rates that follow their yearly trend (default) or constant rates.
    alpha, n_sim, seed, min_cell
        As in :func:`trend_projection`.

    Returns
    -------
    Projection
        ``model`` is the table of rates: unit columns, ``state``, ``n`` (transitions),
        ``x`` (poor at the next review), ``observed_rate`` (x/n), ``rate`` (used),
        ``ci_lower``, ``ci_upper``.

    References
    ----------
    Bane, M. J. & Ellwood, D. T. (1986). Slipping into and out of poverty: the dynamics of
    spells. *Journal of Human Resources* 21(1), 1–23. doi:10.2307/145955. Decision
    28/2015/QĐ-TTg (households that left poverty within three years).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": list("aaabbbccc"), "review_year": [2023, 2024, 2025] * 3,
    ...                    "commune_code": "01", "poverty_class": ["poor", "poor", "poor", "poor", "not_poor",
    ...                    "poor", "not_poor", "not_poor", "not_poor"]})
    >>> p = transition_projection(hh, years=[2026], prior_strength=0, time_trend=False, n_sim=100, min_cell=1)
    >>> p.model[["state", "n", "x", "observed_rate"]].head(2).to_dict("records")
    [{'state': 'poor', 'n': 3, 'x': 2, 'observed_rate': 0.6666666666666666}, {'state': 'escaped_1', 'n': 1, 'x': 1, 'observed_rate': 1.0}]
    >>> round(float(p.mean[0, 0]), 4)  # 2 poor x 2/3 + 1 not poor x 0
    0.4444
    """
    by = [by] if isinstance(by, str) else list(by)
    alpha = _check_alpha(alpha)
    _require(classified, "classified", ["household_id", "review_year"] + by
             + ([] if standard is not None else ["poverty_class"]))
    if prior_strength < 0 or not math.isfinite(prior_strength):
        raise ValueError(f"'prior_strength' must be a finite number >= 0, got {prior_strength!r}")
    if n_sim < 2:
        raise ValueError(f"'n_sim' must be at least 2, got {n_sim!r}")
    dup = classified.duplicated(["household_id", "review_year"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"'classified' has household {classified['household_id'].iloc[i]!r} twice at review "
                         f"{int(classified['review_year'].iloc[i])}")
    if standard is not None:
        std = get_standard(standard).key
        cls = classify(classified, standard=std).astype(str).to_numpy()
        basis = "reclassified"
    else:
        cls = classified["poverty_class"].astype(str).to_numpy()
        stds = sorted(classified["standard"].astype(str).unique()) if "standard" in classified.columns else \
            sorted({s for s in (_in_force(int(y)) for y in classified["review_year"].unique()) if s})
        if len(stds) != 1:
            raise ValueError(f"the panel mixes standards {stds}: pass 'standard' to reclassify every review")
        std, basis = stds[0], "as_classified"
    bad = ~np.isin(cls, CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"column 'poverty_class' must be one of {CLASSES}, got {cls[i]!r} at row {classified.index[i]!r}")
    ry = classified["review_year"].to_numpy(dtype=int)
    ys = np.unique(ry)
    if len(ys) < 2 or (np.diff(ys) != 1).any():
        raise ValueError(f"review years must be consecutive, at least two, got {ys.tolist()}")
    start = int(ys[-1]) if start_year is None else int(start_year)
    if start not in ys:
        raise ValueError(f"'start_year' {start} is not a review year of the panel ({ys.tolist()})")
    yrs = _check_years(years, start)
    w0, w1 = (int(ys[0]), start) if window is None else (int(window[0]), int(window[1]))
    if not (ys[0] <= w0 < w1 <= ys[-1]):
        raise ValueError(f"'window' must be two review years within {int(ys[0])}..{int(ys[-1])} in order, got {window!r}")
    hid, _ = pd.factorize(classified["household_id"])
    yi = np.searchsorted(ys, ry)
    H, Y = int(hid.max()) + 1, len(ys)
    gcode, units, _mi = _unit_index(classified, by)
    G = len(units)
    poor_m = np.full((H, Y), -1, dtype=np.int8)
    poor_m[hid, yi] = (cls == "poor")
    unit_m = np.full((H, Y), -1, dtype=np.int64)
    unit_m[hid, yi] = gcode
    state = np.full((H, Y), -1, dtype=np.int8)
    censored = np.zeros((H, Y), dtype=bool)
    last = np.full(H, -10**6)
    first = np.full(H, -1)
    for j in range(Y):
        present, isp = poor_m[:, j] >= 0, poor_m[:, j] == 1
        first = np.where((first < 0) & present, j, first)
        since = j - last
        st = np.where(isp, 0, np.where((since >= 1) & (since <= 3), since, 4))
        state[:, j] = np.where(present, st, -1)
        # Not poor with fewer than three reviews of history: it may have left poverty just before.
        censored[:, j] = present & (st == 4) & (j - first < 3)
        last = np.where(isp, j, last)
    n = np.zeros((G, 5))
    x = np.zeros((G, 5))
    nY = np.zeros((6, Y - 1))
    xY = np.zeros((6, Y - 1))
    for j in range(Y - 1):
        if not (w0 <= ys[j] and ys[j + 1] <= w1):
            continue
        ok = (state[:, j] >= 0) & (poor_m[:, j + 1] >= 0)
        idx = unit_m[ok, j] * 5 + state[ok, j]
        n += np.bincount(idx, minlength=G * 5).reshape(G, 5)
        x += np.bincount(idx, weights=poor_m[ok, j + 1], minlength=G * 5).reshape(G, 5)
        s6 = np.where(censored[ok, j], 5, state[ok, j])
        nY[:, j] = np.bincount(s6, minlength=6)
        xY[:, j] = np.bincount(s6, weights=poor_m[ok, j + 1], minlength=6)
    n_pool, x_pool = n.sum(axis=0), x.sum(axis=0)
    notes = []
    for s_ in (0, 4):
        if n_pool[s_] == 0:
            raise ValueError(f"no transitions from the state {STATES[s_]!r} in the window {w0}-{w1}: widen 'window'")
    unseen = np.flatnonzero(n_pool[1:4] == 0) + 1
    if len(unseen):
        # A re-entry state without transitions borrows the pooled rate of the re-entry states
        # that have some, or the entry rate when none has: stated in the notes.
        seen = [k for k in (1, 2, 3) if n_pool[k] > 0]
        src = seen if seen else [4]
        n_pool[unseen], x_pool[unseen] = n_pool[src].sum(), x_pool[src].sum()
        notes.append(f"no transitions from {[STATES[k] for k in unseen]} in {w0}-{w1}: their rate is the pooled rate "
                     f"of {[STATES[k] for k in src]}")
    p_bar = x_pool / n_pool
    m = float(prior_strength)
    if m > 0:
        a, b = m * p_bar + x, m * (1 - p_bar) + n - x
        center = a / (a + b)
    else:
        has = n > 0
        a = np.where(has, x + 0.5, x_pool + 0.5)
        b = np.where(has, n - x + 0.5, n_pool - x_pool + 0.5)
        center = np.where(has, x / np.where(has, n, 1), p_bar)
    j0 = int(np.searchsorted(ys, start))
    at = state[:, j0] >= 0
    counts0 = np.bincount(unit_m[at, j0] * 5 + state[at, j0], minlength=G * 5).reshape(G, 5)
    households = counts0.sum(axis=1).astype(float)
    keep = households > 0
    if not keep.all():
        notes.append(f"{int((~keep).sum())} units with no household at the {start} review are not projected")
    steps = int(yrs[-1] - start)
    pick = (yrs - start - 1).astype(int)
    rng = _stream(seed, 2)
    hk = households[keep]
    mean = _roll(counts0[keep], center[keep], steps)[..., pick] / hk[:, None]
    p_draw = rng.beta(a[keep][None], b[keep][None], size=(n_sim,) + a[keep].shape)
    trends = None
    if time_trend:
        t_dest = ys[1:]
        fits, tnotes = _transition_trends(nY, xY, t_dest, start)
        notes += tnotes
        k_ = np.arange(1, steps + 1, dtype=float)
        logit_bar = special.logit(np.clip(p_bar, 1e-9, 1 - 1e-9))
        # Unit offsets on the logit scale, from the Beta posteriors (centre, then per simulation).
        off_c = special.logit(np.clip(center[keep], 1e-9, 1 - 1e-9)) - logit_bar[None, :]
        off_d = special.logit(np.clip(p_draw, 1e-9, 1 - 1e-9)) - logit_bar[None, None, :]
        line_c = np.zeros((5, steps))
        line_d = np.zeros((n_sim, 5, steps))
        rows_ = []
        for s_, fit in enumerate(fits):
            if fit is None:
                line_c[s_] = logit_bar[s_]
                line_d[:, s_] = logit_bar[s_]
                continue
            beta, cov, tau2, df = fit
            line_c[s_] = beta[0] + beta[1] * k_
            coef = rng.multivariate_normal(beta, cov, size=n_sim, method="svd")
            shock = np.sqrt(tau2) * rng.standard_normal((n_sim, steps))
            line_d[:, s_] = coef[:, :1] + coef[:, 1:2] * k_[None, :] + shock
            rows_.append({"state": STATES[s_], "logit_rate": beta[0], "trend": beta[1],
                          "trend_se": math.sqrt(max(cov[1, 1], 0.0)), "year_sd": math.sqrt(tau2), "df": df})
        trends = pd.DataFrame(rows_)
        p_mean = special.expit(line_c[None, :, :] + off_c[:, :, None])
        p_sims = special.expit(line_d[:, None, :, :] + off_d[:, :, :, None])
        mean = _roll(counts0[keep], p_mean, steps)[..., pick] / hk[:, None]
        cnt = np.broadcast_to(counts0[keep], p_draw.shape)
        draws = _roll(cnt, p_sims, steps)[..., pick] / hk[None, :, None]
        obs = _roll(cnt, p_sims, steps, rng=rng)[..., pick] / hk[None, :, None]
        censored_start = int(censored[:, j0].sum())
        if censored_start:
            notes.append(f"{censored_start} households at the {start} review have less than three reviews of history: "
                         "they start as long out of poverty")
        notes.append("transition rates follow their yearly trend on the logit scale: "
                     + ", ".join(f"{r['state']} {r['trend']:+.3f}/year (year sd {r['year_sd']:.3f})"
                                 for r in rows_))
    else:
        draws = _roll(np.broadcast_to(counts0[keep], p_draw.shape), p_draw, steps)[..., pick] / hk[None, :, None]
        obs = _roll(np.broadcast_to(counts0[keep], p_draw.shape), p_draw, steps, rng=rng)[..., pick] / hk[None, :, None]
    lo, hi = _quantiles(draws, alpha)
    post = stats.beta(a, b)
    model = pd.DataFrame({c: np.repeat(units[c].to_numpy(), 5) for c in by})
    model["state"] = np.tile(STATES, G)
    model["n"] = n.ravel().astype("int64")
    model["x"] = x.ravel().astype("int64")
    model["observed_rate"] = np.where(n.ravel() > 0, x.ravel() / np.where(n.ravel() > 0, n.ravel(), 1), np.nan)
    model["rate"] = center.ravel()
    model["ci_lower"] = post.ppf(alpha / 2).ravel()
    model["ci_upper"] = post.ppf(1 - alpha / 2).ravel()
    if trends is not None:
        model.attrs["trends"] = trends
    tally = pd.DataFrame({"g": gcode, "review_year": ry, "poor": cls == "poor"})
    tally = tally.groupby(["g", "review_year"], sort=True)["poor"].agg(["size", "sum"]).reset_index()
    observed = units.iloc[tally["g"].to_numpy()].reset_index(drop=True)
    observed["review_year"] = tally["review_year"].to_numpy()
    observed["households"] = tally["size"].to_numpy().astype("int64")
    observed["poor"] = tally["sum"].to_numpy().astype(float)
    observed["rate"] = observed["poor"] / observed["households"]
    observed = observed[observed["review_year"] <= start].reset_index(drop=True)
    notes += [f"transitions {w0}-{w1}; pooled one-year rates: exit {1 - p_bar[0]:.3f}, re-entry within 1/2/3 years "
              f"{p_bar[1]:.3f}/{p_bar[2]:.3f}/{p_bar[3]:.3f}, entry {p_bar[4]:.3f}",
              f"Beta prior strength {m:g}; households held at the {start} review; histories start at {int(ys[0])}"]
    return Projection(units=units[keep].reset_index(drop=True), years=yrs, households=hk, mean=mean,
                      mean_se=draws.std(axis=0, ddof=1), ci_lower=lo, ci_upper=hi, draws=draws, obs_draws=obs,
                      observed=observed, standard=std, basis=basis, method="transition", alpha=alpha, model=model,
                      notes=tuple(notes), min_cell=_min_cell(min_cell))


# --------------------------------------------------------------------------------------------
# (c) Credit scenario
# --------------------------------------------------------------------------------------------

def _cost(cost_per_exit, alpha: float):
    """(estimate, lower, upper) in VND per exit from a number, a triple or a credit-module result."""
    if cost_per_exit is None:
        return None
    if hasattr(cost_per_exit, "vnd_per_exit"):
        est = float(cost_per_exit.vnd_per_exit)
        try:
            ci = cost_per_exit.conf_int(alpha=alpha)
        except TypeError:
            ci = cost_per_exit.conf_int()
        lo, hi = (float(v) for v in np.asarray(ci, dtype=float).ravel()[:2])
    elif isinstance(cost_per_exit, (int, float)) and not isinstance(cost_per_exit, bool):
        est = lo = hi = float(cost_per_exit)
    else:
        try:
            est, lo, hi = (float(v) for v in cost_per_exit)
        except (TypeError, ValueError):
            raise TypeError("'cost_per_exit' should be a number, (estimate, lower, upper) or a result with "
                            f"'vnd_per_exit' and 'conf_int()', got {cost_per_exit!r}") from None
    if not (math.isfinite(est) and est > 0):
        raise ValueError(f"'cost_per_exit' must be a positive amount of VND, got {est!r}")
    if not (lo <= est <= hi) or math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"'cost_per_exit' interval must contain the estimate, got {est!r} in [{lo!r}, {hi!r}]")
    return est, lo, hi


def _cost_draws(cost, n_sim: int, alpha: float, rng) -> np.ndarray | None:
    """Lognormal draws matching the interval; None when the interval is unbounded or not positive."""
    est, lo, hi = cost
    if lo == hi:
        return np.full(n_sim, est)
    if lo <= 0 or not math.isfinite(hi):
        return None
    sigma = (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf(1 - alpha / 2))
    return np.exp(math.log(est) + sigma * rng.standard_normal(n_sim))


def _loans(additional_loans, proj: Projection, first: int) -> np.ndarray:
    n_u, yrs = len(proj.units), proj.years
    active = (yrs >= first).astype(float)
    if isinstance(additional_loans, (int, float)) and not isinstance(additional_loans, bool):
        total = float(additional_loans)
        if not math.isfinite(total) or total < 0:
            raise ValueError(f"'additional_loans' must be a number >= 0, got {additional_loans!r}")
        poor = proj.mean * proj.households[:, None]
        share = poor / np.where(poor.sum(axis=0) > 0, poor.sum(axis=0), 1)
        return total * share * active[None, :]
    if isinstance(additional_loans, pd.Series):
        if len(proj.by) != 1:
            raise ValueError("a Series of loans needs a projection with one unit column; pass a DataFrame")
        frame = additional_loans.rename("loans").rename_axis(proj.by[0]).reset_index()
        frame = frame.merge(pd.DataFrame({"year": yrs}), how="cross")
    elif isinstance(additional_loans, pd.DataFrame):
        frame = additional_loans
        _require(frame, "additional_loans", proj.by + ["year", "loans"])
    else:
        raise TypeError("'additional_loans' should be a number, a Series by unit or a DataFrame with the unit "
                        f"columns, 'year' and 'loans', got {type(additional_loans).__name__}")
    values = pd.to_numeric(frame["loans"], errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(values) | (values < 0)).any():
        i = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
        raise ValueError(f"'additional_loans' row {frame.index[i]!r}: loans must be a number >= 0, got "
                         f"{frame['loans'].iloc[i]}")
    u = pd.MultiIndex.from_frame(proj.units).get_indexer(pd.MultiIndex.from_frame(frame[proj.by]))
    if (u < 0).any():
        i = int(np.flatnonzero(u < 0)[0])
        raise ValueError(f"'additional_loans' names a unit not in the projection: {frame[proj.by].iloc[i].to_dict()}")
    t = np.searchsorted(yrs, frame["year"].to_numpy(dtype=int))
    inside = (t < len(yrs)) & (yrs[np.minimum(t, len(yrs) - 1)] == frame["year"].to_numpy(dtype=int))
    out = np.zeros((n_u, len(yrs)))
    np.add.at(out, (u[inside], t[inside]), values[inside])
    return out * active[None, :]


def credit_scenario(projection: Projection, additional_loans, effect: float, effect_se: float, *,
                    cost_per_exit=None, start_year: int | None = None, seed: int = 0) -> Projection:
    """Add VBSP loans to a projection, with the credit-impact estimate and its uncertainty.

    Each additional loan to a poor household lifts it out of poverty by the next review with
    probability ``effect`` (the estimand of :mod:`povanalysis.impact.credit`: the effect of a loan on
    not being poor at the next review, for borrowers poor at the review before).  Lifted
    households stay out of poverty to the end of the projection (no re-entry, which favours
    the scenario).  The effect is drawn from Normal(``effect``, ``effect_se``) kept in [0, 1],
    once per simulation, so its uncertainty adds to the projection's.

    Parameters
    ----------
    projection : Projection
        The baseline (any method).
    additional_loans : number, Series or DataFrame
        Loans a year: a number for the whole projection, spread over units in proportion
        to their projected poor households; a Series by unit (one unit column); or a
        DataFrame with the unit columns, ``year`` and ``loans``.
    effect, effect_se : float
        The estimate (probability points) and its standard error, e.g. from
        ``povanalysis.impact.credit.estimate_effect(...)`` (``.effect``, ``.se``).
    cost_per_exit : number, (estimate, lower, upper) or result, optional
        VND of credit per additional exit (e.g. ``povanalysis.impact.credit.cost_per_exit(...)``):
        adds the credit's value to :attr:`Projection.model`.
    start_year : int, optional
        First year with additional loans (default: the first projected year).
    seed : int
        Seed of the effect draws.

    Returns
    -------
    Projection
        ``model`` is the scenario table: unit columns, ``year``, ``loans``,
        ``additional_exits`` (cumulative, expected), ``effect``, ``effect_se`` and, with
        ``cost_per_exit``, ``credit_vnd``, ``credit_vnd_lower``, ``credit_vnd_upper``.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> base = trend_projection(counts, n_sim=200, min_cell=1)
    >>> scn = credit_scenario(base, 20, effect=0.10, effect_se=0.0)
    >>> round(float((base.mean - scn.mean)[0, -1] * 500), 1)
    10.0
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    for name, v, top in (("effect", effect, 1.0), ("effect_se", effect_se, math.inf)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (0 <= v <= top):
            raise ValueError(f"'{name}' must be a number in [0, {top:g}], got {v!r}")
    first = int(projection.years[0]) if start_year is None else int(start_year)
    if first not in projection.years:
        raise ValueError(f"'start_year' {first} is not a projected year ({projection.years.tolist()})")
    loans = _loans(additional_loans, projection, first)
    n_sim = projection.draws.shape[0]
    rng = _stream(seed, 3)
    e = np.clip(effect + effect_se * rng.standard_normal(n_sim), 0.0, 1.0) if effect_se > 0 else np.full(n_sim, float(effect))
    h = projection.households[None, :, None]
    cum = np.cumsum(loans, axis=1)[None]
    mean = np.maximum(projection.mean - cum[0] * effect / h[0], 0.0)
    draws = np.maximum(projection.draws - cum * e[:, None, None] / h, 0.0)
    obs = np.maximum(projection.obs_draws - np.round(cum * e[:, None, None]) / h, 0.0)
    lo, hi = _quantiles(draws, projection.alpha)
    scen = pd.DataFrame({c: np.repeat(projection.units[c].to_numpy(), len(projection.years)) for c in projection.by})
    scen["year"] = np.tile(projection.years, len(projection.units)).astype("int64")
    scen["loans"] = loans.ravel()
    exits = (projection.mean - mean) * h[0]
    scen["additional_exits"] = exits.ravel()
    scen["effect"], scen["effect_se"] = float(effect), float(effect_se)
    cost = _cost(cost_per_exit, projection.alpha)
    if cost is not None:
        scen["credit_vnd"] = scen["additional_exits"] * cost[0]
        scen["credit_vnd_lower"] = scen["additional_exits"] * cost[1]
        scen["credit_vnd_upper"] = scen["additional_exits"] * cost[2]
    note = (f"credit scenario from {first}: {loans.sum():,.0f} additional loans in all, effect {effect:.3f} "
            f"(se {effect_se:.3f}); lifted households assumed to stay out of poverty")
    return replace(projection, mean=mean, mean_se=draws.std(axis=0, ddof=1), ci_lower=lo, ci_upper=hi, draws=draws,
                   obs_draws=obs, method=f"credit scenario on {projection.method}", model=scen,
                   notes=projection.notes + (note,))


# --------------------------------------------------------------------------------------------
# What each commune must achieve
# --------------------------------------------------------------------------------------------

def _compare(proj: Projection, level: np.ndarray, prev: np.ndarray, start: np.ndarray, t0: np.ndarray, cost, *,
             seed: int = 0) -> dict:
    """Gap, probability of meeting and required exits for per-unit paths ``level`` (units, years)
    starting at ``start`` in year ``t0`` (per unit)."""
    h = proj.households[:, None]
    gap = proj.mean - level
    gap_draws = proj.draws - level[None]
    glo, ghi = _quantiles(gap_draws, proj.alpha)
    with np.errstate(invalid="ignore"):
        p_meet = (proj.obs_draws <= level[None] + 1e-12).mean(axis=0)
    p_meet = np.where(np.isfinite(level), p_meet, np.nan)
    extra = np.maximum(gap, 0) * h
    extra_draws = np.maximum(gap_draws, 0) * h[None]
    out = {"gap": gap, "gap_ci_lower": glo, "gap_ci_upper": ghi, "p_meet": p_meet,
           "exits_per_year": (start[:, None] - level) * h / (proj.years[None, :] - t0[:, None]),
           "exits_in_year": (prev - level) * h, "additional_exits": extra,
           "additional_exits_lower": _quantiles(extra_draws, proj.alpha)[0],
           "additional_exits_upper": _quantiles(extra_draws, proj.alpha)[1]}
    if cost is not None:
        rng = _stream(seed, 4)
        cd = _cost_draws(cost, extra_draws.shape[0], proj.alpha, rng)
        out["credit_vnd"] = extra * cost[0]
        if cd is None:
            out["credit_vnd_lower"] = out["additional_exits_lower"] * max(cost[1], 0)
            out["credit_vnd_upper"] = np.where(out["additional_exits_upper"] > 0, np.inf, 0.0)
        else:
            lo, hi = _quantiles(extra_draws * cd[:, None, None], proj.alpha)
            out["credit_vnd_lower"], out["credit_vnd_upper"] = lo, hi
    return out


def _check_standard(proj: Projection, baseline: pd.DataFrame) -> None:
    if "standard" not in baseline.columns:
        return
    stds = {s for s in baseline["standard"].dropna().astype(str).unique() if s}
    if stds and stds != {proj.standard}:
        raise ValueError(f"the baseline is on {sorted(stds)} but the projection on {proj.standard!r}: build the "
                         f"baseline with standard={proj.standard!r}")


def commune_requirements(projection: Projection, targets: Sequence[Target], baseline: pd.DataFrame, *,
                         fallback: str | Target | None = None, fallback_rule: str = "proportional",
                         cost_per_exit=None, min_cell: int | None = None, seed: int = 0) -> pd.DataFrame:
    """What each commune must achieve: its binding target, the gap to it, its chance, the credit to close it.

    A commune's targets are the ``scope="commune"`` targets whose population holds it; the
    binding one is the lowest path at the last projected year.  ``fallback`` (a target of
    the list, e.g. ``"province_high"``) gives a reference path to the communes no commune
    target covers.  A province-wide target is not a rule for every commune: a group-scope
    fallback is shared among the communes by :func:`povanalysis.goals.targets.commune_reference_paths`
    (``fallback_rule``: ``"proportional"``, the same relative fall everywhere, or ``"points"``),
    so that the communes' paths add up to the province path; a commune-scope fallback is
    read commune by commune.  Communes with no target keep their rows with a missing target.
    A commune already at or below the binding target's floor is ``already_met``: no
    probability, no exits or credit needed.

    Parameters
    ----------
    projection : Projection
        By ``commune_code`` (aggregate a finer projection with
        ``projection.aggregate("commune_code")``).
    targets : sequence of Target
    baseline : DataFrame
        :func:`povanalysis.goals.targets.baseline` of the same targets, on the projection's standard.
    fallback : str or Target, optional
    fallback_rule : {"proportional", "points"}
        How a group-scope fallback is shared among communes.
    cost_per_exit : number, (estimate, lower, upper) or credit result, optional
        VND of credit per additional exit.
    min_cell : int, optional
        Default the projection's.
    seed : int
        Seed of the cost draws.

    Returns
    -------
    DataFrame
        One row per commune and projected year: ``commune_code``, ``name``, ``year``,
        ``target``, ``confirmed``, ``attainable`` (False when the path is held at the floor),
        ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``,
        ``obs_ci_lower``, ``obs_ci_upper``, ``gap`` (projected minus target, a share; > 0 is
        behind), ``gap_ci_lower``, ``gap_ci_upper``, ``p_meet`` (probability that the recorded
        rate meets the path), ``on_track``, ``households``, ``exits_per_year`` (households
        that must leave poverty each year, net, from the target's start to that year),
        ``exits_in_year`` (the net fall the path asks in that year alone),
        ``additional_exits`` (beyond the projection,
        with ``_lower``/``_upper``), ``credit_vnd`` (with ``_lower``/``_upper``, when
        ``cost_per_exit`` is given), ``standard``, ``suppressed``.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> proj = trend_projection(counts, n_sim=200, min_cell=1)
    >>> t = Target("c", annual_reduction=3, scope="commune")
    >>> base = pd.DataFrame({"target": ["c", "c"], "kind": ["group", "commune"], "commune_code": [None, "01"],
    ...                      "households": [500, 500], "start_level": [0.128, 0.128]})
    >>> r = commune_requirements(proj, [t], base)
    >>> r.loc[r["year"] == 2030, ["target_level", "exits_per_year", "exits_in_year"]].round(3).to_dict("records")
    [{'target_level': 0.0, 'exits_per_year': 12.8, 'exits_in_year': 4.0}]
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    if projection.by != ["commune_code"]:
        raise ValueError(f"'projection' must be by commune_code only, got {projection.by}: use "
                         "projection.aggregate('commune_code')")
    targets = _check_targets(targets)
    _require(baseline, "baseline", ["target", "kind", "commune_code", "start_level"])
    _check_standard(projection, baseline)
    by_name = {t.name: t for t in targets}
    if isinstance(fallback, str):
        if fallback not in by_name:
            raise ValueError(f"'fallback' {fallback!r} is not one of the targets {sorted(by_name)}")
        fallback = by_name[fallback]
    cands = [t for t in targets if t.scope == "commune"]
    for t in cands + ([fallback] if fallback is not None else []):
        if t.direction != "decrease":
            raise ValueError(f"target {t.name!r}: commune requirements read decreasing targets only")
    yrs = projection.years
    codes = projection.units["commune_code"].to_numpy()
    n_u, n_y = len(codes), len(yrs)
    best = np.full((n_u, n_y), np.nan)
    prev = np.full((n_u, n_y), np.nan)
    start = np.full(n_u, np.nan)
    t0 = np.full(n_u, np.nan)
    name = np.full(n_u, None, dtype=object)
    attainable = np.full(n_u, None, dtype=object)
    rule = np.full(n_u, None, dtype=object)
    already = np.zeros(n_u, dtype=bool)

    def apply(t: Target, only_empty: bool):
        rows = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "commune")]
        if rows.empty:
            if t is fallback:
                raise ValueError(f"'baseline' has no commune rows for the fallback target {t.name!r}: pass it to "
                                 "targets.baseline() (its population must be whole communes)")
            return
        if yrs[0] <= t.start_year:
            raise ValueError(f"target {t.name!r} starts in {t.start_year}, not before the projection ({int(yrs[0])})")
        span = np.arange(t.start_year, max(int(yrs[-1]), t.end_year) + 1)
        if t.scope == "group":
            ref = commune_reference_paths(baseline, t, rule=fallback_rule, years=span).paths
            wide = ref.pivot(index="commune_code", columns="year", values="reference_level")
            rows = ref.groupby("commune_code", sort=True).agg(start_level=("start_level", "first"),
                                                              attainable=("attainable", "all")).reset_index()
            lvl = wide.loc[rows["commune_code"], span].to_numpy(dtype=float)
            held = ~rows["attainable"].to_numpy(dtype=bool)
            rule_text = f"{fallback_rule} share of {t.name}"
        else:
            lvl = None
            rule_text = t.name
        pos = pd.Index(codes).get_indexer(rows["commune_code"])
        ok = pos >= 0
        pos, s = pos[ok], rows["start_level"].to_numpy(dtype=float)[ok]
        if lvl is None:
            lvl, raw = t.levels(s, span)
            held = (~np.isclose(lvl, raw, rtol=0, atol=1e-12))[:, span <= t.end_year].any(axis=1)
        else:
            lvl, held = lvl[ok], held[ok]
        cols = np.searchsorted(span, yrs)
        new, before = lvl[:, cols], lvl[:, cols - 1]
        met = t.already_met(s)
        for i, p in enumerate(pos):
            empty = name[p] is None
            if only_empty and not empty:
                continue
            if empty or new[i, -1] < best[p, -1] - 1e-12:
                best[p], prev[p], start[p], name[p], attainable[p] = new[i], before[i], s[i], t.name, not held[i]
                t0[p], rule[p], already[p] = t.start_year, rule_text, bool(met[i])

    for t in cands:
        apply(t, only_empty=False)
    if fallback is not None:
        apply(fallback, only_empty=True)
    cost = _cost(cost_per_exit, projection.alpha)
    cmp_ = _compare(projection, best, prev, start, t0, cost, seed=seed)
    frame = projection.to_frame()
    names = _names(codes)
    out = pd.DataFrame({"commune_code": np.repeat(codes, n_y)})
    out["name"] = out["commune_code"].map(names)
    out["year"] = np.tile(yrs, n_u).astype("int64")
    out["target"] = np.repeat(name, n_y)
    out["confirmed"] = out["target"].map({t.name: t.confirmed for t in targets + ([fallback] if fallback else [])})
    out["attainable"] = np.repeat(attainable, n_y)
    out["start_level"] = np.repeat(start, n_y)
    out["target_level"] = best.ravel()
    for c in ("mean", "ci_lower", "ci_upper", "obs_ci_lower", "obs_ci_upper"):
        out[c] = frame[c].to_numpy()
    for k in ("gap", "gap_ci_lower", "gap_ci_upper", "p_meet"):
        out[k] = cmp_.pop(k).ravel()
    out["on_track"] = pd.array(np.where(np.isfinite(best.ravel()), out["gap"] <= 1e-12, None), dtype="boolean")
    out["households"] = frame["households"].to_numpy()
    for k, v in cmp_.items():
        out[k] = v.ravel()
    out.insert(out.columns.get_loc("target") + 1, "rule", np.repeat(rule, n_y))
    met = np.repeat(already, n_y)
    out.insert(out.columns.get_loc("attainable") + 1, "already_met", met)
    # Already at the floor: nothing to achieve, so no probability, no exits and no credit.
    out.loc[met, "p_meet"] = np.nan
    for c in [c for c in out.columns if c.startswith(("additional_exits", "credit_vnd"))] + ["exits_per_year",
                                                                                           "exits_in_year"]:
        out.loc[met, c] = 0.0
    out.loc[met, "on_track"] = True
    out["standard"] = projection.standard
    limit = projection.min_cell if min_cell is None else _min_cell(min_cell)
    out["suppressed"] = out["households"] < limit
    return out


def group_status(projection: Projection, targets: Sequence[Target], baseline: pd.DataFrame, *,
                 disadvantaged=frozenset(), minority_areas=frozenset(), cost_per_exit=None,
                 seed: int = 0) -> pd.DataFrame:
    """Each group target against the projection of its population: gap, chance and required exits.

    The projection's units are pooled into each target's population (:func:`povanalysis.goals.targets.select`
    on the unit columns), so a projection by ``["commune_code", "minority"]`` answers every
    default target.  A target whose population the units cannot express (ethnic-minority
    households in a projection by commune only) keeps its rows with a ``note``.

    Returns
    -------
    DataFrame
        One row per group target and projected year: ``target``, ``label``, ``confirmed``,
        ``year``, ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``,
        ``obs_ci_lower``, ``obs_ci_upper``, the columns of :func:`commune_requirements` from
        ``gap`` on, and ``note``.
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    targets = _check_targets(targets)
    _require(baseline, "baseline", ["target", "kind", "start_level"])
    _check_standard(projection, baseline)
    cost = _cost(cost_per_exit, projection.alpha)
    yrs = projection.years
    parts = []
    units = projection.units
    for t in targets:
        if t.scope != "group":
            continue
        base = pd.DataFrame({"target": t.name, "label": t.label("en"), "confirmed": t.confirmed, "year": yrs})
        need = {"minority": ("minority", "ethnicity"), "column": (t.column,)}.get(t.population, ("commune_code",))
        if t.population != "all" and not any(c in units.columns for c in need):
            parts.append(base.assign(note=f"the projection's units ({projection.by}) cannot express population "
                                          f"{t.population!r}: project by {list(need[:1]) + ['commune_code']}"))
            continue
        mask = select(units, t, disadvantaged=disadvantaged, minority_areas=minority_areas).to_numpy()
        if not mask.any():
            parts.append(base.assign(note="no projected unit in the population"))
            continue
        agg = projection.aggregate(mask, label=t.name)
        row = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "group")]
        if row.empty:
            raise ValueError(f"'baseline' has no group row for target {t.name!r}")
        s = float(row["start_level"].iloc[0])
        if yrs[0] <= t.start_year:
            raise ValueError(f"target {t.name!r} starts in {t.start_year}, not before the projection ({int(yrs[0])})")
        span = np.arange(t.start_year, max(int(yrs[-1]), t.end_year) + 1)
        lvl, raw = t.levels([s], span)
        cols = np.searchsorted(span, yrs)
        level, prev = lvl[:, cols], lvl[:, cols - 1]
        cmp_ = (_compare(agg, level, prev, np.array([s]), np.array([t.start_year]), cost, seed=seed)
                if t.direction == "decrease" else None)
        if cmp_ is None:
            raise ValueError(f"target {t.name!r}: group status reads decreasing targets only")
        out = base.assign(start_level=s, target_level=level[0], mean=agg.mean[0], ci_lower=agg.ci_lower[0],
                          ci_upper=agg.ci_upper[0])
        lo, hi = _quantiles(agg.obs_draws, agg.alpha)
        out["obs_ci_lower"], out["obs_ci_upper"] = lo[0], hi[0]
        for k, v in cmp_.items():
            out[k] = v[0]
        out["on_track"] = out["gap"] <= 1e-12
        out["households"] = agg.households[0]
        out["attainable"] = not (~np.isclose(lvl, raw, rtol=0, atol=1e-12))[0, span <= t.end_year].any()
        out["note"] = ""
        parts.append(out)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out["standard"] = projection.standard
    return out


def province_ranking(requirements: pd.DataFrame, *, year: int | None = None,
                     min_cell: int | None = None) -> pd.DataFrame:
    """The province table: one row per commune ranked by what it contributes to the province's gap.

    The rank follows ``additional_exits`` (households that must leave poverty beyond the
    projection to meet the commune's path), so a large commune a little behind comes before
    a small one far behind; ``share_of_gap`` is its share of all communes' additional exits.

    A published table: every count and rate of a commune with fewer than ``min_cell``
    households is blanked (``suppressed`` True), and no household identifier appears.

    Parameters
    ----------
    requirements : DataFrame
        Output of :func:`commune_requirements`.
    year : int, optional
        The year ranked (default: the last projected).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    DataFrame
        ``rank``, ``commune_code``, ``name``, ``year``, ``target``, ``confirmed``, ``attainable``,
        ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``, ``gap``,
        ``gap_ci_lower``, ``gap_ci_upper``, ``p_meet``, ``on_track``, ``households``,
        ``exits_per_year`` (from the target's start to ``year``), ``additional_exits``
        (and ``credit_vnd`` columns when present), ``standard``, ``suppressed``.
    """
    _require(requirements, "requirements", ["commune_code", "year", "gap", "households", "exits_per_year"])
    yrs = sorted(requirements["year"].unique().tolist())
    year = yrs[-1] if year is None else int(year)
    if year not in yrs:
        raise ValueError(f"'year' {year} is not in the requirements ({yrs})")
    out = requirements[requirements["year"] == year].copy()
    limit = _min_cell(min_cell)
    small = out["households"].to_numpy() < limit
    out["suppressed"] = small
    numeric = [c for c in out.columns if c not in ("commune_code", "name", "year", "target", "rule", "confirmed",
                                                   "attainable", "already_met", "on_track", "standard", "suppressed")
               and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    out[numeric] = out[numeric].astype(float)
    out.loc[small, numeric] = np.nan
    if "on_track" in out.columns:
        out["on_track"] = pd.array(out["on_track"], dtype="boolean")
        out.loc[small, "on_track"] = pd.NA
    if "additional_exits" in out.columns:
        total = float(np.nansum(out["additional_exits"].to_numpy(dtype=float)))
        out["share_of_gap"] = out["additional_exits"] / total if total > 0 else np.where(out["gap"].notna(), 0.0, np.nan)
        order = ["additional_exits", "gap", "commune_code"]
    else:
        order = ["gap", "commune_code"]
    out = out.sort_values(order, ascending=[False] * (len(order) - 1) + [True], na_position="last", kind="stable")
    out.insert(0, "rank", pd.array(np.where(out["gap"].notna(), np.arange(1, len(out) + 1), None), dtype="Int64"))
    keep = ["rank", "commune_code", "name", "year", "target", "rule", "confirmed", "attainable", "already_met",
            "start_level", "target_level", "mean",
            "ci_lower", "ci_upper", "obs_ci_lower", "obs_ci_upper", "gap", "gap_ci_lower", "gap_ci_upper", "p_meet", "on_track", "households",
            "exits_per_year", "additional_exits", "share_of_gap", "credit_vnd", "credit_vnd_lower", "credit_vnd_upper",
            "standard", "suppressed"]
    return out[[c for c in keep if c in out.columns]].reset_index(drop=True)


def binding_target(requirements: pd.DataFrame, targets: Sequence[Target], commune_code: str) -> Target | None:
    """The target that binds a commune in :func:`commune_requirements` (None when it has none).

    Examples
    --------
    >>> r = pd.DataFrame({"commune_code": ["05500"], "target": ["t"]})
    >>> binding_target(r, [Target("t", annual_reduction=1)], "05500").name
    't'
    """
    _require(requirements, "requirements", ["commune_code", "target"])
    rows = requirements[requirements["commune_code"] == commune_code]
    if rows.empty:
        raise ValueError(f"commune_code {commune_code!r} is not in the requirements (codes are strings of five "
                         f"digits, e.g. {requirements['commune_code'].iloc[0]!r})")
    name = rows["target"].iloc[0]
    if not isinstance(name, str):
        return None
    found = [t for t in _check_targets(targets) if t.name == name]
    if not found:
        raise ValueError(f"the requirements name the target {name!r}, which is not in 'targets'")
    return found[0]


def requirements_headline(requirements: pd.DataFrame, *, year: int | None = None, lang: str = "vi") -> str:
    """Sentences on how many communes are on track and what closing the gaps takes.

    Examples
    --------
    >>> r = pd.DataFrame({"commune_code": ["01", "02"], "year": 2030, "target": ["t", "t"], "gap": [0.02, -0.01],
    ...                   "p_meet": [0.2, 0.9], "households": [500, 300], "additional_exits": [10.0, 0.0],
    ...                   "suppressed": False})
    >>> requirements_headline(r, lang="en")
    'By 2030, 1 of 2 communes with a target are projected to meet it (on track, central projection); 1 commune(s) are behind and need 10 more households to leave poverty than projected.'
    """
    vi = check_lang(lang) == "vi"
    _require(requirements, "requirements", ["year", "target", "gap", "additional_exits", "suppressed"])
    year = int(requirements["year"].max()) if year is None else int(year)
    r = requirements[(requirements["year"] == year) & requirements["target"].notna() & ~requirements["suppressed"]]
    n, on = len(r), int((r["gap"] <= 1e-12).sum())
    behind = n - on
    extra = float(r["additional_exits"].sum())
    if vi:
        text = (f"Đến năm {year}, {on}/{n} xã, phường có mục tiêu được dự báo đạt lộ trình (theo giá trị dự báo trung tâm); "
                f"{behind} xã chậm so với lộ trình, cần thêm {format_number(extra, lang)} hộ thoát nghèo so với dự báo.")
    else:
        text = (f"By {year}, {on} of {n} communes with a target are projected to meet it (on track, central projection); "
                f"{behind} commune(s) are behind and need {format_number(extra, lang)} more households to leave poverty "
                "than projected.")
    if "credit_vnd" in r.columns and behind:
        bn = float(r["credit_vnd"].sum()) / 1e9
        text += (f" Với chi phí ước tính cho mỗi hộ thoát nghèo, cần khoảng {format_number(bn, lang, digits=1)} tỷ đồng "
                 "vốn tín dụng bổ sung (khoảng tin cậy theo từng xã trong bảng)." if vi else
                 f" At the estimated cost per exit that is about VND {format_number(bn, lang, digits=1)} billion of "
                 "additional credit (intervals by commune in the table).")
    suppressed = int(((requirements["year"] == year) & requirements["suppressed"]).sum())
    if suppressed:
        text += (f" {suppressed} xã có dưới ngưỡng số hộ không được công bố." if vi else
                 f" {suppressed} commune(s) below the household threshold are not published.")
    return text


def scenario_headline(baseline: Projection, scenario: Projection, *, year: int | None = None,
                      lang: str = "vi") -> str:
    """A sentence on what a credit scenario changes in the pooled rate of all units.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> base = trend_projection(counts, n_sim=200, min_cell=1)
    >>> scenario_headline(base, credit_scenario(base, 20, 0.10, 0.0), lang="en")[:86]
    'With 20 additional loans a year from 2026 and an effect on exit of 0.100 (se 0.000), t'
    """
    vi = check_lang(lang) == "vi"
    for name, obj in (("baseline", baseline), ("scenario", scenario)):
        if not isinstance(obj, Projection):
            raise TypeError(f"'{name}' should be a Projection, got {type(obj).__name__}")
    if not isinstance(scenario.model, pd.DataFrame) or "effect" not in scenario.model.columns:
        raise ValueError("'scenario' is not a credit scenario (see credit_scenario)")
    years = scenario.years.tolist()
    year = years[-1] if year is None else int(year)
    if year not in years:
        raise ValueError(f"'year' {year} is not projected ({years})")
    j = years.index(year)
    a, b = baseline.aggregate(), scenario.aggregate()
    m = scenario.model
    loans = m.groupby("year")["loans"].sum()
    first = int(loans.index[loans > 0][0]) if (loans > 0).any() else years[0]
    per_year = format_number(float(loans[loans > 0].mean()) if (loans > 0).any() else 0.0, lang)
    eff, se = format_number(m["effect"].iloc[0], lang, digits=3), format_number(m["effect_se"].iloc[0], lang, digits=3)
    before, after = format_percent(a.mean[0, j], lang), format_percent(b.mean[0, j], lang)
    ci = f"{format_percent(b.ci_lower[0, j], lang)}–{format_percent(b.ci_upper[0, j], lang)}"
    exits = format_number(float(m.loc[m["year"] == year, "additional_exits"].sum()), lang)
    text = (f"Với thêm {per_year} khoản vay mỗi năm từ năm {first} và hiệu quả thoát nghèo ước tính {eff} (sai số chuẩn "
            f"{se}), tỷ lệ hộ nghèo năm {year} dự báo là {after} (khoảng tin cậy {ci}) thay vì {before}: thêm {exits} "
            "hộ thoát nghèo." if vi else
            f"With {per_year} additional loans a year from {first} and an effect on exit of {eff} (se {se}), the "
            f"poor-household rate in {year} is projected at {after} ({ci}) instead of {before}: {exits} more "
            "households out of poverty.")
    if "credit_vnd" in m.columns:
        rows = m[m["year"] == year]
        bn = [float(rows[c].sum()) / 1e9 for c in ("credit_vnd", "credit_vnd_lower", "credit_vnd_upper")]
        lo, mid = format_number(bn[1], lang, digits=1), format_number(bn[0], lang, digits=1)
        if math.isfinite(bn[2]):
            hi = format_number(bn[2], lang, digits=1)
            span = f"từ {lo} đến {hi}" if vi else f"{lo} to {hi}"
        else:
            span = (f"từ {lo}, không có cận trên hữu hạn vì khoảng tin cậy của hiệu quả chạm 0" if vi else
                    f"at least {lo}, with no finite upper bound as the effect's interval reaches zero")
        text += (f" Theo chi phí ước tính cho mỗi hộ thoát nghèo, số hộ này ứng với khoảng {mid} tỷ đồng ({span})."
                 if vi else f" At the estimated cost per exit these exits stand for about VND {mid} billion ({span}).")
    return text


def gap_labels(*, year: int, lang: str = "vi") -> dict:
    """Title and value label of a gap figure (``title``, ``column_label``), e.g. for :func:`povanalysis.geo.boundaries.maps.choropleth`.

    Examples
    --------
    >>> gap_labels(year=2030, lang="en")["column_label"]
    'Gap to the 2030 target (percentage points)'
    """
    return {"title": _t("gap_title", lang, y=year), "column_label": _t("gap", lang, y=year)}


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def _unit_position(projection: Projection, commune_code, group) -> tuple[int, str]:
    if commune_code is not None:
        if projection.by != ["commune_code"]:
            raise ValueError(f"'commune_code' needs a projection by commune_code, got {projection.by}: use "
                             "projection.aggregate('commune_code')")
        hits = np.flatnonzero(projection.units["commune_code"].to_numpy() == str(commune_code))
        if not len(hits):
            raise ValueError(f"commune_code {commune_code!r} is not in the projection")
        return int(hits[0]), "commune"
    if group is not None:
        if len(projection.by) != 1:
            raise ValueError(f"'group' needs a projection with one unit column, got {projection.by}")
        values = projection.units[projection.by[0]].astype(str).to_numpy()
        hits = np.flatnonzero(values == str(group))
        if not len(hits):
            raise ValueError(f"group {group!r} is not in the projection (groups: {values[:10].tolist()})")
        return int(hits[0]), "group"
    if len(projection.units) == 1:
        return 0, "group"
    raise ValueError("give 'commune_code' or 'group': the projection has several units")


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def plot_fan_chart(projection: Projection, target: Target | pd.DataFrame | None = None, *,
                   commune_code: str | None = None, group=None, levels: Sequence[float] = (0.5, 0.8, 0.95),
                   lang: str = "vi", fig: go.Figure | None = None) -> go.Figure:
    """Fan chart of one commune's or group's projected rate against a target path.

    Draws the review results, the projection with nested prediction intervals (the rate a
    review will record), and the target path.  The title names the standard.  A unit with
    fewer households than the projection's ``min_cell`` is not drawn (the title says so).

    Parameters
    ----------
    projection : Projection
    target : Target or DataFrame, optional
        A target (its start level, when not given, is the unit's rate at the target's start
        year) or a path with ``year`` and ``target_level``.
    commune_code, group
        The unit shown (a projection by commune, or with one unit column).
    levels : sequence of float
        Coverages of the bands.
    lang : {"vi", "en"}
    fig : Figure, optional

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> proj = trend_projection(counts, n_sim=200, min_cell=1)
    >>> f = plot_fan_chart(proj, Target("t", annual_reduction=1.5), commune_code="01", lang="en")
    >>> [t.name for t in f.data][-2:]
    ['Projection', 'Target path: t']
    >>> [round(v, 3) for v in f.data[-1].y][:2]
    [0.128, 0.113]
    """
    check_lang(lang)
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    for lv in levels:
        if not 0 < lv < 1:
            raise ValueError(f"'levels' are coverages in (0, 1), got {lv!r}")
    i, kind = _unit_position(projection, commune_code, group)
    key = projection.units.iloc[i]
    hidden = projection.households[i] < projection.min_cell
    obs = projection.observed.merge(projection.units.iloc[[i]], on=projection.by)
    obs = obs.sort_values("review_year")
    if kind == "commune":
        who = _names([str(commune_code)]).get(str(commune_code), str(commune_code))
    else:
        v = str(key.iloc[0])
        who = label("province", lang) if v == "all" else label(v, lang)
    fig = fig if fig is not None else go.Figure()
    yrs = projection.years.tolist()
    title = _t("fan_title", lang, who=who, y0=yrs[0], y1=yrs[-1]) + f" ({_std_short(projection.standard, lang)})"
    if hidden:
        fig.update_layout(title=f"{title}: {_t('suppressed', lang)}", font=FONT, template="plotly_white")
        return fig
    x0 = obs["review_year"].tolist()
    anchor_x = [x0[-1]] if x0 else []
    anchor_y = [float(obs["rate"].iloc[-1])] if x0 else []
    for j, lv in enumerate(sorted(levels, reverse=True)):
        lo, hi = np.quantile(projection.obs_draws[:, i, :], [(1 - lv) / 2, (1 + lv) / 2], axis=0)
        xs = anchor_x + yrs
        fig.add_trace(go.Scatter(
            x=xs + xs[::-1], y=anchor_y + hi.tolist() + (lo.tolist()[::-1]) + anchor_y, fill="toself", mode="lines",
            fillcolor=_rgba(PALETTE[0], 0.12 + 0.1 * j), line=dict(width=0), hoverinfo="skip",
            name=_t("band", lang, p=f"{100 * lv:g}")))
    rate_name = label("poor_rate", lang)
    fig.add_trace(go.Scatter(x=x0, y=obs["rate"].tolist(), mode="lines+markers", name=_t("observed", lang),
                             line=dict(color=PALETTE[7], width=2),
                             hovertemplate="%{x}: %{y:.2%}<extra>" + _t("observed", lang) + "</extra>"))
    fig.add_trace(go.Scatter(x=anchor_x + yrs, y=anchor_y + projection.mean[i].tolist(), mode="lines+markers",
                             name=_t("projection", lang), line=dict(color=PALETTE[0], width=3),
                             hovertemplate="%{x}: %{y:.2%}<extra>" + _t("projection", lang) + "</extra>"))
    if target is not None:
        if isinstance(target, Target):
            s = target.start_level
            if s is None:
                at = obs[obs["review_year"] == target.start_year]
                if at.empty:
                    raise ValueError(f"the unit has no observed rate at the target's start year {target.start_year}; "
                                     "give the target a start_level")
                s = float(at["rate"].iloc[0])
            path = target.path(s, years=range(target.start_year, max(yrs[-1], target.end_year) + 1))
            tname = f"{_t('target', lang)}: {target.label(lang)}"
        elif isinstance(target, pd.DataFrame):
            _require(target, "target", ["year", "target_level"])
            path, tname = target, _t("target", lang)
        else:
            raise TypeError(f"'target' should be a Target or a DataFrame, got {type(target).__name__}")
        fig.add_trace(go.Scatter(x=path["year"].tolist(), y=path["target_level"].tolist(), mode="lines",
                                 name=tname, line=dict(color=PALETTE[1], width=3, dash="dash"),
                                 hovertemplate="%{x}: %{y:.2%}<extra>" + _t("target", lang) + "</extra>"))
    fig.update_layout(title=title, font=FONT, template="plotly_white", legend_title_text="",
                      xaxis_title=_t("year", lang), yaxis_title=rate_name, margin=dict(l=60, r=20, t=60, b=50))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=1)
    return fig


def plot_gap_bars(requirements: pd.DataFrame, *, year: int | None = None, top: int | None = None,
                  lang: str = "vi", fig: go.Figure | None = None) -> go.Figure:
    """Ranked horizontal bars of each commune's gap to its target (percentage points), with intervals.

    Communes behind their path are drawn in vermillion, those on track in green;
    suppressed communes and communes without a target are left out and counted in the title.

    Parameters
    ----------
    requirements : DataFrame
        Output of :func:`commune_requirements` or :func:`province_ranking`.
    year : int, optional
        Default: the last year in the table.
    top : int, optional
        Show only the ``top`` largest gaps.
    lang : {"vi", "en"}
    fig : Figure, optional

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> r = pd.DataFrame({"commune_code": ["01", "02", "03"], "name": ["A", "B", "C"], "year": 2030,
    ...                   "gap": [0.02, -0.01, 0.05], "gap_ci_lower": [0.0, -0.02, 0.03],
    ...                   "gap_ci_upper": [0.04, 0.0, 0.07], "households": [500, 300, 5], "suppressed": [False, False, True]})
    >>> f = plot_gap_bars(r, lang="en")
    >>> list(f.data[0].y), [round(v, 1) for v in f.data[0].x]
    (['A'], [2.0])
    >>> f.layout.title.text
    'Gap between projection and target in 2030, by commune (1 commune(s) suppressed (too few households))'
    """
    check_lang(lang)
    _require(requirements, "requirements", ["commune_code", "year", "gap", "suppressed"])
    year = int(requirements["year"].max()) if year is None else int(year)
    r = requirements[requirements["year"] == year]
    if r.empty:
        raise ValueError(f"'requirements' has no rows for year {year}")
    hidden = int(r["suppressed"].sum())
    no_target = int((r["gap"].isna() & ~r["suppressed"]).sum())
    r = r[~r["suppressed"] & r["gap"].notna()].sort_values("gap", ascending=False, kind="stable")
    if top is not None:
        r = r.head(int(top))
    names = r["name"].fillna(r["commune_code"]) if "name" in r.columns else r["commune_code"]
    fig = fig if fig is not None else go.Figure()
    for behind, key, colour in ((True, "behind", PALETTE[1]), (False, "on_track", PALETTE[2])):
        part = r[(r["gap"] > 1e-12) == behind]
        nm = names[part.index]
        err = None
        if {"gap_ci_lower", "gap_ci_upper"} <= set(part.columns):
            err = dict(type="data", symmetric=False, array=(100 * (part["gap_ci_upper"] - part["gap"])).tolist(),
                       arrayminus=(100 * (part["gap"] - part["gap_ci_lower"])).tolist(), color="#555555", thickness=1)
        fig.add_trace(go.Bar(x=(100 * part["gap"]).tolist(), y=nm.tolist(), orientation="h", name=_t(key, lang),
                             marker_color=colour, error_x=err, customdata=part["commune_code"].tolist(),
                             hovertemplate="%{y} (%{customdata}): %{x:.2f}<extra>" + _t(key, lang) + "</extra>"))
    texts = gap_labels(year=year, lang=lang)
    title = texts["title"]
    extra = [s for s in (_t("hidden", lang, n=hidden) if hidden else "", _t("no_target", lang, n=no_target)
                         if no_target else "") if s]
    if extra:
        title += " (" + "; ".join(extra) + ")"
    fig.update_layout(title=title, font=FONT, template="plotly_white", legend_title_text="", barmode="overlay",
                      xaxis_title=texts["column_label"], yaxis_title="", height=160 + 18 * max(len(r), 1),
                      margin=dict(l=160, r=20, t=60, b=50))
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names.tolist())
    return fig
