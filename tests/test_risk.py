import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.stats import mannwhitneyu

from povanalysis import risk, targeting

# --------------------------------------------------------------------------- transitions by hand


def _row(h, year, cls, income, *, area="rural", size=4, deprivations=0, dependants=0, minority=True,
         old_area="bac_kan"):
    return dict(household_id=h, review_year=year, commune_code="01840", area=area, income_pc=float(income), size=size,
                deprivations=deprivations, d_dependants=dependants, minority=minority, old_area=old_area,
                poverty_class=cls)


@pytest.fixture
def hand():
    rows = [
        _row("K", 2021, "poor", 1_200_000, deprivations=4),
        _row("K", 2022, "average_living", 1_800_000, size=5, deprivations=2, dependants=1),
        _row("K", 2023, "near_poor", 1_400_000, size=5, deprivations=2),
        _row("L", 2021, "near_poor", 1_900_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2022, "not_poor", 3_500_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2023, "not_poor", 3_200_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2024, "average_living", 2_500_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("M", 2021, "not_poor", 5_000_000),
        _row("M", 2022, "not_poor", 5_000_000),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def hand_loans():
    return pd.DataFrame({"household_id": ["K", "L"], "disbursed": pd.to_datetime(["2022-03-10", "2019-01-15"]),
                         "term_months": [36, 36]})


def test_transitions_by_hand(hand, hand_loans):
    t = risk.transitions(hand, hand_loans).set_index(["household_id", "review_year"])
    assert list(t.index) == [("K", 2022), ("L", 2022), ("L", 2023), ("L", 2024)]
    k = t.loc[("K", 2022)]
    assert_allclose(k[["log_income_ratio", "income_change", "size_change", "deprivations", "dependants",
                       "years_since_exit", "credit", "minority", "urban", "bac_kan", "line"]].to_numpy(float),
                    [np.log(1.8 / 1.5), np.log(1.8 / 1.2), 1, 2, 1, 1, 1, 1, 0, 1, 1_500_000])
    assert k["fell_back"] == True  # noqa: E712
    lo = t.loc[[("L", 2022), ("L", 2023), ("L", 2024)]]
    assert_allclose(lo["log_income_ratio"], np.log(np.array([3.5, 3.2, 2.5]) / 2.0))
    assert lo["years_since_exit"].tolist() == [1, 2, 3]
    assert lo["credit"].tolist() == [0.0, 0.0, 0.0]  # the 2019 loan matured in January 2022
    assert lo["fell_back"].iloc[:2].tolist() == [False, False] and pd.isna(lo["fell_back"].iloc[2])
    no_loans = risk.transitions(hand)
    assert no_loans["credit"].isna().all()
    near = risk.transitions(hand, fallback_classes=("poor",))
    assert near.set_index(["household_id", "review_year"]).loc[("K", 2022), "fell_back"] == False  # noqa: E712


def test_transitions_errors(hand, hand_loans):
    with pytest.raises(ValueError, match=r"'classified' lacks the columns \['d_dependants'\]"):
        risk.transitions(hand.drop(columns="d_dependants"))
    with pytest.raises(ValueError, match=r"'income_pc' of 'classified' must be positive for a log ratio, got 0.0 at row 4"):
        risk.transitions(hand.assign(income_pc=hand["income_pc"].where(hand.index != 4, 0.0)))
    with pytest.raises(ValueError, match=r"'fallback_classes' must name classes"):
        risk.transitions(hand, fallback_classes=("destitute",))
    with pytest.raises(ValueError, match=r"'term_months' of 'loans' must hold positive integers, got 0 at row 1"):
        risk.transitions(hand, hand_loans.assign(term_months=[36, 0]))


# --------------------------------------------------------------------------- AUC


def test_auc_by_hand():
    a, se = risk.auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    # V10 = (1, 1/2), V01 = (1/2, 1): variance 0.125/2 + 0.125/2
    assert a == 0.75
    assert_allclose(se, np.sqrt(0.125))
    assert risk.auc([1, 0, 1, 0], [1, 1, 0, 0])[0] == 0.5  # ties and an uninformative flag
    with pytest.raises(ValueError, match="'y' must hold both outcomes"):
        risk.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="'score' must be finite"):
        risk.auc([1, 0], [np.nan, 0.3])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=3, max_size=40))
def test_auc_is_the_mann_whitney_statistic(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], float)
    if y.all() or not y.any():
        return
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert_allclose(risk.auc(y, s)[0], u / (y.sum() * (~y).sum()))


# --------------------------------------------------------------------------- the model on the synthetic panel


@pytest.fixture(scope="module")
def model(small_classified, small_panel):
    return risk.fit_fallback_model(small_classified, small_panel.loans)


def test_model_beats_the_rule_of_thumb_out_of_time(model):
    """Done-when: the out-of-time AUC beats 'income within 10% of the line' on the synthetic panel."""
    b = model.baseline
    msg = f"model AUC {model.auc:.3f} (SE {model.auc_se:.3f}) vs rule of thumb {b.auc:.3f} (SE {b.auc_se:.3f})"
    assert model.test_year == 2025 and model.train_years == (2023, 2024)
    assert model.auc > b.auc, msg
    assert model.auc_difference - 1.96 * model.auc_difference_se > 0, msg
    assert_allclose(model.auc_difference, model.auc - b.auc)
    assert model.auc > 0.7, msg
    assert b.rule == "income <= 1.1 x line"
    assert model.precision_at_top_decile > model.base_rate


def test_model_evaluation_tables(model):
    cal = model.calibration
    assert len(cal) == 10 and cal["n"].sum() == model.n_test
    assert_allclose((cal["observed"] * cal["n"]).sum() / cal["n"].sum(), model.base_rate)
    assert (cal["ci_lower"] <= cal["observed"]).all() and (cal["observed"] <= cal["ci_upper"]).all()
    assert cal["predicted"].is_monotonic_increasing
    f = model.to_frame()
    assert list(f.columns) == ["measure", "model", "value", "se", "ci_lower", "ci_upper", "n", "test_year"]
    assert_allclose(f.loc[f["model"] == "logit", "value"].iloc[0], model.auc)
    text = model.summary()
    assert "AUC" in text and "rule of thumb" in text and "log_income_ratio" in text
    # Further above the line, less risk; the log ratio is the leading predictor.
    coef = model.coefficients.set_index("term")
    assert coef.loc["log_income_ratio", "ci_upper"] < 0
    assert set(model.features) | set(model.dropped) == set(risk.FEATURES)


def test_model_uses_no_information_from_later_reviews(small_classified, small_panel):
    full = risk.fit_fallback_model(small_classified, small_panel.loans, test_year=2024)
    cut = small_classified[small_classified["review_year"] <= 2024]
    loans = small_panel.loans[small_panel.loans["disbursed"].dt.year <= 2024]
    early = risk.fit_fallback_model(cut, loans, test_year=2024)
    assert full.train_years == early.train_years == (2023,)
    assert_allclose(full.result.params.to_numpy(), early.result.params.to_numpy())
    assert_allclose(full.auc, early.auc)


def test_scores(model, small_classified):
    scores = model.score(small_classified)
    elig = targeting.eligibility(small_classified)
    newly = elig[(elig["review_year"] == 2025) & elig["eligible_newly_escaped"]]
    assert set(scores["household_id"]) == set(newly["household_id"]) and len(scores) == len(newly)
    assert ((scores["probability"] > 0) & (scores["probability"] < 1)).all()
    assert list(scores.columns) == ["household_id", "review_year", "commune_code", "minority", "log_income_ratio",
                                    "income_change", "probability"]
    # The scores of an earlier review are the model's predictions for that review's transitions.
    earlier = model.score(small_classified, review_year=2024)
    assert (earlier["review_year"] == 2024).all()
    with pytest.raises(ValueError, match=r"'review_year' 2030 is not in 'classified'"):
        model.score(small_classified, review_year=2030)


def test_fit_errors(small_classified, small_panel, hand):
    with pytest.raises(ValueError, match=r"'train_years' must all be earlier than test_year 2024 \(out-of-time\), got \[2024\]"):
        risk.fit_fallback_model(small_classified, train_years=(2023, 2024), test_year=2024)
    with pytest.raises(ValueError, match=r"'test_year' 2022 has no transitions; outcome review years: \[2023, 2024, 2025\]"):
        risk.fit_fallback_model(small_classified, test_year=2022)
    with pytest.raises(ValueError, match=r"'rule_margin' must be in \[0, 1\), got 1.5"):
        risk.fit_fallback_model(small_classified, rule_margin=1.5)
    with pytest.raises(ValueError, match=r"out-of-time evaluation needs transitions into at least two reviews, got \[2023\]"):
        risk.fit_fallback_model(hand[hand["review_year"] <= 2023])
    one_sided = pd.DataFrame([
        _row("P", 2021, "poor", 1e6), _row("P", 2022, "average_living", 1.6e6), _row("P", 2023, "poor", 1e6),
        _row("Q", 2022, "poor", 1e6), _row("Q", 2023, "average_living", 1.7e6), _row("Q", 2024, "poor", 1e6),
        _row("R", 2022, "near_poor", 1e6), _row("R", 2023, "not_poor", 3e6), _row("R", 2024, "not_poor", 3e6)])
    with pytest.raises(ValueError, match=r"the training transitions hold only one outcome \(all fell back\)"):
        risk.fit_fallback_model(one_sided)


# --------------------------------------------------------------------------- published counts and the confidential list


@pytest.fixture
def scores():
    return pd.DataFrame({"household_id": ["a", "b", "c", "d", "e"], "review_year": [2025] * 5,
                         "commune_code": ["01840", "01840", "01840", "01843", "01843"],
                         "minority": [True, False, True, True, False],
                         "log_income_ratio": [0.05, 0.2, 0.5, 0.01, 0.3], "income_change": [0.3, 0.1, 0.0, 0.4, -0.1],
                         "probability": [0.40, 0.25, 0.05, 0.70, 0.10]})


def test_at_risk_counts_by_hand(scores):
    t = risk.at_risk_counts(scores, threshold=0.25, min_cell=3)
    assert t.to_dict("list") == {
        "review_year": [2025, 2025], "commune_code": ["01840", "01843"], "households": [3, 2], "at_risk": [2, 1],
        "at_risk_rate": [2 / 3, 0.5], "expected_fallbacks": pytest.approx([0.7, 0.8]), "suppressed": [False, True]}
    by = risk.at_risk_counts(scores, by=("commune_code", "minority"), min_cell=1)
    assert by["households"].tolist() == [1, 2, 1, 1] and "household_id" not in by.columns
    assert risk.at_risk_counts(scores)["suppressed"].all()  # fewer than 10 households each
    with pytest.raises(ValueError, match="'by' must not hold 'household_id'"):
        risk.at_risk_counts(scores, by="household_id")
    with pytest.raises(ValueError, match=r"'threshold' must be in \(0, 1\], got 0"):
        risk.at_risk_counts(scores, threshold=0)
    with pytest.raises(ValueError, match=r"'probability' of 'scores' must be in \[0, 1\], got 1.2 at row 1"):
        risk.at_risk_counts(scores.assign(probability=[0.1, 1.2, 0.1, 0.1, 0.1]))


def test_confidential_export(scores, tmp_path, monkeypatch):
    path = risk.confidential_export(scores, tmp_path / "lists" / "MAT-CONFIDENTIAL_fallback_2025.csv", threshold=0.3)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("MẬT — CONFIDENTIAL: ") and "do not publish" in lines[0]
    back = pd.read_csv(path, skiprows=1, dtype={"commune_code": str}, encoding="utf-8-sig")
    assert back["household_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert back["rank_in_commune"].tolist() == [1, 2, 3, 1, 2]
    assert back["at_risk"].tolist() == [True, False, False, True, False]
    assert back["commune_name"].iloc[0] == "Phường Đức Xuân"
    with pytest.raises(ValueError, match=r"its name must contain 'CONFIDENTIAL', got 'risk.csv'"):
        risk.confidential_export(scores, tmp_path / "risk.csv")
    with pytest.raises(ValueError, match=r"'path' must be a .csv file, got 'confidential.xlsx'"):
        risk.confidential_export(scores, tmp_path / "confidential.xlsx")
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))
    with pytest.raises(ValueError, match=r"is under the published reports folder"):
        risk.confidential_export(scores, tmp_path / "reports" / "communes" / "confidential.csv")


def test_calibration_figure(model):
    f = risk.calibration_figure(model, lang="en")
    assert [t.name for t in f.data] == ["Perfect calibration", "Observed fall-back rate"]
    assert_allclose(list(f.data[1].y), model.calibration["observed"])
    assert f"{model.auc:.3f}" in f.layout.title.text and f"{model.baseline.auc:.3f}" in f.layout.title.text
    vi = risk.calibration_figure(model)
    assert vi.layout.xaxis.title.text == "Xác suất dự báo" and f"{model.auc:.3f}".replace(".", ",") in vi.layout.title.text
    with pytest.raises(TypeError, match="'model' should be a FallbackModel, got dict"):
        risk.calibration_figure({})


def test_evaluation_text(model):
    en = risk.evaluation_text(model, lang="en")
    assert f"AUC {model.auc:.3f}" in en and f"against {model.baseline.auc:.3f} for the rule of thumb" in en
    assert "income at most 110% of the line" in en
    vi = risk.evaluation_text(model)
    assert f"AUC {model.auc:.3f}".replace(".", ",") in vi and "thu nhập không quá 110% chuẩn nghèo" in vi
