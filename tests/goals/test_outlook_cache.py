"""The projections' disk cache: read back equal to a fresh projection, computed afresh when an input changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from povanalysis import config
from povanalysis.goals import outlook


def assert_same(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_dtype=False)
            assert x.attrs.keys() == y.attrs.keys(), f.name
            for name in x.attrs:
                pd.testing.assert_frame_equal(x.attrs[name], y.attrs[name], check_dtype=False)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif dataclasses.is_dataclass(x):
            assert_same(x, y)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("model", ["drift", "trend", "transition"])
def test_a_cached_projection_is_the_projection(small_classified, tmp_path, model):
    kwargs = dict(model=model, standard="2022-2025", n_sim=200, seed=4)
    fresh = outlook.project(small_classified, cache=None, **kwargs)
    first = outlook.project(small_classified, cache=tmp_path, **kwargs)
    second = outlook.project(small_classified.copy(), cache=tmp_path, **kwargs)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert_same(fresh, first)
    assert_same(first, second)
    pd.testing.assert_frame_equal(second.aggregate().to_frame(), fresh.aggregate().to_frame(), check_dtype=False)


def test_a_changed_input_gives_a_fresh_projection(small_classified, tmp_path, monkeypatch):
    kwargs = dict(model="drift", standard="2022-2025", n_sim=200, seed=4, cache=tmp_path)
    base = outlook.project(small_classified, **kwargs)
    # a tenth of the poor of the last review counted not poor: a lower rate to project from
    last = small_classified.index[
        (small_classified["review_year"] == 2025) & (small_classified["poverty_class"] == "poor")
    ]
    edited = small_classified.copy()
    edited.loc[last[::10], "poverty_class"] = "near_poor"
    edited.loc[last[::10], "income_pc"] = 10_000_000.0
    changed = outlook.project(edited, **kwargs)
    assert changed.aggregate().mean[0, 0] < base.aggregate().mean[0, 0]
    np.testing.assert_array_equal(changed.mean, outlook.project(edited, **{**kwargs, "cache": None}).mean)
    assert outlook.project(small_classified, **{**kwargs, "seed": 5}).draws[0, 0, 0] != base.draws[0, 0, 0]
    monkeypatch.setattr(config, "MIN_CELL", 10_000)
    assert outlook.project(small_classified, **kwargs).to_frame()["suppressed"].all()
    assert len(list(tmp_path.glob("*.json"))) == 4
