"""Building blocks shared by the projection models: units, years, standards in force, cell limits, draws."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .. import config
from ..common.checks import require_frame, to_python
from ..data.schema import ETHNIC_MAJORITY
from ..measure.standards import standard_for_review

__all__ = [
    "check_counts",
    "unit_index",
    "check_years",
    "standard_in_force",
    "check_min_cell",
    "random_stream",
    "quantiles",
    "minority_column",
]


def check_counts(counts: pd.DataFrame, by: list[str], *, extra: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Households and poor households of a table of review counts, checked: one row per unit and review.

    ``counts`` needs the ``by`` columns, ``review_year``, ``households`` (>= 1) and ``poor``
    (0 to ``households``), plus ``extra`` columns; an error names the first bad row.

    Examples
    --------
    >>> c = pd.DataFrame({"u": ["a", "a"], "review_year": [2024, 2024], "households": [5, 5], "poor": [1, 2]})
    >>> check_counts(c, ["u"])
    Traceback (most recent call last):
    ...
    ValueError: 'counts' has more than one row for {'u': 'a', 'review_year': 2024}
    """
    require_frame(counts, "counts", list(dict.fromkeys([*by, "review_year", "households", "poor", *extra])))
    hh = pd.to_numeric(counts["households"], errors="coerce").to_numpy(dtype=float)
    poor = pd.to_numeric(counts["poor"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(hh) | (hh < 1) | ~np.isfinite(poor) | (poor < 0) | (poor > hh)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"'counts' row {counts.index[i]!r}: need households >= 1 and 0 <= poor <= households, "
            f"got households={counts['households'].iloc[i]!r}, poor={counts['poor'].iloc[i]!r}"
        )
    dup = counts.duplicated([*by, "review_year"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        key = {k: to_python(v) for k, v in counts[[*by, "review_year"]].iloc[i].items()}
        raise ValueError(f"'counts' has more than one row for {key}")
    return hh, poor


def unit_index(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame, pd.MultiIndex]:
    """The position of each row's unit, the sorted units as a frame and as an index.

    Examples
    --------
    >>> codes, units, _ = unit_index(pd.DataFrame({"c": ["b", "a", "b"]}), ["c"])
    >>> codes.tolist(), units["c"].tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    idx = pd.MultiIndex.from_frame(frame[by])
    units = idx.unique().sort_values()
    return units.get_indexer(idx), units.to_frame(index=False), units


def check_years(years: Iterable[int], after: int) -> np.ndarray:
    """``years`` as an array of consecutive years, all after ``after`` (the last review used).

    Examples
    --------
    >>> check_years([2026, 2027], 2025).tolist()
    [2026, 2027]
    """
    yrs = np.asarray(list(years), dtype=int)
    if yrs.size == 0 or (np.diff(yrs) != 1).any():
        raise ValueError(f"'years' must be consecutive years in increasing order, got {yrs.tolist()}")
    if yrs[0] <= after:
        raise ValueError(f"'years' must come after the last review used ({after}), got {yrs.tolist()}")
    return yrs


def standard_in_force(year: int) -> str | None:
    """The standard a review year uses, or None when no standard covers it.

    Examples
    --------
    >>> standard_in_force(2024), standard_in_force(1990)
    ('2022-2025', None)
    """
    try:
        return standard_for_review(year)
    except ValueError:
        return None


def check_min_cell(min_cell: int | None) -> int:
    """The smallest published cell: ``min_cell``, or :data:`povanalysis.config.MIN_CELL` when None.

    Examples
    --------
    >>> check_min_cell(5)
    5
    """
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"'min_cell' must be at least 1, got {limit}")
    return limit


def random_stream(seed: int, purpose: int) -> np.random.Generator:
    """An independent random stream per purpose, so that draws of different sources never coincide.

    Examples
    --------
    >>> random_stream(0, 1).random() == random_stream(0, 1).random() != random_stream(0, 2).random()
    True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))


def quantiles(draws: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of simulations along the first axis.

    Examples
    --------
    >>> lo, hi = quantiles(np.arange(101.0)[:, None], 0.1)
    >>> float(lo[0]), float(hi[0])
    (5.0, 95.0)
    """
    q = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    return q[0], q[1]


def minority_column(frame: pd.DataFrame) -> pd.Series:
    """Ethnic-minority households: the ``minority`` column, or ``ethnicity`` other than the majority.

    Examples
    --------
    >>> minority_column(pd.DataFrame({"ethnicity": ["Tày", "Kinh"]})).tolist()
    [True, False]
    """
    if "minority" in frame.columns:
        return frame["minority"].astype(bool)
    if "ethnicity" in frame.columns:
        return frame["ethnicity"] != ETHNIC_MAJORITY
    raise ValueError("the data need a 'minority' or an 'ethnicity' column")
