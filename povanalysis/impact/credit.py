"""What VBSP policy loans do to poverty exit, income and deprivations: effects, subgroups, cost per exit, figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import statsmodels.api as sm
from scipy import stats

from .. import config
from ..figures.charts import FONT, PALETTE
from .did import COMPARISONS, StaggeredDiD, clustered_vcov, wald_test
from ..common.labels import check_lang, format_number, label
from ..data.schema import PROGRAMMES
from ..measure.standards import CLASSES

__all__ = [
    "OUTCOMES",
    "METHODS",
    "POPULATIONS",
    "COMPARISONS",
    "HETEROGENEITY",
    "DEFAULT_COVARIATES",
    "REVIEW_CUTOFF",
    "CreditEffect",
    "EventStudy",
    "Heterogeneity",
    "CostPerExit",
    "build_outcomes",
    "estimate_effect",
    "event_study",
    "heterogeneity",
    "cost_per_exit",
    "compare_table",
    "headline_text",
    "plot_event_study",
    "plot_forest",
    "plot_balance",
]

#: Outcomes: not being poor at the next review (for households poor at the review before the
#: loan), change in log per-capita income, change in the number of deprivations.
OUTCOMES: tuple[str, ...] = ("exit", "log_income", "deprivations")
#: Estimators: the naive (biased) difference, stacked household fixed effects, staggered
#: difference-in-differences (Callaway–Sant'Anna), inverse-probability weighting, dose-response.
METHODS: tuple[str, ...] = ("naive", "fe", "did", "ipw", "dose")
#: Analysis populations at the review before the loan: poor households, or every household a
#: VBSP household programme serves (poor, near-poor, or off the lists for at most 3 years).
POPULATIONS: tuple[str, ...] = ("poor", "eligible")
#: Groups for :func:`heterogeneity`.
HETEROGENEITY: tuple[str, ...] = ("minority", "programme", "old_area", "disadvantaged")
#: Pre-loan covariates of the propensity model (measured at the review before the loan).
DEFAULT_COVARIATES: tuple[str, ...] = ("minority", "urban", "bac_kan", "size", "log_income", "deprivations")
#: First day (``MM-DD``) of the annual review: the periodic review runs from 1 September to
#: 14 December (Decision 24/2021/QĐ-TTg).  A loan disbursed before it in year Y falls between
#: the reviews of Y-1 and Y; a loan disbursed on or after it counts after the review of Y.
#: Where local practice differs, pass ``review_cutoff``.
REVIEW_CUTOFF = "09-01"

_CREDIBLE = ("fe", "did", "ipw")
_AMOUNT_UNIT = 10_000_000  # dose slopes are per 10 million VND
_NEWLY_ESCAPED_YEARS = 3  # Decision 28/2015/QĐ-TTg: off the lists for at most 3 years

_TEXT = {
    "naive": ("So sánh thô hộ vay với hộ chưa từng vay (có thiên lệch)",
              "Naive: borrowers vs never-borrowers (biased)"),
    "fe": ("Hiệu ứng cố định hộ (hồi quy xếp chồng)", "Household fixed effects (stacked)"),
    "did": ("Sai khác kép so le (Callaway–Sant'Anna)", "Staggered DiD (Callaway–Sant'Anna)"),
    "ipw": ("Gia trọng nghịch đảo xác suất (IPW)", "Inverse-probability weighting (IPW)"),
    "dose": ("Liều lượng – đáp ứng theo số tiền vay", "Dose–response in loan amount"),
    "vs_never": ("so với hộ chưa từng vay, có thiên lệch", "vs never-borrowers, biased"),
    "exit": ("Thoát nghèo ở kỳ rà soát sau", "Exit from poverty by the next review"),
    "log_income": ("Thay đổi log thu nhập bình quân đầu người", "Change in log per-capita income"),
    "deprivations": ("Thay đổi số chỉ số thiếu hụt", "Change in the number of deprivations"),
    "unit_exit": ("điểm phần trăm", "percentage points"),
    "unit_log_income": ("điểm log × 100", "log-points × 100"),
    "unit_deprivations": ("chỉ số", "indicators"),
    "method": ("Phương pháp", "Method"),
    "effect": ("Tác động", "Effect"),
    "se": ("Sai số chuẩn", "Std. error"),
    "n": ("Số quan sát", "Observations"),
    "n_treated": ("Số hộ vay", "Borrowers"),
    "truth": ("Giá trị cài đặt của bộ sinh dữ liệu mô phỏng", "Synthetic generator's planted value"),
    "forest": ("Tác động của vốn vay chính sách", "Effect of policy loans"),
    "event": ("Tác động theo kỳ rà soát quanh khoản vay", "Effect by review relative to the loan"),
    "event_time": ("Số kỳ rà soát tính từ khoản vay (0 = kỳ đầu tiên sau khi vay)",
                   "Reviews since the loan (0 = first review after it)"),
    "reference": ("Kỳ gốc trước khi vay", "Base review before the loan"),
    "pretrend": ("Kiểm định xu hướng trước khi vay", "Pre-trend test"),
    "balance": ("Cân bằng đặc điểm trước khi vay", "Covariate balance before the loan"),
    "smd": ("Chênh lệch trung bình chuẩn hóa", "Standardised mean difference"),
    "unweighted": ("Chưa gia trọng", "Unweighted"),
    "weighted": ("Sau gia trọng IPW", "IPW-weighted"),
    "urban": ("Khu vực thành thị", "Urban"),
    "bac_kan": ("Địa bàn Bắc Kạn cũ", "Old Bac Kan area"),
    "size": ("Số nhân khẩu", "Household size"),
    "log_income_cov": ("Log thu nhập bình quân đầu người", "Log per-capita income"),
    "deprivations_cov": ("Số chỉ số thiếu hụt", "Number of deprivations"),
    "disadvantaged": ("Xã đặc biệt khó khăn (vùng III)", "Disadvantaged (Region III) communes"),
    "other_communes": ("Các xã, phường khác", "Other communes and wards"),
    "newly_escaped": ("Hộ mới thoát nghèo", "Newly escaped households"),
    "by_minority": ("Theo dân tộc", "By ethnicity"),
    "by_old_area": ("Theo địa bàn trước sáp nhập", "By pre-2025 province"),
    "by_disadvantaged": ("Theo xã đặc biệt khó khăn", "By disadvantaged commune"),
    "by_programme": ("Theo chương trình cho vay", "By lending programme"),
    "suppressed": ("không công bố (dưới ngưỡng số hộ)", "suppressed (too few households)"),
}


def _t(key: str, lang: str) -> str:
    check_lang(lang)
    if key in _TEXT:
        return _TEXT[key][0 if lang == "vi" else 1]
    return label(key, lang)


def _show(value) -> str:
    """``repr`` of a value as Python prints it (numpy scalars as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _num(value: float, lang: str, digits: int = 1) -> str:
    return format_number(value, lang, digits=digits)


class _NoVariation(ValueError):
    """The data leave nothing to compare: no borrowers, no comparison households, or no pre-period."""


class _DesignError(ValueError):
    """The covariates cannot be used in this sample: missing, constant, collinear, or no overlap."""


# --------------------------------------------------------------------------- preparation


@dataclass
class _Data:
    levels: pd.DataFrame
    years: tuple
    loans: pd.DataFrame
    notes: list = field(default_factory=list)
    cluster_labels: pd.Index = None


_DERIVED = ("poverty_class", "deprivations", "minority", "old_area")


def _check_frame(obj, name: str, columns: Sequence[str]) -> None:
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"'{name}' should be a DataFrame, got {type(obj).__name__}")
    missing = [c for c in columns if c not in obj.columns]
    if missing:
        raise ValueError(f"'{name}' lacks the columns {missing}; it has {list(obj.columns)}")


def _cutoff(review_cutoff: str) -> int:
    try:
        month, day = (int(p) for p in str(review_cutoff).split("-"))
        pd.Timestamp(year=2024, month=month, day=day)
    except (ValueError, TypeError):
        raise ValueError(f"review_cutoff must be a day of the year as 'MM-DD', got {review_cutoff!r}") from None
    return month * 100 + day


def _keys(code: np.ndarray, year: np.ndarray) -> np.ndarray:
    """One integer per (household code, review year)."""
    return np.asarray(code, dtype=np.int64) * 10_000 + np.asarray(year, dtype=np.int64)


def _loan_cohorts(loans: pd.DataFrame, lcode: np.ndarray, n_households: int, review_cutoff: str) -> pd.DataFrame:
    """Validate the loans and assign each the first review after it (``cohort``)."""
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"]):
        raise TypeError(f"loans column 'disbursed' must hold dates (datetime64), got dtype {loans['disbursed'].dtype}; "
                        "read the file with povanalysis.data.io.read_loans")
    if loans["disbursed"].isna().any():
        row = loans.index[loans["disbursed"].isna().to_numpy()][0]
        raise ValueError(f"loans column 'disbursed' is missing at row {_show(row)}")
    amount = pd.to_numeric(loans["amount"], errors="coerce")
    bad = amount.isna() | ~np.isfinite(amount) | (amount <= 0)
    if bad.any():
        row = loans.index[bad.to_numpy()][0]
        raise ValueError(f"loans column 'amount' must be a positive amount in VND, got "
                         f"{_show(loans.at[row, 'amount'])} at row {_show(row)}")
    bad = ~loans["programme"].isin(PROGRAMMES)
    if bad.any():
        row = loans.index[bad.to_numpy()][0]
        raise ValueError(f"loans column 'programme' must be one of {PROGRAMMES}, got "
                         f"{_show(loans.at[row, 'programme'])} at row {_show(row)}")
    unknown = (lcode < 0) | (lcode >= n_households)
    if unknown.any():
        row = loans.index[unknown][0]
        raise ValueError(f"{int(unknown.sum())} loan(s) name a household_id absent from 'households', "
                         f"e.g. {_show(loans.at[row, 'household_id'])} at row {_show(row)}")
    cut = _cutoff(review_cutoff)
    d = loans["disbursed"]
    cohort = d.dt.year.to_numpy() + ((d.dt.month * 100 + d.dt.day).to_numpy() >= cut)
    return pd.DataFrame({
        "_hh": lcode.astype(np.int64),
        "programme": loans["programme"].to_numpy(dtype=object),
        "disbursed": d.to_numpy(),
        "amount": amount.to_numpy(dtype=float),
        "cohort": cohort.astype(np.int64),
    })


def _prepare(households: pd.DataFrame, loans: pd.DataFrame, *, years, cluster: str, review_cutoff: str,
             missing_pre: str, disadvantaged=None) -> _Data:
    _check_frame(households, "households", ["household_id", "review_year", "commune_code", "income_pc", "area", "size"])
    _check_frame(loans, "loans", ["household_id", "programme", "disbursed", "amount"])
    if cluster not in households.columns:
        raise ValueError(f"cluster column {cluster!r} is not a column of 'households'")
    if missing_pre not in ("raise", "drop"):
        raise ValueError(f"missing_pre must be 'raise' or 'drop', got {missing_pre!r}")
    if not households.index.is_unique:
        households = households.reset_index(drop=True)
    for col in ("household_id", cluster):
        if households[col].isna().any():
            row = households.index[households[col].isna().to_numpy()][0]
            raise ValueError(f"column {col!r} of 'households' is missing at row {_show(row)}")
    if all(c in households.columns for c in _DERIVED):
        hh = households
        bad = ~hh["poverty_class"].isin(CLASSES)
        if bad.any():
            row = hh.index[bad.to_numpy()][0]
            raise ValueError(f"column 'poverty_class' must be one of {CLASSES}, got "
                             f"{_show(hh.at[row, 'poverty_class'])} at row {_show(row)}")
    else:
        from ..data.pipeline import classify_panel

        hh = classify_panel(households)
    ids = pd.concat([hh["household_id"], loans["household_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids)
    hcode, lcode = codes[:len(hh)], codes[len(hh):]
    n_hh = int(hcode.max()) + 1
    year_all = hh["review_year"].to_numpy(dtype=np.int64)
    dup = pd.Series(_keys(hcode, year_all)).duplicated().to_numpy()
    if dup.any():
        row = hh.index[dup][0]
        raise ValueError(f"'households' has more than one row for household {_show(hh.at[row, 'household_id'])} "
                         f"in review year {_show(hh.at[row, 'review_year'])} (row {_show(row)})")
    available = sorted(int(y) for y in np.unique(year_all))
    if years is None:
        use = available
    else:
        if isinstance(years, (int, np.integer)):
            raise TypeError(f"'years' should be a sequence of review years, got the single year {_show(years)}")
        use = sorted({int(y) for y in years})
        absent = [y for y in use if y not in available]
        if absent:
            raise ValueError(f"years {absent} are not review years of 'households' (it has {available})")
    if len(use) < 2:
        raise ValueError(f"the analysis needs at least two review years, got a single review year {use}: "
                         "an effect by the next review cannot be measured")
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
    levels = pd.DataFrame({
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
    }, index=hh.index)
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
        np.select([poor, near_poor, newly], [0, 1, 2], 3), categories=["poor", "near_poor", "newly_escaped", ""])

    # Borrowers seen after their loan but not at the review before it.
    base_year = np.where(np.isfinite(cohort), cohort - 1, -1).astype(np.int64)
    in_window = np.isfinite(cohort) & np.isin(base_year, use)
    last_seen = pd.Series(year).groupby(hcode).transform("max").to_numpy()
    present = pd.Series(_keys(hcode, base_year)).isin(_keys(hcode, year)).to_numpy()
    lacking = in_window & (last_seen >= cohort) & ~present
    if lacking.any():
        bad_codes = np.unique(hcode[lacking])
        first_id = uniques[hcode[lacking][0]]
        gy = int(g_arr[hcode[lacking][0]])
        if missing_pre == "raise":
            raise ValueError(
                f"{len(bad_codes)} borrowing household(s) have no record at the review before their first loan "
                f"(missing pre-period), e.g. household {first_id!r}, first loan between the reviews of {gy - 1} "
                f"and {gy}; pass missing_pre='drop' to leave them out of the analysis")
        levels = levels[~np.isin(hcode, bad_codes)]
        notes.append(f"{len(bad_codes)} borrowing households without a record at the review before their first loan "
                     "were left out (missing_pre='drop')")
    return _Data(levels=levels, years=tuple(use), loans=lc, notes=notes, cluster_labels=pd.Index(c_labels))


def _population(levels: pd.DataFrame, outcome: str, population: str | None) -> tuple[str, np.ndarray]:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    population = "poor" if population is None else population
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    if outcome == "exit" and population != "poor":
        raise ValueError("outcome 'exit' (leaving poverty) is defined only for households poor at the review "
                         f"before the loan: use population='poor', got {population!r}")
    mask = levels["poor"].to_numpy() if population == "poor" else (levels["eligible_class"] != "").to_numpy()
    return population, mask


def _outcome(levels: pd.DataFrame, outcome: str) -> np.ndarray:
    if outcome == "exit":
        return levels["not_poor"].to_numpy(dtype=float)
    if outcome == "log_income":
        bad = ~(levels["income_pc"].to_numpy() > 0)
        if bad.any():
            row = levels.index[bad][0]
            raise ValueError(f"outcome 'log_income' needs positive incomes: column 'income_pc' is "
                             f"{_show(levels.at[row, 'income_pc'])} at row {_show(row)} ({int(bad.sum())} such rows)")
        return levels["log_income"].to_numpy(dtype=float)
    return levels["deprivations"].to_numpy(dtype=float)


def build_outcomes(households: pd.DataFrame, loans: pd.DataFrame, *, years: Iterable[int] | None = None,
                   cluster: str = "commune_code", review_cutoff: str = REVIEW_CUTOFF,
                   missing_pre: str = "raise") -> pd.DataFrame:
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
    data = _prepare(households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff,
                    missing_pre=missing_pre)
    lv = data.levels
    nxt = lv[["_hh", "review_year", "poverty_class", "log_income", "deprivations"]].assign(
        review_year=lv["review_year"] - 1)
    out = lv.reset_index(drop=True).merge(nxt, on=["_hh", "review_year"], suffixes=("", "_next"),
                                          how="inner", validate="one_to_one")
    g = out["cohort"].to_numpy()
    nr = out["review_year"].to_numpy() + 1
    status = np.select([np.isinf(g), g == nr, g > nr], ["never", "treated", "not_yet"], "already")
    cohort = pd.array(np.where(np.isinf(g), 0, g).astype(np.int64), dtype="Int64")
    cohort[np.isinf(g)] = pd.NA
    frame = pd.DataFrame({
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
    })
    frame.loc[~out["poor"].to_numpy(), "exit"] = pd.NA
    frame.loc[np.isinf(g), "event_time"] = pd.NA
    order = np.lexsort((out["_hh"].to_numpy(), out["review_year"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- results


def _interval(effect: float, se: float, df: int, alpha: float) -> tuple[float, float]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    q = stats.t.ppf(1 - alpha / 2, df) if df >= 1 else np.nan
    return float(effect - q * se), float(effect + q * se)


_SCALE = {"exit": 100.0, "log_income": 100.0, "deprivations": 1.0}


@dataclass
class CreditEffect:
    """An estimated effect of a first VBSP loan (what :func:`estimate_effect` returns).

    Attributes
    ----------
    effect : float
        Average effect on the borrowers: for ``exit`` in probability points (0.10 = ten
        percentage points more borrowers out of poverty at the first review after the loan);
        for ``log_income`` in log points; for ``deprivations`` in indicators.  For
        ``method="dose"``, the change in that effect per 10 million VND of loan.
    se : float
        Standard error, clustered by ``cluster`` (commune by default).
    n : int
        Household-transitions used (a comparison household used for several cohorts counts
        once per cohort).
    n_treated, n_control, n_clusters : int
    method, outcome, population, comparison : str
    years : tuple of int
        Review years used.
    biased : bool
        True for the naive difference and for comparisons with never-borrowers, which do not
        remove selection on unobserved traits.
    details : DataFrame
        By cohort (first review after the loan): ``n_treated`` and ``n_control``, and for
        the credible methods the cohort's own ``effect``, ``se``, ``ci_lower``, ``ci_upper``
        and ``suppressed`` (fewer than :data:`povanalysis.config.MIN_CELL` borrowers).
    balance : DataFrame or None
        For ``ipw``: covariate means and standardised differences before and after weighting.
    curve : DataFrame or None
        For ``dose``: effects by tercile of the loan amount.
    covariates : tuple of str
    notes : tuple of str
    psi : Series
        Influence values of the estimate summed by cluster (index: cluster labels), scaled so
        that the estimation error is their sum: joint tests across estimates use them.
    """

    effect: float
    se: float
    n: int
    n_treated: int
    n_control: int
    n_clusters: int
    method: str
    outcome: str
    population: str
    comparison: str
    years: tuple
    biased: bool
    details: pd.DataFrame
    balance: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    covariates: tuple = ()
    notes: tuple = ()
    psi: pd.Series = field(default=None, repr=False)

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """``(lower, upper)`` interval at level ``1 - alpha`` (t with clusters - 1 degrees of freedom)."""
        return _interval(self.effect, self.se, self.n_clusters - 1, alpha)

    @property
    def label(self) -> str:
        """A short English name of the estimator."""
        return self.name("en")

    def name(self, lang: str = "vi") -> str:
        """The estimator's name in ``lang``; comparisons with never-borrowers say so."""
        text = _t(self.method, lang)
        if self.comparison == "never" and self.method != "naive":
            text += f" ({_t('vs_never', lang)})"
        return text

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``method``, ``outcome``, ``population``, ``comparison``, ``effect``, ``se``,
        ``ci_lower``, ``ci_upper``, ``n``, ``n_treated``, ``n_control``, ``n_clusters``, ``biased``."""
        lo, hi = self.conf_int()
        return pd.DataFrame([{
            "method": self.method, "outcome": self.outcome, "population": self.population,
            "comparison": self.comparison, "effect": self.effect, "se": self.se, "ci_lower": lo, "ci_upper": hi,
            "n": self.n, "n_treated": self.n_treated, "n_control": self.n_control, "n_clusters": self.n_clusters,
            "biased": self.biased,
        }])

    def summary(self) -> str:
        """A plain-text account of the estimate (returned, not printed)."""
        lo, hi = self.conf_int()
        unit = "per 10 million VND of loan" if self.method == "dose" else {
            "exit": "probability points", "log_income": "log points", "deprivations": "indicators"}[self.outcome]
        lines = [
            f"Credit effect: {self.label}",
            f"  outcome: {_TEXT[self.outcome][1].lower()} ({self.population} households at the review before the loan)",
            f"  effect {self.effect:.4f} {unit}, s.e. {self.se:.4f} (clustered, {self.n_clusters} clusters), "
            f"95% interval [{lo:.4f}, {hi:.4f}]",
            f"  {self.n:,} household-transitions: {self.n_treated:,} borrowers, {self.n_control:,} comparisons "
            f"({'households that borrow later' if self.comparison == 'not_yet' else 'households that never borrowed'})",
            f"  review years {self.years[0]}–{self.years[-1]}",
        ]
        if self.biased:
            lines.append("  BIASED: borrowers are compared with households that never borrowed; they differ in traits "
                         "the data do not show, so this does not measure the loan's effect.")
        if self.covariates:
            lines.append(f"  covariates: {', '.join(self.covariates)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """One sentence with the estimate and its interval, in ``lang``."""
        lo, hi = self.conf_int()
        s = _SCALE[self.outcome]
        unit = _t(f"unit_{self.outcome}", lang)
        if self.method == "dose":
            unit += " / 10 triệu đồng" if lang == "vi" else " per 10 million VND"
        est = f"{_num(s * self.effect, lang)} {unit}"
        if lang == "vi":
            return (f"{self.name(lang)}: {est} (KTC 95%: {_num(s * lo, lang)} đến {_num(s * hi, lang)}; "
                    f"{format_number(self.n_treated, lang)} hộ vay).")
        return (f"{self.name(lang)}: {est} (95% CI {_num(s * lo, lang)} to {_num(s * hi, lang)}; "
                f"{format_number(self.n_treated, lang)} borrowers).")


def _fit_result(effect, psi: pd.Series, *, method, outcome, population, comparison, data, n, n_treated,
                n_control, details, biased, se=None, covariates=(), balance=None, curve=None, notes=()) -> CreditEffect:
    if se is None:
        se = float(np.sqrt(clustered_vcov(psi.to_numpy())[0, 0]))
    psi = pd.Series(psi.to_numpy(), index=data.cluster_labels[psi.index.to_numpy(dtype=np.int64)])
    return CreditEffect(
        effect=float(effect), se=float(se), n=int(n), n_treated=int(n_treated), n_control=int(n_control),
        n_clusters=int(len(psi)), method=method, outcome=outcome, population=population, comparison=comparison,
        years=data.years, biased=bool(biased), details=details, balance=balance, curve=curve,
        covariates=tuple(covariates), notes=tuple(data.notes) + tuple(notes), psi=psi)


# --------------------------------------------------------------------------- estimators


def _design(data: _Data, y: np.ndarray, pop: np.ndarray, comparison: str) -> StaggeredDiD:
    lv = data.levels
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
    borrowers = np.isfinite(lv["cohort"].to_numpy())
    if not (borrowers & pop).any():
        raise _NoVariation("no household of the analysis population ever received a loan in these data "
                           "(no variation in treatment)")
    first_year = data.years[0]
    if not (lv["cohort"].to_numpy()[borrowers] > first_year).any():
        raise _NoVariation(f"every loan precedes the first review used ({first_year}): no borrower is observed "
                           "before its loan (missing pre-period)")
    panel = pd.DataFrame({"unit": lv["_hh"].to_numpy(), "time": lv["review_year"].to_numpy(),
                          "cohort": lv["cohort"].to_numpy(), "y": y, "cluster": lv["_cluster"].to_numpy(),
                          "pop": pop}, index=lv.index)
    design = StaggeredDiD(panel, unit="unit", time="time", cohort="cohort", outcome="y", cluster="cluster",
                          population="pop", comparison=comparison)
    if 0 not in design.event_times():
        reasons = "; ".join(f"cohort {r.cohort}: {r.reason}" for r in design.skipped.itertuples()
                            if r.time != r.time or r.time == r.cohort) or "no cohort observed after its loan"
        what = "households that borrow later" if comparison == "not_yet" else "households that never borrow"
        raise _NoVariation(f"no borrower can be compared with {what} at the first review after the loan "
                           f"(no variation in treatment timing): {reasons}")
    return design


def _skipped_notes(design: StaggeredDiD) -> tuple:
    sk = design.skipped
    sk = sk[sk["time"] == sk["cohort"]]
    return tuple(f"cohort {int(r.cohort)} (loans between the reviews of {int(r.cohort) - 1} and {int(r.cohort)}) "
                 f"left out: {r.reason}" for r in sk.itertuples())


def _cohort_details(design: StaggeredDiD) -> pd.DataFrame:
    c = design.cells
    c = c[c["event_time"] == 0].drop(columns=["time", "event_time"]).reset_index(drop=True)
    c.loc[c["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    return c


def _ols(yv: np.ndarray, X: np.ndarray, clusters: np.ndarray, cols: Sequence[int]) -> tuple:
    """OLS with commune-clustered covariance; returns coefficients, covariance and cluster influence sums."""
    fit = sm.OLS(yv, X).fit()
    codes, labels = pd.factorize(clusters, sort=True)
    n, k = X.shape
    scale = np.sqrt((n - 1) / (n - k))
    contrib = fit.model.pinv_wexog[list(cols)] * fit.resid  # (len(cols), n)
    psi = np.vstack([np.bincount(codes, row, minlength=len(labels)) for row in contrib]).T * scale
    return fit.params[list(cols)], clustered_vcov(psi), [pd.Series(psi[:, j], index=labels) for j in range(len(cols))]


def _check_design(X: np.ndarray, names: Sequence[str], n_fixed: int) -> None:
    """Raise naming the first covariate that is constant or a combination of earlier columns."""
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise _DesignError(f"covariate {names[j]!r} is missing or infinite in {int(bad[:, j].sum())} rows of the "
                         "analysis sample")
    for j in range(n_fixed, X.shape[1]):
        if np.ptp(X[:, j]) == 0:
            raise _DesignError(f"covariate {names[j]!r} is constant ({_show(X[0, j])}) in the analysis sample: "
                             "it is collinear with the intercept")
    norms = np.linalg.norm(X, axis=0)
    r = np.linalg.qr(X / np.where(norms > 0, norms, 1.0), mode="r")
    diag = np.abs(np.diag(r))
    for j in range(n_fixed, X.shape[1]):
        if diag[j] < 1e-8:
            earlier = ["the intercept and the cohort effects"] + [repr(n) for n in names[n_fixed:j]]
            raise _DesignError(f"covariates are collinear in the analysis sample: {names[j]!r} is a linear combination "
                             f"of {', '.join(earlier)}")


def _covariate_matrix(levels: pd.DataFrame, rows, covariates: Sequence[str]) -> np.ndarray:
    unknown = [c for c in covariates if c not in levels.columns or c.startswith("_")]
    if unknown:
        allowed = [c for c in levels.columns if pd.api.types.is_numeric_dtype(levels[c]) and not c.startswith("_")
                   and c not in ("cohort", "amount", "review_year")]
        raise ValueError(f"unknown covariates {unknown}; use pre-loan columns such as {allowed}")
    sub = levels.loc[rows, list(covariates)]
    for c in covariates:
        if not (pd.api.types.is_numeric_dtype(sub[c]) or pd.api.types.is_bool_dtype(sub[c])):
            raise ValueError(f"covariate {c!r} must be numeric or boolean, got dtype {sub[c].dtype}")
    return sub.to_numpy(dtype=float) if len(covariates) else np.empty((len(sub), 0))


def _stack_design(stack: pd.DataFrame) -> tuple[np.ndarray, list]:
    cohorts = sorted(stack["cohort"].unique())
    cols = [np.ones(len(stack))] + [(stack["cohort"] == c).to_numpy(float) for c in cohorts[1:]]
    names = ["intercept"] + [f"cohort {c}" for c in cohorts[1:]]
    return np.column_stack(cols), names


def _naive(data: _Data, y: np.ndarray, pop: np.ndarray, outcome: str, population: str) -> CreditEffect:
    lv = data.levels
    nxt = pd.DataFrame({"_hh": lv["_hh"].to_numpy(), "review_year": lv["review_year"].to_numpy() - 1,
                        "y_next": y})
    base = pd.DataFrame({"_hh": lv["_hh"].to_numpy(), "review_year": lv["review_year"].to_numpy(),
                         "cohort": lv["cohort"].to_numpy(), "cluster": lv["_cluster"].to_numpy(), "pop": pop})
    t = base[base["pop"]].merge(nxt, on=["_hh", "review_year"], how="inner")
    t = t[np.isfinite(t["y_next"])]
    treated = (t["cohort"] == t["review_year"] + 1).to_numpy()
    never = np.isinf(t["cohort"].to_numpy())
    keep = treated | never
    if not treated.any():
        raise _NoVariation("no household of the analysis population received a loan between two reviews "
                           "(no variation in treatment)")
    if not never.any():
        raise _NoVariation("every household of the analysis population borrowed: no never-borrower to compare "
                           "(no variation in treatment)")
    t = t[keep]
    d = treated[keep].astype(float)
    X = np.column_stack([np.ones(len(t)), d])
    coef, v, psi = _ols(t["y_next"].to_numpy(), X, t["cluster"].to_numpy(), [1])
    by = t.assign(d=d).groupby("review_year")
    details = pd.DataFrame({"cohort": (by.size().index + 1).astype(int),
                            "n_treated": by["d"].sum().astype(int).to_numpy(),
                            "n_control": (by.size() - by["d"].sum()).astype(int).to_numpy()})
    return _fit_result(coef[0], psi[0], method="naive", outcome=outcome, population=population, comparison="never",
                       data=data, n=len(t), n_treated=int(d.sum()), n_control=int(len(t) - d.sum()),
                       details=details, biased=True, se=float(np.sqrt(v[0, 0])))


def _fe(data, design, outcome, population, comparison, covariates) -> CreditEffect:
    stack = design.stack(0)
    F, names = _stack_design(stack)
    Z = _covariate_matrix(data.levels, stack["row"], covariates)
    X = np.column_stack([F, Z, stack["treated"].to_numpy(float)])
    _check_design(X[:, :-1], names + list(covariates), len(names))
    coef, v, psi = _ols(stack["delta"].to_numpy(), X, stack["cluster"].to_numpy(), [X.shape[1] - 1])
    return _fit_result(coef[0], psi[0], method="fe", outcome=outcome, population=population, comparison=comparison,
                       data=data, n=len(stack), n_treated=int(stack["treated"].sum()),
                       n_control=int((~stack["treated"]).sum()), details=_cohort_details(design),
                       biased=comparison == "never", se=float(np.sqrt(v[0, 0])), covariates=covariates,
                       notes=_skipped_notes(design))


def _did(data, design, outcome, population, comparison) -> CreditEffect:
    agg = design.aggregate(0)
    return _fit_result(agg.effect, agg.psi, method="did", outcome=outcome, population=population,
                       comparison=comparison, data=data, n=agg.n_treated + agg.n_control, n_treated=agg.n_treated,
                       n_control=agg.n_control, details=_cohort_details(design), biased=comparison == "never",
                       se=agg.se, notes=_skipped_notes(design))


def _ipw(data, design, outcome, population, comparison, covariates) -> CreditEffect:
    """Standardised IPW difference-in-differences (Sant'Anna and Zhao 2020, panel data)."""
    stack = design.stack(0)
    F, names = _stack_design(stack)
    Z = _covariate_matrix(data.levels, stack["row"], covariates)
    X = np.column_stack([F, Z])
    _check_design(X, names + list(covariates), len(names))
    d = stack["treated"].to_numpy(float)
    dy = stack["delta"].to_numpy()
    n = len(d)
    try:
        logit = sm.Logit(d, X).fit(disp=0, method="newton", maxiter=100, warn_convergence=False)
    except np.linalg.LinAlgError as exc:
        raise _DesignError(f"the propensity model cannot be fitted on covariates {list(covariates)}: {exc}") from None
    ps = logit.predict(X)
    if not logit.mle_retvals.get("converged", True) or ps[d == 0].max() > 0.999 or ps[d == 1].min() < 0.001:
        raise _DesignError(f"no overlap: the propensity model on covariates {list(covariates)} predicts borrowing "
                         "with near certainty for some households; use fewer or coarser covariates")
    w_t = d
    w_c = ps * (1 - d) / (1 - ps)
    eta_t = (w_t * dy).sum() / w_t.sum()
    eta_c = (w_c * dy).sum() / w_c.sum()
    att = eta_t - eta_c
    score = (d - ps)[:, None] * X
    hess = logit.cov_params() * n
    lin_ps = score @ hess
    m2 = (w_c * (dy - eta_c))[:, None].T @ X / n
    inf_t = w_t * (dy - eta_t) / w_t.mean()
    inf_c = (w_c * (dy - eta_c) + (lin_ps @ m2.ravel())) / w_c.mean()
    inf = (inf_t - inf_c) / n
    codes, labels = pd.factorize(stack["cluster"], sort=True)
    psi = pd.Series(np.bincount(codes, inf, minlength=len(labels)), index=labels)
    bal = _balance_table(Z, d, w_c, covariates)
    return _fit_result(att, psi, method="ipw", outcome=outcome, population=population, comparison=comparison,
                       data=data, n=n, n_treated=int(d.sum()), n_control=int(n - d.sum()),
                       details=_cohort_details(design), biased=comparison == "never", covariates=covariates,
                       balance=bal, notes=_skipped_notes(design))


def _balance_table(Z: np.ndarray, d: np.ndarray, w_c: np.ndarray, covariates: Sequence[str]) -> pd.DataFrame:
    t, c = d == 1, d == 0
    rows = []
    for j, name in enumerate(covariates):
        x = Z[:, j]
        m_t, m_c = x[t].mean(), x[c].mean()
        m_w = np.average(x[c], weights=w_c[c])
        sd = np.sqrt((x[t].var(ddof=1) + x[c].var(ddof=1)) / 2)
        sd = sd if sd > 0 else np.nan
        rows.append((name, m_t, m_c, m_w, (m_t - m_c) / sd, (m_t - m_w) / sd, int(t.sum()), int(c.sum())))
    out = pd.DataFrame(rows, columns=["covariate", "mean_treated", "mean_control", "mean_control_weighted",
                                      "smd_unweighted", "smd_weighted", "n_treated", "n_control"])
    out["suppressed"] = out["n_treated"] < config.MIN_CELL
    return out


def _dose(data, design, outcome, population, comparison) -> CreditEffect:
    stack = design.stack(0)
    F, names = _stack_design(stack)
    d = stack["treated"].to_numpy(float)
    amount = data.levels.loc[stack["row"], "amount"].to_numpy(dtype=float) / _AMOUNT_UNIT
    a_t = amount[d == 1]
    if np.ptp(a_t) == 0:
        raise ValueError("no variation in loan amount among the borrowers: a dose-response cannot be estimated")
    centred = np.where(d == 1, amount - a_t.mean(), 0.0)
    X = np.column_stack([F, d, centred])
    coef, v, psi = _ols(stack["delta"].to_numpy(), X, stack["cluster"].to_numpy(), [X.shape[1] - 1])
    # Effects by tercile of the amount.
    bins = pd.qcut(pd.Series(a_t), 3, duplicates="drop")
    cats = bins.cat.categories
    bin_of = np.full(len(d), -1)
    bin_of[d == 1] = bins.cat.codes.to_numpy()
    Xb = np.column_stack([F] + [(bin_of == k).astype(float) for k in range(len(cats))])
    cb, vb, _ = _ols(stack["delta"].to_numpy(), Xb, stack["cluster"].to_numpy(),
                     list(range(F.shape[1], F.shape[1] + len(cats))))
    g = stack["cluster"].nunique()
    rows = []
    for k, cat in enumerate(cats):
        se = float(np.sqrt(vb[k, k]))
        lo, hi = _interval(cb[k], se, g - 1, 0.05)
        n_k = int((bin_of == k).sum())
        rows.append((float(a_t[bins.cat.codes == k].min() * 10), float(a_t[bins.cat.codes == k].max() * 10),
                     float(cb[k]), se, lo, hi, n_k, n_k < config.MIN_CELL))
    curve = pd.DataFrame(rows, columns=["amount_min_mvnd", "amount_max_mvnd", "effect", "se", "ci_lower", "ci_upper",
                                        "n_treated", "suppressed"])
    curve.loc[curve["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    return _fit_result(coef[0], psi[0], method="dose", outcome=outcome, population=population, comparison=comparison,
                       data=data, n=len(stack), n_treated=int(d.sum()), n_control=int(len(d) - d.sum()),
                       details=_cohort_details(design), biased=comparison == "never", se=float(np.sqrt(v[0, 0])),
                       curve=curve, notes=_skipped_notes(design))


def _run(data: _Data, *, outcome: str, method: str, population: str | None, comparison: str,
         covariates, extra_mask: np.ndarray | None = None) -> CreditEffect:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    population, pop = _population(data.levels, outcome, population)
    if extra_mask is not None:
        pop = pop & extra_mask
    y = _outcome(data.levels, outcome)
    if covariates is None:
        covariates = DEFAULT_COVARIATES if method == "ipw" else ()
    if isinstance(covariates, str):
        raise TypeError(f"'covariates' should be a sequence of column names, got the string {covariates!r}")
    covariates = tuple(covariates)
    if covariates and method not in ("fe", "ipw"):
        raise ValueError(f"covariates are used by methods 'fe' and 'ipw', not {method!r}")
    if method == "naive":
        return _naive(data, y, pop, outcome, population)
    design = _design(data, y, pop, comparison)
    if method == "did":
        return _did(data, design, outcome, population, comparison)
    if method == "fe":
        return _fe(data, design, outcome, population, comparison, covariates)
    if method == "ipw":
        return _ipw(data, design, outcome, population, comparison, covariates)
    return _dose(data, design, outcome, population, comparison)


def estimate_effect(households: pd.DataFrame, loans: pd.DataFrame, *, outcome: str = "exit", method: str = "did",
                    years: Iterable[int] | None = None, cluster: str = "commune_code", population: str | None = None,
                    comparison: str = "not_yet", covariates: Sequence[str] | None = None,
                    review_cutoff: str = REVIEW_CUTOFF, missing_pre: str = "raise") -> CreditEffect:
    """Effect of a household's first VBSP loan on its situation at the next review.

    The estimand (``outcome="exit"``) is the average, over borrowers poor at the review
    before the loan, of being not poor at the first review after it with the loan minus
    without it, in probability points.  Loans do not go to households at random: those more
    able to escape poverty are also more likely to borrow, so borrowers cannot simply be set
    against non-borrowers.  The credible estimators compare each year's new borrowers with
    households in the same situation at the same review that borrow *later* (not yet
    treated): among eventual borrowers the year of the loan is close to random.

    Methods:

    * ``naive``: borrowers against households that never borrowed, outcome at the next
      review, pooled over years.  **Biased**; shown for contrast only.
    * ``fe``: household fixed-effects regression with cohort-by-year effects on a stacked
      panel of clean comparisons (each cohort with the households that borrow later; reviews
      before and after the loan).  With two reviews per stack the within estimator equals the
      first-difference regression used here.
    * ``did``: staggered difference-in-differences with not-yet-treated comparisons,
      group-time effects aggregated by cohort size (:class:`povanalysis.impact.did.StaggeredDiD`),
      valid with heterogeneous effects.
    * ``ipw``: standardised inverse-probability weighting of the comparisons on pre-loan
      covariates (with the propensity model's estimation in the standard error);
      ``.balance`` holds the balance diagnostics.
    * ``dose``: change in the effect per 10 million VND of loan (borrowers' amounts centred);
      ``.curve`` holds effects by tercile of amount.

    Parameters
    ----------
    households : DataFrame
        Household review panel (schema columns, or classified by
        :func:`povanalysis.data.pipeline.classify_panel`; classified here when ``poverty_class`` is
        absent).
    loans : DataFrame
        VBSP loan records.
    outcome : {"exit", "log_income", "deprivations"}
        Not poor at the next review (population ``poor`` only); change in log per-capita
        income; change in the number of deprivations of the review year's standard.
    method : {"naive", "fe", "did", "ipw", "dose"}
    years : iterable of int, optional
        Review years to use (at least two consecutive ones).
    cluster : str
        Column for clustered standard errors (communes: loans are allocated through
        commune-level savings-and-credit groups).
    population : {"poor", "eligible"}, optional
        Households at the review before the loan: ``poor`` (default) or every household a
        VBSP household programme serves (poor, near-poor, or off the lists for at most 3
        reviews, Decision 28/2015/QĐ-TTg; listing before the panel's first year is unknown).
    comparison : {"not_yet", "never"}
        Comparison households for ``fe``, ``did``, ``ipw`` and ``dose``: those that borrow
        later (default), or those that never borrow (biased; for contrast).
    covariates : sequence of str, optional
        Pre-loan columns (measured at the review before the loan).  ``ipw`` uses
        :data:`DEFAULT_COVARIATES` by default; ``fe`` none (given, they enter as trends).
    review_cutoff : str
        First day of the annual review as ``MM-DD`` (:data:`REVIEW_CUTOFF`).
    missing_pre : {"raise", "drop"}
        Borrowers without a record at the review before their first loan: an error, or left out.

    Returns
    -------
    CreditEffect

    Raises
    ------
    ValueError
        A single review year; no variation in treatment (no borrowers, no comparison
        households); a missing pre-period; constant or collinear covariates; no overlap.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *J. Econometrics* 225(2), 200–230. https://doi.org/10.1016/j.jeconom.2020.12.001

    Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. *J. Econometrics* 219(1), 101–122. https://doi.org/10.1016/j.jeconom.2020.06.003

    Cengiz, D., Dube, A., Lindner, A. and Zipperer, B. (2019). The effect of minimum wages on
    low-wage jobs. *QJE* 134(3), 1405–1454. https://doi.org/10.1093/qje/qjz014

    Decree 78/2002/ND-CP (VBSP credit to poor households); Decision 15/2013/QĐ-TTg (near-poor);
    Decision 28/2015/QĐ-TTg (newly escaped).

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> naive = estimate_effect(p.households, p.loans, method="naive")
    >>> did = estimate_effect(p.households, p.loans, method="did")
    >>> naive.biased, did.biased, did.n_treated > 0
    (True, False, True)
    >>> lo, hi = did.conf_int()
    >>> bool(lo < did.effect < hi)
    True
    """
    data = _prepare(households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff,
                    missing_pre=missing_pre)
    return _run(data, outcome=outcome, method=method, population=population, comparison=comparison,
                covariates=covariates)


# --------------------------------------------------------------------------- event study


@dataclass
class EventStudy:
    """Effects by review relative to the loan (what :func:`event_study` returns).

    Attributes
    ----------
    table : DataFrame
        ``event_time`` (reviews since the loan: 0 is the first review after it, -1 the base
        review, negative values are leads), ``effect``, ``se``, ``ci_lower``, ``ci_upper``,
        ``n``, ``n_treated``, ``n_control``, ``suppressed``, ``reference``.
    pretrend : dict
        Joint test that every lead is zero (:func:`povanalysis.impact.did.wald_test`): ``stat`` (F),
        ``df``, ``df_denom``, ``chi2``, ``pvalue``, ``event_times``.
    group_time : DataFrame
        The underlying effects by cohort and review.
    outcome, population, comparison : str
    years : tuple of int
    """

    table: pd.DataFrame
    pretrend: dict
    group_time: pd.DataFrame
    outcome: str
    population: str
    comparison: str
    years: tuple

    def to_frame(self) -> pd.DataFrame:
        """The event-time table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table of leads and lags with the pre-trend test (returned)."""
        lines = [f"Event study: {_TEXT[self.outcome][1].lower()}, comparison {self.comparison}, "
                 f"reviews {self.years[0]}–{self.years[-1]}",
                 f"{'event':>6} {'effect':>9} {'se':>8} {'ci_lower':>9} {'ci_upper':>9} {'treated':>8}"]
        for r in self.table.itertuples():
            if r.reference:
                lines.append(f"{r.event_time:>6} {'0 (base)':>9}")
            elif r.suppressed:
                lines.append(f"{r.event_time:>6} {'suppressed':>9}")
            else:
                lines.append(f"{r.event_time:>6} {r.effect:>9.4f} {r.se:>8.4f} {r.ci_lower:>9.4f} {r.ci_upper:>9.4f} "
                             f"{r.n_treated:>8,}")
        p = self.pretrend
        lines.append("pre-trend test: no lead available" if not p["df"] else
                     f"pre-trend test (leads {list(p['event_times'])} jointly zero): F({p['df']}, {p['df_denom']}) = "
                     f"{p['stat']:.2f}, p = {p['pvalue']:.3f}")
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """A sentence on the pre-trend test and the effect at the first review after the loan."""
        check_lang(lang)
        p = self.pretrend
        row = self.table[self.table["event_time"] == 0]
        s = _SCALE[self.outcome]
        unit = _t(f"unit_{self.outcome}", lang)
        at0 = ("" if row.empty or row["suppressed"].iloc[0] else f"{_num(s * row['effect'].iloc[0], lang)} {unit}")
        if lang == "vi":
            pre = ("Không có kỳ rà soát nào trước kỳ gốc để kiểm định xu hướng trước khi vay." if not p["df"] else
                   f"Kiểm định đồng thời các kỳ trước khi vay: F({p['df']}, {p['df_denom']}) = "
                   f"{_num(p['stat'], lang, 2)}, "
                   f"p = {_num(p['pvalue'], lang, 3)}; giá trị p nhỏ (dưới 0,05) cho thấy hộ vay và hộ so sánh "
                   "đã khác nhau trước khi vay.")
            return pre + (f" Tác động ở kỳ rà soát đầu tiên sau khi vay: {at0}." if at0 else "")
        pre = ("No review before the base review is available to test pre-trends." if not p["df"] else
               f"Joint test of the leads: F({p['df']}, {p['df_denom']}) = {_num(p['stat'], lang, 2)}, "
               f"p = {_num(p['pvalue'], lang, 3)}; "
               "a small p-value (below 0.05) would mean borrowers and comparisons already differed before the loan.")
        return pre + (f" Effect at the first review after the loan: {at0}." if at0 else "")


def event_study(households: pd.DataFrame, loans: pd.DataFrame, *, outcome: str = "exit",
                years: Iterable[int] | None = None, cluster: str = "commune_code", population: str | None = None,
                comparison: str = "not_yet", review_cutoff: str = REVIEW_CUTOFF,
                missing_pre: str = "raise", alpha: float = 0.05) -> EventStudy:
    """Leads and lags of the loan effect with a joint pre-trend test (Callaway–Sant'Anna).

    For each cohort the base is the review before the loan and the population is fixed there
    (for ``exit``: households poor at it).  Event time ``e`` compares the change from the base
    to review ``cohort + e`` between borrowers and households not yet borrowing by then.
    Leads (``e <= -2``) should be near zero when the comparison is valid: for ``exit`` they
    compare the share not poor *before* the base among households poor at it.

    Parameters
    ----------
    alpha : float
        The intervals have level ``1 - alpha`` (t with clusters - 1 degrees of freedom).
    Other parameters are those of :func:`estimate_effect`.

    Returns
    -------
    EventStudy

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). https://doi.org/10.1016/j.jeconom.2020.12.001

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> es = event_study(p.households, p.loans)
    >>> es.table["event_time"].tolist()
    [-3, -2, -1, 0, 1, 2]
    >>> es.pretrend["df"]
    2
    """
    _interval(0.0, 1.0, 1, alpha)  # checks alpha before the work
    data = _prepare(households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff,
                    missing_pre=missing_pre)
    population, pop = _population(data.levels, outcome, population)
    design = _design(data, _outcome(data.levels, outcome), pop, comparison)
    gt = design.cells.copy()
    gt.loc[gt["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    return EventStudy(design.event_study(alpha=alpha), design.pretrend_test(), gt, outcome, population, comparison,
                      data.years)


# --------------------------------------------------------------------------- heterogeneity


@dataclass
class Heterogeneity:
    """Effects by subgroup (what :func:`heterogeneity` returns).

    Attributes
    ----------
    table : DataFrame
        ``by``, ``group``, ``effect``, ``se``, ``ci_lower``, ``ci_upper``, ``n``,
        ``n_treated``, ``n_control``, ``suppressed`` (fewer than
        :data:`povanalysis.config.MIN_CELL` borrowers, or not estimable; numbers set to NaN),
        ``note``.
    tests : DataFrame
        Per ``by``: test that the groups' effects are equal (``stat`` F with ``df`` and
        ``df_denom`` degrees of freedom, ``pvalue``; :func:`povanalysis.impact.did.wald_test`).
    method, outcome, population, comparison : str
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    method: str
    outcome: str
    population: str
    comparison: str

    def to_frame(self) -> pd.DataFrame:
        """The subgroup table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table of the subgroup effects and equality tests (returned)."""
        lines = [f"Heterogeneity of the {self.method} estimate: {_TEXT[self.outcome][1].lower()}"]
        for by, part in self.table.groupby("by", sort=False):
            lines.append(f"  by {by}:")
            for r in part.itertuples():
                lines.append(f"    {r.group:<16} " + ("suppressed" + (f" ({r.note})" if r.note else "") if r.suppressed
                                                     else f"{r.effect:8.4f} (se {r.se:.4f}) [{r.ci_lower:.4f}, "
                                                          f"{r.ci_upper:.4f}], {r.n_treated:,} borrowers"))
            t = self.tests[self.tests["by"] == by].iloc[0]
            lines.append(f"    equality: F({t['df']}, {t['df_denom']}) = {t['stat']:.2f}, p = {t['pvalue']:.3f}"
                         if t["df"] else
                         "    equality: fewer than two groups estimable")
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """Sentences on the equality tests, in ``lang``."""
        check_lang(lang)
        out = []
        for t in self.tests.itertuples():
            what = _t(f"by_{t.by}", lang)
            if not t.df:
                out.append(f"{what}: " + ("chưa đủ nhóm để so sánh." if lang == "vi" else "too few groups to compare."))
            elif lang == "vi":
                out.append(f"{what}: kiểm định tác động bằng nhau giữa các nhóm F({t.df}, {t.df_denom}) = "
                           f"{_num(t.stat, lang, 2)}, "
                           f"p = {_num(t.pvalue, lang, 3)}.")
            else:
                out.append(f"{what}: test of equal effects across groups F({t.df}, {t.df_denom}) = "
                           f"{_num(t.stat, lang, 2)}, "
                           f"p = {_num(t.pvalue, lang, 3)}.")
        return " ".join(out)


def _groups(levels: pd.DataFrame, by: str) -> pd.Series:
    if by == "minority":
        return pd.Series(np.where(levels["minority"] > 0, "minority", "majority"), index=levels.index)
    if by == "old_area":
        return levels["old_area"].astype(str)
    if by == "disadvantaged":
        return pd.Series(np.where(levels["disadvantaged"], "disadvantaged", "other_communes"), index=levels.index)
    return levels["eligible_class"].astype(str)


_GROUP_ORDER = {"minority": ["majority", "minority"], "old_area": ["thai_nguyen", "bac_kan"],
                "disadvantaged": ["other_communes", "disadvantaged"], "programme": list(PROGRAMMES)}
_GROUP_COVARIATES = {"minority": ("minority",), "old_area": ("bac_kan",), "disadvantaged": ("disadvantaged",),
                     "programme": ()}


def heterogeneity(households: pd.DataFrame, loans: pd.DataFrame, *, by: str | Sequence[str] = "minority",
                  outcome: str = "exit", method: str = "did", disadvantaged: Iterable[str] | None = None,
                  years: Iterable[int] | None = None, cluster: str = "commune_code", population: str | None = None,
                  comparison: str = "not_yet", covariates: Sequence[str] | None = None,
                  review_cutoff: str = REVIEW_CUTOFF, missing_pre: str = "raise",
                  alpha: float = 0.05) -> Heterogeneity:
    """The loan effect by ethnic-minority status, programme, old province or disadvantaged commune.

    Each group is estimated separately: borrowers and comparison households both come from
    the group (defined at the review before the loan).  ``programme`` groups households by
    the VBSP household programme they qualify for at that review (poor, near-poor, newly
    escaped), which is the programme of a borrower's loan; it needs
    ``population="eligible"`` and an outcome other than ``exit``.  The grouping variable is
    left out of the covariates within its own groups.  Groups with fewer than
    :data:`povanalysis.config.MIN_CELL` borrowers, or that cannot be estimated (no
    comparison households, or covariates constant or collinear within the group), are
    suppressed, with the reason in ``note``.

    Parameters
    ----------
    by : str or sequence of str
        Among :data:`HETEROGENEITY`.
    disadvantaged : iterable of str
        Commune codes of the disadvantaged communes (for instance
        :func:`povanalysis.data.pipeline.load_disadvantaged`); required for ``by="disadvantaged"``.
    method : {"naive", "fe", "did", "ipw"}
    alpha : float
        The intervals have level ``1 - alpha``.
    Other parameters are those of :func:`estimate_effect`.

    Returns
    -------
    Heterogeneity

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> h = heterogeneity(p.households, p.loans, by="old_area")
    >>> h.table["group"].tolist()
    ['thai_nguyen', 'bac_kan']
    """
    _interval(0.0, 1.0, 1, alpha)  # checks alpha before the work
    bys = [by] if isinstance(by, str) else list(by)
    if not bys:
        raise ValueError("'by' names no grouping")
    for b in bys:
        if b not in HETEROGENEITY:
            raise ValueError(f"by must be among {HETEROGENEITY}, got {b!r}")
    if method not in ("naive",) + _CREDIBLE:
        raise ValueError(f"heterogeneity needs method 'naive', 'fe', 'did' or 'ipw', got {method!r}")
    if "disadvantaged" in bys and disadvantaged is None:
        raise ValueError("by='disadvantaged' needs the codes of the disadvantaged communes: pass "
                         "disadvantaged=pipeline.load_disadvantaged()")
    if isinstance(disadvantaged, str):
        raise TypeError(f"'disadvantaged' should be a collection of commune codes, got the string {disadvantaged!r}")
    pop_name = "poor" if population is None else population
    if "programme" in bys and (outcome == "exit" or pop_name != "eligible"):
        raise ValueError("heterogeneity by programme needs population='eligible' and outcome 'log_income' or "
                         "'deprivations': exit from poverty is defined only for poor households, who all borrow "
                         "under the poor-household programme")
    data = _prepare(households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff,
                    missing_pre=missing_pre, disadvantaged=disadvantaged)
    if "disadvantaged" in bys and not data.levels["disadvantaged"].any():
        raise ValueError("no household of the panel lives in one of the given disadvantaged communes")
    if covariates is None:
        covariates = DEFAULT_COVARIATES if method == "ipw" else ()
    _covariate_matrix(data.levels, data.levels.index[:0], covariates)  # names checked once, before the groups
    rows, tests = [], []
    for b in bys:
        groups = _groups(data.levels, b)
        # Within its own groups the grouping variable is constant: it cannot be a covariate there.
        covs = tuple(c for c in covariates if c not in _GROUP_COVARIATES[b])
        fits = {}
        for g in _GROUP_ORDER[b]:
            mask = (groups == g).to_numpy()
            try:
                fit = _run(data, outcome=outcome, method=method, population=population, comparison=comparison,
                           covariates=covs, extra_mask=mask)
            except (_NoVariation, _DesignError) as exc:
                rows.append((b, g, np.nan, np.nan, np.nan, np.nan, 0, 0, 0, True, str(exc)))
                continue
            lo, hi = fit.conf_int(alpha)
            small = fit.n_treated < config.MIN_CELL
            rows.append((b, g, fit.effect, fit.se, lo, hi, fit.n, fit.n_treated, fit.n_control, small,
                         "fewer borrowers than the publication threshold" if small else ""))
            if not small:
                fits[g] = fit
        if len(fits) >= 2:
            theta = np.array([f.effect for f in fits.values()])
            psi = pd.concat([f.psi for f in fits.values()], axis=1).fillna(0.0).to_numpy()
            r = np.column_stack([np.eye(len(theta) - 1), -np.ones(len(theta) - 1)])
            t = wald_test(theta, psi, r)
            tests.append((b, t["stat"], t["df"], t["df_denom"], t["pvalue"]))
        else:
            tests.append((b, np.nan, 0, 0, np.nan))
    table = pd.DataFrame(rows, columns=["by", "group", "effect", "se", "ci_lower", "ci_upper", "n", "n_treated",
                                       "n_control", "suppressed", "note"])
    table.loc[table["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    tests = pd.DataFrame(tests, columns=["by", "stat", "df", "df_denom", "pvalue"])
    return Heterogeneity(table, tests, method, outcome, pop_name, comparison)


# --------------------------------------------------------------------------- cost per exit


@dataclass
class CostPerExit:
    """VND of credit per household that leaves poverty because of it (what :func:`cost_per_exit` returns).

    Attributes
    ----------
    vnd_per_exit : float
        Credit per exit caused: ``credit / (effect * poor borrowers)``; ``inf`` when the
        estimated effect is not positive.
    se : float
        Delta-method standard error of ``vnd_per_exit`` (NaN when it is infinite).
    effect : CreditEffect
        The effect on exit used.
    credit_per_poor_borrower : float
        Credit counted per poor borrower (VND): their own loans (``spending="poor"``) or all
        loans of the same years (``spending="all"``).
    n_borrowers : int
        Poor borrowers behind the effect.
    exits : float
        Exits caused among them: ``effect * n_borrowers``.
    spending : {"poor", "all"}
    interval : {"delta", "fieller"}
        How :meth:`conf_int` is computed.
    """

    vnd_per_exit: float
    se: float
    effect: CreditEffect
    credit_per_poor_borrower: float
    n_borrowers: int
    exits: float
    spending: str
    interval: str
    _log_se: float = field(repr=False, default=np.nan)
    _cov: np.ndarray = field(repr=False, default=None)

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """``(lower, upper)`` interval at level ``1 - alpha``.

        ``delta``: the delta method on the log scale, ``vnd_per_exit * exp(±q * se_log)``
        where ``se_log`` combines the relative errors of the credit per borrower and of the
        effect (with their covariance); when the effect's own interval reaches zero, no finite
        upper limit exists and the upper bound is ``inf``.  ``fieller``: Fieller's interval for
        a ratio, unbounded above when the effect is not significantly positive.
        """
        q = _interval(0.0, 1.0, self.effect.n_clusters - 1, alpha)[1]
        tau, se_tau, a = self.effect.effect, self.effect.se, self.credit_per_poor_borrower
        if tau <= 0:
            top = tau + q * se_tau
            return (float(a / top) if top > 0 else np.inf), np.inf
        if self.interval == "delta":
            lo = self.vnd_per_exit * np.exp(-q * self._log_se)
            hi = np.inf if tau - q * se_tau <= 0 else self.vnd_per_exit * np.exp(q * self._log_se)
            return float(lo), float(hi)
        # Fieller: every ratio r with (a - r tau)^2 <= q^2 Var(a - r tau).
        va, vt, c = self._cov[0, 0], self._cov[1, 1], self._cov[0, 1]
        qa, qb, qc = tau**2 - q**2 * vt, -2 * (a * tau - q**2 * c), a**2 - q**2 * va
        disc = qb**2 - 4 * qa * qc
        if disc < 0:
            return 0.0, np.inf
        roots = sorted(((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)))
        if qa > 0:
            return float(roots[0]), float(roots[1])
        # Not significantly positive: the set is unbounded above.
        return (float(max(roots[1], 0.0)) if self.vnd_per_exit >= roots[1] else 0.0), np.inf

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``vnd_per_exit``, ``se``, ``ci_lower``, ``ci_upper``, ``effect``, ``effect_se``,
        ``credit_per_poor_borrower``, ``n_borrowers``, ``exits``, ``method``, ``spending``, ``interval``."""
        lo, hi = self.conf_int()
        return pd.DataFrame([{
            "vnd_per_exit": self.vnd_per_exit, "se": self.se, "ci_lower": lo, "ci_upper": hi,
            "effect": self.effect.effect, "effect_se": self.effect.se,
            "credit_per_poor_borrower": self.credit_per_poor_borrower, "n_borrowers": self.n_borrowers,
            "exits": self.exits, "method": self.effect.method, "spending": self.spending, "interval": self.interval,
        }])

    def summary(self) -> str:
        """Plain-text account (returned)."""
        lo, hi = self.conf_int()
        what = ("loans to the poor borrowers" if self.spending == "poor"
                else "all VBSP household loans of the same years")
        return "\n".join([
            f"Cost per exit from poverty ({self.effect.label}{', BIASED' if self.effect.biased else ''})",
            f"  {self.vnd_per_exit / 1e6:,.1f} million VND per household lifted out of poverty, 95% interval "
            f"[{lo / 1e6:,.1f}, {hi / 1e6:,.1f}] million "
            f"({'delta method, log scale' if self.interval == 'delta' else 'Fieller'})",
            f"  credit counted: {what}, {self.credit_per_poor_borrower / 1e6:,.1f} million VND per poor borrower",
            f"  effect on exit {self.effect.effect:.4f} (s.e. {self.effect.se:.4f}) over {self.n_borrowers:,} poor "
            f"borrowers: {self.exits:,.1f} exits caused",
        ])

    def text(self, lang: str = "vi") -> str:
        """One sentence, in ``lang``."""
        check_lang(lang)
        lo, hi = self.conf_int()
        mil = "triệu đồng" if lang == "vi" else "million VND"
        fmt = (lambda v: "∞" if not np.isfinite(v) else _num(v / 1e6, lang, 0))
        if not np.isfinite(self.vnd_per_exit):
            return ("Tác động ước lượng không dương nên không tính được chi phí cho mỗi hộ thoát nghèo."
                    if lang == "vi" else "The estimated effect is not positive, so no cost per exit can be computed.")
        if lang == "vi":
            return (f"Mỗi hộ thoát nghèo nhờ vốn vay ứng với khoảng {fmt(self.vnd_per_exit)} {mil} vốn giải ngân "
                    f"(KTC 95%: {fmt(lo)} đến {fmt(hi)} {mil}; "
                    f"{'phương pháp delta' if self.interval == 'delta' else 'phương pháp Fieller'}), "
                    f"dựa trên {format_number(self.n_borrowers, lang)} hộ nghèo vay vốn.")
        return (f"Each household lifted out of poverty by a loan corresponds to about {fmt(self.vnd_per_exit)} {mil} "
                f"of credit disbursed (95% CI {fmt(lo)} to {fmt(hi)} {mil}; "
                f"{'delta method' if self.interval == 'delta' else 'Fieller'}), from "
                f"{format_number(self.n_borrowers, lang)} poor borrowers.")


def cost_per_exit(households: pd.DataFrame, loans: pd.DataFrame, *, method: str = "did", spending: str = "poor",
                  interval: str = "fieller", years: Iterable[int] | None = None, cluster: str = "commune_code",
                  comparison: str = "not_yet", covariates: Sequence[str] | None = None,
                  review_cutoff: str = REVIEW_CUTOFF, missing_pre: str = "raise") -> CostPerExit:
    """VND of VBSP credit disbursed per household that leaves poverty because of it.

    ``vnd_per_exit = C / τ``, where ``τ`` is the effect on exit (:func:`estimate_effect`,
    ``outcome="exit"``) and ``C`` the credit per poor borrower of the cohorts behind ``τ``:
    their own first-interval loans (``spending="poor"``), or every household loan of the
    same intervals divided by the poor borrowers (``spending="all"``: loans to near-poor and
    newly escaped households lift nobody out of poverty at that review, so they add cost
    without exits).  Uncertainty: the delta method on the log scale using the joint
    clustered influence values of ``C`` and ``τ`` (default), or Fieller's interval.

    Parameters
    ----------
    method : {"fe", "did", "ipw", "naive"}
        Estimator of ``τ`` (``naive`` is biased and flagged as such).
    spending : {"poor", "all"}
    interval : {"fieller", "delta"}
        Fieller's interval (default) covers the cost at its level in the simulation study
        (:mod:`povanalysis.impact.simulation`); the delta method's falls short when the effect is
        imprecise (87% of 95% intervals in panels of about 4,300 households).
    Other parameters are those of :func:`estimate_effect`.

    Returns
    -------
    CostPerExit

    References
    ----------
    Fieller, E. C. (1954). Some problems in interval estimation. *JRSS B* 16(2), 175–185.
    https://doi.org/10.1111/j.2517-6161.1954.tb00159.x

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> c = cost_per_exit(p.households, p.loans)
    >>> c.vnd_per_exit > c.credit_per_poor_borrower
    True
    """
    if method not in ("naive",) + _CREDIBLE:
        raise ValueError("cost per exit needs an effect on exit from method 'fe', 'did', 'ipw' or 'naive', "
                         f"got {method!r}")
    if spending not in ("poor", "all"):
        raise ValueError(f"spending must be 'poor' or 'all', got {spending!r}")
    if interval not in ("delta", "fieller"):
        raise ValueError(f"interval must be 'delta' or 'fieller', got {interval!r}")
    data = _prepare(households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff,
                    missing_pre=missing_pre)
    fit = _run(data, outcome="exit", method=method, population="poor", comparison=comparison, covariates=covariates)
    lv = data.levels
    cohorts = set(fit.details["cohort"].astype(int))
    base = lv[np.isin(lv["review_year"] + 1, list(cohorts))]
    seen_next = pd.Series(_keys(base["_hh"], base["review_year"] + 1)).isin(
        _keys(lv["_hh"], lv["review_year"])).to_numpy()
    poor_borrower = (base["poor"].to_numpy() & (base["cohort"].to_numpy() == base["review_year"].to_numpy() + 1)
                     & seen_next)
    if spending == "poor":
        amounts = np.where(poor_borrower, base["amount"].to_numpy(dtype=float), 0.0)
        clusters = base["_cluster"].to_numpy()
    else:
        lc = data.loans[data.loans["cohort"].isin(cohorts) & np.isin(data.loans["_hh"], lv["_hh"])]
        home = lv.drop_duplicates("_hh").set_index("_hh")["_cluster"]
        amounts = np.r_[lc["amount"].to_numpy(), np.zeros(len(base))]
        clusters = np.r_[home.reindex(lc["_hh"]).to_numpy(), base["_cluster"].to_numpy()]
        poor_borrower = np.r_[np.zeros(len(lc), bool), poor_borrower]
    n_b = int(poor_borrower.sum())
    if n_b == 0:
        raise _NoVariation("no poor borrower behind the effect: cost per exit cannot be computed")
    c_mean = amounts.sum() / n_b
    inf = (amounts - c_mean * poor_borrower) / n_b
    codes, labels = pd.factorize(clusters, sort=True)
    psi_c = pd.Series(np.bincount(codes, inf, minlength=len(labels)), index=data.cluster_labels[labels])
    joint = pd.concat([psi_c, fit.psi], axis=1).fillna(0.0).to_numpy()
    cov = clustered_vcov(joint)
    tau = fit.effect
    if tau > 0:
        ratio = c_mean / tau
        log_se = float(np.sqrt(cov[0, 0] / c_mean**2 + cov[1, 1] / tau**2 - 2 * cov[0, 1] / (c_mean * tau)))
        se = ratio * log_se
    else:
        ratio, log_se, se = np.inf, np.nan, np.nan
    return CostPerExit(float(ratio), float(se), fit, float(c_mean), n_b, float(tau * n_b), spending, interval,
                       log_se, cov)


# --------------------------------------------------------------------------- tables and text


def _truth_value(truth, outcome: str, population: str) -> float | None:
    if truth is None:
        return None
    if isinstance(truth, Mapping):
        if outcome == "exit":
            return float(truth["credit_effect"])
        if outcome == "log_income" and population == "poor" and "mean_log_income_gain_exit_events" in truth:
            return float(truth["mean_log_income_gain_exit_events"])
        if outcome == "deprivations" and "deprivation_effect" in truth:
            return float(truth["deprivation_effect"])
        return None
    return float(truth)


def compare_table(results: Sequence[CreditEffect], *, truth: Mapping | float | None = None,
                  lang: str = "vi") -> pd.DataFrame:
    """Estimates side by side for display, in ``lang``, in display units (points for exit).

    ``truth`` (the synthetic generator's record, :func:`povanalysis.data.pipeline.load_truth`, or a
    number) adds a row labelled as the generator's planted value.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> compare_table([r], truth=0.1, lang="en").iloc[:, 1].tolist()
    [10.0, 10.0]
    """
    check_lang(lang)
    results = list(results)
    if not results:
        raise ValueError("'results' is empty")
    outcomes = {r.outcome for r in results}
    if len(outcomes) > 1:
        raise ValueError(f"'results' mix outcomes {sorted(outcomes)}; compare one outcome at a time")
    outcome = results[0].outcome
    s = _SCALE[outcome]
    unit = _t(f"unit_{outcome}", lang)
    rows = []
    for r in results:
        lo, hi = r.conf_int()
        rows.append((r.name(lang), round(s * r.effect, 2), round(s * r.se, 2), round(s * lo, 2), round(s * hi, 2),
                     r.n_treated, r.n))
    value = _truth_value(truth, outcome, results[0].population)
    if value is not None:
        rows.append((_t("truth", lang), round(s * value, 2), np.nan, np.nan, np.nan, np.nan, np.nan))
    lower, upper = ("Cận dưới", "Cận trên") if lang == "vi" else ("Lower", "Upper")
    out = pd.DataFrame(rows, columns=[_t("method", lang), f"{_t('effect', lang)} ({unit})", _t("se", lang),
                                      f"{lower} 95%", f"{upper} 95%", _t("n_treated", lang), _t("n", lang)])
    for col in out.columns[-2:]:
        out[col] = out[col].astype("Int64")
    return out


def headline_text(results: Sequence[CreditEffect], *, truth: Mapping | float | None = None, lang: str = "vi") -> str:
    """A paragraph setting the naive estimate against the credible ones (and the planted value), in ``lang``.

    Examples
    --------
    >>> a = CreditEffect(0.14, 0.02, 900, 100, 800, 50, "naive", "exit", "poor", "never", (2021, 2025),
    ...                  True, pd.DataFrame())
    >>> b = CreditEffect(0.10, 0.03, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> headline_text([a, b], lang="en").split(". ")[0]
    'Comparing borrowers with households that never borrowed gives 14.0 percentage points (95% CI 10.0 to 18.0)'
    """
    check_lang(lang)
    results = list(results)
    if not results:
        raise ValueError("'results' is empty")
    outcome = results[0].outcome
    s = _SCALE[outcome]
    unit = _t(f"unit_{outcome}", lang)

    def one(r):
        lo, hi = r.conf_int()
        conj = "đến" if lang == "vi" else "to"
        ci = "KTC 95%:" if lang == "vi" else "95% CI"
        return f"{_num(s * r.effect, lang)} {unit} ({ci} {_num(s * lo, lang)} {conj} {_num(s * hi, lang)})"

    parts = []
    for r in results:
        if not r.biased:
            continue
        if r.method == "naive" and lang == "vi":
            parts.append(f"So sánh thô giữa hộ vay và hộ chưa từng vay cho {one(r)}. Kết quả này có thiên lệch: hộ vay "
                         "khác hộ không vay ở những đặc điểm dữ liệu không thể hiện (như ý chí làm ăn), vốn cũng giúp "
                         "thoát nghèo.")
        elif r.method == "naive":
            parts.append(f"Comparing borrowers with households that never borrowed gives {one(r)}. This is biased: "
                         "borrowers differ from non-borrowers in traits the data do not show (such as drive) that also "
                         "help them leave poverty.")
        elif lang == "vi":
            parts.append(f"{r.name(lang)} cho {one(r)}: làm cho hộ chưa từng vay giống hộ vay về những đặc điểm quan "
                         "sát được vẫn không loại bỏ được khác biệt ở những đặc điểm không quan sát được.")
        else:
            parts.append(f"{r.name(lang)} gives {one(r)}: making never-borrowers look like borrowers on what the data "
                         "show does not remove the difference in what they do not show.")
    credible = [r for r in results if not r.biased]
    if credible:
        listed = "; ".join(f"{r.name(lang)}: {one(r)}" for r in credible)
        parts.append(("So sánh hộ vay với hộ có hoàn cảnh như nhau nhưng vay muộn hơn: " if lang == "vi" else
                      "Comparing borrowers with households in the same situation that borrow later: ") + listed + ".")
    value = _truth_value(truth, outcome, results[0].population)
    if value is not None:
        extra = ""
        if isinstance(truth, Mapping) and outcome == "exit" and "credit_effect_realised" in truth:
            real = _num(s * truth["credit_effect_realised"], lang, 2)
            extra = f" ({'thực hiện trong mẫu' if lang == 'vi' else 'realised in the sample'}: {real})"
        parts.append(f"{_t('truth', lang)}: {_num(s * value, lang)} {unit}{extra}.")
    return " ".join(parts)


# --------------------------------------------------------------------------- figures


def _figure_layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, font=FONT, template="plotly_white", legend_title_text="", xaxis_title=x,
                      yaxis_title=y, margin=dict(l=60, r=20, t=70, b=50))
    return fig


def plot_event_study(study: EventStudy, *, truth: Mapping | float | None = None, lang: str = "vi",
                     fig: go.Figure | None = None) -> go.Figure:
    """Leads and lags with 95% intervals; the base review is the reference (0); suppressed points are left out.

    Examples
    --------
    >>> t = pd.DataFrame({"event_time": [-2, -1, 0], "effect": [0.01, 0.0, 0.1], "se": [0.02, np.nan, 0.03],
    ...                   "ci_lower": [-0.03, np.nan, 0.04], "ci_upper": [0.05, np.nan, 0.16],
    ...                   "n_treated": [50, 0, 60], "n_control": [70, 0, 80], "suppressed": [False] * 3,
    ...                   "reference": [False, True, False]})
    >>> test = {"stat": 0.25, "df": 1, "df_denom": 40, "pvalue": 0.62, "event_times": (-2,)}
    >>> es = EventStudy(t, test, t, "exit", "poor", "not_yet", (2021, 2025))
    >>> f = plot_event_study(es, lang="en")
    >>> [round(v, 1) for v in f.data[0].y]
    [1.0, 10.0]
    """
    check_lang(lang)
    if not isinstance(study, EventStudy):
        raise TypeError(f"'study' should be an EventStudy, got {type(study).__name__}")
    s = _SCALE[study.outcome]
    t = study.table
    est = t[~t["reference"] & ~t["suppressed"]]
    ref = t[t["reference"]]
    fig = fig if fig is not None else go.Figure()
    fig.add_trace(go.Scatter(
        x=est["event_time"].tolist(), y=(s * est["effect"]).tolist(), mode="markers",
        name=_t("effect", lang), marker=dict(color=PALETTE[0], size=10),
        error_y=dict(type="data", symmetric=False, array=(s * (est["ci_upper"] - est["effect"])).tolist(),
                     arrayminus=(s * (est["effect"] - est["ci_lower"])).tolist(), color=PALETTE[0]),
        hovertemplate="%{x}: %{y:.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=ref["event_time"].tolist(), y=[0.0] * len(ref), mode="markers",
                             name=_t("reference", lang), marker=dict(color=PALETTE[7], size=10, symbol="circle-open")))
    value = _truth_value(truth, study.outcome, study.population)
    if value is not None:
        fig.add_trace(go.Scatter(x=[0], y=[s * value], mode="markers", name=_t("truth", lang),
                                 marker=dict(color=PALETTE[1], size=12, symbol="x")))
    fig.add_hline(y=0, line=dict(color="#888888", width=1))
    fig.add_vline(x=-0.5, line=dict(color="#888888", width=1, dash="dash"))
    p = study.pretrend
    title = f"{_t('event', lang)}: {_t(study.outcome, lang).lower()}"
    if p["df"]:
        title += f"<br><sup>{_t('pretrend', lang)}: p = {_num(p['pvalue'], lang, 3)}</sup>"
    hidden = int(t["suppressed"].sum())
    if hidden:
        title += f"<br><sup>{hidden} {_t('suppressed', lang)}</sup>"
    fig.update_xaxes(dtick=1)
    y_title = f"{_t('effect', lang)} ({_t('unit_' + study.outcome, lang)})"
    return _figure_layout(fig, title, _t("event_time", lang), y_title)


def _forest_rows(estimates, lang: str) -> tuple[pd.DataFrame, str, str]:
    if isinstance(estimates, Heterogeneity):
        t = estimates.table
        names = [f"{_t('by_' + b, lang)}: {_t(g, lang)}" for b, g in zip(t["by"], t["group"])]
        frame = pd.DataFrame({"name": names, "effect": t["effect"], "ci_lower": t["ci_lower"],
                              "ci_upper": t["ci_upper"], "suppressed": t["suppressed"], "biased": False})
        return frame, estimates.outcome, estimates.population
    if isinstance(estimates, pd.DataFrame):
        need = ["name", "effect", "ci_lower", "ci_upper"]
        missing = [c for c in need if c not in estimates.columns]
        if missing:
            raise ValueError(f"'estimates' lacks the columns {missing}")
        frame = estimates.assign(suppressed=estimates.get("suppressed", False), biased=estimates.get("biased", False))
        return frame, estimates.attrs.get("outcome", "exit"), estimates.attrs.get("population", "poor")
    results = list(estimates)
    if not results or not all(isinstance(r, CreditEffect) for r in results):
        raise TypeError("'estimates' should be CreditEffect results, a Heterogeneity result or a DataFrame")
    if len({r.outcome for r in results}) > 1:
        raise ValueError("'estimates' mix outcomes; plot one outcome at a time")
    rows = [(r.name(lang), r.effect, *r.conf_int(), r.n_treated < config.MIN_CELL, r.biased) for r in results]
    return (pd.DataFrame(rows, columns=["name", "effect", "ci_lower", "ci_upper", "suppressed", "biased"]),
            results[0].outcome, results[0].population)


def plot_forest(estimates, *, truth: Mapping | float | None = None, lang: str = "vi",
                title: str | None = None, fig: go.Figure | None = None) -> go.Figure:
    """Forest plot of estimates with 95% intervals: methods, or subgroups of :func:`heterogeneity`.

    Biased estimates are drawn in a warning colour; suppressed ones are left out and counted in
    the title.  ``truth`` draws the synthetic generator's planted value as a vertical line.

    Parameters
    ----------
    estimates : sequence of CreditEffect, Heterogeneity, or DataFrame
        A DataFrame needs ``name``, ``effect``, ``ci_lower``, ``ci_upper`` (in the outcome's own
        units) and may carry ``attrs["outcome"]``.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> f = plot_forest([r], truth=0.1, lang="en")
    >>> list(f.data[0].y), list(f.data[0].x)
    (["Staggered DiD (Callaway–Sant'Anna)"], [10.0])
    """
    check_lang(lang)
    frame, outcome, population = _forest_rows(estimates, lang)
    s = _SCALE[outcome]
    shown = frame[~frame["suppressed"].astype(bool)]
    fig = fig if fig is not None else go.Figure()
    for biased, part in shown.groupby(shown["biased"].astype(bool), sort=True):
        colour = PALETTE[1] if biased else PALETTE[0]
        fig.add_trace(go.Scatter(
            x=(s * part["effect"]).tolist(), y=part["name"].tolist(), mode="markers",
            marker=dict(color=colour, size=11, symbol="diamond" if biased else "circle"),
            error_x=dict(type="data", symmetric=False, array=(s * (part["ci_upper"] - part["effect"])).tolist(),
                         arrayminus=(s * (part["effect"] - part["ci_lower"])).tolist(), color=colour),
            name=("Có thiên lệch" if lang == "vi" else "Biased") if biased else _t("effect", lang),
            hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    value = _truth_value(truth, outcome, population)
    if value is not None:
        fig.add_vline(x=s * value, line=dict(color=PALETTE[2], width=2, dash="dot"),
                      annotation_text=_t("truth", lang), annotation_position="top")
    fig.add_vline(x=0, line=dict(color="#888888", width=1))
    text = title or f"{_t('forest', lang)}: {_t(outcome, lang).lower()}"
    hidden = int(frame["suppressed"].astype(bool).sum())
    if hidden:
        text += f"<br><sup>{hidden} {_t('suppressed', lang)}</sup>"
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=180 + 45 * len(shown))
    return _figure_layout(fig, text, f"{_t('effect', lang)} ({_t('unit_' + outcome, lang)})", "")


_COVARIATE_KEYS = {"log_income": "log_income_cov", "deprivations": "deprivations_cov"}


def plot_balance(balance, *, lang: str = "vi", threshold: float = 0.1, fig: go.Figure | None = None) -> go.Figure:
    """Covariate balance (love plot): standardised mean differences before and after IPW weighting.

    Parameters
    ----------
    balance : CreditEffect or DataFrame
        An ``ipw`` result (its ``balance``) or a table with ``covariate``, ``smd_unweighted``,
        ``smd_weighted``.
    threshold : float
        Dotted guides at ``±threshold`` (0.1 is the usual rule of thumb).

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. *Stat. Med.*
    28(25), 3083–3107. https://doi.org/10.1002/sim.3697

    Examples
    --------
    >>> b = pd.DataFrame({"covariate": ["minority", "size"], "smd_unweighted": [0.3, -0.2],
    ...                   "smd_weighted": [0.01, 0.02], "suppressed": [False, False]})
    >>> f = plot_balance(b, lang="en")
    >>> list(f.data[0].y), list(f.data[1].x)
    (['Ethnic-minority households', 'Household size'], [0.01, 0.02])
    """
    check_lang(lang)
    if isinstance(balance, CreditEffect):
        if balance.balance is None:
            raise ValueError(f"the {balance.method!r} result has no balance table: use method='ipw'")
        table = balance.balance
    elif isinstance(balance, pd.DataFrame):
        table = balance
    else:
        raise TypeError(f"'balance' should be an ipw CreditEffect or a DataFrame, got {type(balance).__name__}")
    missing = [c for c in ("covariate", "smd_unweighted", "smd_weighted") if c not in table.columns]
    if missing:
        raise ValueError(f"'balance' lacks the columns {missing}")
    if "suppressed" in table.columns:
        table = table[~table["suppressed"].astype(bool)]
    names = [_t(_COVARIATE_KEYS.get(c, c), lang) for c in table["covariate"]]
    fig = fig if fig is not None else go.Figure()
    for col, key, colour, symbol in (("smd_unweighted", "unweighted", PALETTE[1], "circle-open"),
                                     ("smd_weighted", "weighted", PALETTE[0], "circle")):
        fig.add_trace(go.Scatter(x=table[col].tolist(), y=names, mode="markers", name=_t(key, lang),
                                 marker=dict(color=colour, size=11, symbol=symbol),
                                 hovertemplate="%{y}: %{x:.3f}<extra>" + _t(key, lang) + "</extra>"))
    for x in (-threshold, threshold):
        fig.add_vline(x=x, line=dict(color="#888888", width=1, dash="dot"))
    fig.add_vline(x=0, line=dict(color="#888888", width=1))
    fig.update_layout(height=180 + 40 * len(names))
    return _figure_layout(fig, _t("balance", lang), _t("smd", lang), "")
