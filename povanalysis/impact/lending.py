"""VBSP lending at a review, set against the orders of magnitude that VBSP and the press report.

How many households hold a household-programme loan, how large loans and balances are, how the
three programmes (poor, near-poor, newly escaped) share the borrowers, how far lending covers the
eligible, how much principal is overdue, and how much measured
poverty jumps at the switch to the Decree 351 standard.  Each figure comes with the range the
reference gives (``REFERENCE``, with its source), so the same call checks that the synthetic
panel lends on a realistic scale and lets a researcher see where a real loan file stands.

The reference figures are national or provincial, of other years and sometimes of every VBSP
programme, and the press rounds them: the ranges are wide on purpose, for calibration and sanity
checks, never to be quoted as statistics of the province.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..common.checks import require_frame
from ..common.columns import isin
from ..measure.standards import classify
from ..targeting.beneficiaries import eligibility

__all__ = ["REFERENCE", "REPAYMENTS", "LendingCheck", "lending_check"]

#: How outstanding principal is counted, since a loan record carries no repayment schedule:
#: ``"at_maturity"`` (the whole amount until the term ends, the usual schedule of small VBSP
#: loans to poor households) or ``"equal_instalments"`` (the amount falls in a straight line
#: over the term, month by month).
REPAYMENTS = ("at_maturity", "equal_instalments")

#: The figures and their ranges: ``key``, ``low`` and ``high`` (in ``unit``), the reference value
#: in words and its source.  Reference §7 unless said otherwise; every figure there is tagged [S]
#: (press and VBSP reports), so the ranges are wide.
REFERENCE = pd.DataFrame(
    [
        (
            "borrower_share",
            7.0,
            15.0,
            "%",
            "about 11%: 1.1 million poor, 0.9 million near-poor and 1.0 million newly escaped borrowing households "
            "of about 27 million households (2019)",
            "VBSP, national (2019)",
        ),
        (
            "loans_per_1000",
            10.0,
            45.0,
            "per 1,000",
            "about 19: more than 6,500 loans to poor, near-poor and newly escaped households in 2023, about "
            "335,000 households",
            "VBSP, old Thai Nguyen (2023)",
        ),
        (
            "average_loan",
            30.0,
            70.0,
            "million VND",
            "32–35 million (household programmes, 2019) to about 66 million (new loans, first half of 2025)",
            "VBSP national (2019); old Bac Kan (2025)",
        ),
        (
            "outstanding_per_borrower",
            30.0,
            60.0,
            "million VND",
            "about 40 million (4.28 trillion over 108,000 borrowers, mid-2023) to about 54 million "
            "(367.6 trillion over 6.8 million, end-2024), every programme",
            "VBSP old Thai Nguyen (2023); national (2024)",
        ),
        (
            "mix_poor",
            25.0,
            50.0,
            "%",
            "about 37% of household-programme borrowers (1.1 of 3.0 million)",
            "VBSP, national (2019)",
        ),
        (
            "mix_near_poor",
            18.0,
            42.0,
            "%",
            "about 30% (0.9 of 3.0 million)",
            "VBSP, national (2019)",
        ),
        (
            "mix_newly_escaped",
            20.0,
            45.0,
            "%",
            "about 33% (1.0 of 3.0 million)",
            "VBSP, national (2019)",
        ),
        (
            "poor_borrowers_per_poor",
            0.5,
            2.0,
            "ratio",
            "of the same order: borrowers under the poor programme against poor households",
            "VBSP, national (2019)",
        ),
        (
            "eligible_coverage",
            30.0,
            75.0,
            "%",
            "not published; follows from the two figures above (most poor households borrow, some of the "
            "borrowers have left the lists)",
            "assumed",
        ),
        (
            "overdue_share",
            0.1,
            0.6,
            "% of outstanding",
            "about 0.15% (old Bac Kan, 2025) to 0.5–0.6% with frozen debt (national)",
            "VBSP old Bac Kan (2025); national (2024–2025)",
        ),
        (
            "standard_jump",
            2.0,
            3.5,
            "ratio",
            "about 2.9: poor and near-poor 11.7% under the Decree 351 lines against 4.06% under Decree 07 (end-2024)",
            "national projection",
        ),
    ],
    columns=["key", "low", "high", "unit", "reference", "source"],
)

_NAMES = {
    "borrower_share": "households with an outstanding household-programme loan",
    "loans_per_1000": "loans disbursed in the year per 1,000 households",
    "average_loan": "average loan disbursed in the year",
    "outstanding_per_borrower": "outstanding principal per borrowing household",
    "mix_poor": "borrowers under the poor programme",
    "mix_near_poor": "borrowers under the near-poor programme",
    "mix_newly_escaped": "borrowers under the newly escaped programme",
    "poor_borrowers_per_poor": "poor-programme borrowers per poor household",
    "eligible_coverage": "eligible households holding a loan",
    "overdue_share": "overdue principal",
    "standard_jump": "poor and near-poor under Decree 351 ÷ under Decree 07",
}


@dataclass
class LendingCheck:
    """What :func:`lending_check` returns.

    Attributes
    ----------
    table : DataFrame
        One row per figure of :data:`REFERENCE`: ``key``, ``name``, ``value``, ``low``,
        ``high``, ``unit``, ``in_range`` (missing when the figure cannot be computed, e.g. no
        ``overdue`` column), ``count`` (households or loans the figure rests on),
        ``reference`` and ``source``.
    review_year : int
        The review the figures describe.
    repayment : str
        How outstanding principal was counted (see :data:`REPAYMENTS`).
    """

    table: pd.DataFrame
    review_year: int
    repayment: str

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def passes(self) -> bool:
        """Whether every figure that could be computed lies in its range."""
        known = self.table["in_range"].dropna()
        return bool(known.astype(bool).all())

    def failures(self) -> pd.DataFrame:
        """The rows out of range."""
        return self.table[self.table["in_range"].eq(False)].reset_index(drop=True)

    def summary(self) -> str:
        """The figures, their ranges and sources, one line each."""
        lines = [f"VBSP lending at the {self.review_year} review against the reference ranges ({self.repayment}):"]
        for r in self.table.itertuples():
            value = "n/a" if pd.isna(r.value) else f"{r.value:,.2f}"
            mark = "" if pd.isna(r.in_range) else (" ok" if r.in_range else " OUT OF RANGE")
            lines.append(f"  {r.name:<58} {value:>9} [{r.low:g}, {r.high:g}] {r.unit}{mark}  ({r.source})")
        return "\n".join(lines)


def _month_index(dates: pd.Series) -> np.ndarray:
    d = pd.to_datetime(dates)
    return (d.dt.year.to_numpy() * 12 + d.dt.month.to_numpy() - 1).astype(np.int64)


def lending_check(
    classified: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    review_year: int | None = None,
    repayment: str = "at_maturity",
    old_standard: str = "2022-2025",
    new_standard: str = "2026-2030",
) -> LendingCheck:
    """VBSP household lending at one review against the reference ranges of :data:`REFERENCE`.

    A loan is *outstanding* at the review of year ``R`` when it was disbursed by 31 December of
    ``R`` and its term runs past that month.  Households are those reviewed in ``R``; the
    eligible are the poor, near-poor and newly escaped of that review
    (:func:`povanalysis.targeting.beneficiaries.eligibility`).  Loans disbursed in ``R`` are
    counted per 1,000 households of the review.  The overdue share is the principal of
    outstanding loans flagged ``overdue`` over all outstanding principal (missing without the
    column).  The standard jump classifies the households of ``R``
    under both standards and divides the poor and near-poor shares.

    Parameters
    ----------
    classified : DataFrame
        The classified panel (:func:`povanalysis.data.pipeline.classify_panel`): every review,
        with ``household_id``, ``review_year``, ``commune_code``, ``poverty_class``, ``area``
        and the deprivation columns of both standards.
    loans : DataFrame
        Loan records with ``household_id``, ``programme``, ``disbursed``, ``amount`` (VND) and
        ``term_months``; ``overdue`` optional.
    review_year : int, optional
        The review described (default: the last in ``classified``).
    repayment : {"at_maturity", "equal_instalments"}
        How outstanding principal is counted (:data:`REPAYMENTS`).
    old_standard, new_standard : str
        The standards compared by the jump.

    Returns
    -------
    LendingCheck

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> from povanalysis.data.pipeline import classify_panel
    >>> p = synth.generate(seed=1, scale=0.02)
    >>> check = lending_check(classify_panel(p.households), p.loans)
    >>> check.review_year, len(check.table)
    (2025, 11)
    """
    require_frame(classified, "classified", ["household_id", "review_year", "commune_code", "poverty_class"])
    require_frame(loans, "loans", ["household_id", "programme", "disbursed", "amount", "term_months"])
    if repayment not in REPAYMENTS:
        raise ValueError(f"repayment must be one of {REPAYMENTS}, got {repayment!r}")
    years = sorted(pd.unique(classified["review_year"]).tolist())
    year = int(years[-1] if review_year is None else review_year)
    if year not in years:
        raise ValueError(f"review_year {year} is not a review in the data: {years}")

    now = classified[classified["review_year"] == year]
    n_households = len(now)
    cls = now["poverty_class"].astype(str).to_numpy()

    review_month = year * 12 + 11
    start = _month_index(loans["disbursed"])
    term = pd.to_numeric(loans["term_months"]).to_numpy(np.int64)
    amount = pd.to_numeric(loans["amount"]).to_numpy(float)
    # Outstanding loans of the households of this review (not of households gone by then).
    live = (start <= review_month) & (start + term > review_month) & isin(loans["household_id"], now["household_id"])
    if repayment == "at_maturity":
        balance = amount
    else:
        elapsed = review_month - start + 1
        balance = amount * np.clip(1 - elapsed / np.maximum(term, 1), 0, 1)
    out = loans.loc[live, ["household_id", "programme"]].assign(balance=balance[live])
    borrowers = out["household_id"].drop_duplicates()
    holds = isin(now["household_id"], borrowers)

    values: dict[str, tuple[float, int]] = {}
    values["borrower_share"] = (100 * holds.mean() if n_households else np.nan, n_households)
    disbursed_now = pd.to_datetime(loans["disbursed"]).dt.year.to_numpy() == year
    values["loans_per_1000"] = (1000 * disbursed_now.sum() / n_households if n_households else np.nan, n_households)
    values["average_loan"] = (
        amount[disbursed_now].mean() / 1e6 if disbursed_now.any() else np.nan,
        int(disbursed_now.sum()),
    )
    per_borrower = out.groupby("household_id")["balance"].sum()
    values["outstanding_per_borrower"] = (
        per_borrower.mean() / 1e6 if len(per_borrower) else np.nan,
        len(per_borrower),
    )
    mix = out["programme"].astype(str).value_counts()
    for programme in ("poor", "near_poor", "newly_escaped"):
        values[f"mix_{programme}"] = (100 * mix.get(programme, 0) / len(out) if len(out) else np.nan, len(out))
    n_poor = int((cls == "poor").sum())
    poor_borrowers = out.loc[out["programme"].astype(str) == "poor", "household_id"].nunique()
    values["poor_borrowers_per_poor"] = (poor_borrowers / n_poor if n_poor else np.nan, n_poor)

    elig = eligibility(classified)
    elig_now = elig.loc[elig["review_year"] == year]
    eligible = elig_now["eligible"].to_numpy(bool)
    covered = isin(elig_now["household_id"], borrowers) & eligible
    values["eligible_coverage"] = (
        100 * covered.sum() / eligible.sum() if eligible.any() else np.nan,
        int(eligible.sum()),
    )

    if "overdue" in loans.columns:
        flag = loans.loc[live, "overdue"].astype("boolean").fillna(False).to_numpy(bool)
        total = balance[live].sum()
        values["overdue_share"] = (100 * balance[live][flag].sum() / total if total else np.nan, int(live.sum()))
    else:
        values["overdue_share"] = (np.nan, 0)

    values["standard_jump"] = _jump(now, old_standard, new_standard)

    ref = REFERENCE.set_index("key")
    rows = []
    for key, (value, count) in values.items():
        r = ref.loc[key]
        ok = pd.NA if not np.isfinite(value) else bool(r["low"] <= value <= r["high"])
        rows.append(
            (
                key,
                _NAMES[key],
                float(value),
                r["low"],
                r["high"],
                r["unit"],
                ok,
                int(count),
                r["reference"],
                r["source"],
            )
        )
    table = pd.DataFrame(
        rows, columns=["key", "name", "value", "low", "high", "unit", "in_range", "count", "reference", "source"]
    )
    table["in_range"] = table["in_range"].astype("boolean")
    return LendingCheck(table, year, repayment)


def _jump(now: pd.DataFrame, old_standard: str, new_standard: str) -> tuple[float, int]:
    """Poor and near-poor under the new standard ÷ under the old, for the households of one review."""
    try:
        old = classify(now, standard=old_standard).isin(["poor", "near_poor"]).mean()
        new = classify(now, standard=new_standard).isin(["poor", "near_poor"]).mean()
    except ValueError:  # a standard's deprivation columns are missing: the jump cannot be computed
        return np.nan, 0
    return (new / old if old else np.nan), len(now)
