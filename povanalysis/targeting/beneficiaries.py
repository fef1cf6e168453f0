"""Who should receive policy credit, who does, and which communes come first: eligibility, accuracy, priorities."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import config
from ..figures.charts import FONT, PALETTE
from ..common.labels import check_lang, format_number, format_percent, label, pick
from ..data.schema import ETHNIC_MAJORITY, PROGRAMMES
from ..measure.standards import CLASSES, get_standard, standard_for_review

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
    "accuracy_text",
    "priority_text",
    "coverage_figure",
    "priority_figure",
]

#: A household that left the poor or near-poor lists at most this many years ago is
#: "newly escaped" (Decision 28/2015/QĐ-TTg, extended by Decision 2/QĐ-TTg of 2021).
NEWLY_ESCAPED_YEARS = 3

#: Default weights of the commune priority index (:func:`priority_index`).  They are an
#: analytic choice, not an official rule: poverty incidence and depth weigh most, the
#: number of poor households brings scale, the ethnic-minority share and the share at
#: risk of falling back bring the province's equity and "lasting exit" aims.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "poor_rate": 0.30,
    "fgt1": 0.20,
    "poor": 0.20,
    "minority_share": 0.15,
    "at_risk_share": 0.15,
})

_LISTED = ("poor", "near_poor")
_ALL = "all"

_TEXT = MappingProxyType({
    "coverage": ("Tỷ lệ hộ đủ điều kiện được vay", "Coverage of eligible households"),
    "exclusion_rate": ("Tỷ lệ hộ đủ điều kiện chưa được vay", "Exclusion rate (eligible, not reached)"),
    "inclusion_share": ("Tỷ lệ khoản vay cho hộ không đủ điều kiện", "Share of loans to ineligible households"),
    "eligible": ("Hộ đủ điều kiện", "Eligible households"),
    "reached": ("Hộ đủ điều kiện đã được vay", "Eligible households reached"),
    "all": ("Mọi chương trình", "All programmes"),
    "prog_poor": ("Cho vay hộ nghèo", "Loans to poor households"),
    "prog_near_poor": ("Cho vay hộ cận nghèo", "Loans to near-poor households"),
    "prog_newly_escaped": ("Cho vay hộ mới thoát nghèo", "Loans to newly escaped households"),
    "rank": ("Thứ hạng ưu tiên", "Priority rank"),
    "priority_title": ("Xếp hạng ưu tiên xã, phường", "Commune priority ranking"),
    "band": ("Khoảng thứ hạng khi thay đổi trọng số (5%–95%)", "Rank range under weight changes (5%–95%)"),
    "base_rank": ("Thứ hạng với trọng số mặc định", "Rank with the default weights"),
    "loans_year": ("khoản vay năm", "loans disbursed in"),
})


def _text(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


# ----------------------------------------------------------------------------- validation


def _py(value):
    """A numpy scalar as the plain Python value, for readable error messages."""
    return value.item() if isinstance(value, np.generic) else value


def _require(frame, columns, arg: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{arg!r} should be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{arg!r} lacks the columns {missing}")


def _no_missing(frame: pd.DataFrame, columns, arg: str) -> None:
    for col in columns:
        bad = frame[col].isna().to_numpy()
        if bad.any():
            row = frame.index[np.flatnonzero(bad)[0]]
            raise ValueError(f"column {col!r} of {arg!r} has {int(bad.sum())} missing values "
                             f"(first at row {_py(row)!r})")


def _classes(frame: pd.DataFrame, arg: str) -> np.ndarray:
    """Poverty class codes 0..3 (poor, near_poor, average_living, not_poor), validated."""
    _no_missing(frame, ["poverty_class"], arg)
    codes, uniques = pd.factorize(frame["poverty_class"], sort=False)
    lookup = pd.Index(list(CLASSES)).get_indexer(pd.Index(uniques).astype(str))
    if (lookup < 0).any():
        bad = int(np.flatnonzero(lookup < 0)[0])
        i = int(np.flatnonzero(codes == bad)[0])
        raise ValueError(f"column 'poverty_class' of {arg!r} must be one of {list(CLASSES)}, "
                         f"got {_py(frame['poverty_class'].iloc[i])!r} at row {_py(frame.index[i])!r}")
    return lookup[codes].astype(np.int8)


def _check_years(frame: pd.DataFrame, arg: str) -> np.ndarray:
    if not pd.api.types.is_integer_dtype(frame["review_year"].dtype):
        raise ValueError(f"column 'review_year' of {arg!r} must hold integers, got dtype {frame['review_year'].dtype}")
    return frame["review_year"].to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class _Panel:
    """Integer views of a household-year panel: what eligibility, accuracy and the risk model share."""

    hid: np.ndarray          # household code of each row
    ids: pd.Index            # household_id of each code
    years: np.ndarray        # review year of each row
    cls: np.ndarray          # class code of each row (0 poor .. 3 not poor)
    last_listed: np.ndarray  # latest review <= this one at which the household was listed (NaN if none)
    newly: np.ndarray        # newly escaped at this review
    prev: np.ndarray         # row of the household's previous review (-1 if none)
    next: np.ndarray         # row of the household's next review (-1 if none)


def _panel(classified: pd.DataFrame, window: int, arg: str = "classified") -> _Panel:
    _require(classified, ["household_id", "review_year", "commune_code", "poverty_class"], arg)
    _no_missing(classified, ["household_id", "review_year", "commune_code"], arg)
    years = _check_years(classified, arg)
    cls = _classes(classified, arg)
    hid, ids = pd.factorize(classified["household_id"])
    order = np.lexsort((years, hid))
    h, y = hid[order], years[order]
    same = np.r_[False, (h[1:] == h[:-1])]
    dup = same & np.r_[False, y[1:] == y[:-1]]
    if dup.any():
        i = int(order[np.flatnonzero(dup)[0]])
        raise ValueError(f"{arg!r} has {int(dup.sum())} duplicate (household_id, review_year) rows "
                         f"(first at row {_py(classified.index[i])!r}, review year {_py(years[i])})")
    listed = cls[order] <= 1
    # Latest listed review so far within each household: a running maximum restarted per household.
    stamp = np.where(listed, y, -1).astype(np.int64)
    start = np.flatnonzero(~same)
    run = np.maximum.accumulate(np.where(listed, np.arange(len(y)), -1))
    first_of_group = np.repeat(start, np.diff(np.r_[start, len(y)]))
    last_sorted = np.where(run >= first_of_group, stamp[np.maximum(run, 0)], -1)
    last = np.empty(len(y))
    last[order] = np.where(last_sorted >= 0, last_sorted, np.nan)
    newly = (cls >= 2) & ((years - last) <= window)  # NaN compares False
    prev = np.full(len(y), -1, dtype=np.int64)
    nxt = np.full(len(y), -1, dtype=np.int64)
    prev[order[1:][same[1:]]] = order[:-1][same[1:]]
    nxt[order[:-1][same[1:]]] = order[1:][same[1:]]
    return _Panel(hid=hid, ids=pd.Index(ids), years=years, cls=cls, last_listed=last, newly=newly, prev=prev, next=nxt)


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name!r} must be a positive integer, got {value!r}")
    return int(value)


def _min_cell(min_cell) -> int:
    limit = config.MIN_CELL if min_cell is None else min_cell
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise ValueError(f"'min_cell' must be a positive integer, got {min_cell!r}")
    return int(limit)


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


def _income_line(frame: pd.DataFrame) -> np.ndarray:
    """The income line (VND/person/month) of each row: its standard (column ``standard`` or
    the one its ``review_year`` uses) and its ``area``."""
    if "standard" in frame.columns:
        keys = frame["standard"].astype(str).to_numpy()
    else:
        years = frame["review_year"].to_numpy()
        uniq = np.unique(years)
        keys = pd.Series(years).map({y: standard_for_review(y) for y in uniq}).to_numpy()
    area = frame["area"].astype(str).to_numpy()
    out = np.full(len(frame), np.nan)
    for key in np.unique(keys):
        std = get_standard(key)
        for a, value in std.income_line.items():
            out[(keys == key) & (area == a)] = value
    bad = np.isnan(out)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"column 'area' must be 'rural' or 'urban', got {_py(area[i])!r} "
                         f"at row {_py(frame.index[i])!r}")
    return out


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
    window = _check_positive_int(newly_escaped_years, "newly_escaped_years")
    if not isinstance(classified, pd.DataFrame):
        raise TypeError(f"'classified' should be a DataFrame, got {type(classified).__name__}")
    core = _panel(classified, window)
    cls, years, newly = core.cls, core.years, core.newly
    poor, near = cls == 0, cls == 1
    programme = np.select([poor, near, newly], list(PROGRAMMES), default=None)
    last = pd.array(core.last_listed, dtype="Float64").astype("Int64")
    out = pd.DataFrame({
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
    }, index=classified.index)
    return out


# ----------------------------------------------------------------------------- accuracy


def _check_loans(loans: pd.DataFrame) -> pd.DataFrame:
    _require(loans, ["household_id", "programme", "disbursed"], "loans")
    _no_missing(loans, ["household_id", "programme", "disbursed"], "loans")
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"].dtype):
        raise ValueError(f"column 'disbursed' of 'loans' must hold dates (datetime64), "
                         f"got dtype {loans['disbursed'].dtype}")
    prog = loans["programme"].astype(str)
    bad = ~prog.isin(PROGRAMMES).to_numpy()
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"column 'programme' of 'loans' must be one of {list(PROGRAMMES)}, "
                         f"got {_py(prog.iloc[i])!r} at row {_py(loans.index[i])!r}")
    return loans


def accuracy(classified: pd.DataFrame, loans: pd.DataFrame, *, by: Sequence[str] = ("commune_code",),
             year: int | None = None, newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
             min_cell: int | None = None) -> pd.DataFrame:
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
    >>> t = accuracy(hh, ln, year=2024, min_cell=1)
    >>> t[t["programme"] == "all"][["eligible", "reached", "coverage", "loans", "inclusion_errors"]].to_dict("records")
    [{'eligible': 2, 'reached': 1, 'coverage': 0.5, 'loans': 2, 'inclusion_errors': 1}]
    """
    by = _as_by(by)
    for reserved in ("loan_year", "review_year", "programme"):
        if reserved in by:
            raise ValueError(f"'by' must not name {reserved!r}: the table is always split by it")
    limit = _min_cell(min_cell)
    window = _check_positive_int(newly_escaped_years, "newly_escaped_years")
    if not isinstance(classified, pd.DataFrame):
        raise TypeError(f"'classified' should be a DataFrame, got {type(classified).__name__}")
    frame = _with_minority(classified, by)
    _require(frame, by, "classified")
    _no_missing(frame, by, "classified")
    core = _panel(frame, window)
    loans = _check_loans(loans)

    review_years = set(np.unique(core.years).tolist())
    loan_year = loans["disbursed"].dt.year.to_numpy().astype(np.int64)
    assessable = np.isin(loan_year, [y + 1 for y in review_years])
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, numbers.Integral):
            raise ValueError(f"'year' must be an integer loan year, got {year!r}")
        if year - 1 not in review_years:
            raise ValueError(f"'year' {year}: loans of {year} are judged against the review of {year - 1}, "
                             f"which is not in 'classified' (review years: {sorted(review_years)})")
        if not (loan_year == year).any():
            raise ValueError(f"'year' {year}: no loans disbursed in {year} in 'loans' "
                             f"(loan years: {sorted(set(loan_year.tolist()))})")
        keep_years = [year]
    else:
        first, last = int(loan_year.min()), int(loan_year.max())
        keep_years = sorted(y + 1 for y in review_years if first <= y + 1 <= last)
        if not keep_years:
            raise ValueError(f"no loan in 'loans' falls in a year after a review of 'classified' "
                             f"(review years: {sorted(review_years)}, loan years: {sorted(set(loan_year.tolist()))})")
    in_scope = np.flatnonzero(np.isin(loan_year, keep_years))
    not_assessed = int((~assessable).sum()) if year is None else int((loan_year != year).sum())

    # Household rows of the reviews that set the lists of the assessed years, and their groups.
    rows = np.flatnonzero(np.isin(core.years + 1, keep_years))
    keys = ["loan_year", *by]
    key_frame = pd.DataFrame({"loan_year": core.years[rows] + 1},
                             index=pd.RangeIndex(len(rows))).assign(**{c: frame[c].iloc[rows].array for c in by})
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
            f"'loans' row {_py(loans.index[k])!r}: household {_py(loans['household_id'].iloc[k])!r} got a loan "
            f"in {loan_year[k]} but has no row in the review of {loan_year[k] - 1} "
            f"({int((match < 0).sum())} such loans); its eligibility cannot be judged")
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
    out["inclusion_share"] = np.divide(out["inclusion_errors"].to_numpy(float), n,
                                       out=np.full(len(out), np.nan), where=n > 0)
    out["suppressed"] = (out["eligible"] < limit) | ((out["loans"] > 0) & (out["loans"] < limit))
    out["review_year"] = out["loan_year"] - 1
    out = out.sort_values("_g", kind="stable")
    cols = ["loan_year", "review_year", *by, "programme", "eligible", "reached", "coverage", "exclusion_errors",
            "exclusion_rate", "loans", "inclusion_errors", "inclusion_share", "other_programme", "suppressed"]
    out = out[cols].reset_index(drop=True)
    out.attrs["loans_not_assessed"] = not_assessed
    return out


# ----------------------------------------------------------------------------- commune table


def commune_table(classified: pd.DataFrame, *, review_year: int, scores: pd.DataFrame | None = None,
                  threshold: float | None = None, min_cell: int | None = None) -> pd.DataFrame:
    """The inputs of the priority index, one row per commune at one review.

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.data.pipeline.classify_panel` (``commune_code``,
        ``review_year``, ``area``, ``income_pc``, ``size``, ``ethnicity``, ``poverty_class``).
    review_year : int
        The review to describe.
    scores : DataFrame, optional
        Fall-back risk scores of that review (:meth:`povanalysis.targeting.beneficiaries.risk.FallbackModel.score`);
        without them ``at_risk_share`` is missing.
    threshold : float, optional
        Probability from which a household counts as at risk (default
        :data:`povanalysis.targeting.beneficiaries.risk.DEFAULT_RISK_THRESHOLD`).
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

    _require(classified, ["commune_code", "review_year", "area", "income_pc", "size", "ethnicity", "poverty_class"],
             "classified")
    years = _check_years(classified, "classified")
    if review_year not in set(years.tolist()):
        raise ValueError(f"'review_year' {review_year!r} is not in 'classified' "
                         f"(review years: {sorted(set(years.tolist()))})")
    limit = _min_cell(min_cell)
    rows = classified[years == review_year]
    _classes(rows, "classified")
    table = poverty_counts(rows.assign(poverty_class=rows["poverty_class"].astype(str)), by=["commune_code"],
                           min_cell=limit)
    minority = (rows["ethnicity"] != ETHNIC_MAJORITY).groupby(rows["commune_code"].to_numpy()).mean()
    table["minority_share"] = table["commune_code"].map(minority).to_numpy(dtype=float)
    work = pd.DataFrame({"commune_code": rows["commune_code"].to_numpy(),
                         "income_pc": rows["income_pc"].to_numpy(dtype=float), "line": _income_line(rows)})
    depth = fgt("income_pc", line="line", alpha=1, by="commune_code", data=work)
    depth = depth[depth["commune_code"].notna()].set_index("commune_code")["value"]
    table["fgt1"] = table["commune_code"].map(depth).to_numpy(dtype=float)
    if scores is not None:
        from .risk import at_risk_counts

        sc = scores[scores["review_year"] == review_year] if "review_year" in scores.columns else scores
        risk = at_risk_counts(sc, by="commune_code", **({} if threshold is None else {"threshold": threshold}),
                              min_cell=limit).set_index("commune_code")
        table["at_risk"] = table["commune_code"].map(risk["at_risk"]).fillna(0).astype(np.int64).to_numpy()
        table["at_risk_share"] = table["at_risk"] / table["households"]
    else:
        table["at_risk"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["at_risk_share"] = np.nan
    names = registry.units().set_index("commune_code")["name"]
    table["name"] = table["commune_code"].map(names)
    table["review_year"] = review_year
    cols = ["commune_code", "name", "review_year", "households", "poor", "poor_rate", "fgt1", "minority_share",
            "at_risk", "at_risk_share", "suppressed"]
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
    x = np.column_stack([pd.to_numeric(table[c], errors="raise").to_numpy(dtype=float, na_value=np.nan)
                         for c in names])
    bad = ranked[:, None] & ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"column {_py(names[j])!r} of 'commune_table' must be a finite number for every ranked "
                         f"commune, got {_py(x[i, j])!r} at row {_py(table.index[i])!r} "
                         f"(commune {_py(table['commune_code'].iloc[i])!r})")
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
        return "\n".join([
            f"Rank sensitivity over {self.n_draws} Dirichlet weight draws (concentration {self.concentration:g}, "
            f"seed {self.seed}):",
            "  default weights: " + ", ".join(f"{k} {v:.2f}" for k, v in self.weights.items()),
            f"  Spearman correlation with the default ranking: median {q[1]:.3f}, 5th percentile {q[0]:.3f}, "
            f"minimum {self.spearman.min():.3f}",
            f"  {int(stable)} of the {in_top} communes in the default top {self.top} stay in the top {self.top} "
            "in at least 90% of draws",
            f"  median width of the 5%–95% rank range: "
            f"{float((self.ranks['rank_p95'] - self.ranks['rank_p05']).median()):g} places",
        ])


def rank_sensitivity(commune_table: pd.DataFrame, *, weights: Mapping[str, float] = DEFAULT_WEIGHTS,
                     n_draws: int = 1000, concentration: float = 20.0, seed: int = 0,
                     top: int = 10) -> RankSensitivity:
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
    n_draws = _check_positive_int(n_draws, "n_draws")
    top = _check_positive_int(top, "top")
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
    return RankSensitivity(ranks=out, spearman=spearman, weights_drawn=pd.DataFrame(draws, columns=names),
                           weights=dict(zip(names, w.tolist())), concentration=float(concentration),
                           n_draws=n_draws, seed=int(seed), top=top)


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
    _require(table, ["suppressed"], "table")
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


def _pct(value: float, lang: str, digits: int = 1) -> str:
    return format_percent(value, lang, digits=digits)


def _num(value: float, lang: str) -> str:
    return format_number(value, lang)


def accuracy_text(province: pd.DataFrame, minority: pd.DataFrame | None = None, *, year: int,
                  lang: str = "vi") -> str:
    """Two sentences on the coverage, exclusion and inclusion errors of one loan year.

    Parameters
    ----------
    province : DataFrame
        :func:`accuracy` with ``by=()`` (province totals).
    minority : DataFrame, optional
        :func:`accuracy` with ``by=("minority",)``; adds the coverage of ethnic-minority
        and Kinh households.
    year : int
        Loan year.
    lang : {"vi", "en"}

    Examples
    --------
    >>> t = pd.DataFrame({"loan_year": [2025], "programme": ["all"], "eligible": [200], "reached": [50],
    ...                   "coverage": [0.25], "exclusion_errors": [150], "loans": [60], "inclusion_errors": [10],
    ...                   "inclusion_share": [1 / 6], "suppressed": [False]})
    >>> accuracy_text(t, year=2025, lang="en")
    'Of the 200 households eligible at the 2024 review, 50 got a loan in 2025 (coverage 25.0%); 150 eligible households were not reached. 10 of the 60 loans (16.7%) went to households that were not eligible.'
    """
    check_lang(lang)
    _require(province, ["loan_year", "programme", "eligible", "reached", "coverage", "exclusion_errors", "loans",
                        "inclusion_errors", "inclusion_share", "suppressed"], "province")
    rows = province[(province["loan_year"] == year) & (province["programme"] == _ALL)]
    if len(rows) != 1:
        raise ValueError(f"'province' must hold one 'all' row for loan year {year} (pass by=() to accuracy), "
                         f"got {len(rows)}")
    r = rows.iloc[0]
    if r["suppressed"]:
        return ("Số liệu năm {y} không công bố (dưới ngưỡng số hộ)." if lang == "vi"
                else "The figures for {y} are suppressed (too few households).").format(y=year)
    if lang == "vi":
        text = (f"Trong {_num(r['eligible'], lang)} hộ đủ điều kiện theo kết quả rà soát năm {year - 1}, "
                f"{_num(r['reached'], lang)} hộ được vay vốn trong năm {year} (độ bao phủ {_pct(r['coverage'], lang)}); "
                f"{_num(r['exclusion_errors'], lang)} hộ đủ điều kiện chưa được vay. "
                f"{_num(r['inclusion_errors'], lang)} trong {_num(r['loans'], lang)} khoản vay "
                f"({_pct(r['inclusion_share'], lang)}) đến hộ không đủ điều kiện.")
    else:
        text = (f"Of the {_num(r['eligible'], lang)} households eligible at the {year - 1} review, "
                f"{_num(r['reached'], lang)} got a loan in {year} (coverage {_pct(r['coverage'], lang)}); "
                f"{_num(r['exclusion_errors'], lang)} eligible households were not reached. "
                f"{_num(r['inclusion_errors'], lang)} of the {_num(r['loans'], lang)} loans "
                f"({_pct(r['inclusion_share'], lang)}) went to households that were not eligible.")
    if minority is not None:
        _require(minority, ["loan_year", "programme", "minority", "coverage", "suppressed"], "minority")
        m = minority[(minority["loan_year"] == year) & (minority["programme"] == _ALL)].set_index("minority")
        if set(m.index) == {True, False} and not m["suppressed"].any():
            a, b = _pct(m.loc[True, "coverage"], lang), _pct(m.loc[False, "coverage"], lang)
            text += (f" Độ bao phủ ở hộ dân tộc thiểu số là {a}, ở hộ dân tộc Kinh là {b}." if lang == "vi"
                     else f" Coverage was {a} among ethnic-minority households and {b} among Kinh households.")
    return text


def priority_text(index: pd.DataFrame, sensitivity: RankSensitivity | None = None, *, n: int = 5,
                  lang: str = "vi") -> str:
    """The communes at the top of the priority ranking, and how stable the ranking is.

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["01840", "01843"], "poor_rate": [0.1, 0.3]})
    >>> priority_text(priority_index(t, weights={"poor_rate": 1}), n=1, lang="en")
    'Highest priority: Phường Bắc Kạn.'
    """
    check_lang(lang)
    _require(index, ["commune_code", "rank"], "index")
    n = _check_positive_int(n, "n")
    head = index[index["rank"].notna()].sort_values(["rank", "commune_code"], kind="stable").head(n)
    names = ", ".join(_names(head["commune_code"]))
    text = f"Ưu tiên cao nhất: {names}." if lang == "vi" else f"Highest priority: {names}."
    if sensitivity is not None:
        q = np.quantile(sensitivity.spearman, [0.05, 0.5])
        top = sensitivity.top
        stay = int((sensitivity.ranks.loc[sensitivity.ranks["rank"] <= top, "share_top"] >= 0.9).sum())
        inside = int((sensitivity.ranks["rank"] <= top).sum())
        med, low = (f"{v:.3f}".replace(".", ",") if lang == "vi" else f"{v:.3f}" for v in (q[1], q[0]))
        if lang == "vi":
            text += (f" Khi thay đổi ngẫu nhiên trọng số ({_num(sensitivity.n_draws, lang)} lần), hệ số tương quan "
                     f"Spearman với thứ hạng gốc có trung vị {med} (phân vị 5%: {low}); {stay} trong {inside} xã "
                     f"thuộc nhóm {top} đầu vẫn ở nhóm này trong ít nhất 90% số lần.")
        else:
            text += (f" Under {_num(sensitivity.n_draws, lang)} random weightings the Spearman correlation with the "
                     f"default ranking has median {med} (5th percentile {low}); {stay} of the {inside} communes in "
                     f"the top {top} stay there in at least 90% of them.")
    return text


# ----------------------------------------------------------------------------- figures


def _layout(fig: go.Figure, title: str, *, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, font=FONT, template="plotly_white", legend_title_text="",
                      xaxis_title=x, yaxis_title=y, margin=dict(l=60, r=20, t=70, b=50))
    return fig


def _names(codes) -> list[str]:
    from ..data import registry

    names = registry.units().set_index("commune_code")["name"]
    return [str(names.get(c, c)) for c in codes]


def coverage_figure(table: pd.DataFrame, *, measure: str = "coverage", programme: str = _ALL,
                    group: str | None = "minority", lang: str = "vi") -> go.Figure:
    """Dots of coverage (or exclusion rate, or inclusion share) by commune, one colour per group.

    Suppressed cells are left out and counted in the title.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`accuracy` for one loan year, with ``by`` holding ``commune_code``
        (and ``group``).
    measure : {"coverage", "exclusion_rate", "inclusion_share"}
    programme : {"all", "poor", "near_poor", "newly_escaped"}
    group : str or None, default "minority"
        Column whose values make the colours (``minority``: ethnic-minority vs Kinh
        households); None for one series.
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"loan_year": [2025] * 2, "commune_code": ["01840", "01840"], "minority": [True, False],
    ...                   "programme": ["all", "all"], "coverage": [0.4, 0.2], "suppressed": [False, False]})
    >>> f = coverage_figure(t, lang="en")
    >>> [(tr.name, list(tr.x)) for tr in f.data]
    [('Ethnic-minority households', [0.4]), ('Kinh households', [0.2])]
    """
    check_lang(lang)
    if measure not in ("coverage", "exclusion_rate", "inclusion_share"):
        raise ValueError(f"'measure' must be 'coverage', 'exclusion_rate' or 'inclusion_share', got {measure!r}")
    needed = ["commune_code", "programme", measure, "suppressed", "loan_year"] + ([group] if group else [])
    _require(table, needed, "table")
    years = table["loan_year"].unique()
    if len(years) != 1:
        raise ValueError(f"'table' must hold one loan year (pass year= to accuracy), got {sorted(years.tolist())}")
    rows = table[table["programme"] == programme]
    if rows.empty:
        raise ValueError(f"'table' has no rows for programme {programme!r}")
    shown = rows[~rows["suppressed"].to_numpy(dtype=bool) & rows[measure].notna().to_numpy()]
    order = (shown.groupby("commune_code")[measure].mean().sort_values(kind="stable").index.tolist())
    fig = go.Figure()
    if group:
        parts = [(key, part) for key, part in shown.groupby(group, sort=False)]
        parts.sort(key=lambda kv: (0 if bool(kv[0]) else 1) if group == "minority" else str(kv[0]))
    else:
        parts = [(None, shown)]
    for i, (key, part) in enumerate(parts):
        if key is None:
            name = _text(measure, lang)
        elif group == "minority":
            name = label("minority" if bool(key) else "majority", lang)
        else:
            name = label(str(key), lang)
        fmt = [format_percent(v, lang, digits=1) for v in part[measure]]
        fig.add_trace(go.Scatter(
            x=part[measure].tolist(), y=_names(part["commune_code"]), mode="markers", name=name,
            marker=dict(color=PALETTE[i % len(PALETTE)], size=9), text=fmt,
            hovertemplate="%{y}: %{text}<extra>" + name + "</extra>"))
    hidden = len(rows) - len(shown)
    prog = _text(_ALL if programme == _ALL else f"prog_{programme}", lang)
    title = f"{_text(measure, lang)} — {prog}, {_text('loans_year', lang)} {int(years[0])}"
    if hidden:
        title += f" ({hidden} {'ô không công bố' if lang == 'vi' else 'cells suppressed'})"
    fig.update_yaxes(categoryorder="array", categoryarray=_names(order))
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    fig.update_layout(height=max(320, 120 + 16 * len(order)))
    return _layout(fig, title, x=_text(measure, lang), y=label("commune", lang))


def priority_figure(index: pd.DataFrame, sensitivity: RankSensitivity | None = None, *, top: int = 30,
                    lang: str = "vi") -> go.Figure:
    """The top communes by priority rank, with the 5%–95% rank range under weight changes.

    Parameters
    ----------
    index : DataFrame
        Output of :func:`priority_index`.
    sensitivity : RankSensitivity, optional
        Output of :func:`rank_sensitivity` on the same table; adds the bands.
    top : int, default 30
        Number of communes shown.
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["01840", "01843"], "poor_rate": [0.1, 0.3]})
    >>> f = priority_figure(priority_index(t, weights={"poor_rate": 1}), lang="en")
    >>> list(f.data[0].x), f.layout.xaxis.title.text
    ([1, 2], 'Priority rank')
    """
    check_lang(lang)
    top = _check_positive_int(top, "top")
    _require(index, ["commune_code", "rank"], "index")
    rows = index[index["rank"].notna()].sort_values(["rank", "commune_code"], kind="stable").head(top)
    names = _names(rows["commune_code"])
    fig = go.Figure()
    if sensitivity is not None:
        band = sensitivity.ranks.set_index("commune_code").reindex(rows["commune_code"])
        if band["rank_p05"].isna().any():
            raise ValueError("'sensitivity' does not cover every commune of 'index': compute both on the same table")
        fig.add_trace(go.Scatter(
            x=band["rank_p05"].tolist(), y=names, mode="markers", name=_text("band", lang),
            marker=dict(color=PALETTE[5], size=2),
            error_x=dict(type="data", symmetric=False, array=(band["rank_p95"] - band["rank_p05"]).tolist(),
                         arrayminus=[0.0] * len(band), color=PALETTE[5], thickness=8, width=0),
            customdata=[f"{a:g}–{b:g}" for a, b in zip(band["rank_p05"], band["rank_p95"])],
            hovertemplate="%{y}: %{customdata}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[int(r) for r in rows["rank"]], y=names, mode="markers", name=_text("base_rank", lang),
        marker=dict(color=PALETTE[0], size=10),
        text=[format_number(v, lang, digits=3) for v in rows["index"]] if "index" in rows.columns else None,
        hovertemplate="%{y}: %{x} (%{text})<extra></extra>"))
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
    fig.update_layout(height=max(320, 120 + 18 * len(rows)))
    return _layout(fig, _text("priority_title", lang), x=_text("rank", lang), y=label("commune", lang))
