"""Rolling-origin backtests: errors, coverage and the rule a model must pass."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.data.pipeline import classify_panel
from povanalysis.goals import backtest as B
from povanalysis.goals import outlook
from povanalysis.goals import transition as TR


@pytest.fixture(scope="module")
def second_panel():
    """A second small synthetic panel with another seed."""
    from povanalysis.data import synth

    return classify_panel(synth.generate(seed=23, scale=0.02).households)


def test_interval_score_by_hand():
    # inside: width only; below by 0.01 at alpha 0.1: width 0.04 + 20 x 0.01 = 0.24
    assert_allclose(B.interval_score([0.05, 0.03, 0.10], [0.04] * 3, [0.08] * 3, alpha=0.1), [0.04, 0.24, 0.44])


def test_backtest_table_and_scores(small_classified):
    bt = B.backtest(small_classified, models=("drift", "persistence"), levels=("province", "commune"), n_sim=100)
    t = bt.to_frame()
    assert set(t["origin"]) == {2023, 2024} and set(t["horizon"]) == {1, 2}
    assert set(t["standard"]) == {"2022-2025", "2026-2030"}
    prov = t[(t["level"] == "province") & (t["standard"] == "2022-2025")]
    for r in prov.itertuples():
        recorded = (small_classified.loc[small_classified["review_year"] == r.year, "poverty_class"] == "poor").mean()
        assert r.observed == pytest.approx(recorded)
    assert_allclose(t["abs_error"], (t["predicted"] - t["observed"]).abs())
    s = bt.scores()
    assert {"folds", "mean_abs_error", "coverage", "interval_score"} <= set(s.columns)
    assert "Rolling-origin backtest" in bt.summary()
    assert bt.best(level="province") == "drift"


def test_backtest_never_sees_the_review_it_predicts(small_classified):
    bt = B.backtest(small_classified, models=("drift",), levels=("province",), n_sim=100)
    changed = small_classified.copy()
    later = changed["review_year"] == 2025
    changed.loc[later, "income_pc"] = 1.0  # everyone poor-income in 2025: the prediction from 2023/2024 must not move
    bt2 = B.backtest(changed, models=("drift",), levels=("province",), n_sim=100)
    a, b = bt.table.set_index(["standard", "origin", "horizon"]), bt2.table.set_index(["standard", "origin", "horizon"])
    assert_allclose(a["predicted"], b.loc[a.index, "predicted"])
    assert (b.loc[b["year"] == 2025, "observed"] > a.loc[a["year"] == 2025, "observed"]).all()


@pytest.mark.parametrize("fixture", ["small_classified", "second_panel"])
def test_the_reports_model_passes_its_backtest_on_two_seeds(fixture, request):
    panel = request.getfixturevalue(fixture)
    model = outlook.DEFAULT_SETTINGS["model"]
    bt = B.backtest(panel, models=(model, "persistence"), levels=("province",), n_sim=300)
    s = bt.scores(("model", "standard", "horizon")).set_index(["model", "standard", "horizon"])
    assert (s.loc[model, "mean_abs_error"] < 0.01).all()  # well under one point a year and two years ahead
    assert (s.loc[model, "coverage"] >= 0.5).all()  # 90% intervals cover in most folds
    assert bt.passes(model, standard="2026-2030") and bt.passes(model, standard="2022-2025")
    # ... and it beats the no-change baseline on error.
    assert (s.loc[model, "mean_abs_error"] < s.loc["persistence", "mean_abs_error"]).all()


def test_a_model_with_a_constant_rate_fails_the_backtest(small_classified):
    def constant(history, years, **_):
        return TR.transition_projection(
            history,
            by=["commune_code", "minority", "old_area"],
            years=years,
            time_trend=False,
            n_sim=100,
            alpha=0.1,
            min_cell=1,
        )

    bt = B.backtest(small_classified, models=(constant,), levels=("province",), standards=("2026-2030",), n_sim=100)
    assert not bt.passes("constant", standard="2026-2030")


def test_readable_scores_and_the_figure_moved_with_a_warning():
    from povanalysis.figures import goals as FG
    from povanalysis.reports.prose import goals as PG

    with pytest.warns(DeprecationWarning, match="moved to povanalysis.reports.prose.goals.readable_scores"):
        assert B.readable_scores is PG.readable_scores
    with pytest.warns(DeprecationWarning, match="moved to povanalysis.figures.goals.plot_backtest"):
        assert B.plot_backtest is FG.plot_backtest


def test_a_cached_backtest_is_read_back_identical_without_fitting(small_classified, tmp_path, monkeypatch):
    args = dict(models=("drift", "persistence"), levels=("province", "commune"), n_sim=100)
    plain = B.backtest(small_classified, **args)
    B.backtest(small_classified, **args, cache=tmp_path)

    def no_fit(*_args, **_kwargs):
        raise AssertionError("the cached backtest fitted a model")

    monkeypatch.setattr(B, "_fit", no_fit)
    again = B.backtest(small_classified, **args, cache=tmp_path)
    pd.testing.assert_frame_equal(again.to_frame(), plain.to_frame())
    assert again.notes == plain.notes and again.summary() == plain.summary()
    changed = small_classified.copy()
    changed.loc[changed.index[0], "income_pc"] += 1
    with pytest.raises(AssertionError, match="fitted a model"):
        B.backtest(changed, **args, cache=tmp_path)
    monkeypatch.undo()
    look = outlook.outlook(small_classified, cache=tmp_path)
    monkeypatch.setattr(B, "_fit", no_fit)
    again = outlook.outlook(small_classified, cache=tmp_path)
    pd.testing.assert_frame_equal(again.scores, look.scores)
    assert again.passes == look.passes
