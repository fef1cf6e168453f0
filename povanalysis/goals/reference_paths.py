"""Commune reference paths: a province-wide target shared among communes so that their paths add up to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .targets import Target

__all__ = ["REFERENCE_RULES", "ReferencePaths", "commune_reference_paths"]


#: Rules of :func:`commune_reference_paths`.  Splitting the province's required fall in poor
#: households among communes by their share of poor households at the start is the
#: ``proportional`` rule itself when households are held fixed, so it is not a separate rule.
REFERENCE_RULES: tuple[str, ...] = ("proportional", "points")


@dataclass(frozen=True)
class ReferencePaths:
    """Commune reference paths that add up to a group target (see :func:`commune_reference_paths`).

    Attributes
    ----------
    target : Target
        The group target the paths add up to.
    rule : str
        One of :data:`REFERENCE_RULES`.
    floor : float
        The policy floor of the communes.
    paths : DataFrame
        One row per commune and year (see :func:`commune_reference_paths`).
    province : DataFrame
        One row per year: ``year``, ``province_level`` (the target's path, held at its own
        floor and never above its start), ``unbounded`` (the path as written),
        ``floors_level`` (the province level with every commune at its floor: the lowest the
        communes can reach), ``reference_mean`` (household-weighted mean of the commune
        reference levels), ``common_fall`` (the fall of every commune not held at its floor,
        from its start: a share of its start level under ``proportional``, points as a share
        under ``points``), ``communes_at_floor`` and ``attainable`` (False when the target as
        written goes below its own floor or below ``floors_level``, so that no commune paths
        above the floors add up to it).
    """

    target: Target
    rule: str
    floor: float
    paths: pd.DataFrame
    province: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The commune paths, one row per commune and year (a copy of :attr:`paths`)."""
        return self.paths.copy()

    def summary(self) -> str:
        """A text account of the paths (returned, not printed)."""
        prov = self.province
        end = int(prov["year"].iloc[-1])
        last = self.paths[self.paths["year"] == end]
        open_ = last[~last["already_met"]]
        ok = prov["attainable"]
        gap = float((prov.loc[ok, "reference_mean"] - prov.loc[ok, "province_level"]).abs().max()) if ok.any() else 0.0
        lines = [
            f"Commune reference paths of '{self.target.name}' ({self.target.describe('en')}), rule "
            f"{self.rule!r}, floor {100 * self.floor:.2f}%: {len(last)} communes, "
            f"{int(last['already_met'].sum())} already met",
            f"  province {100 * prov['province_level'].iloc[0]:.2f}% -> "
            f"{100 * prov['province_level'].iloc[-1]:.2f}% "
            f"in {end}; where attainable, the household-weighted commune paths differ from it by at most "
            f"{100 * gap:.2g} points",
        ]
        if len(open_):
            q = 100 * open_["reference_level"].quantile([0, 0.5, 1]).to_numpy()
            lines.append(
                f"  {end} reference levels of the other communes: min {q[0]:.2f}%, median {q[1]:.2f}%, "
                f"max {q[2]:.2f}%; {int(open_['at_floor'].sum())} held at the floor"
            )
        bad = prov.loc[~prov["attainable"], "year"].tolist()
        if bad:
            lines.append("  unattainable above the floors in " + ", ".join(str(int(y)) for y in bad))
        top = last[last["share_of_province_reduction"] > 0].nsmallest(5, "rank")
        if len(top):
            lines.append(
                "  largest shares of the province's fall: "
                + ", ".join(f"{r.commune_code} {100 * r.share_of_province_reduction:.1f}%" for r in top.itertuples())
            )
        return "\n".join(lines)


def _common_fall(start: np.ndarray, low: np.ndarray, unit: np.ndarray, weight: np.ndarray, level: float) -> float:
    """The common fall ``s`` at which ``sum(weight * max(low, start - s * unit))`` equals ``level``.

    The sum falls piecewise linearly in ``s``, with a kink where each commune reaches its
    floor ``low``; ``s`` lies on the segment whose ends bracket ``level``, which must lie
    between the sum at ``s = 0`` and the sum with every commune at its floor.
    """
    moving = (unit > 0) & (start > low)
    kink = np.where(moving, (start - low) / np.where(moving, unit, 1.0), 0.0)
    ends = np.unique(np.r_[0.0, kink[moving]])
    totals = np.array([(weight * np.maximum(low, start - s * unit)).sum() for s in ends])
    k = int(np.searchsorted(-totals, -level, side="left"))
    if k == 0:
        return 0.0
    if k == len(ends):
        return float(ends[-1])
    active = moving & (kink >= ends[k])
    fixed = (weight * np.where(active, start, low)).sum()
    return float((fixed - level) / (weight[active] * unit[active]).sum())


def _reference_rows(baseline, target: Target) -> tuple[pd.DataFrame, float | None]:
    """The commune rows of ``baseline`` for ``target``, and the start level of its group row if any."""
    if not isinstance(baseline, pd.DataFrame):
        raise TypeError(f"'baseline' should be a DataFrame, got {type(baseline).__name__}")
    rows, group_level = baseline, None
    if "target" in rows.columns:
        rows = rows[rows["target"] == target.name]
        if "kind" in rows.columns:
            group = rows.loc[rows["kind"] == "group", "start_level"] if "start_level" in rows.columns else []
            group_level = float(group.iloc[0]) if len(group) == 1 else None
            rows = rows[rows["kind"] == "commune"]
        if rows.empty:
            raise ValueError(
                f"'baseline' has no commune rows for target {target.name!r}: build it with "
                "targets.baseline() (the target's population must be whole communes)"
            )
    missing = [c for c in ("commune_code", "households", "start_level") if c not in rows.columns]
    if missing:
        raise ValueError(
            f"'baseline' lacks the columns {missing}; it needs commune_code, households and "
            "start_level (targets.baseline() gives them)"
        )
    if rows.empty:
        raise ValueError("'baseline' has no rows")
    codes = rows["commune_code"].astype(str)
    dup = sorted(codes[codes.duplicated()].unique())
    if dup:
        raise ValueError(f"'baseline' has more than one row for the communes {dup[:5]}")
    for col, ok in (
        ("households", lambda v: np.isfinite(v) & (v > 0)),
        ("start_level", lambda v: np.isfinite(v) & (v >= 0) & (v <= 1)),
    ):
        values = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        bad = ~ok(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            need = "a number of households > 0" if col == "households" else "a share in [0, 1] (0.10 for 10%)"
            raise ValueError(
                f"'baseline' column {col!r} must be {need}: commune {codes.iloc[i]!r} has {rows[col].tolist()[i]!r}"
            )
    return rows, group_level


def commune_reference_paths(
    baseline: pd.DataFrame,
    target: Target,
    *,
    rule: str = "proportional",
    floor: float | None = None,
    years: Iterable[int] | None = None,
) -> ReferencePaths:
    """Reference paths for each commune that add up to a province-wide (group) target.

    A group target (``province_high``: the province rate falls 1.5 points a year) is a
    target for the province as a whole, not for each commune: 1.5 points a year from a
    commune at 0.6% is 0% from the first year.  This splits the province path among the
    communes so that the household-weighted mean of the commune paths *is* the province
    path, each year, with no commune below the floor:

    * ``proportional`` (default): every commune falls by the same share of its start level
      as the province, ``level_i(t) = start_i * p(t) / p(0)``.  With households held fixed,
      this is also the split of the province's required fall in poor households in
      proportion to each commune's poor households at the start (the two are one rule), and
      a commune's share of the fall is its share of the poor.
    * ``points``: every commune falls by the same number of points, the literal reading of
      a province-wide fall in points; low communes reach the floor early.

    Where the rule would take a commune below ``floor``, the commune is held at the floor
    (``at_floor``) and the rest of its fall is passed on to the communes still above their
    floors, by the same rule (one common fall for all of them, solved exactly each year),
    so the paths still add up.  They cannot when the province path itself lies below the
    level with every commune at its floor: then every commune is held at its floor and
    ``attainable`` is False.  A commune that starts at or below the floor is *already met*:
    it is held at its start level, asked for no fall, and needs no probability or credit.

    Households are held at their start-year counts: the adding-up is of the rate the
    province would have with its start-year composition.

    Parameters
    ----------
    baseline : DataFrame
        :func:`povanalysis.goals.targets.baseline` (its commune rows for ``target`` are used, so the target's
        population must be whole communes), or a frame with one row per commune:
        ``commune_code``, ``households`` and ``start_level``.  The province start level is
        the household-weighted mean of the communes' start levels; a given ``start_level``
        of the target, or a group row, must agree with it.
    target : Target
        A decreasing target with ``scope="group"`` (e.g. ``province_high``).
    rule : {"proportional", "points"}
        How the province's fall is split (see above and :data:`REFERENCE_RULES`).
    floor : float, optional
        The policy floor of the communes, a share in [0, 1]; default the target's own floor
        (:attr:`Target.bound`, 0 unless the target sets one).  It is a policy choice: 0
        lets a commune be asked to have no poor household left, a positive floor accepts a
        residual the programme is not expected to remove.
    years : iterable of int, optional
        Default the target's ``start_year..end_year``.

    Returns
    -------
    ReferencePaths
        ``paths``: one row per commune and year, sorted by commune and year:
        ``commune_code``, ``year``, ``start_level``, ``households``, ``reference_level``,
        ``rule``, ``floor``, ``at_floor`` (the rule would take the commune below the floor;
        it is held there and others take the rest), ``already_met`` (the start is at or
        below the floor), ``attainable`` (False only in years when the province path lies
        below the floors, for communes not already met), ``poor_reduction`` (the fall in
        poor households from the start, ``households * (start_level - reference_level)``),
        ``share_of_province_reduction`` (the commune's share of the province's required
        fall in poor households that year; missing when the province is asked for no fall)
        and ``rank`` (1 for the commune with the largest ``poor_reduction`` in the last
        year; ties by commune code).  ``province``: one row per year, see
        :class:`ReferencePaths`.

    Examples
    --------
    Three communes, 10% in the province; a fall of 1 point a year halves it by 2030, so
    under the proportional rule every commune halves too, and a commune holds the share of
    the fall that it holds of the poor (20, 20 and 10 of 50 poor households):

    >>> b = pd.DataFrame({"commune_code": ["A", "B", "C"], "households": [100, 200, 200],
    ...                   "start_level": [0.20, 0.10, 0.05]})
    >>> r = commune_reference_paths(b, Target("p", annual_reduction=1.0))
    >>> end = r.paths[r.paths["year"] == 2030]
    >>> end[["commune_code", "reference_level", "share_of_province_reduction"]].round(4).to_dict("list")
    {'commune_code': ['A', 'B', 'C'], 'reference_level': [0.1, 0.05, 0.025],
     'share_of_province_reduction': [0.4, 0.4, 0.2]}

    With a floor of 3%, C stops at 3% in 2030 and A and B take the rest (19 of the 25 poor
    households left go to them: each keeps 19/40 of its start level):

    >>> r = commune_reference_paths(b, Target("p", annual_reduction=1.0), floor=0.03)
    >>> r.paths.loc[r.paths["year"] == 2030, "reference_level"].round(4).tolist()
    [0.095, 0.0475, 0.03]
    >>> r.province.loc[r.province["year"] == 2030, ["province_level", "reference_mean"]].round(4).values.tolist()
    [[0.05, 0.05]]
    """
    if not isinstance(target, Target):
        raise TypeError(f"'target' should be a Target, got {type(target).__name__}")
    if target.scope != "group":
        raise ValueError(
            f"'target' must have scope 'group' (one path for the whole population) to be split among "
            f"communes, got {target.name!r} with scope {target.scope!r}"
        )
    if target.direction != "decrease":
        raise ValueError(
            f"'target' must be a decrease (a poverty rate), got {target.name!r} with direction {target.direction!r}"
        )
    if rule not in REFERENCE_RULES:
        hint = (
            " ('share_of_poor' is the proportional rule when households are held fixed)"
            if rule == "share_of_poor"
            else ""
        )
        raise ValueError(f"'rule' must be one of {REFERENCE_RULES}, got {rule!r}{hint}")
    if floor is None:
        floor = target.bound
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
        raise ValueError(f"'floor' is a share in [0, 1] (0.005 for 0.5%), got {floor!r}")
    floor = float(floor)
    rows, group_level = _reference_rows(baseline, target)
    codes = rows["commune_code"].astype(str).to_numpy()
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    households = pd.to_numeric(rows["households"]).to_numpy(dtype=float)[order]
    start = pd.to_numeric(rows["start_level"]).to_numpy(dtype=float)[order]
    weight = households / households.sum()
    p0 = float((weight * start).sum())
    for what, level in (("its 'start_level'", target.start_level), ("its group row in 'baseline'", group_level)):
        if level is not None and abs(level - p0) > 1e-9:
            raise ValueError(
                f"target {target.name!r}: {what} is {level!r} but its communes' household-weighted start "
                f"level is {p0!r}; commune paths add up only to a path from the communes' own level"
            )
    yrs = np.arange(target.start_year, target.end_year + 1) if years is None else np.asarray(list(years), dtype=int)
    bounded, raw = target.levels([p0], yrs)
    province, raw = np.minimum(bounded[0], p0), np.minimum(raw[0], p0)

    met = start <= floor + 1e-12
    low = np.where(met, start, floor)
    unit = start.copy() if rule == "proportional" else np.ones_like(start)
    floors_level = float((weight * low).sum())
    attainable_year = (raw >= max(floors_level, target.bound) - 1e-12) | target.already_met(p0)
    goal = np.maximum(province, floors_level)
    fall = np.array([_common_fall(start, low, unit, weight, g) for g in goal])
    wanted = start[:, None] - fall[None, :] * unit[:, None]
    level = np.maximum(low[:, None], wanted)
    at_floor = (wanted < low[:, None] - 1e-12) & ~met[:, None]
    reduction = households[:, None] * (start[:, None] - level)
    total = reduction.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 1e-9, reduction / total, np.nan)
    rank = np.empty(len(codes), dtype="int64")
    rank[np.lexsort((codes, -np.round(reduction[:, -1], 9)))] = np.arange(1, len(codes) + 1)

    n, m = len(codes), len(yrs)
    paths = pd.DataFrame(
        {
            "commune_code": np.repeat(codes, m),
            "year": np.tile(yrs, n).astype("int64"),
            "start_level": np.repeat(start, m),
            "households": np.repeat(households, m),
            "reference_level": level.ravel(),
            "rule": rule,
            "floor": floor,
            "at_floor": at_floor.ravel(),
            "already_met": np.repeat(met, m),
            "attainable": (attainable_year[None, :] | met[:, None]).ravel(),
            "poor_reduction": reduction.ravel(),
            "share_of_province_reduction": share.ravel(),
            "rank": np.repeat(rank, m),
        }
    )
    prov = pd.DataFrame(
        {
            "year": yrs.astype("int64"),
            "province_level": province,
            "unbounded": raw,
            "floors_level": floors_level,
            "reference_mean": (weight[:, None] * level).sum(axis=0),
            "common_fall": fall,
            "communes_at_floor": at_floor.sum(axis=0).astype("int64"),
            "attainable": attainable_year,
        }
    )
    return ReferencePaths(target, rule, floor, paths, prov)
