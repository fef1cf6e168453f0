"""Who should receive policy credit, who does, and which communes come first: eligibility, accuracy, priorities."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..common.cache import cache_folder, cache_key, cached_result, frame_digest
from ..common.checks import require_frame, to_python
from ..common.deprecation import moved_names
from ..data.schema import ETHNIC_MAJORITY, PROGRAMMES
from .panel import (
    NEWLY_ESCAPED_YEARS,
    class_codes,
    household_panel,
    income_line,
    min_cell_limit,
    positive_int,
    require_complete,
    review_years,
)
from .risk import DEFAULT_RISK_THRESHOLD, at_risk_counts

__all__ = [
    "NEWLY_ESCAPED_YEARS",
    "DEFAULT_WEIGHTS",
    "eligibility",
    "accuracy",
    "commune_table",
    "priority_index",
    "rank_sensitivity",
    "RankSensitivity",
    "mask_suppressed",
]

#: Default weights of the commune priority index (:func:`priority_index`).  They are an
#: analytic choice, not an official rule: poverty incidence and depth weigh most, the
#: number of poor households brings scale, the ethnic-minority share and the share at
#: risk of falling back bring the province's equity and "lasting exit" aims.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "poor_rate": 0.30,
        "fgt1": 0.20,
        "poor": 0.20,
        "minority_share": 0.15,
        "at_risk_share": 0.15,
    }
)

_ALL = "all"

#: Names that moved out of this module in 0.2.0, and their new homes (kept for one release).
_MOVED = MappingProxyType(
    {
        "accuracy_text": "povanalysis.reports.prose.targeting",
        "priority_text": "povanalysis.reports.prose.targeting",
        "coverage_figure": "povanalysis.figures.targeting",
        "priority_figure": "povanalysis.figures.targeting",
    }
)


__getattr__ = moved_names(__name__, _MOVED)


# ----------------------------------------------------------------------------- validation


def _with_minority(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    if "minority" in by and "minority" not in frame.columns:
        if "ethnicity" not in frame.columns:
            raise ValueError("'by' asks for 'minority' but 'classified' has neither 'minority' nor 'ethnicity'")
        return frame.assign(minority=frame["ethnicity"] != ETHNIC_MAJORITY)
    return frame


def _as_by(by, arg: str = "by") -> list[str]:
    items = [by] if isinstance(by, str) else list(by)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{arg!r} must hold column names (str), got {item!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"{arg!r} names the same column more than once: {items}")
    return items


# ----------------------------------------------------------------------------- eligibility


def eligibility(classified: pd.DataFrame, *, newly_escaped_years: int = NEWLY_ESCAPED_YEARS) -> pd.DataFrame:
    """Eligibility of each household-year for the VBSP household programmes.

    At the review of year ``R`` a household is eligible for

    * the **poor** programme (Decree 78/2002/ND-CP) when it is classed poor;
    * the **near-poor** programme (Decision 15/2013/QĐ-TTg) when it is classed near-poor;
    * the **newly escaped** programme (Decision 28/2015/QĐ-TTg) when it was poor or near-poor
      at an earlier review, is now above the near-poor income line (``average_living`` or
      ``not_poor``), and left the lists at most ``newly_escaped_years`` years ago, that is
      ``R - L <= newly_escaped_years`` where ``L`` is the last review at which it was listed.

    The three are exclusive.  **Timing**: the review held at the end of year ``Y − 1`` sets
    the lists for year ``Y``, so eligibility for loans disbursed in calendar year ``Y`` is
    the eligibility of review ``Y − 1`` (column ``loan_year = review_year + 1``).  History
    before the first review in ``classified`` is unknown: at the first reviews of a panel
    the newly escaped are undercounted (nobody is newly escaped at the first review).

    Parameters
    ----------
    classified : DataFrame
        One row per household and review year with ``household_id``, ``review_year``
        (integers), ``commune_code`` and ``poverty_class`` (see
        :func:`povanalysis.data.pipeline.classify_panel`).
    newly_escaped_years : int, default 3
        Years after leaving the lists during which a household counts as newly escaped
        (reference §4, Decision 28/2015/QĐ-TTg).

    Returns
    -------
    DataFrame
        Aligned to ``classified`` (same index): ``household_id``, ``review_year``,
        ``loan_year``, ``commune_code``, ``eligible_poor``, ``eligible_near_poor``,
        ``eligible_newly_escaped``, ``eligible`` (any), ``programme`` (``poor``,
        ``near_poor``, ``newly_escaped`` or missing) and ``last_listed`` (the latest review,
        up to this one, at which the household was poor or near-poor; missing if never).

    References
    ----------
    Decree 78/2002/ND-CP; Decision 15/2013/QĐ-TTg; Decision 28/2015/QĐ-TTg and Decision
    2/QĐ-TTg (21/01/2021); Decision 24/2021/QĐ-TTg (annual review procedure).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A"] * 4, "review_year": [2021, 2022, 2023, 2024],
    ...                    "commune_code": ["01840"] * 4,
    ...                    "poverty_class": ["poor", "average_living", "not_poor", "not_poor"]})
    >>> eligibility(hh, newly_escaped_years=2)["programme"].tolist()
    ['poor', 'newly_escaped', 'newly_escaped', nan]
    """
    window = positive_int(newly_escaped_years, "newly_escaped_years")
    require_frame(classified, "classified")
    core = household_panel(classified, window)
    cls, years, newly = core.cls, core.years, core.newly
    poor, near = cls == 0, cls == 1
    programme = np.select([poor, near, newly], list(PROGRAMMES), default=None)
    last = pd.array(core.last_listed, dtype="Float64").astype("Int64")
    out = pd.DataFrame(
        {
            "household_id": classified["household_id"].array,
            "review_year": years,
            "loan_year": years + 1,
            "commune_code": classified["commune_code"].array,
            "eligible_poor": poor,
            "eligible_near_poor": near,
            "eligible_newly_escaped": newly,
            "eligible": poor | near | newly,
            "programme": pd.array(programme, dtype="str"),
            "last_listed": last,
        },
        index=classified.index,
    )
    return out


# ----------------------------------------------------------------------------- accuracy


def _check_loans(loans: pd.DataFrame) -> pd.DataFrame:
    require_frame(loans, "loans", ["household_id", "programme", "disbursed"])
    require_complete(loans, ["household_id", "programme", "disbursed"], "loans")
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"].dtype):
        raise ValueError(
            f"column 'disbursed' of 'loans' must hold dates (datetime64), got dtype {loans['disbursed'].dtype}"
        )
    prog = loans["programme"].astype(str)
    bad = ~prog.isin(PROGRAMMES).to_numpy()
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"column 'programme' of 'loans' must be one of {list(PROGRAMMES)}, "
            f"got {to_python(prog.iloc[i])!r} at row {to_python(loans.index[i])!r}"
        )
    return loans


def accuracy(
    classified: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    by: Sequence[str] = ("commune_code",),
    year: int | None = None,
    newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
    min_cell: int | None = None,
    cache: str | os.PathLike | bool | None = True,
) -> pd.DataFrame:
    """Targeting accuracy of VBSP loans against eligibility: coverage, inclusion and exclusion errors.

    A loan disbursed in calendar year ``Y`` is judged against the review of ``Y − 1`` (the
    review at the end of ``Y − 1`` sets the lists for ``Y``; see :func:`eligibility`); the
    borrower's groups (``by``) are those of that review row.  Per loan year, group and
    programme (plus ``programme == "all"``, any programme):

    * ``eligible``: households eligible for the programme at review ``Y − 1``;
    * ``reached``: eligible households with at least one loan in ``Y`` (any programme);
    * ``coverage = reached / eligible``;
    * ``exclusion_errors = eligible − reached`` and ``exclusion_rate = 1 − coverage``;
    * ``loans``: loans recorded under the programme in ``Y``;
    * ``inclusion_errors``: of those, loans to households eligible for no programme at
      review ``Y − 1`` (leakage), and ``inclusion_share = inclusion_errors / loans``;
    * ``other_programme``: loans under the programme to households eligible for another one.

    These are counts over the whole review, not sample estimates, so they carry no
    standard errors.  ``suppressed`` flags rows resting on fewer than ``min_cell``
    eligible households, or on 1 to ``min_cell − 1`` loans: publish them as suppressed.

    Parameters
    ----------
    classified : DataFrame
        As for :func:`eligibility`, plus the ``by`` columns (``minority`` is derived from
        ``ethnicity`` when absent).
    loans : DataFrame
        ``household_id``, ``programme`` and ``disbursed`` (dates), as from
        :func:`povanalysis.data.io.read_loans`.
    by : sequence of str, default ("commune_code",)
        Grouping columns of ``classified``; ``("commune_code", "minority")`` splits by
        ethnic-minority status, ``()`` gives province totals.
    year : int, optional
        Loan (disbursement) year to assess; default every year ``Y`` from the first to the
        last disbursement year of ``loans`` whose review ``Y − 1`` is in ``classified``.
        Loans of other years cannot be judged; their number is recorded in
        ``result.attrs["loans_not_assessed"]``.
    newly_escaped_years : int, default 3
        See :func:`eligibility`.
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.
    cache : path, bool or None
        Where the table is kept for the next call with the same data and arguments (Parquet,
        :func:`povanalysis.common.cache.cached_result`; the key holds digests of ``classified``
        and ``loans``, the arguments, the publication threshold and this module's code):
        ``True`` (default) the data's cache folder (:func:`povanalysis.config.cache_dir`), a
        folder, or ``None`` to compute every time.

    Returns
    -------
    DataFrame
        ``loan_year``, ``review_year``, the ``by`` columns, ``programme``, ``eligible``,
        ``reached``, ``coverage``, ``exclusion_errors``, ``exclusion_rate``, ``loans``,
        ``inclusion_errors``, ``inclusion_share``, ``other_programme``, ``suppressed``.

    References
    ----------
    Coady, D., Grosh, M. and Hoddinott, J. (2004). *Targeting of Transfers in Developing
    Countries*. World Bank. doi:10.1596/0-8213-5769-7 (inclusion and exclusion errors).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A", "B", "C"] * 2, "review_year": [2023] * 3 + [2024] * 3,
    ...                    "commune_code": ["01840"] * 6,
    ...                    "poverty_class": ["poor", "near_poor", "not_poor"] * 2})
    >>> ln = pd.DataFrame({"household_id": ["A", "C"], "programme": ["poor", "near_poor"],
    ...                    "disbursed": pd.to_datetime(["2024-03-01", "2024-05-01"])})
    >>> t = accuracy(hh, ln, year=2024, min_cell=1, cache=None)
    >>> t[t["programme"] == "all"][["eligible", "reached", "coverage", "loans", "inclusion_errors"]].to_dict("records")
    [{'eligible': 2, 'reached': 1, 'coverage': 0.5, 'loans': 2, 'inclusion_errors': 1}]
    """
    by = _as_by(by)
    for reserved in ("loan_year", "review_year", "programme"):
        if reserved in by:
            raise ValueError(f"'by' must not name {reserved!r}: the table is always split by it")
    limit = min_cell_limit(min_cell)
    window = positive_int(newly_escaped_years, "newly_escaped_years")
    require_frame(classified, "classified")
    require_frame(loans, "loans")
    if year is not None and (isinstance(year, bool) or not isinstance(year, numbers.Integral)):
        raise ValueError(f"'year' must be an integer loan year, got {year!r}")
    arguments = dict(by=by, year=None if year is None else int(year), window=window, limit=limit)
    folder = cache_folder(cache)
    if folder is None:
        return _accuracy(classified, loans, **arguments)
    digests = dict(classified=frame_digest(classified), loans=frame_digest(loans))
    key = cache_key(__name__, function="accuracy", **digests, **arguments)
    return cached_result(folder, key, lambda: _accuracy(classified, loans, **arguments), classes=[])


def _accuracy(classified, loans, *, by, year, window, limit) -> pd.DataFrame:
    frame = _with_minority(classified, by)
    require_frame(frame, "classified", by)
    require_complete(frame, by, "classified")
    core = household_panel(frame, window)
    loans = _check_loans(loans)

    review_years = set(np.unique(core.years).tolist())
    loan_year = loans["disbursed"].dt.year.to_numpy().astype(np.int64)
    assessable = np.isin(loan_year, [y + 1 for y in review_years])
    if year is not None:
        if year - 1 not in review_years:
            raise ValueError(
                f"'year' {year}: loans of {year} are judged against the review of {year - 1}, "
                f"which is not in 'classified' (review years: {sorted(review_years)})"
            )
        if not (loan_year == year).any():
            raise ValueError(
                f"'year' {year}: no loans disbursed in {year} in 'loans' "
                f"(loan years: {sorted(set(loan_year.tolist()))})"
            )
        keep_years = [year]
    else:
        first, last = int(loan_year.min()), int(loan_year.max())
        keep_years = sorted(y + 1 for y in review_years if first <= y + 1 <= last)
        if not keep_years:
            raise ValueError(
                f"no loan in 'loans' falls in a year after a review of 'classified' "
                f"(review years: {sorted(review_years)}, loan years: {sorted(set(loan_year.tolist()))})"
            )
    in_scope = np.flatnonzero(np.isin(loan_year, keep_years))
    not_assessed = int((~assessable).sum()) if year is None else int((loan_year != year).sum())

    # Household rows of the reviews that set the lists of the assessed years, and their groups.
    rows = np.flatnonzero(np.isin(core.years + 1, keep_years))
    keys = ["loan_year", *by]
    key_frame = pd.DataFrame({"loan_year": core.years[rows] + 1}, index=pd.RangeIndex(len(rows))).assign(
        **{c: frame[c].iloc[rows].array for c in by}
    )
    gcode = key_frame.groupby(keys, sort=True, observed=True, dropna=False).ngroup().to_numpy()
    n_groups = int(gcode.max()) + 1 if len(gcode) else 0
    groups = key_frame.iloc[np.unique(gcode, return_index=True)[1]].reset_index(drop=True)

    # Each loan's borrower row at the review before it.
    span = int(core.years.max() - core.years.min()) + 2
    y0 = int(core.years.min())
    row_key = core.hid[rows].astype(np.int64) * span + (core.years[rows] - y0)
    loan_hid = core.ids.get_indexer(loans["household_id"].iloc[in_scope])
    loan_key = np.where(loan_hid >= 0, loan_hid.astype(np.int64) * span + (loan_year[in_scope] - 1 - y0), -1)
    match = pd.Index(row_key).get_indexer(loan_key)
    if (match < 0).any():
        j = int(np.flatnonzero(match < 0)[0])
        k = in_scope[j]
        raise ValueError(
            f"'loans' row {to_python(loans.index[k])!r}: household {to_python(loans['household_id'].iloc[k])!r} got a loan "
            f"in {loan_year[k]} but has no row in the review of {loan_year[k] - 1} "
            f"({int((match < 0).sum())} such loans); its eligibility cannot be judged"
        )
    cls = core.cls[rows]
    flags = {"poor": cls == 0, "near_poor": cls == 1, "newly_escaped": core.newly[rows]}
    flags[_ALL] = flags["poor"] | flags["near_poor"] | flags["newly_escaped"]
    borrowed = np.zeros(len(rows), bool)
    borrowed[match] = True
    loan_prog = loans["programme"].astype(str).iloc[in_scope].to_numpy()
    lg = gcode[match]
    blocks = []
    for prog, e in flags.items():
        sel = np.ones(len(match), bool) if prog == _ALL else loan_prog == prog
        eligible_any = flags[_ALL][match[sel]]
        block = groups.copy()
        block["programme"] = prog
        block["eligible"] = np.bincount(gcode, weights=e, minlength=n_groups)
        block["reached"] = np.bincount(gcode, weights=e & borrowed, minlength=n_groups)
        block["loans"] = np.bincount(lg[sel], minlength=n_groups)
        block["inclusion_errors"] = np.bincount(lg[sel], weights=~eligible_any, minlength=n_groups)
        block["other_programme"] = np.bincount(lg[sel], weights=eligible_any & ~e[match[sel]], minlength=n_groups)
        block["_g"] = np.arange(n_groups)
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True)
    counts = ["eligible", "reached", "loans", "inclusion_errors", "other_programme"]
    out[counts] = out[counts].round().astype(np.int64)
    e, r, n = (out[c].to_numpy(dtype=float) for c in ("eligible", "reached", "loans"))
    out["coverage"] = np.divide(r, e, out=np.full(len(out), np.nan), where=e > 0)
    out["exclusion_errors"] = out["eligible"] - out["reached"]
    out["exclusion_rate"] = 1 - out["coverage"]
    out["inclusion_share"] = np.divide(
        out["inclusion_errors"].to_numpy(float), n, out=np.full(len(out), np.nan), where=n > 0
    )
    out["suppressed"] = (out["eligible"] < limit) | ((out["loans"] > 0) & (out["loans"] < limit))
    out["review_year"] = out["loan_year"] - 1
    out = out.sort_values("_g", kind="stable")
    cols = [
        "loan_year",
        "review_year",
        *by,
        "programme",
        "eligible",
        "reached",
        "coverage",
        "exclusion_errors",
        "exclusion_rate",
        "loans",
        "inclusion_errors",
        "inclusion_share",
        "other_programme",
        "suppressed",
    ]
    out = out[cols].reset_index(drop=True)
    out.attrs["loans_not_assessed"] = not_assessed
    return out


# ----------------------------------------------------------------------------- commune table


def commune_table(
    classified: pd.DataFrame,
    *,
    review_year: int,
    scores: pd.DataFrame | None = None,
    threshold: float | None = None,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """The inputs of the priority index, one row per commune at one review.

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.data.pipeline.classify_panel` (``commune_code``,
        ``review_year``, ``area``, ``income_pc``, ``size``, ``ethnicity``, ``poverty_class``).
    review_year : int
        The review to describe.
    scores : DataFrame, optional
        Fall-back risk scores of that review (:meth:`povanalysis.targeting.risk.FallbackModel.score`);
        without them ``at_risk_share`` is missing.
    threshold : float, optional
        Probability from which a household counts as at risk (default
        :data:`povanalysis.targeting.risk.DEFAULT_RISK_THRESHOLD`).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    DataFrame
        ``commune_code``, ``name``, ``households``, ``poor``, ``poor_rate``, ``fgt1`` (income
        poverty gap index FGT1, from :func:`povanalysis.measure.indicators.fgt` with each household's
        own line), ``minority_share`` (ethnic-minority share of households), ``at_risk``,
        ``at_risk_share`` (households at risk of falling back, as a share of all
        households), ``suppressed``.

    Examples
    --------
    >>> hh = pd.DataFrame({"commune_code": ["01840"] * 2 + ["01843"] * 2, "review_year": [2024] * 4,
    ...                    "area": ["rural"] * 4, "income_pc": [750_000, 3e6, 1.5e6, 3e6], "size": [4] * 4,
    ...                    "ethnicity": ["Tày", "Kinh", "Kinh", "Kinh"],
    ...                    "poverty_class": ["poor", "not_poor", "poor", "not_poor"]})
    >>> commune_table(hh, review_year=2024, min_cell=1)[["poor_rate", "fgt1", "minority_share"]].to_dict("list")
    {'poor_rate': [0.5, 0.5], 'fgt1': [0.25, 0.0], 'minority_share': [0.5, 0.0]}
    """
    from ..data import registry
    from ..measure.aggregates import poverty_counts
    from ..measure.indicators import fgt

    require_frame(
        classified,
        "classified",
        ["commune_code", "review_year", "area", "income_pc", "size", "ethnicity", "poverty_class"],
    )
    years = review_years(classified, "classified")
    if review_year not in set(years.tolist()):
        raise ValueError(
            f"'review_year' {review_year!r} is not in 'classified' (review years: {sorted(set(years.tolist()))})"
        )
    limit = min_cell_limit(min_cell)
    rows = classified[years == review_year]
    class_codes(rows, "classified")
    table = poverty_counts(
        rows.assign(poverty_class=rows["poverty_class"].astype(str)), by=["commune_code"], min_cell=limit
    )
    minority = (rows["ethnicity"] != ETHNIC_MAJORITY).groupby(rows["commune_code"].to_numpy()).mean()
    table["minority_share"] = table["commune_code"].map(minority).to_numpy(dtype=float)
    work = pd.DataFrame(
        {
            "commune_code": rows["commune_code"].to_numpy(),
            "income_pc": rows["income_pc"].to_numpy(dtype=float),
            "line": income_line(rows),
        }
    )
    depth = fgt("income_pc", line="line", alpha=1, by="commune_code", data=work)
    depth = depth[depth["commune_code"].notna()].set_index("commune_code")["value"]
    table["fgt1"] = table["commune_code"].map(depth).to_numpy(dtype=float)
    if scores is not None:
        sc = scores[scores["review_year"] == review_year] if "review_year" in scores.columns else scores
        limit_p = DEFAULT_RISK_THRESHOLD if threshold is None else threshold
        risk = at_risk_counts(sc, by="commune_code", threshold=limit_p, min_cell=limit).set_index("commune_code")
        table["at_risk"] = table["commune_code"].map(risk["at_risk"]).fillna(0).astype(np.int64).to_numpy()
        table["at_risk_share"] = table["at_risk"] / table["households"]
    else:
        table["at_risk"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["at_risk_share"] = np.nan
    names = registry.units().set_index("commune_code")["name"]
    table["name"] = table["commune_code"].map(names)
    table["review_year"] = review_year
    cols = [
        "commune_code",
        "name",
        "review_year",
        "households",
        "poor",
        "poor_rate",
        "fgt1",
        "minority_share",
        "at_risk",
        "at_risk_share",
        "suppressed",
    ]
    return table[cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- priority index


def _weights(table: pd.DataFrame, weights) -> tuple[list[str], np.ndarray]:
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"'weights' must be a non-empty mapping of column to weight, got {weights!r}")
    names = list(weights)
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise ValueError(f"'weights' names columns that 'commune_table' lacks: {missing}")
    values = []
    for key, value in weights.items():
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
        if not ok:
            raise ValueError(f"weights[{key!r}] must be a non-negative finite number, got {value!r}")
        values.append(float(value))
    w = np.asarray(values)
    if w.sum() <= 0:
        raise ValueError(f"'weights' must have a positive sum, got {weights!r}")
    return names, w / w.sum()


def _components(table: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows ranked (not suppressed) and their min–max scaled components in [0, 1]."""
    if "commune_code" not in table.columns:
        raise ValueError("'commune_table' lacks the column 'commune_code'")
    ranked = ~table["suppressed"].to_numpy(dtype=bool) if "suppressed" in table.columns else np.ones(len(table), bool)
    x = np.column_stack([pd.to_numeric(table[c], errors="raise").to_numpy(dtype=float, na_value=np.nan) for c in names])
    bad = ranked[:, None] & ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"column {to_python(names[j])!r} of 'commune_table' must be a finite number for every ranked "
            f"commune, got {to_python(x[i, j])!r} at row {to_python(table.index[i])!r} "
            f"(commune {to_python(table['commune_code'].iloc[i])!r})"
        )
    if not ranked.any():
        raise ValueError("every row of 'commune_table' is suppressed: nothing to rank")
    sub = x[ranked]
    lo, hi = sub.min(axis=0), sub.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.where(hi > lo, (x - lo) / span, 0.0)
    return ranked, scaled


def priority_index(commune_table: pd.DataFrame, *, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> pd.DataFrame:
    """A transparent commune priority index: a weighted sum of min–max scaled indicators, ranked.

    Each component ``x_k`` is scaled to ``s_k = (x_k − min) / (max − min)`` over the ranked
    communes (1 for the neediest, 0 for the least needy; a component equal everywhere
    scores 0), and ``index = Σ w_k s_k`` with the weights normalised to sum to 1, so the
    index lies in [0, 1] and ``<k>_contribution = w_k s_k`` shows what drives it.  Rank 1
    is the highest priority (ties share the best rank).  Suppressed communes (column
    ``suppressed``) are not ranked.  The min–max scaling makes the ranking invariant to
    the units of each component.

    Parameters
    ----------
    commune_table : DataFrame
        One row per commune with ``commune_code`` and the weighted columns, e.g. from
        :func:`commune_table`.
    weights : mapping, default :data:`DEFAULT_WEIGHTS`
        Column → non-negative weight (poverty rate, depth FGT1, number of poor,
        ethnic-minority share, share at risk of falling back).  Pass weights without
        ``at_risk_share`` when no risk scores are at hand.

    Returns
    -------
    DataFrame
        The table's columns, then ``<k>_score`` and ``<k>_contribution`` per component,
        ``index`` and ``rank`` (nullable integer), sorted by rank.

    References
    ----------
    OECD/JRC (2008). *Handbook on Constructing Composite Indicators*. OECD Publishing.
    doi:10.1787/9789264043466-en (min–max normalisation, weighting, sensitivity).

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["a", "b", "c"], "poor_rate": [0.1, 0.3, 0.2], "poor": [50, 10, 30]})
    >>> out = priority_index(t, weights={"poor_rate": 0.5, "poor": 0.5})
    >>> out[["commune_code", "index", "rank"]].to_dict("list")
    {'commune_code': ['a', 'b', 'c'], 'index': [0.5, 0.5, 0.5], 'rank': [1, 1, 1]}
    >>> priority_index(t, weights={"poor_rate": 0.8, "poor": 0.2})["commune_code"].tolist()
    ['b', 'c', 'a']
    """
    names, w = _weights(commune_table, weights)
    ranked, scaled = _components(commune_table, names)
    out = commune_table.copy()
    for j, name in enumerate(names):
        out[f"{name}_score"] = np.where(ranked, scaled[:, j], np.nan)
        out[f"{name}_contribution"] = np.where(ranked, w[j] * scaled[:, j], np.nan)
    index = np.where(ranked, scaled @ w, np.nan)
    out["index"] = index
    rank = pd.Series(index).rank(ascending=False, method="min").to_numpy()
    out["rank"] = pd.array(np.where(ranked, rank, np.nan), dtype="Float64").astype("Int64")
    return out.sort_values(["rank", "commune_code"], kind="stable", na_position="last").reset_index(drop=True)


@dataclass
class RankSensitivity:
    """Stability of the priority ranking under random weights (what :func:`rank_sensitivity` returns).

    Attributes
    ----------
    ranks : DataFrame
        One row per ranked commune: ``commune_code`` (and ``name``), ``rank`` (default
        weights), ``rank_median``, ``rank_p05``, ``rank_p95``, ``rank_min``, ``rank_max``
        and ``share_top`` (share of draws in which it ranks within the top ``top``).
    spearman : ndarray
        Spearman correlation between the default ranking and each draw's ranking.
    weights_drawn : DataFrame
        The drawn weights, one row per draw.
    weights : dict
        The default (normalised) weights.
    concentration, n_draws, seed, top
        The settings.
    """

    ranks: pd.DataFrame
    spearman: np.ndarray
    weights_drawn: pd.DataFrame = field(repr=False)
    weights: dict
    concentration: float
    n_draws: int
    seed: int
    top: int

    def to_frame(self) -> pd.DataFrame:
        """The per-commune rank ranges (:attr:`ranks`)."""
        return self.ranks.copy()

    def summary(self) -> str:
        """A short text account of the sensitivity."""
        q = np.quantile(self.spearman, [0.05, 0.5])
        stable = self.ranks["share_top"].ge(0.9).sum()
        in_top = int((self.ranks["rank"] <= self.top).sum())
        return "\n".join(
            [
                f"Rank sensitivity over {self.n_draws} Dirichlet weight draws (concentration {self.concentration:g}, "
                f"seed {self.seed}):",
                "  default weights: " + ", ".join(f"{k} {v:.2f}" for k, v in self.weights.items()),
                f"  Spearman correlation with the default ranking: median {q[1]:.3f}, 5th percentile {q[0]:.3f}, "
                f"minimum {self.spearman.min():.3f}",
                f"  {int(stable)} of the {in_top} communes in the default top {self.top} stay in the top {self.top} "
                "in at least 90% of draws",
                f"  median width of the 5%–95% rank range: "
                f"{float((self.ranks['rank_p95'] - self.ranks['rank_p05']).median()):g} places",
            ]
        )


def rank_sensitivity(
    commune_table: pd.DataFrame,
    *,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    n_draws: int = 1000,
    concentration: float = 20.0,
    seed: int = 0,
    top: int = 10,
) -> RankSensitivity:
    """How much the priority ranking moves when the weights change.

    Weights are drawn from a Dirichlet distribution centred on the default weights,
    ``w ~ Dirichlet(concentration · w0)`` (components with zero weight stay at zero); each
    draw re-ranks the communes with the same scaled components as :func:`priority_index`.
    A larger ``concentration`` keeps draws closer to ``w0`` (with ``concentration = 20``
    and five components of 0.2, each weight has a standard deviation of about 0.087).

    Parameters
    ----------
    commune_table : DataFrame
        As for :func:`priority_index`.
    weights : mapping, default :data:`DEFAULT_WEIGHTS`
    n_draws : int, default 1000
    concentration : float, default 20
        Positive Dirichlet concentration.
    seed : int, default 0
    top : int, default 10
        Size of the top group for ``share_top``.

    Returns
    -------
    RankSensitivity

    References
    ----------
    Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and sensitivity
    analysis techniques as tools for the quality assessment of composite indicators.
    *J. R. Stat. Soc. A* 168(2): 307–323. doi:10.1111/j.1467-985X.2005.00350.x

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["a", "b", "c"], "poor_rate": [0.1, 0.3, 0.2], "poor": [10, 30, 20]})
    >>> res = rank_sensitivity(t, weights={"poor_rate": 1, "poor": 1}, n_draws=50, top=1)
    >>> res.ranks[["commune_code", "rank", "rank_min", "rank_max"]].to_dict("list")
    {'commune_code': ['b', 'c', 'a'], 'rank': [1, 2, 3], 'rank_min': [1, 2, 3], 'rank_max': [1, 2, 3]}
    >>> float(res.spearman.min())
    1.0
    """
    from scipy.stats import rankdata

    names, w = _weights(commune_table, weights)
    n_draws = positive_int(n_draws, "n_draws")
    top = positive_int(top, "top")
    ok = isinstance(concentration, numbers.Real) and not isinstance(concentration, bool)
    if not ok or not np.isfinite(concentration) or concentration <= 0:
        raise ValueError(f"'concentration' must be a positive number, got {concentration!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"'seed' must be an integer, got {seed!r}")
    ranked, scaled = _components(commune_table, names)
    x = scaled[ranked]
    active = w > 0
    rng = np.random.default_rng(seed)
    draws = np.zeros((n_draws, len(w)))
    draws[:, active] = rng.dirichlet(concentration * w[active], size=n_draws)
    base = rankdata(-(x @ w), method="min")
    ranks = rankdata(-(draws @ x.T), method="min", axis=1)
    # Spearman: Pearson correlation of the rank vectors.
    bc = base - base.mean()
    rc = ranks - ranks.mean(axis=1, keepdims=True)
    denom = np.sqrt((bc**2).sum() * (rc**2).sum(axis=1))
    spearman = np.divide(rc @ bc, denom, out=np.ones(n_draws), where=denom > 0)
    sub = commune_table.loc[ranked, [c for c in ("commune_code", "name") if c in commune_table.columns]]
    out = sub.reset_index(drop=True)
    out["rank"] = base.astype(np.int64)
    out["rank_median"] = np.median(ranks, axis=0)
    out["rank_p05"] = np.quantile(ranks, 0.05, axis=0)
    out["rank_p95"] = np.quantile(ranks, 0.95, axis=0)
    out["rank_min"] = ranks.min(axis=0).astype(np.int64)
    out["rank_max"] = ranks.max(axis=0).astype(np.int64)
    out["share_top"] = (ranks <= top).mean(axis=0)
    out = out.sort_values(["rank", "commune_code"], kind="stable").reset_index(drop=True)
    return RankSensitivity(
        ranks=out,
        spearman=spearman,
        weights_drawn=pd.DataFrame(draws, columns=names),
        weights=dict(zip(names, w.tolist())),
        concentration=float(concentration),
        n_draws=n_draws,
        seed=int(seed),
        top=top,
    )


# ----------------------------------------------------------------------------- publishing


def mask_suppressed(table: pd.DataFrame, *, keep: Sequence[str] = ()) -> pd.DataFrame:
    """A copy fit for publication: every number of a ``suppressed`` row is blanked (missing).

    Columns that are not numeric (codes, names), boolean flags and the ``keep`` columns
    (e.g. ``review_year``) are left as they are.

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["a", "b"], "review_year": [2025, 2025], "households": [40, 3],
    ...                   "poor_rate": [0.1, 0.6], "suppressed": [False, True]})
    >>> mask_suppressed(t, keep=["review_year"])["households"].tolist()
    [40, <NA>]
    """
    require_frame(table, "table", ["suppressed"])
    out = table.copy()
    hide = out["suppressed"].to_numpy(dtype=bool)
    for col in out.columns:
        dtype = out[col].dtype
        if col in keep or col == "suppressed" or pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_integer_dtype(dtype):
            out[col] = out[col].astype("Int64").mask(hide)
        elif pd.api.types.is_float_dtype(dtype):
            out[col] = out[col].mask(hide)
    return out
