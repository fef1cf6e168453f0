"""The disclosure rule hides what it must, and the attacker beats every leak of the old tables but not the rule.

Each leak found in the reports is rebuilt by hand as the old code printed it: the attacker
recovers the hidden count from it (the leak is real), then recovers nothing from the same
figures under :func:`protect`.  A property test does the same over random tables with random
additive structure, and one test runs on the test data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from povanalysis import config
from povanalysis.reports.disclosure import DASH, Layout, attack, protect, rate_band

ETHNIC = Layout(["ethnicity"], ["poor"], totals={"ethnicity": "all"}, rates={"poor_rate": "poor"})


def _three_parts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ethnicity": ["Kinh", "Tày", "Hoa", "all"],
            "households": [300, 80, 54, 434],
            "poor": [40, 15, 4, 59],
        }
    )


def _clean(frame: pd.DataFrame, layout: Layout) -> None:
    """No NaN, <NA>, booleans or scientific notation in published text."""
    for value in frame[list(layout.value_columns)].to_numpy().ravel():
        assert isinstance(value, str), value
        assert not re.search(r"nan|<NA>|None|True|False|\de[+-]?\d", value), value


# ----------------------------------------------------------------------------- a hand-derived table


def test_a_part_of_four_and_its_next_smallest_are_hidden_exactly():
    p = protect(_three_parts(), ETHNIC, min_cell=10)
    shown = p.display()
    assert shown.to_dict("list") == {
        "ethnicity": ["Kinh", "Tày", "Hoa", "all"],
        "households": ["300", "80", "54", "434"],
        "poor": ["40", DASH, "< 10", "59"],
        "poor_rate": ["13,33%", DASH, "< 20%", "13,59%"],
    }
    assert p.reason["poor"].tolist() == ["", "complement", "small", ""]
    assert p.reason["poor_rate"].tolist() == ["", "rate", "rate", ""]
    assert p.hidden.sum().to_dict() == {"households": 0, "poor": 2, "poor_rate": 2}
    assert p.display("en")["households"].tolist() == ["300", "80", "54", "434"]
    book = p.for_workbook()
    assert book["poor"].tolist() == [40, DASH, "< 10", 59]
    assert book["poor_rate"].tolist() == [0.1333, DASH, "< 20%", 0.1359]
    assert "small: 1, denominator: 0, complement: 1, rate: 2, change: 0" in p.summary()
    # by hand: x + y = 59 - 40 = 19 with x in 1..9 and y at least 10 leaves x in 1..9, y in 10..18
    cells = attack(shown, ETHNIC, min_cell=10, truth=_three_parts()).cells.set_index(["ethnicity", "column"])
    assert cells.loc[("Hoa", "poor"), ["lo", "hi"]].tolist() == [1, 9]
    assert cells.loc[("Tày", "poor"), ["lo", "hi"]].tolist() == [10, 18]


def test_rate_band_holds_every_count_the_mark_allows():
    assert rate_band(5054, 10) == 0.002
    d = np.arange(20, 100_000, 7)
    u = rate_band(d, 10)
    assert (np.ceil(u * d) >= 10).all()  # "< u" of d households holds the counts 0..9
    assert np.isnan(rate_band(19, 10))  # the band would be above 50%: the rate reads "–"


def test_vietnamese_number_formats_and_no_stray_values():
    t = pd.DataFrame(
        {
            "commune_code": ["01840", "01840", "01843", "01843", "all", "all"],
            "review_year": [2024, 2025] * 3,
            "households": [5054, 5120, 1234567, 1234000, 1239621, 1239120],
            "poor": [9, 12, 150321, 150000, 150330, 150012],
        }
    )
    layout = Layout(
        ["commune_code", "review_year"],
        ["poor"],
        totals={"commune_code": "all"},
        rates={"poor_rate": "poor"},
        time="review_year",
        changes=["poor", "poor_rate"],
    )
    shown = protect(t, layout).display()
    _clean(shown, layout)
    assert shown["households"].tolist()[:3] == ["5.054", "5.120", "1.234.567"]
    assert shown["poor"].tolist()[:3] == ["< 10", "12", DASH]  # 150.321 hides the 9 from its year's total
    assert shown["poor_rate"].tolist()[0] == "< 0,2%"
    assert shown["poor_change"].tolist() == ["", DASH, "", DASH, "", "−318"]
    assert shown["poor_rate_change"].tolist()[5] == "−0,02"


# ----------------------------------------------------------------------------- the leaks of the old tables


def test_small_count_printed_next_to_its_households():
    """Ethnicity table: "Hoa: 54 households, 2 poor" (only the denominator was checked)."""
    truth = pd.DataFrame({"ethnicity": ["Kinh", "Hoa", "all"], "households": [300, 54, 354], "poor": [40, 2, 42]})
    naive = pd.DataFrame(
        {"ethnicity": ["Kinh", "Hoa", "all"], "households": ["300", "54", "354"], "poor": ["40", "2", "42"]}
    )
    found = attack(naive, ETHNIC, knows_rule=False, truth=truth)
    assert found.exposed[["ethnicity", "column"]].values.tolist() == [["Hoa", "poor"]]
    shown = protect(truth, ETHNIC).display()
    assert shown["poor"].tolist() == [DASH, "< 10", "42"]  # 42 - x in 33..41
    assert attack(shown, ETHNIC, truth=truth).disclosed.empty


def test_fewer_than_ten_next_to_a_two_decimal_rate():
    """Commune text: "dưới 10 hộ nghèo (tỷ lệ 0,18%)" of 5.054 households is 9."""
    layout = Layout(["commune_code"], ["poor"], rates={"poor_rate": "poor"})
    truth = pd.DataFrame({"commune_code": ["01840"], "households": [5054], "poor": [9]})
    naive = pd.DataFrame(
        {"commune_code": ["01840"], "households": ["5.054"], "poor": ["dưới 10"], "poor_rate": ["0,18%"]}
    )
    found = attack(naive, layout, knows_rule=False, truth=truth)
    assert found.recovered[["lo", "hi"]].values.tolist() == [[9, 9]]
    shown = protect(truth, layout).display()
    assert shown[["poor", "poor_rate"]].values.tolist() == [["< 10", "< 0,2%"]]
    assert attack(shown, layout, truth=truth).disclosed.empty


def test_workbook_rate_times_households_gives_the_blank_count():
    """Key-figures workbook: the count blank, its rate stored at full precision."""
    layout = Layout(["commune_code"], ["poor"], rates={"poor_rate": "poor"})
    truth = pd.DataFrame({"commune_code": ["01840", "01843"], "households": [5054, 731], "poor": [9, 7]})
    naive = truth.assign(poor=[None, None], poor_rate=truth["poor"] / truth["households"]).astype(object)
    found = attack(naive, layout, knows_rule=False, truth=truth)
    assert sorted(found.recovered["truth"]) == [7, 9]
    assert (found.recovered["lo"] == found.recovered["hi"]).all()
    book = protect(truth, layout).for_workbook()
    assert book["poor_rate"].tolist() == ["< 0,2%", "< 2%"]
    assert attack(book, layout, rate_digits=2, truth=truth).disclosed.empty


def test_total_minus_shown_siblings():
    truth = _three_parts()
    naive = pd.DataFrame(
        {
            "ethnicity": ["Kinh", "Tày", "Hoa", "all"],
            "households": ["300", "80", "54", "434"],
            "poor": ["40", "15", "< 10", "59"],
        }
    )
    found = attack(naive, ETHNIC, knows_rule=False, truth=truth)
    assert found.recovered[["ethnicity", "lo", "hi"]].values.tolist() == [["Hoa", 4, 4]]
    assert attack(protect(truth, ETHNIC).display(), ETHNIC, truth=truth).disclosed.empty


def test_change_between_reviews_next_to_a_shown_review():
    """ "giảm 13 hộ" from a shown 20 gives back the hidden 7."""
    layout = Layout(["commune_code", "review_year"], ["poor"], time="review_year", changes=["poor"])
    truth = pd.DataFrame(
        {"commune_code": ["01840", "01840"], "review_year": [2024, 2025], "households": [500, 510], "poor": [20, 7]}
    )
    naive = pd.DataFrame(
        {
            "commune_code": ["01840", "01840"],
            "review_year": [2024, 2025],
            "households": ["500", "510"],
            "poor": ["20", "< 10"],
            "poor_change": ["", "−13"],
        }
    )
    found = attack(naive, layout, knows_rule=False, truth=truth)
    assert found.recovered[["review_year", "lo", "hi"]].values.tolist() == [[2025, 7, 7]]
    p = protect(truth, layout)
    assert p.display()["poor_change"].tolist() == ["", DASH]
    assert p.reason["poor_change"].tolist() == ["", "change"]
    assert attack(p.display(), layout, truth=truth).disclosed.empty


def _two_way() -> tuple[pd.DataFrame, Layout]:
    """Borrowers by commune and programme with commune and programme totals."""
    values = {
        ("A", "poor"): 4,
        ("A", "near_poor"): 25,
        ("A", "other"): 60,
        ("B", "poor"): 30,
        ("B", "near_poor"): 26,
        ("B", "other"): 90,
        ("C", "poor"): 50,
        ("C", "near_poor"): 70,
        ("C", "other"): 80,
    }
    rows = [{"commune": c, "programme": p, "borrowers": v} for (c, p), v in values.items()]
    t = pd.DataFrame(rows)
    t = pd.concat([t, t.groupby("commune", as_index=False)["borrowers"].sum().assign(programme="all")])
    t = pd.concat([t, t.groupby("programme", as_index=False)["borrowers"].sum().assign(commune="province")])
    layout = Layout(
        ["commune", "programme"],
        [],
        denominator="borrowers",
        totals={"programme": "all", "commune": "province"},
    )
    return t.reset_index(drop=True), layout


def test_row_by_row_complements_are_beaten_by_the_column_totals():
    """The credit table's rule (one complement per commune-year) leaves the programme totals to undo it."""
    truth, layout = _two_way()
    naive = truth.assign(borrowers=truth["borrowers"].astype(str))
    naive.loc[(naive["commune"] == "A") & (naive["programme"] == "poor"), "borrowers"] = "< 10"
    naive.loc[(naive["commune"] == "A") & (naive["programme"] == "near_poor"), "borrowers"] = DASH
    found = attack(naive, layout, knows_rule=False, truth=truth)
    assert set(found.recovered["programme"]) == {"poor", "near_poor"}
    p = protect(truth, layout)
    assert p.hidden["borrowers"].sum() >= 4  # a rectangle: two communes by two programmes
    assert attack(p.display(), layout, truth=truth).disclosed.empty


def test_none_of_three_households_is_not_published():
    """ "0 of 3 households": a zero is shown only where its households are."""
    layout = Layout(["ethnicity"], ["poor"], totals={"ethnicity": "all"})
    truth = pd.DataFrame(
        {"ethnicity": ["Kinh", "Tày", "Hoa", "all"], "households": [300, 80, 3, 383], "poor": [40, 0, 0, 40]}
    )
    naive = truth.astype(str)
    assert attack(naive, layout, knows_rule=False, truth=truth).exposed["ethnicity"].tolist() == ["Hoa", "Hoa"]
    p = protect(truth, layout)
    assert p.display()["poor"].tolist() == [DASH, "0", "< 10", "40"]  # else 40 - 40 - 0 pins the 3 at 0
    assert p.display()["households"].tolist()[2] == "< 10"
    assert attack(p.display(), layout, truth=truth).disclosed.empty


def test_a_total_of_no_poor_household_says_it_of_every_part():
    """The parts of a total shown as 0 are 0: reported apart, as the total already tells it of everyone."""
    layout = Layout(["ethnicity"], ["poor"], totals={"ethnicity": "all"})
    truth = pd.DataFrame({"ethnicity": ["Kinh", "Hoa", "all"], "households": [300, 3, 303], "poor": [0, 0, 0]})
    p = protect(truth, layout)
    assert p.display()["poor"].tolist() == ["0", "< 10", "0"]
    found = attack(p.display(), layout, truth=truth)
    assert found.disclosed.empty
    assert found.cells["zero_total"].sum() == 1


# ----------------------------------------------------------------------------- random tables


@st.composite
def tables(draw):
    limit = draw(st.sampled_from([5, 10]))
    n_groups = draw(st.integers(2, 4))
    n_units = draw(st.integers(1, 3))
    years = draw(st.sampled_from([[2024], [2024, 2025]]))
    two_way = n_units > 1 and draw(st.booleans())
    classes = draw(st.booleans())
    rows = []
    for u in range(n_units):
        for y in years:
            for g in range(n_groups):
                size = draw(st.one_of(st.integers(0, limit + 3), st.integers(limit, 8 * limit)))
                poor = draw(st.integers(0, size))
                near = draw(st.integers(0, size - poor))
                rows.append(
                    {"unit": f"u{u}", "year": y, "group": f"g{g}", "households": size, "poor": poor, "near_poor": near}
                )
    t = pd.DataFrame(rows)
    t["other"] = t["households"] - t["poor"] - t["near_poor"]
    cols = ["households", "poor", "near_poor", "other"]
    t = pd.concat([t, t.groupby(["unit", "year"], as_index=False)[cols].sum().assign(group="all")])
    totals = {"group": "all"}
    if two_way:
        t = pd.concat([t, t.groupby(["year", "group"], as_index=False)[cols].sum().assign(unit="all")])
        totals["unit"] = "all"
    layout = Layout(
        ["unit", "year", "group"],
        ["poor", "near_poor", "other"],
        totals=totals,
        parts={"households": ["poor", "near_poor", "other"]} if classes else {},
        rates={"poor_rate": "poor", "near_poor_rate": "near_poor"},
        time="year",
        changes=["poor", "poor_rate"] if len(years) > 1 else [],
    )
    return t.reset_index(drop=True), layout, limit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_the_attacker_never_pins_a_hidden_count_of_a_protected_table(case):
    """Nothing is recovered or exposed but what the rule itself reports it could not protect.

    That happens only in tiny tables where every cell is already hidden (a few households
    in all); the rule names those counts in ``unresolved``.
    """
    table, layout, limit = case
    p = protect(table, layout, min_cell=limit)
    event("unresolved" if len(p.unresolved) else "resolved")
    values = table[list(layout.columns)].to_numpy()
    hidden = p.hidden[list(layout.columns)].to_numpy()
    assert hidden[(values > 0) & (values < limit)].all()
    assert hidden[(table["households"] < limit).to_numpy()].all()
    shown = p.display()
    _clean(shown, layout)
    reported = set(map(tuple, p.unresolved[[*layout.keys, "column"]].to_numpy().tolist()))
    for published, digits in ((shown, None), (p.for_workbook(), 2)):
        found = attack(published, layout, min_cell=limit, rate_digits=digits, truth=table)
        disclosed = set(map(tuple, found.disclosed[[*layout.keys, "column"]].to_numpy().tolist()))
        assert disclosed <= reported, found.summary()


# ----------------------------------------------------------------------------- the test data


@pytest.fixture(scope="module")
def classified():
    from povanalysis.data import pipeline

    root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or config.PROJ_ROOT / "tests" / "_artifacts" / "data")
    with pytest.MonkeyPatch.context() as mp:
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        yield pipeline.load_classified()


def _check(table: pd.DataFrame, layout: Layout) -> None:
    p = protect(table, layout)
    limit = p.min_cell
    values = table[list(layout.columns)].to_numpy()
    hidden = p.hidden[list(layout.columns)].to_numpy()
    assert hidden[(values > 0) & (values < limit)].all()
    assert hidden[(table["households"] > 0).to_numpy() & (table["households"] < limit).to_numpy()].all()
    assert p.unresolved.empty
    found = attack(p.display(), layout, truth=table)
    assert found.recovered.empty and found.exposed.empty, found.summary()
    assert attack(p.for_workbook(), layout, rate_digits=2, truth=table).disclosed.empty


def test_commune_by_ethnicity_by_review_on_the_test_data(classified):
    keys = ["commune_code", "review_year", "ethnicity"]
    t = classified.assign(households=1, poor=(classified["poverty_class"] == "poor").astype(int))
    t = t.groupby(keys, as_index=False)[["households", "poor"]].sum()
    t = pd.concat([t, t.groupby(keys[:2], as_index=False)[["households", "poor"]].sum().assign(ethnicity="all")])
    province = t.groupby(keys[1:], as_index=False)[["households", "poor"]].sum().assign(commune_code="province")
    t = pd.concat([t, province])
    layout = Layout(
        keys,
        ["poor"],
        totals={"ethnicity": "all", "commune_code": "province"},
        rates={"poor_rate": "poor"},
        time="review_year",
        changes=["poor", "poor_rate"],
    )
    _check(t.reset_index(drop=True), layout)


def test_commune_by_poverty_class_on_the_test_data(classified):
    keys = ["commune_code", "review_year"]
    classes = ["poor", "near_poor", "average_living", "not_poor"]
    t = pd.crosstab([classified[k] for k in keys], classified["poverty_class"]).reindex(columns=classes, fill_value=0)
    t = t.assign(households=t.sum(axis=1)).reset_index()
    t.columns.name = None
    province = t.groupby("review_year", as_index=False)[[*classes, "households"]].sum().assign(commune_code="province")
    layout = Layout(
        keys,
        classes,
        totals={"commune_code": "province"},
        parts={"households": classes},
        rates={"poor_rate": "poor", "near_poor_rate": "near_poor"},
    )
    _check(pd.concat([t, province], ignore_index=True), layout)


# ----------------------------------------------------------------------------- inputs


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="min_cell must be at least 3"):
        protect(_three_parts(), ETHNIC, min_cell=2)
    with pytest.raises(ValueError, match="not the sums of their parts"):
        protect(_three_parts().assign(poor=[40, 15, 4, 60]), ETHNIC)
    with pytest.raises(ValueError, match="above their denominator"):
        protect(_three_parts().assign(poor=[40, 15, 60, 115]), ETHNIC)
    with pytest.raises(ValueError, match="'totals' key 'year'"):
        Layout(["ethnicity"], ["poor"], totals={"year": "all"})
    with pytest.raises(ValueError, match="cannot read the published value"):
        attack(pd.DataFrame({"ethnicity": ["Kinh"], "households": ["many"], "poor": ["1"]}), ETHNIC)
