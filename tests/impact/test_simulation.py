"""Bias and coverage of the credit estimators over many synthetic panels, at two sizes.

The checks are Monte Carlo checks: with ``n`` panels, the share of 95% intervals holding the
truth has a standard error of ``sqrt(0.95 * 0.05 / n)``.  An estimator passes when, at every
size, its coverage is at least 0.95 minus three of those standard errors and its bias lies
within ``BIAS_Z`` Monte Carlo standard errors of zero at every size and planted effect.  The
naive comparison, biased by construction, must fail the same checks.
"""

import numpy as np
import pandas as pd
import pytest

from povanalysis.data import synth
from povanalysis.impact.simulation import ESTIMATORS, SimulationStudy, simulation_study
from povanalysis.reports.prose.impact import simulation_table

SEEDS = range(1, 21)
SCALES = (0.01, 0.03)  # about 4,300 and 12,900 households: 55 and 180 poor borrowers with a comparison
EFFECTS = (0.0, synth.DEFAULT_CREDIT_EFFECT)
LEVEL = 0.95
COVERAGE_Z = 3.0
BIAS_Z = 4.0  # about twenty cells are checked: 4 Monte Carlo standard errors keep false alarms rare


@pytest.fixture(scope="module")
def study():
    return simulation_study(seeds=SEEDS, scales=SCALES, effects=EFFECTS, methods=ESTIMATORS, by=("old_area",))


def coverage_floor(n: int) -> float:
    return LEVEL - COVERAGE_Z * np.sqrt(LEVEL * (1 - LEVEL) / n)


def failures(runs: pd.DataFrame) -> list[str]:
    """Every way the runs of one estimate fail the checks: coverage by size, bias by size and effect."""
    out = []
    ok = runs[(runs["note"] == "") & runs["truth"].notna()]
    for scale, part in ok.groupby("scale"):
        n = len(part)
        if part["covered"].mean() < coverage_floor(n):
            out.append(f"scale {scale}: coverage {part['covered'].mean():.3f} over {n} runs < {coverage_floor(n):.3f}")
    for (scale, planted), part in ok.groupby(["scale", "planted"]):
        err = part["estimate"] - part["truth"]
        if np.isfinite(err).all() and len(err) > 1:
            mcse = err.std(ddof=1) / np.sqrt(len(err))
            if abs(err.mean()) > BIAS_Z * mcse:
                out.append(
                    f"scale {scale}, planted {planted}: bias {err.mean():.4f} = "
                    f"{err.mean() / mcse:.1f} Monte Carlo s.e."
                )
    return out


def runs_of(study: SimulationStudy, estimator: str, term: str | None = None) -> pd.DataFrame:
    r = study.runs[study.runs["estimator"] == estimator]
    return r if term is None else r[r["term"] == term]


@pytest.mark.parametrize("method", ["fe", "did", "ipw"])
def test_credible_estimators_cover_the_realised_effect_at_both_sizes(study, method):
    runs = runs_of(study, method)
    assert failures(runs) == []
    assert (runs["note"] == "").mean() > 0.95  # estimable on (nearly) every panel
    assert set(runs["scale"]) == set(SCALES) and set(runs["planted"]) == set(EFFECTS)


def test_dose_slope_is_zero_at_any_planted_effect(study):
    # The generator draws loan amounts independently of who is lifted: the slope's truth is 0.
    runs = runs_of(study, "dose")
    assert (runs["truth"] == 0).all()
    assert failures(runs) == []


@pytest.mark.parametrize("term", ["lead -2", "lead -3"])
def test_event_study_leads_cover_zero(study, term):
    runs = runs_of(study, "event_study", term)
    assert (runs["truth"] == 0).all() and (runs["note"] == "").sum() >= 0.9 * len(runs)
    assert failures(runs) == []


@pytest.mark.parametrize("group", ["old_area=thai_nguyen", "old_area=bac_kan"])
def test_subgroup_effects_cover_the_planted_effect_in_each_old_area(study, group):
    runs = runs_of(study, "heterogeneity", group)
    assert failures(runs) == []
    # Groups with too few borrowers are suppressed, not estimated: enough runs remain to check.
    assert (runs["note"] == "").sum() >= 0.75 * len(runs)


@pytest.mark.parametrize("interval", ["delta", "fieller"])
def test_cost_per_exit_interval_covers_the_truth(study, interval):
    runs = runs_of(study, "cost_per_exit", interval)
    null = runs[runs["planted"] == 0]
    assert (null["truth"] == np.inf).all()
    # Under no effect the interval must be unbounded above: no finite cost per exit is claimed.
    assert failures(runs) == []


def test_both_cost_intervals_are_unbounded_exactly_when_the_effect_is_not_significantly_positive(study):
    runs = runs_of(study, "cost_per_exit").pivot_table(
        index=["scale", "planted", "seed"], columns="term", values="ci_upper"
    )
    did = runs_of(study, "did").set_index(["scale", "planted", "seed"])
    unbounded = did["ci_lower"] <= 0
    assert (np.isinf(runs["delta"]) == unbounded).all() and (np.isinf(runs["fieller"]) == unbounded).all()


def test_naive_comparison_fails_the_same_checks(study):
    runs = runs_of(study, "naive")
    problems = failures(runs)
    assert [p.split(":")[0] for p in problems if "coverage" in p] == ["scale 0.01", "scale 0.03"]
    # Biased at both planted effects; at the larger size by far more than the Monte Carlo error.
    assert sum(p.startswith("scale 0.03,") and "bias" in p for p in problems) == 2
    frame = study.to_frame().set_index(["estimator", "term", "scale", "planted"])
    for scale in SCALES:
        null = frame.loc[("naive", "effect", scale, 0.0)]
        assert null["coverage"] < 0.8 and null["bias"] > 0.05  # selection on the unobserved drive


def test_the_checks_flag_a_biased_estimator():
    # Forty runs whose intervals all hold zero pass; shifted by one standard error, they fail both checks.
    estimates = np.tile([-0.1, -0.05, 0.0, 0.05, 0.1], 8)

    def runs(shift):
        est = estimates + shift
        return pd.DataFrame(
            {
                "scale": 0.01,
                "planted": 0.0,
                "note": "",
                "truth": 0.0,
                "estimate": est,
                "covered": np.abs(est) <= 1.96 * 0.08,
            }
        )

    assert failures(runs(0.0)) == []
    problems = failures(runs(0.08))
    assert any("coverage" in p for p in problems) and any("bias" in p for p in problems)


def test_truth_is_the_realised_effect_among_the_borrowers_behind_each_estimate(study):
    runs = study.runs[study.runs["planted"] == synth.DEFAULT_CREDIT_EFFECT].set_index(
        ["scale", "seed", "estimator", "term"]
    )["truth"]
    naive = runs.xs(("naive", "effect"), level=(2, 3))
    did = runs.xs(("did", "effect"), level=(2, 3))
    areas = runs.xs("heterogeneity", level=2).unstack("term")
    # Whole households are lifted: the realised effect is the planted effect up to rounding, and it
    # differs between all cohorts (naive) and those with a later-borrowing comparison (did).
    assert np.allclose(naive, synth.DEFAULT_CREDIT_EFFECT, atol=0.02) and (naive != did).any()
    assert did.equals(runs.xs(("fe", "effect"), level=(2, 3))) and did.equals(runs.xs(("ipw", "effect"), level=(2, 3)))
    # In small panels an old area's own realised effect can be far from the planted value.
    assert (areas["old_area=thai_nguyen"] - did).abs().max() > 0.005
    null = study.runs[(study.runs["planted"] == 0) & (study.runs["note"] == "")]
    assert null["truth"].isin([0.0, np.inf]).all()


def test_study_table_summary_and_frame(study):
    frame = study.to_frame()
    assert list(frame.columns[:4]) == ["estimator", "term", "scale", "planted"]
    assert len(frame) == len(frame.drop_duplicates(["estimator", "term", "scale", "planted"]))
    assert (frame["runs"] + frame["skipped"] == len(SEEDS)).all()
    did = frame[(frame["estimator"] == "did") & (frame["planted"] == synth.DEFAULT_CREDIT_EFFECT)]
    assert (
        did["truth"].between(synth.DEFAULT_CREDIT_EFFECT - 0.01, synth.DEFAULT_CREDIT_EFFECT + 0.01).all()
    )  # the realised effect, planted up to rounding
    text = study.summary()
    assert text.startswith("Simulation study of the credit estimators: outcome 'exit', 95% intervals")
    assert "20 seeds (1–20)" in text and "fieller, million VND" in text
    vi, en = simulation_table(study, lang="vi"), simulation_table(study, lang="en")
    assert vi.columns[0] == "Phương pháp" and en.columns[0] == "Method"
    assert "Tỷ lệ KTC chứa giá trị thật (%)" in vi.columns
    row = en[(en["Method"] == "Staggered DiD") & (en["Planted effect (points)"] == 100 * synth.DEFAULT_CREDIT_EFFECT)]
    assert row["Coverage (%)"].tolist() == (100 * did["coverage"]).round(1).tolist()


def test_seeds_give_identical_studies():
    a = simulation_study(seeds=[7], scales=[0.005], effects=[0.1], methods=["did", "dose"])
    b = simulation_study(seeds=[7], scales=[0.005], effects=[0.1], methods=["did", "dose"])
    pd.testing.assert_frame_equal(a.runs, b.runs)
    assert a.runs["estimator"].tolist() == ["did", "dose"]
    with pytest.raises(ValueError, match="lang must be one of"):
        simulation_table(a, lang="fr")


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="'seeds' is empty"):
        simulation_study(seeds=[], scales=[0.01])
    with pytest.raises(TypeError, match="'seeds' must hold integers, got 1.5"):
        simulation_study(seeds=[1.5], scales=[0.01])
    with pytest.raises(ValueError, match=r"'scales' values must be numbers in \(0.0, 5.0\], got 0"):
        simulation_study(seeds=[1], scales=[0])
    with pytest.raises(ValueError, match=r"'effects' values must be numbers in \[0.0, 0.5\], got 0.7"):
        simulation_study(seeds=[1], scales=[0.01], effects=[0.7])
    with pytest.raises(TypeError, match="'methods' should be a sequence of names, got the string 'did'"):
        simulation_study(seeds=[1], scales=[0.01], methods="did")
    with pytest.raises(ValueError, match=r"'methods' must be among .* got \['ols'\]"):
        simulation_study(seeds=[1], scales=[0.01], methods=["ols"])
    with pytest.raises(ValueError, match=r"'by' must be among .* got \['programme'\]"):
        simulation_study(seeds=[1], scales=[0.01], methods=["heterogeneity"], by=["programme"])
    with pytest.raises(ValueError, match="method 'cost_per_exit' needs outcome 'exit', got 'log_income'"):
        simulation_study(seeds=[1], scales=[0.01], methods=["cost_per_exit"], outcome="log_income")
    with pytest.raises(ValueError, match="outcome must be one of .* got 'wealth'"):
        simulation_study(seeds=[1], scales=[0.01], outcome="wealth")
    with pytest.raises(ValueError, match="base_method must be 'fe', 'did' or 'ipw', got 'naive'"):
        simulation_study(seeds=[1], scales=[0.01], base_method="naive")
    with pytest.raises(ValueError, match=r"'alpha' must be in \(0, 1\), got 5"):
        simulation_study(seeds=[1], scales=[0.01], alpha=5)


def test_a_cached_study_is_read_back_identical_without_generating_a_panel(tmp_path, monkeypatch):
    from povanalysis.impact import simulation

    args = dict(seeds=[1, 2], scales=[0.005], effects=[0.0, 0.1], methods=["did", "cost_per_exit"])
    plain = simulation_study(**args)
    first = simulation_study(**args, cache=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 1

    def no_panel(**_):
        raise AssertionError("the cached study generated a panel")

    monkeypatch.setattr(simulation.synth, "generate", no_panel)
    second = simulation_study(**args, cache=tmp_path)
    pd.testing.assert_frame_equal(second.runs, first.runs)
    pd.testing.assert_frame_equal(second.to_frame(), plain.to_frame())
    assert second.summary() == plain.summary()
    with pytest.raises(AssertionError, match="generated a panel"):
        simulation_study(**{**args, "seeds": [3]}, cache=tmp_path)
