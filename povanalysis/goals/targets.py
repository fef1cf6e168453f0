"""Poverty-reduction targets as data: populations, paths to 2030 and the conflicts between targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .. import config
from ..common.labels import check_lang, format_number, format_percent
from ..data.schema import ETHNIC_MAJORITY
from ..measure.standards import classify, get_standard

__all__ = [
    "POPULATIONS",
    "Target",
    "default_targets",
    "DEFAULT_TARGETS",
    "MINORITY_AREA_THRESHOLD",
    "minority_areas",
    "select",
    "baseline",
    "target_paths",
    "REFERENCE_RULES",
    "ReferencePaths",
    "commune_reference_paths",
    "check_consistency",
    "to_frame",
]

#: Population selectors of a :class:`Target`.  ``disadvantaged``, ``minority_area`` and
#: ``communes`` select whole communes; ``minority`` selects ethnic-minority households;
#: ``column`` selects the rows where a boolean column of the data is True.
POPULATIONS: tuple[str, ...] = ("all", "disadvantaged", "minority", "minority_area", "communes", "column")
_COMMUNE_LEVEL = frozenset({"all", "disadvantaged", "minority_area", "communes"})
_UNITS = ("points", "relative")
_DIRECTIONS = ("decrease", "increase")
_SCOPES = ("group", "commune")

#: Share of ethnic-minority households from which a commune counts as an ethnic-minority-area
#: commune (Decree 272/2025/ND-CP sets 15% of ethnic-minority *people*, or 4,500 people; the
#: review records give households, so households stand in for people).  The decree's
#: "mountainous" criterion (two thirds of the area at 200 m or more) is not in the review data.
MINORITY_AREA_THRESHOLD = 0.15

_POPULATION_TEXT = {
    "all": ("toàn tỉnh", "the province"),
    "disadvantaged": ("các xã đặc biệt khó khăn", "disadvantaged communes"),
    "minority": ("hộ dân tộc thiểu số", "ethnic-minority households"),
    "minority_area": ("vùng đồng bào dân tộc thiểu số và miền núi", "ethnic-minority and mountainous areas"),
    "communes": ("các xã đã chọn", "the listed communes"),
    "column": ("nhóm đã chọn", "the selected group"),
}


@dataclass(frozen=True)
class Target:
    """A target path for the poor-household rate of one population.

    A target is either an annual change (``annual_reduction`` in percentage points or in
    percent of the current level) or a level to reach by ``end_year`` (``end_level``), from
    ``start_level`` at the ``start_year`` review (taken from the data when None), never
    passing ``floor``.

    Parameters
    ----------
    name : str
        Key of the target, unique within a catalogue.
    population : {"all", "disadvantaged", "minority", "minority_area", "communes", "column"}
        Whom the target covers (see :data:`POPULATIONS` and :func:`select`).
    annual_reduction : float, optional
        The yearly change, a positive number: percentage points when ``unit="points"``
        (``1.5`` is 1.5 points a year: 10.29% → 8.79%), percent of the current level when
        ``unit="relative"`` (``10`` is 10% a year: 10% → 9%).
    unit : {"points", "relative"}
        How ``annual_reduction`` reads.  Percentage points is the usual reading of
        Vietnamese targets ("giảm 1–1,5%/năm" means points).
    end_level : float, optional
        A level (share in [0, 1]) to reach by ``end_year``; the path falls linearly from the
        start level to it, or stays at it when the start is already there.  Give exactly one
        of ``annual_reduction`` and ``end_level``.
    start_year, end_year : int
        Review year of the start level and year by which the target is due.
    start_level : float, optional
        Share in [0, 1]; None takes the population's rate at the ``start_year`` review.
    floor : float, optional
        The policy floor: the bound the path never passes, the lowest level of a decreasing
        target (default 0) or the highest level of an increasing one (default 1).  It is a
        policy choice, not an estimate: 0 asks that no poor household remain, a positive
        floor (say 0.005) accepts a residual that the programme is not expected to remove.
        A path that would pass it is held at it, and :func:`check_consistency` says the
        target is unattainable as written.  A unit whose start level is already at or beyond
        the floor (at or below it for a decreasing target) is *already met*
        (:meth:`already_met`): nothing is left to reduce, so it gets no probability of
        meeting the path and needs no credit.
    direction : {"decrease", "increase"}
        ``decrease`` (poverty rates): met when the rate is at or below the path;
        ``increase`` (e.g. coverage): met when at or above.
    scope : {"group", "commune"}
        ``group``: the target applies to the population's rate as a whole; ``commune``: to
        the rate of each commune of the population separately.
    communes : tuple of str
        The commune codes, for ``population="communes"``.
    column : str, optional
        A boolean column of the data, for ``population="column"``.
    confirmed : bool
        False when the target is not found in an official text (UNCONFIRMED): keep it as an
        overridable parameter.
    source, label_vi, label_en : str
        Where the target comes from, and its labels.

    References
    ----------
    National target programme for sustainable poverty reduction 2026–2030 (targets reported by
    en.vietnamplus.vn, post334550); Decree 272/2025/ND-CP (ethnic-minority areas);
    Decision 33/2020/QĐ-TTg (Region III criteria).

    Examples
    --------
    >>> t = Target("province", annual_reduction=1.5, start_level=0.1029)
    >>> t.path().round(4).to_dict("list")["target_level"]
    [0.1029, 0.0879, 0.0729, 0.0579, 0.0429, 0.0279]
    >>> Target("r", annual_reduction=10, unit="relative", start_level=0.10).path(years=[2027])["target_level"].round(4).tolist()
    [0.081]
    """

    name: str
    population: str = "all"
    annual_reduction: float | None = None
    unit: str = "points"
    end_level: float | None = None
    start_year: int = 2025
    end_year: int = 2030
    start_level: float | None = None
    floor: float | None = None
    direction: str = "decrease"
    scope: str = "group"
    communes: tuple[str, ...] = ()
    column: str | None = None
    confirmed: bool = True
    source: str = ""
    label_vi: str = ""
    label_en: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Target 'name' must be a non-empty string, got {self.name!r}")
        where = f"Target {self.name!r}"
        for attr, allowed in (("population", POPULATIONS), ("unit", _UNITS), ("direction", _DIRECTIONS),
                              ("scope", _SCOPES)):
            if getattr(self, attr) not in allowed:
                raise ValueError(f"{where}: '{attr}' must be one of {allowed}, got {getattr(self, attr)!r}")
        if (self.annual_reduction is None) == (self.end_level is None):
            raise ValueError(f"{where}: give exactly one of 'annual_reduction' and 'end_level', "
                             f"got {self.annual_reduction!r} and {self.end_level!r}")
        if self.annual_reduction is not None:
            r = self.annual_reduction
            if not isinstance(r, (int, float)) or isinstance(r, bool) or not math.isfinite(r) or r < 0:
                raise ValueError(f"{where}: 'annual_reduction' must be a finite number >= 0, got {r!r}")
            if self.unit == "relative" and r >= 100:
                raise ValueError(f"{where}: a relative 'annual_reduction' is a percent below 100, got {r!r}")
            if self.unit == "points" and r > 100:
                raise ValueError(f"{where}: 'annual_reduction' in points must be at most 100, got {r!r}")
        for attr in ("end_level", "start_level", "floor"):
            v = getattr(self, attr)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1):
                raise ValueError(f"{where}: '{attr}' is a share in [0, 1] (0.10 for 10%), got {v!r}")
        for attr in ("start_year", "end_year"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{where}: '{attr}' must be an integer year, got {v!r}")
        if self.end_year <= self.start_year:
            raise ValueError(f"{where}: 'end_year' ({self.end_year}) must be after 'start_year' ({self.start_year})")
        if self.population == "communes":
            if isinstance(self.communes, str) or not self.communes:
                raise ValueError(f"{where}: population 'communes' needs a non-empty tuple 'communes' of codes, "
                                 f"got {self.communes!r}")
            object.__setattr__(self, "communes", tuple(str(c) for c in self.communes))
        elif self.communes:
            raise ValueError(f"{where}: 'communes' is only for population 'communes', got population "
                             f"{self.population!r}")
        if self.population == "column" and not self.column:
            raise ValueError(f"{where}: population 'column' needs 'column', the name of a boolean column")
        if self.population != "column" and self.column is not None:
            raise ValueError(f"{where}: 'column' is only for population 'column', got population {self.population!r}")
        if self.scope == "commune" and self.population not in _COMMUNE_LEVEL | {"column"}:
            raise ValueError(f"{where}: scope 'commune' needs a population of whole communes, got "
                             f"{self.population!r}")

    @property
    def bound(self) -> float:
        """The floor (decreasing targets, default 0) or ceiling (increasing targets, default 1)."""
        if self.floor is not None:
            return float(self.floor)
        return 0.0 if self.direction == "decrease" else 1.0

    def label(self, lang: str = "vi") -> str:
        """The target's label in ``lang`` (its name when no label is set)."""
        text = self.label_vi if check_lang(lang) == "vi" else self.label_en
        return text or self.name

    def describe(self, lang: str = "vi") -> str:
        """The rule in words: ``-1.5 points a year`` or ``at most 10.00% by 2030``.

        Examples
        --------
        >>> Target("p", annual_reduction=1.5).describe("en")
        '-1.5 points a year'
        >>> Target("m", end_level=0.10).describe("vi")
        'không quá 10,00% vào năm 2030'
        """
        vi = check_lang(lang) == "vi"
        if self.end_level is not None:
            level = format_percent(self.end_level, lang)
            if self.direction == "decrease":
                return f"không quá {level} vào năm {self.end_year}" if vi else f"at most {level} by {self.end_year}"
            return f"ít nhất {level} vào năm {self.end_year}" if vi else f"at least {level} by {self.end_year}"
        sign = "-" if self.direction == "decrease" else "+"
        r = format_number(self.annual_reduction, lang, digits=1)
        if self.unit == "points":
            return f"{sign}{r} điểm phần trăm/năm" if vi else f"{sign}{r} points a year"
        return f"{sign}{r}%/năm (tương đối)" if vi else f"{sign}{r}% a year (relative)"

    def already_met(self, start_level) -> np.ndarray:
        """True where ``start_level`` is already at or beyond the floor: nothing is left to reduce.

        At or below :attr:`bound` for a decreasing target, at or above it for an increasing one.

        Examples
        --------
        >>> Target("p", annual_reduction=1.5, floor=0.005).already_met([0.004, 0.005, 0.02]).tolist()
        [True, True, False]
        """
        start = np.asarray(start_level, dtype=float)
        if self.direction == "decrease":
            return start <= self.bound + 1e-12
        return start >= self.bound - 1e-12

    def meets(self, value, level):
        """True where ``value`` meets the path ``level`` (at or below it for a decreasing target)."""
        value, level = np.asarray(value, dtype=float), np.asarray(level, dtype=float)
        return value <= level + 1e-12 if self.direction == "decrease" else value >= level - 1e-12

    def levels(self, start, years) -> tuple[np.ndarray, np.ndarray]:
        """Path levels and the unbounded path for start levels ``start`` (n) and ``years`` (m): two (n, m) arrays."""
        start = np.atleast_1d(np.asarray(start, dtype=float))
        years = np.atleast_1d(np.asarray(years, dtype=float))
        if (years < self.start_year).any():
            raise ValueError(f"Target {self.name!r}: years must be from its start year {self.start_year}, "
                             f"got {int(years.min())}")
        dt = (years - self.start_year)[None, :]
        s = start[:, None]
        sign = -1.0 if self.direction == "decrease" else 1.0
        if self.end_level is not None:
            e = float(self.end_level)
            frac = np.minimum(dt / (self.end_year - self.start_year), 1.0)
            behind = (s > e) if self.direction == "decrease" else (s < e)
            raw = np.where(behind, s + (e - s) * frac, e + 0 * dt)
        elif self.unit == "points":
            raw = s + sign * self.annual_reduction / 100 * dt
        else:
            raw = s * (1 + sign * self.annual_reduction / 100) ** dt
        bounded = np.maximum(raw, self.bound) if self.direction == "decrease" else np.minimum(raw, self.bound)
        return bounded, raw

    def path(self, start_level: float | None = None, *, years=None) -> pd.DataFrame:
        """The target path: ``year``, ``target_level``, ``unbounded`` and ``at_bound`` (held at the floor).

        ``start_level`` defaults to the target's own; ``years`` to ``start_year..end_year``.
        """
        s = self.start_level if start_level is None else start_level
        if s is None or not np.isfinite(s):
            raise ValueError(f"Target {self.name!r} has no start level: give 'start_level' (a share in [0, 1])")
        years = np.arange(self.start_year, self.end_year + 1) if years is None else np.asarray(list(years), dtype=int)
        level, raw = self.levels([s], years)
        return pd.DataFrame({"year": years.astype("int64"), "target_level": level[0], "unbounded": raw[0],
                             "at_bound": ~np.isclose(level[0], raw[0], rtol=0, atol=1e-12)})


def default_targets(*, province: tuple[float, float] = (1.0, 1.5), disadvantaged: float = 3.0,
                    minority: tuple[float, float] = (3.0, 4.0), minority_area_level: float = 0.10,
                    poor_commune_exit_level: float = 0.15, start_year: int = 2025,
                    end_year: int = 2030) -> tuple[Target, ...]:
    """The 2026–2030 targets of Thai Nguyen and the national programme, with overridable values.

    * ``province_low`` / ``province_high``: the province-wide rate falls ``province`` points a
      year (1–1.5; both bounds are kept as two targets).  UNCONFIRMED for Thai Nguyen; the
      national programme's multidimensional poverty rate falls 1–1.5 points a year.
    * ``disadvantaged``: each disadvantaged commune falls ``disadvantaged`` points a year (≥3).
      UNCONFIRMED for Thai Nguyen; nationally, poor communes fall ≥3 points a year.
    * ``minority_low`` / ``minority_high``: ethnic-minority households fall ``minority`` points a
      year (3–4).  UNCONFIRMED.
    * ``national_minority_areas``: the rate in ethnic-minority and mountainous areas is below
      ``minority_area_level`` (10%) by 2030 (national programme, confirmed).  The population is
      the communes of :func:`minority_areas`.
    * ``national_poor_communes``: every poor commune leaves that status by 2030 (national,
      confirmed).  Leaving is read as each disadvantaged commune's rate falling below
      ``poor_commune_exit_level`` (15%, the lowest poor-household rate of the Region III
      criteria of Decision 33/2020/QĐ-TTg); the criteria for 2026–2030 (Decree 272/2025/ND-CP)
      are not published in detail, so this threshold is an interpretation.

    References
    ----------
    en.vietnamplus.vn (post334550) and baogialai.com.vn: national targets 2026–2030;
    Decision 33/2020/QĐ-TTg; Decree 272/2025/ND-CP.

    Examples
    --------
    >>> [t.name for t in default_targets()]
    ['province_low', 'province_high', 'disadvantaged', 'minority_low', 'minority_high', 'national_minority_areas', 'national_poor_communes']
    >>> default_targets(province=(1.0, 2.0))[1].annual_reduction
    2.0
    """
    for name, pair in (("province", province), ("minority", minority)):
        ok = (not isinstance(pair, str) and len(pair) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair))
        if not ok or pair[0] > pair[1]:
            raise ValueError(f"'{name}' must be two numbers (low, high) of points a year, low <= high, got {pair!r}")
    lo, hi = province
    mlo, mhi = minority
    common = dict(start_year=start_year, end_year=end_year)
    tn = "Thai Nguyen 2026–2030 target, UNCONFIRMED (not found in an official text)"
    p_lo, p_hi = format_number(lo, "vi", digits=1), format_number(hi, "vi", digits=1)
    return (
        Target("province_low", "all", annual_reduction=lo, confirmed=False,
               source=tn + "; the national programme sets 1–1.5 points a year",
               label_vi=f"Toàn tỉnh: giảm {p_lo} điểm/năm", label_en=f"Province: -{lo:g} points a year", **common),
        Target("province_high", "all", annual_reduction=hi, confirmed=False,
               source=tn + "; the national programme sets 1–1.5 points a year",
               label_vi=f"Toàn tỉnh: giảm {p_hi} điểm/năm", label_en=f"Province: -{hi:g} points a year", **common),
        Target("disadvantaged", "disadvantaged", annual_reduction=disadvantaged, scope="commune", confirmed=False,
               source=tn + "; nationally, poor communes fall at least 3 points a year",
               label_vi=f"Mỗi xã đặc biệt khó khăn: giảm {format_number(disadvantaged, 'vi', digits=1)} điểm/năm",
               label_en=f"Each disadvantaged commune: -{disadvantaged:g} points a year", **common),
        Target("minority_low", "minority", annual_reduction=mlo, confirmed=False, source=tn,
               label_vi=f"Hộ DTTS: giảm {format_number(mlo, 'vi', digits=1)} điểm/năm",
               label_en=f"Ethnic-minority households: -{mlo:g} points a year", **common),
        Target("minority_high", "minority", annual_reduction=mhi, confirmed=False, source=tn,
               label_vi=f"Hộ DTTS: giảm {format_number(mhi, 'vi', digits=1)} điểm/năm",
               label_en=f"Ethnic-minority households: -{mhi:g} points a year", **common),
        Target("national_minority_areas", "minority_area", end_level=minority_area_level,
               source="National target programme 2026–2030 (en.vietnamplus.vn post334550): the rate in "
                      "ethnic-minority and mountainous areas below 10% by 2030",
               label_vi=f"Vùng DTTS và miền núi: dưới {format_percent(minority_area_level, 'vi', digits=0)} "
                        f"năm {end_year}",
               label_en=f"Ethnic-minority and mountainous areas: below {format_percent(minority_area_level, 'en', digits=0)} "
                        f"by {end_year}", **common),
        Target("national_poor_communes", "disadvantaged", end_level=poor_commune_exit_level, scope="commune",
               source="National target programme 2026–2030: every poor commune leaves that status by 2030; the "
                      "exit threshold (Region III rate criterion, Decision 33/2020/QĐ-TTg) is an interpretation",
               label_vi=f"Mỗi xã đặc biệt khó khăn thoát khỏi diện (dưới "
                        f"{format_percent(poor_commune_exit_level, 'vi', digits=0)}) năm {end_year}",
               label_en=f"Each disadvantaged commune leaves the status (below "
                        f"{format_percent(poor_commune_exit_level, 'en', digits=0)}) by {end_year}", **common),
    )


#: :func:`default_targets` with its default values.
DEFAULT_TARGETS: tuple[Target, ...] = default_targets()


def _minority(frame: pd.DataFrame) -> pd.Series:
    if "minority" in frame.columns:
        return frame["minority"].astype(bool)
    if "ethnicity" in frame.columns:
        return frame["ethnicity"] != ETHNIC_MAJORITY
    raise ValueError("the data need a 'minority' or an 'ethnicity' column to select ethnic-minority households")


def minority_areas(classified: pd.DataFrame, *, year: int = 2025,
                   threshold: float = MINORITY_AREA_THRESHOLD) -> frozenset[str]:
    """Communes whose share of ethnic-minority households at the ``year`` review is at least ``threshold``.

    References
    ----------
    Decree 272/2025/ND-CP (ethnic-minority communes: at least 15% ethnic-minority people).

    Examples
    --------
    >>> hh = pd.DataFrame({"review_year": 2025, "commune_code": ["01", "01", "02", "02"],
    ...                    "ethnicity": ["Tày", "Kinh", "Kinh", "Kinh"]})
    >>> sorted(minority_areas(hh))
    ['01']
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"'threshold' is a share in (0, 1], got {threshold!r}")
    for col in ("review_year", "commune_code"):
        if col not in classified.columns:
            raise ValueError(f"'classified' has no column {col!r}")
    rows = classified[classified["review_year"] == year]
    if rows.empty:
        raise ValueError(f"'classified' has no households at review year {year}")
    share = _minority(rows).groupby(rows["commune_code"].to_numpy()).mean()
    return frozenset(share.index[share >= threshold])


def select(frame: pd.DataFrame, target: Target, *, disadvantaged=frozenset(), minority_areas=frozenset()) -> pd.Series:
    """Boolean Series: the rows of ``frame`` (households or projection units) in the target's population.

    Parameters
    ----------
    frame : DataFrame
        Needs ``commune_code`` for the commune selectors, ``minority`` or ``ethnicity`` for
        ``minority`` and the target's ``column`` for ``column``.
    target : Target
    disadvantaged, minority_areas : collections of commune codes
        The disadvantaged communes (:func:`povanalysis.data.pipeline.load_disadvantaged`) and the
        ethnic-minority-area communes (:func:`minority_areas`).

    Examples
    --------
    >>> units = pd.DataFrame({"commune_code": ["01", "02"], "minority": [True, False]})
    >>> select(units, Target("d", "disadvantaged", annual_reduction=3), disadvantaged={"02"}).tolist()
    [False, True]
    """
    if not isinstance(target, Target):
        raise TypeError(f"'target' should be a Target, got {type(target).__name__}")
    pop = target.population
    if pop == "all":
        return pd.Series(True, index=frame.index)
    if pop == "minority":
        return _minority(frame).set_axis(frame.index)
    if pop == "column":
        if target.column not in frame.columns:
            raise ValueError(f"target {target.name!r} selects on column {target.column!r}, which the data lack")
        col = frame[target.column]
        if not pd.api.types.is_bool_dtype(col):
            raise ValueError(f"target {target.name!r}: column {target.column!r} must be boolean, got {col.dtype}")
        return col.astype(bool)
    if "commune_code" not in frame.columns:
        raise ValueError(f"target {target.name!r} selects communes, but the data have no 'commune_code' column")
    if pop == "communes":
        codes = frozenset(target.communes)
    else:
        codes = frozenset(disadvantaged if pop == "disadvantaged" else minority_areas)
        if not codes:
            name = "disadvantaged" if pop == "disadvantaged" else "minority_areas"
            raise ValueError(f"target {target.name!r} selects population {pop!r} but {name!r} is empty; pass the "
                             f"commune codes ({'pipeline.load_disadvantaged()' if pop == 'disadvantaged' else 'targets.minority_areas(classified)'})")
    return frame["commune_code"].isin(codes)


def _check_targets(targets) -> list[Target]:
    if isinstance(targets, Target):
        targets = [targets]
    targets = list(targets)
    for i, t in enumerate(targets):
        if not isinstance(t, Target):
            raise TypeError(f"'targets'[{i}] should be a Target, got {type(t).__name__}")
    names = [t.name for t in targets]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"'targets' has duplicate names {dup}")
    return targets


def baseline(classified: pd.DataFrame, targets: Sequence[Target], *, disadvantaged=frozenset(),
             minority_areas=frozenset(), standard: str | None = None, min_cell: int | None = None) -> pd.DataFrame:
    """Start levels of each target: one ``group`` row, and one row per commune for commune populations.

    Parameters
    ----------
    classified : DataFrame
        Household records with ``review_year``, ``commune_code`` and ``poverty_class``
        (or the columns :func:`povanalysis.measure.standards.classify` needs, with ``standard``).
    targets : sequence of Target
    disadvantaged, minority_areas : collections of commune codes
        See :func:`select`.
    standard : str, optional
        Reclassify the start-year households under this standard (e.g. ``"2026-2030"`` to
        set targets on the rebased level); None uses ``poverty_class`` as it is.
    min_cell : int, optional
        Rows resting on fewer households are flagged ``suppressed`` (default
        :data:`povanalysis.config.MIN_CELL`).

    Returns
    -------
    DataFrame
        ``target``, ``kind`` (``group`` or ``commune``), ``commune_code`` (missing on group
        rows), ``start_year``, ``households``, ``poor``, ``start_level``, ``level_source``
        (``data`` or ``given``: a given start level sets the group row only), ``standard``,
        ``suppressed``.  Commune rows are there for every population of whole communes
        (whatever the target's scope), so a target can also be read commune by commune.

    Examples
    --------
    >>> hh = pd.DataFrame({"review_year": 2025, "commune_code": ["01", "01", "02", "02"],
    ...                    "ethnicity": ["Tày", "Kinh", "Kinh", "Kinh"],
    ...                    "poverty_class": ["poor", "not_poor", "poor", "near_poor"]})
    >>> b = baseline(hh, [Target("p", annual_reduction=1)], min_cell=1)
    >>> b[["kind", "commune_code", "households", "start_level"]].to_dict("list")
    {'kind': ['group', 'commune', 'commune'], 'commune_code': [nan, '01', '02'], 'households': [4, 2, 2], 'start_level': [0.5, 0.5, 0.5]}
    """
    targets = _check_targets(targets)
    for col in ("review_year", "commune_code"):
        if col not in classified.columns:
            raise ValueError(f"'classified' has no column {col!r}")
    if standard is None and "poverty_class" not in classified.columns:
        raise ValueError("'classified' has no column 'poverty_class': classify it first or pass 'standard'")
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    rows, cache = [], {}
    for t in targets:
        year = t.start_year
        if year not in cache:
            hh = classified[classified["review_year"] == year]
            if standard is not None:
                std = get_standard(standard).key
                poor = (classify(hh, standard=std) == "poor").to_numpy() if len(hh) else np.zeros(0, bool)
            else:
                poor = (hh["poverty_class"].astype(str) == "poor").to_numpy()
                std = ",".join(sorted(hh["standard"].astype(str).unique())) if "standard" in hh.columns else ""
            cache[year] = (hh, poor, std)
        hh, poor, std = cache[year]
        if hh.empty and t.start_level is None:
            raise ValueError(f"target {t.name!r}: 'classified' has no households at its start year {year}; "
                             "give the target a 'start_level'")
        mask = select(hh, t, disadvantaged=disadvantaged, minority_areas=minority_areas).to_numpy()
        n, k = int(mask.sum()), int((poor & mask).sum())
        given = t.start_level is not None
        rows.append({"target": t.name, "kind": "group", "commune_code": np.nan, "start_year": year, "households": n,
                     "poor": k, "start_level": float(t.start_level) if given else (k / n if n else np.nan),
                     "level_source": "given" if given else "data", "standard": std})
        whole = t.population in _COMMUNE_LEVEL
        if t.population == "column" and n:
            per = pd.Series(mask).groupby(hh["commune_code"].to_numpy()).agg(["min", "max"])
            touched = per["max"]
            whole = bool((per.loc[touched, "min"] == per.loc[touched, "max"]).all())
        if whole and n:
            g = pd.DataFrame({"commune_code": hh["commune_code"].to_numpy()[mask], "poor": poor[mask]})
            g = g.groupby("commune_code", sort=True)["poor"].agg(["size", "sum"])
            for code, size, s in zip(g.index, g["size"], g["sum"]):
                rows.append({"target": t.name, "kind": "commune", "commune_code": code, "start_year": year,
                             "households": int(size), "poor": int(s), "start_level": s / size,
                             "level_source": "data", "standard": std})
    out = pd.DataFrame(rows, columns=["target", "kind", "commune_code", "start_year", "households", "poor",
                                      "start_level", "level_source", "standard"])
    out["households"] = out["households"].astype("int64")
    out["poor"] = out["poor"].astype("int64")
    out["suppressed"] = out["households"] < limit
    return out


def _check_baseline(baseline: pd.DataFrame, targets: list[Target]) -> None:
    needed = ["target", "kind", "commune_code", "households", "start_level"]
    missing = [c for c in needed if c not in baseline.columns]
    if missing:
        raise ValueError(f"'baseline' lacks the columns {missing}; build it with targets.baseline()")
    known = set(baseline["target"])
    absent = [t.name for t in targets if t.name not in known]
    if absent:
        raise ValueError(f"'baseline' has no rows for the targets {absent}; pass them to targets.baseline()")


def target_paths(targets: Sequence[Target], baseline: pd.DataFrame, *, years=None) -> pd.DataFrame:
    """Every target's path from each of its baseline rows, in long form.

    Parameters
    ----------
    targets : sequence of Target
    baseline : DataFrame
        Output of :func:`baseline`.
    years : iterable of int, optional
        Default: each target's ``start_year..end_year``.

    Returns
    -------
    DataFrame
        ``target``, ``kind``, ``commune_code``, ``year``, ``start_level``, ``target_level``,
        ``unbounded`` (the path before the floor) and ``at_bound``.

    Examples
    --------
    >>> b = pd.DataFrame({"target": ["p"], "kind": ["group"], "commune_code": [None],
    ...                   "households": [100], "start_level": [0.02]})
    >>> p = target_paths([Target("p", annual_reduction=3)], b)
    >>> p["target_level"].round(2).tolist(), p["at_bound"].tolist()
    ([0.02, 0.0, 0.0, 0.0, 0.0, 0.0], [False, True, True, True, True, True])
    """
    targets = _check_targets(targets)
    _check_baseline(baseline, targets)
    parts = []
    for t in targets:
        rows = baseline[baseline["target"] == t.name]
        yrs = np.arange(t.start_year, t.end_year + 1) if years is None else np.asarray(list(years), dtype=int)
        start = rows["start_level"].to_numpy(dtype=float)
        level, raw = t.levels(start, yrs)
        n, m = len(rows), len(yrs)
        parts.append(pd.DataFrame({
            "target": t.name,
            "kind": np.repeat(rows["kind"].to_numpy(), m),
            "commune_code": np.repeat(rows["commune_code"].to_numpy(dtype=object), m),
            "year": np.tile(yrs, n).astype("int64"),
            "start_level": np.repeat(start, m),
            "target_level": level.ravel(),
            "unbounded": raw.ravel(),
            "at_bound": ~np.isclose(level, raw, rtol=0, atol=1e-12).ravel() & np.isfinite(level).ravel(),
        }))
    return pd.concat(parts, ignore_index=True)


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
        lines = [f"Commune reference paths of '{self.target.name}' ({self.target.describe('en')}), rule "
                 f"{self.rule!r}, floor {100 * self.floor:.2f}%: {len(last)} communes, "
                 f"{int(last['already_met'].sum())} already met",
                 f"  province {100 * prov['province_level'].iloc[0]:.2f}% -> {100 * prov['province_level'].iloc[-1]:.2f}% "
                 f"in {end}; where attainable, the household-weighted commune paths differ from it by at most "
                 f"{100 * gap:.2g} points"]
        if len(open_):
            q = 100 * open_["reference_level"].quantile([0, 0.5, 1]).to_numpy()
            lines.append(f"  {end} reference levels of the other communes: min {q[0]:.2f}%, median {q[1]:.2f}%, "
                         f"max {q[2]:.2f}%; {int(open_['at_floor'].sum())} held at the floor")
        bad = prov.loc[~prov["attainable"], "year"].tolist()
        if bad:
            lines.append("  unattainable above the floors in " + ", ".join(str(int(y)) for y in bad))
        top = last[last["share_of_province_reduction"] > 0].nsmallest(5, "rank")
        if len(top):
            lines.append("  largest shares of the province's fall: " + ", ".join(
                f"{r.commune_code} {100 * r.share_of_province_reduction:.1f}%" for r in top.itertuples()))
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
            raise ValueError(f"'baseline' has no commune rows for target {target.name!r}: build it with "
                             "targets.baseline() (the target's population must be whole communes)")
    missing = [c for c in ("commune_code", "households", "start_level") if c not in rows.columns]
    if missing:
        raise ValueError(f"'baseline' lacks the columns {missing}; it needs commune_code, households and "
                         "start_level (targets.baseline() gives them)")
    if rows.empty:
        raise ValueError("'baseline' has no rows")
    codes = rows["commune_code"].astype(str)
    dup = sorted(codes[codes.duplicated()].unique())
    if dup:
        raise ValueError(f"'baseline' has more than one row for the communes {dup[:5]}")
    for col, ok in (("households", lambda v: np.isfinite(v) & (v > 0)),
                    ("start_level", lambda v: np.isfinite(v) & (v >= 0) & (v <= 1))):
        values = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        bad = ~ok(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            need = "a number of households > 0" if col == "households" else "a share in [0, 1] (0.10 for 10%)"
            raise ValueError(f"'baseline' column {col!r} must be {need}: commune {codes.iloc[i]!r} has "
                             f"{rows[col].tolist()[i]!r}")
    return rows, group_level


def commune_reference_paths(baseline: pd.DataFrame, target: Target, *, rule: str = "proportional",
                            floor: float | None = None, years=None) -> ReferencePaths:
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
        :func:`baseline` (its commune rows for ``target`` are used, so the target's
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
    {'commune_code': ['A', 'B', 'C'], 'reference_level': [0.1, 0.05, 0.025], 'share_of_province_reduction': [0.4, 0.4, 0.2]}

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
        raise ValueError(f"'target' must have scope 'group' (one path for the whole population) to be split among "
                         f"communes, got {target.name!r} with scope {target.scope!r}")
    if target.direction != "decrease":
        raise ValueError(f"'target' must be a decrease (a poverty rate), got {target.name!r} with direction "
                         f"{target.direction!r}")
    if rule not in REFERENCE_RULES:
        hint = (" ('share_of_poor' is the proportional rule when households are held fixed)"
                if rule == "share_of_poor" else "")
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
            raise ValueError(f"target {target.name!r}: {what} is {level!r} but its communes' household-weighted start "
                             f"level is {p0!r}; commune paths add up only to a path from the communes' own level")
    yrs = (np.arange(target.start_year, target.end_year + 1) if years is None
           else np.asarray(list(years), dtype=int))
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
    paths = pd.DataFrame({
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
    })
    prov = pd.DataFrame({
        "year": yrs.astype("int64"),
        "province_level": province,
        "unbounded": raw,
        "floors_level": floors_level,
        "reference_mean": (weight[:, None] * level).sum(axis=0),
        "common_fall": fall,
        "communes_at_floor": at_floor.sum(axis=0).astype("int64"),
        "attainable": attainable_year,
    })
    return ReferencePaths(target, rule, floor, paths, prov)


def _who(target: Target, code, lang: str, names: dict) -> str:
    if isinstance(code, str):
        name = names.get(code)
        return f"{name} ({code})" if name else (f"xã {code}" if lang == "vi" else f"commune {code}")
    vi, en = _POPULATION_TEXT[target.population]
    return (f"«{target.label('vi')}» ({vi})" if lang == "vi" else f"'{target.label('en')}' ({en})")


def _names() -> dict:
    from ..data import registry

    units = registry.units()
    return dict(zip(units["commune_code"], units["name"]))


def _same_population(a: Target, b: Target) -> bool:
    return (a.population, a.communes, a.column) == (b.population, b.communes, b.column)


def check_consistency(targets: Sequence[Target], baseline: pd.DataFrame, *, lang: str = "en") -> pd.DataFrame:
    """The conflicts between targets and the data, stated rather than hidden.

    Kinds of conflict:

    * ``unattainable``: the annual reduction would take the rate below the floor before the
      end year (a commune at 2% cannot fall 3 points a year); the path is held at the
      floor and the target is unattainable as written.
    * ``insufficient``: on the same population or commune, meeting a yearly-reduction target
      still leaves the rate above the level another target requires by its end year; the
      two disagree and the level target binds.
    * ``implied_range``: meeting a target for part of the province alone lowers the
      province rate by more than the upper end of a province-wide range (1–1.5 points a
      year), so the range holds only if read as a minimum.
    * ``empty_population``: no household of the target's population at its start year.

    Parameters
    ----------
    targets : sequence of Target
    baseline : DataFrame
        Output of :func:`baseline` (start levels from the data).
    lang : {"vi", "en"}
        Language of ``message``.

    Returns
    -------
    DataFrame
        ``kind``, ``target``, ``other`` (the other target of a pair), ``commune_code``,
        ``year``, ``value`` (the start level, the level reached, or the implied fall in points),
        ``message``; one row per conflict.

    Examples
    --------
    >>> b = pd.DataFrame({"target": ["d"], "kind": ["group"], "commune_code": [None],
    ...                   "households": [100], "start_level": [0.02]})
    >>> c = check_consistency([Target("d", annual_reduction=3)], b)
    >>> c[["kind", "year"]].to_dict("records")
    [{'kind': 'unattainable', 'year': 2026}]
    """
    check_lang(lang)
    targets = _check_targets(targets)
    _check_baseline(baseline, targets)
    vi = lang == "vi"
    names = _names() if baseline["commune_code"].notna().any() else {}
    paths = target_paths(targets, baseline)
    rows = []

    def add(kind, t, other, code, year, value, message):
        rows.append({"kind": kind, "target": t.name, "other": other, "commune_code": code if isinstance(code, str) else None,
                     "year": year, "value": value, "message": message})

    def scoped(t):
        kind = "commune" if t.scope == "commune" else "group"
        return paths[(paths["target"] == t.name) & (paths["kind"] == kind)]

    for t in targets:
        group = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "group")]
        if group.empty or int(group["households"].iloc[0]) == 0:
            add("empty_population", t, None, None, t.start_year, np.nan,
                f"Mục tiêu «{t.label('vi')}»: không có hộ nào thuộc đối tượng trong kỳ rà soát {t.start_year}." if vi
                else f"Target '{t.label('en')}': no household of its population at the {t.start_year} review.")
            continue
        if t.annual_reduction is None:
            continue
        p = scoped(t)
        p = p[(p["year"] <= t.end_year) & p["at_bound"] & np.isfinite(p["start_level"])]
        first = p.groupby(p["commune_code"].fillna(""), sort=True).first()
        for code, r in first.iterrows():
            code = code or None
            who = _who(t, code, lang, names)
            start, year = format_percent(r["start_level"], lang), int(r["year"])
            red = format_number(t.annual_reduction, lang, digits=1)
            bound = format_percent(t.bound, lang)
            if vi:
                step = f"giảm {red} điểm phần trăm mỗi năm" if t.unit == "points" else f"giảm {red}% mỗi năm"
                if t.direction == "increase":
                    step = step.replace("giảm", "tăng")
                msg = (f"{who}: từ {start} năm {t.start_year}, {step} sẽ vượt mức giới hạn {bound} vào năm {year}; "
                       f"mục tiêu không thể đạt như đã viết (lộ trình được giữ ở mức {bound} từ năm {year}).")
            else:
                step = (f"a fall of {red} points a year" if t.unit == "points" else f"a fall of {red}% a year")
                if t.direction == "increase":
                    step = step.replace("fall", "rise")
                msg = (f"{who}: from {start} in {t.start_year}, {step} would pass the bound of {bound} in {year}; "
                       f"the target is unattainable as written (the path is held at {bound} from {year}).")
            add("unattainable", t, None, code, year, float(r["start_level"]), msg)

    for a in targets:
        if a.annual_reduction is None:
            continue
        for b in targets:
            if b.end_level is None or b is a or a.direction != b.direction:
                continue
            if a.scope == b.scope == "commune":
                pa, pb = scoped(a), scoped(b)
            elif a.scope == b.scope == "group" and _same_population(a, b):
                pa, pb = scoped(a), scoped(b)
            else:
                continue
            pa = pa[pa["year"] == b.end_year][["commune_code", "target_level"]]
            pb = pb[pb["year"] == b.end_year][["commune_code", "target_level"]]
            if a.scope == "commune":
                m = pa.merge(pb, on="commune_code", suffixes=("_a", "_b"))
            else:
                m = pd.DataFrame({"commune_code": [None], "target_level_a": pa["target_level"].to_numpy()[:1],
                                  "target_level_b": pb["target_level"].to_numpy()[:1]})
            behind = ~b.meets(m["target_level_a"], m["target_level_b"]) & np.isfinite(m["target_level_a"])
            for r in m[behind].itertuples(index=False):
                code = r.commune_code if isinstance(r.commune_code, str) else None
                who = _who(a, code, lang, names)
                la, lb = format_percent(r.target_level_a, lang), format_percent(r.target_level_b, lang)
                msg = (f"{who}: đạt mục tiêu «{a.label('vi')}» thì năm {b.end_year} vẫn còn {la}, chưa đạt mức {lb} "
                       f"mà mục tiêu «{b.label('vi')}» yêu cầu; hai mục tiêu không khớp nhau và «{b.label('vi')}» là "
                       "ràng buộc chặt hơn." if vi else
                       f"{who}: meeting '{a.label('en')}' leaves the rate at {la} in {b.end_year}, short of the {lb} that "
                       f"'{b.label('en')}' requires; the two targets disagree and '{b.label('en')}' binds.")
                add("insufficient", a, b.name, code, b.end_year, float(r.target_level_a), msg)

    ranges = [t for t in targets if t.population == "all" and t.scope == "group" and t.unit == "points"
              and t.annual_reduction is not None and t.direction == "decrease"]
    if len({t.annual_reduction for t in ranges}) >= 2:
        lo_t = min(ranges, key=lambda t: t.annual_reduction)
        hi_t = max(ranges, key=lambda t: t.annual_reduction)
        total = int(baseline.loc[(baseline["target"] == hi_t.name) & (baseline["kind"] == "group"), "households"].iloc[0])
        for t in targets:
            if t.population == "all" or t.direction != "decrease" or not total:
                continue
            kind = "commune" if t.scope == "commune" else "group"
            start = baseline[(baseline["target"] == t.name) & (baseline["kind"] == kind)]
            start = start.set_index(start["commune_code"].fillna(""))
            end = scoped(t)
            end = end[end["year"] == t.end_year]
            end = end.set_index(end["commune_code"].fillna(""))
            if start.empty:
                continue
            fall = (start["start_level"] - end["target_level"]).clip(lower=0) / (t.end_year - t.start_year)
            implied = float((start["households"] * fall).sum() / total * 100)
            if implied > hi_t.annual_reduction + 1e-9:
                share = format_percent(start["households"].sum() / total, lang, digits=1)
                x, hi = format_number(implied, lang, digits=2), format_number(hi_t.annual_reduction, lang, digits=1)
                msg = (f"Đạt mục tiêu «{t.label('vi')}» (nhóm chiếm {share} số hộ) tự nó đã làm tỷ lệ hộ nghèo toàn tỉnh "
                       f"giảm ít nhất {x} điểm phần trăm mỗi năm, vượt cận trên {hi} điểm của khoảng «{lo_t.label('vi')}» – "
                       f"«{hi_t.label('vi')}»; khoảng này chỉ nhất quán nếu hiểu là mức giảm tối thiểu." if vi else
                       f"Meeting '{t.label('en')}' (its population holds {share} of households) alone lowers the province "
                       f"rate by at least {x} points a year, above the upper end of {hi} points of the range "
                       f"'{lo_t.label('en')}' – '{hi_t.label('en')}'; the range is consistent only if read as a minimum.")
                add("implied_range", t, hi_t.name, None, t.end_year, implied, msg)

    out = pd.DataFrame(rows, columns=["kind", "target", "other", "commune_code", "year", "value", "message"])
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["kind", "target", "commune_code"], kind="stable", na_position="first").reset_index(drop=True)


def to_frame(targets: Sequence[Target], *, lang: str = "vi") -> pd.DataFrame:
    """The targets as a table: ``name``, ``label``, ``population``, ``scope``, ``rule``, ``start_year``,
    ``end_year``, ``confirmed`` and ``source``.

    Examples
    --------
    >>> to_frame(DEFAULT_TARGETS[:1], lang="en")[["name", "rule", "confirmed"]].to_dict("records")
    [{'name': 'province_low', 'rule': '-1.0 points a year', 'confirmed': False}]
    """
    check_lang(lang)
    targets = _check_targets(targets)
    i = 0 if lang == "vi" else 1
    return pd.DataFrame({
        "name": [t.name for t in targets],
        "label": [t.label(lang) for t in targets],
        "population": [_POPULATION_TEXT[t.population][i] for t in targets],
        "scope": [t.scope for t in targets],
        "rule": [t.describe(lang) for t in targets],
        "start_year": [t.start_year for t in targets],
        "end_year": [t.end_year for t in targets],
        "confirmed": [t.confirmed for t in targets],
        "source": [t.source for t in targets],
    })
