"""What a file will take once loaded, measured against the limits before the data are: sizes declared, texts read.

The readers of :mod:`povanalysis.data.sources` call these checks on what a file declares (the
members of a zip, the column chunks and statistics of a Parquet footer) before loading it, and
on each block of text as it is read, before the block is kept.  Each raises
:class:`~povanalysis.data.limits.LimitError`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .limits import RATIO_FLOOR_BYTES, LimitError, Limits

__all__ = [
    "PREVIEW",
    "is_string_type",
    "check_zip_members",
    "parquet_decoded_bytes",
    "check_parquet_statistics",
    "check_text_lengths",
    "too_long",
]

#: Characters of an over-long cell quoted in an error.
PREVIEW = 20


def is_string_type(t: pa.DataType) -> bool:
    """Whether an Arrow type holds text (dictionary-encoded or not).

    Examples
    --------
    >>> is_string_type(pa.dictionary(pa.int32(), pa.string())), is_string_type(pa.int8())
    (True, False)
    """
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def check_zip_members(path: Path, members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Check the sizes a zip directory declares, member by member and in total.

    Python's :mod:`zipfile` never yields more than a member declares (a member that expands
    further fails its CRC check), so the declared sizes bound what any reader will decompress.
    """
    for info in members:
        if info.file_size > RATIO_FLOOR_BYTES:
            limits.check_expansion(path, info.file_size, info.compress_size, f"{info.filename!r} in the workbook")
    total = sum(info.file_size for info in members)
    limits.check_expansion(path, total, path.stat().st_size, "the workbook")


def parquet_decoded_bytes(meta, schema: pa.Schema, names: list[str]) -> int:
    """Bytes the columns ``names`` take once decoded: values times their width, text at least as stored uncompressed.

    Computed from the footer alone; text read as a dictionary takes 4 bytes per value plus its
    dictionary, which the uncompressed size of the chunk includes.
    """
    leaves = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    total = 0
    for name in names:
        t, j = schema.field(name).type, leaves.get(name)
        if j is None:
            continue
        if pa.types.is_dictionary(t):
            t = t.value_type
        text = is_string_type(t)
        width = 4 if text else 1 if pa.types.is_boolean(t) or pa.types.is_null(t) else t.bit_width // 8
        for group in range(meta.num_row_groups):
            chunk = meta.row_group(group).column(j)
            total += chunk.num_values * width + (chunk.total_uncompressed_size if text else 0)
    return total


def check_parquet_statistics(path: Path, meta, names: list[str], limits: Limits) -> None:
    """Refuse a text column whose row-group statistics already show a value over the length limit."""
    leaves = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    for name in names:
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(leaves[name]).statistics
            if stats is None or not stats.has_min_max:
                continue
            for value in (stats.min, stats.max):
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise too_long(path, limits, f"row group {group}", name, value, None)


def too_long(path: Path, limits: Limits, where: str, column: str, text: str, row: int | None) -> LimitError:
    """The error for a cell at ``where`` in ``column`` whose ``text`` is over the length limit."""
    preview = text[:PREVIEW] + ("…" if len(text) > PREVIEW else "")
    return LimitError(
        path,
        "cell_chars",
        len(text),
        limits.cell_chars,
        f"{where}, column {column!r} holds a text of {len(text):,} characters ({preview!r})",
        unit=" characters",
        row=row,
        column=column,
        value=preview,
    )


def check_text_lengths(
    path: Path, limits: Limits, column: str, values: pa.Array, where: Callable[[int], tuple[str, int | None]]
) -> None:
    """Raise if a text in ``values`` is over the length limit; ``where(i)`` names element ``i`` (words, row).

    A dictionary array is measured by its dictionary: a million copies of one text cost one measure.

    Examples
    --------
    >>> check_text_lengths("a.csv", Limits(cell_chars=3), "name", pa.array(["abc"]), lambda i: (f"row {i + 1}", i + 1))
    >>> check_text_lengths("a.csv", Limits(cell_chars=3), "name", pa.array(["ab", "abcd"]).dictionary_encode(),
    ...                    lambda i: (f"row {i + 1}", i + 1))
    Traceback (most recent call last):
    ...
    povanalysis.data.limits.LimitError: a.csv: row 2, column 'name' holds a text of 4 characters ('abcd'), over the limit of 3 characters (Limits.cell_chars). If the file is genuine, read it with limits=Limits(cell_chars=4).
    """
    if len(values) == 0:
        return
    if pa.types.is_dictionary(values.type):
        lengths = pc.utf8_length(values.dictionary.cast(pa.large_string()))
        if (pc.max(lengths).as_py() or 0) <= limits.cell_chars:
            return
        long_codes = pc.indices_nonzero(pc.greater(lengths, limits.cell_chars))
        hits = pc.indices_nonzero(pc.is_in(values.indices, value_set=long_codes.cast(values.indices.type)))
        if len(hits) == 0:  # an entry of the dictionary that no row uses
            return
        i = hits[0].as_py()
    else:
        lengths = pc.utf8_length(values.cast(pa.large_string()))
        if (pc.max(lengths).as_py() or 0) <= limits.cell_chars:
            return
        i = pc.indices_nonzero(pc.greater(lengths, limits.cell_chars))[0].as_py()
    words, row = where(i)
    raise too_long(path, limits, words, column, values[i].as_py(), row)
