"""Rebasing to a new poverty standard: the same households classified under two standards."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from .. import config
from ..common.cache import cache_folder, cache_key, cached_result, frame_digest
from ..common.checks import require_frame
from ..measure.standards import CLASSES, classify, get_standard, standard_for_review
from .series import check_min_cell, minority_column

__all__ = ["Rebase", "rebase", "reclassify", "standard_gap"]

_COUNTED = ("from_class", "to_class", "households")


@dataclass
class Rebase:
    """The latest review classified under two standards: the level shift of the standard change.

    Attributes
    ----------
    year : int
        The review reclassified.
    from_standard, to_standard : str
        The standard the review uses (:data:`povanalysis.measure.standards.DEFAULT_STANDARD_BY_REVIEW`)
        and the new one.
    cells : DataFrame
        Household counts by ``commune_code``, ``old_area`` (when known), ``area``,
        ``minority``, ``from_class`` and ``to_class``; no household identifiers.
    min_cell : int
        Rows resting on fewer households are flagged ``suppressed``.
    """

    year: int
    from_standard: str
    to_standard: str
    cells: pd.DataFrame = field(repr=False)
    min_cell: int = 10

    def table(self, by: str | Sequence[str] = ("commune_code",)) -> pd.DataFrame:
        """Counts and rates under both standards and the gap, by ``by`` (``()`` for the province).

        Columns: ``by``, ``households``, ``poor_from``, ``poor_to``, ``rate_from``, ``rate_to``,
        ``gap`` (``rate_to - rate_from``, a share), ``near_poor_from``, ``near_poor_to``,
        ``near_poor_gap``, ``newly_poor`` (poor under the new standard only),
        ``no_longer_poor`` (poor under the old standard only), ``suppressed``.
        """
        by = [by] if isinstance(by, str) else list(by)
        missing = [c for c in by if c not in self.cells.columns]
        if missing:
            raise ValueError(
                f"'by' names columns the rebasing does not keep: {missing} "
                f"(available: {[c for c in self.cells.columns if c not in _COUNTED]})"
            )
        c = self.cells
        n = c["households"].to_numpy()
        f_poor, t_poor = (c["from_class"] == "poor").to_numpy(), (c["to_class"] == "poor").to_numpy()
        work = pd.DataFrame({b: c[b].to_numpy() for b in by})
        work["households"] = n
        work["poor_from"] = n * f_poor
        work["poor_to"] = n * t_poor
        work["near_poor_from"] = n * (c["from_class"] == "near_poor").to_numpy()
        work["near_poor_to"] = n * (c["to_class"] == "near_poor").to_numpy()
        work["newly_poor"] = n * (t_poor & ~f_poor)
        work["no_longer_poor"] = n * (f_poor & ~t_poor)
        out = work.groupby(by, sort=True, observed=True).sum().reset_index() if by else work.sum().to_frame().T
        out = out.astype({k: "int64" for k in work.columns if k not in by})
        out["rate_from"] = out["poor_from"] / out["households"]
        out["rate_to"] = out["poor_to"] / out["households"]
        out["gap"] = out["rate_to"] - out["rate_from"]
        out["near_poor_gap"] = (out["near_poor_to"] - out["near_poor_from"]) / out["households"]
        out["suppressed"] = out["households"] < self.min_cell
        cols = by + [
            "households",
            "poor_from",
            "poor_to",
            "rate_from",
            "rate_to",
            "gap",
            "near_poor_from",
            "near_poor_to",
            "near_poor_gap",
            "newly_poor",
            "no_longer_poor",
            "suppressed",
        ]
        return out[cols]

    def gaps(self, by: str | Sequence[str] = "commune_code") -> pd.DataFrame:
        """The rebasing gap (share) by ``by``: the shift
        :func:`povanalysis.goals.projections.trend_projection` adds to a series."""
        by = [by] if isinstance(by, str) else list(by)
        return self.table(by)[by + ["gap"]]

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``dimension`` (province, old_area, area, minority, commune_code), ``group`` and the
        :meth:`table` columns."""
        dims = [()] + [(d,) for d in ("old_area", "area", "minority", "commune_code") if d in self.cells.columns]
        parts = []
        for d in dims:
            t = self.table(list(d))
            name = d[0] if d else "province"
            group = t.pop(d[0]).astype(str) if d else pd.Series(["province"] * len(t))
            parts.append(t.assign(dimension=name, group=group.to_numpy()))
        out = pd.concat(parts, ignore_index=True)
        return out[["dimension", "group"] + [c for c in out.columns if c not in ("dimension", "group")]]

    def crosstab(self) -> pd.DataFrame:
        """Households by class under the old standard (rows) and the new one (columns)."""
        t = self.cells.pivot_table(
            index="from_class", columns="to_class", values="households", aggfunc="sum", fill_value=0, observed=False
        )
        return t.reindex(index=list(CLASSES), columns=list(CLASSES), fill_value=0).astype("int64")

    def summary(self) -> str:
        """A text account of the level shift (returned, not printed)."""
        p = self.table(())
        lines = [
            f"Rebasing the {self.year} review from {self.from_standard} to {self.to_standard}:",
            f"  poor households {int(p['poor_from'].iloc[0]):,} ({100 * p['rate_from'].iloc[0]:.2f}%) -> "
            f"{int(p['poor_to'].iloc[0]):,} ({100 * p['rate_to'].iloc[0]:.2f}%), "
            f"{100 * p['gap'].iloc[0]:+.2f} points; newly poor {int(p['newly_poor'].iloc[0]):,}, "
            f"no longer poor {int(p['no_longer_poor'].iloc[0]):,}",
        ]
        for d in ("old_area", "area", "minority"):
            if d not in self.cells.columns:
                continue
            for r in self.table(d).itertuples(index=False):
                value = (
                    "suppressed"
                    if r.suppressed
                    else f"{100 * r.rate_from:.2f}% -> {100 * r.rate_to:.2f}% ({100 * r.gap:+.2f} points)"
                )
                lines.append(f"  {d}={getattr(r, d)}: {value}")
        c = self.table("commune_code")
        c = c[~c["suppressed"]]
        if len(c):
            lines.append(
                f"  commune gaps: median {100 * c['gap'].median():+.2f}, range {100 * c['gap'].min():+.2f} to "
                f"{100 * c['gap'].max():+.2f} points over {len(c)} communes"
            )
        return "\n".join(lines)

    def headline(self, lang: str = "vi") -> str:
        """One or two sentences on the level shift, for reports
        (:func:`povanalysis.reports.prose.goals.rebase_headline`)."""
        from ..reports.prose.goals import rebase_headline

        return rebase_headline(self, lang)


def rebase(
    classified: pd.DataFrame,
    *,
    year: int = 2025,
    to_standard: str = "2026-2030",
    from_standard: str | None = None,
    min_cell: int | None = None,
    cache: str | os.PathLike | bool | None = True,
) -> Rebase:
    """Classify the households of one review under the standard it uses and under the new one.

    Targets for 2026–2030 are set on the new standard (Decree 351/2025/ND-CP), whose higher
    income lines and changed indicators (means of information removed; internet use and
    household waste added) move measured poverty at the switch.  This counts, for the same
    households, who is poor under each standard.

    Parameters
    ----------
    classified : DataFrame
        Household records with ``review_year``, ``commune_code``, ``area``, ``income_pc``,
        the deprivation columns of both standards and ``minority`` or ``ethnicity``
        (``old_area`` is kept when present).
    year : int
        The review to reclassify (the latest, 2025, by default).
    to_standard : str
        The new standard.
    from_standard : str, optional
        Default: the standard the review year uses (:func:`povanalysis.measure.standards.standard_for_review`).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.
    cache : path, bool or None
        Where the result is kept for the next call with the same households and arguments
        (Parquet and JSON, :func:`povanalysis.common.cache.cached_result`; the key holds a
        digest of ``classified``, the arguments, the publication threshold and this module's
        code): ``True`` (default) the data's cache folder (:func:`povanalysis.config.cache_dir`),
        a folder, or ``None`` to compute every time.

    Returns
    -------
    Rebase

    References
    ----------
    Decree 07/2021/ND-CP; Decree 351/2025/ND-CP.

    Examples
    --------
    >>> from povanalysis.data.schema import DEPRIVATIONS
    >>> hh = pd.DataFrame({"review_year": 2025, "commune_code": "01840", "area": "rural", "ethnicity": "Tày",
    ...                    "income_pc": [1_400_000, 2_000_000, 2_000_000, 5_000_000]})
    >>> for d in DEPRIVATIONS:
    ...     hh[d] = [1, 1, 0, 0] if d in ("d_water", "d_latrine", "d_waste", "d_internet") else 0
    >>> r = rebase(hh, min_cell=1, cache=None)
    >>> r.from_standard, r.to_standard
    ('2022-2025', '2026-2030')
    >>> r.table(())[["poor_from", "poor_to", "gap"]].to_dict("records")  # income 2.0 M: above 1.5 M, below 2.2 M
    [{'poor_from': 0, 'poor_to': 2, 'gap': 0.5}]
    """
    require_frame(classified, "classified", ["review_year", "commune_code", "area"])
    arguments = dict(year=year, to_standard=to_standard, from_standard=from_standard, min_cell=min_cell)
    folder = cache_folder(cache)
    if folder is None:
        return _rebase(classified, **arguments)
    key = cache_key(
        __name__,
        function="rebase",
        classified=frame_digest(classified),
        **{**arguments, "min_cell": config.MIN_CELL if min_cell is None else min_cell},
    )
    return cached_result(folder, key, lambda: _rebase(classified, **arguments), classes=[Rebase])


def _rebase(classified, *, year, to_standard, from_standard, min_cell) -> Rebase:
    hh = classified[classified["review_year"] == year]
    if hh.empty:
        raise ValueError(
            f"'classified' has no households at review year {year} (years: "
            f"{sorted(classified['review_year'].unique().tolist())})"
        )
    frm = get_standard(standard_for_review(year) if from_standard is None else from_standard).key
    to = get_standard(to_standard).key
    cells = pd.DataFrame({"commune_code": hh["commune_code"].to_numpy()})
    if "old_area" in hh.columns:
        cells["old_area"] = hh["old_area"].to_numpy()
    cells["area"] = hh["area"].to_numpy()
    cells["minority"] = minority_column(hh).to_numpy()
    cells["from_class"] = classify(hh, standard=frm).astype(str).to_numpy()
    cells["to_class"] = classify(hh, standard=to).astype(str).to_numpy()
    cells["households"] = 1
    cells = cells.groupby(list(cells.columns[:-1]), sort=True).sum().reset_index()
    return Rebase(int(year), frm, to, cells, check_min_cell(min_cell))


def reclassify(classified: pd.DataFrame, standard: str) -> pd.DataFrame:
    """Every review of the panel classified under one standard (``poverty_class`` and ``standard`` replaced).

    A projection on the 2026–2030 standard rests on this series: each past review as the new
    standard would have recorded it, so the gap between the standards moves year by year as
    it did, instead of being added as a constant.
    """
    require_frame(classified, "classified", ["review_year", "area", "income_pc"])
    key = get_standard(standard).key
    return classified.assign(poverty_class=classify(classified, standard=key), standard=key)


def standard_gap(
    classified: pd.DataFrame,
    *,
    by: str | Sequence[str] = (),
    to_standard: str = "2026-2030",
    from_standard: str = "2022-2025",
    min_cell: int | None = None,
    cache: str | os.PathLike | bool | None = True,
) -> pd.DataFrame:
    """The gap between two standards in every review: poor-household rates under both, in points and odds.

    Every review is classified under both standards.  ``log_odds_ratio`` is the gap on the
    logit scale, with a standard error that treats the two rates as independent binomial
    proportions (conservative: they are measured on the same households).  ``cache`` is as in
    :func:`rebase`: the table is kept for the next call with the same households and arguments.

    Returns
    -------
    DataFrame
        ``by`` columns, ``review_year``, ``households``, ``rate_from``, ``rate_to``, ``gap``
        (points, as a share), ``log_odds_ratio``, ``log_odds_ratio_se``, ``suppressed``.

    Examples
    --------
    >>> from povanalysis.data.schema import DEPRIVATIONS
    >>> hh = pd.DataFrame({"review_year": [2024] * 4 + [2025] * 4, "area": "rural",
    ...                    "income_pc": [1_400_000, 2_000_000, 2_000_000, 5_000_000] * 2})
    >>> for d in DEPRIVATIONS:
    ...     hh[d] = [1, 1, 0, 0] * 2 if d in ("d_water", "d_latrine", "d_waste", "d_internet") else 0
    >>> standard_gap(hh, min_cell=1, cache=None)[["review_year", "rate_from", "rate_to", "gap"]].to_dict("records")[0]
    {'review_year': 2024, 'rate_from': 0.0, 'rate_to': 0.5, 'gap': 0.5}
    """
    by = [by] if isinstance(by, str) else list(by)
    require_frame(classified, "classified", ["review_year", "area", "income_pc"] + by)
    arguments = dict(by=by, to_standard=to_standard, from_standard=from_standard, min_cell=min_cell)
    folder = cache_folder(cache)
    if folder is None:
        return _standard_gap(classified, **arguments)
    key = cache_key(
        __name__,
        function="standard_gap",
        classified=frame_digest(classified),
        **{**arguments, "min_cell": config.MIN_CELL if min_cell is None else min_cell},
    )
    return cached_result(folder, key, lambda: _standard_gap(classified, **arguments), classes=[])


def _standard_gap(classified, *, by, to_standard, from_standard, min_cell) -> pd.DataFrame:
    frm = get_standard(from_standard).key
    to = get_standard(to_standard).key
    work = pd.DataFrame({c: classified[c].to_numpy() for c in by + ["review_year"]})
    work["households"] = 1
    work["poor_from"] = (classify(classified, standard=frm) == "poor").to_numpy()
    work["poor_to"] = (classify(classified, standard=to) == "poor").to_numpy()
    out = work.groupby(by + ["review_year"], sort=True, observed=True).sum().reset_index()
    n = out["households"].to_numpy(dtype=float)
    p1 = (out["poor_from"].to_numpy() + 0.5) / (n + 1)
    p2 = (out["poor_to"].to_numpy() + 0.5) / (n + 1)
    out["rate_from"] = out["poor_from"] / n
    out["rate_to"] = out["poor_to"] / n
    out["gap"] = out["rate_to"] - out["rate_from"]
    out["log_odds_ratio"] = special.logit(p2) - special.logit(p1)
    out["log_odds_ratio_se"] = np.sqrt(1 / ((n + 1) * p1 * (1 - p1)) + 1 / ((n + 1) * p2 * (1 - p2)))
    out["suppressed"] = n < check_min_cell(min_cell)
    return out[
        by
        + [
            "review_year",
            "households",
            "rate_from",
            "rate_to",
            "gap",
            "log_odds_ratio",
            "log_odds_ratio_se",
            "suppressed",
        ]
    ]
