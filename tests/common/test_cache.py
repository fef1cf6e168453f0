"""The disk cache: keys, frame digests and Parquet files written once and read back identical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from povanalysis import config
from povanalysis.common import cache as C


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimator": ["did", "cost_per_exit"],
            "truth": [0.1, np.inf],
            "se": [np.nan, 2.0],
            "n": [3, 4],
            "covered": [True, False],
            "note": ["", "not estimable"],
        }
    )


def test_key_is_canonical_and_names_every_part():
    assert C.cache_key(a=1, b=[0.5, 2]) == C.cache_key(b=(0.5, 2), a=np.int64(1))
    assert C.cache_key(codes={"2", "1"}) == C.cache_key(codes=["1", "2"])
    assert C.cache_key(a=1) != C.cache_key(a=2) != C.cache_key(b=2)
    assert len(C.cache_key(a=1)) == 64


def test_key_follows_the_version_and_the_source(monkeypatch):
    import povanalysis

    before = C.cache_key(a=1)
    monkeypatch.setattr(povanalysis, "__version__", "9.9.9")
    assert C.cache_key(a=1) != before
    monkeypatch.undo()
    monkeypatch.setattr(C, "source_digest", lambda: "another source")
    assert C.cache_key(a=1) != before


def test_key_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="cache key part.*DataFrame"):
        C.cache_key(panel=frame())


def test_frame_digest_sees_values_columns_and_dtypes_not_the_index():
    f = frame()
    assert C.frame_digest(f) == C.frame_digest(f.set_axis([10, 11]))
    assert C.frame_digest(f) != C.frame_digest(f.assign(n=[3, 5]))
    assert C.frame_digest(f) != C.frame_digest(f.assign(n=f["n"].astype(float)))
    assert C.frame_digest(f) != C.frame_digest(f.rename(columns={"n": "m"}))
    with pytest.raises(TypeError, match="'frame' should be a DataFrame, got list"):
        C.frame_digest([1])


def test_a_frame_is_computed_once_then_read_back_identical(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return frame(), {"notes": ["a note"]}

    key = C.cache_key(test="cache")
    first = C.cached_frame(tmp_path, key, compute)
    second = C.cached_frame(tmp_path, key, compute)
    assert len(calls) == 1 and [p.name for p in tmp_path.iterdir()] == [f"{key}.parquet"]
    pd.testing.assert_frame_equal(second[0], first[0])
    assert second[1] == first[1] == {"notes": ["a note"]}


def test_no_folder_computes_every_time_and_a_broken_file_is_replaced(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return frame(), {}

    C.cached_frame(None, "", compute)
    C.cached_frame(None, "", compute)
    assert len(calls) == 2
    key = C.cache_key(test="broken")
    (tmp_path / f"{key}.parquet").write_bytes(b"not parquet")
    pd.testing.assert_frame_equal(C.cached_frame(tmp_path, key, compute)[0], frame())
    pd.testing.assert_frame_equal(C.cached_frame(tmp_path, key, compute)[0], frame())
    assert len(calls) == 3


def test_a_key_that_is_not_a_digest_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'key' should be a hex digest"):
        C.cached_frame(tmp_path, "../x", lambda: (frame(), {}))


def test_the_cache_folder_lies_in_the_processed_folder():
    assert config.cache_dir() == config.processed_dir() / "cache"
