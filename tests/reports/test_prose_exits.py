"""Sentences and the small table of lasting exits: hand-pinned text, and no small count readable or recomputable."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from povanalysis.goals.exits import lasting_exits
from povanalysis.reports.disclosure import DASH
from povanalysis.reports.prose import exits as PX

LIMIT = 10


def _panel(
    held: int, back: int, lost: int, *, stay: int = 0, held2: int | None = None, code: str = "01"
) -> pd.DataFrame:
    """Exits at 2022 (poor 2021) that, at 2023, are still out (``held``), poor again (``back``) or gone
    (``lost``); ``stay`` households stay poor.  With ``held2`` a 2024 review where that many of the held stay out."""
    hist = {}
    reviews = 3 if held2 is None else 4
    for i in range(held):
        later = [] if held2 is None else ["not_poor" if i < held2 else "poor"]
        hist[f"H{i}"] = ["poor", "not_poor", "not_poor", *later]
    for i in range(back):
        hist[f"B{i}"] = ["poor", "not_poor", "poor"] + ([] if held2 is None else ["poor"])
    for i in range(lost):
        hist[f"L{i}"] = ["poor", "not_poor"]
    for i in range(stay):
        hist[f"S{i}"] = ["poor"] * reviews
    rows = [
        {"household_id": h, "review_year": 2021 + j, "commune_code": code, "poverty_class": c, "standard": "2022-2025"}
        for h, cs in hist.items()
        for j, c in enumerate(cs)
    ]
    return pd.DataFrame(rows)


def _cells(held: int, back: int, lost: int, **kw) -> pd.Series:
    ex = lasting_exits(_panel(held, back, lost, **kw), levels=["commune"], min_cell=LIMIT)
    cells = PX.publish_exits(ex, "commune", "01", lang="vi")
    return cells[(cells["exit_year"] == 2022) & (cells["horizon"] == 1)].iloc[0]


def test_publish_hand_cases():
    c = _cells(48, 12, 0, stay=5)
    assert [c["exits"], c["held"], c["held_share"], c["not_held"], c["reentered"], c["lost"]] == [
        "60",
        "48",
        "80,0%",
        "12",
        "12",
        "0",
    ]
    assert c["held_ci"] == "68,2–88,2%"  # Wilson 48/60
    # 5 of 100 lost: the split would give it away, so only "not held" (20) is shown.
    c = _cells(80, 15, 5)
    assert [c["held"], c["not_held"], c["reentered"], c["lost"]] == ["80", "20", DASH, DASH]
    # 5 of 100 held: "< 10" and a band; the rest reads "–" and "> 90%".
    c = _cells(5, 95, 0)
    assert [c["held"], c["held_share"], c["not_held"], c["not_held_share"], c["held_ci"]] == [
        "< 10",
        "< 10,0%",
        DASH,
        "> 90,0%",
        "",
    ]
    # 8 exits: nothing but "< 10".
    c = _cells(6, 2, 0, stay=30)
    assert [c["exits"], c["held"], c["held_share"], c["reentered"]] == ["< 10", DASH, DASH, DASH]
    # both parts reach the limit and so does the split
    c = _cells(50, 20, 12)
    assert [c["not_held"], c["reentered"], c["lost"], c["reentered_share"]] == ["32", "20", "12", "24,4%"]


@settings(max_examples=60, deadline=None)
@given(
    held=st.integers(0, 40),
    back=st.integers(0, 40),
    lost=st.integers(0, 25),
)
@example(held=1, back=24, lost=25)  # bands at exactly the limit (0.2 x 50)
@example(held=80, back=15, lost=5)
def test_no_small_count_is_readable_or_recomputable(held, back, lost):
    if held + back + lost == 0:
        return
    c = _cells(held, back, lost, stay=1)
    e = held + back + lost
    truth = {"exits": e, "held": held, "not_held": back + lost, "reentered": back, "lost": lost}
    # what a reader can read: shown numbers, and counts worked out from the shares of the shown exits
    known = {k: int(c[k].replace(".", "")) for k in truth if re.fullmatch(r"[0-9.]+", c[k])}
    if "exits" in known:
        for k in ("held", "not_held", "reentered", "lost"):
            m = re.fullmatch(r"([0-9]+),([0-9])%", c[f"{k}_share"])
            if m:
                known.setdefault(k, round(float(f"{m.group(1)}.{m.group(2)}") / 100 * e))
    # the sums tie them: exits = held + not held, not held = re-entered + lost
    for _ in range(2):
        if {"exits", "held"} <= set(known):
            known.setdefault("not_held", known["exits"] - known["held"])
        if {"exits", "not_held"} <= set(known):
            known.setdefault("held", known["exits"] - known["not_held"])
        if {"not_held", "reentered"} <= set(known):
            known.setdefault("lost", known["not_held"] - known["reentered"])
        if {"not_held", "lost"} <= set(known):
            known.setdefault("reentered", known["not_held"] - known["lost"])
    for k, v in known.items():
        assert v == truth[k], (k, v, truth)
        assert not 0 < v < LIMIT, f"{k} = {v} can be read or worked out: {c.to_dict()}"
    for k in ("held", "not_held", "reentered", "lost"):
        share = c[f"{k}_share"]
        if share.startswith("< "):
            bound = float(share[2:-1].replace(",", ".")) / 100
            assert truth[k] < bound * e and bound * e >= LIMIT - 1e-9  # the band holds every count "< 10" allows
        if share.startswith("> "):
            bound = float(share[2:-1].replace(",", ".")) / 100
            assert truth[k] > bound * e and (1 - bound) * e >= LIMIT - 1e-9


def test_paragraph_pinned_in_both_languages():
    ex = lasting_exits(_panel(60, 15, 0, held2=50, stay=3), levels=["commune", "province"], min_cell=LIMIT)
    vi = PX.exits_text(ex, "commune", "01", year=2022)
    assert vi == (
        "Năm 2022 có 75 hộ thoát nghèo; ở kỳ rà soát 2023, 60 hộ (80,0%; khoảng tin cậy 95%: 69,6–87,5%) vẫn "
        "ngoài diện nghèo và 15 hộ tái nghèo. Trong 75 hộ thoát nghèo năm 2022, 50 hộ (66,7%; khoảng tin cậy 95%: "
        "55,4–76,3%) vẫn ngoài diện nghèo ở cả hai kỳ rà soát 2023 và 2024: đó là số hộ thoát nghèo bền vững."
    )
    en = PX.exits_text(ex, "province", year=2022, lang="en")
    assert en.startswith("The province: In 2022, 75 households left poverty; at the 2023 review 60 households (80.0%")
    assert "were still out at both the 2023 and 2024 reviews" in en
    # the default year is the latest with a later review: 2023 exits (none here) then 2022
    assert PX.exits_text(ex, "commune", "01").startswith("Năm 2023 có 0 hộ thoát nghèo")


def test_few_not_held_reads_at_least():
    ex = lasting_exits(_panel(40, 5, 0), levels=["commune"], min_cell=LIMIT)
    assert PX.exits_text(ex, "commune", "01", year=2022) == (
        "Năm 2022 có 45 hộ thoát nghèo; ở kỳ rà soát 2023, ít nhất 36 hộ (trên 50,0%) vẫn ngoài diện nghèo "
        "và dưới 10 hộ tái nghèo."
    )
    assert "at least 36 households (over 50.0%) were still out" in PX.exits_text(ex, "commune", "01", lang="en")


def test_small_commune_reads_fewer_than_the_limit_and_no_identifier():
    ex = lasting_exits(_panel(6, 2, 1, stay=20), levels=["commune"], min_cell=LIMIT)
    text = PX.exits_text(ex, "commune", "01", year=2022)
    assert text == "Năm 2022 có dưới 10 hộ thoát nghèo: quá ít để công bố bao nhiêu hộ giữ được."
    assert not re.search(r"\b[HBLS][0-9]+\b", text)
    with pytest.raises(ValueError, match="no exits in 2030"):
        PX.exits_text(ex, "commune", "01", year=2030)


def test_readable_table():
    ex = lasting_exits(_panel(60, 15, 0, held2=50, stay=3), levels=["commune"], min_cell=LIMIT)
    t = PX.exits_table(ex, "commune", "01")
    assert list(t.columns[:5]) == [
        "Năm thoát nghèo",
        "Hộ thoát nghèo (hộ)",
        "Vẫn ngoài diện nghèo sau 1 kỳ (hộ)",
        "Tỷ lệ vẫn ngoài diện nghèo sau 1 kỳ (%)",
        "Khoảng tin cậy 95% sau 1 kỳ (%)",
    ]
    assert all(re.search(r"\((hộ|%)\)$", c) for c in t.columns[1:])  # every header names its unit
    assert t.map(lambda v: isinstance(v, str)).all().all()  # text for reading, not raw numbers
    first = t.iloc[0]
    assert first.tolist()[:8] == ["2022", "75", "60", "80,0%", "69,6–87,5%", "50", "66,7%", "55,4–76,3%"]
    last = t.iloc[-1]
    assert last["Năm thoát nghèo"] == "2024" and last["Vẫn ngoài diện nghèo sau 1 kỳ (hộ)"] == "chưa có kỳ rà soát"
    en = PX.exits_table(ex, "commune", "01", lang="en")
    assert en.columns[1] == "Households leaving poverty (households)"


def test_wrong_argument_is_named():
    with pytest.raises(TypeError, match="'exits' should be an Exits"):
        PX.publish_exits(pd.DataFrame(), "commune", "01")
