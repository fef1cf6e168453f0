"""Tests of povanalysis.measure.survey: the two-stage sample and the linearised domain variances."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.measure.survey import direct_estimates, draw_two_stage_sample

DATA = Path(__file__).parents[1] / "fixtures"
DESIGNS = [("st", "psu"), ("st", None), (None, None)]


@pytest.fixture(scope="module")
def design():
    frame = pd.read_csv(DATA / "survey_design.csv", comment="#")
    assert frame.shape == (300, 6)
    return frame


@pytest.mark.parametrize(("strata", "cluster"), DESIGNS)
@pytest.mark.parametrize("y", ["y", "poor"])
def test_direct_estimates_match_recorded_samplics_taylor(design, strata, cluster, y):
    # samplics' Taylor-linearised estimates on the same sample, recorded once (tests/fixtures/samplics_taylor.json).
    recorded = json.loads((DATA / "samplics_taylor.json").read_text(encoding="utf-8"))
    ref = recorded[f"{y}/{strata or '-'}/{cluster or '-'}"]
    out = direct_estimates(design, y=y, domain="dom", weight="w", strata=strata, cluster=cluster)
    assert out["dom"].tolist() == ref["dom"]
    assert_allclose(out["estimate"], ref["estimate"], rtol=0, atol=1e-12)
    assert_allclose(out["se"], ref["se"], rtol=0, atol=1e-8)


@pytest.mark.parametrize(("strata", "cluster"), DESIGNS)
@pytest.mark.parametrize("y", ["y", "poor"])
def test_direct_estimates_match_samplics_taylor(design, strata, cluster, y):
    # The same comparison against samplics itself, when it is installed (an archived library).
    estimation = pytest.importorskip("samplics.estimation")
    types = pytest.importorskip("samplics.utils.types")
    est = estimation.TaylorEstimator(types.PopParam.mean)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(
            y=design[y],
            samp_weight=design["w"],
            domain=design["dom"],
            stratum=design[strata] if strata else None,
            psu=design[cluster] if cluster else None,
        )
    out = direct_estimates(design, y=y, domain="dom", weight="w", strata=strata, cluster=cluster)
    assert out["dom"].tolist() == sorted(est.point_est)
    assert_allclose(out["estimate"], [est.point_est[d] for d in out["dom"]], rtol=0, atol=1e-12)
    assert_allclose(out["se"], [est.stderror[d] for d in out["dom"]], rtol=0, atol=1e-8)


def test_rate_under_srs_within_domain_strata_is_p_q_over_n():
    # Strata = domains, equal weights, units as PSUs: var = s^2 / n with s^2 = n p q / (n - 1).
    sample = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 4, "poor": [1, 1, 1] + [0] * 7 + [1, 0, 0, 0], "w": 5.0})
    out = direct_estimates(sample, y="poor", domain="c", weight="w", strata="c").set_index("c")
    assert_allclose(out["estimate"], [0.3, 0.25])
    assert_allclose(out["variance"], [0.3 * 0.7 / 9, 0.25 * 0.75 / 3], rtol=1e-12)
    assert_allclose(out["ci_upper"] - out["estimate"], 1.959963984540054 * out["se"], rtol=1e-12)
    assert out["n"].tolist() == [10, 4] and out["n_eff"].tolist() == [10.0, 4.0]


def test_domain_without_variation_has_zero_variance_and_undefined_cv():
    sample = pd.DataFrame({"c": ["a"] * 3 + ["b"] * 3, "poor": [0, 0, 0, 1, 0, 1], "w": 1.0})
    out = direct_estimates(sample, y="poor", domain="c", weight="w", strata="c").set_index("c")
    assert out.loc["a", "variance"] == 0.0 and np.isnan(out.loc["a", "cv"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"w": [1.0, 0.0, 1.0, 1.0]}, r"weight='w' must be positive; row 1 has 0.0"),
        ({"y": [1.0, np.nan, 1.0, 0.0]}, r"y='y' must be numeric without missing values; row 1 has nan"),
        ({"h": ["p", "q", "q", "q"]}, r"strata \['p'\] have a single primary sampling unit"),
    ],
)
def test_direct_estimates_errors(change, match):
    sample = pd.DataFrame({"d": ["a", "a", "b", "b"], "y": [1.0, 0.0, 1.0, 0.0], "w": 1.0, "h": "p"})
    for col, values in change.items():
        sample[col] = values
    with pytest.raises(ValueError, match=match):
        direct_estimates(sample, y="y", domain="d", weight="w", strata="h")


def test_direct_estimates_names_a_missing_column():
    sample = pd.DataFrame({"d": ["a", "b"], "y": [1.0, 0.0], "w": 1.0})
    with pytest.raises(ValueError, match=r"domain='dd' is not a column of 'sample'; columns are \['d', 'y', 'w'\]"):
        direct_estimates(sample, y="y", domain="dd", weight="w")
    with pytest.raises(TypeError, match=r"'sample' should be a DataFrame, got list"):
        direct_estimates([], y="y", domain="d", weight="w")


def _frame():
    rows = []
    for c in range(12):
        for k in range(5 + 3 * c):
            rows.append(
                {
                    "household_id": f"H{c:02d}{k:03d}",
                    "review_year": 2024,
                    "commune_code": f"{c:05d}",
                    "zone": "north" if c < 4 else "south",
                }
            )
    return pd.DataFrame(rows)


def test_two_stage_sample_weights_and_allocation():
    frame = _frame()
    sample = draw_two_stage_sample(frame, n_communes=6, n_households=4, seed=2, strata="zone")
    per = sample.groupby("commune_code").agg(zone=("zone", "first"), n=("weight", "size"), w=("weight", "sum"))
    assert per["zone"].value_counts().to_dict() == {"south": 4, "north": 2}
    sizes = frame.groupby("commune_code").size()
    m_h = {"north": 2 / 4, "south": 4 / 8}
    assert_allclose(per["w"], sizes[per.index] / per["zone"].map(m_h), rtol=1e-12)
    assert (per["n"] == 4).all()
    again = draw_two_stage_sample(
        frame.sample(frac=1, random_state=1), n_communes=6, n_households=4, seed=2, strata="zone"
    )
    assert again["household_id"].tolist() == sample["household_id"].tolist()
    other = draw_two_stage_sample(frame, n_communes=6, n_households=4, seed=3, strata="zone")
    assert other["household_id"].tolist() != sample["household_id"].tolist()


def test_two_stage_sample_errors():
    frame = _frame()
    with pytest.raises(ValueError, match=r"n_communes=13 exceeds the 12 communes in the frame"):
        draw_two_stage_sample(frame, n_communes=13, n_households=2, seed=1)
    with pytest.raises(ValueError, match=r"n_households must be an integer >= 1, got 0"):
        draw_two_stage_sample(frame, n_communes=3, n_households=0, seed=1)
    bad = frame.assign(zone=np.where(np.arange(len(frame)) % 2, "north", "south"))
    with pytest.raises(ValueError, match=r"strata='zone' must be constant within each commune"):
        draw_two_stage_sample(bad, n_communes=3, n_households=2, seed=1, strata="zone")
    two_years = pd.concat([frame, frame.assign(review_year=2025)])
    with pytest.raises(ValueError, match=r"holds review years \[2024, 2025\]"):
        draw_two_stage_sample(two_years, n_communes=3, n_households=2, seed=1)
