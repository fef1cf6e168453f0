"""Alkire–Foster and FGT poverty measures with linearised survey standard errors."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "CUTOFF_TOLERANCE",
    "Z_95",
    "alkire_foster",
    "deprivation_score",
    "fgt",
    "identify_poor",
]

#: A score this close below ``k`` still reaches ``k`` (scores and ``k`` lie in [0, 1]).
CUTOFF_TOLERANCE = 1e-9

#: Standard-normal 97.5% quantile: confidence intervals are ``value ∓ Z_95 * se``.
Z_95 = 1.959963984540054

_MISSING_HINT = "; pass missing='drop' to drop incomplete rows"

#: Largest table of groups × deprivation patterns (cells) that units are summed into; the
#: table must also have at least two units per cell. Larger tables are slower than summing
#: unit by unit (their bincounts no longer fit in cache).
_PATTERN_CELLS = 1 << 19

# Additive statistics summed over units. A width of 0 is one column; a width J is one
# column per indicator (or per FGT alpha), named "<stat>.<j>".
#   n: units with complete data, n_dropped: units dropped for missing values,
#   N = Σw, P = Σw·poor, C = Σw·c(k), D_j = Σw·g_j, K_j = Σw·g_j·poor, F_a = Σw·f_a.
# Unit-level second moments (used when each unit is its own cluster), with p, g binary:
#   w2 = Σw², w2p = Σw²p, w2c = Σw²c(k), w2cc = Σw²c(k)², w2d_j = Σw²g_j,
#   w2k_j = Σw²g_j·p, w2kc_j = Σw²g_j·c(k), w2f_a = Σw²f_a, w2ff_a = Σw²f_a².


def _af_layout(n_ind: int, *, unit: bool) -> dict[str, int]:
    layout = {"n": 0, "n_dropped": 0, "N": 0, "P": 0, "C": 0}
    if unit:
        layout |= {"w2": 0, "w2p": 0, "w2c": 0, "w2cc": 0}
    layout |= {"D": n_ind, "K": n_ind}
    if unit:
        layout |= {"w2d": n_ind, "w2k": n_ind, "w2kc": n_ind}
    return layout


def _fgt_layout(n_alpha: int, *, unit: bool) -> dict[str, int]:
    layout = {"n": 0, "n_dropped": 0, "N": 0, "F": n_alpha}
    if unit:
        layout |= {"w2": 0, "w2f": n_alpha, "w2ff": n_alpha}
    return layout


def _columns(layout: dict[str, int]) -> list[str]:
    return [
        f"{name}.{j}" if width else name
        for name, width in layout.items()
        for j in range(max(width, 1))
    ]


def _arrays(frame: pd.DataFrame, layout: dict[str, int]) -> dict[str, np.ndarray]:
    """Split a frame of summed statistics (columns in ``layout`` order) into one array each."""
    values = frame.to_numpy(dtype=np.float64)
    out, start = {}, 0
    for name, width in layout.items():
        out[name] = values[:, start:start + width] if width else values[:, start]
        start += max(width, 1)
    return out


# ----------------------------------------------------------------------------- inputs


def _is_dask(obj) -> bool:
    return type(obj).__module__.partition(".")[0] in ("dask", "dask_expr")


def _py(value):
    """A numpy scalar as the plain Python value, for readable error messages."""
    return value.item() if isinstance(value, np.generic) else value


class _Role:
    """Where one input lives (a column of the frame or an aligned array) and how to name it."""

    def __init__(self, frame, value, role: str, frame_arg: str, extras: dict, default_label: str):
        if isinstance(value, str):
            if value not in frame.columns:
                raise ValueError(f"{role}={value!r} is not a column of {frame_arg!r}")
            self.name, self.label = value, value
            self.what = f"{role!r} column {value!r}"
            return
        if _is_dask(frame):
            raise TypeError(
                f"with a dask DataFrame {frame_arg!r}, {role!r} must be a column name, "
                f"got {type(value).__name__}"
            )
        if isinstance(value, pd.Series):
            if not value.index.equals(frame.index):
                raise ValueError(f"{role!r} is a Series whose index is not the index of {frame_arg!r}")
            array = value.array
            label = value.name if value.name is not None else default_label
        else:
            array = np.asarray(value)
            if array.ndim != 1:
                raise ValueError(f"{role!r} must be one-dimensional, got shape {array.shape}")
            label = default_label
        if len(array) != len(frame):
            raise ValueError(
                f"{role!r} has {len(array)} values but {frame_arg!r} has {len(frame)} rows"
            )
        self.name = f"\0{role}:{len(extras)}"
        self.label = label
        self.what = repr(role)
        extras[self.name] = array


def _key_roles(frame, by, frame_arg: str, extras: dict) -> list[_Role]:
    if by is None:
        return []
    if isinstance(by, pd.DataFrame):
        items = [by[c] for c in by.columns]
    elif isinstance(by, (list, tuple)):
        items = list(by)
    else:
        items = [by]
    labels = ["by"] if len(items) == 1 else [f"by{i}" for i in range(len(items))]
    roles = [_Role(frame, item, "by", frame_arg, extras, lab) for item, lab in zip(items, labels)]
    seen = [r.label for r in roles]
    if len(set(seen)) != len(seen):
        raise ValueError(f"'by' names the same column more than once: {seen}")
    return roles


def _values(part: pd.DataFrame, extras: dict, name: str):
    """The values of one input: a numpy array, or a pandas extension array (str, nullable)."""
    if name in extras:
        return extras[name]
    column = part[name]
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def _as_float(values) -> np.ndarray:
    """Float values, missing as NaN (no copy for float64 numpy data)."""
    if isinstance(getattr(values, "dtype", None), np.dtype):
        return np.asarray(values, dtype=np.float64)
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_numeric(frame, role: _Role | None, frame_arg: str) -> None:
    """Fail early when a column that must hold numbers does not."""
    if role is None or role.name.startswith("\0"):
        return
    dtype = frame.dtypes[role.name]
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise ValueError(f"{role.what} of {frame_arg!r} must be numeric, got dtype {dtype}")


def _check_missing(missing: str) -> None:
    if missing not in ("raise", "drop"):
        raise ValueError(f"'missing' must be 'raise' or 'drop', got {missing!r}")


def _normalised_weights(deprivations, weights) -> tuple[list, np.ndarray]:
    """Indicator names and their weights divided by their sum."""
    if not isinstance(deprivations, pd.DataFrame) and not _is_dask(deprivations):
        raise TypeError(
            f"'deprivations' should be a pandas or dask DataFrame, got {type(deprivations).__name__}")
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if not isinstance(weights, Mapping):
        raise TypeError(f"'weights' should be a dict or Series of indicator weights, got {type(weights).__name__}")
    if not weights:
        raise ValueError("'weights' is empty: name at least one indicator")
    unknown = [key for key in weights if key not in deprivations.columns]
    if unknown:
        raise ValueError(f"'weights' names indicators that are not columns of 'deprivations': {unknown}")
    for key, value in weights.items():
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok or not np.isfinite(value) or value <= 0:
            raise ValueError(f"weights[{key!r}] must be a positive finite number, got {value!r}")
    for key in weights:
        dtype = deprivations.dtypes[key]
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ValueError(f"column {key!r} of 'deprivations' must hold 0/1 values, got dtype {dtype}")
    values = np.array([float(v) for v in weights.values()])
    return list(weights), values / values.sum()


def _check_k(k) -> float:
    ok = isinstance(k, numbers.Real) and not isinstance(k, bool)
    if not ok or not 0 < k <= 1:
        raise ValueError(f"'k' must be in (0, 1] on the scale of the normalised weights, got {k!r}")
    return float(k)


# ----------------------------------------------------------------------------- problems


def _note(issues: dict, order: tuple, what: str, problem: str, mask, index, values=None, hint="") -> None:
    """Record the rows flagged by ``mask``: how many, the first row label and its value."""
    positions = np.flatnonzero(mask)
    if positions.size:
        first = positions[0]
        value = None if values is None else _py(values[first])
        issues[(order, what, problem, hint)] = [positions.size, _py(index[first]), value]


def _raise_issues(found: list[dict]) -> None:
    """Merge the problems of every partition, in partition order, and raise the first."""
    merged: dict = {}
    for issues in found:
        for key, (count, label, value) in issues.items():
            if key in merged:
                merged[key][0] += count
            else:
                merged[key] = [count, label, value]
    if not merged:
        return
    (_, what, problem, hint), (count, label, value) = min(merged.items(), key=lambda item: item[0][0])
    rows = "row" if count == 1 else "rows"
    if problem == "missing":
        values = "value" if count == 1 else "values"
        raise ValueError(f"{what} has {count} missing {values} (first at row {label!r}){hint}")
    raise ValueError(f"{what} {problem}, got {value!r} at row {label!r} ({count} {rows} in all)")


def _design(part, extras, issues, *, weight: _Role | None, keys: list[_Role], complete):
    """Validated unit weights (zero for dropped rows) and group codes of one partition."""
    n = len(part)
    if weight is None:
        w = np.ones(n)
    else:
        w = _as_float(_values(part, extras, weight.name))
        if n and not (w.min() >= 0 and np.isfinite(w.max())):
            _note(issues, (2, 0), weight.what, "must be finite and non-negative",
                  ~(np.isfinite(w) & (w >= 0)), part.index, w)
    key_values = []
    for i, role in enumerate(keys):
        values = _values(part, extras, role.name)
        dtype = getattr(values, "dtype", None)
        if not (isinstance(dtype, np.dtype) and dtype.kind in "biu"):
            _note(issues, (3, i), role.what, "missing", pd.isna(values), part.index)
        key_values.append(values)
    if issues:
        return None
    if complete is not None:
        w = np.where(complete, w, 0.0)
    codes, uniques = _factorize(key_values, n)
    return w, codes, uniques


def _factorize(key_values: list, n: int) -> tuple[np.ndarray, list]:
    """Codes of the distinct key combinations and, per key, the value of each combination."""
    if not key_values:
        return np.zeros(n, dtype=np.intp), [np.zeros(1 if n else 0, dtype=np.int8)]
    codes, level_values, level_codes = None, [], []
    for values in key_values:
        c, uniques = pd.factorize(values)
        level_values.append(uniques)
        if codes is None:
            codes, level_codes = c, [np.arange(len(uniques))]
            continue
        m = len(uniques)
        codes, combined = pd.factorize(codes * m + c)
        previous, current = np.divmod(combined, m)
        level_codes = [lc[previous] for lc in level_codes] + [current]
    return codes, [u.take(lc) for u, lc in zip(level_values, level_codes)]


def _counts(codes, ngroups: int, complete) -> list[np.ndarray]:
    """Per group: units with complete data, and units dropped for missing values."""
    rows = np.bincount(codes, minlength=ngroups).astype(np.float64)
    n = rows if complete is None else np.bincount(codes, weights=complete, minlength=ngroups)
    return [n, rows - n]


def _sums(codes, ngroups: int, columns: list) -> list[np.ndarray]:
    """Per-group sums of each column; a column listed twice (the same object) is summed once."""
    summed: dict[int, np.ndarray] = {}
    for column in columns:
        if id(column) not in summed:
            summed[id(column)] = np.bincount(codes, weights=column, minlength=ngroups)
    return [summed[id(column)] for column in columns]


def _weighted_rows(codes, ngroups: int, multiplier, matrix) -> np.ndarray:
    """Per-group sums of ``multiplier[i] * matrix[i, :]``: one sparse (groups × units) product."""
    n = codes.size
    return sparse.csc_array((multiplier, codes, np.arange(n + 1)), shape=(ngroups, n)) @ matrix


def _sums_frame(sums: np.ndarray, uniques: list, layout: dict[str, int]) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays(uniques, names=[f"key{i}" for i in range(len(uniques))])
    return pd.DataFrame(sums, index=index, columns=_columns(layout))


# ----------------------------------------------------------------------------- stage 1 + 2


def _reaches(score: np.ndarray, k: float) -> np.ndarray:
    """Identification: the score reaches ``k`` up to :data:`CUTOFF_TOLERANCE` and is positive."""
    threshold = k - CUTOFF_TOLERANCE
    return score >= threshold if threshold > 0 else (score >= threshold) & (score > 0)


def _indicator_arrays(columns: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The indicator columns as arrays, and the mask of entries that are not 0 or 1 (missing
    included), or None when there are none."""
    if all(isinstance(d, np.dtype) and d.kind in "biu" for d in columns.dtypes):
        arrays = [columns[c].to_numpy() for c in columns.columns]
        if all(not a.size or (a.min() >= 0 and a.max() <= 1) for a in arrays):
            return arrays, None
    g = columns.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = (g != 0) & (g != 1)
    return [g[:, j] for j in range(g.shape[1])], (bad if bad.any() else None)


def _unit_matrix(arrays: list[np.ndarray]) -> np.ndarray:
    """Units × (indicators + a column of ones) as a C-ordered float matrix.

    The column of ones makes every product with the matrix also return the plain sum.
    """
    staged = np.empty((len(arrays[0]), len(arrays) + 1), dtype=np.int8)  # 1-byte copies: cheap
    for j, a in enumerate(arrays):
        staged[:, j] = a
    staged[:, -1] = 1
    return staged.astype(np.float64)


def _pattern_codes(arrays: list[np.ndarray]) -> np.ndarray:
    """Deprivation pattern of each unit as an integer, bit j set when deprived in indicator j."""
    dtype = np.dtype(np.int16 if len(arrays) <= 15 else np.int32)  # at most 16 indicators
    code = np.zeros(len(arrays[0]), dtype=dtype)
    for j, a in enumerate(arrays):
        code += (a * dtype.type(1 << j)).astype(dtype, copy=False)
    return code


def _af_cell_sums(group, ngroups, g, t1, t2, count, *, rows, weights, k, unit) -> np.ndarray:
    """Group sums (in ``_af_layout`` order) from cells that share one deprivation row.

    A cell is a unit (``count`` its completeness, ``rows`` None) or all the units of a group
    with the same deprivation pattern. ``g`` holds the cells' indicators and a column of
    ones; ``t1`` and ``t2`` are the cells' Σw and Σw².
    """
    score = g @ np.append(weights, 0.0)
    poor = _reaches(score, k)
    ck = score * poor
    # Σ m·g_j for each multiplier m; the last column is Σ m
    products = [_weighted_rows(group, ngroups, m, g) for m in (t1, t1 * poor)]
    scalars = [products[0][:, -1], products[1][:, -1], *_sums(group, ngroups, [t1 * ck])]
    if unit:
        t2c = t2 * ck
        more = [_weighted_rows(group, ngroups, m, g) for m in (t2, t2 * poor, t2c)]
        scalars += [r[:, -1] for r in more] + _sums(group, ngroups, [t2c * ck])
        products += more
    n = np.bincount(group, weights=count, minlength=ngroups)
    dropped = np.bincount(group, weights=rows, minlength=ngroups) - n
    return np.column_stack([n, dropped, *scalars, *(r[:, :-1] for r in products)])


def _af_partition(part, extras, *, indicators, weights, k, weight, keys, missing, unit):
    """Per-unit statistics of one partition, summed by group (and cluster).

    When the table of groups × deprivation patterns is small (at most ``_PATTERN_CELLS``
    cells and two units per cell), units are first summed into its cells: the score is a
    function of the pattern. Otherwise units are summed one by one.
    """
    issues: dict = {}
    arrays, bad = _indicator_arrays(part[indicators])
    complete = None
    if bad is not None:
        nan = np.column_stack([np.isnan(a) for a in arrays])
        for j, col in enumerate(indicators):
            what = f"column {col!r} of 'deprivations'"
            _note(issues, (0, j), what, "must hold 0/1 deprivation values", bad[:, j] & ~nan[:, j],
                  part.index, part[col].array)
            if missing == "raise":
                _note(issues, (1, j), what, "missing", nan[:, j], part.index, hint=_MISSING_HINT)
        complete = ~nan.any(axis=1)
        arrays = [np.where(nan[:, j], 0.0, a) for j, a in enumerate(arrays)]
    design = _design(part, extras, issues, weight=weight, keys=keys, complete=complete)
    if design is None or not len(part):
        return None, issues
    w, codes, uniques = design
    n, nbits, ngroups = len(part), len(indicators), len(uniques[0])
    w2 = w * w if unit else None
    if nbits <= 16 and ngroups << nbits <= min(n // 2, _PATTERN_CELLS):
        cell = (codes << nbits) | _pattern_codes(arrays)
        span = ngroups << nbits
        rows = np.bincount(cell, minlength=span)
        present = np.flatnonzero(rows)
        group = present >> nbits
        patterns = np.arange(1 << nbits)
        table = np.ones((patterns.size, nbits + 1))
        table[:, :-1] = (patterns[:, None] >> np.arange(nbits)) & 1
        g = table[present & (patterns.size - 1)]
        t1, t2 = (None if t is None else np.bincount(cell, weights=t, minlength=span)[present]
                  for t in (w, w2))
        rows = rows[present].astype(np.float64)
        count = rows if complete is None else np.bincount(cell, weights=complete, minlength=span)[present]
    else:
        group, g, t1, t2, rows = codes, _unit_matrix(arrays), w, w2, None
        count = complete
    sums = _af_cell_sums(group, ngroups, g, t1, t2, count, rows=rows, weights=weights, k=k, unit=unit)
    return _sums_frame(sums, uniques, _af_layout(nbits, unit=unit)), issues


def _fgt_partition(part, extras, *, income, line, alphas, weight, keys, missing, unit):
    """Per-unit FGT statistics of one partition, summed by group (and cluster)."""
    issues: dict = {}
    y = _as_float(_values(part, extras, income.name))
    complete = None
    if y.size and not np.isfinite(y.sum()):
        nan = np.isnan(y)
        _note(issues, (0, 0), income.what, "must be finite", np.isinf(y), part.index, y)
        if missing == "raise":
            _note(issues, (1, 0), income.what, "missing", nan, part.index, hint=_MISSING_HINT)
        complete = ~nan if nan.any() else None
    if isinstance(line, _Role):
        z = _as_float(_values(part, extras, line.name))
        if z.size and not (z.min() > 0 and np.isfinite(z.max())):
            _note(issues, (0, 1), line.what, "must be positive and finite",
                  ~(np.isfinite(z) & (z > 0)), part.index, z)
    else:
        z = line
    design = _design(part, extras, issues, weight=weight, keys=keys, complete=complete)
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
    totals = _sums(codes, ngroups, everyone)
    poor_sums = _sums(codes_poor, ngroups, fw)
    n_alpha = len(alphas)
    columns = [*_counts(codes, ngroups, complete), totals[0], *poor_sums[:n_alpha]]
    if unit:
        columns += [totals[1], *poor_sums[n_alpha:]]
    sums = np.column_stack(columns)
    return _sums_frame(sums, uniques, _fgt_layout(n_alpha, unit=unit)), issues


def _collect(frame, extras: dict, columns: list, partition) -> pd.DataFrame:
    """Run ``partition`` on every partition and add the group sums across partitions."""
    if _is_dask(frame):
        import dask

        parts = frame[list(dict.fromkeys(columns))].to_delayed()
        results = dask.compute(*[dask.delayed(partition)(p, {}) for p in parts])
    else:
        results = [partition(frame, extras)]
    _raise_issues([issues for _, issues in results])
    frames = [sums for sums, _ in results if sums is not None]
    if not frames:
        raise ValueError("there are no rows to analyse")
    if len(frames) == 1:
        return frames[0].sort_index()
    levels = list(range(frames[0].index.nlevels))
    return pd.concat(frames).groupby(level=levels, sort=True, observed=True).sum()


# ----------------------------------------------------------------------------- stage 3


def _moments(sums, *, nby, clustered, layout, unit_layout, products, unit_second, cross):
    """First and second moments per group (plus a total row when there are groups).

    Second moments are sums over primary sampling units (clusters, or units) of products
    of the units' totals; ``G`` counts the units and ``X<s>`` is the sum of the group's
    total of ``s`` times the whole cluster's total of ``s``.
    """
    if clustered:
        psu = _arrays(sums, layout)
        second = products(psu)
        second["G"] = (psu["n"] > 0).astype(np.float64)
        clusters = sums.groupby(level=nby, sort=True, observed=True).sum()
        cl_first = _arrays(clusters, layout)
        total_second = {name: a.sum(axis=0) for name, a in products(cl_first).items()}
        total_second["G"] = float((cl_first["n"] > 0).sum())
        position = clusters.index.get_indexer(sums.index.get_level_values(nby))
        for s in cross:
            second["X" + s] = psu[s] * cl_first[s][position]
            total_second["X" + s] = total_second[s + s]
        total_first = {name: a.sum(axis=0) for name, a in psu.items()}
        if nby == 0:
            return None, _stack(None, total_first), _stack(None, total_second)
        codes, uniques = pd.factorize(sums.index.droplevel(nby), sort=True)
        onehot = sparse.csc_array((np.ones(codes.size), codes, np.arange(codes.size + 1)),
                                  shape=(len(uniques), codes.size))
        first = {name: onehot @ a for name, a in psu.items()}
        second = {name: onehot @ a for name, a in second.items()}
        keys = uniques
    else:
        unit_sums = _arrays(sums, unit_layout)
        first = {name: unit_sums[name] for name in layout}
        second = unit_second(unit_sums)
        second["G"] = first["n"].copy()
        for s in cross:
            second["X" + s] = second[s + s]
        if nby == 0:
            return None, first, second
        total_first = {name: a.sum(axis=0) for name, a in first.items()}
        total_second = {name: a.sum(axis=0) for name, a in second.items()}
        keys = sums.index
    return keys, _stack(first, total_first), _stack(second, total_second)


def _stack(groups: dict | None, total: dict) -> dict[str, np.ndarray]:
    """Append the total as the last row of each group statistic (or make it the only row)."""
    rows = {name: np.asarray(a)[None] for name, a in total.items()}
    if groups is None:
        return rows
    return {name: np.concatenate([groups[name], rows[name]]) for name in rows}


def _ratio(y, x, syy, syx, sxx, g):
    """Ratio of totals y/x and its linearised standard error.

    The influence value of PSU c is ``(y_c − r·x_c)/x``; the variance is
    ``G/(G−1) · Σ_c (y_c − r·x_c)² / x²``, expanded into the summed second moments.
    Differences below rounding error (relative 1e-12) are taken as zero.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, y / x, np.nan)
        ss = syy - 2.0 * r * syx + r * r * sxx
        ss = np.where(ss <= 1e-12 * (syy + r * r * sxx), 0.0, ss)
        var = np.where(g > 1, g / (g - 1) * ss / (x * x), np.nan)
    return r, np.sqrt(var)


def _assemble(keys, labels, blocks, first, *, indicators=(), extra, drop) -> pd.DataFrame:
    """Tidy long table: each group's measures in block order, groups in key order, total last.

    ``blocks`` are ``(measure, per_indicator, value, se, in_total)``. ``value`` and ``se``
    have a row per group and, when there are ``keys``, a last total row (shown only for the
    blocks ``in_total``); they have a column per indicator when ``per_indicator``.
    """
    n_rows = len(first["n"])
    ngroups = n_rows - 1 if keys is not None else n_rows
    ranks, inds, values, ses, shown = [], [], [], [], []
    for rank, (measure, per_indicator, value, se, in_total) in enumerate(blocks):
        width = len(indicators) if per_indicator else 1
        ranks.append(np.full(width, rank))
        inds.append(np.arange(width) if per_indicator else np.full(1, -1))
        values.append(np.reshape(value, (n_rows, width)))
        ses.append(np.reshape(se, (n_rows, width)))
        shown.append(np.full(width, in_total))
    # one group's rows, repeated for every group; then the total's shown rows
    each_rank, each_ind, shown = np.concatenate(ranks), np.concatenate(inds), np.concatenate(shown)
    all_values, all_ses = np.hstack(values), np.hstack(ses)
    row = np.repeat(np.arange(ngroups), each_rank.size)
    rank, ind = np.tile(each_rank, ngroups), np.tile(each_ind, ngroups)
    value, se = all_values[:ngroups].ravel(), all_ses[:ngroups].ravel()
    if keys is not None:
        row = np.concatenate([row, np.full(shown.sum(), ngroups)])
        rank = np.concatenate([rank, each_rank[shown]])
        ind = np.concatenate([ind, each_ind[shown]])
        value = np.concatenate([value, all_values[-1, shown]])
        se = np.concatenate([se, all_ses[-1, shown]])
    columns = {}
    if keys is not None:
        take = np.where(row == ngroups, -1, row)
        for i, label in enumerate(labels):
            columns[label] = _key_array(keys.get_level_values(i)).take(take, allow_fill=True)
    measures = pd.array([b[0] for b in blocks], dtype="str")
    names = pd.array([str(i) for i in indicators], dtype="str")
    columns |= {
        "measure": measures.take(rank),
        "indicator": names.take(ind, allow_fill=True),
        "value": value,
        "se": se,
        "ci_lower": value - Z_95 * se,
        "ci_upper": value + Z_95 * se,
        "n": first["n"][row].round().astype(np.int64),
    }
    columns |= extra
    if drop:
        columns["n_dropped"] = first["n_dropped"][row].round().astype(np.int64)
    return pd.DataFrame(columns)


def _key_array(values: pd.Index):
    """Group key values as an array that can hold a missing value (for the total rows)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.array(values, dtype="boolean")
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.array(values, dtype="Int64")
    if isinstance(values.dtype, pd.StringDtype):
        return values.array.astype("str")
    return values.array


def _af_products(a):
    n, p, c, d, k = a["N"], a["P"], a["C"], a["D"], a["K"]
    return {"NN": n * n, "PP": p * p, "PN": p * n, "CC": c * c, "CN": c * n, "CP": c * p,
            "DD": d * d, "DN": d * n[:, None], "KK": k * k, "KN": k * n[:, None], "KC": k * c[:, None]}


def _af_unit_second(a):
    return {"NN": a["w2"], "PP": a["w2p"], "PN": a["w2p"], "CC": a["w2cc"], "CN": a["w2c"],
            "CP": a["w2c"], "DD": a["w2d"], "DN": a["w2d"], "KK": a["w2k"], "KN": a["w2k"],
            "KC": a["w2kc"]}


def _fgt_products(a):
    n, f = a["N"], a["F"]
    return {"NN": n * n, "FF": f * f, "FN": f * n[:, None]}


def _fgt_unit_second(a):
    return {"NN": a["w2"], "FF": a["w2ff"], "FN": a["w2f"]}


# ----------------------------------------------------------------------------- public


def deprivation_score(deprivations, weights) -> pd.Series:
    """Weighted deprivation score of each unit, with the weights normalised to sum to 1.

    Parameters
    ----------
    deprivations : pandas.DataFrame or dask.dataframe.DataFrame
        0/1 indicator columns, one row per unit. Missing values give a missing score.
    weights : dict or pandas.Series
        Indicator name → positive weight; they are divided by their sum.

    Returns
    -------
    pandas.Series or dask.dataframe.Series
        ``score``: c_i = Σ_j w_j g_ij in [0, 1], on the index of ``deprivations``.

    References
    ----------
    Alkire, S. and Foster, J. (2011). Counting and multidimensional poverty measurement.
    *Journal of Public Economics* 95(7–8): 476–487. doi:10.1016/j.jpubeco.2010.11.006

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"water": [1, 0, 1], "school": [1, 0, 0]})
    >>> deprivation_score(d, {"water": 2, "school": 1}).round(4).tolist()
    [1.0, 0.0, 0.6667]
    """
    indicators, w = _normalised_weights(deprivations, weights)
    if _is_dask(deprivations):
        return deprivations[indicators].map_partitions(_score_partition, w, meta=("score", "f8"))
    return _score_partition(deprivations[indicators], w)


def _score_partition(part: pd.DataFrame, w: np.ndarray) -> pd.Series:
    g = part.to_numpy(dtype=np.float64, na_value=np.nan)
    issues: dict = {}
    bad = (g != 0) & (g != 1) & ~np.isnan(g)
    for j, col in enumerate(part.columns):
        _note(issues, (0, j), f"column {col!r} of 'deprivations'", "must hold 0/1 deprivation values",
              bad[:, j], part.index, part[col].array)
    _raise_issues([issues])
    return pd.Series(g @ w, index=part.index, name="score")


def identify_poor(deprivations, *, weights, k) -> pd.Series:
    """Alkire–Foster identification: is each unit's deprivation score at least ``k``?

    A unit is poor when c_i ≥ k − :data:`CUTOFF_TOLERANCE` (and c_i > 0), so a score that
    equals ``k`` in exact arithmetic counts as poor whatever the rounding of the weights:
    with 12 weights of 1/12 and ``k=0.25``, three deprivations make a unit poor.

    Parameters
    ----------
    deprivations : pandas.DataFrame or dask.dataframe.DataFrame
        0/1 indicator columns.
    weights : dict or pandas.Series
        Indicator name → positive weight, normalised to sum to 1.
    k : float
        Poverty cutoff in (0, 1] on the normalised scale.

    Returns
    -------
    pandas.Series
        ``poor``, nullable boolean; missing where an indicator is missing.

    References
    ----------
    Alkire, S. and Foster, J. (2011). Counting and multidimensional poverty measurement.
    *Journal of Public Economics* 95(7–8): 476–487. doi:10.1016/j.jpubeco.2010.11.006

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame([[1] * 3 + [0] * 9, [1] * 2 + [0] * 10, [0] * 12],
    ...                  columns=[f"d{j}" for j in range(12)])
    >>> identify_poor(d, weights={f"d{j}": 1 / 12 for j in range(12)}, k=0.25).tolist()
    [True, False, False]
    """
    k = _check_k(k)
    score = deprivation_score(deprivations, weights)
    if _is_dask(score):
        return score.map_partitions(_poor_from_score, k, meta=("poor", "boolean"))
    return _poor_from_score(score, k)


def _poor_from_score(score: pd.Series, k: float) -> pd.Series:
    values = score.to_numpy()
    poor = pd.array(_reaches(values, k), dtype="boolean")
    poor[np.isnan(values)] = pd.NA
    return pd.Series(poor, index=score.index, name="poor")


def alkire_foster(deprivations, *, weights, k, sample_weight=None, by=None, cluster=None,
                  missing="raise") -> pd.DataFrame:
    """Alkire–Foster adjusted headcount ratio and its partial indices, with standard errors.

    Each unit's deprivation score is c_i = Σ_j w_j g_ij with the weights normalised to sum
    to 1. A unit is poor when c_i ≥ k; the comparison allows c_i to fall short of ``k`` by
    :data:`CUTOFF_TOLERANCE` (1e-9), so a score equal to ``k`` in exact arithmetic counts
    as poor whatever the rounding of the weights (12 weights of 1/12 and ``k=0.25``: three
    deprivations make a unit poor). A unit with no deprivation is never poor. The censored
    score c_i(k) is c_i for the poor, else 0.

    Measures (codes from the literature), each within a group:

    - ``H``: headcount ratio, the (weighted) share of poor units.
    - ``A``: intensity, the mean score among the poor, Σ w c(k) / Σ w·poor (NaN if none).
    - ``M0``: adjusted headcount ratio, mean censored score; ``M0 = H × A``.
    - ``hd``: uncensored headcount ratio of each indicator (share deprived in it).
    - ``hdk``: censored headcount ratio (share poor *and* deprived in it); Σ_j w_j hdk_j = M0.
    - ``pctb``: percentage contribution of each indicator, 100·w_j·hdk_j / M0, summing to
      100 within a group; NaN where M0 = 0.
    - ``pop_share`` (with ``by``): the group's share of the (weighted) population.
    - ``contrib`` (with ``by``): the group's percentage contribution to the total M0,
      100·pop_share·M0_g / M0, summing to 100 over the groups.

    With ``by`` the table also has total rows for H, A and M0 (``by`` columns missing).

    Standard errors linearise each measure as a ratio of weighted totals θ = Σ w y / Σ w x
    (a mean has x = 1; A has x = poor; pctb has y = w_j g_j poor, x = c(k); pop_share and
    contrib are ratios over the whole sample). The influence value of a unit is
    z_i = w_i (y_i − θ x_i) / Σ w x and the variance is G/(G−1) Σ_c (Σ_{i∈c} z_i)² over the
    G clusters c (each unit its own cluster when ``cluster`` is None, giving the usual
    n/(n−1) scaling); the se is NaN when G < 2. For a mean this is the cluster-robust
    (or HC1) variance of a weighted least-squares fit on a constant in statsmodels, whose
    default correction G/(G−1)·(N−1)/(N−K) is G/(G−1) with K = 1. Each ``by`` group is
    estimated on its own rows (G counts the clusters present in the group). Confidence
    intervals are normal: ``value ∓ 1.959964 · se``.

    Every estimate comes from additive per-group sums (Σw, Σw·poor, Σw·c(k), Σw·g_j, their
    products with w, and per-cluster totals), so the cost does not grow with the number of
    groups and a dask DataFrame gives the same table as pandas (each partition is summed,
    then the partitions' sums are added). When the table of groups × deprivation patterns
    is small, units are first summed into its cells, since the score depends only on the
    pattern.

    Parameters
    ----------
    deprivations : pandas.DataFrame or dask.dataframe.DataFrame
        One row per unit (household): 0/1 indicator columns, plus the ``by``,
        ``sample_weight`` and ``cluster`` columns when those are given as column names.
        With a dask DataFrame they must be column names.
    weights : dict or pandas.Series
        Indicator (column) name → positive weight; only these indicators are used. The
        weights are divided by their sum.
    k : float
        Poverty cutoff in (0, 1] on the normalised scale (3/12 for the Vietnamese
        "≥ 3 of 12 deprivations" rule).
    sample_weight : str or array-like, optional
        Sampling weights (finite, ≥ 0): column name or values aligned to the rows.
    by : str, list, array-like or pandas.DataFrame, optional
        Grouping columns (names) or values aligned to the rows.
    cluster : str or array-like, optional
        Primary sampling unit of each row (e.g. commune code) for clustered standard errors.
    missing : {"raise", "drop"}, default "raise"
        Missing indicator values raise ``ValueError``; with ``"drop"`` incomplete rows are
        left out and the table gains a column ``n_dropped`` with the number of rows of the
        group dropped. Missing is never read as "not deprived".

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then ``measure``, ``indicator`` (missing for H, A, M0,
        pop_share and contrib), ``value``, ``se``, ``ci_lower``, ``ci_upper``, ``n``
        (unweighted number of units with complete data in the group) and ``k``.

    Raises
    ------
    ValueError
        Missing (with ``missing="raise"``) or non-0/1 indicator values, naming the column,
        the count and the first row; unknown weight keys; ``k`` outside (0, 1]; negative
        or missing sampling weights; missing ``by`` or ``cluster`` values.

    References
    ----------
    Alkire, S. and Foster, J. (2011). Counting and multidimensional poverty measurement.
    *Journal of Public Economics* 95(7–8): 476–487. doi:10.1016/j.jpubeco.2010.11.006

    Alkire, S., Foster, J. E., Seth, S., Santos, M. E., Roche, J. M. and Ballon, P. (2015).
    *Multidimensional Poverty Measurement and Analysis*, ch. 5 and 8. Oxford University
    Press. doi:10.1093/acprof:oso/9780199689491.001.0001

    Binder, D. A. (1983). On the variances of asymptotically normal estimators from
    complex surveys. *International Statistical Review* 51(3): 279–292. doi:10.2307/1402588

    Decree 07/2021/ND-CP (Vietnam's multidimensional poverty standard for 2022–2025).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"water": [1, 1, 0, 0], "school": [1, 0, 1, 0],
    ...                   "health": [1, 1, 0, 0]})
    >>> res = alkire_foster(d, weights={"water": 1, "school": 1, "health": 1}, k=2 / 3)
    >>> res[res["indicator"].isna()][["measure", "value", "se", "n"]].round(4)
      measure   value      se  n
    0       H  0.5000  0.2887  4
    1       A  0.8333  0.1361  4
    2      M0  0.4167  0.2500  4
    """
    _check_missing(missing)
    indicators, w = _normalised_weights(deprivations, weights)
    k = _check_k(k)
    extras: dict = {}
    weight = None if sample_weight is None else _Role(
        deprivations, sample_weight, "sample_weight", "deprivations", extras, "sample_weight")
    keys = _key_roles(deprivations, by, "deprivations", extras)
    clus = None if cluster is None else _Role(
        deprivations, cluster, "cluster", "deprivations", extras, "cluster")
    _check_numeric(deprivations, weight, "deprivations")
    unit = clus is None
    partition = functools.partial(
        _af_partition, indicators=indicators, weights=w, k=k, weight=weight,
        keys=keys + ([] if unit else [clus]), missing=missing, unit=unit)
    columns = indicators + [r.name for r in [weight, *keys, clus] if r is not None]
    sums = _collect(deprivations, extras, columns, partition)

    nby = len(keys)
    n_ind = len(indicators)
    keyidx, first, second = _moments(
        sums, nby=nby, clustered=not unit, layout=_af_layout(n_ind, unit=False),
        unit_layout=_af_layout(n_ind, unit=True), products=_af_products,
        unit_second=_af_unit_second, cross=("N", "C"))
    f, s = first, second
    col = (slice(None), None)
    blocks = [
        ("H", False, *_ratio(f["P"], f["N"], s["PP"], s["PN"], s["NN"], s["G"]), True),
        ("A", False, *_ratio(f["C"], f["P"], s["CC"], s["CP"], s["PP"], s["G"]), True),
        ("M0", False, *_ratio(f["C"], f["N"], s["CC"], s["CN"], s["NN"], s["G"]), True),
        ("hd", True, *_ratio(f["D"], f["N"][col], s["DD"], s["DN"], s["NN"][col], s["G"][col]), False),
        ("hdk", True, *_ratio(f["K"], f["N"][col], s["KK"], s["KN"], s["NN"][col], s["G"][col]), False),
    ]
    pctb, pctb_se = _ratio(f["K"] * w, f["C"][col], s["KK"] * w * w, s["KC"] * w, s["CC"][col], s["G"][col])
    blocks.append(("pctb", True, 100 * pctb, 100 * pctb_se, False))
    if nby:
        t = -1
        blocks.append(("pop_share", False,
                       *_ratio(f["N"], f["N"][t], s["NN"], s["XN"], s["NN"][t], s["G"][t]), False))
        contrib, contrib_se = _ratio(f["C"], f["C"][t], s["CC"], s["XC"], s["CC"][t], s["G"][t])
        blocks.append(("contrib", False, 100 * contrib, 100 * contrib_se, False))
    labels = [r.label for r in keys]
    return _assemble(keyidx, labels, blocks, first, indicators=indicators, extra={"k": k},
                     drop=missing == "drop")


def fgt(income, *, line, alpha=(0, 1, 2), sample_weight=None, by=None, cluster=None, data=None,
        missing="raise") -> pd.DataFrame:
    """Foster–Greer–Thorbecke poverty measures FGT_α with standard errors.

    FGT_α is the (weighted) mean of 1[y ≤ z]·((z − y)/z)^α: α = 0 is the headcount ratio,
    α = 1 the poverty gap index, α = 2 the squared gap (severity). A unit is poor when its
    income is at or below its line (exact comparison). The line may differ between units,
    as the official line differs between rural and urban areas.

    Standard errors, confidence intervals and the additive design are those of
    :func:`alkire_foster`: each FGT_α is a weighted mean, linearised with clusters
    (``cluster``) or with each unit its own cluster, variance scaled by G/(G−1), intervals
    ``value ∓ 1.959964 · se``. With ``by`` the table also has total rows (``by`` columns
    missing).

    Parameters
    ----------
    income : array-like, pandas.Series or str
        Income (per capita) of each unit; a column name when ``data`` is given.
    line : float, array-like or str
        Poverty line (positive): one number, values aligned to ``income``, or a column name.
    alpha : float or sequence of float, default (0, 1, 2)
        Non-negative poverty-aversion parameters; measure codes are ``FGT{alpha}``.
    sample_weight, by, cluster : optional
        As in :func:`alkire_foster`: column names of ``data`` or values aligned to
        ``income``.
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
    _check_missing(missing)
    alphas = _check_alpha(alpha)
    if data is None:
        if isinstance(income, str):
            raise ValueError(f"'income' is the column name {income!r} but no 'data' was given")
        if _is_dask(income):
            raise TypeError("for dask input pass the dask DataFrame as 'data' and column names")
        frame = pd.DataFrame(index=income.index if isinstance(income, pd.Series)
                             else pd.RangeIndex(len(np.asarray(income))))
        frame_arg = "income"
    else:
        if not isinstance(data, pd.DataFrame) and not _is_dask(data):
            raise TypeError(f"'data' should be a pandas or dask DataFrame, got {type(data).__name__}")
        frame, frame_arg = data, "data"
    extras: dict = {}
    inc = _Role(frame, income, "income", frame_arg, extras, "income")
    if isinstance(line, numbers.Real) and not isinstance(line, bool):
        if not (np.isfinite(line) and line > 0):
            raise ValueError(f"'line' must be positive and finite, got {line!r}")
        zline = float(line)
    else:
        zline = _Role(frame, line, "line", frame_arg, extras, "line")
    weight = None if sample_weight is None else _Role(
        frame, sample_weight, "sample_weight", frame_arg, extras, "sample_weight")
    keys = _key_roles(frame, by, frame_arg, extras)
    clus = None if cluster is None else _Role(frame, cluster, "cluster", frame_arg, extras, "cluster")
    for role in (inc, zline if isinstance(zline, _Role) else None, weight):
        _check_numeric(frame, role, frame_arg)
    unit = clus is None
    partition = functools.partial(
        _fgt_partition, income=inc, line=zline, alphas=alphas, weight=weight,
        keys=keys + ([] if unit else [clus]), missing=missing, unit=unit)
    roles = [inc, zline if isinstance(zline, _Role) else None, weight, *keys, clus]
    sums = _collect(frame, extras, [r.name for r in roles if r is not None], partition)

    nby = len(keys)
    keyidx, f, s = _moments(
        sums, nby=nby, clustered=not unit, layout=_fgt_layout(len(alphas), unit=False),
        unit_layout=_fgt_layout(len(alphas), unit=True), products=_fgt_products,
        unit_second=_fgt_unit_second, cross=())
    blocks = []
    for j, a in enumerate(alphas):
        value, se = _ratio(f["F"][:, j], f["N"], s["FF"][:, j], s["FN"][:, j], s["NN"], s["G"])
        blocks.append((f"FGT{a:g}", False, value, se, True))
    return _assemble(keyidx, [r.label for r in keys], blocks, f, extra={}, drop=missing == "drop")


def _check_alpha(alpha) -> tuple[float, ...]:
    values = (alpha,) if isinstance(alpha, numbers.Real) else tuple(alpha)
    for a in values:
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not (np.isfinite(a) and a >= 0):
            raise ValueError(f"'alpha' values must be non-negative finite numbers, got {a!r}")
    if not values or len(set(values)) != len(values):
        raise ValueError(f"'alpha' must hold distinct values, got {alpha!r}")
    return tuple(float(a) for a in values)
