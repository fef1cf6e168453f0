"""Rebasing: the same households classified under two standards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.goals import rebase as R
from povanalysis.measure.standards import classify


def test_rebasing_count_reproduced_by_classifying_under_both_standards(small_classified):
    hh = small_classified[small_classified["review_year"] == 2025]
    old = classify(hh, standard="2022-2025") == "poor"
    new = classify(hh, standard="2026-2030") == "poor"
    r = R.rebase(small_classified)
    assert (r.year, r.from_standard, r.to_standard) == (2025, "2022-2025", "2026-2030")
    prov = r.table(()).iloc[0]
    assert (prov["households"], prov["poor_from"], prov["poor_to"]) == (len(hh), old.sum(), new.sum())
    assert prov["newly_poor"] == (new & ~old).sum() and prov["no_longer_poor"] == (old & ~new).sum()
    by_commune = pd.DataFrame({"c": hh["commune_code"], "new": new, "old": old}).groupby("c")[["old", "new"]].sum()
    t = r.table("commune_code").set_index("commune_code")
    assert (t["poor_from"] == by_commune["old"]).all() and (t["poor_to"] == by_commune["new"]).all()
    assert_allclose(t["gap"], (by_commune["new"] - by_commune["old"]) / hh.groupby("commune_code").size())
    assert r.crosstab().to_numpy().sum() == len(hh)
    assert r.crosstab().loc["poor"].sum() == old.sum()
    long = r.to_frame()
    assert set(long["dimension"]) == {"province", "old_area", "area", "minority", "commune_code"}
    assert long.loc[long["dimension"] == "minority", "households"].sum() == len(hh)
    assert "Rebasing the 2025 review from 2022-2025 to 2026-2030" in r.summary()
    assert r.headline("vi").startswith("Tính lại kết quả rà soát năm 2025 theo chuẩn 2026–2030")


def test_rebase_errors(small_classified):
    with pytest.raises(ValueError, match="'classified' has no households at review year 2030"):
        R.rebase(small_classified, year=2030)
    with pytest.raises(ValueError, match="households lack the columns \\['d_internet'\\]"):
        R.rebase(small_classified.drop(columns="d_internet"))
    with pytest.raises(ValueError, match="'by' names columns the rebasing does not keep: \\['district'\\]"):
        R.rebase(small_classified).table("district")


def test_more_rebase_and_aggregate_errors(small_classified, hand_projection):
    with pytest.raises(ValueError, match="the data need a 'minority' or an 'ethnicity' column"):
        R.rebase(small_classified.drop(columns=["minority", "ethnicity"]))
    with pytest.raises(TypeError, match="'classified' should be a DataFrame, got str"):
        R.rebase("households.csv")
    proj = hand_projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1), households=(0, 5))
    with pytest.raises(ValueError, match="a group has no households in the projection"):
        proj.aggregate(np.array([True, False]))
    with pytest.raises(ValueError, match="'groups' must have one value per unit \\(2\\), got shape \\(3,\\)"):
        proj.aggregate(["a", "b", "c"])
