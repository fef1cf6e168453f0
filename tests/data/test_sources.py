"""Reading an input file as cells, with the row and line numbers a user is told."""

from __future__ import annotations

import gzip

import numpy as np
import openpyxl
import pandas as pd
import pytest

from povanalysis.data.limits import LimitError, Limits
from povanalysis.data.sources import (
    FORMATS,
    Source,
    ValidationError,
    file_error,
    is_text,
    read_source,
    strip_text,
)


def test_csv_with_bom_blank_rows_and_a_quoted_newline(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes('\ufeffcode, name \n01840, Phổ Yên \n,\n01879,"Đại\nTừ"\n'.encode())
    src = read_source(path)
    assert isinstance(src, Source) and src.fmt == "csv" and src.blank == 1
    assert list(src.data.columns) == ["code", "name"]
    assert src.data["name"].tolist() == ["Phổ Yên", "Đại\nTừ"]
    assert src.raw["name"].tolist() == [" Phổ Yên ", "Đại\nTừ"]
    assert src.rows.tolist() == [1, 3] and src.lines.tolist() == [2, 4]
    assert src.where(np.array([1])).tolist() == ["row 3 (line 4 of the file)"]


def test_gzip_csv_and_xlsx_sheet_rows(tmp_path):
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(b"code\n01840\n"))
    assert read_source(gz).data["code"].tolist() == ["01840"]
    book = openpyxl.Workbook()
    book.active.append(["code", "size"])
    book.active.append(["01840", 4])
    book.save(tmp_path / "a.xlsx")
    src = read_source(tmp_path / "a.xlsx")
    assert src.data.to_dict("records") == [{"code": "01840", "size": "4"}]
    assert src.where(np.array([0])).tolist() == ["row 1 (sheet row 2)"]


def test_parquet_records_are_zero_based(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"code": [" 01840"], "size": [4]}).to_parquet(path)
    src = read_source(path)
    assert src.data["code"].tolist() == ["01840"] and src.raw["size"].tolist() == [4]
    assert src.where(np.array([0])).tolist() == ["record 0 (0-based)"]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValidationError, match=r"unsupported file format '\.xls'.*save it from Excel as \.xlsx"):
        read_source(_touch(tmp_path / "a.xls"))
    with pytest.raises(FileNotFoundError, match="input file not found"):
        read_source(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="'sheet' applies only to .xlsx files"):
        read_source(_touch(tmp_path / "b.csv"), sheet=1)
    error = file_error(tmp_path / "c.csv", "bad", column="code", value="1840", row=2)
    assert str(error) == f"{tmp_path / 'c.csv'}: bad" and error.row == 2 and error.column == "code"
    assert error.problems.to_dict("records") == [{"row": 2, "column": "code", "value": "1840", "problem": "bad"}]
    assert set(FORMATS.values()) == {"csv", "xlsx", "parquet"}


def test_text_helpers():
    assert is_text(pd.Series(["a"])) and not is_text(pd.Series([1]))
    assert strip_text(pd.Series([" a ", 1])).tolist() == ["a", "1"]


def _touch(path):
    path.write_text("code\n01840\n", encoding="utf-8")
    return path


def test_select_sees_every_name_before_any_value_is_read(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("code,name,note\n01840,Phổ Yên,x\n", encoding="utf-8")
    seen = []

    def keep_two(names):
        seen.append(list(names))
        return ["code", "name"]

    src = read_source(path, select=keep_two)
    assert seen == [["code", "name", "note"]]
    assert list(src.data.columns) == ["code", "name"]

    def refuse(names):
        raise ValueError(f"no thanks: {names}")

    for name, write in [("b.parquet", lambda p: pd.DataFrame({"code": ["01840"]}).to_parquet(p))]:
        write(tmp_path / name)
        with pytest.raises(ValueError, match=r"no thanks: \['code'\]"):
            read_source(tmp_path / name, select=refuse)


def test_repeated_text_is_held_as_a_categorical_and_identifiers_as_plain_text(tmp_path):
    path = tmp_path / "a.csv"
    rows = "".join(f"H{i},rural\n" for i in range(100))
    path.write_text("household_id,area\n" + rows, encoding="utf-8")
    src = read_source(path)
    assert isinstance(src.data["area"].dtype, pd.CategoricalDtype)
    assert not isinstance(src.data["household_id"].dtype, pd.CategoricalDtype)
    assert is_text(src.data["area"]) and is_text(src.data["household_id"])
    stripped = strip_text(pd.Series(pd.Categorical([" a", "a ", None, "b"])))
    assert stripped.tolist()[:2] == ["a", "a"] and pd.isna(stripped.iloc[2])
    assert list(stripped.cat.categories) == ["a", "b"]


def test_limits_are_checked_for_every_format(tmp_path):
    pd.DataFrame({"code": ["01840"] * 3}).to_parquet(tmp_path / "a.parquet")
    book = openpyxl.Workbook()
    for row in [["code"], ["01840"], ["01841"], ["01842"]]:
        book.active.append(row)
    book.save(tmp_path / "a.xlsx")
    (tmp_path / "a.csv").write_text("code\n01840\n01841\n01842\n", encoding="utf-8")
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"code\n01840\n01841\n01842\n"))
    for name in ["a.parquet", "a.xlsx", "a.csv", "a.csv.gz"]:
        assert len(read_source(tmp_path / name).data) == 3
        with pytest.raises(LimitError, match=r"over the limit of 2 rows \(Limits.rows\)"):
            read_source(tmp_path / name, limits=Limits(rows=2))
    with pytest.raises(TypeError, match="'limits' should be a povanalysis.data.limits.Limits, got dict"):
        read_source(tmp_path / "a.csv", limits={"rows": 2})


def test_short_csv_rows_read_by_the_fallback_parser_are_still_measured(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("code,name\n01840\n01841," + "z" * 50 + "\n", encoding="utf-8")
    assert read_source(path).data["name"].tolist() == ["", "z" * 50]
    with pytest.raises(LimitError, match=r"row 2, column 'name' holds a text of 50 characters"):
        read_source(path, limits=Limits(cell_chars=10))


def test_a_large_ragged_csv_is_not_reread_whole(tmp_path, monkeypatch):
    from povanalysis.data import sources

    path = tmp_path / "a.csv"
    path.write_text("code,name\n01840,a\n01841,b,c\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"line 3 has 3 fields but the header has 2"):
        read_source(path)
    monkeypatch.setattr(sources, "_FALLBACK_BYTES", 10)
    with pytest.raises(ValidationError, match=r"a.csv: not a readable CSV file \(CSV parse error: Expected 2 columns"):
        read_source(path)
