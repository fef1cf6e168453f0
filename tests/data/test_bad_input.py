"""Files as they come from Excel and from Vietnamese offices (tests/fixtures/bad_input), with the exact messages.

Each file is refused with the message a researcher reads, or read as its author meant when the
reader can tell without guessing (and then it says what it did).
"""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from povanalysis import config
from povanalysis.data.io import ValidationError, read_households, read_loans
from povanalysis.data.villages import check_villages, read_villages

FIXTURES = config.PROJ_ROOT / "tests" / "fixtures" / "bad_input"
FIX = "Fix the file, or pass quarantine=PATH to set the invalid rows aside and load the rest."
VIETNAMESE = (
    "'.' separates thousands in Vietnamese amounts: pass thousands='.' to read it as {}, or write plain digits "
    "without separators or unit"
)


@pytest.mark.parametrize(
    ("name", "reader", "expected"),
    [
        (
            "excel_decimal_indicators.csv",
            read_households,
            "1 invalid value in 1 row:\n  row 2 (line 3 of the file), column 'd_water': required value is empty, got ''",
        ),
        (
            "half_deprivation.csv",
            read_households,
            "1 invalid value in 1 row:\n  row 1 (line 2 of the file), column 'd_water': deprivation indicator must be "
            "0 or 1, got '0.5'",
        ),
        (
            "vietnamese_amounts.csv",
            read_households,
            "3 invalid values in 3 rows:"
            f"\n  row 1 (line 2 of the file), column 'income_pc': {VIETNAMESE.format(1500000)}, got '1.500.000'"
            f"\n  row 2 (line 3 of the file), column 'income_pc': {VIETNAMESE.format(1500000)}, got '1.500.000 đ'"
            f"\n  row 3 (line 4 of the file), column 'income_pc': {VIETNAMESE.format(1500000)}, got '1.500.000 VND'",
        ),
        (
            "numeric_codes.csv",
            read_households,
            "1 invalid value in 1 row:\n  row 2 (line 3 of the file), column 'commune_code': commune code must be 5 "
            "digits with leading zeros (e.g. '01840'); '09999' is not a commune code of vintage 2025 either (see "
            "povanalysis.data.registry.units(2025)), got '9999'",
        ),
        (
            "vietnamese_loan_amounts.csv",
            read_loans,
            "2 invalid values in 2 rows:"
            f"\n  row 1 (line 2 of the file), column 'amount': {VIETNAMESE.format(50000000)}, got '50.000.000 đ'"
            f"\n  row 2 (line 3 of the file), column 'amount': {VIETNAMESE.format(20000000)}, got '20.000.000'",
        ),
    ],
)
def test_bad_input_files_are_refused_with_the_exact_message(name, reader, expected):
    path = FIXTURES / name
    with pytest.raises(ValidationError) as err:
        reader(path)
    assert str(err.value) == f"{path}: {expected}\n{FIX}"


def test_decimal_indicators_are_read_and_only_the_empty_cell_is_quarantined(tmp_path):
    qpath = tmp_path / "q.csv"
    hh = read_households(FIXTURES / "excel_decimal_indicators.csv", quarantine=qpath)
    assert hh["household_id"].tolist() == ["H1", "H3"]
    assert hh["d_water"].tolist() == [1, 0] and hh["d_latrine"].tolist() == [0, 1]
    assert hh["d_water"].dtype == "int8"
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    assert q["row"].tolist() == ["2"] and q.loc[0, "problem"] == "d_water: required value is empty (got '')"
    assert hh.attrs["povanalysis.io"]["summary"] == (
        f"{FIXTURES / 'excel_decimal_indicators.csv'}: 3 rows read = 2 valid + 1 quarantined (to {qpath})"
    )


def test_vietnamese_amounts_are_read_with_thousands():
    hh = read_households(FIXTURES / "vietnamese_amounts.csv", thousands=".")
    assert hh["income_pc"].tolist() == [1_500_000.0] * 3
    loans = read_loans(FIXTURES / "vietnamese_loan_amounts.csv", thousands=".")
    assert loans["amount"].tolist() == [50_000_000.0, 20_000_000.0]
    with pytest.raises(ValueError, match=r"'thousands' must be None, '.' or ',', got ' '"):
        read_households(FIXTURES / "vietnamese_amounts.csv", thousands=" ")


@pytest.mark.parametrize(
    ("thousands", "cells", "values", "problem"),
    [
        (",", ["1,500,000", "2500000", "1,500,000 VND", "1,500.5"], [1_500_000, 2_500_000, 1_500_000, 1_500.5], None),
        (".", ["1.500.000", "2500000", "1.500,5 đ", "+2.000"], [1_500_000, 2_500_000, 1_500.5, 2_000], None),
        (".", ["1500000.5"], None, "must be an amount in VND such as 1.500.000 or 1.500.000 đ (thousands='.')"),
        (None, ["1500000 đ"], None, VIETNAMESE.format(1500000)),
        (None, ["1.500"], None, VIETNAMESE.format(1500)),
        (None, ["1.5", "2500000"], [1.5, 2_500_000], None),
    ],
)
def test_amounts_follow_the_thousands_option(tmp_path, thousands, cells, values, problem):
    frame = pd.read_csv(FIXTURES / "half_deprivation.csv", dtype=str, keep_default_na=False).iloc[[1]]
    frame = pd.concat([frame] * len(cells), ignore_index=True)
    frame["household_id"] = [f"H{i}" for i in range(len(cells))]
    frame["income_pc"] = cells
    path = tmp_path / "households.csv"
    frame.to_csv(path, index=False)
    if problem is None:
        assert read_households(path, thousands=thousands)["income_pc"].tolist() == values
    else:
        with pytest.raises(ValidationError) as err:
            read_households(path, thousands=thousands)
        assert err.value.problems["problem"].tolist() == [problem]


def test_numeric_codes_are_padded_and_reported(tmp_path):
    qpath = tmp_path / "q.csv"
    with pytest.warns(UserWarning) as caught:
        hh = read_households(FIXTURES / "numeric_codes.csv", quarantine=qpath)
    assert hh["commune_code"].tolist() == ["01840", "01840"]
    assert [str(w.message) for w in caught] == [
        f"{FIXTURES / 'numeric_codes.csv'}: column 'commune_code': 1 code written as numbers was zero-padded to the "
        "5-digit codes of the registry (e.g. '1840' read as '01840' at row 1 (line 2 of the file))"
    ]
    info = hh.attrs["povanalysis.io"]
    assert (info["read"], info["valid"], info["quarantined"], info["padded_codes"]) == (3, 2, 1, {"commune_code": 1})


def test_boolean_indicators_with_a_missing_cell_fail_only_that_cell(tmp_path):
    frame = pd.read_csv(FIXTURES / "half_deprivation.csv", dtype=str, keep_default_na=False)
    table = pa.Table.from_pandas(frame.iloc[[1, 1, 1]].assign(household_id=["H1", "H2", "H3"]), preserve_index=False)
    table = table.set_column(table.schema.get_field_index("d_water"), "d_water", pa.array([True, None, False]))
    path = tmp_path / "households.parquet"
    pq.write_table(table, path)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert err.value.problems[["row", "column", "problem"]].values.tolist() == [
        [1, "d_water", "required value is empty"]
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_reader_reconciles_and_logs_it(tmp_path, caplog, fmt):
    frame = pd.read_csv(FIXTURES / "half_deprivation.csv", dtype=str, keep_default_na=False)
    path, qpath = tmp_path / f"households.{fmt}", tmp_path / "q.csv"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    with caplog.at_level(logging.INFO, logger="povanalysis.data.io"):
        hh = read_households(path, quarantine=qpath)
    expected = f"{path}: 2 rows read = 1 valid + 1 quarantined (to {qpath})"
    assert hh.attrs["povanalysis.io"]["summary"] == expected
    assert [r.getMessage() for r in caplog.records] == [expected]


VILLAGE_HEADER = "household_id,commune_code,village_code,village_name\n"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "H1,01840,01840-001,Tổ dân phố 1\nH2,01843,01840-001,Tổ dân phố 1\n",
            "1 invalid village value in 1 row:\n  row 2 (line 3 of the file), column 'village_code': village code in "
            "commune '01843', but in commune '01840' at row 1 (line 2 of the file): a village belongs to one commune, "
            "got '01840-001'",
        ),
        (
            "H1,01840,01840-001,Tổ dân phố 1\nH2,01840,01840-001,Tổ dân phố 2\n",
            "1 invalid village value in 1 row:\n  row 2 (line 3 of the file), column 'village_name': village "
            "'01840-001' is named 'Tổ dân phố 1' at row 1 (line 2 of the file): one name per village code, "
            "got 'Tổ dân phố 2'",
        ),
        (
            "H1,01840,,Tổ dân phố 1\nH2,1840,01840-002,Tổ dân phố 2\n",
            "1 invalid village value in 1 row:\n  row 1 (line 2 of the file), column 'village_code': required value "
            "is empty, "
            "got ''",
        ),
    ],
)
def test_village_files_name_file_row_column_and_value(tmp_path, rows, expected):
    path = tmp_path / "villages.csv"
    path.write_text(VILLAGE_HEADER + rows, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_villages(path)
    assert str(err.value).startswith(f"{path}: ")
    assert str(err.value).removeprefix(f"{path}: ") == expected


def test_review_file_with_villages_is_checked_within_its_communes(tmp_path):
    frame = pd.read_csv(FIXTURES / "half_deprivation.csv", dtype=str, keep_default_na=False).iloc[[1, 1]]
    frame = frame.assign(household_id=["H1", "H2"], commune_code=["01840", "01843"])
    frame = frame.assign(village_code=["01840-001"] * 2, village_name=["Xóm Đồng Tâm"] * 2)
    path = tmp_path / "households.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert (err.value.path, err.value.row, err.value.column, err.value.value) == (path, 2, "village_code", "01840-001")
    assert str(err.value) == (
        f"{path}: 1 invalid value in 1 row:\n  row 2 (line 3 of the file), column 'village_code': village code in "
        "commune '01843', but in commune '01840' at row 1 (line 2 of the file): a village belongs to one commune, "
        f"got '01840-001'\n{FIX}"
    )
    hh = read_households(path, quarantine=tmp_path / "q.csv")
    assert hh["household_id"].tolist() == ["H1"]
    assert check_villages(hh, path=path) is hh


HOSTILE = pd.DataFrame(
    {
        "village_code": ["=1+1", "001", "002", "003", "004"],
        "village_name": ["Xóm Na", '=HYPERLINK("http://x","Xóm")', "XÃ³m Cáº§u", "@SUM(A1)", "Thôn\nKhuổi Khe"],
    }
)


def test_hostile_village_text_is_data_flagged_when_mis_decoded_and_harmless_in_quarantine(tmp_path):
    """Formulas are text like any other (never evaluated), made harmless where a spreadsheet opens them."""
    frame = pd.read_csv(FIXTURES / "half_deprivation.csv", dtype=str, keep_default_na=False).iloc[[1] * 5]
    frame = frame.assign(household_id=[f"H{i}" for i in range(5)], commune_code="01840")
    frame = pd.concat([frame.reset_index(drop=True), HOSTILE], axis=1)
    frame.loc[4, "size"] = "many"  # a row with another problem carries its village text to the quarantine
    frame.loc[1, "size"] = "x"
    path, qpath = tmp_path / "households.csv", tmp_path / "q.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValidationError) as err:
        read_households(path)
    assert err.value.problems[["row", "column", "value"]].values.tolist() == [
        [2, "size", "x"],
        [3, "village_name", "XÃ³m Cáº§u"],
        [5, "size", "many"],
    ]
    assert "looks double-encoded (UTF-8 read as Windows-1252): probably 'Xóm Cầu'" in str(err.value)
    hh = read_households(path, quarantine=qpath)
    assert hh["village_code"].tolist() == ["=1+1", "003"]  # as written: the reader changes no text
    assert hh["village_name"].tolist() == ["Xóm Na", "@SUM(A1)"]
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    assert q["row"].tolist() == ["2", "3", "5"] and q["line"].tolist() == ["3", "4", "6"]
    assert q["village_name"].tolist() == ['\'=HYPERLINK("http://x","Xóm")', "XÃ³m Cáº§u", "Thôn\nKhuổi Khe"]
    assert q["village_code"].tolist() == ["001", "002", "004"]
