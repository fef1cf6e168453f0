"""Operations on whole columns that pandas does slowly for some dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin"]


def _arrow(values: pd.Series) -> pa.Array:
    arr = pa.array(values.array)  # every pandas text array converts itself
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def isin(values: pd.Series | pd.Index | np.ndarray, allowed: object) -> np.ndarray:
    """Whether each of ``values`` is one of ``allowed``, as a boolean array (``Series.isin`` in linear time).

    pandas' ``isin`` on Arrow-backed text (the default string dtype) turns every allowed value
    into a Python object first: 1.5 s to look 53,900 loans up among 424,000 household ids, where
    Arrow's hash lookup takes 0.05 s.  Text columns go through Arrow here; other dtypes through
    pandas (also when ``allowed`` is not a text Series or Index).  A missing value is in
    ``allowed`` only when ``allowed`` holds a missing value, as in pandas.

    Examples
    --------
    >>> ids = pd.Series(["a", "b", None, "d"], dtype="string[pyarrow]")
    >>> isin(ids, pd.Series(["d", "a", "z"], dtype="string[pyarrow]")).tolist()
    [True, False, False, True]
    >>> isin(pd.Series([1, 2, 3]), [3]).tolist()
    [False, False, True]
    """
    left = values if isinstance(values, pd.Series) else pd.Series(values)
    if (
        isinstance(left.dtype, pd.StringDtype)
        and isinstance(allowed, (pd.Series, pd.Index))
        and isinstance(allowed.dtype, pd.StringDtype)
    ):
        found = pc.is_in(_arrow(left), value_set=_arrow(pd.Series(allowed)).unique())
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(left.isin(allowed), dtype=bool)
