"""Tests of povanalysis.data.io: reading, validation, quarantine and deterministic Parquet."""

from __future__ import annotations

import datetime as dt
import gzip
import unicodedata

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from povanalysis.data import registry
from povanalysis.data.io import (
    OPTIONAL_HOUSEHOLD_COLUMNS,
    PaddedCodesWarning,
    ValidationError,
    read_households,
    read_loans,
    read_parquet,
    write_parquet,
)
from povanalysis.data.schema import DEPRIVATIONS, HOUSEHOLD_COLUMNS, LOAN_COLUMNS
from povanalysis.data.villages import check_villages
from povanalysis.measure.standards import classify

CODES = sorted(registry.known_codes(2025))
ETHNICITIES = ["Kinh", "Tày", "Nùng", "H'Mông", "Sán Dìu", "Dao"]


def households_text(n: int = 6, *, optional: bool = True) -> pd.DataFrame:
    """A valid household table, every cell as the text a CSV would hold."""
    rng = np.random.default_rng(n)
    frame = pd.DataFrame(
        {
            "household_id": [f"H{i:05d}" for i in range(n)],
            "review_year": ["2024"] * n,
            "commune_code": [CODES[i % len(CODES)] for i in range(n)],
            "area": ["rural" if i % 3 else "urban" for i in range(n)],
            "ethnicity": [ETHNICITIES[i % len(ETHNICITIES)] for i in range(n)],
            "size": [str(1 + i % 7) for i in range(n)],
            "income_pc": [str(500_000 + 125_000 * i) for i in range(n)],
        }
    )
    for d in DEPRIVATIONS:
        if optional or d not in OPTIONAL_HOUSEHOLD_COLUMNS:
            frame[d] = rng.integers(0, 2, n).astype(str)
    return frame


def loans_text(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": [f"H{i:05d}" for i in range(n)],
            "programme": [("poor", "near_poor", "newly_escaped")[i % 3] for i in range(n)],
            "disbursed": [f"2023-0{1 + i % 9}-15" for i in range(n)],
            "amount": [str(20_000_000 + 5_000_000 * i) for i in range(n)],
            "rate": ["0.066", "0.0792", "0.0825", "0.066"][:n] + ["0.066"] * max(0, n - 4),
            "term_months": [str(12 * (1 + i % 5)) for i in range(n)],
        }
    )


def write_csv(frame: pd.DataFrame, path, *, encoding: str = "utf-8") -> None:
    frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")


def write_xlsx(rows: list[list], path, *, title: str = "households") -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)


def set_cell(frame: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    out = frame.copy()
    out.loc[row, column] = value
    return out


# ------------------------------------------------------------------------------- round trips


def test_csv_round_trip_dtypes_and_values(tmp_path):
    frame = households_text()
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    hh = read_households(path)
    assert list(hh.columns) == list(HOUSEHOLD_COLUMNS)
    assert hh["review_year"].dtype == "int64" and hh["size"].dtype == "int64"
    assert hh["income_pc"].dtype == "float64"
    assert all(hh[d].dtype == "int8" for d in DEPRIVATIONS)
    assert all(pd.api.types.is_string_dtype(hh[c]) for c in ("household_id", "commune_code", "area", "ethnicity"))
    assert hh["commune_code"].tolist() == frame["commune_code"].tolist()
    assert hh["income_pc"].tolist() == [float(x) for x in frame["income_pc"]]
    assert hh["d_water"].tolist() == [int(x) for x in frame["d_water"]]
    assert hh.attrs["povanalysis.io"] == {
        "path": str(path),
        "format": "csv",
        "read": 6,
        "valid": 6,
        "quarantined": 0,
        "quarantine_path": None,
        "blank_rows_skipped": 0,
        "padded_codes": {},
        "summary": f"{path}: 6 rows read = 6 valid + 0 quarantined",
    }


def test_csv_with_bom_gzip_and_nfd_text(tmp_path):
    frame = households_text()
    frame.loc[1, "ethnicity"] = unicodedata.normalize("NFD", "Tày")
    path = tmp_path / "households.csv.gz"
    path.write_bytes(gzip.compress(frame.to_csv(index=False).encode("utf-8-sig")))
    hh = read_households(path)
    assert hh.loc[1, "ethnicity"] == unicodedata.normalize("NFC", "Tày") != frame.loc[1, "ethnicity"]
    assert hh.columns[0] == "household_id"


def test_whitespace_is_stripped_and_blank_lines_skipped_but_counted(tmp_path):
    lines = households_text(3).to_csv(index=False, lineterminator="\n").splitlines()
    lines[1] = lines[1].replace("H00000", "  H00000 ")
    path = tmp_path / "households.csv"
    path.write_text("\n".join(lines[:2] + ["", ",,"] + lines[2:]) + "\n", encoding="utf-8")
    hh = read_households(path)
    assert hh["household_id"].tolist() == ["H00000", "H00001", "H00002"]
    info = hh.attrs["povanalysis.io"]
    assert (info["read"], info["valid"], info["blank_rows_skipped"]) == (3, 3, 2)
    lines[3] = lines[3].replace("H00002,2024,", "H00002,2024x,")
    path.write_text("\n".join(lines[:2] + ["", ",,"] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"row 5 \(line 6 of the file\), column 'review_year': .*got '2024x'"):
        read_households(path)


def test_xlsx_round_trip_with_numeric_cells_and_sheet_name(tmp_path):
    frame = households_text()
    rows = [list(frame.columns)]
    for record in frame.itertuples(index=False):
        cells = list(record)
        cells[1] = int(cells[1])  # review_year typed as a number
        cells[5] = int(cells[5])
        cells[6] = float(cells[6])
        rows.append(cells)
    path = tmp_path / "households.xlsx"
    write_xlsx(rows, path, title="2024")
    hh = read_households(path, sheet="2024")
    assert hh["review_year"].tolist() == [2024] * 6
    assert hh["commune_code"].tolist() == frame["commune_code"].tolist()
    with pytest.raises(ValidationError, match=r"no sheet named 'Sheet9'.*\['2024'\]"):
        read_households(path, sheet="Sheet9")


def test_parquet_round_trip_through_write_parquet(tmp_path):
    src = tmp_path / "households.csv"
    write_csv(households_text(), src)
    hh = read_households(src)
    out = write_parquet(hh, tmp_path / "households.parquet")
    again = read_households(out)
    pd.testing.assert_frame_equal(again, hh)
    pd.testing.assert_frame_equal(read_parquet(out), hh)


def test_optional_deprivations_may_be_absent_then_2026_standard_raises(tmp_path):
    path = tmp_path / "households.csv"
    write_csv(households_text(optional=False), path)
    hh = read_households(path)
    assert not set(OPTIONAL_HOUSEHOLD_COLUMNS) & set(hh.columns)
    assert set(OPTIONAL_HOUSEHOLD_COLUMNS) == {"d_internet", "d_waste"}
    assert len(classify(hh, standard="2022-2025")) == 6
    with pytest.raises(ValueError, match="d_internet"):
        classify(hh, standard="2026-2030")


# ------------------------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("wrong", "right"),
    [("d_emplyment", "d_employment"), ("Income_pc", "income_pc"), ("commune code", "commune_code")],
)
def test_near_miss_column_names_are_rejected_with_suggestion(tmp_path, wrong, right):
    path = tmp_path / "households.csv"
    write_csv(households_text().rename(columns={right: wrong}), path)
    with pytest.raises(
        ValidationError, match=rf"households.csv: unknown column '{wrong}' \(did you mean '{right}'\?\)"
    ) as err:
        read_households(path, extra="keep")
    assert err.value.column == wrong
    assert right in err.value.problems["column"].tolist()  # also reported missing


def test_missing_required_columns_are_listed(tmp_path):
    path = tmp_path / "households.csv"
    write_csv(households_text().drop(columns=["size", "d_water"]), path)
    with pytest.raises(ValidationError, match=r"missing required column\(s\) \['size', 'd_water'\]"):
        read_households(path)


def test_unknown_extra_column_raises_unless_kept(tmp_path):
    path = tmp_path / "households.csv"
    write_csv(households_text().assign(village=["Bản Cọn"] * 6), path)
    with pytest.raises(ValidationError, match=r"unknown column\(s\) \['village'\] \(pass extra='keep'"):
        read_households(path)
    hh = read_households(path, extra="keep")
    assert hh.columns[-1] == "village" and hh["village"].iloc[0] == "Bản Cọn"


def test_duplicate_header_and_ragged_line(tmp_path):
    path = tmp_path / "households.csv"
    frame = households_text(2)
    text = frame.to_csv(index=False, lineterminator="\n")
    path.write_text(text.replace("d_waste", "size", 1), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"column 'size' appears twice in the header \(columns 6 and 21\)"):
        read_households(path)
    lines = text.splitlines()
    lines[2] += ",extra"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"line 3 has 22 fields but the header has 21"):
        read_households(path)


def test_semicolon_separated_file_gets_advice(tmp_path):
    path = tmp_path / "households.csv"
    households_text(2).to_csv(path, index=False, sep=";")
    with pytest.raises(ValidationError, match=r"save the file with commas"):
        read_households(path)


# ------------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("size", "three", r"must be a whole number >= 1"),
        ("size", "0", r"must be a whole number >= 1"),
        ("size", "2.5", r"must be a whole number >= 1"),
        ("income_pc", "1,5 triệu", r"must be a plain number in VND"),
        ("income_pc", "-100", r"must not be negative"),
        ("d_water", "2", r"deprivation indicator must be 0 or 1"),
        ("d_water", "yes", r"deprivation indicator must be 0 or 1"),
        ("d_water", "", r"required value is empty"),
        ("ethnicity", "", r"required value is empty"),
        ("commune_code", "99999", r"not a commune code of vintage 2025"),
        (
            "commune_code",
            "9999",
            r"commune code must be 5 digits with leading zeros \(e.g. '01840'\); '09999' is not a commune code of "
            r"vintage 2025 either",
        ),
        ("commune_code", "0184O", r"commune code must be 5 digits"),
        ("area", "Rural", r"must be one of 'rural', 'urban'"),
        ("review_year", "2050", r"review year outside the plausible range 2016–2035"),
        ("review_year", "2015", r"review year outside the plausible range 2016–2035"),
    ],
)
def test_bad_value_is_named_with_file_row_column_and_value(tmp_path, column, value, problem):
    path = tmp_path / "households.csv"
    write_csv(set_cell(households_text(), 3, column, value), path)
    where = rf"households.csv: 1 invalid value in 1 row:\n  row 4 \(line 5 of the file\), column '{column}': "
    with pytest.raises(ValidationError, match=where + problem + rf".*, got {value!r}") as err:
        read_households(path)
    e = err.value
    assert (e.path, e.row, e.column, e.value) == (path, 4, column, value)
    assert e.problems[["row", "column", "value"]].values.tolist() == [[4, column, value]]


def test_commune_codes_follow_the_vintage(tmp_path):
    old_only = sorted(registry.known_codes(2024) - registry.known_codes(2025))[0]
    path = tmp_path / "households.csv"
    write_csv(households_text().assign(commune_code=old_only), path)
    assert read_households(path, vintage=2024)["commune_code"].eq(old_only).all()
    with pytest.raises(ValidationError, match=rf"not a commune code of vintage 2025.*got '{old_only}'"):
        read_households(path)
    with pytest.raises(ValueError, match="vintage must be one of"):
        read_households(path, vintage=2023)


def test_excel_numeric_commune_code_is_padded_when_known_and_an_error_otherwise(tmp_path):
    frame = households_text(3)
    rows = [list(frame.columns)] + [list(r) for r in frame.itertuples(index=False)]
    code = rows[2][2]
    rows[2][2] = rows[3][2] = int(code)  # "01843" typed as a number: 1843
    path = tmp_path / "households.xlsx"
    write_xlsx(rows, path)
    with pytest.warns(PaddedCodesWarning) as caught:
        hh = read_households(path)
    assert str(caught[0].message) == (
        f"{path}: column 'commune_code': 2 codes written as numbers were zero-padded to the 5-digit codes of the "
        f"registry (e.g. '{int(code)}' read as '{code}' at row 2 (sheet row 3))"
    )
    assert hh["commune_code"].tolist() == [frame.loc[0, "commune_code"], code, code]
    info = hh.attrs["povanalysis.io"]
    assert info["padded_codes"] == {"commune_code": 2}
    assert info["summary"] == f"{path}: 3 rows read = 3 valid + 0 quarantined; 2 codes in 'commune_code' zero-padded"
    rows[3][2] = 9999
    write_xlsx(rows, path)
    with pytest.raises(
        ValidationError,
        match=r"row 3 \(sheet row 4\), column 'commune_code': commune code must be 5 digits with leading zeros "
        r"\(e.g. '01840'\); '09999' is not a commune code of vintage 2025 either.*got '9999'",
    ):
        read_households(path)


def test_duplicate_household_in_a_review_year_names_both_rows(tmp_path):
    frame = households_text()
    frame.loc[4, "household_id"] = "H00001"
    frame.loc[5, ["household_id", "review_year"]] = ["H00002", "2023"]  # same id, other year: fine
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError, match=r"2 invalid values in 2 rows") as err:
        read_households(path)
    message = str(err.value)
    assert (
        "row 2 (line 3 of the file), column 'household_id': duplicate household_id within review_year 2024: "
        "also at row 5 (line 6 of the file), got 'H00001'" in message
    )
    assert (
        "row 5 (line 6 of the file), column 'household_id': duplicate household_id within review_year 2024: "
        "also at row 2 (line 3 of the file), got 'H00001'" in message
    )


def test_rows_of_a_larger_duplicate_group_name_its_first_row(tmp_path):
    frame = households_text(5)
    frame.loc[[2, 4], "household_id"] = "H00000"
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError, match=r"3 invalid values in 3 rows") as err:
        read_households(path)
    assert err.value.problems["problem"].tolist() == [
        "duplicate household_id within review_year 2024: also at row 3 (line 4 of the file)",
        "duplicate household_id within review_year 2024: also at row 1 (line 2 of the file)",
        "duplicate household_id within review_year 2024: also at row 1 (line 2 of the file)",
    ]


def test_every_problem_is_collected_and_the_message_shows_five(tmp_path):
    frame = households_text(8)
    frame["size"] = "x"
    frame.loc[7, "income_pc"] = "-1"
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError, match=r"9 invalid values in 8 rows \(the first 5 shown\)") as err:
        read_households(path)
    assert len(err.value.problems) == 9
    assert str(err.value).count("\n  row ") == 5
    assert err.value.problems.iloc[-1].to_dict() == {
        "row": 8,
        "column": "income_pc",
        "value": "-1",
        "problem": "must not be negative",
    }


def test_line_numbers_follow_quoted_line_breaks(tmp_path):
    frame = households_text(3).assign(note=["a", "two\nlines", "c"])
    frame.loc[2, "size"] = "0"
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError, match=r"row 3 \(line 5 of the file\), column 'size'"):
        read_households(path, extra="keep")


def test_parquet_records_are_numbered_from_zero_and_types_checked(tmp_path):
    src = tmp_path / "households.csv"
    write_csv(households_text(), src)
    hh = read_households(src)
    path = tmp_path / "bad.parquet"
    write_parquet(hh.assign(size=hh["size"].where(hh.index != 2, -1)), path)
    with pytest.raises(
        ValidationError, match=r"record 2 \(0-based\), column 'size': must be a whole number >= 1, got -1"
    ):
        read_households(path)
    write_parquet(hh.assign(income_pc=hh["income_pc"].where(hh.index != 4)), path)
    with pytest.raises(
        ValidationError, match=r"record 4 \(0-based\), column 'income_pc': required value is empty, got nan"
    ):
        read_households(path)
    write_parquet(hh.assign(commune_code=hh["commune_code"].astype(int)), path)
    with pytest.warns(PaddedCodesWarning, match=r"6 codes written as numbers .* at record 0 \(0-based\)"):
        assert read_households(path)["commune_code"].tolist() == hh["commune_code"].tolist()
    write_parquet(hh.assign(size=hh["size"] > 2), path)
    with pytest.raises(ValidationError, match=r"column 'size' is stored as bool, expected numbers"):
        read_households(path)


# ------------------------------------------------------------------------------- encodings


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: precomposed letters where it has them, combining tone marks otherwise."""
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            out += unicodedata.normalize("NFC", base + "".join(marks[:-1])).encode("cp1258") + marks[-1].encode(
                "cp1258"
            )
    return out


def test_cp1258_file_is_rejected_with_offset_line_and_cells(tmp_path):
    frame = households_text(4)
    frame["ethnicity"] = ["Kinh", "Tày", "Nùng", "Sán Dìu"]
    text = frame.to_csv(index=False, lineterminator="\n")
    data = cp1258(text)
    offset = data.index(cp1258("Tày")) + 1
    path = tmp_path / "households.csv"
    path.write_bytes(data)
    with pytest.raises(
        ValidationError,
        match=rf"households.csv: the file is not UTF-8: byte 0x.. at byte offset {offset} \(line 3\)(.|\n)*"
        r"line 3, column 'ethnicity': .* \(as Windows-1258: 'Tày'\)(.|\n)*re-save it as 'CSV UTF-8'",
    ) as err:
        read_households(path, quarantine=tmp_path / "q.csv")
    assert err.value.problems["row"].tolist() == [2, 3, 4]
    assert set(err.value.problems["column"]) == {"ethnicity"}
    assert not (tmp_path / "q.csv").exists()


def test_undecodable_bytes_after_a_bom_in_a_ragged_file_report_offset_and_line(tmp_path):
    path = tmp_path / "households.csv"
    path.write_bytes(b"\xef\xbb\xbfhousehold_id,ethnicity\nH1,T\xe0y\nH2,x,y\n")
    with pytest.raises(
        ValidationError,
        match=r"byte 0xE0 at byte offset 30 \(line 2\).*\n  line 2: 'H1,T\\\\xe0y' \(as Windows-1258: 'H1,Tày'\)",
    ) as err:
        read_households(path)
    assert err.value.row == 1


def test_windows_1252_latin1_file_is_rejected(tmp_path):
    path = tmp_path / "households.csv"
    frame = households_text(2).assign(ethnicity=["Kinh", "Mường"])
    path.write_bytes(frame.to_csv(index=False).encode("utf-8").replace("Mường".encode(), b"M\xfd\xf4ng"))
    with pytest.raises(ValidationError, match=r"not UTF-8: byte 0xFD at byte offset \d+ \(line 3\)"):
        read_households(path)


def test_double_encoded_text_is_flagged(tmp_path):
    path = tmp_path / "households.csv"
    mojibake = "Nùng".encode().decode("cp1252")
    write_csv(set_cell(households_text(), 0, "ethnicity", mojibake), path)
    with pytest.raises(ValidationError, match=r"row 1 .*column 'ethnicity': looks double-encoded .*probably 'Nùng'"):
        read_households(path)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_households(tmp_path / "nothere.csv")
    (tmp_path / "households.xls").write_bytes(b"\xd0\xcf")
    with pytest.raises(
        ValidationError, match=r"households.xls: unsupported file format '.xls'.*save it from Excel as .xlsx"
    ):
        read_households(tmp_path / "households.xls")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ValidationError, match="empty.csv: the file is empty"):
        read_households(tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="'sheet' applies only to .xlsx"):
        read_households(tmp_path / "empty.csv", sheet=1)


# ------------------------------------------------------------------------------- quarantine


def test_quarantine_writes_bad_rows_with_every_problem(tmp_path):
    frame = households_text(8)
    frame.loc[1, ["size", "income_pc"]] = ["0", "abc"]
    frame.loc[5, "household_id"] = "H00006"  # duplicate of row 7
    path, qpath = tmp_path / "households.csv", tmp_path / "out" / "quarantine.csv"
    write_csv(frame, path)
    hh = read_households(path, quarantine=qpath)
    info = hh.attrs["povanalysis.io"]
    assert (info["read"], info["valid"], info["quarantined"]) == (8, 5, 3)
    assert info["read"] == info["valid"] + info["quarantined"]
    assert info["quarantine_path"] == str(qpath)
    assert hh["household_id"].tolist() == ["H00000", "H00002", "H00003", "H00004", "H00007"]
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    assert q["row"].tolist() == ["2", "6", "7"] and q["line"].tolist() == ["3", "7", "8"]
    assert (
        q.loc[0, "problem"] == "size: must be a whole number >= 1 (got '0'); income_pc: must be a plain number "
        "in VND (digits, '.' as decimal point, no thousands separators or units) (got 'abc')"
    )
    assert q.loc[1, "household_id"] == q.loc[2, "household_id"] == "H00006"
    assert list(q.columns[2:-1]) == list(frame.columns)


def test_quarantine_without_problems_writes_header_only(tmp_path):
    path, qpath = tmp_path / "households.csv", tmp_path / "q.csv"
    write_csv(households_text(3), path)
    hh = read_households(path, quarantine=qpath)
    assert hh.attrs["povanalysis.io"]["quarantined"] == 0
    assert pd.read_csv(qpath).empty
    with pytest.raises(ValueError, match="'quarantine' must not be the input file"):
        read_households(path, quarantine=path)


def test_file_level_problems_raise_even_with_quarantine(tmp_path):
    path = tmp_path / "households.csv"
    write_csv(households_text().drop(columns="area"), path)
    with pytest.raises(ValidationError, match=r"missing required column\(s\) \['area'\]"):
        read_households(path, quarantine=tmp_path / "q.csv")


BAD_CELLS = {
    "review_year": ["2099", "20x4", ""],
    "commune_code": ["9999", "99999", ""],
    "area": ["town", ""],
    "ethnicity": [""],
    "size": ["0", "three", "-2", "1.5"],
    "income_pc": ["-5", "1,5 triệu", ""],
    "d_employment": ["2", "yes", ""],
    "d_waste": ["-1", "1.5"],
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(min_value=1, max_value=30),
    injections=st.lists(
        st.tuples(st.integers(min_value=0, max_value=29), st.sampled_from(sorted(BAD_CELLS)), st.integers(0, 3)),
        max_size=12,
    ),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_quarantine_reconciles_and_holds_exactly_the_injected_rows(tmp_path, n, injections, fmt):
    frame = households_text(n)
    injected = set()
    for row, column, k in injections:
        if row < n:
            choices = BAD_CELLS[column]
            frame.loc[row, column] = choices[k % len(choices)]
            injected.add(row)
    path = tmp_path / f"households.{fmt}"
    if fmt == "csv":
        write_csv(frame, path)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    qpath = tmp_path / "q.csv"
    hh = read_households(path, quarantine=qpath)
    info = hh.attrs["povanalysis.io"]
    assert info["read"] == n == info["valid"] + info["quarantined"]
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    offset = 1 if fmt == "csv" else 0  # CSV rows are 1-based data rows, Parquet records 0-based
    assert sorted(int(r) - offset for r in q["row"]) == sorted(injected)
    assert set(hh["household_id"]) == {f"H{i:05d}" for i in range(n)} - {f"H{i:05d}" for i in injected}


# ------------------------------------------------------------------------------- loans


def test_loans_round_trip_and_household_link(tmp_path):
    path = tmp_path / "loans.csv"
    write_csv(loans_text(), path)
    loans = read_loans(path)
    assert list(loans.columns) == list(LOAN_COLUMNS)
    assert loans["disbursed"].dtype == "datetime64[us]"
    assert loans["term_months"].dtype == "int64" and loans["amount"].dtype == "float64"
    assert loans["disbursed"].iloc[1] == pd.Timestamp("2023-02-15")
    hh = pd.DataFrame({"household_id": ["H00000", "H00001", "H00002"]})
    with pytest.raises(
        ValidationError,
        match=r"row 4 \(line 5 of the file\), column 'household_id': household_id not found in the "
        r"households frame, got 'H00003'",
    ):
        read_loans(path, households=hh)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("programme", "30a", r"must be one of 'poor', 'near_poor', 'newly_escaped'"),
        ("disbursed", "03/04/2023", r"ambiguous date: write it as YYYY-MM-DD, or pass dayfirst=True"),
        ("disbursed", "2023-02-30", r"not a valid calendar date"),
        ("disbursed", "2023-2-3", r"not a date in the form YYYY-MM-DD"),
        ("disbursed", "1999-05-01", r"disbursement date outside the plausible range 2002-01-01 to 2035-12-31"),
        ("amount", "0", r"must be greater than 0"),
        ("rate", "6.6", r"looks like a percentage: write it as the fraction 0.066"),
        ("rate", "0", r"annual rate must be a fraction in \(0, 0.5\]"),
        ("term_months", "0", r"must be a whole number >= 1"),
        ("household_id", " ", r"required value is empty"),
    ],
)
def test_bad_loan_value_is_named(tmp_path, column, value, problem):
    path = tmp_path / "loans.csv"
    write_csv(set_cell(loans_text(), 2, column, value), path)
    with pytest.raises(
        ValidationError,
        match=rf"loans.csv: 1 invalid value in 1 row:\n  row 3 \(line 4 of the file\), "
        rf"column '{column}': {problem}.*, got {value!r}",
    ):
        read_loans(path)


def test_dayfirst_reads_slash_dates_either_way(tmp_path):
    path = tmp_path / "loans.csv"
    write_csv(set_cell(loans_text(2), 0, "disbursed", "03/04/2023"), path)
    assert read_loans(path, dayfirst=True)["disbursed"].iloc[0] == pd.Timestamp("2023-04-03")
    assert read_loans(path, dayfirst=False)["disbursed"].iloc[0] == pd.Timestamp("2023-03-04")
    write_csv(set_cell(loans_text(2), 0, "disbursed", "13/13/2023"), path)
    with pytest.raises(ValidationError, match="not a valid calendar date, got '13/13/2023'"):
        read_loans(path, dayfirst=True)


def test_loans_xlsx_accepts_excel_dates_and_rejects_times(tmp_path):
    frame = loans_text(2)
    rows = [list(frame.columns)]
    for i, record in enumerate(frame.itertuples(index=False)):
        cells = list(record)
        cells[2] = dt.datetime(2023, 5, 17 + i)
        cells[3], cells[4], cells[5] = float(cells[3]), float(cells[4]), int(cells[5])
        rows.append(cells)
    path = tmp_path / "loans.xlsx"
    write_xlsx(rows, path, title="loans")
    loans = read_loans(path)
    assert loans["disbursed"].tolist() == [pd.Timestamp("2023-05-17"), pd.Timestamp("2023-05-18")]
    assert loans["rate"].tolist() == [0.066, 0.0792]
    rows[2][2] = dt.datetime(2023, 5, 18, 9, 30)
    write_xlsx(rows, path, title="loans")
    with pytest.raises(
        ValidationError,
        match=r"row 2 \(sheet row 3\), column 'disbursed': not a date in the form "
        r"YYYY-MM-DD, got '2023-05-18 09:30:00'",
    ):
        read_loans(path)


def test_loans_quarantine_reconciles(tmp_path):
    frame = loans_text(6)
    frame.loc[[0, 4], "rate"] = "7.92"
    path, qpath = tmp_path / "loans.csv", tmp_path / "q.csv"
    write_csv(frame, path)
    loans = read_loans(path, quarantine=qpath)
    info = loans.attrs["povanalysis.io"]
    assert (info["read"], info["valid"], info["quarantined"]) == (6, 4, 2)
    assert pd.read_csv(qpath)["row"].tolist() == [1, 5]


# ------------------------------------------------------------------------------- parquet writing


def test_write_parquet_is_byte_deterministic(tmp_path):
    src = tmp_path / "households.csv"
    write_csv(households_text(50), src)
    hh = read_households(src)
    first = write_parquet(hh, tmp_path / "a.parquet").read_bytes()
    other = hh.copy()
    other.attrs = {"povanalysis.io": {"path": "elsewhere"}}
    second = write_parquet(other, tmp_path / "b.parquet").read_bytes()
    assert first == second
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert "__index_level_0__" not in pq.read_schema(tmp_path / "a.parquet").names
    assert b"elsewhere" not in second
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert (tmp_path / "a.parquet").stat().st_mode == plain.stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet", "households.csv", "plain"]


def test_write_parquet_keeps_a_meaningful_index_and_checks_arguments(tmp_path):
    frame = pd.DataFrame({"h": [0.1, 0.2]}, index=pd.Index(["01840", "05665"], name="commune_code"))
    path = write_parquet(frame, tmp_path / "sub" / "x.parquet")
    pd.testing.assert_frame_equal(read_parquet(path), frame)
    with pytest.raises(TypeError, match="'frame' should be a DataFrame, got list"):
        write_parquet([1, 2], tmp_path / "y.parquet")
    with pytest.raises(ValueError, match="duplicate column names"):
        write_parquet(pd.DataFrame([[1, 2]], columns=["a", "a"]), tmp_path / "y.parquet")


def test_distinct_identifiers_are_normalised_and_checked_without_a_dictionary(tmp_path):
    frame = households_text(6)
    frame.loc[1, "household_id"] = unicodedata.normalize("NFD", "Hộ-1")
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    hh = read_households(path)
    assert hh.loc[1, "household_id"] == unicodedata.normalize("NFC", "Hộ-1")
    frame.loc[2, "household_id"] = "Hộ-2".encode().decode("cp1252")
    write_csv(frame, path)
    with pytest.raises(ValidationError, match=r"row 3 .*column 'household_id': looks double-encoded .*probably 'Hộ-2'"):
        read_households(path)


# ------------------------------------------------------------------------------- villages

FIX = "Fix the file, or pass quarantine=PATH to set the invalid rows aside and load the rest."


def with_villages(frame: pd.DataFrame, codes: list[str], names: list[str]) -> pd.DataFrame:
    return frame.assign(village_code=codes, village_name=names)


def test_csv_saved_from_a_spreadsheet_with_villages_keeps_codes_as_text(tmp_path):
    """Excel's "CSV UTF-8": BOM, CRLF, decomposed diacritics (macOS), padded cells; codes such as '001' stay text."""
    frame = households_text(4)
    frame["commune_code"] = "01840"
    frame = pd.concat([frame, frame.iloc[[0]].assign(review_year="2025")], ignore_index=True)
    codes = [" 001", "010 ", "001", "", "001"]
    names = [unicodedata.normalize("NFD", "Xóm Đồng Tâm"), "Bản Nà Mò ", "Xóm Đồng Tâm", "", "Xóm Đồng Tâm"]
    path = tmp_path / "households.csv"
    path.write_bytes(with_villages(frame, codes, names).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    hh = read_households(path)
    assert list(hh.columns) == [*HOUSEHOLD_COLUMNS, "village_code", "village_name"]
    assert hh["village_code"].tolist() == ["001", "010", "001", "", "001"]
    assert hh["village_name"].tolist() == ["Xóm Đồng Tâm", "Bản Nà Mò", "Xóm Đồng Tâm", "", "Xóm Đồng Tâm"]
    assert hh.loc[0, "village_name"] == unicodedata.normalize("NFC", "Xóm Đồng Tâm") != names[0]
    assert pd.api.types.is_string_dtype(hh["village_code"]) and pd.api.types.is_string_dtype(hh["village_name"])
    assert hh.attrs["povanalysis.io"]["valid"] == 5
    again = read_households(write_parquet(hh, tmp_path / "households.parquet"))
    pd.testing.assert_frame_equal(again, hh)


def test_files_without_villages_are_read_as_before(tmp_path):
    path = tmp_path / "households.csv"
    write_csv(households_text(), path)
    assert list(read_households(path).columns) == list(HOUSEHOLD_COLUMNS)
    write_csv(households_text().assign(village_code="001"), path)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert str(err.value) == (
        f"{path}: village columns come together: ['village_code'] without ['village_name'] (give both, or neither)"
    )
    assert (err.value.row, err.value.column) == (None, "village_name")
    write_csv(households_text().assign(village_code="001", **{"Village Name": "Xóm Na"}), path)
    with pytest.raises(ValidationError, match=r"unknown column 'Village Name' \(did you mean 'village_name'\?\)"):
        read_households(path)


def village_rows(n: int = 6) -> pd.DataFrame:
    """Households H00000..: two villages of commune 01840, households 0-2 in 001 and 3.. in 002."""
    frame = households_text(n).assign(commune_code="01840")
    return with_villages(frame, ["001"] * 3 + ["002"] * (n - 3), ["Xóm Na"] * 3 + ["Xóm Cả"] * (n - 3))


def test_village_errors_name_file_row_line_column_and_value(tmp_path):
    """A blank line shifts lines but not rows: the reader's own numbering, not the frame's index."""
    frame = village_rows()
    frame.loc[1, "commune_code"] = "01843"  # village 001 in two communes
    frame.loc[4, "village_name"] = ""  # a code without its name
    frame.loc[5, "household_id"] = "H00000"  # a household in two villages (another review year)
    frame.loc[5, "review_year"] = "2025"
    lines = frame.to_csv(index=False, lineterminator="\n").splitlines()
    path = tmp_path / "households.csv"
    path.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert str(err.value) == (
        f"{path}: 3 invalid values in 3 rows:"
        "\n  row 3 (line 4 of the file), column 'village_code': village code in commune '01843', but in commune "
        "'01840' at row 1 (line 2 of the file): a village belongs to one commune, got '001'"
        "\n  row 6 (line 7 of the file), column 'village_name': empty village name for a village code, got ''"
        "\n  row 7 (line 8 of the file), column 'village_code': household 'H00000' is in village '001' elsewhere, "
        f"got '002'\n{FIX}"
    )
    e = err.value
    assert (e.path, e.row, e.column, e.value) == (path, 3, "village_code", "001")
    assert e.problems["row"].tolist() == [3, 6, 7]


def test_village_errors_in_a_workbook_name_the_sheet_row(tmp_path):
    frame = village_rows(4)
    frame.loc[3, "village_code"] = "001"  # named Xóm Cả, but most rows of 001 say Xóm Na
    path = tmp_path / "households.xlsx"
    write_xlsx([list(frame.columns), *frame.values.tolist()], path)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert err.value.problems.values.tolist() == [
        [
            4,
            "village_name",
            "Xóm Cả",
            "village '001' is named 'Xóm Na' at row 1 (sheet row 2): one name per village code",
        ]
    ]
    assert "row 4 (sheet row 5), column 'village_name'" in str(err.value)


def test_parquet_village_codes_must_be_text(tmp_path):
    frame = village_rows()
    path = tmp_path / "households.parquet"
    pq.write_table(pa.Table.from_pandas(frame.assign(village_code=[1, 1, 1, 2, 2, 2]), preserve_index=False), path)
    with pytest.raises(ValidationError, match=r"column 'village_code' is stored as int64, expected text \(strings\)"):
        read_households(path)


def test_the_odd_row_out_is_invalid_even_when_it_comes_first(tmp_path):
    """The commune and name most rows of a code give are the reference; quarantine keeps the majority."""
    frame = village_rows()
    frame.loc[0, "commune_code"] = "01843"
    frame.loc[0, "village_name"] = "Xóm Nà"
    path, qpath = tmp_path / "households.csv", tmp_path / "q.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert err.value.problems[["row", "column", "value"]].values.tolist() == [
        [1, "village_code", "001"],
        [1, "village_name", "Xóm Nà"],
    ]
    assert "but in commune '01840' at row 2 (line 3 of the file)" in str(err.value)
    hh = read_households(path, quarantine=qpath)
    assert hh["household_id"].tolist() == [f"H{i:05d}" for i in range(1, 6)]
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    assert q["line"].tolist() == ["2"] and q["village_code"].tolist() == ["001"]
    assert q.loc[0, "problem"].startswith("village_code: village code in commune '01843', but in commune '01840'")


def test_rows_with_an_invalid_commune_are_not_compared(tmp_path):
    frame = village_rows()
    frame.loc[2, "commune_code"] = "9999"
    path = tmp_path / "households.csv"
    write_csv(frame, path)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert err.value.problems["column"].tolist() == ["commune_code"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    villages=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=12),
)
def test_quarantine_of_village_rows_reconciles_and_leaves_consistent_villages(tmp_path, villages):
    """Whatever the villages say, rows read = valid + quarantined and the valid rows pass check_villages."""
    n = len(villages)
    frame = households_text(n)
    frame["commune_code"] = [("01840", "01843")[c] for _, _, c in villages]
    frame["village_code"] = [f"{v:03d}" for v, _, _ in villages]
    frame["village_name"] = [("Xóm Na", "Xóm Nà", "Tổ dân phố 1")[k] for _, k, _ in villages]
    path, qpath = tmp_path / "households.csv", tmp_path / "q.csv"
    write_csv(frame, path)
    hh = read_households(path, quarantine=qpath)
    info = hh.attrs["povanalysis.io"]
    assert info["read"] == n == info["valid"] + info["quarantined"]
    assert check_villages(hh) is hh
    per_code = frame.groupby("village_code")
    consistent = (per_code["commune_code"].nunique() == 1) & (per_code["village_name"].nunique() == 1)
    assert (info["quarantined"] == 0) == consistent.all()
