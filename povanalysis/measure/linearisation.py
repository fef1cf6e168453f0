"""Linearised survey standard errors from additive per-group sums: what Alkire–Foster and FGT share.

An estimator built on this module computes, for each partition of its input (the whole frame,
or each partition of a dask DataFrame), per-group sums of unit statistics (Σw, Σw·y, and for
unit-level variances Σw²·y...). :func:`collect` adds the partitions' sums; :func:`moments`
turns them into first and second moments per group and for the total; :func:`ratio` gives a
ratio of totals and its linearised standard error; :func:`assemble` lays the estimates out as
the tidy table both :func:`~povanalysis.measure.alkire_foster.alkire_foster` and
:func:`~povanalysis.measure.fgt.fgt` return. The helpers here check the inputs (column names
or aligned values), record the problems of every partition so that the first one is reported
with its count, and code the groups as integers.

These are building blocks for the estimators of this package, not a public interface.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import sparse

from ..common.checks import Z_95, to_python

__all__ = [
    "MISSING_HINT",
    "Role",
    "arrays_of",
    "as_float",
    "assemble",
    "check_missing",
    "check_numeric",
    "collect",
    "columns_of",
    "counts",
    "design",
    "factorize",
    "is_dask",
    "key_roles",
    "merge_issues",
    "moments",
    "note",
    "raise_issues",
    "ratio",
    "sums",
    "sums_frame",
    "values_of",
]

MISSING_HINT = "; pass missing='drop' to drop incomplete rows"

# A layout maps the name of each additive statistic to its width: 0 is one column, a width J
# is one column per indicator (or per FGT alpha), named "<stat>.<j>".


def columns_of(layout: dict[str, int]) -> list[str]:
    """Column names of a layout's statistics."""
    return [f"{name}.{j}" if width else name for name, width in layout.items() for j in range(max(width, 1))]


def arrays_of(frame: pd.DataFrame, layout: dict[str, int]) -> dict[str, np.ndarray]:
    """Split a frame of summed statistics (columns in ``layout`` order) into one array each."""
    values = frame.to_numpy(dtype=np.float64)
    out, start = {}, 0
    for name, width in layout.items():
        out[name] = values[:, start : start + width] if width else values[:, start]
        start += max(width, 1)
    return out


def sums_frame(summed: np.ndarray, uniques: list, layout: dict[str, int]) -> pd.DataFrame:
    """Per-group sums as a frame indexed by the group keys (``key0``, ``key1``...)."""
    index = pd.MultiIndex.from_arrays(uniques, names=[f"key{i}" for i in range(len(uniques))])
    return pd.DataFrame(summed, index=index, columns=columns_of(layout))


# ----------------------------------------------------------------------------- inputs


def is_dask(obj: object) -> bool:
    """Whether ``obj`` is a dask collection (checked by module, without importing dask)."""
    return type(obj).__module__.partition(".")[0] in ("dask", "dask_expr")


class Role:
    """Where one input lives (a column of the frame or an aligned array) and how to name it."""

    def __init__(self, frame, value, role: str, frame_arg: str, extras: dict, default_label: str):
        if isinstance(value, str):
            if value not in frame.columns:
                raise ValueError(f"{role}={value!r} is not a column of {frame_arg!r}")
            self.name, self.label = value, value
            self.what = f"{role!r} column {value!r}"
            return
        if is_dask(frame):
            raise TypeError(
                f"with a dask DataFrame {frame_arg!r}, {role!r} must be a column name, got {type(value).__name__}"
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
            raise ValueError(f"{role!r} has {len(array)} values but {frame_arg!r} has {len(frame)} rows")
        self.name = f"\0{role}:{len(extras)}"
        self.label = label
        self.what = repr(role)
        extras[self.name] = array


def key_roles(frame, by, frame_arg: str, extras: dict) -> list[Role]:
    """The grouping inputs of ``by`` (None, a name, values, a list of them or a frame)."""
    if by is None:
        return []
    if isinstance(by, pd.DataFrame):
        items = [by[c] for c in by.columns]
    elif isinstance(by, (list, tuple)):
        items = list(by)
    else:
        items = [by]
    labels = ["by"] if len(items) == 1 else [f"by{i}" for i in range(len(items))]
    roles = [Role(frame, item, "by", frame_arg, extras, lab) for item, lab in zip(items, labels)]
    seen = [r.label for r in roles]
    if len(set(seen)) != len(seen):
        raise ValueError(f"'by' names the same column more than once: {seen}")
    return roles


def values_of(part: pd.DataFrame, extras: dict, name: str):
    """The values of one input: a numpy array, or a pandas extension array (str, nullable)."""
    if name in extras:
        return extras[name]
    column = part[name]
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def as_float(values) -> np.ndarray:
    """Float values, missing as NaN (no copy for float64 numpy data)."""
    if isinstance(getattr(values, "dtype", None), np.dtype):
        return np.asarray(values, dtype=np.float64)
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def check_numeric(frame, role: Role | None, frame_arg: str) -> None:
    """Fail early when a column that must hold numbers does not."""
    if role is None or role.name.startswith("\0"):
        return
    dtype = frame.dtypes[role.name]
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise ValueError(f"{role.what} of {frame_arg!r} must be numeric, got dtype {dtype}")


def check_missing(missing: str) -> None:
    """``missing`` is "raise" or "drop"."""
    if missing not in ("raise", "drop"):
        raise ValueError(f"'missing' must be 'raise' or 'drop', got {missing!r}")


# ----------------------------------------------------------------------------- problems


def note(issues: dict, order: tuple, what: str, problem: str, mask, index, values=None, hint: str = "") -> None:
    """Record the rows flagged by ``mask``: how many, the first row label and its value."""
    positions = np.flatnonzero(mask)
    if positions.size:
        first = positions[0]
        value = None if values is None else to_python(values[first])
        issues[(order, what, problem, hint)] = [positions.size, to_python(index[first]), value]


def merge_issues(found: list[dict]) -> dict:
    """The problems of several partitions, in partition order: counts added, first row kept."""
    merged: dict = {}
    for issues in found:
        for key, (count, label, value) in issues.items():
            if key in merged:
                merged[key][0] += count
            else:
                merged[key] = [count, label, value]
    return merged


def raise_issues(found: list[dict]) -> None:
    """Merge the problems of every partition, in partition order, and raise the first."""
    merged = merge_issues(found)
    if not merged:
        return
    (_, what, problem, hint), (count, label, value) = min(merged.items(), key=lambda item: item[0][0])
    rows = "row" if count == 1 else "rows"
    if problem == "missing":
        values = "value" if count == 1 else "values"
        raise ValueError(f"{what} has {count} missing {values} (first at row {label!r}){hint}")
    raise ValueError(f"{what} {problem}, got {value!r} at row {label!r} ({count} {rows} in all)")


# ----------------------------------------------------------------------------- groups


def design(part, extras, issues, *, weight: Role | None, keys: list[Role], complete):
    """Validated unit weights (zero for dropped rows) and group codes of one partition.

    Returns ``(w, codes, uniques)``, or None when a problem was recorded in ``issues``.
    """
    n = len(part)
    if weight is None:
        w = np.ones(n)
    else:
        w = as_float(values_of(part, extras, weight.name))
        if n and not (w.min() >= 0 and np.isfinite(w.max())):
            note(
                issues,
                (2, 0),
                weight.what,
                "must be finite and non-negative",
                ~(np.isfinite(w) & (w >= 0)),
                part.index,
                w,
            )
    key_values = []
    for i, role in enumerate(keys):
        values = values_of(part, extras, role.name)
        dtype = getattr(values, "dtype", None)
        if not (isinstance(dtype, np.dtype) and dtype.kind in "biu"):
            note(issues, (3, i), role.what, "missing", pd.isna(values), part.index)
        key_values.append(values)
    if issues:
        return None
    if complete is not None:
        w = np.where(complete, w, 0.0)
    codes, uniques = factorize(key_values, n)
    return w, codes, uniques


def factorize(key_values: list, n: int) -> tuple[np.ndarray, list]:
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


def counts(codes, ngroups: int, complete) -> list[np.ndarray]:
    """Per group: units with complete data, and units dropped for missing values."""
    rows = np.bincount(codes, minlength=ngroups).astype(np.float64)
    n = rows if complete is None else np.bincount(codes, weights=complete, minlength=ngroups)
    return [n, rows - n]


def sums(codes, ngroups: int, columns: list) -> list[np.ndarray]:
    """Per-group sums of each column; a column listed twice (the same object) is summed once."""
    summed: dict[int, np.ndarray] = {}
    for column in columns:
        if id(column) not in summed:
            summed[id(column)] = np.bincount(codes, weights=column, minlength=ngroups)
    return [summed[id(column)] for column in columns]


def collect(frame, extras: dict, columns: list, partition: Callable) -> pd.DataFrame:
    """Run ``partition`` on every partition and add the group sums across partitions.

    ``partition(part, extras)`` returns ``(sums, issues)``: a frame of group sums (None for an
    empty partition) and the problems found. With a dask DataFrame the partitions run on its
    scheduler (a ``dask.distributed`` cluster when a client is active) and their sums, one
    row per group, are added in pairs where they were computed, so that one frame of sums
    comes back.
    """
    if is_dask(frame):
        import dask

        combine = dask.delayed(_combine, pure=True)
        results = [dask.delayed(partition)(p, {}) for p in frame[list(dict.fromkeys(columns))].to_delayed()]
        while len(results) > 1:
            results = [
                combine(*results[i : i + 2]) if i + 1 < len(results) else results[i] for i in range(0, len(results), 2)
            ]
        ((summed, issues),) = dask.compute(*results)
    else:
        summed, issues = partition(frame, extras)
    raise_issues([issues])
    if summed is None:
        raise ValueError("there are no rows to analyse")
    return summed.sort_index()


def _combine(left: tuple, right: tuple) -> tuple:
    """The group sums and problems of two runs of partitions, ``left`` first."""
    frames = [summed for summed, _ in (left, right) if summed is not None]
    issues = merge_issues([left[1], right[1]])
    if len(frames) < 2:
        return (frames[0] if frames else None), issues
    return frames[0].add(frames[1], fill_value=0.0), issues  # aligned on the groups (their union)


# ----------------------------------------------------------------------------- moments, ratios


def moments(
    summed: pd.DataFrame,
    *,
    nby: int,
    clustered: bool,
    layout: dict[str, int],
    unit_layout: dict[str, int],
    products: Callable,
    unit_second: Callable,
    cross: tuple,
):
    """First and second moments per group (plus a total row when there are groups).

    Second moments are sums over primary sampling units (clusters, or units) of products
    of the units' totals; ``G`` counts the units and ``X<s>`` is the sum of the group's
    total of ``s`` times the whole cluster's total of ``s``.
    """
    if clustered:
        psu = arrays_of(summed, layout)
        second = products(psu)
        second["G"] = (psu["n"] > 0).astype(np.float64)
        clusters = summed.groupby(level=nby, sort=True, observed=True).sum()
        cl_first = arrays_of(clusters, layout)
        total_second = {name: a.sum(axis=0) for name, a in products(cl_first).items()}
        total_second["G"] = float((cl_first["n"] > 0).sum())
        position = clusters.index.get_indexer(summed.index.get_level_values(nby))
        for s in cross:
            second["X" + s] = psu[s] * cl_first[s][position]
            total_second["X" + s] = total_second[s + s]
        total_first = {name: a.sum(axis=0) for name, a in psu.items()}
        if nby == 0:
            return None, stack(None, total_first), stack(None, total_second)
        codes, uniques = pd.factorize(summed.index.droplevel(nby), sort=True)
        onehot = sparse.csc_array(
            (np.ones(codes.size), codes, np.arange(codes.size + 1)), shape=(len(uniques), codes.size)
        )
        first = {name: onehot @ a for name, a in psu.items()}
        second = {name: onehot @ a for name, a in second.items()}
        keys = uniques
    else:
        unit_sums = arrays_of(summed, unit_layout)
        first = {name: unit_sums[name] for name in layout}
        second = unit_second(unit_sums)
        second["G"] = first["n"].copy()
        for s in cross:
            second["X" + s] = second[s + s]
        if nby == 0:
            return None, first, second
        total_first = {name: a.sum(axis=0) for name, a in first.items()}
        total_second = {name: a.sum(axis=0) for name, a in second.items()}
        keys = summed.index
    return keys, stack(first, total_first), stack(second, total_second)


def stack(groups: dict | None, total: dict) -> dict[str, np.ndarray]:
    """Append the total as the last row of each group statistic (or make it the only row)."""
    rows = {name: np.asarray(a)[None] for name, a in total.items()}
    if groups is None:
        return rows
    return {name: np.concatenate([groups[name], rows[name]]) for name in rows}


def ratio(y, x, syy, syx, sxx, g) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of totals y/x and its linearised standard error.

    The influence value of PSU c is ``(y_c − r·x_c)/x``; the variance is
    ``G/(G−1) · Σ_c (y_c − r·x_c)² / x²``, expanded into the summed second moments.
    Differences below rounding error (relative 1e-12) are taken as zero.

    Examples
    --------
    >>> r, se = ratio(np.array(2.0), np.array(4.0), np.array(2.0), np.array(2.0), np.array(4.0), np.array(4.0))
    >>> float(r), round(float(se), 4)
    (0.5, 0.2887)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, y / x, np.nan)
        ss = syy - 2.0 * r * syx + r * r * sxx
        ss = np.where(ss <= 1e-12 * (syy + r * r * sxx), 0.0, ss)
        var = np.where(g > 1, g / (g - 1) * ss / (x * x), np.nan)
    return r, np.sqrt(var)


def assemble(keys, labels, blocks, first, *, indicators=(), extra, drop) -> pd.DataFrame:
    """Tidy long table: each group's measures in block order, groups in key order, total last.

    ``blocks`` are ``(measure, per_indicator, value, se, in_total)``. ``value`` and ``se``
    have a row per group and, when there are ``keys``, a last total row (shown only for the
    blocks ``in_total``); they have a column per indicator when ``per_indicator``.
    """
    n_rows = len(first["n"])
    ngroups = n_rows - 1 if keys is not None else n_rows
    ranks, inds, values, ses, shown = [], [], [], [], []
    for rank, (_, per_indicator, value, se, in_total) in enumerate(blocks):
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
