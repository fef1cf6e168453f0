"""Column names, types and codes of the household review and loan records."""

from __future__ import annotations

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "VILLAGE_COLUMNS",
    "VILLAGE_KINDS",
    "LOAN_COLUMNS",
    "LOAN_CHANNEL_COLUMNS",
    "CHANNELS",
    "CHANNEL_NAMES",
    "DEPRIVATIONS",
    "AREAS",
    "PROGRAMMES",
    "ETHNIC_MAJORITY",
    "REVIEW_YEARS",
    "REVIEW_YEAR_RANGE",
    "DISBURSED_RANGE",
    "RATE_MAX",
]

#: Every deprivation column either standard uses, in the order of the decrees' annexes.
DEPRIVATIONS: tuple[str, ...] = (
    "d_employment",
    "d_dependants",
    "d_nutrition",
    "d_health_insurance",
    "d_adult_education",
    "d_child_school",
    "d_housing_quality",
    "d_floor_area",
    "d_water",
    "d_latrine",
    "d_telecom",
    "d_information_means",
    "d_internet",
    "d_waste",
)

#: Household review records: one row per household per review year. ``kind`` is the
#: logical type that :mod:`povanalysis.data.io` validates.
HOUSEHOLD_COLUMNS: dict[str, str] = {
    "household_id": "str",
    "review_year": "int",
    "commune_code": "code5",
    "area": "area",
    "ethnicity": "str",
    "size": "int>=1",
    "income_pc": "money>=0",
    **{d: "binary" for d in DEPRIVATIONS},
}

#: Optional household columns: the village (thôn, xóm, bản, or tổ dân phố in a ward) where the
#: household lives.  A file may omit both; when it has them, every village code belongs to one
#: commune and has one name (checked by :func:`povanalysis.data.villages.check_villages`).
#: They are not in :data:`HOUSEHOLD_COLUMNS`: the review file's reader does not know them yet,
#: and a separate village file (``household_id``, ``commune_code`` and these columns) is read by
#: :func:`povanalysis.data.villages.read_villages`.
VILLAGE_COLUMNS: dict[str, str] = {
    "village_code": "str",
    "village_name": "str",
}

#: The words that open a village's name: rural villages (thôn, xóm, bản) and the residential
#: groups of wards and towns (tổ dân phố).
VILLAGE_KINDS: tuple[str, ...] = ("Thôn", "Xóm", "Bản", "Tổ dân phố")

#: VBSP loan records: one row per disbursement.
LOAN_COLUMNS: dict[str, str] = {
    "household_id": "str",
    "programme": "programme",
    "disbursed": "date",
    "amount": "money>0",
    "rate": "rate",
    "term_months": "int>=1",
}

#: Optional loan columns: the mass organisation entrusted with the loan (``channel``, one of
#: :data:`CHANNELS`), its savings-and-credit group (``group_code``, tổ tiết kiệm và vay vốn: one
#: commune, one organisation) and whether the loan has overdue principal at the last review
#: (``overdue``, boolean).  A loan file may hold any of them; files without them read as before
#: (:func:`povanalysis.data.io.read_loans`).
LOAN_CHANNEL_COLUMNS: dict[str, str] = {
    "channel": "channel",
    "group_code": "str",
    "overdue": "flag",
}

#: The four mass organisations VBSP entrusts with lending to households (reference §7), by code.
CHANNELS: tuple[str, ...] = ("women", "farmers", "veterans", "youth")

#: The organisations' names (Vietnamese, English), by code of :data:`CHANNELS`.
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "women": ("Hội Liên hiệp Phụ nữ", "Women's Union"),
    "farmers": ("Hội Nông dân", "Farmers' Union"),
    "veterans": ("Hội Cựu chiến binh", "Veterans' Association"),
    "youth": ("Đoàn Thanh niên", "Youth Union"),
}

AREAS: tuple[str, ...] = ("rural", "urban")

#: VBSP household programmes (see the reference: Decree 78/2002, Decision 15/2013, Decision 28/2015).
PROGRAMMES: tuple[str, ...] = ("poor", "near_poor", "newly_escaped")

#: The ethnic majority; every other ``ethnicity`` value is an ethnic minority.
ETHNIC_MAJORITY = "Kinh"

#: Review years of the 2022–2025 lists and the first review of the next period.
REVIEW_YEARS: tuple[int, ...] = (2021, 2022, 2023, 2024, 2025)

#: Plausible review years (inclusive), from the 2016–2020 poverty-standard period to the
#: 2031–2035 one; a year outside them is taken for a typing error.
REVIEW_YEAR_RANGE: tuple[int, int] = (2016, 2035)

#: Plausible disbursement dates (inclusive): VBSP was founded in 2002 (Decree 78/2002/ND-CP).
DISBURSED_RANGE: tuple[str, str] = ("2002-01-01", "2035-12-31")

#: Largest accepted annual interest rate, as a fraction (VBSP rates are 0.033–0.0825).
RATE_MAX = 0.5
