"""Counts and rates of poor and near-poor households by commune, year and group, with small-cell suppression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import config
from ..data.schema import ETHNIC_MAJORITY

__all__ = ["poverty_counts", "suppress", "GROUPS"]

#: Grouping columns that :func:`poverty_counts` can add from the classified panel.
GROUPS: tuple[str, ...] = ("commune_code", "review_year", "area", "ethnicity", "minority", "old_area")


def poverty_counts(
    classified: pd.DataFrame, *, by: Sequence[str] = ("commune_code", "review_year"), min_cell: int | None = None
) -> pd.DataFrame:
    """Households, poor and near-poor households and their rates, by groups.

    Rates are shares in [0, 1] of households (not persons), recomputed from the additive
    counts, so tables can be re-aggregated by summing counts.  ``minority`` (True for every
    ethnicity but Kinh) can be used in ``by``.

    Parameters
    ----------
    classified : DataFrame
        Household records with a ``poverty_class`` column (see
        :func:`povanalysis.measure.standards.classify`) and the ``by`` columns.
    by : sequence of str
        Grouping columns.
    min_cell : int, optional
        Cells resting on fewer households are flagged ``suppressed`` (default
        :data:`povanalysis.config.MIN_CELL`).

    Returns
    -------
    DataFrame
        ``by`` columns, ``households``, ``persons``, ``poor``, ``near_poor``,
        ``minority_poor``, ``poor_rate``, ``near_poor_rate``, ``minority_share_of_poor``,
        ``suppressed``.

    Examples
    --------
    >>> hh = pd.DataFrame({"commune_code": ["01840"] * 4, "review_year": [2024] * 4,
    ...                    "size": [3, 4, 2, 5], "ethnicity": ["Tày", "Kinh", "Tày", "Dao"],
    ...                    "poverty_class": ["poor", "not_poor", "near_poor", "poor"]})
    >>> t = poverty_counts(hh, min_cell=3)
    >>> t[["households", "poor", "poor_rate", "minority_share_of_poor", "suppressed"]].to_dict("records")
    [{'households': 4, 'poor': 2, 'poor_rate': 0.5, 'minority_share_of_poor': 1.0, 'suppressed': False}]
    """
    by = list(by)
    needed = [c for c in ["poverty_class", "ethnicity", "size"] if c not in classified.columns]
    frame = classified
    if "minority" in by and "minority" not in frame.columns:
        frame = frame.assign(minority=frame["ethnicity"] != ETHNIC_MAJORITY)
    missing = [c for c in by if c not in frame.columns] + needed
    if missing:
        raise ValueError(f"'classified' lacks the columns {missing}")
    cls = frame["poverty_class"].astype(str)
    poor = (cls == "poor").to_numpy()
    work = pd.DataFrame({c: frame[c].to_numpy() for c in by})
    work["households"] = 1
    work["persons"] = frame["size"].to_numpy()
    work["poor"] = poor.astype(np.int64)
    work["near_poor"] = (cls == "near_poor").to_numpy().astype(np.int64)
    work["minority_poor"] = (poor & (frame["ethnicity"] != ETHNIC_MAJORITY).to_numpy()).astype(np.int64)
    out = work.groupby(by, observed=True, sort=True).sum().reset_index()
    return _rates(out, min_cell=min_cell)


def _rates(out: pd.DataFrame, *, min_cell: int | None) -> pd.DataFrame:
    out["poor_rate"] = out["poor"] / out["households"]
    out["near_poor_rate"] = out["near_poor"] / out["households"]
    out["minority_share_of_poor"] = np.where(
        out["poor"] > 0, out["minority_poor"] / out["poor"].where(out["poor"] > 0, 1), np.nan
    )
    return suppress(out, min_cell=min_cell)


def suppress(table: pd.DataFrame, *, count: str = "households", min_cell: int | None = None) -> pd.DataFrame:
    """Flag rows whose figures rest on fewer than ``min_cell`` households (column ``suppressed``).

    The numbers stay in the frame for analysis; every published output (maps, reports)
    must show a flagged cell as suppressed, never as a number.

    Examples
    --------
    >>> suppress(pd.DataFrame({"households": [3, 30]}), min_cell=10)["suppressed"].tolist()
    [True, False]
    """
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"min_cell must be at least 1, got {limit}")
    out = table.copy()
    out["suppressed"] = out[count].to_numpy() < limit
    return out
