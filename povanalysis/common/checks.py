"""Argument checks shared by every module: frames and their columns, levels, shares, plain values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Z_95", "require_frame", "check_alpha", "check_share", "to_python"]

#: The 97.5% quantile of the standard normal: the half-width of a 95% interval in standard errors.
Z_95: float = 1.959963984540054


def require_frame(obj: Any, name: str, columns: Iterable[str] = ()) -> None:
    """Fail unless ``obj`` is a DataFrame with ``columns``, naming the argument and what is missing.

    Examples
    --------
    >>> require_frame(pd.DataFrame({"a": [1]}), "counts", ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: 'counts' lacks the columns ['b']
    >>> require_frame([1], "counts")
    Traceback (most recent call last):
    ...
    TypeError: 'counts' should be a DataFrame, got list
    """
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"'{name}' should be a DataFrame, got {type(obj).__name__}")
    missing = [c for c in columns if c not in obj.columns]
    if missing:
        raise ValueError(f"'{name}' lacks the columns {missing}")


def check_alpha(alpha: float) -> float:
    """``alpha`` (1 − the coverage of an interval) as a float in (0, 1).

    Examples
    --------
    >>> check_alpha(0.05)
    0.05
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"'alpha' must be in (0, 1), got {alpha!r}")
    return float(alpha)


def check_share(value: float, name: str) -> float:
    """A share in [0, 1] (0.10 for 10%), named in the error.

    Examples
    --------
    >>> check_share(0.1, "floor")
    0.1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
        raise ValueError(f"'{name}' is a share in [0, 1] (0.10 for 10%), got {value!r}")
    return float(value)


def to_python(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for JSON and messages); other values unchanged.

    Examples
    --------
    >>> to_python(np.int64(3)), to_python(np.float64(0.5)), to_python("x")
    (3, 0.5, 'x')
    """
    return value.item() if isinstance(value, np.generic) else value
