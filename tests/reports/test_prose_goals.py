"""Sentences of the goals in Vietnamese and English."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from povanalysis.goals import outlook
from povanalysis.goals import requirements as Q
from povanalysis.goals.targets import Target
from povanalysis.reports.prose import goals as PG

YEARS = np.arange(2021, 2026)


def test_scenario_headline(one_commune):
    scn = Q.credit_scenario(one_commune, 20, 0.10, 0.02, cost_per_exit=(5e8, 2e8, np.inf))
    text = PG.scenario_headline(one_commune, scn, lang="vi")
    assert text.startswith("Với thêm 20 khoản vay mỗi năm từ năm 2026 và hiệu quả thoát nghèo ước tính 0,100")
    assert "không có cận trên hữu hạn" in text
    assert "VND 5.0 billion" in PG.scenario_headline(one_commune, scn, lang="en")  # 10 exits x 500 million
    with pytest.raises(ValueError, match="'scenario' is not a credit scenario"):
        PG.scenario_headline(one_commune, one_commune)
    with pytest.raises(ValueError, match="'year' 2035 is not projected"):
        PG.scenario_headline(one_commune, scn, year=2035)
    with pytest.raises(TypeError, match="'baseline' should be a Projection, got DataFrame"):
        PG.scenario_headline(one_commune.to_frame(), scn)


def test_p_meet_comparison_names_disagreeing_models():
    a = pd.DataFrame({"target": ["x", "y"], "year": 2030, "p_meet": [0.9, 0.5]})
    b = pd.DataFrame({"target": ["x", "y"], "year": 2030, "p_meet": [0.1, 0.55]})
    table = outlook.p_meet_table({"drift": a, "transition": b})
    assert table.set_index("target").loc["x"].tolist() == [0.9, 0.1]
    text = PG.p_meet_text(table, margin=outlook.DEFAULT_SETTINGS["disagreement"], lang="en")
    assert text.startswith("The models give very different probabilities of meeting — x:")
    assert "y:" not in text
    x = Target("x", annual_reduction=1.0, label_vi="Toàn tỉnh: giảm 1 điểm/năm", label_en="Province: 1 point a year")
    named = PG.p_meet_text(table, margin=0.2, lang="vi", targets=[x])
    assert named.startswith("Các mô hình cho xác suất đạt mục tiêu rất khác nhau — «Toàn tỉnh: giảm 1 điểm/năm»: ")
    assert "x:" not in named and "«Province" in PG.p_meet_text(table, margin=0.2, lang="en", targets={"x": x})
    assert PG.p_meet_text(outlook.p_meet_table({"drift": a, "trend": a}), margin=0.2, lang="vi") == ""


def test_target_rule_in_both_languages():
    assert PG.target_rule(Target("p", annual_reduction=1.5), "vi") == "−1,5 điểm phần trăm/năm"
    assert PG.target_rule(Target("r", annual_reduction=10, unit="relative"), "en") == "−10.0% a year (relative)"
    assert Target("m", end_level=0.1).describe("en") == "at most 10.00% by 2030"  # the one-line delegation
