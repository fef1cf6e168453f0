"""A disk cache of computed tables: one Parquet file per inputs and package source, never a pickle."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .files import atomic_write_bytes

__all__ = ["source_digest", "frame_digest", "cache_key", "cached_frame"]

_META = b"povanalysis.cache"
_PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def source_digest() -> str:
    """sha256 of the package's own ``.py`` files (their paths and contents): any code change changes it."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes and values (not its index).

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_digest(a) == frame_digest(a.copy()), frame_digest(a) == frame_digest(a.assign(x=[1, 3]))
    (True, False)
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame, got {type(frame).__name__}")
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"a cache key part should be JSON-like (numbers, strings, sequences, mappings), "
        f"got {type(value).__name__}: {value!r}"
    )


def cache_key(**parts: object) -> str:
    """sha256 of a canonical JSON of ``parts``, the package version and :func:`source_digest`.

    Examples
    --------
    >>> cache_key(seed=1, scales=[0.01]) == cache_key(scales=(0.01,), seed=1)
    True
    >>> cache_key(seed=1) == cache_key(seed=2)
    False
    """
    from .. import __version__

    text = json.dumps(
        {"version": __version__, "source": source_digest(), "parts": parts},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=True,
        default=_plain,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> tuple[pd.DataFrame, dict] | None:
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
        return table.to_pandas(), meta
    except (OSError, ValueError, pa.ArrowException):  # absent or unreadable: compute again
        return None


def cached_frame(
    folder: str | os.PathLike | None, key: str, compute: Callable[[], tuple[pd.DataFrame, Mapping]]
) -> tuple[pd.DataFrame, dict]:
    """The frame and scalars stored under ``key`` in ``folder``, or ``compute()``'s, stored there first.

    ``compute`` returns a frame and a mapping of JSON scalars (kept in the Parquet file's
    metadata, so the two are written together, atomically).  With ``folder=None`` nothing is
    read or written.  A file is as big as the frame it holds; an unreadable one is replaced.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> key = cache_key(example=1)
    >>> cached_frame(folder, key, lambda: (pd.DataFrame({"x": [1.5]}), {"n": 1}))[1]
    {'n': 1}
    >>> cached_frame(folder, key, lambda: 1 / 0)[0]["x"].tolist()
    [1.5]
    """
    if folder is None:
        frame, meta = compute()
        return frame, dict(meta)
    if not isinstance(key, str) or not key.isalnum():
        raise ValueError(f"'key' should be a hex digest (see cache_key), got {key!r}")
    path = Path(folder) / f"{key}.parquet"
    found = _read(path) if path.exists() else None
    if found is not None:
        return found
    frame, meta = compute()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'compute' should return a DataFrame and a mapping, got {type(frame).__name__}")
    meta = dict(meta)
    table = pa.Table.from_pandas(frame)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META: json.dumps(meta).encode()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return frame, meta
