"""One disclosure rule for published tables of household counts, and the attacker it is checked against.

One module because the rule and the attacker share one model of what a published table
tells: the figures it shows, what its marks (``< 10``, ``–``, a rate band) say about the
figures it hides, and the sums that tie them together; the rule is only as good as the
attack it is checked against, and both must read a table the same way.

The rule (:func:`protect`), for a table of household counts and their denominator
(``households``) described by a :class:`Layout`:

- **denominator**: a row resting on fewer than ``limit`` households, none included, shows
  none of its figures: every count reads ``< limit`` (true, as no count exceeds its
  denominator), every rate ``–``.
- **small**: a count from 1 to ``limit - 1`` reads ``< limit``.  A zero is shown when its
  denominator is: "0 poor households among 300" is published, "0 of 3" is not (its row is
  hidden by the previous point).  So ``< limit`` means 1 to ``limit - 1`` where the row's
  households are shown, 0 to ``limit - 1`` where they read ``< limit`` too.  The parts of a
  total shown as 0 are 0 whatever is hidden: the total says it of all its households.
- **complement**: in every additive equation (parts that add up to a total shown in the
  same table: groups within a commune, communes within the province, classes within the
  households) the hidden figures must not be pinned down.  The attacker assumed knows the
  rule: shown figures, ``< limit`` as above, ``–`` as "at least ``limit``" (the rule hides
  only non-zero figures to protect others, and a small one would read ``< limit``), counts
  never above their denominator.  While interval propagation over all the equations (then
  a linear programme over all of them at once, ``audit=True``) leaves a hidden count fewer
  than ``min_width + 1`` possible values, the smallest shown non-zero part of the equation
  that narrowed it is hidden too (``–``), or its total when no part is left, or else the
  smallest shown figure of the nearest equation tied to it through hidden cells;
  overlapping structures (rows and columns of a two-way table with its margins) are
  iterated until stable.  A hidden denominator hides the rates of its row.  Tiny tables
  where every figure is already hidden can stay narrow: :attr:`Protected.unresolved` names
  those counts (publish such a table coarser, or not at all).
- **rate**: a rate whose count is hidden as small is shown as a band ``< u`` whose bound u
  (1, 2 or 5 times a power of ten) makes ``u × denominator`` at least ``limit``, so the
  band holds every count the ``< limit`` mark allows and tells nothing more; any other rate
  of a hidden figure reads ``–``.  Shown rates have shown numerators and denominators, so
  their precision gives nothing away.
- **change**: a change between two reviews is shown only when both of its ends are.

The attacker (:func:`attack`) reads a published table (display strings or workbook values)
and bounds every count it does not show: marks, rates with the precision they are printed
to, bands, sums of the layout, changes between reviews, then a linear programme over every
equation at once; it reports each hidden count it narrows to fewer than ``min_width + 1``
values, and each shown or worked-out figure that gives a small count away.

What neither models: a row's presence in a table (a table that lists only the groups
present in a commune says each has a household: list the same groups everywhere, or do not
break down a unit that is itself under the limit, as the commune report does); the order
in which complements are chosen (an attacker who knows the smallest part was taken knows
the others are larger); integer programming beyond rounding the linear bounds (the same for a
one- or two-way table of one count with its margins, whose equations are totally
unimodular).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from .. import config
from ..common.labels import check_lang, format_number, format_percent

__all__ = ["REASONS", "DASH", "BANDS", "Layout", "Protected", "Attack", "protect", "attack", "rate_band"]

#: Why a cell is hidden: a small count, a small denominator, to protect another cell, a rate, a change.
REASONS: tuple[str, ...] = ("small", "denominator", "complement", "rate", "change")
#: The mark of a figure hidden to protect another one (or not defined).
DASH = "–"
#: Upper bounds of the rate bands, as shares.
BANDS: tuple[float, ...] = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)

_SHOWN, _SMALL, _DENOM, _COMPL = 0, 1, 2, 3
_CODE_REASON = np.array(["", "small", "denominator", "complement"], dtype=object)
_EPS = 1e-6


# ----------------------------------------------------------------------------- the layout of a table


@dataclass(frozen=True, eq=False)
class Layout:
    """What a tidy table holds and which of its figures add up.

    Parameters
    ----------
    keys : sequence of str
        Columns that identify a row (e.g. ``commune_code``, ``review_year``, ``ethnicity``).
    counts : sequence of str
        Columns of household counts (``poor``, ``near_poor``, ``borrowers``…), none above
        the denominator of its row.
    denominator : str, default "households"
        The column of households each count and rate rests on.
    totals : mapping of str to object
        Key column → the value marking its total row: for every combination of the other
        keys the other rows add up to that row (``{"ethnicity": "all"}``: the groups of a
        commune-year add up to its "all" row; ``{"commune_code": "province"}``: the communes
        add up to the province).  Groups without a total row or without parts are not tied.
    parts : mapping of str to sequence of str
        Count column → the columns that add up to it in every row
        (``{"households": ["poor", "near_poor", "other"]}``).  List a class that is not shown
        too (as a column of the table) when the others would tell it.
    rates : mapping of str to str or (str, str)
        Rate column → its numerator, or (numerator, denominator); the default denominator is
        ``denominator``.  Rates are recomputed from the counts.
    time : str, optional
        The key of the review year, for ``changes``.
    changes : sequence of str
        Counts or rates whose change between reviews is published (as ``<column>_change``).
    change_from : {"previous", "first"}
        Change since the previous review of the same row, or since the first.

    Examples
    --------
    >>> Layout(["ethnicity"], ["poor"], totals={"ethnicity": "all"}, rates={"poor_rate": "poor"}).value_columns
    ('households', 'poor', 'poor_rate')
    """

    keys: Sequence[str]
    counts: Sequence[str]
    denominator: str = "households"
    totals: Mapping[str, Any] = field(default_factory=dict)
    parts: Mapping[str, Sequence[str]] = field(default_factory=dict)
    rates: Mapping[str, str | tuple[str, str]] = field(default_factory=dict)
    time: str | None = None
    changes: Sequence[str] = ()
    change_from: str = "previous"

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "keys", tuple(self.keys))
        put(self, "counts", tuple(c for c in self.counts if c != self.denominator))
        put(self, "totals", dict(self.totals))
        put(self, "parts", {k: tuple(v) for k, v in self.parts.items()})
        rates = {}
        for name, spec in self.rates.items():
            rates[name] = (spec, self.denominator) if isinstance(spec, str) else tuple(spec)
        put(self, "rates", rates)
        put(self, "changes", tuple(self.changes))
        columns = set(self.columns)
        if not self.keys:
            raise ValueError("'keys' must name at least one column")
        for key in self.totals:
            if key not in self.keys or key == self.time:
                raise ValueError(f"'totals' key {key!r} must be one of the keys {self.keys} other than the time")
        for total, parts in self.parts.items():
            unknown = [c for c in (total, *parts) if c not in columns]
            if unknown or not parts:
                raise ValueError(f"'parts' of {total!r}: {list(parts)} must be count columns {sorted(columns)}")
        for name, (num, den) in self.rates.items():
            if num not in columns or den not in columns:
                raise ValueError(f"rate {name!r}: ({num!r}, {den!r}) must be count columns {sorted(columns)}")
        if self.changes and self.time not in self.keys:
            raise ValueError(f"'changes' need 'time' to be one of the keys {self.keys}, got {self.time!r}")
        unknown = [c for c in self.changes if c not in columns and c not in self.rates]
        if unknown:
            raise ValueError(f"'changes' {unknown} are neither count nor rate columns")
        if self.change_from not in ("previous", "first"):
            raise ValueError(f"change_from must be 'previous' or 'first', got {self.change_from!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The count columns: the denominator first."""
        return (self.denominator, *self.counts)

    @property
    def change_columns(self) -> tuple[str, ...]:
        """The columns of the changes: ``<column>_change``."""
        return tuple(f"{c}_change" for c in self.changes)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Counts, rates and changes, in the order tables show them."""
        return (*self.columns, *self.rates, *self.change_columns)


def _limit(min_cell: int | None) -> int:
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 3:
        raise ValueError(
            f"min_cell must be at least 3 (with zeros shown, '< 2' would give the count back), got {limit}"
        )
    return limit


def _width(min_width: int, limit: int) -> int:
    width = int(min_width)
    if not 1 <= width <= limit - 2:
        raise ValueError(f"min_width must be between 1 and min_cell - 2 = {limit - 2}, got {min_width!r}")
    return width


def _tie_rows(frame: pd.DataFrame, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(equation, cell, coefficient) of every additive equation (parts minus total is zero); cell = row × m + column."""
    n, m = len(frame), len(layout.columns)
    eqs, cells, coefs = [], [], []
    offset = 0
    for key, total in layout.totals.items():
        others = [k for k in layout.keys if k != key]
        group = (
            frame.groupby(others, sort=False, dropna=False).ngroup().to_numpy()
            if others
            else np.zeros(n, dtype=np.int64)
        )
        is_total = (frame[key] == total).to_numpy(dtype=bool)
        n_groups = int(group.max()) + 1 if n else 0
        n_total = np.bincount(group, weights=is_total, minlength=n_groups)
        n_part = np.bincount(group, weights=~is_total, minlength=n_groups)
        if (n_total > 1).any():
            raise ValueError(f"'table' has several total rows {key} == {total!r} for the same other keys")
        rows = np.flatnonzero((n_total[group] == 1) & (n_part[group] > 0))
        cols = np.arange(m)
        eqs.append(offset + (group[rows, None] * m + cols).ravel())
        cells.append((rows[:, None] * m + cols).ravel())
        coefs.append(np.repeat(np.where(is_total[rows], -1.0, 1.0), m))
        offset += n_groups * m
    index = {c: j for j, c in enumerate(layout.columns)}
    for total, parts in layout.parts.items():
        cols = np.array([index[total], *(index[p] for p in parts)])
        rows = np.arange(n)
        eqs.append(offset + np.repeat(rows, len(cols)))
        cells.append((rows[:, None] * m + cols).ravel())
        coefs.append(np.tile(np.r_[-1.0, np.ones(len(parts))], n))
        offset += n
    if not eqs:
        return (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),)
    eq, cell, coef = np.concatenate(eqs), np.concatenate(cells), np.concatenate(coefs)
    _, eq = np.unique(eq, return_inverse=True)
    return eq.astype(np.int64), cell.astype(np.int64), coef


def _earlier(frame: pd.DataFrame, layout: Layout) -> np.ndarray:
    """For every row, the row of the review its change is measured from (-1 when none)."""
    n = len(frame)
    out = np.full(n, -1)
    if not layout.changes or n == 0:
        return out
    others = [k for k in layout.keys if k != layout.time]
    group = (
        frame.groupby(others, sort=False, dropna=False).ngroup().to_numpy() if others else np.zeros(n, dtype=np.int64)
    )
    order = np.lexsort((frame[layout.time].to_numpy(), group))
    g = group[order]
    starts = np.r_[True, g[1:] != g[:-1]]
    if layout.change_from == "previous":
        base = np.r_[-1, order[:-1]]
    else:
        base = order[np.maximum.accumulate(np.where(starts, np.arange(n), 0))]
    base[starts] = -1
    out[order] = base
    return out


# ----------------------------------------------------------------------------- what an attacker can infer


@dataclass
class _System:
    """Linear constraints over cells: sum of coef × x is (eq) or is at most (not eq) rhs."""

    con: np.ndarray
    cell: np.ndarray
    coef: np.ndarray
    rhs: np.ndarray
    eq: np.ndarray
    source: np.ndarray  # the additive equation a constraint comes from, -1 for others

    @staticmethod
    def join(*parts: _System) -> _System:
        offs = np.cumsum([0] + [len(p.rhs) for p in parts])
        return _System(
            np.concatenate([p.con + o for p, o in zip(parts, offs)]),
            *(np.concatenate([getattr(p, a) for p in parts]) for a in ("cell", "coef", "rhs", "eq", "source")),
        )


def _ties(eq: np.ndarray, cell: np.ndarray, coef: np.ndarray) -> _System:
    k = int(eq.max()) + 1 if len(eq) else 0
    return _System(eq, cell, coef, np.zeros(k), np.ones(k, dtype=bool), np.arange(k))


def _pairs(a: np.ndarray, b: np.ndarray, ca, cb, rhs, *, eq: bool = False) -> _System:
    """One constraint per pair: ca × x[a] + cb × x[b] is (``eq``) or is at most ``rhs``."""
    k = len(a)
    ca, cb, rhs = (np.broadcast_to(np.asarray(v, dtype=float), (k,)) for v in (ca, cb, rhs))
    return _System(
        np.repeat(np.arange(k), 2),
        np.column_stack([a, b]).ravel(),
        np.column_stack([ca, cb]).ravel(),
        np.array(rhs, dtype=float),
        np.full(k, eq),
        np.full(k, -1),
    )


def _below_denominator(n: int, layout: Layout) -> _System:
    m = len(layout.columns)
    rows = np.repeat(np.arange(n), m - 1)
    cols = np.tile(np.arange(1, m), n)
    return _pairs(rows * m + cols, rows * m, 1.0, -1.0, 0.0)


@dataclass
class _Reduced:
    """The constraints that still hold unknown cells, with the known ones moved to the right-hand side."""

    cells: np.ndarray  # the cell of each variable
    con: np.ndarray
    var: np.ndarray
    coef: np.ndarray
    rhs: np.ndarray
    eq: np.ndarray
    source: np.ndarray


def _reduce(system: _System, lo: np.ndarray, hi: np.ndarray) -> _Reduced:
    unknown = lo < hi
    cells = np.flatnonzero(unknown)
    var_of = np.full(len(lo), -1)
    var_of[cells] = np.arange(len(cells))
    known = ~unknown[system.cell]
    rhs = system.rhs - np.bincount(
        system.con[known], weights=system.coef[known] * lo[system.cell[known]], minlength=len(system.rhs)
    )
    keep = ~known
    used = np.unique(system.con[keep])
    new = np.full(len(system.rhs), -1)
    new[used] = np.arange(len(used))
    return _Reduced(
        cells,
        new[system.con[keep]],
        var_of[system.cell[keep]],
        system.coef[keep],
        rhs[used],
        system.eq[used],
        system.source[used],
    )


def _zero_forced(eq: np.ndarray, cell: np.ndarray, coef: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Cells known zeros make 0: the parts of a zero total, the total of zero parts, and so on."""
    forced, total = zero.copy(), coef < 0
    k = int(eq.max()) + 1 if len(eq) else 0
    n_parts = np.bincount(eq, weights=~total, minlength=k)
    while True:
        part_zero = np.bincount(eq, weights=~total & forced[cell], minlength=k) == n_parts
        total_zero = np.bincount(eq, weights=total & forced[cell], minlength=k) > 0
        hit = cell[(total_zero[eq] & ~total) | (part_zero[eq] & total)]
        if forced[hit].all():
            return forced
        forced[hit] = True


def _as_inequalities(red: _Reduced) -> tuple[np.ndarray, ...]:
    """Equalities as two inequalities: (con, var, coef, rhs, source)."""
    twin = red.eq[red.con]
    k = len(red.rhs)
    con = np.r_[red.con, red.con[twin] + k]
    return (
        con,
        np.r_[red.var, red.var[twin]],
        np.r_[red.coef, -red.coef[twin]],
        np.r_[red.rhs, -red.rhs],
        np.r_[red.source, red.source],
    )


def _implied(le: tuple[np.ndarray, ...], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bound each (constraint, variable) entry implies, and whether it is one (others all bounded)."""
    con, var, coef, rhs, _ = le
    term = np.where(coef > 0, coef * lo[var], coef * hi[var])
    inf = ~np.isfinite(term)
    finite = np.where(inf, 0.0, term)
    k = len(rhs)
    total = np.bincount(con, weights=finite, minlength=k)
    n_inf = np.bincount(con, weights=inf, minlength=k)
    valid = (n_inf[con] - inf) == 0
    with np.errstate(invalid="ignore"):
        bound = (rhs[con] - (total[con] - finite)) / coef
    return bound, valid


def _propagate(red: _Reduced, lo: np.ndarray, hi: np.ndarray, *, rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Integer interval propagation over the constraints until nothing moves (or ``rounds``)."""
    lo, hi = lo.copy(), hi.copy()
    le = _as_inequalities(red)
    var, coef = le[1], le[2]
    for _ in range(rounds):
        bound, valid = _implied(le, lo, hi)
        new_hi, new_lo = hi.copy(), lo.copy()
        up, down = valid & (coef > 0), valid & (coef < 0)
        np.minimum.at(new_hi, var[up], np.floor(bound[up] + _EPS))
        np.maximum.at(new_lo, var[down], np.ceil(bound[down] - _EPS))
        if (new_lo > new_hi).any():
            raise ValueError("the published figures contradict the layout or the marks' meaning (no table fits them)")
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def _narrowing_sources(red: _Reduced, lo0, hi0, lo, hi, narrow: np.ndarray) -> np.ndarray:
    """The additive equations that gave a narrow variable a bound tighter than its mark's."""
    le = _as_inequalities(red)
    var, coef, source = le[1], le[2], le[4][le[0]]
    bound, valid = _implied(le, lo, hi)
    up = valid & (coef > 0) & (np.floor(bound + _EPS) <= hi[var]) & (hi[var] < hi0[var])
    down = valid & (coef < 0) & (np.ceil(bound - _EPS) >= lo[var]) & (lo[var] > lo0[var])
    hit = (up | down) & narrow[var] & (source >= 0)
    return np.unique(source[hit])


def _cap(known: np.ndarray) -> float:
    """A stand-in for an unbounded count: far above any figure of the table (and any province's households)."""
    return 1e8 + 10 * float(np.max(known, initial=0))


def _linprog(c, a_ub, b_ub, a_eq, b_eq, lo, hi) -> np.ndarray:
    res = linprog(
        c,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        A_eq=a_eq if a_eq.shape[0] else None,
        b_eq=b_eq if a_eq.shape[0] else None,
        bounds=np.column_stack([lo, hi]),
        method="highs",
    )
    if res.status != 0 or res.x is None:
        raise ValueError(f"the attacker's linear programme failed ({res.message}): the figures contradict the layout")
    return res.x


def _lp_bounds(
    red: _Reduced,
    lo: np.ndarray,
    hi: np.ndarray,
    width: int,
    *,
    cap: float,
    exact: bool | np.ndarray = False,
    seed: int = 0,
    batch: int = 3000,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the linear programme over all constraints, where they matter.

    Constraints on one variable are already in the propagated bounds; the others split the
    variables into connected components, solved in batches of about ``batch`` variables
    (one programme per batch is much faster than one for all).  A variable keeps ``width``
    once two feasible points differ that much in it (random objectives find them for most
    variables at once); the others get their exact minimum and maximum from the programme
    of their component (so do the narrow ones ``exact`` marks, True for all).  ``cap`` stands for an
    unbounded maximum.
    """
    nv = len(lo)
    lo, hi = lo.copy(), hi.copy()
    multi = np.bincount(red.con, minlength=len(red.rhs)) >= 2
    if nv == 0 or not multi.any():
        return lo, hi
    renumber = np.cumsum(multi) - 1
    keep = multi[red.con]
    con, var = renumber[red.con[keep]], red.var[keep]
    k = int(multi.sum())
    a = sparse.csr_matrix((red.coef[keep], (con, var)), shape=(k, nv))
    rhs, eq = red.rhs[multi], red.eq[multi]
    graph = sparse.coo_matrix((np.ones(len(var)), (var, nv + con)), shape=(nv + k,) * 2)
    _, label = connected_components(graph, directed=False)
    var_label, con_label = label[:nv], label[nv:]
    linked = np.zeros(nv, dtype=bool)
    linked[var] = True
    wanted = linked & (exact | ((hi - lo) >= width))
    if not wanted.any():
        return lo, hi
    v_order, c_order = np.argsort(var_label, kind="stable"), np.argsort(con_label, kind="stable")
    v_sorted, c_sorted = var_label[v_order], con_label[c_order]
    comps = np.unique(var_label[wanted])
    sizes = np.searchsorted(v_sorted, comps, side="right") - np.searchsorted(v_sorted, comps)
    group = np.cumsum(sizes) // batch
    rng = np.random.default_rng(seed)
    for g in np.unique(group):
        chosen = comps[group == g]
        cols = v_order[np.isin(v_sorted, chosen)]
        rows = c_order[np.isin(c_sorted, chosen)]
        lo[cols], hi[cols] = _certify(
            a[rows][:, cols],
            rhs[rows],
            eq[rows],
            lo[cols],
            hi[cols],
            var_label[cols],
            con_label[rows],
            width=width,
            cap=cap,
            exact=exact if isinstance(exact, bool) else exact[cols],
            rng=rng,
        )
    return lo, hi


def _certify(a, rhs, eq, lo, hi, var_label, con_label, *, width, cap, exact, rng) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_lp_bounds` on one batch of components."""
    nv = len(lo)
    lo, hi = lo.copy(), hi.copy()
    top = np.minimum(hi, cap)
    seen_lo, seen_hi = np.full(nv, np.inf), np.full(nv, -np.inf)

    def solve(c, rows=slice(None), cols=slice(None)):
        sub, b, e = a[rows][:, cols], rhs[rows], eq[rows]
        x = _linprog(c, sub[~e], b[~e], sub[e], b[e], lo[cols], top[cols])
        seen_lo[cols] = np.minimum(seen_lo[cols], x)
        seen_hi[cols] = np.maximum(seen_hi[cols], x)
        return x

    def wide(j=slice(None)):
        return np.floor(seen_hi[j] + _EPS) - np.ceil(seen_lo[j] - _EPS) >= width

    check = (hi - lo) >= width
    todo = check.copy()
    if todo.any():
        c = np.where(todo, rng.choice([-1.0, 1.0], nv), 0.0)
        solve(c)
        solve(-c)
        todo = check & ~wide()
    idle = 0
    for _ in range(60):  # push each unsettled variable towards the end it has not reached, random weights
        if todo.sum() < 4 or idle >= 3:
            break
        at_low, at_high = seen_lo <= lo + _EPS, seen_hi >= top - _EPS
        side = np.where(at_low & ~at_high, -1.0, np.where(at_high & ~at_low, 1.0, rng.choice([-1.0, 1.0], nv)))
        solve(np.where(todo, side * rng.uniform(0.1, 1.0, nv), 0.0))
        left = check & ~wide()
        idle = idle + 1 if left.sum() == todo.sum() else 0
        todo = left
    todo = todo | (exact & ~check)
    members: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for j in np.flatnonzero(todo):
        if check[j] and wide(j):
            continue
        k = int(var_label[j])
        if k not in members:
            members[k] = (np.flatnonzero(con_label == k), np.flatnonzero(var_label == k))
        rows, cols = members[k]
        e = (cols == j).astype(float)
        low, high = solve(e, rows, cols)[cols == j][0], solve(-e, rows, cols)[cols == j][0]
        lo[j] = max(lo[j], np.ceil(low - _EPS))
        if high < cap - 1:
            hi[j] = min(hi[j], np.floor(high + _EPS))
    return lo, hi


# ----------------------------------------------------------------------------- the rule


def rate_band(denominator: float, min_cell: int | None = None) -> float:
    """The smallest band bound u of :data:`BANDS` with ``u × denominator >= min_cell`` (NaN when above 50%).

    ``< u`` then holds every count the mark ``< min_cell`` allows, so it gives nothing more away.

    Examples
    --------
    >>> rate_band(5054), rate_band(54), rate_band(15)
    (0.002, 0.2, nan)
    """
    limit = _limit(min_cell)
    need = limit / np.asarray(denominator, dtype=float)
    bands = np.asarray(BANDS)
    i = np.searchsorted(bands, need - 1e-12)
    out = np.where(i < len(bands), bands[np.minimum(i, len(bands) - 1)], np.nan)
    return float(out) if out.ndim == 0 else out


def _marks(values: np.ndarray, code: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """What the marks of a protected table tell an attacker who knows the rule, cell by cell."""
    lo = values.astype(float).ravel().copy()
    hi = lo.copy()
    c = code.ravel()
    lo[c == _SMALL], hi[c == _SMALL] = 1, limit - 1
    lo[c == _DENOM], hi[c == _DENOM] = 0, limit - 1
    lo[c == _COMPL], hi[c == _COMPL] = limit, np.inf
    return lo, hi


@dataclass(frozen=True, eq=False)
class Protected:
    """A table under the disclosure rule: its values, which of them are hidden and why.

    Attributes
    ----------
    values : DataFrame
        Keys, counts, rates (recomputed from the counts) and changes (NaN for a first review).
    hidden : DataFrame
        True where the published table does not show the value (a banded rate is hidden).
    reason : DataFrame
        ``""`` for a shown value, else one of :data:`REASONS`.
    band : DataFrame
        The upper bound of the band of each banded rate (NaN elsewhere).
    layout : Layout
    min_cell, min_width, rate_digits : int
    rounds : int
        Rounds of complementary suppression.
    unresolved : DataFrame
        Keys and ``column`` of the hidden counts an attacker would still narrow below
        ``min_width`` because no cell was left to hide (tiny tables): publish such a table
        coarser (pool its groups) or not at all.  Empty in general.
    """

    values: pd.DataFrame = field(repr=False)
    hidden: pd.DataFrame = field(repr=False)
    reason: pd.DataFrame = field(repr=False)
    band: pd.DataFrame = field(repr=False)
    layout: Layout
    min_cell: int
    min_width: int
    rate_digits: int
    rounds: int
    unresolved: pd.DataFrame = field(repr=False)

    def _cells(self, lang: str, *, workbook: bool) -> pd.DataFrame:
        check_lang(lang)
        lay, v, h, r = self.layout, self.values, self.hidden, self.reason
        out = v[list(lay.keys)].copy()
        less = f"< {self.min_cell}"
        for c in lay.columns:
            x = v[c].to_numpy()
            shown = np.array(x.tolist(), dtype=object) if workbook else _text(x, lambda y: format_number(y, lang))
            marks = np.where(r[c].to_numpy() == "complement", DASH, less)
            out[c] = np.where(h[c].to_numpy(), marks, shown)
        digits = self.rate_digits
        for c in lay.rates:
            x = v[c].to_numpy(dtype=float)
            rounded = np.round(x, digits + 2)
            shown = (
                np.array([None if y != y else float(y) for y in rounded], dtype=object)
                if workbook
                else _text(rounded, lambda y: format_percent(y, lang, digits=digits))
            )
            b = self.band[c].to_numpy(dtype=float)
            bands = _text(b, lambda y: "< " + format_percent(y, lang, digits=_band_digits(y)))
            hidden = h[c].to_numpy()
            cell = np.where(hidden & (b == b), bands, np.where(hidden | (x != x), DASH, shown))
            if workbook:
                cell = np.where(~hidden & (x != x), None, cell)
            out[c] = cell
        for base, c in zip(lay.changes, lay.change_columns):
            x = v[c].to_numpy(dtype=float)
            rate = base in lay.rates
            if workbook:
                shown = np.array(
                    [None if y != y else (round(100 * y, digits) if rate else int(y)) for y in x], dtype=object
                )
                out[c] = np.where(h[c].to_numpy(), DASH, shown)
            else:
                places = digits if rate else 0
                points = np.round(100 * x, digits) if rate else x
                shown = _text(points, lambda y, places=places: _signed(y, lang, places))
                out[c] = np.where(h[c].to_numpy(), DASH, np.where(x != x, "", shown))
        return out

    def display(self, lang: str = "vi") -> pd.DataFrame:
        """The table as published: formatted text, ``< limit`` for small counts, ``–`` for the others hidden.

        Counts in Vietnamese number format (``5.054``), rates as percentages with
        ``rate_digits`` decimals (``13,33%``) or as bands (``< 20%``), changes signed (``−13``,
        rate changes in percentage points), ``""`` for a first review's change.
        """
        return self._cells(lang, workbook=False)

    def for_workbook(self, lang: str = "vi") -> pd.DataFrame:
        """The table for a spreadsheet: numbers as numbers, hidden cells as text.

        Counts as integers or ``< limit`` / ``–``; rates as shares rounded to what the display
        shows (never more precise: a workbook's full-precision rate gives a hidden count
        back), or their band as text (``< 20%``); changes as numbers (rates' in percentage
        points, as the display) or ``–``; None for a
        value that does not exist (a first review's change, the rate of an empty row).
        """
        return self._cells(lang, workbook=True)

    def note(self, lang: str = "vi") -> str:
        """The footnote that says what the marks mean.

        Examples
        --------
        >>> t = pd.DataFrame({"g": ["a", "b"], "households": [20, 30], "poor": [12, 15]})
        >>> print(protect(t, Layout(["g"], ["poor"])).note("en"))
        < 10: fewer than 10 households. –: not published so that no other figure can be worked out from it, or not defined. A rate shown as «< 20%» is a range, not a value.
        """
        n = self.min_cell
        if check_lang(lang) == "vi":
            return (
                f"< {n}: dưới {n} hộ. {DASH}: không công bố để không suy ra được số liệu khác, hoặc không xác định. "
                "Tỷ lệ dạng «< 20%» là một khoảng, không phải giá trị."
            )
        return (
            f"< {n}: fewer than {n} households. {DASH}: not published so that no other figure can be worked out "
            "from it, or not defined. A rate shown as «< 20%» is a range, not a value."
        )

    def summary(self) -> str:
        """How many cells are hidden, for each reason (returned, not printed)."""
        r = self.reason.to_numpy().ravel()
        counts = {k: int((r == k).sum()) for k in REASONS}
        lines = [
            f"Disclosure rule (limit {self.min_cell} households, hidden counts kept at least {self.min_width} wide): "
            f"{int(self.hidden.to_numpy().sum()):,} of {r.size:,} cells hidden",
            "  " + ", ".join(f"{k}: {v:,}" for k, v in counts.items()),
            f"  {self.rounds} round(s) of complementary suppression; {len(self.unresolved)} count(s) left narrower",
        ]
        return "\n".join(lines)


def _text(values: np.ndarray, fmt) -> np.ndarray:
    """``fmt`` of each value, computed once per distinct value (NaN gives "")."""
    x = np.asarray(values, dtype=float)
    uniq, inverse = np.unique(x, return_inverse=True)
    texts = np.array([fmt(u) if u == u else "" for u in uniq], dtype=object)
    return texts[inverse.ravel()] if len(uniq) else np.array([], dtype=object)


def _band_digits(u: float) -> int:
    return max(0, int(-np.floor(np.log10(100 * u) + 1e-9))) if u == u else 0


def _signed(value: float, lang: str, digits: int) -> str:
    text = format_number(abs(value), lang, digits=digits)
    return text if value == 0 else ("+" if value > 0 else "−") + text


def _frame(table: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    missing = [c for c in (*layout.keys, *layout.columns) if c not in table.columns]
    if missing:
        raise ValueError(f"'table' lacks the columns {missing}")
    frame = table[list(layout.keys) + list(layout.columns)].reset_index(drop=True)
    values = frame[list(layout.columns)]
    if values.isna().any().any():
        raise ValueError(f"'table' has missing counts in {values.columns[values.isna().any()].tolist()}")
    x = values.to_numpy(dtype=float)
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("'table' counts must be whole numbers of households, at least 0")
    above = x[:, 1:] > x[:, :1]
    if above.any():
        raise ValueError(f"'table' has counts above their denominator {layout.denominator!r}")
    if frame.duplicated(list(layout.keys)).any():
        raise ValueError(f"'table' has several rows for the same keys {list(layout.keys)}")
    for c in layout.columns:
        frame[c] = values[c].to_numpy(dtype=np.int64)
    return frame


def protect(
    table: pd.DataFrame,
    layout: Layout,
    *,
    min_cell: int | None = None,
    min_width: int = 2,
    rate_digits: int = 2,
    audit: bool = True,
    max_rounds: int = 100,
) -> Protected:
    """Decide which counts, rates and changes of a table are published (the rule of the module docstring).

    Parameters
    ----------
    table : DataFrame
        One row per ``layout.keys``, with the count columns and, when ``layout.totals`` is
        set, the total rows.  Counts are whole, at least 0 and at most the denominator; the
        totals must be the sums of their parts.
    layout : Layout
    min_cell : int, optional
        The limit (default :data:`povanalysis.config.MIN_CELL`); at least 3.
    min_width : int, default 2
        An attacker must be left at least this wide an interval (``hi - lo`` households) for
        every hidden count; at most ``min_cell - 2``.
    rate_digits : int, default 2
        Decimals of the percentages shown.
    audit : bool, default True
        Also check with the attacker's linear programme (combinations of equations that
        interval propagation misses), hiding more until it pins nothing.  Seconds for a
        province's tables; its cost grows fast with margins tying thousands of communes
        together (a national table), where the rule without it takes about 2 s for 3,300
        communes × 8 groups × 5 reviews: audit such a table province by province.
    max_rounds : int, default 100

    Returns
    -------
    Protected

    Examples
    --------
    A part of 4 poor households: it is hidden, and so is the next smallest part, so that the
    total does not give it back; its rate is a band that holds every count under 10.

    >>> t = pd.DataFrame({"ethnicity": ["Kinh", "Tày", "Hoa", "all"],
    ...                   "households": [300, 80, 54, 434], "poor": [40, 15, 4, 59]})
    >>> layout = Layout(["ethnicity"], ["poor"], totals={"ethnicity": "all"}, rates={"poor_rate": "poor"})
    >>> p = protect(t, layout, min_cell=10)
    >>> p.display()
      ethnicity households  poor poor_rate
    0      Kinh        300    40    13,33%
    1       Tày         80     –         –
    2       Hoa         54  < 10     < 20%
    3       all        434    59    13,59%
    >>> p.reason["poor"].tolist()
    ['', 'complement', 'small', '']
    """
    limit = _limit(min_cell)
    width = _width(min_width, limit)
    frame = _frame(table, layout)
    cols = list(layout.columns)
    values = frame[cols].to_numpy(dtype=np.int64)
    n, m = values.shape
    tie_eq, tie_cell, tie_coef = _tie_rows(frame, layout)
    if len(tie_eq):
        off = np.bincount(tie_eq, weights=tie_coef * values.ravel()[tie_cell])
        if np.abs(off).max() > 0.5:
            raise ValueError("'table' totals are not the sums of their parts (see layout.totals and layout.parts)")
    system = _System.join(_ties(tie_eq, tie_cell, tie_coef), _below_denominator(n, layout))
    ties = pd.DataFrame({"eq": tie_eq, "cell": tie_cell, "total": tie_coef < 0})
    code = np.zeros((n, m), dtype=np.int8)
    den_small = values[:, 0] < limit
    code[den_small] = _DENOM
    code[(values > 0) & (values < limit) & (code == _SHOWN)] = _SMALL
    # parts of a total shown as 0 are 0 whatever is hidden: the total says it of all its households
    forced = _zero_forced(tie_eq, tie_cell, tie_coef, (values == 0).ravel() & (code == _SHOWN).ravel())
    rounds, audited, left = 0, False, np.zeros(0, dtype=np.int64)
    while True:
        lo0, hi0 = _marks(values, code, limit)
        red = _reduce(system, lo0, hi0)
        vlo0, vhi0 = lo0[red.cells], hi0[red.cells]
        vlo, vhi = _propagate(red, vlo0, vhi0)
        narrow = (vhi - vlo < width) & ~forced[red.cells]
        if narrow.any():
            chosen = _narrowing_sources(red, vlo0, vhi0, vlo, vhi, narrow)
            audited = False
        elif audit and not audited:
            vlo, vhi = _lp_bounds(red, vlo, vhi, width, cap=_cap(values))
            narrow = (vhi - vlo < width) & ~forced[red.cells]
            audited = not narrow.any()
            chosen = np.zeros(0, dtype=np.int64)
        if not narrow.any():
            break
        cells = red.cells[narrow]
        picked = _complements(ties, chosen, cells, code, values, limit, width)
        if rounds >= max_rounds or not len(picked):
            if audit and chosen.size:  # what the linear programme narrows too
                vlo, vhi = _lp_bounds(red, vlo, vhi, width, cap=_cap(values))
                cells = red.cells[(vhi - vlo < width) & ~forced[red.cells]]
            left = cells
            break
        rounds += 1
        code.ravel()[picked] = _COMPL
    unresolved = frame.loc[left // m, list(layout.keys)].assign(column=np.array(cols)[left % m]).reset_index(drop=True)
    return _finish(frame, layout, values, code, limit, width, rate_digits, rounds, unresolved)


def _complements(ties, chosen, narrow_cells, code, values, limit, width) -> np.ndarray:
    """Cells to hide so that narrow hidden counts widen.

    In each equation that narrowed one (``chosen``; every equation of a count no single
    equation narrowed, as the linear programme found it), its smallest shown part, else its
    total.  When those equations show nothing, the one smallest shown cell of the nearest
    equations tied to them through hidden cells.
    """
    if ties.empty:
        return np.zeros(0, dtype=np.int64)
    hidden = code.ravel() != _SHOWN
    eligible = (values > 0) & (code == _SHOWN)
    eligible[:, 1:] &= ((code[:, 0] != _SHOWN) | (values[:, 0] - limit >= width))[:, None]
    eligible = eligible.ravel()
    eq, cell = ties["eq"].to_numpy(), ties["cell"].to_numpy()

    def best(eqs: np.ndarray, *, one: bool) -> np.ndarray:
        cand = ties[np.isin(eq, eqs) & eligible[cell]]
        cand = cand.assign(value=values.ravel()[cand["cell"].to_numpy()])
        if one:
            return cand.sort_values(["total", "value", "cell"], kind="stable")["cell"].to_numpy()[:1]
        cand = cand.sort_values(["eq", "total", "value", "cell"], kind="stable").drop_duplicates("eq")
        return np.unique(cand["cell"].to_numpy())

    unexplained = narrow_cells[~np.isin(narrow_cells, cell[np.isin(eq, chosen)])]
    picked = best(np.union1d(chosen, eq[np.isin(cell, unexplained)]), one=False)
    reach = np.unique(eq[np.isin(cell, narrow_cells)])
    for _ in range(50):
        if len(picked):
            return picked
        wider = np.unique(eq[np.isin(cell, cell[np.isin(eq, reach) & hidden[cell]])])
        if len(wider) == len(reach):
            break
        reach = wider
        picked = best(reach, one=True)
    return picked


def _finish(frame, layout, values, code, limit, width, rate_digits, rounds, unresolved) -> Protected:
    index = {c: j for j, c in enumerate(layout.columns)}
    out = frame.copy()
    hidden = pd.DataFrame(code != _SHOWN, columns=list(layout.columns))
    reason = pd.DataFrame(_CODE_REASON[code], columns=list(layout.columns))
    band = pd.DataFrame(index=frame.index)
    den_row = code[:, 0] == _DENOM
    exact = {}
    for name, (num, den) in layout.rates.items():
        x, d = values[:, index[num]], values[:, index[den]]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(d > 0, x / np.where(d > 0, d, 1), np.nan)
        cn, cd = code[:, index[num]], code[:, index[den]]
        b = np.where((cn == _SMALL) & (cd == _SHOWN), rate_band(np.maximum(d, 1), limit), np.nan)
        hide = (cn != _SHOWN) | (cd != _SHOWN)
        hidden[name] = hide
        reason[name] = np.where(den_row, "denominator", np.where(hide, "rate", ""))
        band[name] = b
        exact[name] = ~hide & (d > 0)
    before = _earlier(frame, layout)
    has = before >= 0
    prev = np.where(has, before, 0)
    for base, name in zip(layout.changes, layout.change_columns):
        if base in layout.rates:
            x = out[base].to_numpy(dtype=float)
            ok = exact[base]
        else:
            x = values[:, index[base]].astype(float)
            ok = code[:, index[base]] == _SHOWN
        out[name] = np.where(has, x - x[prev], np.nan)
        hide = has & ~(ok & ok[prev])
        hidden[name] = hide
        reason[name] = np.where(hide, "change", "")
    return Protected(out, hidden, reason, band, layout, limit, width, rate_digits, rounds, unresolved)


# ----------------------------------------------------------------------------- the attacker


_LESS = re.compile(r"^(?:<|dưới|fewer than|under)\s*(.+)$", re.IGNORECASE)
_NONE = {"", "–", "—", "-", "x", "..", "...", "…", "nan", "<na>", "none"}


def _number(text: str, lang: str) -> tuple[float, float]:
    """(value, half unit of its last printed digit) of a number as tables print it; percentages as shares."""
    s = text.strip().replace("\u2212", "-").replace(" ", "")
    pct = s.endswith("%")
    s = s.rstrip("%")
    s = s.replace(".", "").replace(",", ".") if lang == "vi" else s.replace(",", "")
    decimals = len(s.split(".")[1]) if "." in s else 0
    value, half = float(s), 0.5 * 10.0**-decimals
    return (value / 100, half / 100) if pct else (value, half)


def _read(value: Any, lang: str, digits: int | None) -> tuple[str, float, float]:
    """One published cell: ("exact", value, half unit), ("less", bound, 0) or ("none", nan, nan)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return "none", np.nan, np.nan
    if isinstance(value, (int, np.integer)):
        return "exact", float(value), 0.0
    if isinstance(value, (float, np.floating)):
        if value != value:
            return "none", np.nan, np.nan
        return "exact", float(value), (0.5 * 10.0 ** -(digits + 2) if digits is not None else 1e-9)
    s = str(value).strip()
    if s.lower() in _NONE:
        return "none", np.nan, np.nan
    less = _LESS.match(s)
    try:
        if less:
            return "less", _number(less.group(1), lang)[0], 0.0
        return ("exact", *_number(s, lang))
    except ValueError:
        raise ValueError(f"cannot read the published value {value!r}") from None


def _read_column(column: pd.Series, lang: str, digits: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(column.astype(object), use_na_sentinel=False)
    parsed = [_read(u, lang, digits) for u in uniq]
    kind = np.array([p[0] for p in parsed], dtype=object)[codes]
    return kind, np.array([p[1] for p in parsed])[codes], np.array([p[2] for p in parsed])[codes]


@dataclass(frozen=True, eq=False)
class Attack:
    """What an attacker worked out from a published table, count by count.

    Attributes
    ----------
    cells : DataFrame
        One row per count cell: the keys, ``column``, ``shown`` (the published text),
        ``hidden`` (not shown as a number), ``lo`` and ``hi`` (bounds the attacker proved;
        exact linear-programme bounds where narrower than ``min_width``), ``recovered`` (a
        hidden count narrowed below ``min_width``), ``exposed`` (a shown or recovered figure
        that gives away a small count: a count from 1 to ``min_cell - 1``, or any count of a
        row of 1 to ``min_cell - 1`` households), ``zero_total`` (a hidden count that a
        total shown as 0 makes 0: counted as neither, the total says it of all its
        households) and, with ``truth``, ``truth``.
    min_cell, min_width : int
    """

    cells: pd.DataFrame = field(repr=False)
    min_cell: int
    min_width: int

    @property
    def recovered(self) -> pd.DataFrame:
        """The hidden counts the attacker pinned down (to fewer than ``min_width + 1`` values)."""
        return self.cells[self.cells["recovered"]]

    @property
    def exposed(self) -> pd.DataFrame:
        """The small counts the published figures give away."""
        return self.cells[self.cells["exposed"]]

    @property
    def disclosed(self) -> pd.DataFrame:
        """Recovered or exposed counts."""
        return self.cells[self.cells["recovered"] | self.cells["exposed"]]

    def summary(self) -> str:
        """What the attack found (returned, not printed)."""
        c = self.cells
        pinned = int((c["recovered"] & (c["hi"] == c["lo"])).sum())
        text = (
            f"Attack on {len(c):,} counts ({int(c['hidden'].sum()):,} hidden): {int(c['recovered'].sum()):,} hidden "
            f"count(s) narrowed below {self.min_width} ({pinned:,} pinned to one value), "
            f"{int(c['exposed'].sum()):,} small count(s) exposed"
        )
        keys = list(self.cells.columns[: list(self.cells.columns).index("column")])
        for r in self.disclosed.head(10).to_dict("records"):
            lo, hi = int(r["lo"]), int(r["hi"])
            where = ", ".join(str(r[k]) for k in keys)
            text += f"\n  {r['column']} of ({where}): " + (f"{lo}" if lo == hi else f"{lo} to {hi}")
        return text


def attack(
    published: pd.DataFrame,
    layout: Layout,
    *,
    min_cell: int | None = None,
    min_width: int = 2,
    knows_rule: bool = True,
    rate_digits: int | None = None,
    lang: str = "vi",
    truth: pd.DataFrame | None = None,
    seed: int = 0,
) -> Attack:
    """Work out the counts a published table hides, from everything it shows.

    What the attacker uses: shown counts; ``< N`` marks (1 to N - 1 where the row's
    households are shown and ``knows_rule``, else 0 to N - 1, households included: a row
    of none reads ``< N`` too); ``–`` marks (at least
    ``min_cell`` when ``knows_rule``: the rule hides a large figure only to protect another);
    counts never above their denominator; every rate, as the interval its printed digits
    allow (``0,18%`` is 0,175% to 0,185%) or its band, times its denominator (a linear
    constraint even when the denominator is hidden); the sums of ``layout.totals`` and
    ``layout.parts``; changes between reviews (``<column>_change``).  Bounds are propagated
    over all of these, then narrowed by a linear programme over all at once (combinations
    of rows and columns of a two-way table), with the integrality of counts.

    Parameters
    ----------
    published : DataFrame
        The keys and what is shown of each column (text as :meth:`Protected.display` gives,
        or workbook values); a count column it lacks is unknown.
    layout : Layout
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.
    min_width : int, default 2
        A hidden count bounded to an interval narrower than this is recovered.
    knows_rule : bool, default True
        Read the marks as :func:`protect` writes them; False for a table published otherwise.
    rate_digits : int, optional
        Decimals of the percentages of numeric (workbook) rates; None: exact.
    lang : {"vi", "en"}
        The number format of text cells.
    truth : DataFrame, optional
        The true counts (keys and count columns), only to check the attack (it must hold
        every truth within its bounds) and report it; the attacker does not use it.
    seed : int, default 0

    Returns
    -------
    Attack

    Examples
    --------
    A count written "under 10" next to its rate and its households gives itself back:

    >>> shown = pd.DataFrame({"commune_code": ["01840"], "households": ["5.054"], "poor": ["dưới 10"],
    ...                       "poor_rate": ["0,18%"]})
    >>> a = attack(shown, Layout(["commune_code"], ["poor"], rates={"poor_rate": "poor"}), knows_rule=False)
    >>> a.recovered[["commune_code", "column", "lo", "hi"]].to_dict("records")
    [{'commune_code': '01840', 'column': 'poor', 'lo': 9.0, 'hi': 9.0}]
    """
    check_lang(lang)
    limit = _limit(min_cell)
    width = _width(min_width, limit)
    missing = [k for k in layout.keys if k not in published.columns]
    if missing:
        raise ValueError(f"'published' lacks the key columns {missing}")
    frame = published.reset_index(drop=True)
    n, m = len(frame), len(layout.columns)
    index = {c: j for j, c in enumerate(layout.columns)}
    kinds = np.full((n, m), "none", dtype=object)
    vals = np.full((n, m), np.nan)
    for c, j in index.items():
        if c in frame.columns:
            kinds[:, j], vals[:, j], _ = _read_column(frame[c], lang, 0)
    lo, hi = np.zeros((n, m)), np.full((n, m), np.inf)
    exact, less, none = kinds == "exact", kinds == "less", kinds == "none"
    lo[exact], hi[exact] = np.round(vals[exact]), np.round(vals[exact])
    den_less = less[:, 0]
    lo[less] = 0
    if knows_rule:
        lo[:, 1:][less[:, 1:] & ~den_less[:, None]] = 1
        lo[none] = limit
    hi[less] = vals[less] - 1
    lo, hi = lo.ravel(), hi.ravel()
    tie = _tie_rows(frame, layout)
    parts = [_ties(*tie), _below_denominator(n, layout)]
    rows = np.arange(n)
    for name, (num, den) in layout.rates.items():
        if name not in frame.columns:
            continue
        kind, value, half = _read_column(frame[name], lang, rate_digits)
        top = np.where(kind == "less", value, value + half)
        bottom = np.where(kind == "less", 0.0, np.maximum(value - half, 0.0))
        ok = kind != "none"
        x, d = rows[ok] * m + index[num], rows[ok] * m + index[den]
        parts.append(_pairs(x, d, 1.0, -top[ok], 0.0))  # count <= top × denominator
        parts.append(_pairs(d, x, bottom[ok], -1.0, 0.0))  # bottom × denominator <= count
    before = _earlier(frame, layout)
    has = before >= 0
    for base, name in zip(layout.changes, layout.change_columns):
        if name not in frame.columns:
            continue
        points = None if rate_digits is None else rate_digits - 2  # numeric rate changes are in points
        kind, value, half = _read_column(frame[name], lang, points if base in layout.rates else 0)
        ok = has & (kind == "exact")
        t, s = rows[ok], before[ok]
        if base in layout.rates:  # linear in the counts when both denominators are shown
            num, den = layout.rates[base]
            dt, ds = hi[t * m + index[den]], hi[s * m + index[den]]
            known = (lo[t * m + index[den]] == dt) & (lo[s * m + index[den]] == ds) & (dt > 0) & (ds > 0)
            t, s, dt, ds = t[known], s[known], dt[known], ds[known]
            delta, h = value[ok][known] / 100, half[ok][known] / 100
            a, b = t * m + index[num], s * m + index[num]
            parts.append(_pairs(a, b, 1 / dt, -1 / ds, delta + h))
            parts.append(_pairs(a, b, -1 / dt, 1 / ds, h - delta))
        else:
            parts.append(_pairs(t * m + index[base], s * m + index[base], 1.0, -1.0, value[ok], eq=True))
    system = _System.join(*parts)
    red = _reduce(system, lo, hi)
    vlo, vhi = _propagate(red, lo[red.cells], hi[red.cells])
    forced = _zero_forced(*tie, (kinds.ravel() == "exact") & (np.round(vals.ravel()) == 0))
    refine = ~forced[red.cells]  # exact bounds of what it narrows, but for the zeros a zero total gives
    vlo, vhi = _lp_bounds(red, vlo, vhi, width, cap=_cap(lo[lo == hi]), exact=refine, seed=seed)
    lo[red.cells], hi[red.cells] = vlo, vhi
    return _attack_result(frame, layout, kinds, lo, hi, forced & (kinds.ravel() != "exact"), limit, width, truth)


def _attack_result(frame, layout, kinds, lo, hi, forced, limit, width, truth) -> Attack:
    n, m = kinds.shape
    cols = list(layout.columns)
    keys = frame[list(layout.keys)]
    cells = keys.loc[np.repeat(np.arange(n), m)].reset_index(drop=True)
    cells["column"] = np.tile(cols, n)
    shown = np.column_stack(
        [frame[c].astype(object).to_numpy() if c in frame.columns else np.full(n, None, dtype=object) for c in cols]
    )
    cells["shown"] = pd.Series(shown.ravel(), dtype=object).where(lambda x: x.notna(), "").astype(str).to_numpy()
    cells["hidden"] = kinds.ravel() != "exact"
    cells["lo"], cells["hi"] = lo, hi
    narrow = (hi - lo) < width
    den_lo, den_hi = np.repeat(lo.reshape(n, m)[:, 0], m), np.repeat(hi.reshape(n, m)[:, 0], m)
    small = ((lo >= 1) & (hi <= limit - 1)) | ((den_lo >= 1) & (den_hi <= limit - 1))
    cells["zero_total"] = forced
    cells["recovered"] = cells["hidden"].to_numpy() & narrow & ~forced
    cells["exposed"] = narrow & small & ~forced
    if truth is not None:
        true = truth.reset_index(drop=True)[list(layout.keys) + cols]
        merged = frame[list(layout.keys)].merge(true, on=list(layout.keys), how="left", validate="one_to_one")
        t = merged[cols].to_numpy(dtype=float).ravel()
        cells["truth"] = t
        wrong = ~((lo - _EPS <= t) & (t <= hi + _EPS)) & (t == t)
        if wrong.any():
            bad = cells[wrong].iloc[0]
            raise ValueError(
                f"the attack's bounds [{bad['lo']}, {bad['hi']}] miss the true {bad['column']} {bad['truth']}: "
                "its reading of the marks does not fit this publication (knows_rule?)"
            )
    return Attack(cells, limit, width)
