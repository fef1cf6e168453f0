"""Poverty-reduction targets as data: populations, paths to 2030 and the conflicts between targets.

One module because the target catalogue, the populations a target selects, the baseline levels and the
consistency checks all read the same Target fields; the commune reference paths, which only consume
targets, live in reference_paths.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .. import config
from ..common.deprecation import moved_names
from ..common.labels import check_lang, format_number, format_percent
from ..data.schema import ETHNIC_MAJORITY
from ..measure.standards import classify, get_standard

__all__ = [
    "POPULATIONS",
    "Target",
    "DEFAULT_TARGET_VALUES",
    "default_targets",
    "DEFAULT_TARGETS",
    "MINORITY_AREA_THRESHOLD",
    "minority_areas",
    "select",
    "baseline",
    "check_targets",
    "target_paths",
    "province_range",
    "check_consistency",
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
    >>> r = Target("r", annual_reduction=10, unit="relative", start_level=0.10)
    >>> r.path(years=[2027])["target_level"].round(4).tolist()
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
        for attr, allowed in (
            ("population", POPULATIONS),
            ("unit", _UNITS),
            ("direction", _DIRECTIONS),
            ("scope", _SCOPES),
        ):
            if getattr(self, attr) not in allowed:
                raise ValueError(f"{where}: '{attr}' must be one of {allowed}, got {getattr(self, attr)!r}")
        if (self.annual_reduction is None) == (self.end_level is None):
            raise ValueError(
                f"{where}: give exactly one of 'annual_reduction' and 'end_level', "
                f"got {self.annual_reduction!r} and {self.end_level!r}"
            )
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
                raise ValueError(
                    f"{where}: population 'communes' needs a non-empty tuple 'communes' of codes, got {self.communes!r}"
                )
            object.__setattr__(self, "communes", tuple(str(c) for c in self.communes))
        elif self.communes:
            raise ValueError(
                f"{where}: 'communes' is only for population 'communes', got population {self.population!r}"
            )
        if self.population == "column" and not self.column:
            raise ValueError(f"{where}: population 'column' needs 'column', the name of a boolean column")
        if self.population != "column" and self.column is not None:
            raise ValueError(f"{where}: 'column' is only for population 'column', got population {self.population!r}")
        if self.scope == "commune" and self.population not in _COMMUNE_LEVEL | {"column"}:
            raise ValueError(f"{where}: scope 'commune' needs a population of whole communes, got {self.population!r}")

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
        """The rule in words (:func:`povanalysis.reports.prose.goals.target_rule`)."""
        from ..reports.prose.goals import target_rule

        return target_rule(self, lang)

    def already_met(self, start_level: ArrayLike) -> np.ndarray:
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

    def meets(self, value: ArrayLike, level: ArrayLike) -> np.ndarray:
        """True where ``value`` meets the path ``level`` (at or below it for a decreasing target)."""
        value, level = np.asarray(value, dtype=float), np.asarray(level, dtype=float)
        return value <= level + 1e-12 if self.direction == "decrease" else value >= level - 1e-12

    def levels(self, start: ArrayLike, years: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Path levels and the unbounded path for start levels ``start`` (n) and ``years`` (m): two (n, m) arrays."""
        start = np.atleast_1d(np.asarray(start, dtype=float))
        years = np.atleast_1d(np.asarray(years, dtype=float))
        if (years < self.start_year).any():
            raise ValueError(
                f"Target {self.name!r}: years must be from its start year {self.start_year}, got {int(years.min())}"
            )
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

    def path(self, start_level: float | None = None, *, years: Iterable[int] | None = None) -> pd.DataFrame:
        """The target path: ``year``, ``target_level``, ``unbounded`` and ``at_bound`` (held at the floor).

        ``start_level`` defaults to the target's own; ``years`` to ``start_year..end_year``.
        """
        s = self.start_level if start_level is None else start_level
        if s is None or not np.isfinite(s):
            raise ValueError(f"Target {self.name!r} has no start level: give 'start_level' (a share in [0, 1])")
        years = np.arange(self.start_year, self.end_year + 1) if years is None else np.asarray(list(years), dtype=int)
        level, raw = self.levels([s], years)
        return pd.DataFrame(
            {
                "year": years.astype("int64"),
                "target_level": level[0],
                "unbounded": raw[0],
                "at_bound": ~np.isclose(level[0], raw[0], rtol=0, atol=1e-12),
            }
        )


#: The values of :func:`default_targets`, read by it, by notebook 03 (whose target parameters
#: default to null, that is to these) and by the commune reports: points a year for the
#: province and ethnic-minority ranges (low, high) and for each disadvantaged commune, and the
#: 2030 levels of the national rules.
DEFAULT_TARGET_VALUES: Mapping[str, object] = MappingProxyType(
    {
        "province": (1.0, 1.5),
        "disadvantaged": 3.0,
        "minority": (3.0, 4.0),
        "minority_area_level": 0.10,
        "poor_commune_exit_level": 0.15,
    }
)


def default_targets(
    *,
    province: Sequence[float] | None = None,
    disadvantaged: float | None = None,
    minority: Sequence[float] | None = None,
    minority_area_level: float | None = None,
    poor_commune_exit_level: float | None = None,
    start_year: int = 2025,
    end_year: int = 2030,
) -> tuple[Target, ...]:
    """The 2026–2030 targets of Thai Nguyen and the national programme, with overridable values.

    A value left at None is the package default (:data:`DEFAULT_TARGET_VALUES`).

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
    ['province_low', 'province_high', 'disadvantaged', 'minority_low', 'minority_high', 'national_minority_areas',
     'national_poor_communes']
    >>> default_targets(province=(1.0, 2.0))[1].annual_reduction
    2.0
    """
    given = {
        "province": province,
        "disadvantaged": disadvantaged,
        "minority": minority,
        "minority_area_level": minority_area_level,
        "poor_commune_exit_level": poor_commune_exit_level,
    }
    values = {k: DEFAULT_TARGET_VALUES[k] if x is None else x for k, x in given.items()}
    province, disadvantaged, minority = values["province"], values["disadvantaged"], values["minority"]
    minority_area_level, poor_commune_exit_level = values["minority_area_level"], values["poor_commune_exit_level"]
    for name, pair in (("province", province), ("minority", minority)):
        ok = (
            not isinstance(pair, str)
            and len(pair) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
        )
        if not ok or pair[0] > pair[1]:
            raise ValueError(f"'{name}' must be two numbers (low, high) of points a year, low <= high, got {pair!r}")
    lo, hi = province
    mlo, mhi = minority
    common = dict(start_year=start_year, end_year=end_year)
    tn = "Thai Nguyen 2026–2030 target, UNCONFIRMED (not found in an official text)"
    p_lo, p_hi = format_number(lo, "vi", digits=1), format_number(hi, "vi", digits=1)
    return (
        Target(
            "province_low",
            "all",
            annual_reduction=lo,
            confirmed=False,
            source=tn + "; the national programme sets 1–1.5 points a year",
            label_vi=f"Toàn tỉnh: giảm {p_lo} điểm/năm",
            label_en=f"Province: -{lo:g} points a year",
            **common,
        ),
        Target(
            "province_high",
            "all",
            annual_reduction=hi,
            confirmed=False,
            source=tn + "; the national programme sets 1–1.5 points a year",
            label_vi=f"Toàn tỉnh: giảm {p_hi} điểm/năm",
            label_en=f"Province: -{hi:g} points a year",
            **common,
        ),
        Target(
            "disadvantaged",
            "disadvantaged",
            annual_reduction=disadvantaged,
            scope="commune",
            confirmed=False,
            source=tn + "; nationally, poor communes fall at least 3 points a year",
            label_vi=f"Mỗi xã đặc biệt khó khăn: giảm {format_number(disadvantaged, 'vi', digits=1)} điểm/năm",
            label_en=f"Each disadvantaged commune: -{disadvantaged:g} points a year",
            **common,
        ),
        Target(
            "minority_low",
            "minority",
            annual_reduction=mlo,
            confirmed=False,
            source=tn,
            label_vi=f"Hộ DTTS: giảm {format_number(mlo, 'vi', digits=1)} điểm/năm",
            label_en=f"Ethnic-minority households: -{mlo:g} points a year",
            **common,
        ),
        Target(
            "minority_high",
            "minority",
            annual_reduction=mhi,
            confirmed=False,
            source=tn,
            label_vi=f"Hộ DTTS: giảm {format_number(mhi, 'vi', digits=1)} điểm/năm",
            label_en=f"Ethnic-minority households: -{mhi:g} points a year",
            **common,
        ),
        Target(
            "national_minority_areas",
            "minority_area",
            end_level=minority_area_level,
            source="National target programme 2026–2030 (en.vietnamplus.vn post334550): the rate in "
            "ethnic-minority and mountainous areas below 10% by 2030",
            label_vi=f"Vùng DTTS và miền núi: dưới {format_percent(minority_area_level, 'vi', digits=0)} "
            f"năm {end_year}",
            label_en=f"Ethnic-minority and mountainous areas: below "
            f"{format_percent(minority_area_level, 'en', digits=0)} "
            f"by {end_year}",
            **common,
        ),
        Target(
            "national_poor_communes",
            "disadvantaged",
            end_level=poor_commune_exit_level,
            scope="commune",
            source="National target programme 2026–2030: every poor commune leaves that status by 2030; the "
            "exit threshold (Region III rate criterion, Decision 33/2020/QĐ-TTg) is an interpretation",
            label_vi=f"Mỗi xã đặc biệt khó khăn thoát khỏi diện (dưới "
            f"{format_percent(poor_commune_exit_level, 'vi', digits=0)}) năm {end_year}",
            label_en=f"Each disadvantaged commune leaves the status (below "
            f"{format_percent(poor_commune_exit_level, 'en', digits=0)}) by {end_year}",
            **common,
        ),
    )


#: :func:`default_targets` with its default values.
DEFAULT_TARGETS: tuple[Target, ...] = default_targets()


def _minority(frame: pd.DataFrame) -> pd.Series:
    if "minority" in frame.columns:
        return frame["minority"].astype(bool)
    if "ethnicity" in frame.columns:
        return frame["ethnicity"] != ETHNIC_MAJORITY
    raise ValueError("the data need a 'minority' or an 'ethnicity' column to select ethnic-minority households")


def minority_areas(
    classified: pd.DataFrame, *, year: int = 2025, threshold: float = MINORITY_AREA_THRESHOLD
) -> frozenset[str]:
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


def select(
    frame: pd.DataFrame,
    target: Target,
    *,
    disadvantaged: Collection[str] = frozenset(),
    minority_areas: Collection[str] = frozenset(),
) -> pd.Series:
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
            source = "pipeline.load_disadvantaged()" if pop == "disadvantaged" else "targets.minority_areas(classified)"
            raise ValueError(
                f"target {target.name!r} selects population {pop!r} but {name!r} is empty; pass the "
                f"commune codes ({source})"
            )
    return frame["commune_code"].isin(codes)


def check_targets(targets: Target | Sequence[Target]) -> list[Target]:
    """``targets`` as a list of Targets with unique names (one Target is a list of one).

    Examples
    --------
    >>> [t.name for t in check_targets(Target("p", annual_reduction=1))]
    ['p']
    """
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


def baseline(
    classified: pd.DataFrame,
    targets: Sequence[Target],
    *,
    disadvantaged: Collection[str] = frozenset(),
    minority_areas: Collection[str] = frozenset(),
    standard: str | None = None,
    min_cell: int | None = None,
) -> pd.DataFrame:
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
    {'kind': ['group', 'commune', 'commune'], 'commune_code': [nan, '01', '02'], 'households': [4, 2, 2],
     'start_level': [0.5, 0.5, 0.5]}
    """
    targets = check_targets(targets)
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
            raise ValueError(
                f"target {t.name!r}: 'classified' has no households at its start year {year}; "
                "give the target a 'start_level'"
            )
        mask = select(hh, t, disadvantaged=disadvantaged, minority_areas=minority_areas).to_numpy()
        n, k = int(mask.sum()), int((poor & mask).sum())
        given = t.start_level is not None
        rows.append(
            {
                "target": t.name,
                "kind": "group",
                "commune_code": np.nan,
                "start_year": year,
                "households": n,
                "poor": k,
                "start_level": float(t.start_level) if given else (k / n if n else np.nan),
                "level_source": "given" if given else "data",
                "standard": std,
            }
        )
        whole = t.population in _COMMUNE_LEVEL
        if t.population == "column" and n:
            per = pd.Series(mask).groupby(hh["commune_code"].to_numpy()).agg(["min", "max"])
            touched = per["max"]
            whole = bool((per.loc[touched, "min"] == per.loc[touched, "max"]).all())
        if whole and n:
            g = pd.DataFrame({"commune_code": hh["commune_code"].to_numpy()[mask], "poor": poor[mask]})
            g = g.groupby("commune_code", sort=True)["poor"].agg(["size", "sum"])
            for code, size, s in zip(g.index, g["size"], g["sum"]):
                rows.append(
                    {
                        "target": t.name,
                        "kind": "commune",
                        "commune_code": code,
                        "start_year": year,
                        "households": int(size),
                        "poor": int(s),
                        "start_level": s / size,
                        "level_source": "data",
                        "standard": std,
                    }
                )
    out = pd.DataFrame(
        rows,
        columns=[
            "target",
            "kind",
            "commune_code",
            "start_year",
            "households",
            "poor",
            "start_level",
            "level_source",
            "standard",
        ],
    )
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


def target_paths(
    targets: Sequence[Target], baseline: pd.DataFrame, *, years: Iterable[int] | None = None
) -> pd.DataFrame:
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
    targets = check_targets(targets)
    _check_baseline(baseline, targets)
    parts = []
    for t in targets:
        rows = baseline[baseline["target"] == t.name]
        yrs = np.arange(t.start_year, t.end_year + 1) if years is None else np.asarray(list(years), dtype=int)
        start = rows["start_level"].to_numpy(dtype=float)
        level, raw = t.levels(start, yrs)
        n, m = len(rows), len(yrs)
        parts.append(
            pd.DataFrame(
                {
                    "target": t.name,
                    "kind": np.repeat(rows["kind"].to_numpy(), m),
                    "commune_code": np.repeat(rows["commune_code"].to_numpy(dtype=object), m),
                    "year": np.tile(yrs, n).astype("int64"),
                    "start_level": np.repeat(start, m),
                    "target_level": level.ravel(),
                    "unbounded": raw.ravel(),
                    "at_bound": ~np.isclose(level, raw, rtol=0, atol=1e-12).ravel() & np.isfinite(level).ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _same_population(a: Target, b: Target) -> bool:
    return (a.population, a.communes, a.column) == (b.population, b.communes, b.column)


def province_range(targets: Sequence[Target]) -> tuple[Target, Target] | None:
    """The lowest and highest of the province-wide yearly falls in points (``province_low``, ``province_high``).

    None when the targets hold fewer than two different province-wide falls.

    Examples
    --------
    >>> [t.name for t in province_range(DEFAULT_TARGETS)]
    ['province_low', 'province_high']
    """
    ranges = [
        t
        for t in targets
        if t.population == "all"
        and t.scope == "group"
        and t.unit == "points"
        and t.annual_reduction is not None
        and t.direction == "decrease"
    ]
    if len({t.annual_reduction for t in ranges}) < 2:
        return None
    return min(ranges, key=lambda t: t.annual_reduction), max(ranges, key=lambda t: t.annual_reduction)


def check_consistency(targets: Sequence[Target], baseline: pd.DataFrame, *, lang: str | None = None) -> pd.DataFrame:
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
      year, :func:`province_range`), so the range holds only if read as a minimum.
    * ``empty_population``: no household of the target's population at its start year.

    Each conflict in words: :func:`povanalysis.reports.prose.goals.conflict_messages`.

    Parameters
    ----------
    targets : sequence of Target
    baseline : DataFrame
        Output of :func:`baseline` (start levels from the data).
    lang : {"vi", "en"}, optional
        Deprecated: adds the ``message`` column of
        :func:`povanalysis.reports.prose.goals.conflict_messages` in ``lang``.

    Returns
    -------
    DataFrame
        ``kind``, ``target``, ``other`` (the other target of a pair), ``commune_code``,
        ``year``, ``value`` (the start level, the level reached, or the implied fall in points),
        ``reference`` (the bound passed, the level the other target requires, or the
        population's share of households); one row per conflict.

    Examples
    --------
    >>> b = pd.DataFrame({"target": ["d"], "kind": ["group"], "commune_code": [None],
    ...                   "households": [100], "start_level": [0.02]})
    >>> c = check_consistency([Target("d", annual_reduction=3)], b)
    >>> c[["kind", "year", "reference"]].to_dict("records")
    [{'kind': 'unattainable', 'year': 2026, 'reference': 0.0}]
    """
    targets = check_targets(targets)
    _check_baseline(baseline, targets)
    paths = target_paths(targets, baseline)
    rows = []

    def add(kind, t, other, code, year, value, reference):
        rows.append(
            {
                "kind": kind,
                "target": t.name,
                "other": other,
                "commune_code": code if isinstance(code, str) else None,
                "year": year,
                "value": value,
                "reference": reference,
            }
        )

    def scoped(t):
        kind = "commune" if t.scope == "commune" else "group"
        return paths[(paths["target"] == t.name) & (paths["kind"] == kind)]

    for t in targets:
        group = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "group")]
        if group.empty or int(group["households"].iloc[0]) == 0:
            add("empty_population", t, None, None, t.start_year, np.nan, np.nan)
            continue
        if t.annual_reduction is None:
            continue
        p = scoped(t)
        p = p[(p["year"] <= t.end_year) & p["at_bound"] & np.isfinite(p["start_level"])]
        first = p.groupby(p["commune_code"].fillna(""), sort=True).first()
        for code, r in first.iterrows():
            add("unattainable", t, None, code or None, int(r["year"]), float(r["start_level"]), t.bound)

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
                m = pd.DataFrame(
                    {
                        "commune_code": [None],
                        "target_level_a": pa["target_level"].to_numpy()[:1],
                        "target_level_b": pb["target_level"].to_numpy()[:1],
                    }
                )
            behind = ~b.meets(m["target_level_a"], m["target_level_b"]) & np.isfinite(m["target_level_a"])
            for r in m[behind].itertuples(index=False):
                code = r.commune_code if isinstance(r.commune_code, str) else None
                add("insufficient", a, b.name, code, b.end_year, float(r.target_level_a), float(r.target_level_b))

    bounds = province_range(targets)
    if bounds is not None:
        hi_t = bounds[1]
        group_rows = (baseline["target"] == hi_t.name) & (baseline["kind"] == "group")
        total = int(baseline.loc[group_rows, "households"].iloc[0])
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
                add("implied_range", t, hi_t.name, None, t.end_year, implied, float(start["households"].sum() / total))

    out = pd.DataFrame(rows, columns=["kind", "target", "other", "commune_code", "year", "value", "reference"])
    out["year"] = out["year"].astype("int64")
    out = out.sort_values(["kind", "target", "commune_code"], kind="stable", na_position="first").reset_index(drop=True)
    if lang is None:
        return out
    warnings.warn(
        "check_consistency(lang=...) is deprecated: add the messages with "
        "povanalysis.reports.prose.goals.conflict_messages(conflicts, targets, lang=...)",
        DeprecationWarning,
        stacklevel=2,
    )
    from ..reports.prose.goals import conflict_messages

    return conflict_messages(out, targets, lang=lang)


#: Names that moved out of this module in 0.2.0, and their new homes (importable here for one release).
MOVED: dict[str, str] = {
    **dict.fromkeys(
        ("REFERENCE_RULES", "ReferencePaths", "commune_reference_paths"), "povanalysis.goals.reference_paths"
    ),
    "to_frame": "povanalysis.reports.prose.goals",
}
_NEW_NAMES = {"to_frame": "target_table"}


__getattr__ = moved_names(__name__, MOVED, renamed=_NEW_NAMES)
