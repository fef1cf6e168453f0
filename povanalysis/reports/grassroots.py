"""The commune pages' lasting exits and village counts, prepared once for every commune and read back per commune.

Lasting exits (:func:`povanalysis.goals.exits.lasting_exits`) read the whole panel, and the
village counts need the fall-back model's scores of every newly escaped household: both are
computed once by :func:`povanalysis.reports.prepare.prepare` and stored as Parquet with the
other prepared tables, without a household identifier.

The village counts are protected together with the commune's and the province's households
at risk (:data:`VILLAGES`): the villages of a commune add up to its row, the communes to the
province.  The commune's newly escaped and at-risk households are the risk section's (the same
scores and threshold), so the risk section prints its figures from this same decision
(:func:`village_tables` returns it for the risk table): the village table and the risk sentence
never show a figure that the other hides.  Without villages the risk table keeps its own decision.
"""

from __future__ import annotations

import pandas as pd

from ..data.pipeline import load_disadvantaged, load_villages
from ..goals.exits import Exits, exits_from_table, lasting_exits
from ..targeting import followup, risk
from .disclosure import Layout, protect
from .published import ALL, PROVINCE, flatten

__all__ = [
    "VILLAGES",
    "EXIT_META",
    "exits_table",
    "read_exits",
    "village_tables",
    "risk_marks",
    "prepare_exits",
    "prepare_villages",
]

#: Households, newly escaped households and those at high risk of falling back, by commune and
#: village: villages add up to the commune's ``all`` row, communes to the province's.
VILLAGES = Layout(
    ["commune_code", "village_code"],
    ["newly_escaped", "at_risk", "not_at_risk"],
    totals={"village_code": ALL, "commune_code": PROVINCE},
    parts={"newly_escaped": ("at_risk", "not_at_risk")},
    rates={"at_risk_rate": ("at_risk", "newly_escaped")},
)

#: Columns of the stored exits table that rebuild the :class:`~povanalysis.goals.exits.Exits`.
EXIT_META: tuple[str, ...] = ("standard", "basis", "review_years", "alpha")


def exits_table(classified: pd.DataFrame, *, disadvantaged=None, min_cell: int) -> pd.DataFrame:
    """Every commune's rows of the lasting-exits table, under the standard of the latest review.

    Reviews under another standard are left out: an exit across the switch of standard would
    be the line's, not the household's.  Columns: those of :attr:`Exits.table` at the
    ``commune`` level, ``commune_code`` and :data:`EXIT_META` (``review_years`` ``|``-joined).
    """
    latest = int(classified["review_year"].max())
    if "standard" in classified.columns:
        std = classified.loc[classified["review_year"] == latest, "standard"].iloc[0]
        classified = classified[classified["standard"] == std]
    ex = lasting_exits(classified, levels=["commune"], disadvantaged=disadvantaged, min_cell=min_cell)
    out = ex.table.assign(
        commune_code=ex.table["group"].astype(str),
        standard=ex.standard,
        basis=ex.basis,
        review_years="|".join(str(y) for y in ex.review_years),
        alpha=float(ex.alpha),
    )
    return out.reset_index(drop=True)


def read_exits(rows: pd.DataFrame | None, *, min_cell: int, review_year: int | None = None) -> Exits | None:
    """The :class:`Exits` of some rows of :func:`exits_table` (one commune's), or None when there are none.

    With ``review_year``, only what was known at that review: the reviews after it and the
    follow-ups they give are left out.
    """
    if rows is None or rows.empty:
        return None
    first = rows.iloc[0]
    years = [int(y) for y in str(first["review_years"]).split("|")]
    table = rows.drop(columns=["commune_code", *EXIT_META])
    if review_year is not None:
        years = [y for y in years if y <= int(review_year)]
        pos = {y: i for i, y in enumerate(years)}
        at = table["exit_year"].map(pos)
        table = table[at.notna() & (at + table["horizon"] < len(years))]
        if table.empty or len(years) < 2:
            return None
    return exits_from_table(
        table,
        standard=first["standard"],
        basis=first["basis"],
        review_years=years,
        alpha=float(first["alpha"]),
        min_cell=min_cell,
    )


def village_tables(
    classified: pd.DataFrame,
    loans: pd.DataFrame,
    villages: pd.DataFrame | None,
    *,
    min_cell: int,
) -> pd.DataFrame:
    """The village counts of every commune, the communes' and the province's, under one decision (:data:`VILLAGES`).

    The flattened protected table (:func:`povanalysis.reports.published.flatten`) with
    ``village_name`` and ``review_year`` (the latest review, where the fall-back model
    scores).  Without villages (``villages`` None) only the communes' rows (``village_code ==
    "all"``) and the province's are returned: the pages then say the data carry no villages.
    """
    model = risk.fit_fallback_model(classified, loans)
    scores = model.score(classified, loans=loans)
    lists = followup.followup_lists(scores, classified, villages=villages, loans=loans)
    year = int(scores["review_year"].max()) if len(scores) else int(classified["review_year"].max())
    hh = classified.loc[classified["review_year"] == year, ["household_id", "commune_code"]]
    hh = hh.assign(household_id=hh["household_id"].astype(str))
    unknown_code, unknown_name = followup.UNKNOWN_VILLAGE
    names: dict[str, str] = {}
    if villages is not None:
        one = villages.assign(household_id=villages["household_id"].astype(str)).drop_duplicates("household_id")
        hh["village_code"] = hh["household_id"].map(one.set_index("household_id")["village_code"]).fillna(unknown_code)
        names = dict(zip(one["village_code"].astype(str), one["village_name"].astype(str)))
    else:
        hh["village_code"] = unknown_code
    keys = ["commune_code", "village_code"]
    table = hh.groupby(keys).size().rename("households").to_frame()
    table["newly_escaped"] = lists.groupby(keys).size().reindex(table.index, fill_value=0)
    table["at_risk"] = lists.groupby(keys)["at_risk"].sum().reindex(table.index, fill_value=0)
    table = table.astype("int64").reset_index()
    table["not_at_risk"] = table["newly_escaped"] - table["at_risk"]
    cols = ["households", "newly_escaped", "at_risk", "not_at_risk"]
    communes = table.groupby("commune_code", as_index=False)[cols].sum().assign(village_code=ALL)
    province = communes[cols].sum().to_frame().T.assign(commune_code=PROVINCE, village_code=ALL)
    parts = [table, communes, province] if villages is not None else [communes, province]
    full = pd.concat(parts, ignore_index=True)[[*keys, *cols]].astype({c: "int64" for c in cols})
    flat = flatten(protect(full, VILLAGES, min_cell=min_cell))
    flat["review_year"] = year
    flat["village_name"] = flat["village_code"].map(names).astype(object).fillna(unknown_name)
    flat.loc[flat["village_code"] == ALL, "village_name"] = ""
    return flat.reset_index(drop=True)


_RISK_MARKS = {"households": "newly_escaped", "at_risk": "at_risk", "at_risk_rate": "at_risk_rate"}


def risk_marks(risk_table: pd.DataFrame, village_table: pd.DataFrame) -> pd.DataFrame:
    """The prepared risk table (:func:`povanalysis.reports.published.risk_table`) with the village table's decision.

    The risk section's newly escaped and at-risk households of a commune are the village
    table's commune row: their ``__hidden``, ``__reason`` and ``__band`` become those of
    :func:`village_tables`, so the two never disagree; unchanged without villages.  A commune whose counts differ (other
    scores) is an error.
    """
    if (village_table["village_code"] == ALL).all():
        return risk_table  # no villages: no village table to agree with
    rows = village_table[(village_table["village_code"] == ALL) & (village_table["commune_code"] != PROVINCE)]
    rows = rows.set_index("commune_code")
    out = risk_table.copy()
    mine = out["review_year"] == rows["review_year"].iloc[0] if len(rows) else out["review_year"] < 0
    code = out.loc[mine, "commune_code"]
    for column, source in (("households", "newly_escaped"), ("at_risk", "at_risk")):
        theirs = code.map(rows[source]).fillna(0).to_numpy()
        if (theirs != out.loc[mine, column].to_numpy()).any():
            raise ValueError(f"the risk table's {column!r} differs from the village table's {source!r}")
    for column, source in _RISK_MARKS.items():
        for mark in ("hidden", "reason", "band"):
            if f"{column}__{mark}" in out.columns and f"{source}__{mark}" in rows.columns:
                out.loc[mine, f"{column}__{mark}"] = code.map(rows[f"{source}__{mark}"]).to_numpy()
    return out


def prepare_exits(folder, classified: pd.DataFrame, loans: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The prepared table of the lasting-exits section (:func:`exits_table`); ``folder`` and ``loans`` unused."""
    return exits_table(classified, disadvantaged=load_disadvantaged(), min_cell=min_cell)


def prepare_villages(folder, classified: pd.DataFrame, loans: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The prepared table of the village section (:func:`village_tables` on :func:`~povanalysis.data.pipeline.load_villages`).

    Without villages, an empty table (the pages say the data carry no villages; the risk table
    keeps its decision), and no scoring: 9 s of the full-scale preparation.
    """
    villages = load_villages()
    if villages is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ("commune_code", "village_code")})
    return village_tables(classified, loans, villages, min_cell=min_cell)
