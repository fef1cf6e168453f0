"""The household-year panel that eligibility, accuracy and the risk model share: its checks and integer views."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config
from ..common.checks import require_frame, to_python
from ..measure.standards import CLASSES, get_standard, standard_for_review

__all__ = [
    "NEWLY_ESCAPED_YEARS",
    "Panel",
    "household_panel",
    "require_complete",
    "class_codes",
    "review_years",
    "positive_int",
    "min_cell_limit",
    "income_line",
]

#: A household that left the poor or near-poor lists at most this many years ago is
#: "newly escaped" (Decision 28/2015/QĐ-TTg, extended by Decision 2/QĐ-TTg of 2021).
NEWLY_ESCAPED_YEARS = 3


def require_complete(frame: pd.DataFrame, columns: Iterable[str], arg: str) -> None:
    """Fail when a column of ``frame`` has missing values, naming the column, the count and the first row.

    Examples
    --------
    >>> require_complete(pd.DataFrame({"a": [1.0, None]}), ["a"], "t")
    Traceback (most recent call last):
    ...
    ValueError: column 'a' of 't' has 1 missing values (first at row 1)
    """
    for col in columns:
        bad = frame[col].isna().to_numpy()
        if bad.any():
            row = frame.index[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"column {col!r} of {arg!r} has {int(bad.sum())} missing values (first at row {to_python(row)!r})"
            )


def class_codes(frame: pd.DataFrame, arg: str) -> np.ndarray:
    """Poverty class codes 0..3 (poor, near_poor, average_living, not_poor) of column ``poverty_class``, validated.

    Examples
    --------
    >>> class_codes(pd.DataFrame({"poverty_class": ["not_poor", "poor"]}), "t").tolist()
    [3, 0]
    """
    require_complete(frame, ["poverty_class"], arg)
    codes, uniques = pd.factorize(frame["poverty_class"], sort=False)
    lookup = pd.Index(list(CLASSES)).get_indexer(pd.Index(uniques).astype(str))
    if (lookup < 0).any():
        bad = int(np.flatnonzero(lookup < 0)[0])
        i = int(np.flatnonzero(codes == bad)[0])
        raise ValueError(
            f"column 'poverty_class' of {arg!r} must be one of {list(CLASSES)}, "
            f"got {to_python(frame['poverty_class'].iloc[i])!r} at row {to_python(frame.index[i])!r}"
        )
    return lookup[codes].astype(np.int8)


def review_years(frame: pd.DataFrame, arg: str) -> np.ndarray:
    """Column ``review_year`` as int64, failing unless it holds integers.

    Examples
    --------
    >>> review_years(pd.DataFrame({"review_year": [2024, 2025]}), "t").tolist()
    [2024, 2025]
    """
    if not pd.api.types.is_integer_dtype(frame["review_year"].dtype):
        raise ValueError(f"column 'review_year' of {arg!r} must hold integers, got dtype {frame['review_year'].dtype}")
    return frame["review_year"].to_numpy(dtype=np.int64)


def positive_int(value: int, name: str) -> int:
    """``value`` as an int when it is a positive integer (not a bool), else fail naming ``name``.

    Examples
    --------
    >>> positive_int(3, "n")
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name!r} must be a positive integer, got {value!r}")
    return int(value)


def min_cell_limit(min_cell: int | None) -> int:
    """The smallest publishable cell: ``min_cell``, or :data:`povanalysis.config.MIN_CELL` when None.

    Examples
    --------
    >>> min_cell_limit(5)
    5
    """
    limit = config.MIN_CELL if min_cell is None else min_cell
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise ValueError(f"'min_cell' must be a positive integer, got {min_cell!r}")
    return int(limit)


def income_line(frame: pd.DataFrame) -> np.ndarray:
    """The income line (VND/person/month) of each row: its standard (column ``standard``, or the one
    its ``review_year`` uses) and its ``area``.

    Examples
    --------
    >>> income_line(pd.DataFrame({"review_year": [2025], "area": ["rural"]})).tolist()
    [1500000.0]
    """
    if "standard" in frame.columns:
        keys = frame["standard"].astype(str).to_numpy()
    else:
        years = frame["review_year"].to_numpy()
        uniq = np.unique(years)
        keys = pd.Series(years).map({y: standard_for_review(y) for y in uniq}).to_numpy()
    area = frame["area"].astype(str).to_numpy()
    out = np.full(len(frame), np.nan)
    for key in np.unique(keys):
        std = get_standard(key)
        for a, value in std.income_line.items():
            out[(keys == key) & (area == a)] = value
    bad = np.isnan(out)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"column 'area' must be 'rural' or 'urban', got {to_python(area[i])!r} at row {to_python(frame.index[i])!r}"
        )
    return out


@dataclass(frozen=True)
class Panel:
    """Integer views of a household-year panel (what :func:`household_panel` returns).

    Attributes
    ----------
    hid : ndarray
        Household code of each row.
    ids : Index
        ``household_id`` of each code.
    years : ndarray
        Review year of each row.
    cls : ndarray
        Class code of each row (0 poor .. 3 not poor).
    last_listed : ndarray
        Latest review up to this one at which the household was listed (NaN if none).
    newly : ndarray
        Newly escaped at this review.
    prev, next : ndarray
        Row of the household's previous and next review (-1 if none).
    """

    hid: np.ndarray
    ids: pd.Index
    years: np.ndarray
    cls: np.ndarray
    last_listed: np.ndarray
    newly: np.ndarray
    prev: np.ndarray
    next: np.ndarray


def household_panel(classified: pd.DataFrame, window: int, arg: str = "classified") -> Panel:
    """Validate a classified panel and build its :class:`Panel` views.

    ``classified`` needs ``household_id``, ``review_year`` (integers), ``commune_code`` and
    ``poverty_class``, with one row per household and review; ``window`` is the number of
    years after leaving the lists during which a household counts as newly escaped.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A"] * 3, "review_year": [2022, 2023, 2024],
    ...                    "commune_code": ["01840"] * 3, "poverty_class": ["poor", "not_poor", "not_poor"]})
    >>> household_panel(hh, 1).newly.tolist()
    [False, True, False]
    """
    require_frame(classified, arg, ["household_id", "review_year", "commune_code", "poverty_class"])
    require_complete(classified, ["household_id", "review_year", "commune_code"], arg)
    years = review_years(classified, arg)
    cls = class_codes(classified, arg)
    hid, ids = pd.factorize(classified["household_id"])
    order = np.lexsort((years, hid))
    h, y = hid[order], years[order]
    same = np.r_[False, (h[1:] == h[:-1])]
    dup = same & np.r_[False, y[1:] == y[:-1]]
    if dup.any():
        i = int(order[np.flatnonzero(dup)[0]])
        raise ValueError(
            f"{arg!r} has {int(dup.sum())} duplicate (household_id, review_year) rows "
            f"(first at row {to_python(classified.index[i])!r}, review year {to_python(years[i])})"
        )
    listed = cls[order] <= 1
    # Latest listed review so far within each household: a running maximum restarted per household.
    stamp = np.where(listed, y, -1).astype(np.int64)
    start = np.flatnonzero(~same)
    run = np.maximum.accumulate(np.where(listed, np.arange(len(y)), -1))
    first_of_group = np.repeat(start, np.diff(np.r_[start, len(y)]))
    last_sorted = np.where(run >= first_of_group, stamp[np.maximum(run, 0)], -1)
    last = np.empty(len(y))
    last[order] = np.where(last_sorted >= 0, last_sorted, np.nan)
    newly = (cls >= 2) & ((years - last) <= window)  # NaN compares False
    prev = np.full(len(y), -1, dtype=np.int64)
    nxt = np.full(len(y), -1, dtype=np.int64)
    prev[order[1:][same[1:]]] = order[:-1][same[1:]]
    nxt[order[:-1][same[1:]]] = order[1:][same[1:]]
    return Panel(hid=hid, ids=pd.Index(ids), years=years, cls=cls, last_listed=last, newly=newly, prev=prev, next=nxt)
