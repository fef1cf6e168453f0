"""The fall-back model's disk cache: read back, it scores as the model fitted; a changed input fits afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from povanalysis.targeting import risk


def assert_same(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_dtype=False)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif isinstance(x, tuple) and x and dataclasses.is_dataclass(x[0]):
            for u, v in zip(x, y, strict=True):
                assert_same(u, v)
        elif dataclasses.is_dataclass(x):
            assert_same(x, y)
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y), f.name
        else:
            assert x == y, f.name


def test_a_cached_model_is_the_model_fitted(small_classified, small_panel, tmp_path):
    loans = small_panel.loans
    fresh = risk.fit_fallback_model(small_classified, loans, cache=None)
    first = risk.fit_fallback_model(small_classified, loans, cache=tmp_path)
    second = risk.fit_fallback_model(small_classified.copy(), loans.copy(), cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert_same(fresh, first)
    assert_same(first, second)
    assert second.summary() == fresh.summary()
    assert any(b is second.baseline for b in second.baselines) and any(b is second.rule for b in second.baselines)
    pd.testing.assert_frame_equal(second.to_frame(), fresh.to_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(
        second.score(small_classified, loans=loans), fresh.score(small_classified, loans=loans), check_dtype=False
    )


def test_a_changed_input_fits_afresh(small_classified, small_panel, tmp_path):
    loans = small_panel.loans
    base = risk.fit_fallback_model(small_classified, loans, cache=tmp_path)
    without_loans = risk.fit_fallback_model(small_classified, None, cache=tmp_path)
    assert "credit" in base.features and "credit" not in without_loans.features
    edited = small_classified.copy()
    edited["income_pc"] = edited["income_pc"] * np.where(np.arange(len(edited)) % 3 == 0, 1.3, 1.0)
    changed = risk.fit_fallback_model(edited, loans, cache=tmp_path)
    assert changed.auc != base.auc
    assert changed.auc == risk.fit_fallback_model(edited, loans, cache=None).auc
    assert risk.fit_fallback_model(small_classified, loans, n_bins=5, cache=tmp_path).calibration.shape[0] == 5
    assert len(list(tmp_path.glob("*.json"))) == 4
