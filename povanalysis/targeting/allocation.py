"""Allocating a VBSP credit budget across communes and programmes to maximise expected exits from poverty.

One module because the linear programme, its rounding to whole loans and the proportional comparison
share the problem's arrays (eligible households, ceilings, floors, effects) and must stay consistent.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..common.checks import Z_95, require_frame, to_python
from ..common.deprecation import moved_names
from ..data.schema import PROGRAMMES

__all__ = [
    "CEILING_PER_HOUSEHOLD",
    "DEFAULT_MIN_SHARE_DISADVANTAGED",
    "EXACT_MAX_ROWS",
    "LoanEffect",
    "loan_effect",
    "allocation_table",
    "Allocation",
    "allocate_budget",
    "proportional_allocation",
    "compare_allocations",
]

#: Largest VBSP loan to one household, VND: 100 million without collateral (Decree 78/2002/ND-CP
#: as amended; Decision 28/2015/QĐ-TTg for the newly escaped).
CEILING_PER_HOUSEHOLD = 100_000_000

#: Default minimum share of the budget for disadvantaged (Region III) communes.  UNCONFIRMED:
#: no decree sets such a share for VBSP household lending; it stands for the province's
#: priority to those communes (reference §5–6) and should be set by the user.
DEFAULT_MIN_SHARE_DISADVANTAGED = 0.5

#: A per-row setting of :func:`allocate_budget`: one number, a column of ``communes``, or a mapping by programme.
PerRow = float | str | Mapping[str, float]

#: Largest problem (rows of commune × programme) solved as an exact integer programme by default.
EXACT_MAX_ROWS = 1000

#: Names that moved out of this module in 0.2.0, and their new homes (kept for one release).
_MOVED = MappingProxyType(
    {
        "comparison_text": "povanalysis.reports.prose.targeting",
        "comparison_figure": "povanalysis.figures.targeting",
    }
)


__getattr__ = moved_names(__name__, _MOVED)


# ----------------------------------------------------------------------------- the effect per loan


@dataclass(frozen=True)
class LoanEffect:
    """The effect of one loan on leaving poverty by the next review, and where it comes from.

    Attributes
    ----------
    effect, se : float
        Probability points per loan (a share, e.g. 0.10) and its standard error.
    source : {"estimate", "truth", "default"}
        ``estimate``: :func:`povanalysis.impact.credit.estimate_effect`; ``truth``: the synthetic
        generator's planted value; ``default``: :data:`DEFAULT_EFFECT` (an assumption).
    method : str
        Estimator or origin.
    """

    effect: float
    se: float
    source: str
    method: str

    def describe(self, lang: str = "vi") -> str:
        """Deprecated: :func:`povanalysis.reports.prose.targeting.loan_effect_text` says it in a sentence."""
        warnings.warn(
            "LoanEffect.describe moved to povanalysis.reports.prose.targeting.loan_effect_text; "
            "the old name will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return import_module("povanalysis.reports.prose.targeting").loan_effect_text(self, lang=lang)


#: Used only when neither an estimate nor the generator's value is available: a loan raises
#: the chance of leaving poverty by 5 points (SE 2.5).  An assumption, labelled as such.
DEFAULT_EFFECT = LoanEffect(effect=0.05, se=0.025, source="default", method="assumed")


def loan_effect(
    households: pd.DataFrame | None = None,
    loans: pd.DataFrame | None = None,
    *,
    truth: Mapping | None = None,
    method: str = "did",
) -> LoanEffect:
    """The effect per loan to use for allocation: estimated if possible, else the generator's, else the default.

    In order: :func:`povanalysis.impact.credit.estimate_effect` on ``households`` and ``loans``
    with ``outcome="exit"`` (when that module is installed and the estimate succeeds); the
    synthetic generator's planted ``credit_effect`` from ``truth`` (standard error 0, labelled
    as the generator's value); :data:`DEFAULT_EFFECT`.  The returned ``source`` says which.

    Examples
    --------
    >>> loan_effect(truth={"credit_effect": 0.1}).source in ("truth", "estimate")
    True
    >>> loan_effect().source
    'default'
    """
    if households is not None and loans is not None:
        try:
            from ..impact.credit import estimate_effect
        except ImportError:
            estimate_effect = None
        if estimate_effect is not None:
            try:
                res = estimate_effect(households, loans, outcome="exit", method=method)
                effect, se = float(res.effect), float(res.se)
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                effect = se = np.nan
            if np.isfinite(effect) and np.isfinite(se) and se >= 0:
                return LoanEffect(effect=effect, se=se, source="estimate", method=str(getattr(res, "method", method)))
    if truth is not None and "credit_effect" in truth:
        return LoanEffect(effect=float(truth["credit_effect"]), se=0.0, source="truth", method="synthetic generator")
    return DEFAULT_EFFECT


# ----------------------------------------------------------------------------- inputs


def allocation_table(
    eligible: pd.DataFrame,
    *,
    review_year: int,
    disadvantaged: Iterable[str] = frozenset(),
    by_programme: bool = True,
    priority: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Communes (by programme) with their eligible households: the input of :func:`allocate_budget`.

    Parameters
    ----------
    eligible : DataFrame
        Output of :func:`povanalysis.targeting.beneficiaries.eligibility`.
    review_year : int
        The review whose lists the budget serves (loans of ``review_year + 1``).
    disadvantaged : set of str
        Codes of the disadvantaged communes (e.g. :func:`povanalysis.data.pipeline.load_disadvantaged`).
    by_programme : bool, default True
        One row per commune and programme; else one row per commune (any programme).
    priority : DataFrame, optional
        :func:`povanalysis.targeting.beneficiaries.priority_index`; adds its ``index`` as ``priority``
        (0 for communes it does not rank), for tie-breaking in :func:`allocate_budget`.

    Returns
    -------
    DataFrame
        ``commune_code``, (``programme``), ``eligible``, ``poor`` (the commune's poor
        households, for the proportional rule), ``disadvantaged`` (and ``priority``).

    Examples
    --------
    >>> e = pd.DataFrame({"review_year": [2024] * 3, "commune_code": ["01840"] * 2 + ["01843"],
    ...                   "programme": ["poor", "near_poor", "poor"], "eligible": [True] * 3})
    >>> allocation_table(e, review_year=2024, disadvantaged={"01843"})[["commune_code", "programme", "eligible", "poor"]].to_dict("list")
    {'commune_code': ['01840', '01840', '01840', '01843', '01843', '01843'], 'programme': ['poor', 'near_poor', 'newly_escaped', 'poor', 'near_poor', 'newly_escaped'], 'eligible': [1, 1, 0, 1, 0, 0], 'poor': [1, 1, 1, 1, 1, 1]}
    """
    require_frame(eligible, "eligible", ["review_year", "commune_code", "programme", "eligible"])
    years = sorted(set(eligible["review_year"].tolist()))
    if review_year not in years:
        raise ValueError(f"'review_year' {review_year!r} is not in 'eligible' (review years: {years})")
    rows = eligible[eligible["review_year"] == review_year]
    codes = sorted(rows["commune_code"].unique().tolist())
    prog = rows["programme"].astype(str).where(rows["programme"].notna(), None)
    counts = pd.crosstab(rows["commune_code"], prog).reindex(index=codes, columns=list(PROGRAMMES), fill_value=0)
    dis = set(disadvantaged)
    if by_programme:
        out = counts.stack().rename("eligible").reset_index()
        out.columns = ["commune_code", "programme", "eligible"]
        order = {p: i for i, p in enumerate(PROGRAMMES)}
        out = out.sort_values(
            ["commune_code", "programme"], key=lambda s: s.map(order) if s.name == "programme" else s, kind="stable"
        ).reset_index(drop=True)
    else:
        out = pd.DataFrame({"commune_code": codes, "eligible": counts.sum(axis=1).to_numpy()})
    out["eligible"] = out["eligible"].astype(np.int64)
    out["poor"] = out["commune_code"].map(counts["poor"]).astype(np.int64)
    out["disadvantaged"] = out["commune_code"].isin(dis)
    if priority is not None:
        require_frame(priority, "priority", ["commune_code", "index"])
        index = priority.set_index("commune_code")["index"]
        out["priority"] = out["commune_code"].map(index).fillna(0.0).to_numpy(float)
    return out


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name!r} must be a {kind} finite number, got {value!r}")
    return float(value)


def _per_row(communes: pd.DataFrame, value, name: str) -> np.ndarray:
    """A number, a column name, or a mapping by programme, as one value per row."""
    if isinstance(value, str):
        if value not in communes.columns:
            raise ValueError(f"{name!r} names the column {value!r}, which 'communes' lacks")
        out = pd.to_numeric(communes[value], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(out)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"column {value!r} ({name}) must be finite numbers, got {to_python(communes[value].iloc[i])!r} "
                f"at row {to_python(communes.index[i])!r}"
            )
        return out
    if isinstance(value, Mapping):
        if "programme" not in communes.columns:
            raise ValueError(f"{name!r} is a mapping by programme but 'communes' has no 'programme' column")
        prog = communes["programme"].astype(str)
        missing = sorted(set(prog) - set(value))
        if missing:
            raise ValueError(f"{name!r} has no value for the programmes {missing}")
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"{name}[{key!r}] must be a finite number, got {v!r}")
        return prog.map({k: float(v) for k, v in value.items()}).to_numpy(dtype=float)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name!r} must be a finite number, a column name or a mapping by programme, got {value!r}")
    return np.full(len(communes), float(value))


@dataclass
class _Problem:
    keys: pd.DataFrame
    eligible: np.ndarray
    disadvantaged: np.ndarray
    effect: np.ndarray
    effect_se: np.ndarray
    loan_size: np.ndarray
    budget: float
    min_share: float
    correlation: str
    ceiling: float


def _problem(
    communes,
    *,
    budget,
    effect,
    effect_se,
    loan_size,
    ceiling_per_household,
    min_share_disadvantaged,
    eligible,
    disadvantaged,
    correlation,
) -> _Problem:
    require_frame(communes, "communes", ["commune_code", eligible, disadvantaged])
    if communes.empty:
        raise ValueError("'communes' has no rows")
    keys = ["commune_code"] + (["programme"] if "programme" in communes.columns else [])
    dup = communes.duplicated(keys).to_numpy()
    if dup.any():
        i = np.flatnonzero(dup)[0]
        raise ValueError(
            f"'communes' has duplicate rows for {dict(communes[keys].iloc[i])} (row {to_python(communes.index[i])!r})"
        )
    budget = _positive(budget, "budget")
    ceiling = _positive(ceiling_per_household, "ceiling_per_household")
    min_share = _positive(min_share_disadvantaged, "min_share_disadvantaged", allow_zero=True)
    if min_share > 1:
        raise ValueError(f"'min_share_disadvantaged' must be in [0, 1], got {min_share_disadvantaged!r}")
    if correlation not in ("common", "independent"):
        raise ValueError(f"'correlation' must be 'common' or 'independent', got {correlation!r}")
    n = communes[eligible]
    if not pd.api.types.is_integer_dtype(n.dtype) or (n < 0).any():
        bad = (~(n >= 0)).to_numpy() if pd.api.types.is_numeric_dtype(n.dtype) else np.ones(len(n), bool)
        i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        raise ValueError(
            f"column {eligible!r} of 'communes' must hold non-negative integer counts of households, "
            f"got {to_python(n.iloc[i])!r} (dtype {n.dtype}) at row {to_python(communes.index[i])!r}"
        )
    dis = communes[disadvantaged]
    if not pd.api.types.is_bool_dtype(dis.dtype):
        raise ValueError(f"column {disadvantaged!r} of 'communes' must be boolean, got dtype {dis.dtype}")
    eff = _per_row(communes, effect, "effect")
    if (np.abs(eff) > 1).any():
        i = np.flatnonzero(np.abs(eff) > 1)[0]
        raise ValueError(
            f"'effect' is in probability points per loan (a share in [-1, 1]), got {to_python(eff[i])!r} "
            f"at row {to_python(communes.index[i])!r}"
        )
    se = _per_row(communes, effect_se, "effect_se")
    if (se < 0).any():
        i = np.flatnonzero(se < 0)[0]
        raise ValueError(
            f"'effect_se' must be non-negative, got {to_python(se[i])!r} at row {to_python(communes.index[i])!r}"
        )
    size = _per_row(communes, loan_size, "loan_size")
    if (size <= 0).any():
        i = np.flatnonzero(size <= 0)[0]
        raise ValueError(
            f"'loan_size' must be positive, got {to_python(size[i])!r} at row {to_python(communes.index[i])!r}"
        )
    if (size > ceiling).any():
        i = np.flatnonzero(size > ceiling)[0]
        raise ValueError(
            f"'loan_size' {size[i]:,.0f} VND at row {to_python(communes.index[i])!r} exceeds the per-household "
            f"ceiling {ceiling:,.0f} VND"
        )
    return _Problem(
        keys=communes[keys].reset_index(drop=True),
        eligible=n.to_numpy(dtype=np.int64),
        disadvantaged=dis.to_numpy(dtype=bool),
        effect=eff,
        effect_se=se,
        loan_size=size,
        budget=budget,
        min_share=min_share,
        correlation=correlation,
        ceiling=ceiling,
    )


# ----------------------------------------------------------------------------- results


@dataclass
class Allocation:
    """A budget allocation and its expected exits from poverty.

    Attributes
    ----------
    method : {"optimised", "proportional"}
    table : DataFrame
        One row per commune (and programme): keys, ``eligible``, ``disadvantaged``,
        ``effect``, ``effect_se``, ``loan_size``, ``loans`` (households funded), ``amount``
        (VND), ``expected_exits``, ``se``, ``ci_lower``, ``ci_upper``.
    budget, spent, unspent : float
        VND.
    expected_exits, se, ci_lower, ci_upper : float
        Expected exits from poverty at the next review, with a 95% interval from the
        uncertainty of the effect per loan (``correlation="common"``: one estimate drives
        every row, so errors add up; ``"independent"``: they add in quadrature).
    disadvantaged_amount, disadvantaged_share : float
        VND to disadvantaged communes and its share of the budget.
    min_share : float
        The minimum share of the budget asked for disadvantaged communes.
    min_disadvantaged_amount : float
        The floor applied: ``min_share × budget``, or what the disadvantaged communes'
        eligible households can absorb when that is less.
    constraints : dict
        Each constraint and whether the allocation meets it.
    bound : float
        Optimised allocations: the best value of the objective that any allocation could
        reach (the integer optimum, or the relaxation's when solved as a linear programme);
        NaN for the proportional rule.
    notes : list of str
    """

    method: str
    table: pd.DataFrame
    budget: float
    spent: float
    unspent: float
    expected_exits: float
    se: float
    ci_lower: float
    ci_upper: float
    disadvantaged_amount: float
    disadvantaged_share: float
    min_share: float
    min_disadvantaged_amount: float
    constraints: dict
    correlation: str
    bound: float = np.nan
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The per-row allocation (:attr:`table`)."""
        return self.table.copy()

    def by_commune(self) -> pd.DataFrame:
        """The allocation summed over programmes, one row per commune."""
        t = self.table
        agg = t.groupby("commune_code", sort=True).agg(
            eligible=("eligible", "sum"),
            disadvantaged=("disadvantaged", "first"),
            loans=("loans", "sum"),
            amount=("amount", "sum"),
            expected_exits=("expected_exits", "sum"),
        )
        if self.correlation == "common":
            agg["se"] = t.groupby("commune_code", sort=True)["se"].sum()
        else:
            agg["se"] = np.sqrt((t["se"] ** 2).groupby(t["commune_code"], sort=True).sum())
        agg["ci_lower"] = agg["expected_exits"] - Z_95 * agg["se"]
        agg["ci_upper"] = agg["expected_exits"] + Z_95 * agg["se"]
        return agg.reset_index()

    def summary(self) -> str:
        """A short text account of the allocation."""
        lines = [
            f"{self.method.capitalize()} allocation of {self.budget:,.0f} VND: spent {self.spent:,.0f} "
            f"({int(self.table['loans'].sum()):,} loans), unspent {self.unspent:,.0f}",
            f"  expected exits {self.expected_exits:,.1f} (95% CI {self.ci_lower:,.1f}–{self.ci_upper:,.1f}, "
            f"effect errors {self.correlation})",
            f"  disadvantaged communes: {self.disadvantaged_amount:,.0f} VND ({self.disadvantaged_share:.1%} of the "
            f"budget; floor {self.min_disadvantaged_amount:,.0f})",
            "  constraints: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in self.constraints.items()),
        ]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _result(method: str, prob: _Problem, loans: np.ndarray, notes: list) -> Allocation:
    amount = loans * prob.loan_size
    exits = loans * prob.effect
    se_rows = loans * prob.effect_se
    t = prob.keys.copy()
    t["eligible"] = prob.eligible
    t["disadvantaged"] = prob.disadvantaged
    t["effect"] = prob.effect
    t["effect_se"] = prob.effect_se
    t["loan_size"] = prob.loan_size
    t["loans"] = loans.astype(np.int64)
    t["amount"] = amount
    t["expected_exits"] = exits
    t["se"] = se_rows
    t["ci_lower"] = exits - Z_95 * se_rows
    t["ci_upper"] = exits + Z_95 * se_rows
    total = float(exits.sum())
    se = float(se_rows.sum()) if prob.correlation == "common" else float(np.sqrt((se_rows**2).sum()))
    spent = float(amount.sum())
    dis_amount = float(amount[prob.disadvantaged].sum())
    floor = _floor(prob)
    tol = 1e-6 * prob.budget
    constraints = {
        "budget": spent <= prob.budget + tol,
        "eligible": bool((loans <= prob.eligible).all() and (loans >= 0).all()),
        "ceiling_per_household": bool((prob.loan_size <= prob.ceiling).all()),
        "min_disadvantaged": dis_amount >= floor - tol,
    }
    return Allocation(
        method=method,
        table=t,
        budget=prob.budget,
        spent=spent,
        unspent=prob.budget - spent,
        expected_exits=total,
        se=se,
        ci_lower=total - Z_95 * se,
        ci_upper=total + Z_95 * se,
        disadvantaged_amount=dis_amount,
        disadvantaged_share=dis_amount / prob.budget,
        min_share=prob.min_share,
        min_disadvantaged_amount=floor,
        constraints=constraints,
        correlation=prob.correlation,
        notes=notes,
    )


def _floor(prob: _Problem) -> float:
    capacity = float((prob.eligible * prob.loan_size)[prob.disadvantaged].sum())
    return min(prob.min_share * prob.budget, capacity)


# ----------------------------------------------------------------------------- the optimiser


def allocate_budget(
    communes: pd.DataFrame,
    *,
    budget: float,
    effect: PerRow,
    effect_se: PerRow,
    loan_size: PerRow,
    ceiling_per_household: float = CEILING_PER_HOUSEHOLD,
    min_share_disadvantaged: float = DEFAULT_MIN_SHARE_DISADVANTAGED,
    eligible: str = "eligible",
    disadvantaged: str = "disadvantaged",
    risk_aversion: float = 0.0,
    correlation: str = "common",
    priority: str | None = None,
    solver: str = "auto",
) -> Allocation:
    """Allocate a credit budget to maximise expected exits from poverty, under the lending rules.

    Chooses the number of loans ``n_i`` (whole households) for each row ``i`` (a commune,
    or a commune and programme) to maximise ``Σ n_i (e_i − κ s_i)`` — the expected exits
    when ``κ = risk_aversion = 0``, a lower confidence bound of them per loan when ``κ > 0``
    — where ``e_i`` is the effect of one loan on leaving poverty by the next review and
    ``s_i`` its standard error, subject to

    * the budget: ``Σ n_i L_i ≤ budget`` with ``L_i`` the loan size of the row;
    * one loan per eligible household: ``0 ≤ n_i ≤ eligible_i``;
    * the per-household ceiling: ``L_i ≤ ceiling_per_household`` (checked; a larger loan
      size is an error);
    * a floor for disadvantaged communes: ``Σ_{i disadvantaged} n_i L_i ≥
      min(min_share_disadvantaged × budget, Σ_{i disadvantaged} eligible_i L_i)``.

    This is an integer linear programme, solved exactly with HiGHS
    (:func:`scipy.optimize.milp`) when it has at most :data:`EXACT_MAX_ROWS` rows (a
    province).  Larger ones (a country's communes) are solved as a linear programme whose
    solution, having at most two or three fractional rows, is rounded down and topped up
    greedily with whole loans; the loss against the exact optimum is bounded by the
    relaxation and reported in ``notes`` (should rounding miss the disadvantaged floor, the
    integer programme is solved after all).  Rows whose effect (net of ``κ s_i``) is not positive
    get loans only as needed to reach the floor, so part of the budget may stay unspent:
    loans there add no expected exits.  With ``priority`` (a column, higher first), among
    allocations with the same objective the one giving most to high-priority rows is chosen.

    Parameters
    ----------
    communes : DataFrame
        One row per commune (and ``programme``) with ``commune_code``, the ``eligible``
        count and the ``disadvantaged`` flag (see :func:`allocation_table`).
    budget : float
        VND.
    effect, effect_se : float, str or mapping
        Effect per loan in probability points (e.g. 0.10) and its standard error: one
        number, a column of ``communes``, or a mapping by programme.
    loan_size : float, str or mapping
        VND per loan.
    ceiling_per_household : float, default 100,000,000
        VBSP ceiling per household (reference §4).
    min_share_disadvantaged : float, default :data:`DEFAULT_MIN_SHARE_DISADVANTAGED`
    eligible, disadvantaged : str
        Column names.
    risk_aversion : float, default 0
        ``κ`` above (e.g. 1.645 maximises a 95% one-sided lower bound per loan).
    correlation : {"common", "independent"}, default "common"
        How the effect errors of different rows combine in the intervals: ``common`` when
        one estimate serves every row, ``independent`` for separate estimates.
    priority : str, optional
        Tie-breaking column.
    solver : {"auto", "exact", "lp"}, default "auto"
        ``exact``: integer programme; ``lp``: relaxation rounded to whole loans; ``auto``:
        exact up to :data:`EXACT_MAX_ROWS` rows.

    Returns
    -------
    Allocation

    References
    ----------
    Dantzig, G. B. (1957). Discrete-variable extremum problems. *Operations Research* 5(2):
    266–288. doi:10.1287/opre.5.2.266 (the knapsack problem).

    Huangfu, Q. and Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
    *Math. Prog. Comp.* 10: 119–142. doi:10.1007/s12532-017-0130-5 (HiGHS).

    Examples
    --------
    >>> c = pd.DataFrame({"commune_code": ["a", "b"], "eligible": [10, 10], "disadvantaged": [True, False]})
    >>> res = allocate_budget(c, budget=1e9, effect=0.1, effect_se=0.02, loan_size=50e6,
    ...                       min_share_disadvantaged=0.3)
    >>> res.table["loans"].tolist(), round(res.expected_exits, 3)
    ([10, 10], 2.0)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    prob = _problem(
        communes,
        budget=budget,
        effect=effect,
        effect_se=effect_se,
        loan_size=loan_size,
        ceiling_per_household=ceiling_per_household,
        min_share_disadvantaged=min_share_disadvantaged,
        eligible=eligible,
        disadvantaged=disadvantaged,
        correlation=correlation,
    )
    kappa = _positive(risk_aversion, "risk_aversion", allow_zero=True)
    tie = None
    if priority is not None:
        tie = _per_row(communes, priority, "priority")
    value = prob.effect - kappa * prob.effect_se
    size = prob.loan_size
    floor = _floor(prob)
    # Work in millions of VND to keep the coefficients well scaled.
    scale = 1e6
    rows = [size / scale]
    lb, ub = [-np.inf], [prob.budget / scale]
    if floor > 0:
        rows.append(np.where(prob.disadvantaged, size / scale, 0.0))
        lb.append(floor / scale * (1 - 1e-12))
        ub.append(np.inf)
    constraints = [LinearConstraint(np.vstack(rows), lb, ub)]
    bounds = Bounds(np.zeros(len(size)), prob.eligible.astype(float))
    if solver not in ("auto", "exact", "lp"):
        raise ValueError(f"'solver' must be 'auto', 'exact' or 'lp', got {solver!r}")
    exact = solver == "exact" or (solver == "auto" and len(size) <= EXACT_MAX_ROWS)
    integrality = np.ones(len(size)) if exact else np.zeros(len(size))
    options = {"mip_rel_gap": 1e-9, "presolve": True} if exact else {"presolve": True}
    infeasible = ValueError(
        f"the disadvantaged floor of {floor:,.0f} VND cannot be met with whole loans within the "
        f"budget of {prob.budget:,.0f} VND: lower 'min_share_disadvantaged' or raise 'budget'"
    )
    res = milp(-value, constraints=constraints, bounds=bounds, integrality=integrality, options=options)
    if res.status == 2:
        raise infeasible
    if not res.success:
        raise RuntimeError(f"the allocation programme could not be solved: {res.message}")
    bound = float(-res.fun)
    x = res.x
    notes = []
    if tie is not None:
        best = float(value @ x)
        slack = 1e-9 * max(1.0, abs(best))
        tie_rows = np.vstack([*rows, value])
        res2 = milp(
            -(tie * size / scale),
            constraints=[LinearConstraint(tie_rows, [*lb, best - slack], [*ub, np.inf])],
            bounds=bounds,
            integrality=integrality,
            options=options,
        )
        if res2.success:
            x = res2.x
        else:
            notes.append(f"tie-breaking by {priority!r} failed ({res2.message}); the first optimum is kept")
    if exact:
        x = _top_up(np.round(x), value, prob)
    else:
        rounded = _round_lp(x, value, prob, floor)
        if rounded is None:  # rounding could not keep the floor: solve the integer programme after all
            res = milp(
                -value,
                constraints=constraints,
                bounds=bounds,
                integrality=np.ones(len(size)),
                options={"mip_rel_gap": 1e-9, "presolve": True},
            )
            if res.status == 2:
                raise infeasible
            if not res.success:
                raise RuntimeError(f"the allocation programme could not be solved: {res.message}")
            x = _top_up(np.round(res.x), value, prob)
            notes.append("the rounded linear programme missed the disadvantaged floor: solved exactly instead")
        else:
            x = rounded
            notes.append(
                f"solved as a linear programme and rounded to whole loans: at most "
                f"{bound - float(value @ x):.3g} expected exits below the optimum"
            )
    if floor < prob.min_share * prob.budget:
        notes.append(
            "the disadvantaged communes' eligible households cannot absorb the minimum share: "
            "every one of them is funded instead"
        )
    if (value <= 0).any():
        notes.append(
            f"{int((value <= 0).sum())} rows have no positive (risk-adjusted) effect per loan; "
            "they are funded only to reach the disadvantaged floor"
        )
    out = _result("optimised", prob, x, notes)
    out.bound = max(bound, float(value @ x))  # the solver's tolerance may leave a last loan to the top-up
    return out


def _round_lp(x: np.ndarray, value: np.ndarray, prob: _Problem, floor: float) -> np.ndarray | None:
    """Whole loans from a relaxed solution.

    Disadvantaged rows are rounded up (so their floor still holds) and the others down;
    if that overspends, the loans of least value per VND are taken back, first outside the
    disadvantaged communes, then inside them as far as the floor allows; what is left of
    the budget then buys whole loans of positive value, best value per loan first.
    """
    size, elig, dis = prob.loan_size, prob.eligible.astype(float), prob.disadvantaged
    tol = 1e-9 * prob.budget
    n = np.where(dis, np.ceil(x - 1e-7), np.floor(x + 1e-7))
    n = np.clip(n, 0, elig)
    over = float(size @ n) - prob.budget
    if over > tol:
        ratio = value / size
        for pool in (~dis, dis):
            cand = np.flatnonzero(pool & (n > 0))
            for i in cand[np.argsort(ratio[cand], kind="stable")]:
                spare = float(size[dis] @ n[dis]) - floor if pool is dis else np.inf
                k = min(n[i], np.ceil(over / size[i] - 1e-12), np.floor(spare / size[i] + 1e-12))
                if k > 0:
                    n[i] -= k
                    over -= k * size[i]
                if over <= tol:
                    break
            if over <= tol:
                break
        if over > tol:
            return None
    return _top_up(n, value, prob)


def _top_up(n: np.ndarray, value: np.ndarray, prob: _Problem) -> np.ndarray:
    """Spend what is left of the budget on whole loans of positive value, best value per loan first.

    Never lowers the objective and keeps every constraint; it also catches loans whose value
    is below the solver's tolerance.
    """
    size, elig = prob.loan_size, prob.eligible.astype(float)
    left = prob.budget - float(size @ n)
    cand = np.flatnonzero((value > 0) & (n < elig))
    for i in cand[np.argsort(-value[cand], kind="stable")]:
        k = min(elig[i] - n[i], np.floor(left / size[i] + 1e-12))
        if k > 0:
            n[i] += k
            left -= k * size[i]
    return n


def proportional_allocation(
    communes: pd.DataFrame,
    *,
    budget: float,
    effect: PerRow,
    effect_se: PerRow,
    loan_size: PerRow,
    weight: str = "poor",
    ceiling_per_household: float = CEILING_PER_HOUSEHOLD,
    min_share_disadvantaged: float = DEFAULT_MIN_SHARE_DISADVANTAGED,
    eligible: str = "eligible",
    disadvantaged: str = "disadvantaged",
    correlation: str = "common",
    redistribute: bool = True,
) -> Allocation:
    """The comparison rule: each commune gets budget in proportion to its number of poor households.

    A commune's share ``budget × poor_c / Σ poor`` is split over its programme rows in
    proportion to their eligible households (when ``communes`` has a ``programme``
    column), at most what its eligible households can absorb.  With ``redistribute``
    (default), what capped rows cannot use is shared again among the others in the same
    proportions until nothing more can be placed.  Shares become whole loans by largest
    remainders (every row gets ``floor(share / L_i)`` loans, then the rows with the largest
    fractional parts one more while the budget lasts).  The expected exits
    use the same effects as :func:`allocate_budget`.  ``constraints`` records whether the
    rule happens to meet the disadvantaged floor (it is not enforced).

    Parameters
    ----------
    communes, budget, effect, effect_se, loan_size, ceiling_per_household,
    min_share_disadvantaged, eligible, disadvantaged, correlation
        As for :func:`allocate_budget`.
    weight : str, default "poor"
        Column of the commune's number of poor households (equal on every row of a commune).
    redistribute : bool, default True

    Returns
    -------
    Allocation

    Examples
    --------
    >>> c = pd.DataFrame({"commune_code": ["a", "b"], "eligible": [10, 10], "poor": [30, 10],
    ...                   "disadvantaged": [True, False]})
    >>> res = proportional_allocation(c, budget=4e8, effect=0.1, effect_se=0.0, loan_size=50e6)
    >>> res.table["loans"].tolist()
    [6, 2]
    """
    prob = _problem(
        communes,
        budget=budget,
        effect=effect,
        effect_se=effect_se,
        loan_size=loan_size,
        ceiling_per_household=ceiling_per_household,
        min_share_disadvantaged=min_share_disadvantaged,
        eligible=eligible,
        disadvantaged=disadvantaged,
        correlation=correlation,
    )
    if weight not in communes.columns:
        raise ValueError(f"'weight' names the column {weight!r}, which 'communes' lacks")
    w = pd.to_numeric(communes[weight], errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(w) | (w < 0)).any():
        i = np.flatnonzero(~np.isfinite(w) | (w < 0))[0]
        raise ValueError(
            f"column {weight!r} must hold non-negative numbers, got {to_python(communes[weight].iloc[i])!r} "
            f"at row {to_python(communes.index[i])!r}"
        )
    code = communes["commune_code"].to_numpy()
    per_commune = pd.Series(w).groupby(code).agg(["min", "max"])
    uneven = per_commune[per_commune["min"] != per_commune["max"]]
    if len(uneven):
        raise ValueError(
            f"column {weight!r} must be the commune's value on every row of the commune; commune "
            f"{to_python(uneven.index[0])!r} has {to_python(uneven['min'].iloc[0])!r} and {to_python(uneven['max'].iloc[0])!r}"
        )
    cw = pd.Series(w).groupby(code).first()
    if cw.sum() <= 0:
        raise ValueError(f"column {weight!r} sums to zero: no commune has poor households to allocate by")
    elig = prob.eligible.astype(float)
    within = elig / pd.Series(elig).groupby(code).transform("sum").replace(0, np.nan).to_numpy()
    share = pd.Series(code).map(cw / cw.sum()).to_numpy(dtype=float) * np.nan_to_num(within)
    capacity = prob.eligible * prob.loan_size
    money = np.zeros(len(share))
    remaining = prob.budget
    open_rows = capacity > 0
    for _ in range(len(share) + 1):  # water-filling: at most one round per row that fills up
        s = np.where(open_rows, share, 0.0)
        if remaining <= 0 or s.sum() <= 0:
            break
        offer = remaining * s / s.sum()
        take = np.minimum(offer, capacity - money)
        money += take
        remaining -= take.sum()
        full = money >= capacity - 1e-9
        if not redistribute or not (open_rows & full).any():
            break
        open_rows &= ~full
    # Whole loans by largest remainders: floor every row, then one more loan to the rows with
    # the largest fractional parts while the budget lasts (Hamilton apportionment).
    quota = np.minimum(money / prob.loan_size, prob.eligible)
    loans = np.floor(quota + 1e-9)
    left = prob.budget - float((loans * prob.loan_size).sum())
    frac = quota - loans
    cand = np.flatnonzero((frac > 1e-9) & (loans < prob.eligible))
    cand = cand[np.argsort(-frac[cand], kind="stable")]
    fits = np.cumsum(prob.loan_size[cand]) <= left + 1e-6
    loans[cand[fits]] += 1
    notes = []
    if remaining > 1e-6 * prob.budget:
        notes.append("the eligible households cannot absorb the whole budget under this rule")
    return _result("proportional", prob, loans, notes)


def compare_allocations(*allocations: Allocation) -> pd.DataFrame:
    """Allocations side by side, one row each.

    Columns ``method``, ``expected_exits``, ``se``, ``ci_lower``, ``ci_upper``, ``loans``,
    ``spent``, ``unspent`` and ``disadvantaged_share``.

    Examples
    --------
    >>> c = pd.DataFrame({"commune_code": ["a"], "eligible": [4], "poor": [4], "disadvantaged": [False]})
    >>> kw = dict(budget=1e8, effect=0.1, effect_se=0.01, loan_size=5e7)
    >>> compare_allocations(allocate_budget(c, **kw), proportional_allocation(c, **kw))["loans"].tolist()
    [2, 2]
    """
    if not allocations or not all(isinstance(a, Allocation) for a in allocations):
        raise TypeError("compare_allocations takes Allocation results")
    return pd.DataFrame(
        [
            {
                "method": a.method,
                "expected_exits": a.expected_exits,
                "se": a.se,
                "ci_lower": a.ci_lower,
                "ci_upper": a.ci_upper,
                "loans": int(a.table["loans"].sum()),
                "spent": a.spent,
                "unspent": a.unspent,
                "disadvantaged_share": a.disadvantaged_share,
            }
            for a in allocations
        ]
    )
