"""The official Vietnamese multidimensional poverty standards and the classification of households."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..common.checks import require_frame
from ..data.schema import AREAS

__all__ = [
    "Indicator",
    "Standard",
    "STANDARDS",
    "CLASSES",
    "DEFAULT_STANDARD_BY_REVIEW",
    "get_standard",
    "standard_for_review",
    "deprivation_count",
    "classify",
]

#: The ordered classes of :func:`classify`.
CLASSES: tuple[str, ...] = ("poor", "near_poor", "average_living", "not_poor")


@dataclass(frozen=True)
class Indicator:
    """One deprivation indicator: its column, dimension and names."""

    column: str
    dimension: str
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class Standard:
    """A national poverty standard: income lines, average-living bands and deprivation indicators.

    Amounts are VND per person per month.  A household is *poor* when its income is at or
    below the line of its area **and** it is deprived in at least ``min_deprivations``
    indicators; *near-poor* when its income is at or below the line and it has fewer
    deprivations; *average-living* when its income is above the line and at or below the
    band; otherwise *not poor*.

    Use :func:`dataclasses.replace` to override a value that the official text leaves open,
    e.g. ``replace(get_standard("2026-2030"), average_band={"rural": 3_000_000, "urban": 4_000_000})``.
    """

    key: str
    decree: str
    label_vi: str
    label_en: str
    income_line: Mapping[str, int]
    average_band: Mapping[str, int]
    indicators: tuple[Indicator, ...]
    min_deprivations: int = 3
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        for name in ("income_line", "average_band"):
            value = getattr(self, name)
            if set(value) != set(AREAS):
                raise ValueError(f"Standard {self.key!r}: {name} needs exactly the areas {AREAS}, got {sorted(value)}")
            object.__setattr__(self, name, MappingProxyType(dict(value)))
        for area in AREAS:
            if self.average_band[area] < self.income_line[area]:
                raise ValueError(f"Standard {self.key!r}: average_band[{area!r}] is below the income line")
        if not 1 <= self.min_deprivations <= len(self.indicators):
            raise ValueError(f"Standard {self.key!r}: min_deprivations must be in 1..{len(self.indicators)}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The deprivation columns this standard counts, in annex order."""
        return tuple(i.column for i in self.indicators)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions, in annex order."""
        return tuple(dict.fromkeys(i.dimension for i in self.indicators))

    def weights(self) -> dict[str, float]:
        """Equal indicator weights summing to 1, for an Alkire–Foster reading (k = min_deprivations / n)."""
        return {c: 1 / len(self.indicators) for c in self.columns}

    @property
    def k(self) -> float:
        """The Alkire–Foster cutoff equivalent to ``min_deprivations`` under :meth:`weights`."""
        return self.min_deprivations / len(self.indicators)


_I = Indicator
_EMPLOYMENT = _I("d_employment", "employment", "Việc làm", "Employment")
_DEPENDANTS = _I("d_dependants", "employment", "Người phụ thuộc trong hộ gia đình", "Dependants")
_NUTRITION = _I("d_nutrition", "health", "Dinh dưỡng", "Nutrition")
_INSURANCE = _I("d_health_insurance", "health", "Bảo hiểm y tế", "Health insurance")
_ADULT_EDU = _I("d_adult_education", "education", "Trình độ giáo dục của người lớn", "Adult education")
_CHILD_SCHOOL = _I("d_child_school", "education", "Tình trạng đi học của trẻ em", "Child school attendance")
_HOUSING = _I("d_housing_quality", "housing", "Chất lượng nhà ở", "Housing quality")
_FLOOR = _I("d_floor_area", "housing", "Diện tích nhà ở bình quân đầu người", "Floor area per person")
_WATER = _I("d_water", "water_sanitation", "Nguồn nước sinh hoạt", "Domestic water")
_LATRINE = _I("d_latrine", "water_sanitation", "Nhà tiêu hợp vệ sinh", "Hygienic latrine")
_TELECOM = _I("d_telecom", "information", "Sử dụng dịch vụ viễn thông", "Telecom use")
_INFO_MEANS = _I("d_information_means", "information", "Phương tiện phục vụ tiếp cận thông tin", "Means of information")
_INTERNET = _I("d_internet", "information", "Sử dụng dịch vụ internet, dịch vụ số", "Internet and digital services")
_WASTE = _I("d_waste", "water_sanitation", "Thu gom, xử lý rác thải sinh hoạt", "Household waste")

_DECREE_07 = Standard(
    key="2022-2025",
    decree="Decree 07/2021/ND-CP",
    label_vi="Chuẩn nghèo giai đoạn 2022–2025 (Nghị định 07/2021/NĐ-CP)",
    label_en="Poverty standard 2022–2025 (Decree 07/2021/ND-CP)",
    income_line={"rural": 1_500_000, "urban": 2_000_000},
    average_band={"rural": 2_250_000, "urban": 3_000_000},
    indicators=(
        _EMPLOYMENT,
        _DEPENDANTS,
        _NUTRITION,
        _INSURANCE,
        _ADULT_EDU,
        _CHILD_SCHOOL,
        _HOUSING,
        _FLOOR,
        _WATER,
        _LATRINE,
        _TELECOM,
        _INFO_MEANS,
    ),
    notes=("Art. 3: 12 indicators in 6 dimensions; poor = income at or below the line and 3 or more deprivations.",),
)

_DECREE_351 = Standard(
    key="2026-2030",
    decree="Decree 351/2025/ND-CP",
    label_vi="Chuẩn nghèo giai đoạn 2026–2030 (Nghị định 351/2025/NĐ-CP)",
    label_en="Poverty standard 2026–2030 (Decree 351/2025/ND-CP)",
    income_line={"rural": 2_200_000, "urban": 2_800_000},
    # UNCONFIRMED: the bands for 2027–2030 were not found in the published text; by default
    # they keep Decree 07's ratio of 1.5 times the income line.  Override with dataclasses.replace.
    average_band={"rural": 3_300_000, "urban": 4_200_000},
    indicators=(
        _EMPLOYMENT,
        _DEPENDANTS,
        _INSURANCE,
        _NUTRITION,
        _ADULT_EDU,
        _CHILD_SCHOOL,
        _FLOOR,
        _HOUSING,
        _TELECOM,
        _INTERNET,
        _WATER,
        _LATRINE,
        _WASTE,
    ),
    notes=(
        "Means of information removed; internet/digital services and household waste added (confirmed).",
        "UNCONFIRMED: whether internet use is a separate indicator or replaces telecom use; the draft "
        "listed 12 indicators. The default keeps both (13); the variant '2026-2030-draft12' drops d_telecom.",
        "UNCONFIRMED: average-living bands (default 1.5 x the income line).",
    ),
)

_DECREE_351_DRAFT12 = replace(
    _DECREE_351,
    key="2026-2030-draft12",
    label_vi="Chuẩn nghèo 2026–2030, phương án 12 chỉ số (dự thảo)",
    label_en="Poverty standard 2026–2030, 12-indicator draft variant",
    indicators=tuple(i for i in _DECREE_351.indicators if i.column != "d_telecom"),
)

#: The standards by key.
STANDARDS: Mapping[str, Standard] = MappingProxyType({s.key: s for s in (_DECREE_07, _DECREE_351, _DECREE_351_DRAFT12)})

#: Which standard each annual review uses by default.  The review conducted at the end of
#: year Y sets the lists for Y+1: reviews 2021–2024 set the 2022–2025 lists (Decree 07);
#: Decree 351 keeps the Decree 07 standard in force until 31/12/2026, so the 2025 review
#: (lists for 2026) also uses it; reviews from 2026 (lists for 2027–2030) use Decree 351.
DEFAULT_STANDARD_BY_REVIEW: Mapping[int, str] = MappingProxyType(
    {
        2021: "2022-2025",
        2022: "2022-2025",
        2023: "2022-2025",
        2024: "2022-2025",
        2025: "2022-2025",
        2026: "2026-2030",
        2027: "2026-2030",
        2028: "2026-2030",
        2029: "2026-2030",
    }
)


def get_standard(standard: str | Standard) -> Standard:
    """Return a :class:`Standard` from its key (or pass one through).

    Examples
    --------
    >>> get_standard("2026-2030").income_line["rural"]
    2200000
    """
    if isinstance(standard, Standard):
        return standard
    try:
        return STANDARDS[standard]
    except KeyError:
        raise ValueError(f"standard must be one of {sorted(STANDARDS)} or a Standard, got {standard!r}") from None


def standard_for_review(review_year: int, *, mapping: Mapping[int, str] | None = None) -> str:
    """The key of the standard a review year uses (:data:`DEFAULT_STANDARD_BY_REVIEW` unless ``mapping`` is given).

    Examples
    --------
    >>> standard_for_review(2025), standard_for_review(2026)
    ('2022-2025', '2026-2030')
    """
    table = DEFAULT_STANDARD_BY_REVIEW if mapping is None else mapping
    try:
        return table[int(review_year)]
    except KeyError:
        raise ValueError(
            f"no poverty standard is set for review year {review_year!r}; known: {sorted(table)}"
        ) from None


def _require(households: pd.DataFrame, columns) -> None:
    require_frame(households, "households")
    missing = [c for c in columns if c not in households.columns]
    if missing:
        raise ValueError(f"households lack the columns {missing} that the standard needs")


def deprivation_count(households: pd.DataFrame, *, standard: str | Standard) -> pd.Series:
    """Number of the standard's indicators in which each household is deprived (exact integers).

    Missing or non-0/1 values are an error, never read as "not deprived".

    Examples
    --------
    >>> hh = pd.DataFrame({c: [1, 0] for c in get_standard("2022-2025").columns})
    >>> deprivation_count(hh, standard="2022-2025").tolist()
    [12, 0]
    """
    std = get_standard(standard)
    _require(households, std.columns)
    values = households.loc[:, list(std.columns)]
    for col in std.columns:
        v = values[col]
        bad = v.isna() | ~v.isin([0, 1])
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise ValueError(
                f"column {col!r}: deprivation indicators must be 0 or 1, got {v.iloc[row]!r} "
                f"at row {households.index[row]!r} ({int(bad.sum())} such rows)"
            )
    return values.astype("int64").sum(axis=1).rename("deprivations")


def classify(households: pd.DataFrame, *, standard: str | Standard) -> pd.Series:
    """Classify households as the decree does: ``poor < near_poor < average_living < not_poor``.

    Poor: per-capita income **at or below** the income line of the household's area and
    deprived in **3 or more** indicators; near-poor: income at or below the line and fewer
    deprivations; average living standard: income above the line and at or below the
    average-living band; not poor: the rest.  Comparisons are exact (``<=`` on the
    amounts and integer counts), with no floating-point slack.

    Parameters
    ----------
    households : DataFrame
        Columns ``area`` (``rural``/``urban``), ``income_pc`` (VND per person per month) and
        the standard's deprivation columns.
    standard : {"2022-2025", "2026-2030", "2026-2030-draft12"} or Standard
        Decree 07/2021/ND-CP or Decree 351/2025/ND-CP.

    Returns
    -------
    Series
        Ordered categorical aligned to ``households``, named ``poverty_class``.

    References
    ----------
    Decree 07/2021/ND-CP, Art. 3; Decree 351/2025/ND-CP.

    Examples
    --------
    >>> cols = get_standard("2022-2025").columns
    >>> hh = pd.DataFrame({"area": ["rural", "rural", "urban", "urban"],
    ...                    "income_pc": [1_500_000, 1_500_000, 2_000_001, 3_000_001]})
    >>> for c in cols:
    ...     hh[c] = [1 if i < 3 else 0 for i in range(len(cols))][cols.index(c)]
    >>> classify(hh, standard="2022-2025").tolist()
    ['poor', 'poor', 'average_living', 'not_poor']
    """
    std = get_standard(standard)
    _require(households, ("area", "income_pc"))
    area = households["area"]
    bad_area = ~area.isin(AREAS)
    if bad_area.any():
        row = bad_area.to_numpy().nonzero()[0][0]
        raise ValueError(
            f"column 'area' must be one of {AREAS}, got {area.iloc[row]!r} at row {households.index[row]!r}"
        )
    income = pd.to_numeric(households["income_pc"], errors="coerce")
    bad_income = income.isna() | (income < 0)
    if bad_income.any():
        row = bad_income.to_numpy().nonzero()[0][0]
        raise ValueError(
            f"column 'income_pc' must be a non-negative amount, got {households['income_pc'].iloc[row]!r} "
            f"at row {households.index[row]!r}"
        )
    count = deprivation_count(households, standard=std).to_numpy()
    urban = (area == "urban").to_numpy()
    line = np.where(urban, std.income_line["urban"], std.income_line["rural"])
    band = np.where(urban, std.average_band["urban"], std.average_band["rural"])
    y = income.to_numpy(dtype="float64")
    below = y <= line
    code = np.where(below, np.where(count >= std.min_deprivations, 0, 1), np.where(y <= band, 2, 3))
    cat = pd.Categorical.from_codes(code, categories=list(CLASSES), ordered=True)
    return pd.Series(cat, index=households.index, name="poverty_class")
