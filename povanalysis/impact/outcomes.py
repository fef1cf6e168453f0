"""The analysis panel of the credit study: loans placed between reviews, household outcomes at the next review."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from .. import config
from ..common.cache import cache_folder, cache_key, cached_result, frame_digest
from ..common.checks import require_frame, to_python
from ..data.schema import PROGRAMMES
from ..measure.standards import CLASSES

__all__ = [
    "OUTCOMES",
    "OUTCOME_NAMES",
    "POPULATIONS",
    "REVIEW_CUTOFF",
    "AnalysisPanel",
    "prepare_panel",
    "select_population",
    "outcome_values",
    "household_year_keys",
    "build_outcomes",
    "cached_study",
]

#: Outcomes: not being poor at the next review (for households poor at the review before the
#: loan), change in log per-capita income, change in the number of deprivations.
OUTCOMES: tuple[str, ...] = ("exit", "log_income", "deprivations")
#: Plain-English names of the outcomes, for the ``summary()`` of results.
OUTCOME_NAMES: dict[str, str] = {
    "exit": "Exit from poverty by the next review",
    "log_income": "Change in log per-capita income",
    "deprivations": "Change in the number of deprivations",
}
#: Analysis populations at the review before the loan: poor households, or every household a
#: VBSP household programme serves (poor, near-poor, or off the lists for at most 3 years).
POPULATIONS: tuple[str, ...] = ("poor", "eligible")
#: First day (``MM-DD``) of the annual review: the periodic review runs from 1 September to
#: 14 December (Decision 24/2021/QĐ-TTg).  A loan disbursed before it in year Y falls between
#: the reviews of Y-1 and Y; a loan disbursed on or after it counts after the review of Y.
#: Where local practice differs, pass ``review_cutoff``.
REVIEW_CUTOFF = "09-01"

T = TypeVar("T")

_NEWLY_ESCAPED_YEARS = 3  # Decision 28/2015/QĐ-TTg: off the lists for at most 3 years

#: Panels prepared in this process, by a digest of their inputs: a notebook that estimates
#: several effects on the same households prepares them once.  Two panels are kept.
_PREPARED: OrderedDict[tuple, AnalysisPanel] = OrderedDict()
_PREPARED_SIZE = 2


@dataclass
class AnalysisPanel:
    """Households and loans checked and prepared for the estimators (what :func:`prepare_panel` returns).

    Attributes
    ----------
    levels : DataFrame
        One row per household and review used: classes, outcomes, pre-loan covariates, the
        first loan's ``cohort`` (inf for never-borrowers), ``programme`` and ``amount``, and the
        integer codes ``_hh`` (household) and ``_cluster``.
    years : tuple of int
        Review years used.
    loans : DataFrame
        The loans with their household code ``_hh`` and ``cohort``.
    notes : list of str
        What was left out and why.
    cluster_labels : Index
        The cluster of each ``_cluster`` code.
    """

    levels: pd.DataFrame
    years: tuple
    loans: pd.DataFrame
    notes: list = field(default_factory=list)
    cluster_labels: pd.Index = None


_DERIVED = ("poverty_class", "deprivations", "minority", "old_area")


def _cutoff(review_cutoff: str) -> int:
    try:
        month, day = (int(p) for p in str(review_cutoff).split("-"))
        pd.Timestamp(year=2024, month=month, day=day)
    except (ValueError, TypeError):
        raise ValueError(f"review_cutoff must be a day of the year as 'MM-DD', got {review_cutoff!r}") from None
    return month * 100 + day


def household_year_keys(code: np.ndarray, year: np.ndarray) -> np.ndarray:
    """One integer per (household code, review year): how rows of a panel are matched across reviews.

    Examples
    --------
    >>> household_year_keys(np.array([3]), np.array([2024])).tolist()
    [32024]
    """
    return np.asarray(code, dtype=np.int64) * 10_000 + np.asarray(year, dtype=np.int64)


def _loan_cohorts(loans: pd.DataFrame, lcode: np.ndarray, n_households: int, review_cutoff: str) -> pd.DataFrame:
    """Validate the loans and assign each the first review after it (``cohort``)."""
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"]):
        raise TypeError(
            f"loans column 'disbursed' must hold dates (datetime64), got dtype {loans['disbursed'].dtype}; "
            "read the file with povanalysis.data.io.read_loans"
        )
    if loans["disbursed"].isna().any():
        row = loans.index[loans["disbursed"].isna().to_numpy()][0]
        raise ValueError(f"loans column 'disbursed' is missing at row {to_python(row)!r}")
    amount = pd.to_numeric(loans["amount"], errors="coerce")
    bad = amount.isna() | ~np.isfinite(amount) | (amount <= 0)
    if bad.any():
        row = loans.index[bad.to_numpy()][0]
        raise ValueError(
            f"loans column 'amount' must be a positive amount in VND, got "
            f"{to_python(loans.at[row, 'amount'])!r} at row {to_python(row)!r}"
        )
    bad = ~loans["programme"].isin(PROGRAMMES)
    if bad.any():
        row = loans.index[bad.to_numpy()][0]
        raise ValueError(
            f"loans column 'programme' must be one of {PROGRAMMES}, got "
            f"{to_python(loans.at[row, 'programme'])!r} at row {to_python(row)!r}"
        )
    unknown = (lcode < 0) | (lcode >= n_households)
    if unknown.any():
        row = loans.index[unknown][0]
        raise ValueError(
            f"{int(unknown.sum())} loan(s) name a household_id absent from 'households', "
            f"e.g. {to_python(loans.at[row, 'household_id'])!r} at row {to_python(row)!r}"
        )
    cut = _cutoff(review_cutoff)
    d = loans["disbursed"]
    cohort = d.dt.year.to_numpy() + ((d.dt.month * 100 + d.dt.day).to_numpy() >= cut)
    return pd.DataFrame(
        {
            "_hh": lcode.astype(np.int64),
            "programme": loans["programme"].to_numpy(dtype=object),
            "disbursed": d.to_numpy(),
            "amount": amount.to_numpy(dtype=float),
            "cohort": cohort.astype(np.int64),
        }
    )


def _key_part(value: object, *, ordered: bool) -> object:
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return repr(value)
    parts = list(map(repr, value))
    return tuple(parts if ordered else sorted(set(parts)))


def cached_study(
    module: str,
    function: str,
    households: pd.DataFrame,
    loans: pd.DataFrame,
    compute: Callable[[], T],
    *,
    cache: str | os.PathLike | bool | None,
    classes: Sequence[type],
    **arguments: object,
) -> T:
    """``compute()``, or the results object it gave before for the same inputs (a credit study's disk cache).

    The key (:func:`povanalysis.common.cache.cache_key`) holds the digests of ``households`` and
    ``loans`` (:func:`povanalysis.common.cache.frame_digest`), the ``arguments``, the publication
    threshold :data:`povanalysis.config.MIN_CELL`, the package version and the code that ``module``
    runs: any change to one of them computes afresh.  ``cache`` is a folder, ``True`` for the
    data's cache folder or ``None`` for no cache (:func:`povanalysis.common.cache.cache_folder`);
    results are stored as Parquet and JSON (:func:`povanalysis.common.cache.cached_result`).
    """
    folder = cache_folder(cache)
    if folder is None:
        return compute()
    require_frame(households, "households", [])
    require_frame(loans, "loans", [])
    key = cache_key(
        module,
        function=function,
        households=frame_digest(households),
        loans=frame_digest(loans),
        min_cell=config.MIN_CELL,
        arguments={name: _key_part(value, ordered=True) for name, value in arguments.items()},
    )
    return cached_result(folder, key, compute, classes=classes)


def prepare_panel(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    disadvantaged: Iterable[str] | None = None,
) -> AnalysisPanel:
    """Check the household panel and the loans and prepare them for the estimators.

    Every estimator of :mod:`povanalysis.impact` starts from this: the panel is classified
    when ``poverty_class`` is absent, each loan gets the first review after it (its cohort),
    each household its first loan, and every review its eligibility for a VBSP household
    programme.  The parameters are those of :func:`build_outcomes`; ``disadvantaged`` (commune
    codes) adds the boolean column ``disadvantaged``.

    The last two panels prepared are kept, by a digest of the inputs' contents
    (:func:`povanalysis.common.cache.frame_digest`) and the arguments: the same households and
    loans, even edited and edited back, give the same panel without preparing it again, and
    any change to them prepares a new one.  The panel returned may be shared: read it, do not
    change it.

    Returns
    -------
    AnalysisPanel

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.005)
    >>> prepare_panel(p.households, p.loans) is prepare_panel(p.households.copy(), p.loans)
    True
    >>> prepare_panel(p.households, p.loans) is prepare_panel(p.households, p.loans.iloc[1:])
    False
    """
    require_frame(households, "households", [])
    require_frame(loans, "loans", [])
    if isinstance(years, Iterator):  # read once: kept as a list for the key and the preparation
        years = list(years)
    if isinstance(disadvantaged, Iterator):
        disadvantaged = list(disadvantaged)
    key = (
        frame_digest(households),
        frame_digest(loans),
        _key_part(years, ordered=True),
        cluster,
        review_cutoff,
        missing_pre,
        _key_part(disadvantaged, ordered=False),
    )
    found = _PREPARED.get(key)
    if found is not None:
        _PREPARED.move_to_end(key)
        return found
    panel = _prepare(
        households,
        loans,
        years=years,
        cluster=cluster,
        review_cutoff=review_cutoff,
        missing_pre=missing_pre,
        disadvantaged=disadvantaged,
    )
    _PREPARED[key] = panel
    while len(_PREPARED) > _PREPARED_SIZE:
        _PREPARED.popitem(last=False)
    return panel


def _prepare(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    disadvantaged: Iterable[str] | None = None,
) -> AnalysisPanel:
    """:func:`prepare_panel` without the memory of earlier panels."""
    require_frame(
        households, "households", ["household_id", "review_year", "commune_code", "income_pc", "area", "size"]
    )
    require_frame(loans, "loans", ["household_id", "programme", "disbursed", "amount"])
    if cluster not in households.columns:
        raise ValueError(f"cluster column {cluster!r} is not a column of 'households'")
    if missing_pre not in ("raise", "drop"):
        raise ValueError(f"missing_pre must be 'raise' or 'drop', got {missing_pre!r}")
    if not households.index.is_unique:
        households = households.reset_index(drop=True)
    for col in ("household_id", cluster):
        if households[col].isna().any():
            row = households.index[households[col].isna().to_numpy()][0]
            raise ValueError(f"column {col!r} of 'households' is missing at row {to_python(row)!r}")
    if all(c in households.columns for c in _DERIVED):
        hh = households
        bad = ~hh["poverty_class"].isin(CLASSES)
        if bad.any():
            row = hh.index[bad.to_numpy()][0]
            raise ValueError(
                f"column 'poverty_class' must be one of {CLASSES}, got "
                f"{to_python(hh.at[row, 'poverty_class'])!r} at row {to_python(row)!r}"
            )
    else:
        from ..data.pipeline import classify_panel

        hh = classify_panel(households)
    ids = pd.concat([hh["household_id"], loans["household_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids)
    hcode, lcode = codes[: len(hh)], codes[len(hh) :]
    n_hh = int(hcode.max()) + 1
    year_all = hh["review_year"].to_numpy(dtype=np.int64)
    dup = pd.Series(household_year_keys(hcode, year_all)).duplicated().to_numpy()
    if dup.any():
        row = hh.index[dup][0]
        raise ValueError(
            f"'households' has more than one row for household {to_python(hh.at[row, 'household_id'])!r} "
            f"in review year {to_python(hh.at[row, 'review_year'])!r} (row {to_python(row)!r})"
        )
    available = sorted(int(y) for y in np.unique(year_all))
    if years is None:
        use = available
    else:
        if isinstance(years, (int, np.integer)):
            raise TypeError(f"'years' should be a sequence of review years, got the single year {to_python(years)!r}")
        use = sorted({int(y) for y in years})
        absent = [y for y in use if y not in available]
        if absent:
            raise ValueError(f"years {absent} are not review years of 'households' (it has {available})")
    if len(use) < 2:
        raise ValueError(
            f"the analysis needs at least two review years, got a single review year {use}: "
            "an effect by the next review cannot be measured"
        )
    if not any(b - a == 1 for a, b in zip(use, use[1:])):
        raise ValueError(f"the review years {use} contain no two consecutive reviews")
    lc = _loan_cohorts(loans, lcode, n_hh, review_cutoff)
    keep = pd.Series(year_all).isin(use).to_numpy()
    hh, hcode, year = hh[keep], hcode[keep], year_all[keep]
    notes = []

    # The first loan of each household: its cohort and programme, and the amount of that interval.
    order = np.lexsort((lc["cohort"].to_numpy(), lc["disbursed"].to_numpy(), lc["_hh"].to_numpy()))
    s_hh = lc["_hh"].to_numpy()[order]
    first = order[np.unique(s_hh, return_index=True)[1]]
    g_arr = np.full(n_hh, np.inf)
    g_arr[lc["_hh"].to_numpy()[first]] = lc["cohort"].to_numpy()[first]
    prog_arr = np.full(n_hh, None, dtype=object)
    prog_arr[lc["_hh"].to_numpy()[first]] = lc["programme"].to_numpy()[first]
    in_first = lc["cohort"].to_numpy() == g_arr[lc["_hh"].to_numpy()]
    amt_arr = np.bincount(lc["_hh"].to_numpy()[in_first], lc["amount"].to_numpy()[in_first], minlength=n_hh)
    amt_arr = np.where(np.isfinite(g_arr), amt_arr, np.nan)

    cohort = g_arr[hcode]
    cls = hh["poverty_class"]
    poor = (cls == "poor").to_numpy(dtype=bool)
    near_poor = (cls == "near_poor").to_numpy(dtype=bool)
    income = pd.to_numeric(hh["income_pc"], errors="raise").to_numpy(dtype=float)
    positive = income > 0
    log_income = np.full(len(income), np.nan)
    log_income[positive] = np.log(income[positive])
    c_code, c_labels = pd.factorize(hh[cluster], sort=True)
    levels = pd.DataFrame(
        {
            "household_id": hh["household_id"],
            "_hh": hcode.astype(np.int64),
            "review_year": year,
            "commune_code": hh["commune_code"],
            "_cluster": c_code.astype(np.int64),
            "poverty_class": pd.Categorical(cls, categories=list(CLASSES), ordered=True),
            "poor": poor,
            "near_poor": near_poor,
            "not_poor": (~poor).astype(float),
            "income_pc": income,
            "log_income": log_income,
            "deprivations": pd.to_numeric(hh["deprivations"]).to_numpy(dtype=float),
            "minority": hh["minority"].to_numpy(dtype=bool).astype(float),
            "urban": (hh["area"] == "urban").to_numpy().astype(float),
            "old_area": hh["old_area"],
            "bac_kan": (hh["old_area"] == "bac_kan").to_numpy(dtype=bool).astype(float),
            "size": pd.to_numeric(hh["size"]).to_numpy(dtype=float),
            "cohort": cohort,
            "programme": pd.Categorical(prog_arr[hcode], categories=list(PROGRAMMES)),
            "amount": amt_arr[hcode],
        },
        index=hh.index,
    )
    for col in hh.columns:  # further numeric columns (e.g. the d_* indicators) can serve as covariates
        numeric = pd.api.types.is_numeric_dtype(hh[col]) or pd.api.types.is_bool_dtype(hh[col])
        if col not in levels.columns and numeric:
            levels[col] = hh[col].to_numpy()
    if disadvantaged is not None:
        levels["disadvantaged"] = levels["commune_code"].isin(set(disadvantaged)).to_numpy()

    # Eligibility at each review: poor, near-poor, or off the lists for at most 3 reviews.
    order = np.lexsort((year, hcode))
    listed = (levels["poor"] | levels["near_poor"]).to_numpy()[order]
    grp = hcode[order]
    last = pd.Series(np.where(listed, year[order], -10_000))
    prev_last = last.groupby(grp).cummax().groupby(grp).shift(1).fillna(-10_000).to_numpy()
    newly = np.empty(len(order), dtype=bool)
    newly[order] = ~listed & (year[order] - prev_last <= _NEWLY_ESCAPED_YEARS)
    levels["eligible_class"] = pd.Categorical.from_codes(
        np.select([poor, near_poor, newly], [0, 1, 2], 3), categories=["poor", "near_poor", "newly_escaped", ""]
    )

    # Borrowers seen after their loan but not at the review before it.
    base_year = np.where(np.isfinite(cohort), cohort - 1, -1).astype(np.int64)
    in_window = np.isfinite(cohort) & np.isin(base_year, use)
    last_seen = pd.Series(year).groupby(hcode).transform("max").to_numpy()
    present = pd.Series(household_year_keys(hcode, base_year)).isin(household_year_keys(hcode, year)).to_numpy()
    lacking = in_window & (last_seen >= cohort) & ~present
    if lacking.any():
        bad_codes = np.unique(hcode[lacking])
        first_id = uniques[hcode[lacking][0]]
        gy = int(g_arr[hcode[lacking][0]])
        if missing_pre == "raise":
            raise ValueError(
                f"{len(bad_codes)} borrowing household(s) have no record at the review before their first loan "
                f"(missing pre-period), e.g. household {first_id!r}, first loan between the reviews of {gy - 1} "
                f"and {gy}; pass missing_pre='drop' to leave them out of the analysis"
            )
        levels = levels[~np.isin(hcode, bad_codes)]
        notes.append(
            f"{len(bad_codes)} borrowing households without a record at the review before their first loan "
            "were left out (missing_pre='drop')"
        )
    return AnalysisPanel(levels=levels, years=tuple(use), loans=lc, notes=notes, cluster_labels=pd.Index(c_labels))


def select_population(levels: pd.DataFrame, outcome: str, population: str | None) -> tuple[str, np.ndarray]:
    """The population's name (``poor`` by default) and which rows of ``levels`` belong to it; checks ``outcome``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    population = "poor" if population is None else population
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    if outcome == "exit" and population != "poor":
        raise ValueError(
            "outcome 'exit' (leaving poverty) is defined only for households poor at the review "
            f"before the loan: use population='poor', got {population!r}"
        )
    mask = levels["poor"].to_numpy() if population == "poor" else (levels["eligible_class"] != "").to_numpy()
    return population, mask


def outcome_values(levels: pd.DataFrame, outcome: str) -> np.ndarray:
    """The level of ``outcome`` at each row of ``levels`` (not poor; log income; deprivations)."""
    if outcome == "exit":
        return levels["not_poor"].to_numpy(dtype=float)
    if outcome == "log_income":
        bad = ~(levels["income_pc"].to_numpy() > 0)
        if bad.any():
            row = levels.index[bad][0]
            raise ValueError(
                f"outcome 'log_income' needs positive incomes: column 'income_pc' is "
                f"{to_python(levels.at[row, 'income_pc'])!r} at row {to_python(row)!r} "
                f"({int(bad.sum())} such rows)"
            )
        return levels["log_income"].to_numpy(dtype=float)
    return levels["deprivations"].to_numpy(dtype=float)


def build_outcomes(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
) -> pd.DataFrame:
    """The analysis frame: one row per household and pair of consecutive reviews, with loan timing.

    A loan disbursed between the review of year ``t`` and that of ``t + 1`` (see
    :data:`REVIEW_CUTOFF`) has ``cohort = t + 1``: the first review after it.  A household's
    treatment is its *first* loan; ``amount`` sums the loans disbursed in that same interval
    and ``programme`` is the programme of the earliest of them.

    Parameters
    ----------
    households : DataFrame
        The household review panel (:data:`povanalysis.data.schema.HOUSEHOLD_COLUMNS`), raw or
        already classified by :func:`povanalysis.data.pipeline.classify_panel`; it is classified
        under each review year's standard when ``poverty_class`` is absent.
    loans : DataFrame
        VBSP loan records (:data:`povanalysis.data.schema.LOAN_COLUMNS`).
    years : iterable of int, optional
        Review years to use (default: all).
    cluster : str
        Column of the sampling or administrative cluster (kept as ``commune_code``).
    review_cutoff : str
        First day of the annual review as ``MM-DD``.
    missing_pre : {"raise", "drop"}
        What to do with borrowers who have no record at the review before their first loan.

    Returns
    -------
    DataFrame
        ``household_id``, ``commune_code``, ``review_year`` (t), ``next_review`` (t + 1),
        ``poverty_class``, ``poverty_class_next``, ``eligible_class`` (``poor``,
        ``near_poor``, ``newly_escaped`` or empty), ``exit`` (not poor at t + 1; only for
        households poor at t, else missing), ``log_income``, ``log_income_next``,
        ``d_log_income``, ``deprivations``, ``deprivations_next``, ``d_deprivations``,
        ``minority``, ``old_area``, ``urban``, ``size``, ``cohort`` (first review after the first
        loan; missing for never-borrowers), ``event_time`` (``next_review - cohort``),
        ``status`` (``treated``: first loan in this interval; ``not_yet``: borrows later;
        ``never``; ``already``: borrowed before), ``programme``, ``amount`` (VND).  Internal: it
        holds household identifiers.

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.005)
    >>> frame = build_outcomes(p.households, p.loans)
    >>> sorted(frame["status"].unique().tolist())
    ['already', 'never', 'not_yet', 'treated']
    >>> bool(frame.loc[frame["poverty_class"] != "poor", "exit"].isna().all())
    True
    """
    data = prepare_panel(
        households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff, missing_pre=missing_pre
    )
    lv = data.levels
    nxt = lv[["_hh", "review_year", "poverty_class", "log_income", "deprivations"]].assign(
        review_year=lv["review_year"] - 1
    )
    out = lv.reset_index(drop=True).merge(
        nxt, on=["_hh", "review_year"], suffixes=("", "_next"), how="inner", validate="one_to_one"
    )
    g = out["cohort"].to_numpy()
    nr = out["review_year"].to_numpy() + 1
    status = np.select([np.isinf(g), g == nr, g > nr], ["never", "treated", "not_yet"], "already")
    cohort = pd.array(np.where(np.isinf(g), 0, g).astype(np.int64), dtype="Int64")
    cohort[np.isinf(g)] = pd.NA
    frame = pd.DataFrame(
        {
            "household_id": out["household_id"],
            "commune_code": out["commune_code"],
            "review_year": out["review_year"],
            "next_review": nr,
            "poverty_class": out["poverty_class"],
            "poverty_class_next": out["poverty_class_next"],
            "eligible_class": out["eligible_class"],
            "exit": pd.array(np.where(out["poor"], out["poverty_class_next"] != "poor", False), dtype="boolean"),
            "log_income": out["log_income"],
            "log_income_next": out["log_income_next"],
            "d_log_income": out["log_income_next"] - out["log_income"],
            "deprivations": out["deprivations"].astype(np.int64),
            "deprivations_next": out["deprivations_next"].astype(np.int64),
            "d_deprivations": (out["deprivations_next"] - out["deprivations"]).astype(np.int64),
            "minority": out["minority"].astype(bool),
            "old_area": out["old_area"],
            "urban": out["urban"].astype(bool),
            "size": out["size"].astype(np.int64),
            "cohort": cohort,
            "event_time": pd.array(nr - np.where(np.isinf(g), 0, g), dtype="Int64"),
            "status": status,
            "programme": out["programme"],
            "amount": out["amount"],
        }
    )
    frame.loc[~out["poor"].to_numpy(), "exit"] = pd.NA
    frame.loc[np.isinf(g), "event_time"] = pd.NA
    order = np.lexsort((out["_hh"].to_numpy(), out["review_year"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)
