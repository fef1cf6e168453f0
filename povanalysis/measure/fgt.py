"""Foster–Greer–Thorbecke income poverty measures FGT_α with linearised survey standard errors."""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd

from . import linearisation as lin

__all__ = ["fgt"]

# Additive statistics summed over units (see linearisation): n units with complete data,
# n_dropped units dropped for missing values, N = Σw, F_a = Σw·f_a; with each unit its own
# cluster also w2 = Σw², w2f_a = Σw²f_a, w2ff_a = Σw²f_a².


def _fgt_layout(n_alpha: int, *, unit: bool) -> dict[str, int]:
    layout = {"n": 0, "n_dropped": 0, "N": 0, "F": n_alpha}
    if unit:
        layout |= {"w2": 0, "w2f": n_alpha, "w2ff": n_alpha}
    return layout


def _fgt_partition(part, extras, *, income, line, alphas, weight, keys, missing, unit):
    """Per-unit FGT statistics of one partition, summed by group (and cluster)."""
    issues: dict = {}
    y = lin.as_float(lin.values_of(part, extras, income.name))
    complete = None
    if y.size and not np.isfinite(y.sum()):
        nan = np.isnan(y)
        lin.note(issues, (0, 0), income.what, "must be finite", np.isinf(y), part.index, y)
        if missing == "raise":
            lin.note(issues, (1, 0), income.what, "missing", nan, part.index, hint=lin.MISSING_HINT)
        complete = ~nan if nan.any() else None
    if isinstance(line, lin.Role):
        z = lin.as_float(lin.values_of(part, extras, line.name))
        if z.size and not (z.min() > 0 and np.isfinite(z.max())):
            lin.note(
                issues, (0, 1), line.what, "must be positive and finite", ~(np.isfinite(z) & (z > 0)), part.index, z
            )
    else:
        z = line
    design = lin.design(part, extras, issues, weight=weight, keys=keys, complete=complete)
    if design is None or not len(part):
        return None, issues
    w, codes, uniques = design
    ngroups = len(uniques[0])
    # only the poor have f_a > 0: their statistics are summed over them alone
    poor = np.flatnonzero(y <= z)  # missing incomes compare False: never poor
    z_poor = z[poor] if isinstance(z, np.ndarray) else z
    gap = (z_poor - y[poor]) / z_poor
    w_poor, codes_poor = w[poor], codes[poor]
    powers = {1.0: gap}

    def power(a: float) -> np.ndarray:
        if a not in powers:
            half = a / 2
            powers[a] = power(half) ** 2 if half.is_integer() and half >= 1 else gap**a
        return powers[a]

    def times(x, a):  # x · gap^a over the poor
        return x if a == 0 else x * power(a)

    everyone = [w]
    fw = [times(w_poor, a) for a in alphas]
    if unit:
        w2_poor = w_poor * w_poor
        # f_a² = f_2a: Σw²f_a² reuses Σw²f_2a when 2a is one of the alphas
        w2f = {a: times(w2_poor, a) for a in dict.fromkeys([*alphas, *(2 * a for a in alphas)])}
        everyone.append(w * w)
        fw += [*(w2f[a] for a in alphas), *(w2f[2 * a] for a in alphas)]
    totals = lin.sums(codes, ngroups, everyone)
    poor_sums = lin.sums(codes_poor, ngroups, fw)
    n_alpha = len(alphas)
    columns = [*lin.counts(codes, ngroups, complete), totals[0], *poor_sums[:n_alpha]]
    if unit:
        columns += [totals[1], *poor_sums[n_alpha:]]
    summed = np.column_stack(columns)
    return lin.sums_frame(summed, uniques, _fgt_layout(n_alpha, unit=unit)), issues


def _fgt_products(a):
    n, f = a["N"], a["F"]
    return {"NN": n * n, "FF": f * f, "FN": f * n[:, None]}


def _fgt_unit_second(a):
    return {"NN": a["w2"], "FF": a["w2ff"], "FN": a["w2f"]}


def fgt(
    income, *, line, alpha=(0, 1, 2), sample_weight=None, by=None, cluster=None, data=None, missing: str = "raise"
) -> pd.DataFrame:
    """Foster–Greer–Thorbecke poverty measures FGT_α with standard errors.

    FGT_α is the (weighted) mean of 1[y ≤ z]·((z − y)/z)^α: α = 0 is the headcount ratio,
    α = 1 the poverty gap index, α = 2 the squared gap (severity). A unit is poor when its
    income is at or below its line (exact comparison). The line may differ between units,
    as the official line differs between rural and urban areas.

    Standard errors, confidence intervals and the additive design are those of
    :func:`~povanalysis.measure.alkire_foster.alkire_foster`: each FGT_α is a weighted mean,
    linearised with clusters (``cluster``) or with each unit its own cluster, variance scaled
    by G/(G−1), intervals ``value ∓ 1.959964 · se``. With ``by`` the table also has total rows
    (``by`` columns missing). The per-group sums are bincounts over integer group codes, so
    the cost does not grow with the number of groups beyond the output's size.

    Parameters
    ----------
    income : array-like, pandas.Series or str
        Income (per capita) of each unit; a column name when ``data`` is given.
    line : float, array-like or str
        Poverty line (positive): one number, values aligned to ``income``, or a column name.
    alpha : float or sequence of float, default (0, 1, 2)
        Non-negative poverty-aversion parameters; measure codes are ``FGT{alpha}``.
    sample_weight, by, cluster : optional
        As in :func:`~povanalysis.measure.alkire_foster.alkire_foster`: column names of
        ``data`` or values aligned to ``income``.
    data : pandas.DataFrame or dask.dataframe.DataFrame, optional
        Holds the columns named by the other arguments. For dask input pass the dask
        DataFrame here and every other input as a column name.
    missing : {"raise", "drop"}, default "raise"
        Missing incomes raise ``ValueError``; ``"drop"`` leaves them out and adds a column
        ``n_dropped`` (rows of the group dropped).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then ``measure`` (``FGT0``, ``FGT1``...), ``indicator`` (always
        missing), ``value``, ``se``, ``ci_lower``, ``ci_upper`` and ``n``.

    References
    ----------
    Foster, J., Greer, J. and Thorbecke, E. (1984). A class of decomposable poverty
    measures. *Econometrica* 52(3): 761–766. doi:10.2307/1913475

    Binder, D. A. (1983). On the variances of asymptotically normal estimators from
    complex surveys. *International Statistical Review* 51(3): 279–292. doi:10.2307/1402588

    Decree 07/2021/ND-CP (income lines 1.5 million VND rural, 2 million urban, 2022–2025).

    Examples
    --------
    >>> res = fgt([50, 100, 150, 200], line=100)
    >>> res[["measure", "value", "se"]].round(4)
      measure   value      se
    0    FGT0  0.5000  0.2887
    1    FGT1  0.1250  0.1250
    2    FGT2  0.0625  0.0625
    """
    lin.check_missing(missing)
    alphas = _check_alpha(alpha)
    if data is None:
        if isinstance(income, str):
            raise ValueError(f"'income' is the column name {income!r} but no 'data' was given")
        if lin.is_dask(income):
            raise TypeError("for dask input pass the dask DataFrame as 'data' and column names")
        frame = pd.DataFrame(
            index=income.index if isinstance(income, pd.Series) else pd.RangeIndex(len(np.asarray(income)))
        )
        frame_arg = "income"
    else:
        if not isinstance(data, pd.DataFrame) and not lin.is_dask(data):
            raise TypeError(f"'data' should be a pandas or dask DataFrame, got {type(data).__name__}")
        frame, frame_arg = data, "data"
    extras: dict = {}
    inc = lin.Role(frame, income, "income", frame_arg, extras, "income")
    if isinstance(line, numbers.Real) and not isinstance(line, bool):
        if not (np.isfinite(line) and line > 0):
            raise ValueError(f"'line' must be positive and finite, got {line!r}")
        zline = float(line)
    else:
        zline = lin.Role(frame, line, "line", frame_arg, extras, "line")
    weight = (
        None
        if sample_weight is None
        else lin.Role(frame, sample_weight, "sample_weight", frame_arg, extras, "sample_weight")
    )
    keys = lin.key_roles(frame, by, frame_arg, extras)
    clus = None if cluster is None else lin.Role(frame, cluster, "cluster", frame_arg, extras, "cluster")
    for role in (inc, zline if isinstance(zline, lin.Role) else None, weight):
        lin.check_numeric(frame, role, frame_arg)
    unit = clus is None
    partition = functools.partial(
        _fgt_partition,
        income=inc,
        line=zline,
        alphas=alphas,
        weight=weight,
        keys=keys + ([] if unit else [clus]),
        missing=missing,
        unit=unit,
    )
    roles = [inc, zline if isinstance(zline, lin.Role) else None, weight, *keys, clus]
    summed = lin.collect(frame, extras, [r.name for r in roles if r is not None], partition)

    nby = len(keys)
    keyidx, f, s = lin.moments(
        summed,
        nby=nby,
        clustered=not unit,
        layout=_fgt_layout(len(alphas), unit=False),
        unit_layout=_fgt_layout(len(alphas), unit=True),
        products=_fgt_products,
        unit_second=_fgt_unit_second,
        cross=(),
    )
    blocks = []
    for j, a in enumerate(alphas):
        value, se = lin.ratio(f["F"][:, j], f["N"], s["FF"][:, j], s["FN"][:, j], s["NN"], s["G"])
        blocks.append((f"FGT{a:g}", False, value, se, True))
    return lin.assemble(keyidx, [r.label for r in keys], blocks, f, extra={}, drop=missing == "drop")


def _check_alpha(alpha) -> tuple[float, ...]:
    values = (alpha,) if isinstance(alpha, numbers.Real) else tuple(alpha)
    for a in values:
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not (np.isfinite(a) and a >= 0):
            raise ValueError(f"'alpha' values must be non-negative finite numbers, got {a!r}")
    if not values or len(set(values)) != len(values):
        raise ValueError(f"'alpha' must hold distinct values, got {alpha!r}")
    return tuple(float(a) for a in values)
