"""Alkire–Foster multidimensional poverty: scores, identification, and the adjusted headcount
ratio M0 with its partial indices and linearised survey standard errors.

The units' statistics are summed per group by :func:`_af_sums`: integer codes of (group,
deprivation pattern) cells, added into tables with ``np.add.at``, no loop over the groups.
The moments, ratios and the table come from :mod:`povanalysis.measure.linearisation`, shared
with FGT.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import linearisation as lin

#: Values aligned to the rows.
ArrayLike = np.ndarray | pd.Series | Sequence
#: Grouping: column name(s), aligned values, or a frame of them.
Grouping = str | ArrayLike | list | pd.DataFrame | None

__all__ = [
    "CUTOFF_TOLERANCE",
    "alkire_foster",
    "deprivation_score",
    "identify_poor",
]

#: A score this close below ``k`` still reaches ``k`` (scores and ``k`` lie in [0, 1]).
CUTOFF_TOLERANCE = 1e-9

# How the units are summed (see _af_sums). The thresholds are counts of cells, each a float64;
# they were set by timing 27 million households with 92 and 3,300 groups (bench/).
#: Largest table of groups × deprivation patterns that units are summed into in one pass (the
#: additions stay within the processor's cache); also the largest table of groups × the
#: patterns of the poor, or of the non-poor, when these are summed apart.
_DENSE_CELLS = 1 << 21
#: Largest table of groups × patterns of one piece of the indicators (256 KB: within the
#: per-core cache, where more pieces of fewer bits were found faster than fewer, larger ones).
_PIECE_CELLS = 1 << 15
#: Most indicators whose patterns are tabulated (score and poverty of every pattern).
_TABLE_BITS = 20
#: Rows summed at a time: bounds the memory of the temporaries.
_CHUNK_ROWS = 1 << 18

# Additive statistics summed over units. A width of 0 is one column; a width J is one
# column per indicator, named "<stat>.<j>".
#   n: units with complete data, n_dropped: units dropped for missing values,
#   N = Σw, P = Σw·poor, C = Σw·c(k), D_j = Σw·g_j, K_j = Σw·g_j·poor.
# Unit-level second moments (used when each unit is its own cluster), with p, g binary:
#   w2 = Σw², w2p = Σw²p, w2c = Σw²c(k), w2cc = Σw²c(k)², w2d_j = Σw²g_j,
#   w2k_j = Σw²g_j·p, w2kc_j = Σw²g_j·c(k).


def _af_layout(n_ind: int, *, unit: bool) -> dict[str, int]:
    layout = {"n": 0, "n_dropped": 0, "N": 0, "P": 0, "C": 0}
    if unit:
        layout |= {"w2": 0, "w2p": 0, "w2c": 0, "w2cc": 0}
    layout |= {"D": n_ind, "K": n_ind}
    if unit:
        layout |= {"w2d": n_ind, "w2k": n_ind, "w2kc": n_ind}
    return layout


def _normalised_weights(deprivations, weights) -> tuple[list, np.ndarray]:
    """Indicator names and their weights divided by their sum."""
    if not isinstance(deprivations, pd.DataFrame) and not lin.is_dask(deprivations):
        raise TypeError(f"'deprivations' should be a pandas or dask DataFrame, got {type(deprivations).__name__}")
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


# ----------------------------------------------------------------------------- identification


def _reaches(score: np.ndarray, k: float) -> np.ndarray:
    """Identification: the score reaches ``k`` up to :data:`CUTOFF_TOLERANCE` and is positive."""
    threshold = k - CUTOFF_TOLERANCE
    return score >= threshold if threshold > 0 else (score >= threshold) & (score > 0)


def _indicator_arrays(columns: pd.DataFrame, issues: dict, missing: str) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The indicator columns as integer 0/1 arrays (missing as 0), and the mask of complete
    rows (None when every row is complete). Values other than 0 and 1, and missing values
    unless ``missing="drop"``, are recorded in ``issues``."""
    arrays, incomplete = [], None
    for j, name in enumerate(columns.columns):
        column = columns[name]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu":
            a = column.to_numpy()
            if not a.size or (a.min() >= 0 and a.max() <= 1):
                arrays.append(a)
                continue
        g = column.to_numpy(dtype=np.float64, na_value=np.nan)
        nan = np.isnan(g)
        what = f"column {name!r} of 'deprivations'"
        lin.note(
            issues,
            (0, j),
            what,
            "must hold 0/1 deprivation values",
            (g != 0) & (g != 1) & ~nan,
            columns.index,
            column.array,
        )
        if missing == "raise":
            lin.note(issues, (1, j), what, "missing", nan, columns.index, hint=lin.MISSING_HINT)
        if nan.any():
            incomplete = nan if incomplete is None else incomplete | nan
        arrays.append((g == 1).view(np.int8))
    return arrays, None if incomplete is None else ~incomplete


def _pattern_scores(weights: np.ndarray) -> np.ndarray:
    """Score of each deprivation pattern (bit j set when deprived in indicator j), summed in
    indicator order as :func:`_unit_scores` sums a unit's score."""
    patterns = np.arange(1 << weights.size)
    score = np.zeros(patterns.size)
    for j, wj in enumerate(weights):
        score += ((patterns >> j) & 1) * wj
    return score


def _unit_scores(arrays: list[np.ndarray], rows: slice, weights: np.ndarray) -> np.ndarray:
    score = np.zeros(len(arrays[0][rows]))
    for a, wj in zip(arrays, weights):
        score += a[rows] * wj
    return score


def _bits(patterns: np.ndarray, nbits: int) -> np.ndarray:
    """Patterns × indicators: bit j of each pattern, as floats."""
    return ((patterns[:, None] >> np.arange(nbits)) & 1).astype(np.float64)


def _bit_sums(table: np.ndarray, nbits: int) -> np.ndarray:
    """Groups × indicators: the sum of each group's cells whose pattern has bit j set.

    ``table`` is groups × 2^nbits patterns; pattern p = a·2^(j+1) + b·2^j + c has bit j = b.
    """
    ngroups = table.shape[0]
    return np.column_stack([table.reshape(ngroups, -1, 2, 1 << j)[:, :, 1, :].sum(axis=(1, 2)) for j in range(nbits)])


def _patterns(arrays: list[np.ndarray], rows: slice, lo: int, hi: int, scratch: _Scratch | None = None) -> np.ndarray:
    """Pattern of the indicators ``lo`` to ``hi - 1`` of each unit in ``rows``, as an integer."""
    dtype = np.dtype(np.int16 if hi - lo <= 15 else np.int32 if hi - lo <= 31 else np.int64)
    length = len(arrays[0][rows])
    code = np.zeros(length, dtype=dtype) if scratch is None else scratch.get("pattern", dtype, length)
    bit = None if scratch is None else scratch.get("pattern.bit", dtype, length)
    code[:] = 0
    for j in range(lo, hi):
        code |= np.left_shift(arrays[j][rows], j - lo, dtype=dtype, out=bit)
    return code


def _piece(pattern: np.ndarray, lo: int, hi: int, nbits: int, out: np.ndarray) -> np.ndarray:
    """Bits ``lo`` to ``hi - 1`` of each pattern of ``nbits`` bits (in ``out`` unless they are all)."""
    if lo:
        pattern = np.right_shift(pattern, lo, out=out)
    return pattern if hi == nbits else np.bitwise_and(pattern, (1 << (hi - lo)) - 1, out=out)


class _Scratch:
    """Arrays reused by every chunk of rows, so that no temporary is allocated per chunk.

    This matters in dask.distributed workers: they hand freed memory back to the system at
    once (``MALLOC_TRIM_THRESHOLD_``), so that every fresh array costs page faults.
    """

    def __init__(self, size: int):
        self.size, self.arrays = size, {}

    def get(self, name: str, dtype, length: int) -> np.ndarray:
        array = self.arrays.get(name)
        if array is None or array.dtype != dtype:
            array = self.arrays[name] = np.empty(self.size, dtype=dtype)
        return array[:length]

    def take(self, values: np.ndarray, positions: np.ndarray, name: str) -> np.ndarray:
        """``values[positions]`` in the array ``name`` (positions are valid: no check)."""
        return np.take(values, positions, out=self.get(name, values.dtype, positions.size), mode="clip")


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(start, start + size) for start in range(0, n, size)] or [slice(0, 0)]


# ----------------------------------------------------------------------------- group sums


def _af_sums(codes, ngroups, arrays, w, complete, *, weights, k, unit, squares_equal) -> np.ndarray:
    """Per-group sums of the unit statistics, in ``_af_layout`` order.

    ``codes`` are the units' group codes (0 to ``ngroups`` − 1), ``arrays`` their 0/1
    indicators, ``w`` their weights (0 for dropped units). ``squares_equal`` says that
    w² = w (no sampling weights). Units are added into tables of cells by integer cell codes
    (``np.add.at``), rows a chunk at a time, with no loop over the groups; the score depends
    only on the deprivation pattern. The cost grows with the number of groups only through
    the tables' size, kept within cache, and the output.

    - When the table of groups × 2^J patterns is small (at most ``_DENSE_CELLS`` cells and no
      more than the units), Σw and Σw² are summed into its cells in one pass and every
      statistic is a product of that table with the patterns' values (:func:`_dense_sums`).
    - Otherwise the poor and the non-poor are summed apart (:func:`_class_sums`), each into
      a table of groups × its own patterns while that is small (few patterns are non-poor
      when ``k`` is low), else into tables of groups × the patterns of pieces of the
      indicators, b bits each, groups × 2^b cells at most ``_PIECE_CELLS``.
    """
    n, nbits = len(w), len(arrays)
    columns = lin.counts(codes, ngroups, complete)
    summing = _dense_sums if nbits <= 16 and ngroups << nbits <= min(_DENSE_CELLS, n) else _class_sums
    stats = summing(codes, ngroups, arrays, w, weights=weights, k=k, unit=unit, squares_equal=squares_equal)
    columns += [stats[name] for name in _af_layout(nbits, unit=unit) if name not in ("n", "n_dropped")]
    return np.column_stack(columns)


def _dense_sums(codes, ngroups, arrays, w, *, weights, k, unit, squares_equal) -> dict[str, np.ndarray]:
    """Statistics from the (group × pattern) table of Σw and Σw²."""
    nbits = len(arrays)
    span = ngroups << nbits
    t1 = np.zeros(span)
    t2 = np.zeros(span) if unit and not squares_equal else None
    scratch = _Scratch(min(len(w), _CHUNK_ROWS))
    for rows in _chunks(len(w), _CHUNK_ROWS):
        w_rows = w[rows]
        cell = np.left_shift(codes[rows], nbits, out=scratch.get("cell", np.intp, len(w_rows)))
        cell |= _patterns(arrays, rows, 0, nbits, scratch)
        np.add.at(t1, cell, w_rows)
        if t2 is not None:
            np.add.at(t2, cell, np.multiply(w_rows, w_rows, out=scratch.get("w2", np.float64, len(w_rows))))
    bits = _bits(np.arange(1 << nbits), nbits)
    score = _pattern_scores(weights)
    poor = _reaches(score, k).astype(np.float64)
    ck = score * poor
    ones = np.ones_like(score)
    first = t1.reshape(ngroups, -1) @ np.column_stack([ones, poor, ck, bits, bits * poor[:, None]])
    j = 3 + nbits
    out = {"N": first[:, 0], "P": first[:, 1], "C": first[:, 2], "D": first[:, 3:j], "K": first[:, j:]}
    if unit:
        table = t1 if squares_equal else t2
        second = table.reshape(ngroups, -1) @ np.column_stack(
            [ones, poor, ck, ck * ck, bits, bits * poor[:, None], bits * ck[:, None]]
        )
        j = 4 + nbits
        out |= {
            "w2": second[:, 0],
            "w2p": second[:, 1],
            "w2c": second[:, 2],
            "w2cc": second[:, 3],
            "w2d": second[:, 4:j],
            "w2k": second[:, j : j + nbits],
            "w2kc": second[:, j + nbits :],
        }
    return out


def _class_sums(codes, ngroups, arrays, w, *, weights, k, unit, squares_equal) -> dict[str, np.ndarray]:
    """Statistics from tables of the non-poor and of the poor, summed apart (see :func:`_af_sums`).

    A class's table is dense when groups × its patterns is small: (group, pattern) cells of
    Σw and Σw², the patterns' values applied to the table. Otherwise it is cut into pieces of
    the indicators: cells (group, pattern of the piece) of Σw, Σw² and, for the poor, Σw²·c(k).
    """
    nbits = len(arrays)
    width = max(1, min(nbits, int(math.log2(max(_PIECE_CELLS // ngroups, 1)))))
    width = -(-nbits // -(-nbits // width))  # pieces as equal as the bits allow
    pieces = [(lo, min(lo + width, nbits)) for lo in range(0, nbits, width)]
    tabulated = nbits <= _TABLE_BITS
    members = [np.zeros(0, dtype=np.intp)] * 2  # each class's patterns, when tabulated
    if tabulated:
        score = _pattern_scores(weights)
        pattern_poor = _reaches(score, k)
        members = [np.flatnonzero(~pattern_poor), np.flatnonzero(pattern_poor)]
        slot = np.zeros(score.size, dtype=np.intp)
        for patterns in members:
            slot[patterns] = np.arange(patterns.size)
    dense = [tabulated and patterns.size <= min(1 << 16, _DENSE_CELLS // ngroups) for patterns in members]
    squares = unit and not squares_equal
    names = [["w", "w2"] if squares else ["w"]] * 2
    if unit and not dense[1]:
        names[1] = names[1] + ["w2c"]
    spans = [[ngroups * members[c].size] if dense[c] else [ngroups << (hi - lo) for lo, hi in pieces] for c in (0, 1)]
    tables = [{name: [np.zeros(span) for span in spans[c]] for name in names[c]} for c in (0, 1)]
    scratch = _Scratch(min(len(w), _CHUNK_ROWS))
    for rows in _chunks(len(w), _CHUNK_ROWS):
        group, w_rows = codes[rows], w[rows]
        if tabulated:
            pattern = _patterns(arrays, rows, 0, nbits, scratch)
            poor_rows = scratch.take(pattern_poor, pattern, "poor")
        else:
            unit_score = _unit_scores(arrays, rows, weights)
            poor_rows = _reaches(unit_score, k)
            pattern = np.column_stack([_patterns(arrays, rows, lo, hi) for lo, hi in pieces])
        nonpoor_rows = np.logical_not(poor_rows, out=scratch.get("nonpoor", np.bool_, len(w_rows)))
        for c, in_class in enumerate((nonpoor_rows, poor_rows)):
            positions = np.flatnonzero(in_class)
            values = {"w": scratch.take(w_rows, positions, "w")}
            if squares:
                values["w2"] = np.multiply(values["w"], values["w"], out=scratch.get("w2", np.float64, positions.size))
            g = scratch.take(group, positions, "group")
            p = scratch.take(pattern, positions, "pattern.class") if tabulated else pattern[positions]
            if "w2c" in names[c]:
                ck = scratch.take(score, p, "ck") if tabulated else unit_score[positions]
                values["w2c"] = np.multiply(values["w2" if squares else "w"], ck, out=ck)
            if dense[c]:
                cell = scratch.take(slot, p, "cell")
                g *= members[c].size
                cell += g
                for name in names[c]:
                    np.add.at(tables[c][name][0], cell, values[name])
                continue
            g <<= width  # every piece but the last is this wide
            for i, (lo, hi) in enumerate(pieces):
                cell = np.right_shift(g, width - hi + lo, out=scratch.get("cell", np.intp, g.size))
                cell |= _piece(p, lo, hi, nbits, scratch.get("piece", p.dtype, g.size)) if tabulated else p[:, i]
                for name in names[c]:
                    np.add.at(tables[c][name][i], cell, values[name])
    if squares_equal:
        for c in (0, 1):
            tables[c]["w2"] = tables[c]["w"]
    out = {}
    for c, prefix in ((0, "np_"), (1, "")):
        got = _class_stats(
            tables[c],
            members[c] if dense[c] else pieces,
            ngroups=ngroups,
            nbits=nbits,
            poor=c == 1,
            unit=unit,
            score=score if dense[c] else None,
            weights=weights,
        )
        out |= {prefix + name: value for name, value in got.items()}
    # the non-poor add to the totals over everyone
    out["N"], out["D"] = out.pop("np_N") + out["P"], out.pop("np_D") + out["K"]
    if unit:
        out["w2"], out["w2d"] = out.pop("np_w2") + out["w2p"], out.pop("np_w2d") + out["w2k"]
    return out


def _class_stats(tables, layout, *, ngroups, nbits, poor, unit, score, weights) -> dict[str, np.ndarray]:
    """One class's statistics from its tables: dense when ``layout`` holds the class's patterns
    (``score`` their scores), by pieces when it holds the pieces' ``(lo, hi)`` bits."""

    def apply(name, extra=()):
        """Σ of the table over each group's cells, times 1, each ``extra`` value and each bit."""
        if score is not None:
            bits = _bits(layout, nbits)
            product = tables[name][0].reshape(ngroups, -1) @ np.column_stack(
                [np.ones(len(layout)), *extra, bits, *(bits * e[:, None] for e in extra)]
            )
            parts = np.split(product, np.cumsum([1 + len(extra)] + [nbits] * len(extra)), axis=1)
            return [parts[0][:, i] for i in range(1 + len(extra))] + parts[1:]
        per_bit = [_bit_sums(t.reshape(ngroups, -1), hi - lo) for t, (lo, hi) in zip(tables[name], layout)]
        return [tables[name][0].reshape(ngroups, -1).sum(axis=1), np.hstack(per_bit)]

    if not poor:
        out = dict(zip(("N", "D"), apply("w")))
        if unit:
            out |= dict(zip(("w2", "w2d"), apply("w2")))
        return out
    if score is not None:
        ck = score[layout]
        p, c, k_, _ = apply("w", [ck])
        out = {"P": p, "C": c, "K": k_}
        if unit:
            w2p, w2c, w2cc, w2k, w2kc, _ = apply("w2", [ck, ck * ck])
            out |= {"w2p": w2p, "w2c": w2c, "w2cc": w2cc, "w2k": w2k, "w2kc": w2kc}
        return out
    p, k_ = apply("w")
    out = {"P": p, "K": k_, "C": k_ @ weights}  # Σw·c(k) = Σ_j w_j Σw·g_j over the poor
    if unit:
        (w2p, w2k), (w2c, w2kc) = apply("w2"), apply("w2c")
        out |= {"w2p": w2p, "w2k": w2k, "w2c": w2c, "w2kc": w2kc, "w2cc": w2kc @ weights}
    return out


def _af_partition(part, extras, *, indicators, weights, k, weight, keys, missing, unit):
    """Per-unit statistics of one partition, summed by group (and cluster)."""
    issues: dict = {}
    arrays, complete = _indicator_arrays(part[indicators], issues, missing)
    design = lin.design(part, extras, issues, weight=weight, keys=keys, complete=complete)
    if design is None or not len(part):
        return None, issues
    w, codes, uniques = design
    summed = _af_sums(
        codes, len(uniques[0]), arrays, w, complete, weights=weights, k=k, unit=unit, squares_equal=weight is None
    )
    return lin.sums_frame(summed, uniques, _af_layout(len(indicators), unit=unit)), issues


def _af_products(a):
    n, p, c, d, k = a["N"], a["P"], a["C"], a["D"], a["K"]
    return {
        "NN": n * n,
        "PP": p * p,
        "PN": p * n,
        "CC": c * c,
        "CN": c * n,
        "CP": c * p,
        "DD": d * d,
        "DN": d * n[:, None],
        "KK": k * k,
        "KN": k * n[:, None],
        "KC": k * c[:, None],
    }


def _af_unit_second(a):
    return {
        "NN": a["w2"],
        "PP": a["w2p"],
        "PN": a["w2p"],
        "CC": a["w2cc"],
        "CN": a["w2c"],
        "CP": a["w2c"],
        "DD": a["w2d"],
        "DN": a["w2d"],
        "KK": a["w2k"],
        "KN": a["w2k"],
        "KC": a["w2kc"],
    }


# ----------------------------------------------------------------------------- public


def deprivation_score(deprivations: pd.DataFrame, weights: Mapping[str, float] | pd.Series) -> pd.Series:
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
    if lin.is_dask(deprivations):
        return deprivations[indicators].map_partitions(_score_partition, w, meta=("score", "f8"))
    return _score_partition(deprivations[indicators], w)


def _score_partition(part: pd.DataFrame, w: np.ndarray) -> pd.Series:
    g = part.to_numpy(dtype=np.float64, na_value=np.nan)
    issues: dict = {}
    bad = (g != 0) & (g != 1) & ~np.isnan(g)
    for j, col in enumerate(part.columns):
        lin.note(
            issues,
            (0, j),
            f"column {col!r} of 'deprivations'",
            "must hold 0/1 deprivation values",
            bad[:, j],
            part.index,
            part[col].array,
        )
    lin.raise_issues([issues])
    return pd.Series(g @ w, index=part.index, name="score")


def identify_poor(deprivations: pd.DataFrame, *, weights: Mapping[str, float] | pd.Series, k: float) -> pd.Series:
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
    if lin.is_dask(score):
        return score.map_partitions(_poor_from_score, k, meta=("poor", "boolean"))
    return _poor_from_score(score, k)


def _poor_from_score(score: pd.Series, k: float) -> pd.Series:
    values = score.to_numpy()
    poor = pd.array(_reaches(values, k), dtype="boolean")
    poor[np.isnan(values)] = pd.NA
    return pd.Series(poor, index=score.index, name="poor")


def alkire_foster(
    deprivations: pd.DataFrame,
    *,
    weights: Mapping[str, float] | pd.Series,
    k: float,
    sample_weight: str | ArrayLike | None = None,
    by: Grouping = None,
    cluster: str | ArrayLike | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
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
    products with w, and per-cluster totals), so a dask DataFrame gives the same table as
    pandas (each partition is summed, then the partitions' sums are added). The sums are
    taken over integer codes of (group, deprivation pattern) cells, with no loop over the
    groups, since the score depends only on the pattern; with many groups the poor and the
    non-poor are summed apart and the indicators cut into pieces, so that the tables of
    cells stay within the processor's cache. On 27 million households 3,300 groups cost
    little more than 92, and several times less than a plain numpy computation
    (``bench/bench_indicators.py`` times both side by side).

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
    lin.check_missing(missing)
    indicators, w = _normalised_weights(deprivations, weights)
    k = _check_k(k)
    extras: dict = {}
    weight = (
        None
        if sample_weight is None
        else lin.Role(deprivations, sample_weight, "sample_weight", "deprivations", extras, "sample_weight")
    )
    keys = lin.key_roles(deprivations, by, "deprivations", extras)
    clus = None if cluster is None else lin.Role(deprivations, cluster, "cluster", "deprivations", extras, "cluster")
    lin.check_numeric(deprivations, weight, "deprivations")
    unit = clus is None
    partition = functools.partial(
        _af_partition,
        indicators=indicators,
        weights=w,
        k=k,
        weight=weight,
        keys=keys + ([] if unit else [clus]),
        missing=missing,
        unit=unit,
    )
    columns = indicators + [r.name for r in [weight, *keys, clus] if r is not None]
    summed = lin.collect(deprivations, extras, columns, partition)

    nby = len(keys)
    n_ind = len(indicators)
    keyidx, first, second = lin.moments(
        summed,
        nby=nby,
        clustered=not unit,
        layout=_af_layout(n_ind, unit=False),
        unit_layout=_af_layout(n_ind, unit=True),
        products=_af_products,
        unit_second=_af_unit_second,
        cross=("N", "C"),
    )
    f, s = first, second
    col = (slice(None), None)
    blocks = [
        ("H", False, *lin.ratio(f["P"], f["N"], s["PP"], s["PN"], s["NN"], s["G"]), True),
        ("A", False, *lin.ratio(f["C"], f["P"], s["CC"], s["CP"], s["PP"], s["G"]), True),
        ("M0", False, *lin.ratio(f["C"], f["N"], s["CC"], s["CN"], s["NN"], s["G"]), True),
        ("hd", True, *lin.ratio(f["D"], f["N"][col], s["DD"], s["DN"], s["NN"][col], s["G"][col]), False),
        ("hdk", True, *lin.ratio(f["K"], f["N"][col], s["KK"], s["KN"], s["NN"][col], s["G"][col]), False),
    ]
    pctb, pctb_se = lin.ratio(f["K"] * w, f["C"][col], s["KK"] * w * w, s["KC"] * w, s["CC"][col], s["G"][col])
    blocks.append(("pctb", True, 100 * pctb, 100 * pctb_se, False))
    if nby:
        t = -1
        blocks.append(
            ("pop_share", False, *lin.ratio(f["N"], f["N"][t], s["NN"], s["XN"], s["NN"][t], s["G"][t]), False)
        )
        contrib, contrib_se = lin.ratio(f["C"], f["C"][t], s["CC"], s["XC"], s["CC"][t], s["G"][t])
        blocks.append(("contrib", False, 100 * contrib, 100 * contrib_se, False))
    labels = [r.label for r in keys]
    return lin.assemble(keyidx, labels, blocks, first, indicators=indicators, extra={"k": k}, drop=missing == "drop")
