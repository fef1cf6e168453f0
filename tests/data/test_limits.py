"""The caps on input files: their defaults, their checks and the errors that say how to raise them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from povanalysis.data.footprint import check_zip_members, parquet_decoded_bytes
from povanalysis.data.limits import DEFAULT_LIMITS, RATIO_FLOOR_BYTES, LimitError, Limits


def test_defaults_keep_the_country_readable():
    assert DEFAULT_LIMITS == Limits()
    assert DEFAULT_LIMITS.rows >= 27_000_000 * 1.5
    assert DEFAULT_LIMITS.sheet_rows == 1_048_576
    assert (DEFAULT_LIMITS.columns, DEFAULT_LIMITS.cell_chars) == (200, 1_000)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10", float("nan")])
def test_limits_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match=r"Limits\(columns=\.\.\.\) must be a positive number"):
        Limits(columns=bad)
    assert Limits(expansion_ratio=2.5).expansion_ratio == 2.5


def test_the_error_names_file_limit_observed_and_how_to_raise_it():
    with pytest.raises(LimitError) as err:
        Limits().check("x.parquet", "rows", 61_234_567, "the file has 61,234,567 records", unit=" rows")
    assert str(err.value) == (
        "x.parquet: the file has 61,234,567 records, over the limit of 50,000,000 rows (Limits.rows). "
        "If the file is genuine, read it with limits=Limits(rows=62_000_000)."
    )
    e = err.value
    assert (e.path, e.limit, e.observed, e.allowed) == (Path("x.parquet"), "rows", 61_234_567, 50_000_000)
    assert isinstance(e, ValueError)


def test_the_ratio_is_checked_only_past_the_floor():
    Limits().check_expansion("a.csv.gz", RATIO_FLOOR_BYTES, 1, "the decompressed file")
    with pytest.raises(LimitError, match=r"expansion_ratio"):
        Limits().check_expansion("a.csv.gz", RATIO_FLOOR_BYTES + 1, 1_000, "the decompressed file")
    with pytest.raises(
        LimitError, match=r"expands to 2,000 bytes, over the limit of 1,000 bytes \(Limits.expanded_bytes\)"
    ):
        Limits(expanded_bytes=1_000).check_expansion("a.csv.gz", 2_000, 1_000, "the decompressed file")


def test_zip_members_are_measured_one_by_one_and_together(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("small.xml", b"<a/>" * 100)
        archive.writestr("big.xml", b" " * (RATIO_FLOOR_BYTES + 10))
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    check_zip_members(path, members[:1], Limits())
    with pytest.raises(LimitError, match=r"'big.xml' in the workbook expands to 16,777,226 bytes"):
        check_zip_members(path, members, Limits())
    with pytest.raises(
        LimitError, match=r"a.zip: the workbook expands to 16,777,626 bytes, over the limit of 16,777,300"
    ):
        check_zip_members(path, members, Limits(expanded_bytes=16_777_300, expansion_ratio=1e9))


def test_parquet_decoded_bytes_come_from_the_footer(tmp_path):
    path = tmp_path / "a.parquet"
    n = 10_000
    table = pa.table({"i": pa.array(np.arange(n)), "b": pa.array(np.zeros(n, np.int8)), "t": pa.array(["ab"] * n)})
    pq.write_table(table, path)
    handle = pq.ParquetFile(path)
    text = handle.metadata.row_group(0).column(2).total_uncompressed_size
    assert parquet_decoded_bytes(handle.metadata, handle.schema_arrow, ["i", "b"]) == n * 8 + n * 1
    assert parquet_decoded_bytes(handle.metadata, handle.schema_arrow, ["t"]) == n * 4 + text
