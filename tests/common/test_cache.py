"""The disk cache: keys, frame digests and Parquet files written once and read back identical."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    monkeypatch.setattr(C, "source_digest", lambda module=None: "another source")
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


def test_frame_digest_reads_text_not_its_chunks_and_sees_every_text_change():
    import pyarrow as pa

    text = pd.Series(["Tày", None, "", "Kinh", "a" * 300], dtype="str")
    f = pd.DataFrame({"t": text, "n": np.arange(5, dtype=np.int8)})
    chunked = pa.chunked_array(
        [pa.array(["Tày", None], pa.large_string()), pa.array(["", "Kinh", "a" * 300], pa.large_string())]
    )
    rechunked = f.assign(t=pd.Series(pd.arrays.ArrowStringArray(chunked), dtype="str"))
    assert C.frame_digest(f) == C.frame_digest(rechunked) == C.frame_digest(f.iloc[::-1].iloc[::-1])
    assert C.frame_digest(f) == C.frame_digest(pd.concat([f.iloc[:2], f.iloc[2:]]))
    for changed in (
        ["Tày", "", "", "Kinh", "a" * 300],
        ["Tày", None, None, "Kinh", "a" * 300],
        ["Tà", None, "", "Kinh", "a" * 300],
        ["Tày", None, "", "Kinhx", "a" * 300],
    ):
        assert C.frame_digest(f) != C.frame_digest(f.assign(t=pd.Series(changed, dtype="str")))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=30),
)
def test_frame_digest_of_text_equals_for_equal_lists_only(values, cut):
    """Equal lists give equal digests however they are split; the digest tells them apart from any one change."""
    base = pd.DataFrame({"t": pd.Series(values, dtype="str")})
    cut = min(cut, len(values))
    assert C.frame_digest(base) == C.frame_digest(pd.concat([base.iloc[:cut], base.iloc[cut:]]))
    other = list(values)
    other[0] = "x" if values[0] != "x" else None
    assert C.frame_digest(base) != C.frame_digest(pd.DataFrame({"t": pd.Series(other, dtype="str")}))


def test_frame_digest_of_dates_categories_and_booleans():
    f = pd.DataFrame(
        {
            "d": pd.to_datetime(["2021-09-01", "2022-09-01"]),
            "c": pd.Categorical(["poor", "near_poor"]),
            "b": [True, False],
            "o": [{"a": 1}.get("a"), None],
        }
    )
    assert C.frame_digest(f) == C.frame_digest(f.copy())
    assert C.frame_digest(f) != C.frame_digest(f.assign(d=pd.to_datetime(["2021-09-01", "2022-09-02"])))
    assert C.frame_digest(f) != C.frame_digest(f.assign(c=pd.Categorical(["poor", "near_poor"], ordered=True)))
    assert C.frame_digest(f) != C.frame_digest(f.assign(b=[True, True]))


def test_a_key_follows_the_code_its_module_runs_and_nothing_else(tmp_path, monkeypatch):
    pkg = tmp_path / "povanalysis"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "sub/__init__.py": "",
        "sub/model.py": "from .helper import f\nfrom ..other import g\n",
        "sub/helper.py": "def f(): return 1\n",
        "other.py": "def g(): return 2\n",
        "figures.py": "import povanalysis.sub.model\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr(C, "_PACKAGE", pkg)

    def key():
        C.source_digest.cache_clear()
        return C.cache_key("povanalysis.sub.model", a=1)

    before = key()
    (pkg / "figures.py").write_text("import povanalysis.sub.model\nx = 2\n")  # imports the model, not imported by it
    assert key() == before
    for name in ("sub/helper.py", "other.py", "sub/__init__.py", "__init__.py", "sub/model.py"):
        (pkg / name).write_text((pkg / name).read_text() + "\n# edited\n")
        after = key()
        assert after != before, name
        before = after
    with pytest.raises(ValueError, match="'povanalysis.nope' is not a module of povanalysis"):
        C.source_digest("povanalysis.nope")
    C.source_digest.cache_clear()


def test_a_remembered_digest_follows_every_kind_of_edit_in_place():
    """Large frames' digests are remembered; writing to the frame (copy-on-write moves its values) is seen."""
    n = 60_000
    f = pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "k": np.arange(n) % 7,
            "s": pd.Series([f"h{i}" for i in range(n)], dtype="str"),
            "c": pd.Categorical(np.where(np.arange(n) % 2, "a", "b")),
        }
    )
    seen = {C.frame_digest(f)}
    assert C.frame_digest(f) in seen  # remembered, and the same
    edits = [
        lambda: f.__setitem__("x", f["x"]),  # the same values again: the same digest (below)
        lambda: f.loc.__setitem__((5, "x"), -1.0),
        lambda: f.iloc.__setitem__((6, 1), 100),
        lambda: f.loc.__setitem__((7, "s"), "changed"),
        lambda: f.loc.__setitem__((8, "c"), "a" if f.at[8, "c"] == "b" else "b"),
        lambda: setattr(f, "columns", ["x", "kk", "s", "c"]),
        lambda: f.insert(4, "new", 1),
    ]
    for i, edit in enumerate(edits):
        edit()
        digest = C.frame_digest(f)
        assert digest == C.frame_digest(f.copy()), i  # what a fresh digest of the frame says
        if i:
            assert digest not in seen, i
        seen.add(digest)
    # a shallow copy views the same values: the same digest; written to, it has its own, the frame keeps its
    shallow = f.copy(deep=False)
    assert C.frame_digest(shallow) == digest
    shallow.loc[9, "x"] = -2.0
    assert C.frame_digest(shallow) == C.frame_digest(shallow.copy()) != digest
    assert C.frame_digest(f) == digest == C.frame_digest(f.copy())


@dataclasses.dataclass
class Inner:
    table: pd.DataFrame
    small: np.ndarray


@dataclasses.dataclass
class Outer:
    effect: float
    n: int
    years: tuple
    notes: list
    test: dict
    draws: np.ndarray
    psi: pd.Series
    inner: Inner
    same: Inner
    missing: object = None


def outer() -> Outer:
    rng = np.random.default_rng(3)
    return Outer(
        effect=np.float64(0.1),
        n=7,
        years=(2021, 2022),
        notes=["a", "b"],
        test={"stat": np.nan, "event_times": (-3, -2)},
        draws=rng.normal(size=(50, 4, 5)),
        psi=pd.Series([0.5, -0.5], index=pd.Index(["01840", "05665"], name="cluster"), name="psi"),
        inner=(inner := Inner(frame(), np.array([[1.0, 0.5], [0.5, 2.0]]))),
        same=inner,
    )


def test_a_results_object_reads_back_equal_and_is_written_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return outer()

    key = C.cache_key(test="result")
    first = C.cached_result(tmp_path, key, compute, classes=[Outer, Inner])
    second = C.cached_result(tmp_path, key, compute, classes=[Outer, Inner])
    assert len(calls) == 1
    for got in (first, second):
        assert isinstance(got, Outer) and isinstance(got.inner, Inner)
        assert got.same is got.inner  # one object stored once, read back as one object
        assert (got.effect, got.n, got.years, got.notes, got.missing) == (0.1, 7, (2021, 2022), ["a", "b"], None)
        assert np.isnan(got.test["stat"]) and got.test["event_times"] == (-3, -2)
        np.testing.assert_array_equal(got.draws, outer().draws)
        np.testing.assert_array_equal(got.inner.small, outer().inner.small)
        pd.testing.assert_series_equal(got.psi, outer().psi)
        pd.testing.assert_frame_equal(got.inner.table, frame())
    # a part lost: computed again and stored again
    next((tmp_path / key).glob("*.parquet")).unlink()
    C.cached_result(tmp_path, key, compute, classes=[Outer, Inner])
    assert len(calls) == 2
    C.cached_result(tmp_path, key, compute, classes=[Outer, Inner])
    assert len(calls) == 2


def test_a_results_object_makes_only_the_classes_named(tmp_path):
    with pytest.raises(TypeError, match="cannot hold Inner"):
        C.cached_result(tmp_path, C.cache_key(test="classes"), outer, classes=[Outer])
    with pytest.raises(TypeError, match="cannot hold object"):
        C.cached_result(tmp_path, C.cache_key(test="object"), lambda: Inner(frame(), object()), classes=[Inner])
    assert C.cached_result(None, "not even a key", lambda: 5, classes=[]) == 5
