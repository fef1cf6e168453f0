"""The household figures the commune pages, the index and the workbook publish, under one disclosure rule.

Every count of households a commune page, the index or the key-figures workbook shows (poor,
near-poor, by ethnic group, the minority share of the poor, borrowers, households reached by
loans) is protected here once, for the whole province, by
:func:`povanalysis.reports.disclosure.protect`, as the equations that tie what those outputs
print: the ethnic groups of a commune add up to the commune, the communes of an old area to the
area, the two old areas to the province.  The decision is stored with the prepared tables
(:func:`flatten`) and read back by every page (:func:`restore`), so the commune page, the
index and the workbook show the same cell the same way.

The ethnic-minority share of a commune's poor households is published only where the ethnic
table already tells it (its total and its Kinh row shown, the minority poor households none
or at least the limit): tying it into the equations (poor = minority + Kinh poor) hid three
times as many communes' poor counts on the demo data (64 of 460 commune-reviews against 19).
The remainder of a row (households that are not poor, households minus poor) is not
protected: the rule protects counts of the poor, near-poor, borrowers and households at risk,
not of those who are none of these.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..common.labels import check_lang, format_percent
from ..data.schema import ETHNIC_MAJORITY, PROGRAMMES
from ..measure.aggregates import poverty_counts
from .disclosure import Layout, Protected, protect

__all__ = [
    "ALL",
    "PROVINCE",
    "OTHER",
    "HOUSEHOLDS",
    "CREDIT",
    "COVERAGE",
    "LEAKAGE",
    "RISK",
    "pool_groups",
    "household_table",
    "credit_protected",
    "credit_table",
    "targeting_table",
    "risk_table",
    "flatten",
    "restore",
    "shown",
    "band_text",
    "note",
]

#: The key of a total row (a commune's households of every ethnic group, an old area's communes).
ALL = "all"
#: The old-area key of the province's row.
PROVINCE = "province"
#: The pooled ethnic group.
OTHER = "other"

#: Households by old area, commune, review and ethnic group, with the totals every page prints.
HOUSEHOLDS = Layout(
    ["old_area", "commune_code", "review_year", "ethnicity"],
    ["poor", "near_poor"],
    totals={"ethnicity": ALL, "commune_code": ALL, "old_area": PROVINCE},
    rates={"poor_rate": "poor", "near_poor_rate": "near_poor"},
)

#: Borrowing households by commune, year of disbursement and programme, with the programmes' and
#: the province's totals (the total of the programmes is their sum: a household borrowing from two
#: programmes in a year counts twice there, which only tells an attacker more than the published
#: number of distinct households).
CREDIT = Layout(
    ["commune_code", "year", "programme"],
    [],
    denominator="borrowers",
    totals={"programme": ALL, "commune_code": PROVINCE},
)

#: Eligible households reached by a loan (coverage) and not reached, by commune and loan year.
COVERAGE = Layout(
    ["commune_code", "loan_year"],
    ["reached", "not_reached"],
    denominator="eligible",
    parts={"eligible": ("reached", "not_reached")},
    rates={"coverage": "reached"},
)

#: Loans to households eligible for no programme (leakage) and to eligible ones, by commune and loan year.
LEAKAGE = Layout(
    ["commune_code", "loan_year"],
    ["inclusion_errors", "to_eligible"],
    denominator="loans",
    parts={"loans": ("inclusion_errors", "to_eligible")},
    rates={"inclusion_share": "inclusion_errors"},
)

#: Newly escaped households at risk of falling back and not, by commune, with the province's total.
RISK = Layout(
    ["commune_code", "review_year"],
    ["at_risk", "not_at_risk"],
    totals={"commune_code": PROVINCE},
    parts={"households": ("at_risk", "not_at_risk")},
    rates={"at_risk_rate": "at_risk"},
)

_MARKS = ("hidden", "reason", "band")


def pool_groups(
    table: pd.DataFrame, min_cell: int, *, keys: tuple[str, ...] = ("commune_code", "review_year")
) -> pd.Series:
    """The ethnic group each row of ``table`` is published under: its own, or :data:`OTHER` when pooled.

    Within each ``keys`` group the rows are ordered by size; every group under ``min_cell``
    households is pooled, and while the pool holds fewer than ``min_cell`` households the
    next smallest group joins it, so that no small group is listed (a table that lists a
    group says it has households) and none can be recovered from the others.

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": "01", "review_year": 2025, "ethnicity": ["Kinh", "Tày", "Dao", "Nùng"],
    ...                   "households": [40, 12, 5, 3]})
    >>> pool_groups(t, 10).tolist()
    ['Kinh', 'other', 'other', 'other']
    """
    keys = list(keys)
    t = table.sort_values([*keys, "households", "ethnicity"], kind="stable")
    groups = [t[k] for k in keys]
    before = t.groupby(keys)["households"].cumsum() - t["households"]
    small = t["households"] < min_cell
    pooled = small | (small.groupby(groups).transform("any") & (before < min_cell))
    return t["ethnicity"].where(~pooled, OTHER).reindex(table.index)


def household_table(classified: pd.DataFrame, units: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """Households, poor, near-poor and minority poor households as published, for the whole province.

    Rows: each published ethnic group of a commune and review (small groups pooled by
    :func:`pool_groups`), the commune (``ethnicity == "all"``), each old area
    (``commune_code == "all"``) and the province (``old_area == "province"``); keyed as
    :data:`HOUSEHOLDS`.  Values and the rule's decision, flattened (:func:`flatten`), with
    ``persons`` and ``share`` (of the commune's households) of each row.

    Parameters
    ----------
    classified : DataFrame
        Classified households (``commune_code``, ``review_year``, ``ethnicity``, ``size``,
        ``poverty_class``).
    units : DataFrame
        ``commune_code`` and ``old_area`` of every unit.
    min_cell : int
    """
    keys = ["commune_code", "review_year"]
    t = poverty_counts(classified, by=(*keys, "ethnicity"), min_cell=min_cell)
    t["ethnicity"] = pool_groups(t, min_cell)
    cols = ["households", "persons", "poor", "near_poor", "minority_poor"]
    groups = t.groupby([*keys, "ethnicity"], sort=True)[cols].sum().reset_index()
    area = units.set_index("commune_code")["old_area"]
    unknown = ~groups["commune_code"].isin(area.index)
    if unknown.any():
        raise ValueError(
            f"'classified' has households of communes absent from 'units': {groups.loc[unknown, 'commune_code'].iloc[0]!r}"
        )
    groups.insert(0, "old_area", groups["commune_code"].map(area).to_numpy())
    communes = groups.groupby(["old_area", *keys], as_index=False)[cols].sum().assign(ethnicity=ALL)
    areas = communes.groupby(["old_area", "review_year"], as_index=False)[cols].sum()
    areas = areas.assign(commune_code=ALL, ethnicity=ALL)
    province = areas.groupby("review_year", as_index=False)[cols].sum()
    province = province.assign(old_area=PROVINCE, commune_code=ALL, ethnicity=ALL)
    table = pd.concat([groups, communes, areas, province], ignore_index=True)
    table = table.astype({c: "int64" for c in cols})
    flat = flatten(protect(table, HOUSEHOLDS, min_cell=min_cell))
    flat["persons"] = table["persons"].to_numpy()
    commune_total = table.groupby(["old_area", "commune_code", "review_year"])["households"].transform(
        lambda s: s[table.loc[s.index, "ethnicity"] == ALL].sum()
    )
    flat["share"] = table["households"] / commune_total.where(commune_total > 0)
    flat["minority_poor"] = table["minority_poor"].to_numpy()
    _minority_share(flat, min_cell)
    return flat


def _minority_share(flat: pd.DataFrame, min_cell: int) -> None:
    """Add ``minority_share_of_poor`` and its ``__hidden`` flag: shown only where the ethnic table tells it already."""
    keys = ["commune_code", "review_year"]
    poor = flat["poor"].to_numpy(dtype=float)
    flat["minority_share_of_poor"] = np.where(poor > 0, flat["minority_poor"] / np.where(poor > 0, poor, 1), np.nan)
    kinh = flat[flat["ethnicity"] == ETHNIC_MAJORITY].set_index(keys)["poor__hidden"]
    kinh_shown = ~pd.MultiIndex.from_frame(flat[keys]).map(kinh.to_dict().get).to_series().fillna(True).astype(bool)
    minority = flat["minority_poor"]
    flat["minority_share_of_poor__hidden"] = ~(
        (flat["ethnicity"] == ALL).to_numpy()
        & (flat["commune_code"] != ALL).to_numpy()
        & ~flat["poor__hidden"].to_numpy(dtype=bool)
        & (poor > 0)
        & kinh_shown.to_numpy()
        & ((minority == 0) | (minority >= min_cell)).to_numpy()
    )


def credit_protected(credit: pd.DataFrame, *, min_cell: int) -> Protected:
    """The borrowers of the prepared credit table under the rule (:data:`CREDIT`), with the province's rows.

    Every programme of every commune and year (0 where none lent), their sum
    (``programme == "all"``) and the province (``commune_code == "province"``).
    """
    keys = ["commune_code", "year", "programme"]
    progs = credit[credit["programme"] != ALL]
    full = pd.MultiIndex.from_product(
        [sorted(progs["commune_code"].unique()), sorted(progs["year"].unique()), list(PROGRAMMES)], names=keys
    )
    parts = progs.set_index(keys)["borrowers"].reindex(full, fill_value=0).reset_index()
    totals = parts.groupby(keys[:2], as_index=False)["borrowers"].sum().assign(programme=ALL)
    table = pd.concat([parts, totals], ignore_index=True)
    province = table.groupby(["year", "programme"], as_index=False)["borrowers"].sum().assign(commune_code=PROVINCE)
    table = pd.concat([table, province], ignore_index=True).astype({"borrowers": "int64"})
    return protect(table, CREDIT, min_cell=min_cell)


def credit_table(credit: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """The prepared credit table (:func:`povanalysis.reports.prepare.credit_table`) with the rule's decision.

    Protects the borrowers of each programme, their sum over the programmes and over the
    communes (:func:`credit_protected`); adds ``borrowers__hidden`` and ``borrowers__reason``.
    The loans and amount of a row are published only where its borrowers are.
    """
    keys = ["commune_code", "year", "programme"]
    flat = flatten(credit_protected(credit, min_cell=min_cell))
    marks = flat[flat["commune_code"] != PROVINCE].set_index(keys)[["borrowers__hidden", "borrowers__reason"]]
    out = credit.drop(columns=[c for c in marks.columns if c in credit.columns]).join(marks, on=keys)
    return out.reset_index(drop=True)


def targeting_table(targeting: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """The prepared targeting table with the rule's decision on coverage and leakage (:data:`COVERAGE`, :data:`LEAKAGE`).

    Adds, for ``eligible``, ``reached``, ``coverage``, ``loans``, ``inclusion_errors`` and
    ``inclusion_share``, the columns ``<c>__hidden``, ``<c>__reason`` and, for the rates,
    ``<c>__band``.
    """
    t = targeting.reset_index(drop=True)
    out = t.copy()
    for layout, extra in (
        (COVERAGE, ("not_reached", "eligible", "reached")),
        (LEAKAGE, ("to_eligible", "loans", "inclusion_errors")),
    ):
        rest, total, part = extra
        for _, rows in t.groupby("programme", sort=False):
            table = rows[["commune_code", "loan_year", total, part]].astype({total: "int64", part: "int64"})
            table[rest] = table[total] - table[part]
            flat = flatten(protect(table, layout, min_cell=min_cell))
            for c in [total, part, *layout.rates]:
                for m in _MARKS:
                    if f"{c}__{m}" in flat.columns:
                        out.loc[rows.index, f"{c}__{m}"] = flat[f"{c}__{m}"].to_numpy()
    return out


def risk_table(risk: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """The prepared table of households at risk with the rule's decision (:data:`RISK`).

    Adds ``<c>__hidden``, ``<c>__reason`` (and ``at_risk_rate__band``) for ``households``,
    ``at_risk`` and ``at_risk_rate``: "k of the n newly escaped households" says how many are
    not at risk too, and the communes add up to the province.
    """
    keys = ["commune_code", "review_year"]
    t = risk.reset_index(drop=True)
    table = t[[*keys, "households", "at_risk"]].astype({"households": "int64", "at_risk": "int64"})
    table["not_at_risk"] = table["households"] - table["at_risk"]
    province = table.groupby("review_year", as_index=False)[["households", "at_risk", "not_at_risk"]].sum()
    table = pd.concat([table, province.assign(commune_code=PROVINCE)], ignore_index=True)
    flat = flatten(protect(table, RISK, min_cell=min_cell)).iloc[: len(t)]
    out = t.copy()
    for c in ("households", "at_risk", "at_risk_rate"):
        for m in _MARKS:
            if f"{c}__{m}" in flat.columns:
                out[f"{c}__{m}"] = flat[f"{c}__{m}"].to_numpy()
    return out


def flatten(protected: Protected) -> pd.DataFrame:
    """A protected table as one frame: keys, values, and ``<column>__hidden``, ``__reason``, ``__band``."""
    out = protected.values.copy()
    for c in protected.layout.value_columns:
        out[f"{c}__hidden"] = protected.hidden[c].to_numpy(dtype=bool)
        out[f"{c}__reason"] = protected.reason[c].to_numpy()
        if c in protected.layout.rates:
            out[f"{c}__band"] = protected.band[c].to_numpy(dtype=float)
    return out


def restore(flat: pd.DataFrame, layout: Layout, *, min_cell: int) -> Protected:
    """The :class:`~povanalysis.reports.disclosure.Protected` table of some rows of :func:`flatten`'s frame.

    Its :meth:`~povanalysis.reports.disclosure.Protected.display` and
    :meth:`~povanalysis.reports.disclosure.Protected.for_workbook` show the rows as the rule
    decided for the whole table.
    """
    flat = flat.reset_index(drop=True)
    values = flat[[*layout.keys, *layout.value_columns]].copy()
    hidden = pd.DataFrame({c: flat[f"{c}__hidden"].to_numpy(dtype=bool) for c in layout.value_columns})
    reason = pd.DataFrame({c: flat[f"{c}__reason"].to_numpy(dtype=object) for c in layout.value_columns})
    band = pd.DataFrame({c: flat[f"{c}__band"].to_numpy(dtype=float) for c in layout.rates}, index=flat.index)
    unresolved = pd.DataFrame(columns=[*layout.keys, "column"])
    return Protected(values, hidden, reason, band, layout, int(min_cell), 2, 2, 0, unresolved)


def shown(protected: Protected, lang: str = "vi") -> pd.DataFrame:
    """The display text of a protected table (:meth:`Protected.display`) with a boolean ``<column>__exact``:
    the value is printed as a number (not a mark, not a band)."""
    out = protected.display(lang)
    for c in protected.layout.value_columns:
        out[f"{c}__exact"] = ~protected.hidden[c].to_numpy(dtype=bool) & protected.values[c].notna().to_numpy()
    return out


def band_text(bound: float, lang: str = "vi") -> str:
    """A rate band as the disclosure rule prints it: ``< 0,2%``, ``< 5%`` (``–`` for no band).

    Examples
    --------
    >>> band_text(0.002), band_text(0.05, "en"), band_text(float("nan"))
    ('< 0,2%', '< 5%', '–')
    """
    if bound != bound:
        return "–"
    digits = max(0, int(-np.floor(np.log10(100 * float(bound)) + 1e-9)))
    return "< " + format_percent(float(bound), lang, digits=digits)


_NOTE = (
    "Ô «< {n}»: dưới {n} hộ, được ẩn để bảo vệ thông tin hộ gia đình. Ô «–»: được ẩn để không suy ra được ô khác, "
    "hoặc không có số liệu. Tỷ lệ dạng «< 20%» là một khoảng, không phải giá trị.",
    "A «< {n}» cell: fewer than {n} households, hidden to protect households' information. A «–» cell: hidden so "
    "that no other cell can be worked out from it, or no data. A rate shown as «< 20%» is a range, not a value.",
)


def note(min_cell: int, lang: str = "vi", *, extra: Mapping[str, str] | None = None) -> str:
    """The note under a published table: small cells are hidden to protect households.

    Examples
    --------
    >>> note(10, "vi").split(".")[0]
    'Ô «< 10»: dưới 10 hộ, được ẩn để bảo vệ thông tin hộ gia đình'
    """
    text = _NOTE[0 if check_lang(lang) == "vi" else 1].format(n=int(min_cell))
    if extra:
        text += " " + extra[lang]
    return text
