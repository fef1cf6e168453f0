"""The annexes of several review years read together and re-aggregated onto the 92 units of 2025.

The annexes of 2021–2024 list the pre-2025 units; a series for maps, trend projections and
target gaps needs one table by 2025 unit and review year.  :func:`read_published_series`
reads each annex with :func:`povanalysis.tables.read_published`, and
:meth:`PublishedSeries.to_new_units` re-aggregates each year with
:func:`povanalysis.geo.crosswalk.to_new_units` into the commune-year table that
:func:`povanalysis.geo.maps.rate_map` and :func:`povanalysis.goals.projections.trend_projection`
take (``commune_code``, ``review_year``, ``households``, ``poor``, rates, ``suppressed``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..data import registry
from .published import PublishedTable, read_published

__all__ = ["PublishedSeries", "read_published_series"]


@dataclass
class PublishedSeries:
    """Annexes of several review years, one :class:`~povanalysis.tables.published.PublishedTable` each."""

    tables: list[PublishedTable]

    @property
    def years(self) -> list[int]:
        """The review years, in order."""
        return [t.review_year for t in self.tables]

    @property
    def table(self) -> pd.DataFrame:
        """Every year's table by unit of its vintage, one below the other."""
        return pd.concat([t.table for t in self.tables], ignore_index=True)

    @property
    def unplaced(self) -> pd.DataFrame:
        """Every year's unplaced rows, with the file and the year."""
        parts = [t.unplaced.assign(file=t.path.name, review_year=t.review_year) for t in self.tables]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def summary(self) -> str:
        """One paragraph per annex."""
        head = f"{len(self.tables)} annexes, review years {self.years}"
        return "\n\n".join([head] + [t.summary() for t in self.tables])

    def to_new_units(
        self,
        *,
        weight: str | None = None,
        weights: pd.DataFrame | None = None,
        boundaries=None,
        min_cell: int | None = None,
        allow_unplaced: bool = False,
    ) -> pd.DataFrame:
        """One table by 2025 unit and review year (see :meth:`PublishedTable.to_new_units`).

        ``weights`` apportion the split units; with a ``review_year`` column each year uses its
        own.  A year whose annex lists the 2025 units passes through unchanged.

        Returns
        -------
        DataFrame
            ``review_year``, ``commune_code``, ``name``, the counts, the rates, ``suppressed``,
            ``apportioned`` and ``complete``, sorted by review year and code; ``attrs["shares"]``
            holds the shares of the split units used each year.
        """
        parts = [
            t.to_new_units(
                weight=weight, weights=weights, boundaries=boundaries, min_cell=min_cell, allow_unplaced=allow_unplaced
            )
            for t in self.tables
        ]
        shares = []
        for t, part in zip(self.tables, parts):
            if "shares" in part.attrs:
                shares.append(part.attrs.pop("shares").assign(review_year=t.review_year))
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values(["review_year", "commune_code"], kind="stable").reset_index(drop=True)
        if shares:
            out.attrs["shares"] = pd.concat(shares, ignore_index=True)
        return out

    def commune_year(self, **options) -> pd.DataFrame:
        """The series in the layout of :func:`povanalysis.data.pipeline.load_commune_year`, from annexes.

        :meth:`to_new_units` (``options`` passed on) with the registry's ``name_ascii``,
        ``unit_type`` and ``old_area`` of each 2025 unit, in the pipeline's column order; there
        is no ``persons`` column (annexes count households), and ``apportioned`` and
        ``complete`` come last.

        Returns
        -------
        DataFrame
            One row per 2025 unit and review year.
        """
        out = self.to_new_units(**options)
        units = registry.units(2025).set_index("commune_code")[["name_ascii", "unit_type", "old_area"]]
        out = out.join(units, on="commune_code")
        first = ["commune_code", "review_year"]
        last = ["suppressed", "name", "name_ascii", "unit_type", "old_area", "apportioned", "complete"]
        return out[first + [c for c in out.columns if c not in first + last] + last]


def read_published_series(
    paths: Sequence[str | os.PathLike],
    *,
    years: Sequence[int | None] | None = None,
    **options,
) -> PublishedSeries:
    """Read the annexes of several review years (:func:`povanalysis.tables.read_published` on each).

    Parameters
    ----------
    paths : sequence of str or Path
        One annex per review year.
    years : sequence of int, optional
        The review year of each file, aligned with ``paths`` (None: read from its title).
    **options
        Passed to :func:`~povanalysis.tables.read_published` (``vintage``, ``aliases``, ...).

    Raises
    ------
    ValueError
        Two files of one review year (naming both), or ``years`` not aligned with ``paths``.
    ValidationError
        From the first file whose figures or units are inconsistent.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError("'paths' should be a sequence of files, not one file")
    paths = list(paths)
    if not paths:
        raise ValueError("'paths' is empty: give at least one annex")
    years = [None] * len(paths) if years is None else list(years)
    if len(years) != len(paths):
        raise ValueError(f"'years' has {len(years)} entries for {len(paths)} files")
    tables = [read_published(p, year=y, **options) for p, y in zip(paths, years)]
    seen: dict[int, PublishedTable] = {}
    for t in tables:
        if t.review_year in seen:
            raise ValueError(f"two annexes of review year {t.review_year}: '{seen[t.review_year].path}' and '{t.path}'")
        seen[t.review_year] = t
    return PublishedSeries(sorted(tables, key=lambda t: t.review_year))
