"""Hostile input files, built here in tmp_path: each is refused before it is loaded, or read correctly.

The builders are plain functions so that the peak memory and time of every case can be measured
in a fresh process (``test_hostile_files_stay_within_memory_in_a_fresh_process``).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from povanalysis.data import registry
from povanalysis.data.io import ValidationError, read_households
from povanalysis.data.limits import LimitError, Limits
from povanalysis.data.schema import HOUSEHOLD_COLUMNS

HEADER = list(HOUSEHOLD_COLUMNS)
CODE = sorted(registry.known_codes(2025))[0]
FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(1+1)", '=HYPERLINK("http://x","y")']


def household_cells(i: int = 0) -> list[str]:
    """One valid household record as text cells, in schema order."""
    values = {
        "household_id": f"H{i:06d}",
        "review_year": "2024",
        "commune_code": CODE,
        "area": "rural",
        "ethnicity": "Tày",
        "size": "4",
        "income_pc": "1500000",
    }
    return [values.get(c, "0") for c in HEADER]


# ----------------------------------------------------------------------------------- builders


def huge_cells_parquet(path: Path, *, rows: int = 300, chars: int = 10_000_000, arrow_schema: bool = True) -> Path:
    """``rows`` records whose ethnicity is one text of ``chars`` characters (dictionary-encoded: a few hundred KB)."""
    cells = household_cells()
    columns = {c: pa.array([v] * rows) for c, v in zip(HEADER, cells)}
    columns["ethnicity"] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array(["x" * chars]))
    pq.write_table(pa.table(columns), path, store_schema=arrow_schema)
    return path


def identical_rows_parquet(path: Path, *, rows: int = 6_000_000, group: int = 1_000_000) -> Path:
    """``rows`` copies of one household, written group by group (a few hundred KB on disk)."""
    cells = household_cells()
    block = {}
    for c, v in zip(HEADER, cells):
        kind = HOUSEHOLD_COLUMNS[c]
        if kind in ("int", "int>=1"):
            block[c] = pa.array(np.full(group, int(v), np.int64))
        elif kind == "money>=0":
            block[c] = pa.array(np.full(group, float(v)))
        elif kind == "binary":
            block[c] = pa.array(np.zeros(group, np.int8))
        else:
            block[c] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(group, np.int32)), pa.array([v])).cast(
                pa.string()
            )
    table = pa.table(block)
    with pq.ParquetWriter(path, table.schema) as writer:
        for start in range(0, rows, group):
            writer.write_table(table.slice(0, min(group, rows - start)))
    return path


def _rewrite_member(path: Path, member: str, transform) -> None:
    """Rewrite one member of a zip file (streaming the new content when ``transform`` yields chunks)."""
    with zipfile.ZipFile(path) as old:
        contents = {i.filename: old.read(i.filename) for i in old.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in contents.items():
            if name != member:
                new.writestr(name, data)
                continue
            with new.open(name, "w", force_zip64=True) as out:
                for chunk in transform(data):
                    out.write(chunk)


def households_xlsx(path: Path, n: int) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i in range(n):
        sheet.append(household_cells(i))
    book.save(path)
    return path


def lying_dimension_xlsx(path: Path, *, n: int, ref: str, empty_row: int | None = None) -> Path:
    """``n`` households whose sheet claims the range ``ref`` (larger or smaller than the truth).

    ``empty_row`` adds an empty ``<row>`` element with that number, as exporters write for formatted rows.
    """
    households_xlsx(path, n)

    def claim(xml: bytes):
        xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml, count=1)
        if empty_row:
            xml = xml.replace(b"</sheetData>", f'<row r="{empty_row}"/></sheetData>'.encode())
        yield xml

    _rewrite_member(path, "xl/worksheets/sheet1.xml", claim)
    return path


def zip_bomb_xlsx(path: Path, *, xml_bytes: int = 65_000_000) -> Path:
    """A valid workbook whose sheet XML repeats one household row until it reaches ``xml_bytes``."""
    households_xlsx(path, 1)

    def bomb(xml: bytes):
        text = xml.decode()
        start, end = text.index("<sheetData>") + len("<sheetData>"), text.index("</sheetData>")
        rows = re.findall(r"<row .*?</row>", text[start:end], flags=re.S)
        data_row = re.sub(r' r="[A-Z]*\d+"', "", rows[1]).encode()  # no coordinates: every copy identical
        n = xml_bytes // len(data_row) + 1
        head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:U{n + 1}"/>', text[:start])
        yield (head + rows[0]).encode()
        written = start + len(rows[0])
        chunk = data_row * max(1, (1 << 20) // len(data_row))
        while written < xml_bytes:
            yield chunk
            written += len(chunk)
        yield text[end:].encode()

    _rewrite_member(path, "xl/worksheets/sheet1.xml", bomb)
    return path


def wide_xlsx(path: Path) -> Path:
    """Two households, the second with a value in column XFD (16,384)."""
    households_xlsx(path, 2)

    def widen(xml: bytes):
        yield xml.replace(b"</row></sheetData>", b'<c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')

    _rewrite_member(path, "xl/worksheets/sheet1.xml", widen)
    return path


def far_row_xlsx(path: Path, *, row: int = 2_000_000) -> Path:
    """One household, then a cell in a row past the last row a worksheet can have."""
    households_xlsx(path, 1)

    def far(xml: bytes):
        yield xml.replace(b"</sheetData>", f'<row r="{row}"><c r="A{row}"><v>1</v></c></row></sheetData>'.encode())

    _rewrite_member(path, "xl/worksheets/sheet1.xml", far)
    return path


def understated_zip_xlsx(path: Path) -> Path:
    """A workbook whose zip directory declares the sheet smaller than it is."""
    households_xlsx(path, 50)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))  # the central directory entry of the sheet
    data[at + 24 : at + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def gzip_bomb_csv(path: Path, *, expanded: int = 40_000_000) -> Path:
    line = (",".join(household_cells()) + "\n").encode()
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write((",".join(HEADER) + "\n").encode())
        chunk = line * max(1, (1 << 20) // len(line))
        for _ in range(0, expanded, len(chunk)):
            out.write(chunk)
    return path


def unknown_columns_csv(path: Path, *, n: int = 1_000) -> Path:
    extra = [f"x{i}" for i in range(n)]
    path.write_text(",".join(HEADER + extra) + "\n" + ",".join(household_cells() + ["1"] * n) + "\n", encoding="utf-8")
    return path


def huge_cell_csv(path: Path, *, chars: int = 2_000) -> Path:
    cells = household_cells()
    cells[HEADER.index("ethnicity")] = "y" * chars
    path.write_text(",".join(HEADER) + "\n" + ",".join(household_cells(1)) + "\n" + ",".join(cells) + "\n")
    return path


def formula_ids_csv(path: Path) -> Path:
    """Households with formula-like ids, each with an invalid size so that it goes to quarantine."""
    rows = [HEADER]
    for i, formula in enumerate(FORMULAS):
        cells = household_cells(i)
        cells[0], cells[HEADER.index("size")] = formula, "0"
        rows.append(cells)
    rows.append(household_cells(99))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


#: Every hostile case: (builder, file name, reader keyword arguments).
CASES = {
    "huge_cells_parquet": (huge_cells_parquet, "huge.parquet", {}),
    "huge_cells_parquet_no_arrow_schema": (
        lambda p: huge_cells_parquet(p, arrow_schema=False),
        "huge_plain.parquet",
        {},
    ),
    "identical_rows_parquet": (identical_rows_parquet, "identical.parquet", {}),
    "dimension_claims_3000x16384": (
        lambda p: lying_dimension_xlsx(p, n=3, ref="A1:XFD3000", empty_row=3000),
        "claims_more.xlsx",
        {},
    ),
    "dimension_stale": (lambda p: lying_dimension_xlsx(p, n=50, ref="A1:U3"), "claims_less.xlsx", {}),
    "zip_bomb_xlsx": (zip_bomb_xlsx, "bomb.xlsx", {}),
    "wide_xlsx": (wide_xlsx, "wide.xlsx", {}),
    "far_row_xlsx": (far_row_xlsx, "far.xlsx", {}),
    "gzip_bomb_csv": (gzip_bomb_csv, "bomb.csv.gz", {}),
    "unknown_columns_csv": (unknown_columns_csv, "unknown.csv", {}),
    "huge_cell_csv": (huge_cell_csv, "huge.csv", {}),
}


# ----------------------------------------------------------------------------------- parquet


@pytest.mark.parametrize("arrow_schema", [True, False])
def test_parquet_with_huge_cells_is_refused_before_decoding(tmp_path, arrow_schema):
    path = huge_cells_parquet(tmp_path / "huge.parquet", arrow_schema=arrow_schema)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(LimitError) as err:
        read_households(path)
    assert str(err.value) == (
        f"{path}: record 0 (0-based), column 'ethnicity' holds a text of 10,000,000 characters "
        "('xxxxxxxxxxxxxxxxxxxx…'), over the limit of 1,000 characters (Limits.cell_chars). "
        "If the file is genuine, read it with limits=Limits(cell_chars=10_000_000)."
    )
    e = err.value
    assert (e.limit, e.observed, e.allowed, e.row, e.column) == ("cell_chars", 10_000_000, 1_000, 0, "ethnicity")


def test_parquet_with_huge_plain_cells_is_refused_from_its_metadata(tmp_path):
    path = tmp_path / "plain.parquet"
    cells = household_cells()
    columns = {c: pa.array([v] * 60) for c, v in zip(HEADER, cells)}
    columns["ethnicity"] = pa.array(["x" * 1_000_000] * 60)
    pq.write_table(pa.table(columns), path, use_dictionary=False, compression="zstd")
    with pytest.raises(
        LimitError,
        match=r"plain.parquet: the data to read expands to [\d,]+ bytes from [\d,]+ stored, "
        r"[\d,]+ times, over the limit of 100 times \(Limits.expansion_ratio\)",
    ) as err:
        read_households(path)
    assert err.value.observed > 1_000


def test_six_million_identical_rows_are_refused_from_the_metadata(tmp_path):
    path = identical_rows_parquet(tmp_path / "identical.parquet")
    assert path.stat().st_size < 2_000_000
    with pytest.raises(
        LimitError,
        match=r"identical.parquet: the data to read expands to [\d,]+ bytes from [\d,]+ "
        r"stored, [\d,]+ times, over the limit of 100 times \(Limits.expansion_ratio\). If the file is "
        r"genuine, read it with limits=Limits\(expansion_ratio=[\d_]+\)\.",
    ):
        read_households(path)
    with pytest.raises(
        LimitError, match=r"the file has 6,000,000 records, over the limit of 1,000,000 rows \(Limits.rows\)"
    ):
        read_households(path, limits=Limits(rows=1_000_000))


def test_a_parquet_file_read_with_raised_limits_reports_its_duplicates(tmp_path):
    path = identical_rows_parquet(tmp_path / "identical.parquet", rows=300_000, group=100_000)
    with pytest.raises(ValidationError, match=r"300,000 invalid values in 300,000 rows \(the first 5 shown\)") as err:
        read_households(path, limits=Limits(expansion_ratio=10_000))
    assert len(err.value.problems) == 300_000
    assert "also at record 1 (0-based)" in str(err.value)


# ----------------------------------------------------------------------------------- xlsx


def test_xlsx_dimension_claiming_16384_columns_is_not_trusted(tmp_path):
    path = lying_dimension_xlsx(tmp_path / "more.xlsx", n=3, ref="A1:XFD3000", empty_row=3000)
    hh = read_households(path)
    assert hh["household_id"].tolist() == ["H000000", "H000001", "H000002"]
    info = hh.attrs["povanalysis.io"]
    assert (info["read"], info["valid"], info["quarantined"], info["blank_rows_skipped"]) == (3, 3, 0, 2_996)


def test_xlsx_with_a_stale_dimension_loses_no_row(tmp_path):
    path = lying_dimension_xlsx(tmp_path / "less.xlsx", n=50, ref="A1:U3")
    hh = read_households(path)
    assert len(hh) == 50 and hh["household_id"].iloc[-1] == "H000049"
    assert hh.attrs["povanalysis.io"]["read"] == 50


def test_xlsx_zip_bomb_is_refused_before_parsing(tmp_path):
    path = zip_bomb_xlsx(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(
        LimitError,
        match=r"bomb.xlsx: 'xl/worksheets/sheet1.xml' in the workbook expands to [\d,]+ "
        r"bytes from [\d,]+ stored, [\d,]+ times, over the limit of 100 times \(Limits.expansion_ratio\)",
    ):
        read_households(path)


def test_xlsx_cell_far_right_or_far_down_is_refused(tmp_path):
    with pytest.raises(
        LimitError,
        match=r"wide.xlsx: sheet row 3 has a value in column XFD \(column 16,384\), over "
        r"the limit of 200 columns \(Limits.columns\)",
    ):
        read_households(wide_xlsx(tmp_path / "wide.xlsx"))
    with pytest.raises(
        LimitError,
        match=r"far.xlsx: the sheet has at least 1,048,577 rows, over the limit of "
        r"1,048,576 rows \(Limits.sheet_rows\)",
    ):
        read_households(far_row_xlsx(tmp_path / "far.xlsx"))


def test_xlsx_whose_zip_understates_a_size_is_unreadable(tmp_path):
    path = understated_zip_xlsx(tmp_path / "small.xlsx")
    with pytest.raises(ValidationError, match=r"small.xlsx: not a readable .xlsx workbook \(BadZipFile: Bad CRC-32"):
        read_households(path)


def test_xlsx_huge_cell_names_its_row_and_column(tmp_path):
    path = households_xlsx(tmp_path / "h.xlsx", 2)
    book = openpyxl.load_workbook(path)
    book.active["E3"] = "z" * 5_000
    book.save(path)
    with pytest.raises(
        LimitError,
        match=r"h.xlsx: row 2 \(sheet row 3\), column 'ethnicity' holds a text of 5,000 "
        r"characters \('zzzzzzzzzzzzzzzzzzzz…'\), over the limit of 1,000 characters",
    ):
        read_households(path)


# ----------------------------------------------------------------------------------- csv


def test_gzip_bomb_csv_is_refused_while_decompressing(tmp_path):
    path = gzip_bomb_csv(tmp_path / "bomb.csv.gz")
    with pytest.raises(
        LimitError,
        match=r"bomb.csv.gz: the decompressed file \(read so far\) expands to [\d,]+ bytes "
        r"from [\d,]+ stored, [\d,]+ times, over the limit of 100 times \(Limits.expansion_ratio\)",
    ):
        read_households(path)


def test_csv_huge_cell_and_too_many_rows_are_refused(tmp_path):
    path = huge_cell_csv(tmp_path / "huge.csv")
    with pytest.raises(LimitError) as err:
        read_households(path)
    assert str(err.value) == (
        f"{path}: row 2, column 'ethnicity' holds a text of 2,000 characters ('yyyyyyyyyyyyyyyyyyyy…'), over the "
        "limit of 1,000 characters (Limits.cell_chars). If the file is genuine, read it with "
        "limits=Limits(cell_chars=2_000)."
    )
    assert read_households(path, limits=Limits(cell_chars=2_000))["ethnicity"].str.len().max() == 2_000
    with pytest.raises(LimitError, match=r"huge.csv: the file has at least 2 rows, over the limit of 1 rows"):
        read_households(path, limits=Limits(rows=1, cell_chars=2_000))
    with pytest.raises(
        LimitError,
        match=r"huge.csv: the file is [\d,]+ bytes, over the limit of 100 bytes "
        r"\(Limits.file_bytes\)",
    ):
        read_households(path, limits=Limits(file_bytes=100))


def test_a_thousand_unknown_columns_are_refused_then_summarised(tmp_path):
    path = unknown_columns_csv(tmp_path / "unknown.csv")
    with pytest.raises(LimitError, match=r"unknown.csv: the file has 1,021 columns, over the limit of 200 columns"):
        read_households(path)
    with pytest.raises(ValidationError) as err:
        read_households(path, limits=Limits(columns=2_000))
    message = str(err.value)
    assert "unknown column(s) ['x0', 'x1', 'x2', 'x3', 'x4'] … and 995 more (pass extra='keep' to keep them)" in message
    assert "x999" not in message and len(message) < 1_000
    assert len(err.value.problems) == 1_000


def test_formula_ids_are_neutralised_in_the_quarantine_file(tmp_path):
    path, qpath = formula_ids_csv(tmp_path / "households.csv"), tmp_path / "q.csv"
    hh = read_households(path, quarantine=qpath)
    assert hh["household_id"].tolist() == ["H000099"]
    with open(qpath, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    ids = [r[rows[0].index("household_id")] for r in rows[1:]]
    assert ids == ["'" + f for f in FORMULAS]
    dangerous = [cell for r in rows for cell in r if cell[:1] in ("=", "+", "-", "@")]
    assert dangerous == []


# ----------------------------------------------------------------------------------- memory


MEASURE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from test_hostile_input import CASES
from povanalysis.data.io import read_households
folder, out = sys.argv[2], {}
for name in json.loads(sys.argv[3]):
    build, file, kwargs = CASES[name]
    t = time.perf_counter()
    try:
        outcome = f"read {len(read_households(folder + '/' + file, **kwargs))} rows"
    except ValueError as exc:
        outcome = type(exc).__name__
    out[name] = [outcome, time.perf_counter() - t]
try:  # the peak of this process's memory since exec (getrusage keeps the parent's peak across exec)
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
    out["peak_rss_mb"] = int(hwm.split()[1]) / 1024
except OSError:
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def test_hostile_files_stay_within_memory_in_a_fresh_process(tmp_path):
    for build, file, _ in CASES.values():
        build(tmp_path / file)
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(Path(__file__).parent), str(tmp_path), json.dumps(list(CASES))],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(result.stdout)
    assert out.pop("peak_rss_mb") < 400, out  # about 250 MB measured, most of it the imports
    outcomes = {name: value[0] for name, value in out.items()}
    assert outcomes == {
        "huge_cells_parquet": "LimitError",
        "huge_cells_parquet_no_arrow_schema": "LimitError",
        "identical_rows_parquet": "LimitError",
        "dimension_claims_3000x16384": "read 3 rows",
        "dimension_stale": "read 50 rows",
        "zip_bomb_xlsx": "LimitError",
        "wide_xlsx": "LimitError",
        "far_row_xlsx": "LimitError",
        "gzip_bomb_csv": "LimitError",
        "unknown_columns_csv": "LimitError",
        "huge_cell_csv": "LimitError",
    }
