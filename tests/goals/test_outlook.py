"""The outlook behind the reports: the model, its projections and its backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from povanalysis.goals import outlook


def test_projections_stay_in_bounds_fall_after_declines_and_widen_with_the_horizon(small_classified):
    for name in ("drift", "trend", "transition"):
        proj = outlook.project(small_classified, model=name, standard="2022-2025", n_sim=1000, seed=1)
        assert np.all((proj.obs_draws >= 0) & (proj.obs_draws <= 1)) and np.all((proj.mean >= 0) & (proj.mean <= 1))
        prov = proj.aggregate()
        last = (small_classified.loc[small_classified["review_year"] == 2025, "poverty_class"] == "poor").mean()
        assert prov.mean[0, 0] <= last, name  # five years of decline: 2026 does not turn upward
        # Uncertainty grows with the horizon on the odds scale (in points a band can narrow as the rate falls).
        lo, hi = np.quantile(prov.obs_draws[:, 0, :], [0.05, 0.95], axis=0)
        width = special.logit(hi) - special.logit(lo)
        assert (np.diff(width) > 0).all(), (name, width)


def test_outlook_text_names_the_model_and_its_backtest(small_classified):
    look = outlook.outlook(small_classified, settings={"n_sim": 200})
    assert look.model == outlook.DEFAULT_SETTINGS["model"] and look.passes
    assert look.backtest_text("vi").startswith("Dự báo dùng mô hình xu hướng thay đổi bình quân")
    assert "khoảng dự báo 90%" in look.backtest_text("vi")
    with pytest.raises(ValueError, match="'settings' has unknown keys \\['modle'\\]"):
        outlook.outlook(small_classified, settings={"modle": "trend"})
    with pytest.raises(ValueError, match="'model' must be one of"):
        outlook.project(small_classified, model="arima")


def test_defaults_are_read_from_the_settings_and_old_names_warn():
    import inspect

    from povanalysis.reports.prose import goals as PG

    params = inspect.signature(outlook.project).parameters
    for key in ("model", "standard", "pool_by", "alpha", "n_sim"):
        assert params[key].default == outlook.DEFAULT_SETTINGS[key]
    with pytest.warns(DeprecationWarning, match="moved to povanalysis.reports.prose.goals.MODEL_NAMES"):
        assert outlook.MODEL_NAMES is PG.MODEL_NAMES
    a = pd.DataFrame({"target": ["x"], "year": 2030, "p_meet": [0.9]})
    with pytest.warns(DeprecationWarning, match="p_meet_table"):
        table, text = outlook.compare_p_meet({"drift": a, "trend": a.assign(p_meet=0.1)}, lang="en")
    assert table.columns.tolist() == ["target", "drift", "trend"] and text.startswith("The models give")
