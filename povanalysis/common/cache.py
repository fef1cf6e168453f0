"""A disk cache of computed tables: one Parquet file per inputs and package source, never a pickle."""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .files import atomic_write_bytes

__all__ = ["source_digest", "frame_digest", "cache_key", "cached_frame", "cached_result", "cache_folder"]

T = TypeVar("T")

_META = b"povanalysis.cache"
_PACKAGE = Path(__file__).resolve().parents[1]


def _module_files() -> dict[str, Path]:
    out = {}
    for path in sorted(_PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(_PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(module: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports (any import, at any depth of its code)."""
    st = path.stat()
    return set(_imports_of(module, path, (st.st_mtime_ns, st.st_size), tuple(sorted(modules))))


@functools.cache
def _imports_of(module: str, path: Path, version: tuple[int, int], modules: tuple[str, ...]) -> frozenset[str]:
    """:func:`_imported`, parsed once per version of the file (``version``: its mtime and size)."""
    tree = ast.parse(path.read_bytes())
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                root = base[: len(base) - (node.level - 1)]
                target = ".".join(root + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found.update(n for n in names if n in modules)
            found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return frozenset(m for m in found if m in modules)


@functools.cache
def source_digest(module: str | None = None) -> str:
    """sha256 of the package's code that ``module`` runs (its paths and contents).

    With ``module`` (a dotted name such as ``"povanalysis.impact.simulation"``) the digest covers
    that module, every module of the package it imports, directly or not, and the packages
    around them; without it, every ``.py`` file of the package.  Any change to that code
    changes the digest; a change elsewhere does not.

    Examples
    --------
    >>> source_digest("povanalysis.common.files") == source_digest("povanalysis.common.files")
    True
    >>> source_digest("povanalysis.common.files") == source_digest()
    False
    """
    modules = _module_files()
    if module is None:
        chosen = set(modules)
    else:
        if module not in modules:
            raise ValueError(f"{module!r} is not a module of povanalysis")
        chosen, todo = set(), [module]
        while todo:
            m = todo.pop()
            if m in chosen:
                continue
            chosen.add(m)
            parents = [".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)]
            todo.extend(p for p in parents if p in modules)
            todo.extend(_imported(m, modules[m], modules))
    h = hashlib.sha256()
    for name in sorted(chosen):
        path = modules[name]
        h.update(path.relative_to(_PACKAGE).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _string_chunks(array: pa.ChunkedArray, h_len, h_data) -> None:
    """Feed the lengths (-1 for a missing value) and bytes of an Arrow string column, whatever its chunks."""
    for chunk in array.chunks:
        n = len(chunk)
        if n == 0:
            continue
        _, offsets_buf, data_buf = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buf, dtype=width)[chunk.offset : chunk.offset + n + 1].astype(np.int64)
        nulls = chunk.is_null().to_numpy(zero_copy_only=False)
        lengths = np.diff(offsets)
        lengths[nulls] = -1
        h_len.update(lengths.tobytes())
        if data_buf is not None and offsets[-1] > offsets[0]:
            h_data.update(memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])])


def _column_digest(s: pd.Series) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        h.update(b"cat")
        h.update(np.ascontiguousarray(s.cat.codes.to_numpy()).tobytes())
        h.update(_column_digest(pd.Series(dtype.categories)))
        h.update(b"ordered" if dtype.ordered else b"")
    elif isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        values = np.ascontiguousarray(s.to_numpy(copy=False))
        h.update(memoryview(values.view(np.uint8) if values.dtype.kind in "mM" else values).cast("B"))
    else:
        arrow = None
        if hasattr(s.array, "__arrow_array__"):
            arrow = pa.chunked_array(s.array.__arrow_array__())
        if arrow is not None and (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
            h_len, h_data = hashlib.blake2b(digest_size=32), hashlib.blake2b(digest_size=32)
            _string_chunks(arrow, h_len, h_data)
            for part in (b"str", h_len.digest(), h_data.digest()):
                h.update(part)
        else:
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return h.digest()


def _copy_on_write() -> bool:
    """Whether pandas copies shared values before a write (always from pandas 3; an option before)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


def _buffers(frame: pd.DataFrame) -> tuple | None:
    """Where each column's values live (addresses of their buffers), or None when a column cannot say.

    Under copy-on-write (always on in pandas 3) a frame's values are never changed in place while
    another frame shares them: a write through any frame copies the values first.  A frame whose
    buffers are where they were, while a shallow copy of it is held, therefore holds the same values.
    """
    out = []
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            out.append(("cat", codes.__array_interface__["data"][0], id(dtype.categories)))
        elif isinstance(dtype, np.dtype) and dtype.kind != "O":  # Python objects may change in place
            values = s.to_numpy(copy=False)
            out.append((values.__array_interface__["data"][0], values.strides))
        elif isinstance(s.array, pd.arrays.ArrowExtensionArray):  # immutable Arrow buffers, not copied here
            chunks = s.array.__arrow_array__().chunks
            out.append(
                tuple((c.offset, len(c), *(b.address if b is not None else 0 for b in c.buffers())) for c in chunks)
            )
        else:
            return None
    return tuple(out)


#: Digests of the last large frames digested in this process, by where their values live (the
#: buffers' addresses, columns, dtypes and length): a shallow copy of each frame is held, which
#: keeps its buffers alive and shared, so a write to any frame viewing them copies them first.
_DIGESTS: OrderedDict[tuple, tuple[pd.DataFrame, str]] = OrderedDict()
_DIGESTS_SIZE = 4
_DIGESTS_MIN_ROWS = 50_000
_DIGESTS_LOCK = threading.Lock()


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes, length and values (not its index).

    Numbers and categories are hashed from their memory, Arrow-backed text from its buffers
    (the same text gives the same digest however it is chunked), anything else through
    :func:`pandas.util.hash_pandas_object`: a 2.1M-row household panel takes about half a second.
    The digests of the last few large frames are remembered: a frame that views the same memory
    as one digested before (the same frame, or a shallow copy of it), its values unchanged, is not
    read again.  Pandas' copy-on-write moves the values of a frame that is written to (without it,
    before pandas 3, nothing is remembered); a frame built on a NumPy array with ``copy=False`` and
    changed through that array is not seen.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2], "s": pd.Series(["a", None], dtype="str")})
    >>> frame_digest(a) == frame_digest(a.copy()), frame_digest(a) == frame_digest(a.assign(x=[1, 3]))
    (True, False)
    >>> frame_digest(a) == frame_digest(a.assign(s=pd.Series(["a", ""], dtype="str")))
    False
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame, got {type(frame).__name__}")
    buffers = _buffers(frame) if len(frame) >= _DIGESTS_MIN_ROWS and _copy_on_write() else None
    where = None
    if buffers is not None:
        where = (buffers, len(frame), tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)))
        with _DIGESTS_LOCK:
            found = _DIGESTS.get(where)
            if found is not None:
                _DIGESTS.move_to_end(where)
                return found[1]
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()] + [len(frame)]).encode())
    for i in range(frame.shape[1]):
        h.update(_column_digest(frame.iloc[:, i]))
    digest = h.hexdigest()
    if where is not None:
        with _DIGESTS_LOCK:
            _DIGESTS[where] = (frame.copy(deep=False), digest)
            _DIGESTS.move_to_end(where)
            while len(_DIGESTS) > _DIGESTS_SIZE:
                _DIGESTS.popitem(last=False)
    return digest


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


def cache_key(module: str | None = None, /, **parts: object) -> str:
    """sha256 of a canonical JSON of ``parts``, the package version and :func:`source_digest`.

    ``module`` names the module whose result is cached (pass ``__name__``): the key then
    follows only the code that module runs, so an edit elsewhere in the package keeps its cache.

    Examples
    --------
    >>> cache_key(seed=1, scales=[0.01]) == cache_key(scales=(0.01,), seed=1)
    True
    >>> cache_key(seed=1) == cache_key(seed=2)
    False
    """
    from .. import __version__

    text = json.dumps(
        {"version": __version__, "source": source_digest(module), "parts": parts},
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


def cache_folder(cache: str | os.PathLike | bool | None) -> Path | None:
    """The folder a ``cache=`` argument names: ``True`` the data's (:func:`povanalysis.config.cache_dir`),
    ``None`` or ``False`` none (compute every time), or the path given.

    Examples
    --------
    >>> cache_folder(None), cache_folder("x").name
    (None, 'x')
    """
    if cache is True:
        from .. import config

        return config.cache_dir()
    if cache is None or cache is False:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return Path(cache)
    raise TypeError(f"'cache' should be a folder, True (the data's cache folder) or None, got {cache!r}")


_SMALL_ARRAY = 64  # numeric arrays up to this size are kept in the JSON, larger ones in Parquet


def _tag(kind: str, **rest: object) -> dict:
    return {"~": kind, **rest}


class _Codec:
    """Turns a results object into JSON and frames and back; an object met twice is stored once
    and comes back as one object (``model.baseline is model.baselines[0]`` stays true)."""

    def __init__(self, classes: Sequence[type], frames: list[pd.DataFrame] | None = None):
        self.classes = {cls.__qualname__: cls for cls in classes}
        self.frames = [] if frames is None else frames
        self.objects: dict = {}

    def part(self, frame: pd.DataFrame) -> int:
        self.frames.append(frame)
        return len(self.frames) - 1

    def encode(self, value: object) -> object:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, pd.DataFrame):
            if not value.attrs:
                return _tag("frame", part=self.part(value))
            bare = value.copy(deep=False)
            bare.attrs = {}
            return _tag("frame", part=self.part(bare), attrs=self.encode(dict(value.attrs)))
        if isinstance(value, pd.Series):
            return _tag("series", part=self.part(value.to_frame(name="values")), name=self.encode(value.name))
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            if value.size <= _SMALL_ARRAY:
                return _tag("ndarray", dtype=value.dtype.str, shape=list(value.shape), values=value.ravel().tolist())
            part = self.part(pd.DataFrame({"values": value.ravel()}))
            return _tag("array", part=part, dtype=value.dtype.str, shape=list(value.shape))
        if isinstance(value, tuple):
            return _tag("tuple", values=[self.encode(v) for v in value])
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return _tag("dict", values={k: self.encode(v) for k, v in value.items()})
        if dataclasses.is_dataclass(value) and self.classes.get(type(value).__qualname__) is type(value):
            if id(value) in self.objects:
                return _tag("same", ref=self.objects[id(value)][0])
            ref = len(self.objects)
            self.objects[id(value)] = (ref, value)  # the value is held, so its id is not reused meanwhile
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return _tag("object", cls=type(value).__qualname__, ref=ref, fields=fields)
        raise TypeError(f"a cached result cannot hold {type(value).__name__}: {value!r:.80}")

    def decode(self, value: object) -> object:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        kind = value["~"]
        if kind == "frame":
            frame = self.frames[value["part"]]
            if "attrs" in value:
                frame.attrs = self.decode(value["attrs"])
            return frame
        if kind == "series":
            return self.frames[value["part"]]["values"].rename(self.decode(value["name"]))
        if kind == "array":
            values = self.frames[value["part"]]["values"].to_numpy(dtype=np.dtype(value["dtype"]))
            return values.reshape(value["shape"])
        if kind == "ndarray":
            return np.array(value["values"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        if kind == "tuple":
            return tuple(self.decode(v) for v in value["values"])
        if kind == "dict":
            return {k: self.decode(v) for k, v in value["values"].items()}
        if kind == "same":
            return self.objects[value["ref"]]
        cls = self.classes[value["cls"]]  # only the classes the caller names are ever made
        obj = cls.__new__(cls)
        self.objects[value["ref"]] = obj
        for name, field_value in value["fields"].items():
            object.__setattr__(obj, name, self.decode(field_value))
        return obj


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), buffer)
    return buffer.getvalue()


def cached_result(
    folder: str | os.PathLike | None, key: str, compute: Callable[[], T], *, classes: Sequence[type]
) -> T:
    """The results object stored under ``key`` in ``folder``, or ``compute()``'s, stored there first.

    A results object is a dataclass of ``classes`` whose fields hold numbers, text, tuples,
    lists, dicts, numeric arrays, frames, series or other such dataclasses.  Its frames, series
    and arrays (but the smallest) go to Parquet files (``<key>/<n>.parquet``), the rest to ``<key>.json``, written
    last: a result is read back only when every part of it was written.  Nothing is unpickled:
    only the dataclasses named in ``classes`` are made.  The first call returns what later calls
    read back (the stored frames, read), so a first run and the next ones agree to the dtype.  With
    ``folder=None`` nothing is read or written.  Frames must have text column names (as Parquet does);
    their ``attrs`` are kept.

    Examples
    --------
    >>> import tempfile
    >>> @dataclasses.dataclass
    ... class Fit:
    ...     effect: float
    ...     table: pd.DataFrame
    >>> folder = tempfile.mkdtemp()
    >>> key = cache_key(example=2)
    >>> fit = cached_result(folder, key, lambda: Fit(0.5, pd.DataFrame({"x": [1]})), classes=[Fit])
    >>> cached_result(folder, key, lambda: 1 / 0, classes=[Fit]).effect
    0.5
    """
    if folder is None:
        return compute()
    if not isinstance(key, str) or not key.isalnum():
        raise ValueError(f"'key' should be a hex digest (see cache_key), got {key!r}")
    folder = Path(folder)
    manifest, parts = folder / f"{key}.json", folder / key
    if manifest.exists():
        try:
            stored = json.loads(manifest.read_text(encoding="utf-8"))
            frames = [pq.read_table(parts / f"{i}.parquet").to_pandas() for i in range(stored["parts"])]
            return _Codec(classes, frames).decode(stored["value"])
        except (OSError, ValueError, KeyError, pa.ArrowException):  # absent or unreadable: compute again
            pass
    codec = _Codec(classes)
    value = codec.encode(compute())
    stored = [_frame_bytes(frame) for frame in codec.frames]
    for i, data in enumerate(stored):
        atomic_write_bytes(parts / f"{i}.parquet", data)
    text = json.dumps({"parts": len(stored), "value": value}, allow_nan=True, ensure_ascii=False)
    atomic_write_bytes(manifest, text.encode("utf-8"))
    # what is returned is what a later call reads back, so a first run and the next ones agree
    frames = [pq.read_table(pa.BufferReader(data)).to_pandas() for data in stored]
    return _Codec(classes, frames).decode(value)
